/**
 * The profiler against models that resolve (no error diagnostic: torch would build them, given the memory) but that
 * no machine can run: a 100,000-wide kernel (20 TB of weights), 16 million channels, an upsample by 16,384, an image
 * of 8192² in batches of 256, a width multiple of 64. Each is refused from its memory estimate before any tensor
 * exists (no tfjs backend even starts), at once, with the figure and the setting to change.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { resolve } from '../../server/src/core/resolve.ts';
import { runProfile } from '../../server/src/runtime/engine.ts';
import { profileModel } from '../../server/src/runtime/profile.ts';
import { cpuMs } from './fuzz-harness.ts';

const V5 =
  'nc: 80\ndepth_multiple: 0.33\nwidth_multiple: 0.25\nanchors:\n  - [10,13, 16,30, 33,23]\n  - [30,61, 62,45, 59,119]\n  - [116,90, ' +
  '156,198, 373,326]\n';
const HOSTILE: [string, string, number, number, RegExp][] = [
  [
    'a kernel of 100,000',
    V5 + 'backbone:\n  - [-1, 1, Conv, [64, 6, 2, 2]]\n  - [-1, 1, Conv, [128, 100000, 2]]\nhead: []\n',
    640,
    1,
    /weights \d{7,}(\.\d)? MB/,
  ],
  [
    '16 million channels',
    V5.replace('width_multiple: 0.25', 'width_multiple: 1.0') + 'backbone:\n  - [-1, 1, Conv, [16000000, 3, 2]]\nhead: []\n',
    64,
    1,
    /activations \d{6,} MB/,
  ],
  [
    'an upsample by 16,384',
    V5 + "backbone:\n  - [-1, 1, Conv, [64, 6, 2, 2]]\n  - [-1, 1, nn.Upsample, [None, 16384, 'nearest']]\nhead: []\n",
    640,
    1,
    /activations \d{9,} MB, peak at layer 1/,
  ],
  ['8192² in batches of 256', V5 + 'backbone:\n  - [-1, 1, Conv, [64, 6, 2, 2]]\nhead: []\n', 8192, 256, /at 8192×8192, batch 256/],
  [
    'a width multiple of 64',
    V5.replace('width_multiple: 0.25', 'width_multiple: 64') +
      'backbone:\n  - [-1, 1, Conv, [1024, 3, 2]]\n  - [-1, 1, Conv, [1024, 3, 2]]\nhead: []\n',
    640,
    1,
    /weights \d{6,}(\.\d)? MB/,
  ],
];

test('absurd but valid models are refused from the estimate before anything is allocated', async () => {
  for (const [what, text, imgsz, batch, figure] of HOSTILE) {
    const model = resolve(text, { imgsz });
    assert.equal(model.ok, true, `${what}: the model itself resolves (${model.diagnostics.map((d) => d.message).join('; ')})`);
    const { result: pending, ms } = cpuMs(() =>
      runProfile({ text, imgsz, batch, runs: 1, warmup: 0, backend: 'wasm', memoryLimitMB: 2048 }),
    );
    const r = await pending;
    assert.match(
      r.error ?? '',
      /^refused: the profile would need about \d+ MB .* the limit is 2048 MB \(setting yolo\.profile\.memoryLimitMB\)/,
      what,
    );
    assert.match(r.error!, figure, what);
    assert.ok(Number.isFinite(r.estimatedMemoryMB) && r.estimatedMemoryMB! > 2048, `${what}: estimate ${r.estimatedMemoryMB}`);
    assert.equal(r.backend, 'none');
    assert.equal(r.layers.length, 0);
    assert.ok(ms < 2000, `${what}: the refusal took ${ms.toFixed(0)} ms of CPU`);
  }
  assert.deepEqual(Object.keys(tf.engine().registry), [], 'no backend was initialised');
  assert.equal(tf.engine().state.numTensors, 0);
});

test('through the worker, as the server and the CLI run it, the same refusal', async () => {
  const [, text] = HOSTILE[0]!;
  const r = await profileModel(resolve(text, { fileName: 'kernel.yaml' }), { memoryLimitMB: 2048 });
  assert.match(r.error ?? '', /^refused: .*limit is 2048 MB/);
});
