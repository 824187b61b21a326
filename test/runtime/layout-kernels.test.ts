/**
 * The data-movement kernels that replace tfjs-backend-wasm's (backend.ts: Concat, and the in-place Slice's loop for
 * short runs) and the channel softmax that stays NHWC (tfflow.ts), against plain-JS definitions on seeded data:
 * directly over arrays, and through tfjs on the wasm backend, for float32, int32 and bool.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { startBackend } from '../../server/src/runtime/backend.ts';
import { concatInto } from '../../server/src/runtime/layout-kernels.ts';
import { RtTensor, TfFlow } from '../../server/src/runtime/tfflow.ts';
import { uniform } from '../../server/src/runtime/weights.ts';

const numel = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
const stridesOf = (s: readonly number[]) => s.map((_, i) => numel(s.slice(i + 1)));

/** torch.cat written out: the output index's coordinate along `axis` picks the input. */
function refConcat(xs: { shape: number[]; data: ArrayLike<number> }[], axis: number): number[] {
  const outShape = [...xs[0]!.shape];
  outShape[axis] = xs.reduce((a, x) => a + x.shape[axis]!, 0);
  const out: number[] = [];
  const os = stridesOf(outShape);
  for (let o = 0; o < numel(outShape); o++) {
    const coord = outShape.map((v, i) => Math.floor(o / os[i]!) % v);
    let k = coord[axis]!;
    let j = 0;
    while (k >= xs[j]!.shape[axis]!) k -= xs[j++]!.shape[axis]!;
    const x = xs[j]!;
    const c = [...coord];
    c[axis] = k;
    out.push(x.data[c.reduce((a, v, i) => a + v * stridesOf(x.shape)[i]!, 0)]!);
  }
  return out;
}

const seeded = (name: string, shape: number[]) => ({ shape, data: uniform(name, numel(shape), -4, 4) });

/** Widths along the axis: short rows (loop), long rows (one call per row), mixed, as a YOLOv5 decode's 2, 2 and 81. */
const CASES: { shapes: number[][]; axis: number }[] = [
  {
    shapes: [
      [2, 3, 5, 2],
      [2, 3, 5, 2],
      [2, 3, 5, 81],
    ],
    axis: 3,
  },
  {
    shapes: [
      [2, 4, 20],
      [2, 1, 20],
      [2, 7, 20],
    ],
    axis: 1,
  },
  {
    shapes: [
      [3, 5],
      [1, 5],
    ],
    axis: 0,
  },
  {
    shapes: [
      [1, 17, 3],
      [1, 2, 3],
      [1, 40, 3],
    ],
    axis: 1,
  },
  {
    shapes: [
      [4, 1],
      [4, 70],
      [4, 3],
    ],
    axis: 1,
  },
];

test('concatInto: plain arrays, separate typed arrays and views of one buffer all give torch.cat', () => {
  for (const { shapes, axis } of CASES) {
    const xs = shapes.map((s, i) => seeded(`cat${i}`, s));
    const want = refConcat(xs, axis);
    const outer = numel(shapes[0]!.slice(0, axis));
    const inner = shapes.map((s) => numel(s.slice(axis)));
    const plain = new Array<number>(want.length).fill(NaN);
    concatInto(
      xs.map((x) => Array.from(x.data)),
      inner,
      outer,
      plain,
    );
    assert.deepEqual(plain, want, `plain arrays, ${JSON.stringify(shapes)} on axis ${axis}`);
    const typed = new Float32Array(want.length);
    concatInto(
      xs.map((x) => Float32Array.from(x.data)),
      inner,
      outer,
      typed,
    );
    assert.deepEqual(Array.from(typed), Array.from(Float32Array.from(want)), `separate buffers, ${JSON.stringify(shapes)}`);
    // one buffer holding the inputs and the output at offsets, as the wasm heap does
    const total = xs.reduce((a, x) => a + x.data.length, 0) + want.length + 3;
    const heap = new Float32Array(total);
    let at = 3;
    const views = xs.map((x) => {
      const v = heap.subarray(at, at + x.data.length);
      v.set(x.data);
      at += x.data.length;
      return v;
    });
    const out = heap.subarray(at, at + want.length);
    concatInto(views, inner, outer, out);
    assert.deepEqual(Array.from(out), Array.from(Float32Array.from(want)), `one buffer, ${JSON.stringify(shapes)}`);
  }
});

test('wasm: Concat and short-run Slice through tfjs equal the plain definitions (float32, int32, bool)', async () => {
  await startBackend('wasm', 1);
  assert.equal(tf.getBackend(), 'wasm');
  for (const { shapes, axis } of CASES) {
    const xs = shapes.map((s, i) => seeded(`wcat${i}`, s));
    const want = refConcat(xs, axis);
    const f = tf.tidy(() =>
      Array.from(
        tf
          .concat(
            xs.map((x) => tf.tensor(x.data, x.shape)),
            axis,
          )
          .dataSync(),
      ),
    );
    assert.deepEqual(f, Array.from(Float32Array.from(want)), `float32 ${JSON.stringify(shapes)} on axis ${axis}`);
    const ints = xs.map((x) => ({ shape: x.shape, data: Array.from(x.data, (v) => Math.round(v * 1000)) }));
    const i = tf.tidy(() =>
      Array.from(
        tf
          .concat(
            ints.map((x) => tf.tensor(x.data, x.shape, 'int32')),
            axis,
          )
          .dataSync(),
      ),
    );
    assert.deepEqual(i, refConcat(ints, axis), `int32 ${JSON.stringify(shapes)}`);
    const bools = xs.map((x) => ({ shape: x.shape, data: Array.from(x.data, (v) => (v > 0 ? 1 : 0)) }));
    const b = tf.tidy(() =>
      Array.from(
        tf
          .concat(
            bools.map((x) => tf.tensor(x.data, x.shape, 'bool')),
            axis,
          )
          .dataSync(),
      ),
    );
    assert.deepEqual(b, refConcat(bools, axis), `bool ${JSON.stringify(shapes)}`);
  }
  // slices whose innermost run is short (a decode's split of 85-wide rows) or long
  const x = seeded('slice', [3, 7, 85]);
  for (const [begin, size] of [
    [
      [0, 0, 0],
      [3, 7, 2],
    ],
    [
      [0, 0, 2],
      [3, 7, 2],
    ],
    [
      [1, 2, 4],
      [2, 5, 81],
    ],
    [
      [0, 3, 0],
      [3, 1, 85],
    ],
    [
      [2, 1, 7],
      [1, 6, 1],
    ],
  ] as [number[], number[]][]) {
    const got = tf.tidy(() => Array.from(tf.slice(tf.tensor(x.data, x.shape), begin, size).dataSync()));
    const want: number[] = [];
    for (let a = 0; a < size[0]!; a++)
      for (let b = 0; b < size[1]!; b++)
        for (let c = 0; c < size[2]!; c++) want.push(x.data[((begin[0]! + a) * 7 + begin[1]! + b) * 85 + begin[2]! + c]!);
    assert.deepEqual(got, Array.from(Float32Array.from(want)), `slice at ${begin} of ${size}`);
  }
});

test('softmax over the channels of a plain 4-D map returns NHWC with the same values (the DFL path)', async () => {
  for (const backend of ['wasm', 'cpu'] as const) {
    await startBackend(backend, 1);
    const shape = [2, 16, 4, 9];
    const x = seeded('dfl', shape);
    const fl = new TfFlow(true);
    const t = tf.tensor(x.data, shape);
    const y = fl.softmax(new RtTensor(t, false), 1);
    assert.equal(y.nhwc, true, `${backend}: the result stays NHWC for the conv after it`);
    assert.deepEqual(y.shape, shape);
    const got = fl.nchw(y).dataSync();
    const [n, c, h, w] = shape as [number, number, number, number];
    let worst = 0;
    for (let b = 0; b < n; b++)
      for (let i = 0; i < h * w; i++) {
        const logits = Array.from({ length: c }, (_, k) => x.data[(b * c + k) * h * w + i]!);
        const mx = Math.max(...logits);
        const z = logits.reduce((a, v) => a + Math.exp(v - mx), 0);
        logits.forEach((v, k) => (worst = Math.max(worst, Math.abs(got[(b * c + k) * h * w + i]! - Math.exp(v - mx) / z))));
      }
    assert.ok(worst < 1e-6, `${backend}: softmax differs by ${worst}`);
    // the plain-layout interpreter keeps the old path
    const plainY = new TfFlow(false).softmax(new RtTensor(t, false), 1);
    assert.equal(plainY.nhwc, false);
    assert.deepEqual(Array.from(plainY.t.dataSync()), Array.from(got));
    tf.dispose([t, y.t, plainY.t]);
  }
});

/** x.permute(perm) written out over row-major data. */
function refTranspose(data: ArrayLike<number>, shape: readonly number[], perm: readonly number[]): number[] {
  const outShape = perm.map((a) => shape[a]!);
  const os = stridesOf(outShape);
  const is = stridesOf(shape);
  const out: number[] = [];
  for (let o = 0; o < numel(outShape); o++)
    out.push(data[perm.reduce((a, ax, k) => a + (Math.floor(o / os[k]!) % outShape[k]!) * is[ax]!, 0)]!);
  return out;
}

test("a YOLOv5 head's view(bs, na, no, ny, nx).permute(0, 1, 3, 4, 2) of an NHWC map equals the plain-layout result", async () => {
  for (const backend of ['wasm', 'cpu'] as const) {
    await startBackend(backend, 1);
    const [n, na, no, h, w] = [2, 3, 21, 5, 4];
    const x = seeded('v5', [n, na * no, h, w]);
    const nchw = tf.tensor(x.data, [n, na * no, h, w]);
    const run = (fl: TfFlow, t: RtTensor, perm: number[]) => fl.permute(fl.view(t, [n, na, no, h, w]), perm);
    for (const perm of [
      [0, 1, 3, 4, 2],
      [0, 3, 4, 1, 2],
      [0, 2, 1, 3, 4],
    ]) {
      const nhwcIn = new RtTensor(tf.transpose(nchw, [0, 2, 3, 1]), true);
      const got = run(new TfFlow(true), nhwcIn, perm);
      const want = refTranspose(x.data, [n, na, no, h, w], perm);
      assert.deepEqual(
        got.shape,
        perm.map((a) => [n, na, no, h, w][a]),
      );
      assert.deepEqual(Array.from(got.t.dataSync()), Array.from(Float32Array.from(want)), `${backend} NHWC by ${perm}`);
      const plain = run(new TfFlow(false), new RtTensor(nchw, false), perm);
      assert.deepEqual(Array.from(plain.t.dataSync()), Array.from(got.t.dataSync()), `${backend} plain by ${perm}`);
      tf.dispose([nhwcIn.t, got.t, plain.t]);
    }
    nchw.dispose();
  }
});
