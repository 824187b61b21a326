/**
 * The resolver's caches: builds and static runs are pure functions of their keys, so they are kept across resolves
 * (a keystroke rebuilds only the layers it changed), bounded in entries and in weight.
 */

/**
 * A cache that starts over when full. Full is by entries and by weight (roughly bytes held), so that a session of
 * big models (a 4096-repeat C3 holds ~30,000 modules) or long keys cannot grow the heap without bound: with a
 * count alone (and errors keeping their stacks) a fuzz run reached 800 MB in 5,000 edits; now it stays near 100 MB.
 */
export class BoundedCache<V> {
  private readonly map = new Map<string, V>();
  private weight = 0;
  constructor(
    private readonly maxEntries: number,
    private readonly maxWeight: number,
  ) {}
  get(k: string): V | undefined {
    return this.map.get(k);
  }
  set(k: string, v: V, weight: number): void {
    const w = weight + 2 * k.length;
    if (this.map.size >= this.maxEntries || this.weight + w > this.maxWeight) this.clear();
    this.map.set(k, v);
    this.weight += w;
  }
  clear(): void {
    this.map.clear();
    this.weight = 0;
  }
}

/**
 * A cached error must not keep its stack: V8's captured frames hold the receivers and closures of the resolve that
 * threw (its document, plans and module trees), ~200 KB per error, which made the caches grow to hundreds of MB.
 */
export function forgetStack<E extends Error>(e: E): E {
  e.stack = `${e.name}: ${e.message}`;
  return e;
}

const registered: BoundedCache<unknown>[] = [];

/** A cache the resolver keeps across resolves; `clearResolveCaches` empties every one. */
export function resolverCache<V>(maxEntries: number, maxWeight: number): BoundedCache<V> {
  const c = new BoundedCache<V>(maxEntries, maxWeight);
  registered.push(c as BoundedCache<unknown>);
  return c;
}

/** Empties the build and run caches: benchmarks and the fuzzer's time bound measure cold resolves with it. */
export function clearResolveCaches(): void {
  for (const c of registered) c.clear();
}
