/**
 * bench/fuzz: runs the hardening fuzzer (test/hardening/fuzz-harness.ts) for any number of cases and prints
 * cases/second, the slowest case, how many cases were healthy models, and any failure with its seed, its replay
 * path and the minimal reproducer fast-check shrank it to.
 * Usage: node --expose-gc --import tsx bench/fuzz.ts [--cases N] [--seed S] [--kind text|structure|plausible|both] [--path P] [--trace
 * FILE] [--watchdog SECONDS] [--quiet]
 * Exit code: 0 when every case held, 1 on a failure.
 */
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import fc from 'fast-check';
import {
  caseArb,
  checkCase,
  describeCase,
  loadSeeds,
  materialise,
  plausibleCaseArb,
  structureCaseArb,
  textCaseArb,
  type FuzzCase,
} from '../test/hardening/fuzz-harness.ts';
import { median, quantile } from './stats.ts';

function flag(name: string): string | undefined {
  const k = process.argv.indexOf(name);
  return k > 0 ? process.argv[k + 1] : undefined;
}

const cases = Number(flag('--cases') ?? 10_000);
const seed = Number(flag('--seed') ?? Date.now() % 2 ** 31);
const kind = flag('--kind') ?? 'both';
const path = flag('--path');
const quiet = process.argv.includes('--quiet');
// a case that kills the process (out of memory, a native crash) or hangs cannot be shrunk: each case is written to
// the trace file before it runs (--trace FILE, default a temp file), so the last one there is the culprit; a
// watchdog thread prints it and ends the process when no case finishes for --watchdog seconds (default 120)
const trace = flag('--trace') ?? join(tmpdir(), `yolo-lens-fuzz-${process.pid}.txt`);
const heartbeat = new Int32Array(new SharedArrayBuffer(4));
const watchdogSeconds = Number(flag('--watchdog') ?? 120);
const watchdog = new Worker(
  `const { workerData } = require('node:worker_threads');
   const { readFileSync, writeSync } = require('node:fs');
   let last = -1;
   setInterval(() => {
     const now = Atomics.load(workerData.heartbeat, 0);
     if (now !== last) { last = now; return; }
     let hung = '';
     try { hung = readFileSync(workerData.trace, 'utf8'); } catch {}
     // written straight to fd 1: a worker's process.stdout goes through the main thread, which is the one stuck
     writeSync(1, '\\nHUNG: no case finished for ' + workerData.seconds + ' s after ' + now + ' cases; the case running:\\n'
       + hung + '\\n');
     process.kill(process.pid, 'SIGKILL');
   }, workerData.seconds * 1000);`,
  { eval: true, workerData: { heartbeat, trace, seconds: watchdogSeconds } },
);
watchdog.unref();
if (!Number.isInteger(cases) || cases < 1 || !Number.isInteger(seed) || !['text', 'structure', 'plausible', 'both'].includes(kind)) {
  console.error(
    'usage: node --expose-gc --import tsx bench/fuzz.ts [--cases N] [--seed S] [--kind text|structure|plausible|both] [--path P] ' +
      '[--trace FILE] [--watchdog SECONDS] [--quiet]',
  );
  process.exit(2);
}

const seeds = loadSeeds();
const arb: fc.Arbitrary<FuzzCase> =
  kind === 'text'
    ? textCaseArb(seeds.length)
    : kind === 'structure'
      ? structureCaseArb()
      : kind === 'plausible'
        ? plausibleCaseArb()
        : caseArb(seeds);

let run = 0;
let healthy = 0;
let errorModels = 0;
let layers = 0;
let chars = 0;
const slowest = { ms: 0, wallMs: 0, call: '', case: null as FuzzCase | null, text: '' };
const cpuTimes: number[] = [];
const started = performance.now();
let lastReport = started;
const heapSamples: number[] = [];
let peakHeapMB = 0;

const result = fc.check(
  fc.property(arb, fc.array(fc.nat(), { maxLength: 3 }), (c, picks) => {
    const { text, options, name } = materialise(c, seeds);
    writeFileSync(trace, describeCase(c, seeds));
    const r = checkCase(text, options, name, picks);
    run++;
    Atomics.store(heartbeat, 0, run);
    layers += r.layers;
    chars += text.length;
    if (r.ok) healthy++;
    else errorModels++;
    cpuTimes.push(r.slowestMs);
    if (r.slowestMs > slowest.ms) Object.assign(slowest, { ms: r.slowestMs, wallMs: r.slowestWallMs, call: r.slowestCall, case: c, text });
    const now = performance.now();
    if (run % 1000 === 0) {
      // the build caches are bounded: the heap must not grow with the number of cases (run with --expose-gc to
      // sample what is retained, not what is garbage)
      (globalThis as { gc?: () => void }).gc?.();
      const heap = process.memoryUsage().heapUsed / 2 ** 20;
      heapSamples.push(heap);
      peakHeapMB = Math.max(peakHeapMB, heap);
    }
    if (!quiet && now - lastReport > 10_000) {
      lastReport = now;
      process.stderr.write(
        `  ${run} cases, ${((run * 1000) / (now - started)).toFixed(0)}/s, heap ` +
          `${(process.memoryUsage().heapUsed / 2 ** 20).toFixed(0)} MB\n`,
      );
    }
  }),
  { numRuns: cases, seed, ...(path ? { path } : {}), endOnFailure: false },
);

const seconds = (performance.now() - started) / 1000;
console.log(
  `fuzz: ${result.numRuns} cases (seed ${seed}, kind ${kind}) in ${seconds.toFixed(1)} s: ${(result.numRuns / seconds).toFixed(1)} cases/s`,
);
console.log(
  `  models without error diagnostics: ${healthy}; with errors: ${errorModels}; mean ${(layers / Math.max(run, 1)).toFixed(1)} layers, ` +
    `${(chars / Math.max(run, 1)).toFixed(0)} characters`,
);
if (heapSamples.length)
  console.log(
    `  heap used every 1,000 cases: first ${heapSamples[0]!.toFixed(0)} MB, last ${heapSamples[heapSamples.length - 1]!.toFixed(0)} MB, ` +
      `peak ${peakHeapMB.toFixed(0)} MB`,
  );
if (cpuTimes.length) {
  const q = (p: number) => quantile(cpuTimes, p).toFixed(1);
  console.log(`  slowest call per case, CPU ms: median ${median(cpuTimes).toFixed(1)}, p99 ${q(0.99)}, p99.9 ${q(0.999)}, max ${q(1)}`);
}
if (slowest.case) {
  console.log(
    `  slowest call: ${slowest.call} ${slowest.ms.toFixed(1)} ms CPU, ${slowest.wallMs.toFixed(1)} ms wall (first measurement, caches ` +
      `as the run left them) on:`,
  );
  console.log(describeCase(slowest.case, seeds).replace(/^/gm, '    '));
}
if (result.failed) {
  console.log(
    `\nFAILED after ${result.numRuns} cases (${result.numShrinks} shrinks). Replay: node --import tsx bench/fuzz.ts --seed ` +
      `${result.seed} --kind ${kind} --path ${result.counterexamplePath} --cases 1`,
  );
  console.log(
    String(result.errorInstance instanceof Error ? (result.errorInstance.stack ?? result.errorInstance.message) : result.errorInstance),
  );
  console.log('minimal reproducer:');
  console.log(describeCase(result.counterexample![0], seeds));
  process.exitCode = 1;
} else console.log('  no failures');
