/**
 * The graph panel's layered layout (d3-dag's Sugiyama): node positions and edge routes for a model's layers,
 * computed in a Web Worker made from this same bundle so a 2,000-layer model never blocks the panel; a layout
 * that is stale when it finishes is dropped, and one still running when a newer one is asked for is cancelled.
 */
import { decrossDfs, decrossTwoLayer, coordGreedy, graph, layeringLongestPath, sugiyama, twolayerAgg, type MutGraphNode } from 'd3-dag';

export interface LayoutNodeIn {
  id: string;
  width: number;
  height: number;
}

export interface LayoutInput {
  nodes: LayoutNodeIn[];
  /** [from id, to id]; duplicates are laid out once */
  edges: [string, string][];
}

export interface LayoutOutput {
  /** id → centre */
  nodes: Record<string, [number, number]>;
  /** `${from}>${to}` → route */
  links: Record<string, [number, number][]>;
  width: number;
  height: number;
  ms: number;
}

/**
 * Beyond this many nodes the layout trades crossing quality for time. Measured (d3-dag 1.2, Node 20): one
 * median sweep costs ~2 ms on yolov5n and ~25 ms on yolov4-p7; the default 24 sweeps and the simplex
 * coordinates cost 5-10x more for the same picture on these graphs.
 */
const LARGE = 300;

export const linkKey = (from: string, to: string): string => `${from}>${to}`;

/** Lay a DAG out top to bottom. Pure: runs in the worker, or on the main thread when no worker can start. */
export function layoutDag(input: LayoutInput): LayoutOutput {
  const started = performance.now();
  const g = graph<LayoutNodeIn, undefined>();
  const byId = new Map<string, MutGraphNode<LayoutNodeIn, undefined>>();
  for (const n of input.nodes) byId.set(n.id, g.node(n));
  const seen = new Set<string>();
  for (const [a, b] of input.edges) {
    const key = linkKey(a, b);
    const s = byId.get(a);
    const t = byId.get(b);
    if (!s || !t || a === b || seen.has(key)) continue;
    seen.add(key);
    g.link(s, t);
  }
  if (!input.nodes.length) return { nodes: {}, links: {}, width: 0, height: 0, ms: performance.now() - started };
  const n = input.nodes.length;
  const layout = sugiyama()
    .layering(layeringLongestPath())
    .decross(n > LARGE ? decrossDfs() : decrossTwoLayer().order(twolayerAgg()).passes(2))
    .coord(coordGreedy())
    .nodeSize((node: { data: LayoutNodeIn }) => [node.data.width, node.data.height] as const)
    .gap([24, 34]);
  const { width, height } = layout(g as never);
  const nodes: Record<string, [number, number]> = {};
  for (const node of g.nodes()) nodes[node.data.id] = [node.x, node.y];
  const links: Record<string, [number, number][]> = {};
  for (const l of g.links()) links[linkKey(l.source.data.id, l.target.data.id)] = l.points.map(([x, y]) => [x, y]);
  return { nodes, links, width, height, ms: performance.now() - started };
}

// ---- the worker side --------------------------------------------------------------------------------------------

interface WorkerRequest {
  seq: number;
  input: LayoutInput;
}
type WorkerResponse = { seq: number; output: LayoutOutput } | { seq: number; error: string };

/** Entry point when this bundle runs as the layout worker. */
export function runLayoutWorker(scope: { onmessage: ((e: MessageEvent) => void) | null; postMessage(m: unknown): void }): void {
  scope.onmessage = (e: MessageEvent) => {
    const { seq, input } = e.data as WorkerRequest;
    try {
      scope.postMessage({ seq, output: layoutDag(input) } satisfies WorkerResponse);
    } catch (err) {
      scope.postMessage({ seq, error: String((err as Error)?.message ?? err) } satisfies WorkerResponse);
    }
  };
}

// ---- the panel side ---------------------------------------------------------------------------------------------

let blobUrl: Promise<string> | null = null;
/** One blob URL of the bundle's text for every worker of the page (the compare view has two). */
function workerBlobUrl(scriptUrl: string): Promise<string> {
  blobUrl ??= fetch(scriptUrl)
    .then((r) => {
      if (!r.ok) throw new Error(`fetching the bundle: HTTP ${r.status}`);
      return r.text();
    })
    .then((source) => URL.createObjectURL(new Blob([source], { type: 'text/javascript' })));
  return blobUrl;
}

/**
 * Runs layouts in a worker when one can be started (from the bundle's own text, as a blob), else on the main
 * thread. Only the newest request resolves; older ones resolve to null.
 */
export class Layouter {
  private worker: Worker | null = null;
  private workerUrl: string | null = null;
  private started: Promise<void> = Promise.resolve();
  private seq = 0;
  private inFlight: { seq: number; size: number; resolve: (o: LayoutOutput | null) => void; reject: (e: Error) => void } | null = null;
  /** how layouts ran, for the status line and the tests */
  mode: 'worker' | 'main' = 'main';

  /** Start a worker from the bundle's source; `scriptUrl` is this script's own URL. Never throws. */
  start(scriptUrl: string | null): Promise<void> {
    this.started = (async () => {
      if (!scriptUrl || typeof Worker === 'undefined') return;
      try {
        this.workerUrl = await workerBlobUrl(scriptUrl);
        this.spawn();
      } catch (err) {
        console.warn('[yolo-lens] layout worker unavailable, laying out on the main thread:', (err as Error)?.message ?? err);
        this.worker = null;
      }
    })();
    return this.started;
  }

  private spawn(warmUp = true): void {
    if (!this.workerUrl) return;
    const w = new Worker(this.workerUrl, { name: 'yolo-lens-layout' });
    w.onmessage = (e: MessageEvent<WorkerResponse>) => {
      const job = this.inFlight;
      if (!job || e.data.seq !== job.seq) return;
      this.inFlight = null;
      if ('error' in e.data) job.reject(new Error(e.data.error));
      else job.resolve(e.data.output);
    };
    w.onerror = (e) => {
      e.preventDefault();
      const job = this.inFlight;
      this.inFlight = null;
      // a worker that cannot run (CSP, script error) is replaced by the main thread for good
      this.worker?.terminate();
      this.worker = null;
      this.mode = 'main';
      if (job) this.runMain(job.seq, this.lastInput!, job.resolve, job.reject);
    };
    this.worker = w;
    this.mode = 'worker';
    if (!warmUp) return;
    // a first layout compiles d3-dag's code paths: do it now on a YOLO-like graph (a chain, skips that span
    // many ranks, a three-input head), not on the user's first graph
    const warm: LayoutInput = { nodes: [], edges: [] };
    const n = 60;
    for (let i = 0; i < n; i++) {
      warm.nodes.push({ id: String(i), width: 150 + (i % 3) * 20, height: 64 });
      if (i) warm.edges.push([String(i - 1), String(i)]);
      if (i > 12 && i % 4 === 0) warm.edges.push([String(i - 11), String(i)]);
    }
    warm.edges.push([String(n - 20), String(n - 1)], [String(n - 10), String(n - 1)]);
    for (let k = 0; k < 2; k++) w.postMessage({ seq: -1, input: warm } satisfies WorkerRequest);
  }

  private lastInput: LayoutInput | null = null;

  /** Lay out `input`; resolves to null when a newer request superseded this one. */
  async layout(input: LayoutInput): Promise<LayoutOutput | null> {
    const seq = ++this.seq;
    await this.started;
    if (seq !== this.seq) return null;
    const previous = this.inFlight;
    if (previous) {
      previous.resolve(null);
      // a big stale layout would delay the fresh one: stop it and start a new worker
      if (this.worker && previous.size > LARGE) {
        this.worker.terminate();
        this.spawn(false);
      }
    }
    this.lastInput = input;
    return new Promise((resolve, reject) => {
      this.inFlight = { seq, size: input.nodes.length, resolve, reject };
      if (this.worker) this.worker.postMessage({ seq, input } satisfies WorkerRequest);
      else this.runMain(seq, input, resolve, reject);
    });
  }

  private runMain(seq: number, input: LayoutInput, resolve: (o: LayoutOutput | null) => void, reject: (e: Error) => void): void {
    // yield first so a burst of updates collapses to the newest before any work is done
    setTimeout(() => {
      if (this.inFlight?.seq !== seq) return resolve(null);
      try {
        const out = layoutDag(input);
        if (this.inFlight?.seq === seq) this.inFlight = null;
        resolve(out);
      } catch (err) {
        if (this.inFlight?.seq === seq) this.inFlight = null;
        reject(err as Error);
      }
    }, 0);
  }
}
