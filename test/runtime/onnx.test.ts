/**
 * The onnxruntime-node backend, an optional dependency `npm install` brings where its binaries exist: where it is
 * installed, the example and a spread of the corpus's runnable models run on it with every layer's shape equal to the
 * static resolver's and outputs equal to the tfjs runtime's; where it is not, asking for it falls back to the
 * WebAssembly backend and says why.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { forwardOutputs, planJob, runProfile } from '../../server/src/runtime/engine.ts';
import type { ProfileJob } from '../../server/src/runtime/job.ts';
import { loadOrt, ortOutputs, ortUnavailableReason } from '../../server/src/runtime/ort.ts';
import { CORPUS_MISSING, loadCases, frameworkOf, needsCorpus, requireCorpus } from '../support/reference.ts';
import { lookupModule } from '../../server/src/core/resolve.ts';
import { FRAMEWORKS } from '../../server/src/core/framework/index.ts';

const text = readFileSync(join(__dirname, '../../examples/slimneck-yolov5n.yaml'), 'utf8');
const job: ProfileJob = {
  text,
  fileName: 'slimneck-yolov5n.yaml',
  imgsz: 160,
  batch: 1,
  runs: 2,
  warmup: 1,
  backend: 'onnxruntime-node',
  memoryLimitMB: 2048,
};
const installed = loadOrt() !== null;

test(
  installed
    ? 'onnxruntime-node is installed: the example runs on it'
    : `onnxruntime-node is not installed (${ortUnavailableReason()}): asking for it falls back to wasm`,
  async () => {
    const r = await runProfile(job);
    assert.equal(r.error, null);
    if (installed) {
      assert.equal(r.backend, 'onnxruntime-node');
      assert.match(r.backendDetail ?? '', /^onnxruntime-node \d+\.\d+\.\d+ \(CPU, \d+ threads?\)$/);
      assert.deepEqual(r.warnings, []);
      // every layer got kernel time (names carry `L<layer>/`), and the total is a wall time that covers them
      const summed = r.layers.reduce((a, l) => a + l.ms, 0);
      assert.ok(
        r.layers.filter((l) => /Conv|C3|VoVGSCSP|Detect/.test(l.module)).every((l) => l.ms > 0),
        'compute layers have time',
      );
      assert.ok(summed <= r.totalMs * 1.5, `per-layer sum ${summed} vs total ${r.totalMs}`);
    } else {
      assert.equal(r.backend, 'wasm');
      assert.ok(
        r.warnings.some((w) => /onnxruntime-node is not available/.test(w)),
        r.warnings.join('; '),
      );
    }
    assert.ok(r.layers.every((l) => l.shapeMatches));
  },
);

if (installed) {
  /** The largest |a − b| relative to max(1, |b|). */
  const diff = (a: Float32Array, b: Float32Array) => {
    let d = 0;
    for (let j = 0; j < a.length; j++) d = Math.max(d, Math.abs(a[j]! - b[j]!) / Math.max(1, Math.abs(b[j]!)));
    return d;
  };
  // without the corpus only the example runs here: skipped with the reason, failed under CI=true
  test('the reference corpus is there for the comparisons on its models', needsCorpus, () => requireCorpus());
  const cases = CORPUS_MISSING ? [] : loadCases();
  const byName = (n: string) => cases.find((c) => c.name.endsWith(n))!;
  const samples: [string, ProfileJob][] = [['the example', job]];
  // heads with decode math, attention, text features, an unfused network. Not RT-DETR: its decoder picks the top
  // 300 of near-equal random scores, so float rounding changes the pick (tfjs, onnxruntime and PyTorch all differ)
  for (const n of [
    'v8/yolov8-world@n.json',
    'v8/yolov8-sn@n.json',
    'v8/yolov8-obb@n.json',
    'models/GSConv-yolov4-p5.json',
    'yolov5/models/yolov5n.json',
  ]) {
    const c = byName(n);
    if (c)
      samples.push([
        c.name,
        {
          ...job,
          text: c.text,
          fileName: c.options.fileName!,
          ...(c.options.framework ? { framework: c.options.framework } : {}),
          ...(c.options.scale ? { scale: c.options.scale } : {}),
          imgsz: 128,
        },
      ]);
  }
  for (const [name, j] of samples)
    test(`onnxruntime-node computes what the tfjs runtime computes: ${name}`, async () => {
      const { plan } = planJob(j);
      const ours = await forwardOutputs({ ...j, backend: 'wasm' });
      const theirs = await ortOutputs(plan!);
      assert.equal(theirs.length, ours.outputs.length);
      theirs.forEach((t, i) => {
        assert.deepEqual(t.shape, ours.outputs[i]!.shape);
        const d = diff(t.data instanceof Float32Array ? t.data : Float32Array.from(t.data), ours.outputs[i]!.data);
        assert.ok(d < 1e-3, `output ${i}: max relative difference ${d}`);
      });
    });

  const runnable = (CORPUS_MISSING ? [] : loadCases()).filter((c) => {
    const framework = FRAMEWORKS[frameworkOf(c.record)];
    return c.record.ok && framework && c.record.layers.every((l) => 'entry' in lookupModule(framework, l.module));
  });
  // every record is ~10 minutes of one core (the tfjs corpus test already runs each one): by default every
  // ORT_STRIDE-th record, a fixed spread over all code bases; YOLO_LENS_ORT_ALL=1 runs them all
  const ORT_STRIDE = 6;
  const shapeCases = process.env.YOLO_LENS_ORT_ALL ? runnable : runnable.filter((_, i) => i % ORT_STRIDE === 0);
  for (const c of shapeCases)
    test(`onnxruntime shapes: ${c.name}`, async () => {
      const r = await runProfile({
        ...job,
        text: c.text,
        fileName: c.options.fileName!,
        ...(c.options.framework ? { framework: c.options.framework } : {}),
        ...(c.options.scale ? { scale: c.options.scale } : {}),
        imgsz: 128,
        runs: 1,
        warmup: 0,
      });
      assert.equal(r.error, null, r.error ?? '');
      assert.equal(r.backend, 'onnxruntime-node', r.warnings.join('; '));
      for (const l of r.layers)
        assert.ok(
          l.shapeMatches,
          `layer ${l.index} (${l.module}): ${JSON.stringify(l.outShape ?? l.outShapes)} vs ` +
            `${JSON.stringify(l.staticShape ?? l.staticShapes)}`,
        );
    });
}
