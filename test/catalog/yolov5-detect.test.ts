/**
 * The anchor-based heads' eval decode (Detect in the three YOLOv5-dialect frameworks, upstream yolov5's Segment) computed on numbers
 * and compared with the YOLOv5 formula written out here; the anchor order the model build leaves; and the
 * model-level behaviours of the heads and of the Scaled-YOLOv4 framework that the parity records only show as totals.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Builder } from '../../server/src/core/nn/builder.ts';
import type { Mod } from '../../server/src/core/nn/module.ts';
import { construct } from '../../server/src/core/catalog/types.ts';
import { YOLOV5, YOLOV5_GSCONV, SCALED_YOLOV4 } from '../../server/src/core/framework/index.ts';
import type { Framework } from '../../server/src/core/framework/types.ts';
import { decodeAnchors, type DetectKind } from '../../server/src/core/catalog/yolov5.ts';
import { resolve } from '../../server/src/core/resolve.ts';
import { NumFlow, tensor, at, type Tensor } from '../support/num-flow.ts';
import { loadCases, needsCorpus } from '../support/reference.ts';
import { toPlain } from '../../server/src/core/py.ts';

const ANCHORS = [
  [10, 13, 16, 30],
  [33, 23, 30, 61],
];

/** a NumFlow whose convs output deterministic values (recorded per call), BatchNorm/SiLU/Upsample pass shapes on */
function flowRecording(): { fl: NumFlow; convOuts: Tensor[] } {
  const convOuts: Tensor[] = [];
  const fl = new NumFlow((m: Mod, x: Tensor) => {
    const l = m.leaf!;
    if (l.op === 'conv2d') {
      const [bs, , h, w] = x.shape as [number, number, number, number];
      const oh = Math.floor((h + 2 * l.p[0] - l.k[0]) / l.s[0]) + 1;
      const ow = Math.floor((w + 2 * l.p[1] - l.k[1]) / l.s[1]) + 1;
      const out = tensor([bs, l.cout, oh, ow], (i) => 3 * Math.sin(0.7 * i + 0.3 * l.cout + h));
      convOuts.push(out);
      return out;
    }
    if (l.op === 'upsample') return tensor([x.shape[0]!, x.shape[1]!, x.shape[2]! * 2, x.shape[3]! * 2], () => 0);
    return x; // BatchNorm, SiLU: values irrelevant to the head's decode
  });
  return { fl, convOuts };
}

const sig = (v: number) => 1 / (1 + Math.exp(-v));

/** YOLOv5's eval decode of one anchor cell, from the raw conv map (bs 1) */
function expected(
  raw: Tensor,
  a: number,
  y: number,
  x: number,
  c: number,
  no: number,
  nc: number,
  stride: number,
  anchor: readonly number[],
): number {
  const r = at(raw, 0, a * no + c, y, x);
  const s = sig(r);
  if (c === 0) return (s * 2 - 0.5 + x) * stride;
  if (c === 1) return (s * 2 - 0.5 + y) * stride;
  if (c === 2 || c === 3) return (s * 2) ** 2 * anchor[a * 2 + (c - 2)]!;
  if (c < 5 + nc) return s;
  return r; // Segment's mask coefficients stay raw
}

function checkDecode(
  framework: Framework,
  name: 'Detect' | 'Segment',
  args: unknown[],
  sizes: [number, number][],
  strides: number[],
  kind: DetectKind,
): void {
  const b = new Builder({ fused: false, convDefaultAct: null });
  const def = framework.modules.get(name)!.def;
  const head = construct(b, def, args as never);
  const { fl, convOuts } = flowRecording();
  const ch = args[args.length - 1] as number[];
  const inputs = sizes.map(([h, w], i) => tensor([1, ch[i]!, h, w], () => 0));
  const out = fl.callMulti(head, inputs, { strides }) as unknown as (Tensor | Tensor[])[];
  const nc = args[0] as number;
  const nm = name === 'Segment' ? (args[2] as number) : 0;
  const no = nc + 5 + nm;
  const na = 2;
  const anchors = decodeAnchors(kind, ANCHORS, strides);
  const det = out[0] as Tensor;
  const levels = out[out.length - 1] as Tensor[];
  assert.deepEqual(det.shape, [1, na * sizes.reduce((s, [h, w]) => s + h * w, 0), no]);
  // the Segment's Proto runs first: its convs come before the heads' in the recording
  const raws = convOuts.slice(convOuts.length - sizes.length);
  let row = 0;
  sizes.forEach(([ny, nx], l) => {
    assert.deepEqual(levels[l]!.shape, [1, na, ny, nx, no]);
    for (let a = 0; a < na; a++)
      for (let y = 0; y < ny; y++)
        for (let x = 0; x < nx; x++, row++)
          for (let c = 0; c < no; c++) {
            const want = expected(raws[l]!, a, y, x, c, no, nc, strides[l]!, anchors[l]!);
            const got = at(det, 0, row, c);
            assert.ok(
              Math.abs(got - want) < 1e-9 * Math.max(1, Math.abs(want)),
              `${name} level ${l} anchor ${a} (${y}, ${x}) channel ${c}: ${got} vs ${want}`,
            );
          }
  });
  if (name === 'Segment') assert.deepEqual((out[1] as Tensor).shape, [1, nm, sizes[0]![0] * 2, sizes[0]![1] * 2], 'proto');
}

test('Detect eval decode (upstream yolov5): sigmoid, grid, anchor grid, stride', () => {
  checkDecode(
    YOLOV5,
    'Detect',
    [2, ANCHORS, [8, 16]],
    [
      [4, 4],
      [2, 2],
    ],
    [8, 16],
    'upstream',
  );
});

test('Detect eval decode (the fork and Scaled-YOLOv4 write it differently, same numbers)', () => {
  checkDecode(
    YOLOV5_GSCONV,
    'Detect',
    [2, ANCHORS, [8, 16]],
    [
      [4, 4],
      [2, 2],
    ],
    [8, 16],
    'fork',
  );
  checkDecode(
    SCALED_YOLOV4,
    'Detect',
    [2, ANCHORS, [8, 16]],
    [
      [4, 4],
      [2, 2],
    ],
    [8, 16],
    'sv4',
  );
});

test('Segment eval decode: masks stay raw, proto at twice the first level', () => {
  checkDecode(
    YOLOV5,
    'Segment',
    [1, ANCHORS, 3, 8, [8, 16]],
    [
      [4, 4],
      [2, 2],
    ],
    [8, 16],
    'upstream',
  );
});

test('a head run without strides says so instead of decoding with made-up ones', () => {
  const b = new Builder({ fused: false, convDefaultAct: null });
  const head = construct(b, YOLOV5.modules.get('Detect')!.def, [2, ANCHORS, [8, 16]]);
  const { fl } = flowRecording();
  assert.throws(() => fl.callMulti(head, [tensor([1, 8, 4, 4], () => 0), tensor([1, 16, 2, 2], () => 0)]), /strides/);
});

test('anchor order after the model build (check_anchor_order) in the three frameworks', () => {
  // strides in anchor order: nothing moves
  for (const kind of ['upstream', 'fork', 'sv4'] as const) assert.deepEqual(decodeAnchors(kind, ANCHORS, [8, 16]), ANCHORS, kind);
  // inputs reversed (strides 16, 8): upstream yolov5 and Scaled-YOLOv4 flip the pixel anchors
  assert.deepEqual(decodeAnchors('upstream', ANCHORS, [16, 8]), [ANCHORS[1], ANCHORS[0]]);
  assert.deepEqual(decodeAnchors('sv4', ANCHORS, [16, 8]), [ANCHORS[1], ANCHORS[0]]);
  // the fork divides first (level 0 by 16, level 1 by 8), then flips the grid-unit anchors, which the other level's
  // stride scales back: [33, 23, 30, 61] / 8 * 16 = [66, 46, 60, 122], [10, 13, 16, 30] / 16 * 8 = [5, 6.5, 8, 15]
  assert.deepEqual(decodeAnchors('fork', ANCHORS, [16, 8]), [
    [66, 46, 60, 122],
    [5, 6.5, 8, 15],
  ]);
});

const YOLOV5N = `nc: 80
depth_multiple: 0.33
width_multiple: 0.25
anchors:
  - [10, 13, 16, 30, 33, 23]
  - [30, 61, 62, 45, 59, 119]
  - [116, 90, 156, 198, 373, 326]
backbone:
  [[-1, 1, Conv, [64, 6, 2, 2]],
   [-1, 1, Conv, [128, 3, 2]],
   [-1, 3, C3, [128]],
   [-1, 1, Conv, [256, 3, 2]],
   [-1, 6, C3, [256]],
   [-1, 1, Conv, [512, 3, 2]],
   [-1, 9, C3, [512]],
   [-1, 1, Conv, [1024, 3, 2]],
   [-1, 3, C3, [1024]],
   [-1, 1, SPPF, [1024, 5]],
  ]
head:
  [[-1, 1, Conv, [512, 1, 1]],
   [-1, 1, nn.Upsample, [None, 2, 'nearest']],
   [[-1, 6], 1, Concat, [1]],
   [-1, 3, C3, [512, False]],
   [-1, 1, Conv, [256, 1, 1]],
   [-1, 1, nn.Upsample, [None, 2, 'nearest']],
   [[-1, 4], 1, Concat, [1]],
   [-1, 3, C3, [256, False]],
   [-1, 1, Conv, [256, 3, 2]],
   [[-1, 14], 1, Concat, [1]],
   [-1, 3, C3, [512, False]],
   [-1, 1, Conv, [512, 3, 2]],
   [[-1, 10], 1, Concat, [1]],
   [-1, 3, C3, [1024, False]],
   [[17, 20, 23], 1, Detect, [nc, anchors]],
  ]
`;

test('the model strides come from the 256 probe', () => {
  const m = resolve(YOLOV5N, { framework: 'yolov5' });
  assert.deepEqual(m.strides, [8, 16, 32]);
  assert.equal(m.maxStride, 32);
});

test('Detect with fewer inputs than anchor rows: IndexError on the from list', () => {
  const text = YOLOV5N.replace('[[17, 20, 23], 1, Detect', '[[17, 20], 1, Detect');
  const m = resolve(text, { framework: 'yolov5' });
  const e = m.diagnostics.find((d) => d.severity === 'error')!;
  assert.equal(e.code, 'YOLO018');
  assert.equal(text.slice(e.range.start, e.range.end), '[17, 20]');
  assert.match(e.message, /3 anchor rows .* 2 inputs/);
  assert.equal(m.failure?.stage, 'build');
});

test('Detect with more inputs than anchor rows: the anchor division at build, on the first extra input', () => {
  const text = YOLOV5N.replace('[[17, 20, 23], 1, Detect', '[[17, 20, 23, 23], 1, Detect');
  const m = resolve(text, { framework: 'yolov5' });
  const e = m.diagnostics.find((d) => d.severity === 'error')!;
  assert.equal(e.code, 'YOLO018');
  const fromStart = text.indexOf('[[17, 20, 23, 23]');
  assert.equal(e.range.start, fromStart + '[[17, 20, 23, '.length, 'on the 4th from element');
  assert.match(e.message, /The size of tensor a \(3\) must match the size of tensor b \(4\)/);
});

test('a Detect that is not the last layer has no strides: its eval decode fails as upstream', () => {
  const text = YOLOV5N.replace(
    '[[17, 20, 23], 1, Detect, [nc, anchors]],\n',
    '[[17, 20, 23], 1, Detect, [nc, anchors]],\n   [-1, 1, nn.Identity, []],\n',
  );
  const m = resolve(text, { framework: 'yolov5' });
  const e = m.diagnostics.find((d) => d.severity === 'error')!;
  assert.equal(e.layer, 24);
  assert.match(e.message, /'NoneType' object is not subscriptable/);
  assert.equal(m.failure?.stage, 'forward', 'no stride probe: the model does not end in a head');
});

// ---- Scaled-YOLOv4 at model level ------------------------------------------------------------------------------

test('sv4 records whose fuse() raises: no fused figures, the error the real code raised', needsCorpus, () => {
  const cases = loadCases().filter((c) => c.record.fused_error);
  assert.ok(cases.length >= 3, 'the GSConv Scaled-YOLOv4 records');
  for (const c of cases) {
    const m = resolve(c.text, c.options);
    assert.ok(m.totals, c.name);
    assert.equal(m.totals.paramsFused, null, c.name);
    assert.equal(m.totals.gflopsFused.printed, null, c.name);
    assert.equal(m.totals.summaryFused, null, c.name);
    assert.equal(m.totals.fusedError, c.record.fused_error, c.name);
  }
});

const SV4_HEAD = `nc: 80
depth_multiple: 1.0
width_multiple: 1.0
anchors:
  - [12, 16, 19, 36, 40, 28]
  - [36, 75, 76, 55, 72, 146]
backbone:
  [[-1, 1, Conv, [32, 3, 1]],
   [-1, 1, Conv, [64, 3, 2]],
   [-1, 1, HarDBlock, [8, 1.7, 4]],
   [-1, 1, Conv, [64, 3, 2]],
  ]
head:
  [[[2, 3], 1, Detect, [nc, anchors]]]
`;

test('sv4 HarDBlock: parse_model books get_out_ch() as its channels', () => {
  const m = resolve(SV4_HEAD, { framework: 'scaled-yolov4' });
  const hb = m.layers[2]!;
  // HarDBlock(64, 8, 1.7, 4): links as in the unit test with base 64 -> widths 8, 14, 8, 24; output 8 + 8 + 24 = 40
  assert.deepEqual(hb.args?.map(toPlain), [64, 8, 1.7, 4]);
  assert.equal(hb.c2, 40);
  assert.deepEqual(hb.outShape, [1, 40, 320, 320]);
  assert.deepEqual(m.layers[3]!.args?.slice(0, 2), [40, 64], 'the next Conv is built for 40 input channels');
});

test('sv4 Detect reads ch[x + 1]: an explicit index is the layer itself', () => {
  const m = resolve(SV4_HEAD, { framework: 'scaled-yolov4' });
  assert.deepEqual(
    m.diagnostics.filter((d) => d.severity === 'error'),
    [],
  );
  assert.deepEqual(m.layers[4]!.args?.[2], [40, 64]);
  assert.ok(m.totals);
  assert.match(m.totals.summary!, /^Model Summary: \d+ layers, [\d.e+]+ parameters, [\d.e+]+ gradients, [\d.]+ GFLOPS$/);
});

test('sv4 from pointing at the layer itself passes its parse_model but not the forward', () => {
  const text = SV4_HEAD.replace('[-1, 1, Conv, [64, 3, 2]],\n  ]', '[3, 1, Conv, [64, 3, 2]],\n  ]');
  const m = resolve(text, { framework: 'scaled-yolov4' });
  const e = m.diagnostics.find((d) => d.severity === 'error')!;
  assert.equal(e.code, 'YOLO008');
  assert.equal(text.slice(e.range.start, e.range.end), '3');
  assert.match(e.message, /IndexError/);
  assert.equal(m.failure?.stage, 'build', 'the stride probe is the first forward');
});

test('sv4 HarDBlock repeated: parse_model calls get_out_ch() on an nn.Sequential', () => {
  const text = SV4_HEAD.replace('[-1, 1, HarDBlock', '[-1, 2, HarDBlock');
  const m = resolve(text, { framework: 'scaled-yolov4' });
  const e = m.diagnostics.find((d) => d.severity === 'error')!;
  assert.equal(e.code, 'YOLO029');
  assert.match(e.message, /get_out_ch/);
  assert.equal(text.slice(e.range.start, e.range.end), '2');
});

test('sv4 ignores a ch: key (its Model takes ch as an argument only)', () => {
  const m = resolve(`ch: 1\n${SV4_HEAD}`, { framework: 'scaled-yolov4' });
  assert.deepEqual(m.layers[0]!.args?.slice(0, 2), [3, 32]);
});
