/**
 * The profile's PyTorch estimate (runtime/torch-cost.ts): the work it counts per layer, that the committed
 * coefficients are the fit of the committed measurements (scripts/truth/torch-cost.ts), that those measurements hold
 * the work the current code counts, and what the estimate adds over the engine-free baseline (multiply-adds alone)
 * on the held-out models.
 */
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { planJob } from '../../server/src/runtime/engine.ts';
import { traceNetwork } from '../../server/src/runtime/trace.ts';
import {
  estimateTorchLayerMs,
  estimateTorchLayers,
  fitNonNegative,
  layerCostFeatures,
  TORCH_COST_FEATURES,
  torchCostModel,
} from '../../server/src/runtime/torch-cost.ts';
import { fit } from '../../scripts/truth/torch-cost.ts';
import { spearman } from '../../bench/stats.ts';

const root = join(__dirname, '..', '..');
const measurements = JSON.parse(readFileSync(join(root, 'scripts/truth/torch-cost/measurements.json'), 'utf8'));
const at = (f: (typeof TORCH_COST_FEATURES)[number]) => TORCH_COST_FEATURES.indexOf(f);

function slimneckPlan() {
  const { plan, error } = planJob({
    text: readFileSync(join(root, 'examples/slimneck-yolov5n.yaml'), 'utf8'),
    fileName: 'slimneck.yaml',
    imgsz: 640,
    batch: 1,
    runs: 1,
    warmup: 0,
    backend: 'cpu',
    memoryLimitMB: 8192,
    framework: 'yolov5-gsconv',
  });
  assert.ok(plan, error ?? '');
  return plan;
}

test('the work counted per layer: the stem conv, a strided conv, SPPF pooling, Mish activations', () => {
  const plan = slimneckPlan();
  const f = layerCostFeatures(traceNetwork(plan, { tensors: false }), plan.layers.length);
  assert.equal(f.length, plan.layers.length);
  // layer 0: Conv(3, 16, 6, 2, 2) at 640 -> [16, 320, 320]: 16*320*320 outputs x 3*6*6 multiply-adds, Mish after it
  assert.ok(Math.abs(f[0]![at('stemConvGMAC')]! - (16 * 320 * 320 * 3 * 36) / 1e9) < 1e-9);
  assert.ok(Math.abs(f[0]![at('convOutMB')]! - (16 * 320 * 320 * 4) / 1e6) < 1e-9);
  assert.ok(Math.abs(f[0]![at('mishActivationMB')]! - (16 * 320 * 320 * 4) / 1e6) < 1e-9);
  assert.equal(f[0]![at('activationMB')], 0);
  // layer 1: Conv(16, 32, 3, 2) -> [32, 160, 160], strided
  assert.ok(Math.abs(f[1]![at('stridedConvGMAC')]! - (32 * 160 * 160 * 16 * 9) / 1e9) < 1e-9);
  // SPPF (layer 9): three 5x5 max-pools over [1, 128, 20, 20]
  const sppf = plan.layers.findIndex((l) => l.module === 'SPPF');
  assert.ok(Math.abs(f[sppf]![at('poolReadsG')]! - (3 * 128 * 20 * 20 * 25) / 1e9) < 1e-12);
  // a Concat layer writes its output and runs one kernel
  const cat = plan.layers.findIndex((l) => l.module === 'Concat');
  const catOut = plan.layers[cat]!.staticShapes[0]!.reduce((a, b) => a * b, 1);
  assert.ok(Math.abs(f[cat]![at('concatMB')]! - (catOut * 4) / 1e6) < 1e-9);
  assert.equal(f[cat]![at('ops')], 1);
});

test('a trace without tensors has the same ops and shapes, and draws no weights', () => {
  const plan = slimneckPlan();
  const full = traceNetwork(plan);
  const bare = traceNetwork(plan, { tensors: false });
  assert.equal(bare.tensors.size, 0);
  assert.ok(full.tensors.size > 100);
  assert.deepEqual(
    bare.ops.map((o) => [o.kind, o.shape]),
    full.ops.map((o) => [o.kind, o.shape]),
  );
});

test('the estimate in a profile: one value per layer, the basis names the PyTorch version and machine', () => {
  const plan = slimneckPlan();
  const one = estimateTorchLayers(plan, 1)!;
  const all = estimateTorchLayers(plan, 2)!;
  assert.equal(one.layerMs.length, plan.layers.length);
  assert.ok(one.layerMs.every((v) => Number.isFinite(v) && v >= 0));
  assert.ok(one.layerMs.some((v) => v > 0));
  assert.match(one.basis, new RegExp(`PyTorch ${torchCostModel.torch.replace(/\./g, '\\.')}.*on 1 thread`));
  assert.match(all.basis, /on all cores/);
});

test('the committed coefficients are the fit of the committed measurements', () => {
  const refit = fit(measurements);
  for (const key of ['1', 'all'] as const)
    for (const f of TORCH_COST_FEATURES) {
      const want = torchCostModel.coefficients[key][f];
      const got = refit.coefficients[key][f];
      assert.ok(Math.abs(got - want) <= 1e-4 * Math.max(1, Math.abs(want)), `${key} ${f}: refit ${got}, committed ${want}`);
    }
  assert.deepEqual(refit.heldOut, torchCostModel.heldOut);
  assert.deepEqual(measurements.features, [...TORCH_COST_FEATURES]);
});

test('the measurements hold the work the current code counts (the bundled example)', () => {
  const plan = slimneckPlan();
  const now = layerCostFeatures(traceNetwork(plan, { tensors: false }), plan.layers.length);
  const stored = measurements.models.find((m: { name: string }) => m.name === 'slimneck');
  assert.ok(stored, 'the bundled example is measured');
  now.forEach((row, i) =>
    row.forEach((v, j) => assert.ok(Math.abs(v - stored.features[i][j]) <= 1e-5 * Math.max(1, v), `layer ${i} ${TORCH_COST_FEATURES[j]}`)),
  );
});

test('on the held-out models the estimate ranks layers better than multiply-adds alone', () => {
  const gmac = TORCH_COST_FEATURES.filter((f) => f.endsWith('GMAC')).map(at);
  for (const m of measurements.models.filter((x: { heldOut: boolean }) => x.heldOut))
    for (const key of ['1', 'all'] as const) {
      const est = estimateTorchLayerMs(m.features, key === '1' ? 1 : measurements.cores);
      const macs = m.features.map((row: number[]) => gmac.reduce((s, i) => s + row[i]!, 0));
      const ours = spearman(est, m.torchMs[key]);
      const base = spearman(macs, m.torchMs[key]);
      assert.ok(ours > base, `${m.name} at ${key}: estimate ${ours.toFixed(3)}, multiply-adds ${base.toFixed(3)}`);
    }
});

test('the non-negative fit recovers known costs and never goes negative', () => {
  const truth = [2, 0, 0.5];
  const rows = [
    [1, 0, 0],
    [0, 1, 0],
    [0, 0, 1],
    [1, 1, 1],
    [2, 0, 1],
  ];
  const targets = rows.map((r) => r.reduce((s, v, i) => s + v * truth[i]!, 0));
  const x = fitNonNegative(rows, targets);
  x.forEach((v, i) => assert.ok(Math.abs(v - truth[i]!) < 1e-9, `coefficient ${i}: ${v}`));
  // a target that only a negative cost would fit: the coefficient stops at 0
  const y = fitNonNegative([[1], [2]], [-1, -2]);
  assert.equal(y[0], 0);
});
