/**
 * bench/fuzz-checkpoints: the checkpoint reader's mutation fuzz at scale (test/weights/fuzz-harness.ts). Prints the
 * outcome counts, the slowest case (with how to replay it), time per case and the peak heap + array buffers seen.
 * Usage: node --expose-gc --import tsx bench/fuzz-checkpoints.ts [--cases N] [--seed S] [--quiet]
 * Exit code: 0 when every case ended in a value or a typed error within 2 s, 1 otherwise.
 */
import { loadSeeds, mutate, rng, runCase } from '../test/weights/fuzz-harness.ts';
import { median, quantile } from './stats.ts';

function flag(name: string): string | undefined {
  const k = process.argv.indexOf(name);
  return k > 0 ? process.argv[k + 1] : undefined;
}

const cases = Number(flag('--cases') ?? 10_000);
const seed = Number(flag('--seed') ?? 12);
const quiet = process.argv.includes('--quiet');
if (!Number.isInteger(cases) || cases < 1 || !Number.isInteger(seed)) {
  console.error('usage: node --expose-gc --import tsx bench/fuzz-checkpoints.ts [--cases N] [--seed S] [--quiet]');
  process.exit(2);
}

const seeds = loadSeeds();
const random = rng(seed);
const counts = new Map<string, number>();
const times: number[] = [];
let slowest = { ms: 0, i: -1, what: '' };
let peak = 0;
let failures = 0;
const gc = (globalThis as { gc?: () => void }).gc;
gc?.();
const baseline = process.memoryUsage();
const t0 = performance.now();
for (let i = 0; i < cases; i++) {
  const mutant = mutate(seeds[i % seeds.length]!, random);
  try {
    const outcome = runCase(mutant.bytes);
    counts.set(outcome.result, (counts.get(outcome.result) ?? 0) + 1);
    times.push(outcome.ms);
    if (outcome.ms > slowest.ms) slowest = { ms: outcome.ms, i, what: `${mutant.seed}: ${mutant.how} -> ${outcome.result}` };
    if (outcome.ms > 2000) {
      failures++;
      console.log(`SLOW case ${i} (seed ${seed}): ${mutant.seed}: ${mutant.how}: ${outcome.ms.toFixed(0)} ms`);
    }
  } catch (e) {
    failures++;
    console.log(`FAIL case ${i} (seed ${seed}): ${mutant.seed}: ${mutant.how}: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (i % 50 === 0) {
    const m = process.memoryUsage();
    peak = Math.max(peak, m.heapUsed + m.arrayBuffers);
  }
  if (!quiet && i && i % 2000 === 0) console.log(`${i} cases, ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}
const seconds = (performance.now() - t0) / 1000;
const mb = (x: number) => (x / 2 ** 20).toFixed(0);
console.log(`cases: ${cases} (seed ${seed}) in ${seconds.toFixed(1)} s, ${(cases / seconds).toFixed(0)} cases/s`);
console.log(
  `outcomes: ${[...counts]
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${v}`)
    .join(', ')}`,
);
console.log(
  `per case: median ${median(times).toFixed(2)} ms, p99 ${quantile(times, 0.99).toFixed(1)} ms, ` +
    `slowest ${slowest.ms.toFixed(1)} ms (case ${slowest.i}: ${slowest.what})`,
);
console.log(`peak heap + array buffers: ${mb(peak)} MB (baseline ${mb(baseline.heapUsed + baseline.arrayBuffers)} MB)`);
console.log(failures ? `${failures} FAILED` : 'every case: a value or a typed error');
process.exit(failures ? 1 : 0);
