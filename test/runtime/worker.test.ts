/**
 * The profile as the language server and the CLI run it: in a worker thread (the calling thread stays responsive),
 * with progress, cancellation that stops the worker within 100 ms, a refusal before any allocation for a model that
 * would not fit, and a failing layer named with its reason.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import * as tf from '@tensorflow/tfjs-core';
import { resolve } from '../../server/src/core/resolve.ts';
import { profileModel } from '../../server/src/runtime/profile.ts';
import { planJob, runPlan, runProfile } from '../../server/src/runtime/engine.ts';
import { modulePaths } from '../../server/src/runtime/plan.ts';
import { Builder } from '../../server/src/core/nn/builder.ts';
import { formatProfile } from '../../server/src/runtime/format.ts';
import { allCores } from '../../server/src/runtime/backend.ts';

const EXAMPLE = join(__dirname, '../../examples/slimneck-yolov5n.yaml');
const text = readFileSync(EXAMPLE, 'utf8');
const model = resolve(text, { fileName: 'slimneck-yolov5n.yaml' });

test('an oversized model is refused before any allocation (no backend even starts)', async () => {
  // this file's process has not started a tfjs backend: a refusal must not start one either
  const r = await runProfile({
    text,
    fileName: 'slimneck-yolov5n.yaml',
    imgsz: 4096,
    batch: 8,
    runs: 1,
    warmup: 0,
    backend: 'wasm',
    memoryLimitMB: 1024,
  });
  assert.match(r.error ?? '', /^refused: the profile would need about \d+ MB .* the limit is 1024 MB/);
  assert.ok(r.estimatedMemoryMB! > 1024, `estimate ${r.estimatedMemoryMB} MB`);
  assert.equal(r.backend, 'none');
  assert.equal(r.layers.length, 0);
  assert.deepEqual(Object.keys(tf.engine().registry), [], 'no backend was initialised');
  assert.equal(tf.engine().state.numTensors, 0);
  // and through the worker, as the CLI and the server call it
  const w = await profileModel(model, { imgsz: 4096, batch: 8, memoryLimitMB: 1024 });
  assert.match(w.error ?? '', /^refused: .*limit is 1024 MB/);
  assert.match(formatProfile(w), /error: refused/);
});

test('a profile runs in a worker: progress in order, the calling thread stays responsive, shapes checked', async () => {
  const progress: [number, number, string][] = [];
  // event-loop utilisation of this thread while the profile runs: near 1 if the forward passes ran here, near 0 in a
  // worker (timer gaps would measure the machine's load rather than this thread's work)
  const before = performance.eventLoopUtilization();
  const r = await profileModel(model, {
    imgsz: 256,
    runs: 3,
    warmup: 1,
    backend: 'wasm',
    onProgress: (d, t, m) => progress.push([d, t, m]),
  });
  const busy = performance.eventLoopUtilization(before).utilization;
  assert.equal(r.error, null);
  assert.equal(r.backend, 'wasm');
  assert.match(r.backendDetail ?? '', /SIMD/);
  assert.equal(r.runs, 3);
  assert.equal(r.layers.length, model.layers.length);
  assert.ok(r.layers.every((l) => l.shapeMatches));
  assert.ok(r.totalMs > 0 && r.throughput > 0);
  assert.ok(r.peakMemoryMB! > 0 && r.peakMemoryMB! <= r.estimatedMemoryMB!);
  assert.deepEqual(
    progress.map(([d, t]) => [d, t]),
    [0, 1, 2, 3, 4].map((d) => [d, 4]),
  );
  assert.deepEqual(
    progress.map(([, , m]) => m),
    ['building the network', 'warm-up 1/1', 'run 1/3', 'run 2/3', 'run 3/3'],
  );
  assert.ok(busy < 0.2, `the calling thread was busy ${(100 * busy).toFixed(0)}% of the profile`);
  const table = formatProfile(r);
  assert.match(table, /total \d+\.\d ms \(median of 3 runs\)/);
  assert.match(table, /VoVGSCSP/);
});

test('the default profile computes on every core (threaded WebAssembly); 1 thread on request; both say so', async () => {
  const cores = allCores();
  const all = await profileModel(model, { imgsz: 128, runs: 1, warmup: 0, backend: 'wasm' });
  assert.equal(all.error, null);
  assert.equal(all.threads, cores);
  assert.match(all.backendDetail ?? '', new RegExp(`^wasm \\(SIMD, ${cores} threads?\\)$`));
  assert.ok(all.layers.every((l) => l.shapeMatches));
  assert.match(formatProfile(all), new RegExp(`backend wasm \\(SIMD, ${cores} threads?\\)`));
  const one = await profileModel(model, { imgsz: 128, runs: 1, warmup: 0, backend: 'wasm', threads: 1 });
  assert.equal(one.error, null);
  assert.equal(one.threads, 1);
  assert.match(one.backendDetail ?? '', /^wasm \(SIMD, 1 thread\)$/);
  // the same numbers on either: the layer shapes, and so the layer count, agree
  assert.deepEqual(
    one.layers.map((l) => l.outShape ?? l.outShapes),
    all.layers.map((l) => l.outShape ?? l.outShapes),
  );
});

/**
 * The fastest of three tries: on a loaded 2-core machine the scheduler alone can hold a thread's exit past a bound
 * once; a cancel that is really slow is slow every time.
 */
async function fastestOf3(bound: number, attempt: () => Promise<number>): Promise<number> {
  let best = Infinity;
  for (let k = 0; k < 3 && best >= bound; k++) best = Math.min(best, await attempt());
  return best;
}

test('cancelling stops the worker within 100 ms', async () => {
  const took = await fastestOf3(100, async () => {
    const ac = new AbortController();
    let abortedAt = 0;
    const r = await profileModel(model, {
      imgsz: 640,
      runs: 100,
      warmup: 1,
      backend: 'wasm',
      signal: ac.signal,
      onProgress: (_d, _t, m) => {
        // cancel in the middle of the timed runs, while the worker is busy in a forward pass
        if (m === 'run 1/100' && !abortedAt) {
          abortedAt = performance.now();
          ac.abort();
        }
      },
    }); // resolves on the worker's 'exit' event: the thread is gone
    const ms = performance.now() - abortedAt;
    assert.ok(abortedAt > 0, 'the run reached its timed passes');
    assert.equal(r.error, 'cancelled');
    return ms;
  });
  assert.ok(took < 100, `the worker stopped ${took.toFixed(1)} ms after the cancel (fastest of 3 tries)`);
});

test('an already-cancelled request does not start a worker', async () => {
  const took = await fastestOf3(20, async () => {
    const ac = new AbortController();
    ac.abort();
    const t0 = performance.now();
    const r = await profileModel(model, { signal: ac.signal });
    assert.equal(r.error, 'cancelled');
    return performance.now() - t0;
  });
  // starting a worker thread alone takes longer than this
  assert.ok(took < 20, `answered in ${took.toFixed(1)} ms`);
});

test('a failing layer is reported with its index, module, submodule and reason, never as a silent zero', async () => {
  const job = {
    text,
    fileName: 'slimneck-yolov5n.yaml',
    imgsz: 128,
    batch: 1,
    runs: 2,
    warmup: 0,
    backend: 'wasm' as const,
    memoryLimitMB: 2048,
  };
  const { plan } = planJob(job);
  assert.ok(plan);
  // layer 13 followed by a conv built for 7 input channels, inside the layer: the runtime must stop there and say so
  const k = 13;
  const orig = plan.layers[k]!;
  const b = new Builder({ fused: true, convDefaultAct: null });
  const broken = b.conv2d(7, 4, 1);
  const mod = b.mod(orig.mod.type, { inner: orig.mod, broken }, (fl, x) => fl.call(broken, fl.call(orig.mod, x)));
  const layers = plan.layers.map((l, i) => (i === k ? { ...l, mod, paths: modulePaths(mod) } : l));
  const r = await runPlan({ ...plan, layers }, job);
  assert.match(r.error ?? '', /^layer 13 \(VoVGSCSP\) failed: broken \(Conv2d\): .*to have 7 channels, but got 128 channels instead/);
  assert.equal(r.runs, 0, 'no run is reported as timed');
  assert.ok(
    r.layers.slice(0, k).every((l) => l.shapeMatches),
    'the layers before it ran',
  );
  assert.equal(tf.memory().numTensors, 0, 'the failed run freed its tensors');
});
