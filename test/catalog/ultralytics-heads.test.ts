/**
 * The ultralytics heads, transformer and YOLO-World modules that no corpus YAML exercises (the parity records cover
 * Detect, Segment, OBB, Pose, Classify, WorldDetect, RTDETRDecoder, C2fAttn and ImagePoolingAttn): parameters and
 * output shapes against figures derived by hand from the upstream constructors (the derivation is in each comment),
 * and the Detect-family decode run on numbers with weights chosen so the expected boxes can be worked out by hand.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Builder } from '../../server/src/core/nn/builder.ts';
import {
  type Flow,
  type ForwardCtx,
  type In,
  type Mod,
  type Out,
  type Shape,
  ShapeError,
  countParams,
} from '../../server/src/core/nn/module.ts';
import { ShapeFlow, flattenOut } from '../../server/src/core/nn/static.ts';
import { construct, type ModuleDef } from '../../server/src/core/catalog/types.ts';
import { PyObj, PyTuple, type PyVal } from '../../server/src/core/py.ts';
import { Detect, OBB, Pose, RTDETRDecoder, v10Detect } from '../../server/src/core/catalog/ultralytics/head.ts';
import {
  AIFI,
  DeformableTransformerDecoder,
  DeformableTransformerDecoderLayer,
  LayerNorm2d,
  MLP,
  MLPBlock,
  ModuleArg,
  MSDeformAttn,
  TransformerBlock,
  TransformerEncoderLayer,
  TransformerLayer,
  sinCosPositionEmbedding,
} from '../../server/src/core/catalog/ultralytics/transformer.ts';
import {
  BNContrastiveHead,
  ContrastiveHead,
  ImagePoolingAttn,
  MaxSigmoidAttnBlock,
} from '../../server/src/core/catalog/ultralytics/world.ts';
import { ULTRALYTICS_8_3 } from '../../server/src/core/framework/index.ts';

const builder = () => new Builder({ fused: false, convDefaultAct: null });
const build = (def: ModuleDef, args: PyVal[], kw?: Record<string, PyVal>): Mod => construct(builder(), def, args, kw);
const params = (m: Mod) => countParams(m).params;

function run(m: Mod, x: In<Shape>, ctx: ForwardCtx<Shape> = {}): { out: Shape[]; macs: number } {
  const fl = new ShapeFlow();
  const out = fl.callMulti(m, x, ctx);
  return { out: flattenOut(out), macs: fl.ops.thop };
}

// yolov8n-style neck outputs at 640
const P345: Shape[] = [
  [1, 64, 80, 80],
  [1, 128, 40, 40],
  [1, 256, 20, 20],
];

test('v10Detect(80, [64, 128, 256]): parameters and the end-to-end outputs', () => {
  // c2 = max(16, 64 // 4, 64) = 64, c3 = max(64, min(80, 100)) = 80.
  // cv2[x] = Conv(x,64,3) + Conv(64,64,3) + Conv2d(64,64,1): (576x+128) + (36864+128) + (4096+64)
  //   x=64: 78144, x=128: 115008, x=256: 188736 -> 381888
  // light cv3[x] = Conv(x,x,3,g=x) 11x + Conv(x,80,1) 80x+160 + Conv(80,80,3,g=80) 880 + Conv(80,80,1) 6560 + Conv2d(80,80,1) 6480
  //   x=64: 19904, x=128: 25728, x=256: 37376 -> 83008
  // one2one copies of both, DFL 16: 2 * (381888 + 83008) + 16 = 929808
  const m = build(v10Detect, [80, [64, 128, 256]]);
  assert.equal(params(m), 929808);
  assert.equal(countParams(m).frozen, 16);
  const maps: Shape[] = [
    [1, 144, 80, 80],
    [1, 144, 40, 40],
    [1, 144, 20, 20],
  ];
  // (postprocess: [bs, min(300, 8400), 6]), one2many maps, one2one maps
  assert.deepEqual(run(m, P345).out, [[1, 300, 6], ...maps, ...maps]);
  // fewer anchors than max_det: topk takes min(300, A) = 8x8 + 4x4 + 2x2 = 84
  assert.deepEqual(
    run(m, [
      [1, 64, 8, 8],
      [1, 128, 4, 4],
      [1, 256, 2, 2],
    ]).out[0],
    [1, 84, 6],
  );
  assert.equal(m.children.map(([n]) => n).join(','), 'cv2,cv3,dfl,one2one_cv2,one2one_cv3');
  // nc = 20 and nc = 2: c3 = 64, so the light cv3 is 11156 + 15956 + 25556 = 52668 at nc 20, 3 * 1170 less at nc 2:
  // 2 * (381888 + 52668) + 16 = 869128 and 2 * (381888 + 49158) + 16 = 862108 (the figures ultralytics prints for
  // yolov10n with 20 and 2 classes)
  assert.equal(params(build(v10Detect, [20, [64, 128, 256]])), 869128);
  assert.equal(params(build(v10Detect, [2, [64, 128, 256]])), 862108);
});

test('v10Detect: each deep-copied one2one branch has its own copy of the shared Conv activation', () => {
  const shared = { ...builder().act('SiLU'), shared: true };
  const m = construct(new Builder({ fused: false, convDefaultAct: shared }), v10Detect, [80, [64, 128]]);
  const acts = new Set<Mod>();
  const walk = (x: Mod) => {
    if (x.leaf?.op === 'act') acts.add(x);
    x.children.forEach(([, c]) => walk(c));
  };
  walk(m);
  // Conv.default_act, its copy in one2one_cv2 and its copy in one2one_cv3
  assert.equal(acts.size, 3);
});

test('v10Detect is a Detect-family head in the ultralytics namespace', () => {
  const e = ULTRALYTICS_8_3.modules.get('v10Detect');
  assert.equal(e?.treat, 'head');
  assert.equal(e?.def.detectFamily, true);
});

test('AIFI(256, 1024, 8) as rtdetr-l uses it: parameters, shape and thop count', () => {
  // MultiheadAttention(256): in_proj 3*256*256 + 768, out_proj 256*256 + 256 = 263168
  // fc1 256*1024 + 1024 = 263168, fc2 1024*256 + 256 = 262400, two LayerNorm(256) 2 * 512
  // = 789760, the figure of rtdetr-l's layer 11 in ultralytics' printed table
  const m = build(AIFI, [256, 1024, 8]);
  assert.equal(params(m), 263168 + 263168 + 262400 + 1024);
  const { out, macs } = run(m, [1, 256, 20, 20]);
  assert.deepEqual(out, [[1, 256, 20, 20]]);
  // thop 0.1.1 over 400 tokens: fc1 256 * 400*1024 + fc2 1024 * 400*256 + LayerNorms 2 * 4 * 400*256; attention 0
  assert.equal(macs, 104857600 + 104857600 + 819200);
  // the 2D sin-cos embedding needs c % 4 == 0
  assert.throws(() => run(build(AIFI, [66, 64, 2]), [1, 66, 4, 4]), ShapeError);
  assert.equal(ULTRALYTICS_8_3.modules.get('AIFI')?.treat, 'aifi');
});

test('AIFI: every default-act instance is the one GELU Python created for the default argument', () => {
  const a = build(AIFI, [64, 128, 4]);
  const b = build(AIFI, [64, 128, 4]);
  const act = (m: Mod) => m.children.find(([n]) => n === 'act')![1];
  assert.equal(act(a), act(b));
  assert.equal(act(a).shared, true);
});

test('sin-cos position embedding: meshgrid(w, h, "ij") rows, [sin w, cos w, sin h, cos h]', () => {
  // w = 2, h = 3, dim 4: pos_dim 1, omega = [1]; row n has (gw, gh) = (n // 3, n % 3)
  const values: number[] = [];
  const fl = {
    constant: (shape: readonly number[], fill: (i: number) => number) => {
      for (let i = 0; i < shape.reduce((a, b) => a * b, 1); i++) values.push(fill(i));
      return shape;
    },
  } as unknown as Flow<Shape>;
  assert.deepEqual(sinCosPositionEmbedding(fl, 2, 3, 4), [1, 6, 4]);
  const want = [0, 1, 2, 0, 1, 2].flatMap((gh, n) => {
    const gw = Math.floor(n / 3);
    return [Math.sin(gw), Math.cos(gw), Math.sin(gh), Math.cos(gh)];
  });
  values.forEach((v, i) => assert.ok(Math.abs(v - want[i]!) < 1e-12, `element ${i}`));
});

test('TransformerEncoderLayer(64, 128, 4): post-norm and pre-norm keep the token shape', () => {
  // MHA(64): 4*64*64 + 4*64 = 16640; fc1 64*128+128 = 8320; fc2 128*64+64 = 8256; 2 LayerNorm(64): 256
  for (const pre of [false, true]) {
    const m = build(TransformerEncoderLayer, [64, 128, 4], { normalize_before: pre });
    assert.equal(params(m), 16640 + 8320 + 8256 + 256);
    assert.deepEqual(run(m, [1, 10, 64]).out, [[1, 10, 64]]);
  }
  assert.throws(() => build(TransformerEncoderLayer, [64, 128, 3]), ShapeError);
});

test('TransformerLayer(64, 4) and TransformerBlock(32, 64, 4, 2)', () => {
  // TransformerLayer: q, k, v, fc1, fc2 Linear(64, 64, bias=False) 5 * 4096, MHA(64) 16640
  const layer = build(TransformerLayer, [64, 4]);
  assert.equal(params(layer), 5 * 4096 + 16640);
  assert.deepEqual(run(layer, [100, 1, 64]).out, [[100, 1, 64]]);
  // TransformerBlock: Conv(32, 64) 2048 + BN 128, Linear(64, 64) 4160, two TransformerLayers 2 * 37120
  const block = build(TransformerBlock, [32, 64, 4, 2]);
  assert.equal(params(block), 2176 + 4160 + 2 * 37120);
  assert.deepEqual(run(block, [1, 32, 20, 16]).out, [[1, 64, 20, 16]]);
  // c1 == c2: no Conv
  assert.equal(params(build(TransformerBlock, [64, 64, 4, 1])), 4160 + 37120);
});

test('MLPBlock(64, 256) and MLP with and without the sigmoid', () => {
  // lin1 64*256+256, lin2 256*64+64
  const block = build(MLPBlock, [64, 256]);
  assert.equal(params(block), 16640 + 16448);
  assert.deepEqual(run(block, [2, 10, 64]).out, [[2, 10, 64]]);
  // MLP(4, 512, 256, 2): Linear(4, 512) 2560 + Linear(512, 256) 131328 (RT-DETR's query_pos_head)
  assert.equal(params(build(MLP, [4, 512, 256, 2])), 2560 + 131328);
  // MLP(256, 256, 4, 3, sigmoid=True): 65792 + 65792 + 1028
  const mlp = build(MLP, [256, 256, 4, 3], { sigmoid: true });
  assert.equal(params(mlp), 65792 + 65792 + 1028);
  assert.deepEqual(run(mlp, [1, 300, 256]).out, [[1, 300, 4]]);
  // act is a class: nn.GELU gives a GELU child
  assert.equal(build(MLP, [8, 8, 8, 2], { act: new PyObj('nn.GELU', '<nn.GELU>') }).children[1]![1].type, 'GELU');
});

test('LayerNorm2d(32): a weight and a bias per channel, shape kept, no thop rule', () => {
  const m = build(LayerNorm2d, [32]);
  assert.equal(params(m), 64);
  assert.deepEqual(Object.keys(m.params ?? {}), ['weight', 'bias']);
  const { out, macs } = run(m, [1, 32, 8, 8]);
  assert.deepEqual(out, [[1, 32, 8, 8]]);
  assert.equal(macs, 0);
});

test('MSDeformAttn(64, 2, 4, 2) with 2-d and 4-d reference points', () => {
  // sampling_offsets Linear(64, 4*2*2*2 = 32) 2080; attention_weights Linear(64, 16) 1040; value_proj, output_proj 4160 each
  const m = build(MSDeformAttn, [64, 2, 4, 2]);
  assert.equal(params(m), 2080 + 1040 + 4160 + 4160);
  const shapes = [
    [4, 4],
    [2, 2],
  ];
  const value: Shape = [1, 16 + 4, 64];
  assert.deepEqual(run(m, [[1, 5, 64], [1, 5, 2, 2], value], { kwargs: { value_shapes: shapes } }).out, [[1, 5, 64]]);
  assert.deepEqual(run(m, [[1, 5, 64], [1, 5, 1, 4], value], { kwargs: { value_shapes: shapes } }).out, [[1, 5, 64]]);
  assert.throws(() => run(m, [[1, 5, 64], [1, 5, 2, 3], value], { kwargs: { value_shapes: shapes } }), /must be 2 or 4/);
  // the value length must be what the level shapes cover
  assert.throws(
    () =>
      run(
        m,
        [
          [1, 5, 64],
          [1, 5, 2, 2],
          [1, 21, 64],
        ],
        { kwargs: { value_shapes: shapes } },
      ),
    ShapeError,
  );
  assert.throws(() => build(MSDeformAttn, [64, 2, 3, 2]), /divisible by n_heads/);
});

test('DeformableTransformerDecoderLayer / DeformableTransformerDecoder with their defaults', () => {
  // MHA(256) 263168, 3 LayerNorm(256) 1536, MSDeformAttn(256, 4, 8, 4): 65792 + 32896 + 65792 + 65792 = 230272,
  // linear1 256*1024+1024 = 263168, linear2 1024*256+256 = 262400
  const layer = build(DeformableTransformerDecoderLayer, []);
  assert.equal(params(layer), 263168 + 1536 + 230272 + 263168 + 262400);
  const make = (b: Builder) => construct(b, DeformableTransformerDecoderLayer, [64, 4, 128, 0, new PyObj('ReLU', 'ReLU()'), 2, 2]);
  const decoder = build(DeformableTransformerDecoder, [64, new ModuleArg('DeformableTransformerDecoderLayer', 'layer', make), 3]);
  // three clones, each its own parameters
  assert.equal(params(decoder), 3 * params(make(builder())));
  const bbox = [0, 1, 2].map(() => build(MLP, [64, 64, 4, 3]));
  const score = [0, 1, 2].map(() => builder().linear(64, 5));
  const pos = build(MLP, [4, 128, 64, 2]);
  const kwargs = {
    shapes: [
      [4, 4],
      [2, 2],
    ],
    bbox_head: bbox,
    score_head: score,
    pos_mlp: pos,
  };
  // stacked outputs of the eval layer only
  assert.deepEqual(
    run(
      decoder,
      [
        [1, 7, 64],
        [1, 7, 4],
        [1, 20, 64],
      ],
      { kwargs },
    ).out,
    [
      [1, 1, 7, 4],
      [1, 1, 7, 5],
    ],
  );
  // an eval_idx beyond the layers leaves nothing to stack
  const none = build(DeformableTransformerDecoder, [64, new ModuleArg('DeformableTransformerDecoderLayer', 'layer', make), 2, 5]);
  assert.throws(
    () =>
      run(
        none,
        [
          [1, 7, 64],
          [1, 7, 4],
          [1, 20, 64],
        ],
        { kwargs },
      ),
    /non-empty/,
  );
});

test('RTDETRDecoder with learnt_init_query adds an nq x hd query embedding; 300 queries need 300 positions', () => {
  // 7384332 is the record's yolov8n-rtdetr decoder; tgt_embed Embedding(300, 256) adds 76800
  const m = build(RTDETRDecoder, [80, [64, 128, 256]], { learnt_init_query: true });
  assert.equal(params(m), 7384332 + 300 * 256);
  assert.deepEqual(run(m, P345).out, [
    [1, 300, 84],
    [1, 1, 300, 4],
    [1, 1, 300, 80],
    [1, 300, 4],
    [1, 300, 80],
  ]);
  // rtdetr-l's decoder, RTDETRDecoder(3, [256, 256, 256]): input_proj 3 * (256*256 + 512) = 198144; six decoder
  // layers 5975232 (as the record's); Embedding(3, 256) 768; query_pos_head 133888; enc_output 66304;
  // enc_score_head 771; enc_bbox_head 132612; dec_score_head 6 * 771; dec_bbox_head 6 * 132612 -> 7308017 (the
  // figure ultralytics prints for it)
  assert.equal(params(build(RTDETRDecoder, [3, [256, 256, 256]])), 7308017);
  // at the stride-32 GFLOPs probe the three levels hold 16 + 4 + 1 positions: topk(300) raises (get_flops then retries at 640)
  assert.throws(
    () =>
      run(m, [
        [1, 64, 4, 4],
        [1, 128, 2, 2],
        [1, 256, 1, 1],
      ]),
    /selected index k out of range/,
  );
});

test('MaxSigmoidAttnBlock(64, 32, nh=2, ec=32, scale=True)', () => {
  // ec Conv(64, 32, 1, act=False) 2048 + 64; gl Linear(512, 32) 16416; bias [2]; proj_conv Conv(64, 32, 3) 18432 + 64; scale [1, 2, 1, 1]
  const m = build(MaxSigmoidAttnBlock, [64, 32], { nh: 2, ec: 32, scale: true });
  assert.equal(params(m), 2112 + 16416 + 2 + 18496 + 2);
  assert.deepEqual(
    run(m, [
      [1, 64, 20, 20],
      [1, 80, 512],
    ]).out,
    [[1, 32, 20, 20]],
  );
  // the embedding is viewed as (nh, c2 // nh): an ec other than c2 cannot be (upstream fails the same way)
  assert.throws(
    () =>
      run(build(MaxSigmoidAttnBlock, [64, 64], { nh: 2, ec: 32 }), [
        [1, 64, 20, 20],
        [1, 80, 512],
      ]),
    /invalid for input of size/,
  );
});

test('ImagePoolingAttn(scale=True) and the contrastive heads', () => {
  // the record's yolov8-world ImagePoolingAttn(256, [64, 128, 256]) has 512000; scale adds one parameter
  const ipa = build(ImagePoolingAttn, [256, [64, 128, 256]], { scale: true });
  assert.equal(params(ipa), 512001);
  assert.deepEqual(run(ipa, P345, { guide: [1, 80, 512] }).out, [[1, 80, 512]]);
  assert.throws(() => run(ipa, P345), /missing 1 required positional argument: 'text'/);
  // ContrastiveHead: bias [1] and logit_scale []; BNContrastiveHead adds BatchNorm2d(512)
  assert.equal(params(build(ContrastiveHead, [])), 2);
  assert.equal(params(build(BNContrastiveHead, [512])), 1024 + 2);
  assert.deepEqual(
    run(build(ContrastiveHead, []), [
      [1, 512, 20, 20],
      [1, 80, 512],
    ]).out,
    [[1, 80, 20, 20]],
  );
});

test('Pose with 2-d keypoints and OBB with two angles', () => {
  // Pose(1, (5, 2)): nk = 10, y = 4 + nc + nk = 15 rows, kpt = [1, 10, A]
  const pose = build(Pose, [1, new PyTuple([5, 2]), [64, 128, 256]]);
  assert.deepEqual(run(pose, P345).out, [
    [1, 15, 8400],
    [1, 65, 80, 80],
    [1, 65, 40, 40],
    [1, 65, 20, 20],
    [1, 10, 8400],
  ]);
  // OBB with ne = 2: dist2rbox adds two anchor coordinates to 2·ne rotated ones, which upstream cannot broadcast
  const obb = build(OBB, [80, 2, [64, 128, 256]]);
  assert.throws(() => run(obb, P345), /must match/);
});

// ---------------------------------------------------------------------------------------------------------------
// The decode, on numbers. A small numeric interpreter of `Flow` runs the real forwards; every conv weight is 0
// except DFL's fixed 0..15 and the biases set below, so each branch outputs its bias at every position.

interface Tensor {
  shape: number[];
  data: Float64Array;
}

const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
const strides = (s: readonly number[]) => s.map((_, i) => size(s.slice(i + 1)));
const unravel = (i: number, s: readonly number[]) => strides(s).map((st, d) => Math.floor(i / st) % s[d]!);
const nd = (d: number, r: number) => (d < 0 ? d + r : d);

function tensor(shape: readonly number[], fill: (i: number) => number): Tensor {
  const data = new Float64Array(size(shape));
  for (let i = 0; i < data.length; i++) data[i] = fill(i);
  return { shape: [...shape], data };
}

class NumericFlow implements Partial<Flow<Tensor>> {
  constructor(readonly biases: Map<Mod, number[]>) {}

  call(m: Mod, x: In<Tensor>, ctx: ForwardCtx<Tensor> = {}): Tensor {
    return this.callMulti(m, x, ctx) as Tensor;
  }

  callMulti(m: Mod, x: In<Tensor>, ctx: ForwardCtx<Tensor> = {}): Out<Tensor> {
    const l = m.leaf;
    if (!l) return m.forward!(this as unknown as Flow<Tensor>, x, ctx);
    const t = x as Tensor;
    switch (l.op) {
      case 'conv2d': {
        const [n, , h, w] = t.shape as [number, number, number, number];
        const oh = Math.floor((h + 2 * l.p[0] - l.d[0] * (l.k[0] - 1) - 1) / l.s[0]) + 1;
        const ow = Math.floor((w + 2 * l.p[1] - l.d[1] * (l.k[1] - 1) - 1) / l.s[1]) + 1;
        const bias = this.biases.get(m);
        // DFL's frozen conv holds arange(c1); every other weight is zero
        const weight = (ci: number) => (m.frozenParams > 0 ? ci : 0);
        const cinG = l.cin / l.g;
        const coutG = l.cout / l.g;
        return tensor([n, l.cout, oh, ow], (i) => {
          const [b, co, y, xx] = unravel(i, [n, l.cout, oh, ow]) as [number, number, number, number];
          let acc = bias?.[co] ?? 0;
          const g = Math.floor(co / coutG);
          for (let ci = 0; ci < cinG; ci++)
            for (let ky = 0; ky < l.k[0]; ky++)
              for (let kx = 0; kx < l.k[1]; kx++) {
                const iy = y * l.s[0] - l.p[0] + ky * l.d[0];
                const ix = xx * l.s[1] - l.p[1] + kx * l.d[1];
                if (iy < 0 || ix < 0 || iy >= h || ix >= w) continue;
                const wv = weight(ci);
                if (wv !== 0) acc += wv * t.data[((b * l.cin + g * cinG + ci) * h + iy) * w + ix]!;
              }
          return acc;
        });
      }
      case 'batchNorm2d':
        // eval with fresh running statistics: x / sqrt(1 + eps)
        return tensor(t.shape, (i) => t.data[i]! / Math.sqrt(1 + l.eps));
      case 'act':
        if (l.fn === 'SiLU') return tensor(t.shape, (i) => t.data[i]! / (1 + Math.exp(-t.data[i]!)));
        throw new Error(`activation ${l.fn} not in this test interpreter`);
      case 'identity':
        return t;
      default:
        throw new Error(`${l.op} not in this test interpreter`);
    }
  }

  shape(x: Tensor): Shape {
    return x.shape;
  }

  constant(shape: readonly number[], fill: (i: number) => number): Tensor {
    return tensor(shape, fill);
  }

  view(x: Tensor, shape: readonly number[]): Tensor {
    const known = shape.filter((v) => v !== -1).reduce((a, b) => a * b, 1);
    return { shape: shape.map((v) => (v === -1 ? x.data.length / known : v)), data: x.data };
  }

  permute(x: Tensor, dims: readonly number[]): Tensor {
    const out = dims.map((d) => x.shape[d]!);
    const st = strides(x.shape);
    return tensor(out, (i) => x.data[unravel(i, out).reduce((a, v, k) => a + v * st[dims[k]!]!, 0)]!);
  }

  transpose(x: Tensor, a: number, b: number): Tensor {
    const dims = x.shape.map((_, i) => i);
    [dims[nd(a, dims.length)], dims[nd(b, dims.length)]] = [dims[nd(b, dims.length)]!, dims[nd(a, dims.length)]!];
    return this.permute(x, dims);
  }

  unsqueeze(x: Tensor, d: number): Tensor {
    const s = [...x.shape];
    s.splice(nd(d, s.length + 1), 0, 1);
    return { shape: s, data: x.data };
  }

  slice(x: Tensor, dim: number, start: number, end: number, step = 1): Tensor {
    const d = nd(dim, x.shape.length);
    const out = [...x.shape];
    out[d] = Math.ceil((Math.min(end, x.shape[d]!) - start) / step);
    const st = strides(x.shape);
    return tensor(out, (i) => x.data[unravel(i, out).reduce((a, v, k) => a + (k === d ? start + v * step : v) * st[k]!, 0)]!);
  }

  cat(xs: readonly Tensor[], dim: number): Tensor {
    const d = nd(dim, xs[0]!.shape.length);
    const out = [...xs[0]!.shape];
    out[d] = xs.reduce((a, t) => a + t.shape[d]!, 0);
    return tensor(out, (i) => {
      const idx = unravel(i, out);
      let k = idx[d]!;
      for (const t of xs) {
        if (k < t.shape[d]!) {
          idx[d] = k;
          return t.data[idx.reduce((a, v, j) => a + v * strides(t.shape)[j]!, 0)]!;
        }
        k -= t.shape[d]!;
      }
      throw new Error('cat index');
    });
  }

  split(x: Tensor, sizes: number | readonly number[], dim: number): Tensor[] {
    const d = nd(dim, x.shape.length);
    const parts = typeof sizes === 'number' ? Array.from({ length: Math.ceil(x.shape[d]! / sizes) }, () => sizes) : [...sizes];
    let at = 0;
    return parts.map((p) => {
      const t = this.slice(x, d, at, at + p);
      at += p;
      return t;
    });
  }

  chunk(x: Tensor, chunks: number, dim: number): Tensor[] {
    return this.split(x, Math.ceil(x.shape[nd(dim, x.shape.length)]! / chunks), dim);
  }

  private binary(a: Tensor, b: Tensor, op: (x: number, y: number) => number): Tensor {
    const r = Math.max(a.shape.length, b.shape.length);
    const pa = [...Array(r - a.shape.length).fill(1), ...a.shape];
    const pb = [...Array(r - b.shape.length).fill(1), ...b.shape];
    const out = pa.map((v, i) => Math.max(v, pb[i]!));
    const sa = strides(pa);
    const sb = strides(pb);
    return tensor(out, (i) => {
      const idx = unravel(i, out);
      const ia = idx.reduce((s, v, k) => s + (pa[k] === 1 ? 0 : v) * sa[k]!, 0);
      const ib = idx.reduce((s, v, k) => s + (pb[k] === 1 ? 0 : v) * sb[k]!, 0);
      return op(a.data[ia]!, b.data[ib]!);
    });
  }

  add(a: Tensor, b: Tensor) {
    return this.binary(a, b, (x, y) => x + y);
  }
  sub(a: Tensor, b: Tensor) {
    return this.binary(a, b, (x, y) => x - y);
  }
  mul(a: Tensor, b: Tensor) {
    return this.binary(a, b, (x, y) => x * y);
  }
  scale(a: Tensor, f: number) {
    return tensor(a.shape, (i) => a.data[i]! * f);
  }
  sigmoid(a: Tensor) {
    return tensor(a.shape, (i) => 1 / (1 + Math.exp(-a.data[i]!)));
  }
  sin(a: Tensor) {
    return tensor(a.shape, (i) => Math.sin(a.data[i]!));
  }
  cos(a: Tensor) {
    return tensor(a.shape, (i) => Math.cos(a.data[i]!));
  }

  softmax(x: Tensor, dim: number): Tensor {
    const d = nd(dim, x.shape.length);
    const st = strides(x.shape)[d]!;
    const n = x.shape[d]!;
    return tensor(x.shape, (i) => {
      const base = i - (Math.floor(i / st) % n) * st;
      let sum = 0;
      for (let k = 0; k < n; k++) sum += Math.exp(x.data[base + k * st]!);
      return Math.exp(x.data[i]!) / sum;
    });
  }
}

/** the final nn.Conv2d of branch `name`[level] of a head */
function lastConv(head: Mod, name: string, level: number): Mod {
  const branch = head.children.find(([n]) => n === name)![1].children[level]![1];
  return branch.children[branch.children.length - 1]![1];
}

/** DFL bins: logit 50 on bin k of each side (l, t, r, b), 0 elsewhere: the softmax is one-hot to 1e-20. */
const boxBias = (sides: number[]) => sides.flatMap((k) => Array.from({ length: 16 }, (_, j) => (j === k ? 50 : 0)));

const near = (got: number, want: number, what: string) => assert.ok(Math.abs(got - want) < 1e-9, `${what}: ${got} vs ${want}`);

test('Detect decodes DFL distances around the anchor points, times the stride', () => {
  const head = build(Detect, [2, [8, 16]]);
  const biases = new Map<Mod, number[]>();
  for (const lv of [0, 1]) {
    biases.set(lastConv(head, 'cv2', lv), boxBias([1, 2, 3, 4]));
    biases.set(lastConv(head, 'cv3', lv), [0, 2]);
  }
  const fl = new NumericFlow(biases);
  const xs = [tensor([1, 8, 4, 4], () => 0.3), tensor([1, 16, 2, 2], () => -0.7)];
  const [y] = fl.callMulti(head, xs, { strides: [8, 16] }) as [Tensor, Tensor[]];
  assert.deepEqual(y.shape, [1, 6, 20]);
  const at = (row: number, a: number) => y.data[row * 20 + a]!;
  // level 0 is 4x4 at stride 8, level 1 2x2 at stride 16; anchor (col + .5, row + .5);
  // l, t, r, b = 1, 2, 3, 4: centre (ax + (r - l) / 2, ay + (b - t) / 2), size (l + r, t + b)
  for (let a = 0; a < 20; a++) {
    const [w, s, local] = a < 16 ? [4, 8, a] : [2, 16, a - 16];
    const ax = (local % w) + 0.5;
    const ay = Math.floor(local / w) + 0.5;
    near(at(0, a), (ax + 1) * s, `cx ${a}`);
    near(at(1, a), (ay + 1) * s, `cy ${a}`);
    near(at(2, a), 4 * s, `w ${a}`);
    near(at(3, a), 6 * s, `h ${a}`);
    near(at(4, a), 0.5, `class 0 ${a}`);
    near(at(5, a), 1 / (1 + Math.exp(-2)), `class 1 ${a}`);
  }
});

test('Pose decodes keypoints (x, y around the anchor, visibility through a sigmoid)', () => {
  const head = build(Pose, [1, [2, 3], [8]]);
  const biases = new Map<Mod, number[]>([
    [lastConv(head, 'cv2', 0), boxBias([0, 0, 0, 0])],
    [lastConv(head, 'cv4', 0), [1, -1, 0, 0.5, 0.25, 2]],
  ]);
  const fl = new NumericFlow(biases);
  const [y, [, kpt]] = fl.callMulti(head, [tensor([1, 8, 2, 2], () => 1)], { strides: [16] }) as [Tensor, [Tensor[], Tensor]];
  // rows: 4 box + 1 class + 2 keypoints x 3
  assert.deepEqual(y.shape, [1, 11, 4]);
  assert.deepEqual(kpt.shape, [1, 6, 4]);
  for (let a = 0; a < 4; a++) {
    const col = a % 2;
    const row = Math.floor(a / 2);
    // (v * 2 + (anchor - 0.5)) * stride
    near(y.data[5 * 4 + a]!, (2 * 1 + col) * 16, 'kpt0 x');
    near(y.data[6 * 4 + a]!, (2 * -1 + row) * 16, 'kpt0 y');
    near(y.data[7 * 4 + a]!, 0.5, 'kpt0 visibility');
    near(y.data[8 * 4 + a]!, (2 * 0.5 + col) * 16, 'kpt1 x');
    near(y.data[9 * 4 + a]!, (2 * 0.25 + row) * 16, 'kpt1 y');
    near(y.data[10 * 4 + a]!, 1 / (1 + Math.exp(-2)), 'kpt1 visibility');
  }
});

test('OBB rotates the box offset by the predicted angle', () => {
  const head = build(OBB, [1, 1, [8]]);
  const biases = new Map<Mod, number[]>([[lastConv(head, 'cv2', 0), boxBias([1, 1, 3, 1])]]);
  const fl = new NumericFlow(biases);
  const [y] = fl.callMulti(head, [tensor([1, 8, 2, 2], () => 0)], { strides: [8] }) as [Tensor, unknown];
  // angle logit 0: (sigmoid(0) - 0.25) * pi = pi / 4; offset ((r - l) / 2, (b - t) / 2) = (1, 0) rotated: (cos, sin)
  assert.deepEqual(y.shape, [1, 6, 4]);
  const c = Math.cos(Math.PI / 4);
  for (let a = 0; a < 4; a++) {
    near(y.data[0 * 4 + a]!, ((a % 2) + 0.5 + c) * 8, 'cx');
    near(y.data[1 * 4 + a]!, (Math.floor(a / 2) + 0.5 + c) * 8, 'cy');
    near(y.data[2 * 4 + a]!, 4 * 8, 'w');
    near(y.data[3 * 4 + a]!, 2 * 8, 'h');
    near(y.data[5 * 4 + a]!, Math.PI / 4, 'angle');
  }
});
