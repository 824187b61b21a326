/**
 * Numbers, not just shapes: catalog modules (Conv, C3, C2f, SPPF, GSConv with its shuffle, VoVGSCSP, Detect, YOLO12's
 * area attention) run
 * through the tfjs runtime on a tiny input must equal the same computation written out by hand in this test over
 * a plain-JS reference of conv, BatchNorm, activations and pooling (`reference-ops.ts`), with the same seeded weights.
 * Each runs on the WebAssembly and the CPU backends, from an NCHW and from an NHWC input.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { Builder } from '../../server/src/core/nn/builder.ts';
import type { ForwardCtx, Mod, Out } from '../../server/src/core/nn/module.ts';
import { construct, type ModuleDef } from '../../server/src/core/catalog/types.ts';
import { yolov5Kit } from '../../server/src/core/catalog/yolov5.ts';
import { gsconvYolov5Modules } from '../../server/src/core/catalog/gsconv-yolov5.ts';
import { C2f } from '../../server/src/core/catalog/ultralytics/block.ts';
import { A2C2f, AAttn } from '../../server/src/core/catalog/ultralytics/block-8.4.ts';
import { Detect as UlDetect } from '../../server/src/core/catalog/ultralytics/head.ts';
import { PyFloat, PyTuple, type PyVal } from '../../server/src/core/py.ts';
import { startBackend } from '../../server/src/runtime/backend.ts';
import { prepareModuleWeights } from '../../server/src/runtime/engine.ts';
import { modulePaths } from '../../server/src/runtime/plan.ts';
import { disposePrepared, RtTensor, TfFlow } from '../../server/src/runtime/tfflow.ts';
import { leafParamArrays, ownParamArrays, uniform } from '../../server/src/runtime/weights.ts';
import {
  add,
  arr,
  batchNorm,
  bicubic,
  catChannels,
  channels,
  conv2d,
  maxPool,
  maxRelDiff,
  mish,
  silu,
  sigmoid,
  type Arr,
} from './reference-ops.ts';

const upstream = yolov5Kit('upstream');
const fork = yolov5Kit('fork');
const slim = Object.fromEntries(gsconvYolov5Modules(fork).map((d) => [d.name, d])) as Record<string, ModuleDef>;
const TOL = 2e-5;

/** A module built the way the resolver builds it (fused: the deployed form with BatchNorm folded). */
function build(def: ModuleDef, args: PyVal[], fused: boolean, kw: Record<string, PyVal> = {}): Mod {
  return construct(new Builder({ fused, convDefaultAct: null }), def, args, kw);
}

/** Seeded parameters of the leaf at `path`, by name, as the runtime gets them. */
function paramsAt(mod: Mod, path: string): Record<string, Arr> {
  const paths = modulePaths(mod);
  const m = [...paths].find(([, p]) => p === path)?.[0];
  if (!m?.leaf) throw new Error(`no leaf at ${path}`);
  return Object.fromEntries(leafParamArrays(m.leaf, `T/${path}`).map((p) => [p.name, arr([...p.shape], p.values)]));
}

/** The reference of one YOLOv5/ultralytics Conv: conv (k, s, autopad, g), then BatchNorm or the folded bias, then act. */
function convRef(
  mod: Mod,
  path: string,
  x: Arr,
  o: { c2: number; k: number; s?: number; g?: number; act: 'silu' | 'mish' | 'none'; fused: boolean },
): Arr {
  const at = (leaf: string) => (path ? `${path}.${leaf}` : leaf);
  const conv = paramsAt(mod, at('conv'));
  const c1 = x.shape[1]!;
  const g = o.g ?? 1;
  assert.deepEqual(conv.weight!.shape, [o.c2, c1 / g, o.k, o.k], `${path}.conv weight shape`);
  let y = conv2d(x, conv.weight!, o.fused ? conv.bias!.data : null, o.s ?? 1, Math.floor(o.k / 2), g);
  if (!o.fused) {
    assert.equal(conv.bias, undefined, `${path}.conv has no bias before fusing`);
    const bn = paramsAt(mod, at('bn'));
    y = batchNorm(y, bn.weight!.data, bn.bias!.data, bn.running_mean!.data, bn.running_var!.data);
  }
  return o.act === 'silu' ? silu(y) : o.act === 'mish' ? mish(y) : y;
}

function input(shape: number[], key: string): Arr {
  return arr(
    shape,
    uniform(
      key,
      shape.reduce((a, b) => a * b, 1),
      -2,
      2,
    ),
  );
}

const BACKENDS = ['wasm', 'cpu'] as const;

/** Runs `mod` on the runtime and returns every output as NCHW arrays. */
function runtime(mod: Mod, xs: Arr | Arr[], nhwc: boolean, ctx: Record<string, unknown> = {}): Arr[] {
  const flow = new TfFlow(true);
  const paths = modulePaths(mod);
  const params = prepareModuleWeights(paths, 'T');
  flow.params = params;
  flow.paths = paths;
  const toRt = (a: Arr) => {
    const t = tf.tensor(Float32Array.from(a.data), a.shape);
    return nhwc && a.shape.length === 4 ? new RtTensor(tf.transpose(t, [0, 2, 3, 1]), true) : new RtTensor(t, false);
  };
  const inputs = Array.isArray(xs) ? xs.map(toRt) : toRt(xs);
  try {
    const out = flow.callMulti(mod, inputs, ctx as ForwardCtx<RtTensor>);
    const flat = (o: Out<RtTensor>): RtTensor[] =>
      o === null ? [] : o instanceof RtTensor ? [o] : (o as readonly Out<RtTensor>[]).flatMap(flat);
    return flat(out).map((r) => {
      const t = flow.nchw(r);
      return arr([...t.shape], t.dataSync());
    });
  } finally {
    for (const p of params.values()) disposePrepared(p);
  }
}

/** An expected output: values, or (for an output another test checks) only its shape. */
type Expected = Arr | { readonly shape: number[]; readonly data?: undefined };

function check(name: string, build: () => { mod: Mod; x: Arr | Arr[]; expected: Expected[]; ctx?: Record<string, unknown> }): void {
  for (const backend of BACKENDS)
    for (const nhwc of [false, true])
      test(`${name} on ${backend}, ${nhwc ? 'NHWC' : 'NCHW'} input`, async () => {
        const started = await startBackend(backend);
        assert.equal(started.name, backend);
        tf.engine().startScope();
        try {
          const { mod, x, expected, ctx } = build();
          const got = runtime(mod, x, nhwc, ctx);
          assert.equal(got.length, expected.length, 'number of outputs');
          got.forEach((g, i) => {
            const e = expected[i]!;
            assert.deepEqual(g.shape, e.shape, `output ${i} shape`);
            if (!e.data) return;
            const d = maxRelDiff(g.data, e.data);
            assert.ok(d < TOL, `output ${i}: max relative difference ${d}`);
          });
        } finally {
          tf.engine().endScope();
        }
      });
}

for (const fused of [true, false])
  check(`Conv (YOLOv5, k3 s2, SiLU, ${fused ? 'BatchNorm folded' : 'with BatchNorm'})`, () => {
    const mod = build(upstream.Conv, [3, 8, 3, 2], fused);
    const x = input([2, 3, 9, 9], 'x');
    return { mod, x, expected: [convRef(mod, '', x, { c2: 8, k: 3, s: 2, act: 'silu', fused })] };
  });

check('DWConv-style grouped Conv (g = 2, neither dense nor depthwise)', () => {
  const mod = build(upstream.Conv, [4, 6, 3, 1, null, 2], true);
  const x = input([1, 4, 6, 6], 'x');
  return { mod, x, expected: [convRef(mod, '', x, { c2: 6, k: 3, g: 2, act: 'silu', fused: true })] };
});

check('C3 (n = 2, shortcut)', () => {
  const mod = build(upstream.C3, [8, 8, 2], true);
  const x = input([1, 8, 6, 6], 'x');
  const c = (p: string, v: Arr, c2: number, k: number) => convRef(mod, p, v, { c2, k, act: 'silu', fused: true });
  let m = c('cv1', x, 4, 1);
  for (const i of [0, 1]) m = add(m, c(`m.${i}.cv2`, c(`m.${i}.cv1`, m, 4, 1), 4, 3));
  return { mod, x, expected: [c('cv3', catChannels([m, c('cv2', x, 4, 1)]), 8, 1)] };
});

check('C2f (ultralytics, n = 2, shortcut)', () => {
  const mod = build(C2f, [8, 8, 2, true], true);
  const x = input([1, 8, 5, 5], 'x');
  const c = (p: string, v: Arr, c2: number, k: number) => convRef(mod, p, v, { c2, k, act: 'silu', fused: true });
  const y0 = c('cv1', x, 8, 1);
  const ys = [channels(y0, 0, 4), channels(y0, 4, 4)];
  for (const i of [0, 1]) ys.push(add(ys[ys.length - 1]!, c(`m.${i}.cv2`, c(`m.${i}.cv1`, ys[ys.length - 1]!, 4, 3), 4, 3)));
  return { mod, x, expected: [c('cv2', catChannels(ys), 8, 1)] };
});

check('SPPF (k = 5)', () => {
  const mod = build(upstream.SPPF, [8, 6, 5], true);
  const x = input([1, 8, 7, 7], 'x');
  const y0 = convRef(mod, 'cv1', x, { c2: 4, k: 1, act: 'silu', fused: true });
  const y1 = maxPool(y0, 5, 1, 2);
  const y2 = maxPool(y1, 5, 1, 2);
  const y3 = maxPool(y2, 5, 1, 2);
  return { mod, x, expected: [convRef(mod, 'cv2', catChannels([y0, y1, y2, y3]), { c2: 6, k: 1, act: 'silu', fused: true })] };
});

/** GSConv's shuffle by its definition: the even channels of the concatenation, then the odd ones. */
function shuffle(x: Arr): Arr {
  const c = x.shape[1]!;
  const pick = (parity: number) => catChannels(Array.from({ length: c / 2 }, (_, i) => channels(x, 2 * i + parity, 1)));
  return catChannels([pick(0), pick(1)]);
}

function gsconvRef(mod: Mod, path: string, x: Arr, c2: number, k: number, s: number, act: boolean): Arr {
  const p = path ? `${path}.` : '';
  const c_ = c2 / 2;
  const x1 = convRef(mod, `${p}cv1`, x, { c2: c_, k, s, act: act ? 'mish' : 'none', fused: true });
  const x2 = convRef(mod, `${p}cv2`, x1, { c2: c_, k: 5, g: c_, act: act ? 'mish' : 'none', fused: true });
  return shuffle(catChannels([x1, x2]));
}

check('GSConv (Slim-neck fork: Mish, 5x5 depth-wise, shuffle; batch 2)', () => {
  const mod = build(slim.GSConv!, [4, 8, 3, 2], true);
  const x = input([2, 4, 8, 8], 'x');
  return { mod, x, expected: [gsconvRef(mod, '', x, 8, 3, 2, true)] };
});

check('VoVGSCSP (Slim-neck fork, n = 1)', () => {
  const mod = build(slim.VoVGSCSP!, [8, 8, 1], true);
  const x = input([1, 8, 6, 6], 'x');
  const c = (p: string, v: Arr, c2: number, k: number, act: 'mish' | 'none' = 'mish') => convRef(mod, p, v, { c2, k, act, fused: true });
  const x1in = c('cv1', x, 4, 1);
  const light = gsconvRef(mod, 'gsb.0.conv_lighting.1', gsconvRef(mod, 'gsb.0.conv_lighting.0', x1in, 4, 1, 1, true), 4, 3, 1, false);
  const x1 = add(light, c('gsb.0.shortcut', x1in, 4, 1, 'none'));
  return { mod, x, expected: [c('cv3', catChannels([c('cv2', x, 4, 1), x1]), 8, 1)] };
});

check('nn.Upsample bicubic ×2 (torch coordinates, clamped borders)', () => {
  const mod = new Builder({ fused: true, convDefaultAct: null }).upsample(null, [2, 2], 'bicubic');
  const x = input([1, 3, 5, 4], 'x');
  return { mod, x, expected: [bicubic(x, 2)] };
});

// YOLOv5 Detect: 2 levels, 2 anchors each, nc = 2, at strides 8 and 16 of a 64×64 image
const ANCHORS = [
  [10, 13, 16, 30],
  [30, 61, 62, 45],
];
const STRIDES = [8, 16];
function detectSetup(): { mod: Mod; xs: Arr[]; raw: Arr[]; decoded: Arr } {
  const anchors = new PyTuple(ANCHORS.map((r) => new PyTuple(r)));
  const mod = build(upstream.Detect, [2, anchors, new PyTuple([4, 8])], true);
  const xs = [input([1, 4, 8, 8], 'p3'), input([1, 8, 4, 4], 'p4')];
  const na = 2;
  const no = 7;
  const raw: Arr[] = [];
  const rows: number[][] = [];
  xs.forEach((x, i) => {
    const p = paramsAt(mod, `m.${i}`);
    const y = conv2d(x, p.weight!, p.bias!.data, 1, 0);
    const [, , ny, nx] = y.shape as [number, number, number, number];
    // view(bs, na, no, ny, nx).permute(0, 1, 3, 4, 2)
    const r = arr([1, na, ny, nx, no]);
    for (let a = 0; a < na; a++)
      for (let h = 0; h < ny; h++)
        for (let w = 0; w < nx; w++)
          for (let o = 0; o < no; o++) {
            r.data[((a * ny + h) * nx + w) * no + o] = y.data[((a * no + o) * ny + h) * nx + w]!;
          }
    raw.push(r);
    // eval decode (models/yolo.py Detect.forward): xy = (σ·2 + grid − 0.5)·stride, wh = (σ·2)²·anchor, the rest σ
    for (let a = 0; a < na; a++)
      for (let h = 0; h < ny; h++)
        for (let w = 0; w < nx; w++) {
          const s = Array.from({ length: no }, (_, o) => sigmoid(r.data[((a * ny + h) * nx + w) * no + o]!));
          rows.push([
            (s[0]! * 2 - 0.5 + w) * STRIDES[i]!,
            (s[1]! * 2 - 0.5 + h) * STRIDES[i]!,
            (s[2]! * 2) ** 2 * ANCHORS[i]![2 * a]!,
            (s[3]! * 2) ** 2 * ANCHORS[i]![2 * a + 1]!,
            ...s.slice(4),
          ]);
        }
  });
  return { mod, xs, raw, decoded: arr([1, rows.length, no], rows.flat()) };
}

check('Detect (YOLOv5): the raw per-level maps (1x1 conv with bias, view, permute)', () => {
  const { mod, xs, raw, decoded } = detectSetup();
  // the decoded boxes come first (their values: the next test); the raw maps follow
  return { mod, x: xs, expected: [{ shape: decoded.shape }, ...raw], ctx: { strides: STRIDES } };
});

test('Detect (YOLOv5): the eval decode (grid, strides, anchors)', async () => {
  await startBackend('wasm');
  tf.engine().startScope();
  try {
    const { mod, xs, decoded } = detectSetup();
    const got = runtime(mod, xs, true, { strides: STRIDES });
    const d = maxRelDiff(got[0]!.data, decoded.data);
    assert.ok(d < TOL, `decoded boxes: max relative difference ${d}`);
  } finally {
    tf.engine().endScope();
  }
});

// ultralytics Detect: 2 levels (16 and 32 channels at strides 8 and 16), nc = 2, reg_max 16
check('Detect (ultralytics): box and class branches, DFL integral, anchor-point decode × stride', () => {
  const mod = build(UlDetect, [2, new PyTuple([16, 32])], true);
  const xs = [input([1, 16, 8, 8], 'p3'), input([1, 32, 4, 4], 'p4')];
  const strides = [8, 16];
  const nc = 2;
  const c2 = 64; // max(16, ch[0] / 4, 4·reg_max)
  const c3 = 16; // max(ch[0], min(nc, 100))
  const c = (p: string, v: Arr, co: number, k: number, g = 1) => convRef(mod, p, v, { c2: co, k, g, act: 'silu', fused: true });
  const plain = (p: string, v: Arr) => {
    const w = paramsAt(mod, p);
    return conv2d(v, w.weight!, w.bias!.data, 1, 0);
  };
  const maps = xs.map((x, i) => {
    const ch = x.shape[1]!;
    const box = plain(`cv2.${i}.2`, c(`cv2.${i}.1`, c(`cv2.${i}.0`, x, c2, 3), c2, 3));
    let cls = c(`cv3.${i}.0.1`, c(`cv3.${i}.0.0`, x, ch, 3, ch), c3, 1);
    cls = c(`cv3.${i}.1.1`, c(`cv3.${i}.1.0`, cls, c3, 3, c3), c3, 1);
    return catChannels([box, plain(`cv3.${i}.2`, cls)]);
  });
  // decode, written from Detect._inference / DFL / make_anchors / dist2bbox(xywh)
  const rows: number[][] = Array.from({ length: 4 + nc }, () => []);
  maps.forEach((m, i) => {
    const [, , h, w] = m.shape as [number, number, number, number];
    for (let yy = 0; yy < h; yy++)
      for (let xx = 0; xx < w; xx++) {
        const at = (ch: number) => m.data[(ch * h + yy) * w + xx]!;
        // DFL: softmax over the 16 bins of each side, expectation of the bin index
        const dist = [0, 1, 2, 3].map((side) => {
          const logits = Array.from({ length: 16 }, (_, b) => at(side * 16 + b));
          const mx = Math.max(...logits);
          const e = logits.map((v) => Math.exp(v - mx));
          const z = e.reduce((a, b) => a + b, 0);
          return e.reduce((a, v, b) => a + (v / z) * b, 0);
        });
        const [ax, ay] = [xx + 0.5, yy + 0.5];
        const [x1, y1, x2, y2] = [ax - dist[0]!, ay - dist[1]!, ax + dist[2]!, ay + dist[3]!];
        [(x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1].forEach((v, k) => rows[k]!.push(v * strides[i]!));
        for (let k = 0; k < nc; k++) rows[4 + k]!.push(sigmoid(at(64 + k)));
      }
  });
  const y = arr([1, 4 + nc, rows[0]!.length], rows.flat());
  return { mod, x: xs, expected: [y, ...maps], ctx: { strides } };
});

/** Functional ops the heads' decoders use, against plain-JS definitions. */
function flowOp(name: string, run: (fl: TfFlow, t: (a: Arr) => RtTensor) => RtTensor | RtTensor[], expected: () => Arr[]): void {
  for (const backend of BACKENDS)
    test(`${name} on ${backend}`, async () => {
      await startBackend(backend);
      tf.engine().startScope();
      try {
        const fl = new TfFlow(true);
        const outs = run(fl, (a) => new RtTensor(tf.tensor(Float32Array.from(a.data), a.shape), false));
        const got = (Array.isArray(outs) ? outs : [outs]).map((r) => {
          const t = fl.nchw(r);
          return arr([...t.shape], t.dataSync());
        });
        expected().forEach((e, i) => {
          assert.deepEqual(got[i]!.shape, e.shape, `output ${i} shape`);
          const d = maxRelDiff(got[i]!.data, e.data);
          assert.ok(d < TOL, `output ${i}: max relative difference ${d}`);
        });
      } finally {
        tf.engine().endScope();
      }
    });
}

const gsX = input([2, 3, 5, 6], 'gsx');
const gsGrid = input([2, 4, 3, 2], 'grid'); // values in [-2, 2): some samples fall outside the map
flowOp(
  'grid_sample (bilinear, zero padding, align_corners False)',
  (fl, t) => fl.gridSample(t(gsX), t(gsGrid), 'bilinear', 'zeros', false),
  () => {
    const [N, C, H, W] = gsX.shape as [number, number, number, number];
    const [, HO, WO] = gsGrid.shape as [number, number, number, number];
    const y = arr([N, C, HO, WO]);
    for (let n = 0; n < N; n++)
      for (let i = 0; i < HO; i++)
        for (let j = 0; j < WO; j++) {
          const g = ((n * HO + i) * WO + j) * 2;
          const ix = ((gsGrid.data[g]! + 1) * W - 1) / 2;
          const iy = ((gsGrid.data[g + 1]! + 1) * H - 1) / 2;
          const x0 = Math.floor(ix);
          const y0 = Math.floor(iy);
          for (let c = 0; c < C; c++) {
            let v = 0;
            for (const [xx, yy, wgt] of [
              [x0, y0, (x0 + 1 - ix) * (y0 + 1 - iy)],
              [x0 + 1, y0, (ix - x0) * (y0 + 1 - iy)],
              [x0, y0 + 1, (x0 + 1 - ix) * (iy - y0)],
              [x0 + 1, y0 + 1, (ix - x0) * (iy - y0)],
            ] as const)
              if (xx >= 0 && yy >= 0 && xx < W && yy < H) v += wgt * gsX.data[((n * C + c) * H + yy) * W + xx]!;
            y.data[((n * C + c) * HO + i) * WO + j] = v;
          }
        }
    return [y];
  },
);

const tkX = input([2, 7, 3], 'topk');
flowOp(
  'topk along dim 1, then gather of the picked rows',
  (fl, t) => {
    const [values, indices] = fl.topk(t(tkX), 4, 1);
    return [values, fl.gather(t(tkX), 1, fl.expand(fl.slice(indices, 2, 0, 1), [2, 4, 3]))];
  },
  () => {
    const values = arr([2, 4, 3]);
    const rows = arr([2, 4, 3]);
    for (let b = 0; b < 2; b++)
      for (let k = 0; k < 3; k++) {
        const order = Array.from({ length: 7 }, (_, i) => i).sort(
          (p, q) => tkX.data[(b * 7 + q) * 3 + k]! - tkX.data[(b * 7 + p) * 3 + k]!,
        );
        order.slice(0, 4).forEach((i, j) => (values.data[(b * 4 + j) * 3 + k] = tkX.data[(b * 7 + i) * 3 + k]!));
      }
    // rows picked by the column-0 ranking
    for (let b = 0; b < 2; b++) {
      const order = Array.from({ length: 7 }, (_, i) => i).sort((p, q) => tkX.data[(b * 7 + q) * 3]! - tkX.data[(b * 7 + p) * 3]!);
      order.slice(0, 4).forEach((i, j) => {
        for (let k = 0; k < 3; k++) rows.data[(b * 4 + j) * 3 + k] = tkX.data[(b * 7 + i) * 3 + k]!;
      });
    }
    return [values, rows];
  },
);

check('nn.MultiheadAttention (2 heads, sequence-first), output and head-averaged weights', () => {
  const mod = new Builder({ fused: true, convDefaultAct: null }).mha(8, 2);
  const [L, S, N, E, H] = [3, 4, 2, 8, 2];
  const q = input([L, N, E], 'q');
  const k = input([S, N, E], 'k');
  const v = input([S, N, E], 'v');
  const p = paramsAt(mod, '');
  const inW = p.in_proj_weight!.data;
  const inB = p.in_proj_bias!.data;
  const outW = p['out_proj.weight']!.data;
  const outB = p['out_proj.bias']!.data;
  const proj = (x: Arr, len: number, n: number, part: number) =>
    Array.from({ length: len }, (_, t) =>
      Array.from(
        { length: E },
        (_, o) =>
          inB[part * E + o]! +
          Array.from({ length: E }, (_, i) => inW[(part * E + o) * E + i]! * x.data[(t * N + n) * E + i]!).reduce((a, b) => a + b, 0),
      ),
    );
  const out = arr([L, N, E]);
  const weights = arr([N, L, S]);
  const hd = E / H;
  for (let n = 0; n < N; n++) {
    const [Q, K, V] = [proj(q, L, n, 0), proj(k, S, n, 1), proj(v, S, n, 2)];
    const ctx = Array.from({ length: L }, () => new Array<number>(E).fill(0));
    for (let h = 0; h < H; h++)
      for (let t = 0; t < L; t++) {
        const sc = Array.from(
          { length: S },
          (_, s) =>
            Array.from({ length: hd }, (_, d) => Q[t]![h * hd + d]! * K[s]![h * hd + d]!).reduce((a, b) => a + b, 0) / Math.sqrt(hd),
        );
        const mx = Math.max(...sc);
        const e = sc.map((x) => Math.exp(x - mx));
        const z = e.reduce((a, b) => a + b, 0);
        e.forEach((w, s) => {
          weights.data[(n * L + t) * S + s] += w / z / H;
          for (let d = 0; d < hd; d++) ctx[t]![h * hd + d]! += (w / z) * V[s]![h * hd + d]!;
        });
      }
    for (let t = 0; t < L; t++)
      for (let o = 0; o < E; o++) out.data[(t * N + n) * E + o] = outB[o]! + ctx[t]!.reduce((a, c, i) => a + c * outW[o * E + i]!, 0);
  }
  return { mod, x: [q, k, v], expected: [out, weights] };
});

// ---- YOLO12 area attention (ultralytics 8.4 AAttn, ABlock, A2C2f), written out with explicit loops over tokens

/**
 * AAttn by its definition: the 1×1 qkv conv gives per token n = h·W + w and head i the channels
 * [q | k | v] = i·3·hd + [0, hd) | [hd, 2hd) | [2hd, 3hd); the tokens are cut into `area` runs of N / area in
 * raster order and each run attends within itself (softmax over keys of q·k / √hd); the result and v go back to the
 * map, the 7×7 depth-wise pe conv of v is added, then the 1×1 proj.
 */
function aattnRef(mod: Mod, path: string, x: Arr, heads: number, area: number): Arr {
  const p = path ? `${path}.` : '';
  const [B, C, H, W] = x.shape as [number, number, number, number];
  const hd = Math.floor(C / heads);
  const ahd = hd * heads;
  const conv = (leaf: string, v: Arr, c2: number, k: number, g = 1) =>
    convRef(mod, `${p}${leaf}`, v, { c2, k, g, act: 'none', fused: true });
  const qkv = conv('qkv', x, 3 * ahd, 1);
  const N = H * W;
  const run = N / area;
  const o = arr([B, ahd, H, W]);
  const vmap = arr([B, ahd, H, W]);
  const at = (b: number, ch: number, n: number) => qkv.data[(b * 3 * ahd + ch) * N + n]!;
  for (let b = 0; b < B; b++)
    for (let a = 0; a < area; a++)
      for (let i = 0; i < heads; i++) {
        const base = i * 3 * hd;
        for (let t = 0; t < run; t++) {
          const n1 = a * run + t;
          const scores = Array.from({ length: run }, (_, u) => {
            let dot = 0;
            for (let d = 0; d < hd; d++) dot += at(b, base + d, n1) * at(b, base + hd + d, a * run + u);
            return dot / Math.sqrt(hd);
          });
          const mx = Math.max(...scores);
          const e = scores.map((sc) => Math.exp(sc - mx));
          const z = e.reduce((acc, v) => acc + v, 0);
          for (let d = 0; d < hd; d++) {
            let acc = 0;
            for (let u = 0; u < run; u++) acc += (e[u]! / z) * at(b, base + 2 * hd + d, a * run + u);
            o.data[(b * ahd + i * hd + d) * N + n1] = acc;
            vmap.data[(b * ahd + i * hd + d) * N + n1] = at(b, base + 2 * hd + d, n1);
          }
        }
      }
  return conv('proj', add(o, conv('pe', vmap, ahd, 7, ahd)), C, 1);
}

function ablockRef(mod: Mod, path: string, x: Arr, heads: number, area: number, hidden: number): Arr {
  const y = add(x, aattnRef(mod, `${path}.attn`, x, heads, area));
  const h = convRef(mod, `${path}.mlp.0`, y, { c2: hidden, k: 1, act: 'silu', fused: true });
  return add(y, convRef(mod, `${path}.mlp.1`, h, { c2: x.shape[1]!, k: 1, act: 'none', fused: true }));
}

check('AAttn (YOLO12 area attention: 2 heads, 3 areas, batch 2)', () => {
  const mod = build(AAttn, [16, 2, 3], true);
  const x = input([2, 16, 3, 4], 'x');
  return { mod, x, expected: [aattnRef(mod, '', x, 2, 3)] };
});

check('A2C2f (YOLO12, area 4, residual with its learnt gamma, mlp_ratio 1.2)', () => {
  // c2 = 64 with e = 0.5: 32 hidden channels, one head each (ABlock's num_heads = c_ // 32), 38 in the mlp (int(32·1.2))
  const mod = build(A2C2f, [64, 64, 1, true, 4, true, new PyFloat(1.2)], true);
  const x = input([1, 64, 4, 4], 'x');
  const c = (p: string, v: Arr, c2: number) => convRef(mod, p, v, { c2, k: 1, act: 'silu', fused: true });
  const y0 = c('cv1', x, 32);
  const y1 = ablockRef(mod, 'm.0.1', ablockRef(mod, 'm.0.0', y0, 1, 4, 38), 1, 4, 38);
  const y = c('cv2', catChannels([y0, y1]), 64);
  // x + gamma.view(-1, c2, 1, 1) · y
  const gamma = ownParamArrays(mod.params!, 'T/').find((p) => p.name === 'gamma')!.values;
  const out = arr(x.shape);
  for (let i = 0; i < out.data.length; i++) out.data[i] = x.data[i]! + gamma[Math.floor(i / 16) % 64]! * y.data[i]!;
  return { mod, x, expected: [out] };
});

check('A2C2f (YOLO12, global attention: area 1, no residual, mlp_ratio 2)', () => {
  const mod = build(A2C2f, [16, 64, 1, true, 1], true);
  const x = input([1, 16, 3, 5], 'x');
  const c = (p: string, v: Arr, c2: number) => convRef(mod, p, v, { c2, k: 1, act: 'silu', fused: true });
  const y0 = c('cv1', x, 32);
  const y1 = ablockRef(mod, 'm.0.1', ablockRef(mod, 'm.0.0', y0, 1, 1, 64), 1, 1, 64);
  return { mod, x, expected: [c('cv2', catChannels([y0, y1]), 64)] };
});

check('AAttn large enough for the convolution matmul (64 channels, 2 heads, 8×8 tokens, 2 areas)', () => {
  const mod = build(AAttn, [64, 2, 2], true);
  const x = input([1, 64, 8, 8], 'x');
  return { mod, x, expected: [aattnRef(mod, '', x, 2, 2)] };
});

/** Plain-JS batched product of row-major [..., m, k] and [..., k, n] (batch dims equal or all 1 on b). */
function matmulRef(a: Arr, b: Arr): Arr {
  const r = a.shape.length;
  const [m, k] = [a.shape[r - 2]!, a.shape[r - 1]!];
  const n = b.shape[r - 1]!;
  const items = a.shape.slice(0, -2).reduce((p, v) => p * v, 1);
  const bItems = b.shape.slice(0, -2).reduce((p, v) => p * v, 1);
  const y = arr([...a.shape.slice(0, -2), m, n]);
  for (let t = 0; t < items; t++) {
    const bt = bItems === 1 ? 0 : t;
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) {
        let acc = 0;
        for (let q = 0; q < k; q++) acc += a.data[(t * m + i) * k + q]! * b.data[(bt * k + q) * n + j]!;
        y.data[(t * m + i) * n + j] = acc;
      }
  }
  return y;
}

/** The transpose of the last two dims of a row-major array. */
function swapLast(a: Arr): Arr {
  const r = a.shape.length;
  const [p, q] = [a.shape[r - 2]!, a.shape[r - 1]!];
  const y = arr([...a.shape.slice(0, -2), q, p]);
  const items = a.data.length / (p * q);
  for (let t = 0; t < items; t++)
    for (let i = 0; i < p; i++) for (let j = 0; j < q; j++) y.data[(t * q + j) * p + i] = a.data[(t * p + i) * q + j]!;
  return y;
}

for (const [label, aShape, bShape, ta, tb] of [
  ['2-D (a Linear)', [300, 64], [64, 40], false, false],
  ['batched, B transposed (q·kᵀ)', [2, 3, 40, 32], [2, 3, 50, 32], false, true],
  ['batched, A transposed (qᵀ·k)', [2, 32, 40], [2, 32, 60], true, false],
  ['batched A, one B for all', [2, 3, 40, 32], [1, 1, 32, 24], false, false],
  ['batched, more rows than columns', [2, 3, 50, 32], [2, 3, 32, 20], false, false],
] as const)
  flowOp(
    `matmul ${label}: the convolution form on wasm equals the plain product`,
    (fl, t) => {
      const a = input([...aShape], 'mma');
      const b = input([...bShape], 'mmb');
      const [x, y] = [t(a), t(b)];
      return fl.matmul(ta ? fl.transpose(x, -2, -1) : x, tb ? fl.transpose(y, -2, -1) : y);
    },
    () => {
      const a = input([...aShape], 'mma');
      const b = input([...bShape], 'mmb');
      return [matmulRef(ta ? swapLast(a) : a, tb ? swapLast(b) : b)];
    },
  );
