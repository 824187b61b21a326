/**
 * The YOLOv5-dialect modules no corpus YAML uses (so the parity records never exercise them): parameter counts
 * and output shapes against numbers worked out by hand from the upstream Python, each derivation in a comment.
 * Notation: Conv(c1, c2, k, g) holds c2·(c1/g)·k² conv weights + 2·c2 BatchNorm parameters.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Builder } from '../../server/src/core/nn/builder.ts';
import { countParams, type Mod, type Shape, ShapeError } from '../../server/src/core/nn/module.ts';
import { ShapeFlow } from '../../server/src/core/nn/static.ts';
import { construct, f } from '../../server/src/core/catalog/types.ts';
import { PyTuple, type PyVal } from '../../server/src/core/py.ts';
import { YOLOV5, YOLOV5_GSCONV, SCALED_YOLOV4 } from '../../server/src/core/framework/index.ts';
import type { Framework } from '../../server/src/core/framework/types.ts';
import { yolov5Kit, mixConvChannels } from '../../server/src/core/catalog/yolov5.ts';

const b = new Builder({ fused: false, convDefaultAct: null });

function defOf(framework: Framework, name: string) {
  const e = framework.modules.get(name);
  if (e) return e.def;
  const internal = yolov5Kit('upstream').internal.find((d) => d.name === name);
  if (framework === YOLOV5 && internal) return internal;
  throw new Error(`${name} is not in ${framework.id}`);
}

/** build `name(*args, **kw)` in a framework, run it on `input`, return params, output shape and thop MACs */
function run(
  framework: Framework,
  name: string,
  args: PyVal[],
  input: Shape | Shape[],
  kw: Record<string, PyVal> = {},
): { mod: Mod; params: number; out: unknown; macs: number } {
  const mod = construct(b, defOf(framework, name), args, kw);
  const fl = new ShapeFlow();
  const out = fl.callMulti(mod, input);
  return { mod, params: countParams(mod).params, out, macs: fl.ops.thop };
}

const t3 = (...xs: number[]) => new PyTuple(xs);

// ---- ultralytics/yolov5 HEAD ------------------------------------------------------------------------------

test('HEAD DWConv: groups = gcd(c1, c2)', () => {
  // DWConv(16, 32, 3, 2): g = gcd(16, 32) = 16 -> 32·1·9 + 2·32 = 352; k3 s2 p1: 32 -> 16
  const r = run(YOLOV5, 'DWConv', [16, 32, 3, 2], [1, 16, 32, 32]);
  assert.equal(r.params, 352);
  assert.deepEqual(r.out, [1, 32, 16, 16]);
  assert.equal(r.mod.type, 'DWConv');
});

test('HEAD DWConvTranspose2d: depth-wise, and thop 0.1.1 does not count the subclass', () => {
  // ConvTranspose2d(16, 16, 2, 2, 0, 0, groups=16): weight 16·(16/16)·2·2 = 64 + bias 16 = 80
  // H_out = (32 - 1)·2 - 0 + 1·(2 - 1) + 0 + 1 = 64
  const r = run(YOLOV5, 'DWConvTranspose2d', [16, 16, 2, 2], [1, 16, 32, 32]);
  assert.equal(r.params, 80);
  assert.deepEqual(r.out, [1, 16, 64, 64]);
  assert.equal(r.macs, 0, 'thop 0.1.1 registers exact classes only');
});

test('HEAD Bottleneck: residual when c1 == c2', () => {
  // c_ = 16: Conv(32, 16, 1) = 512 + 32 = 544; Conv(16, 32, 3) = 4608 + 64 = 4672 -> 5216
  const r = run(YOLOV5, 'Bottleneck', [32, 32], [1, 32, 32, 32]);
  assert.equal(r.params, 5216);
  assert.deepEqual(r.out, [1, 32, 32, 32]);
});

test('HEAD BottleneckCSP', () => {
  // c_ = 32: cv1 Conv(32,32,1) 1088; cv2, cv3 Conv2d 1x1 no bias 1024 each; cv4 Conv(64,64,1) 4224; bn(64) 128;
  // m = Bottleneck(32, 32, e=1): Conv(32,32,1) 1088 + Conv(32,32,3) 9280 = 10368 -> 17856
  const r = run(YOLOV5, 'BottleneckCSP', [32, 64, 1], [1, 32, 32, 32]);
  assert.equal(r.params, 17856);
  assert.deepEqual(r.out, [1, 64, 32, 32]);
  assert.ok(r.mod.children.some(([n, m]) => n === 'act' && m.type === 'SiLU'));
});

test('HEAD CrossConv: (1, k) then (k, 1) kernels keep the size', () => {
  // c_ = 32: Conv(32, 32, (1, 3)) = 32·32·3 + 64 = 3136, twice -> 6272
  const r = run(YOLOV5, 'CrossConv', [32, 32, 3, 1, 1, f(1.0), true], [1, 32, 32, 32]);
  assert.equal(r.params, 6272);
  assert.deepEqual(r.out, [1, 32, 32, 32]);
});

test('HEAD C3x', () => {
  // c_ = 32: cv1, cv2 Conv(32,32,1) 1088 each; cv3 Conv(64,64,1) 4224; m = CrossConv(32,32,3,1,1,1.0,True) 6272 -> 12672
  const r = run(YOLOV5, 'C3x', [32, 64, 1], [1, 32, 32, 32]);
  assert.equal(r.params, 12672);
  assert.deepEqual(r.out, [1, 64, 32, 32]);
});

test('HEAD C3TR: a TransformerBlock of 4 heads', () => {
  // c_ = 16: cv1, cv2 Conv(32,16,1) 544 each; cv3 Conv(32,32,1) 1088;
  // TransformerBlock(16, 16, 4, 1): no conv; linear 16·16 + 16 = 272; TransformerLayer: q, k, v, fc1, fc2 without
  // bias 5·256 = 1280, MultiheadAttention in_proj 3·256 + 48 + out_proj 256 + 16 = 1088 -> 2368; block 2640 -> 4816
  const r = run(YOLOV5, 'C3TR', [32, 32, 1], [1, 32, 8, 8]);
  assert.equal(r.params, 4816);
  assert.deepEqual(r.out, [1, 32, 8, 8]);
});

test('HEAD C3TR: heads must divide the hidden channels', () => {
  // c_ = int(20 * 0.5) = 10 is not divisible by 4 heads: nn.MultiheadAttention asserts
  assert.throws(() => run(YOLOV5, 'C3TR', [20, 20, 1], [1, 20, 8, 8]), /divisible by num_heads/);
});

test('HEAD C3SPP: an SPP instead of Bottlenecks', () => {
  // c_ = 16: cv1, cv2 544 each; cv3 1088; SPP(16, 16): c_ = 8, Conv(16,8,1) 144 + Conv(32,16,1) 544 = 688 -> 2864
  const r = run(YOLOV5, 'C3SPP', [32, 32, t3(5, 9, 13)], [1, 32, 32, 32]);
  assert.equal(r.params, 2864);
  assert.deepEqual(r.out, [1, 32, 32, 32]);
});

test('HEAD C3Ghost', () => {
  // c_ = 16: cv1, cv2 544 each; cv3 1088; GhostBottleneck(16, 16) (s=1): GhostConv(16, 8): Conv(16,4,1) 72 +
  // Conv(4,4,5,g=4) 108 = 180; Identity; GhostConv(8, 16, act=False): Conv(8,8,1) 80 + Conv(8,8,5,g=8) 216 = 296 -> 476
  // total 544 + 544 + 1088 + 476 = 2652
  const r = run(YOLOV5, 'C3Ghost', [32, 32, 1], [1, 32, 32, 32]);
  assert.equal(r.params, 2652);
  assert.deepEqual(r.out, [1, 32, 32, 32]);
});

test('HEAD SPP', () => {
  // c_ = 16: Conv(32,16,1) 544; Conv(16·4, 64, 1) = 4096 + 128 = 4224 -> 4768
  const r = run(YOLOV5, 'SPP', [32, 64, t3(5, 9, 13)], [1, 32, 32, 32]);
  assert.equal(r.params, 4768);
  assert.deepEqual(r.out, [1, 64, 32, 32]);
});

test('HEAD Focus: space-to-depth then Conv', () => {
  // Conv(3·4, 32, 3) = 32·12·9 + 64 = 3520; 64x64 -> four 32x32 phases
  const r = run(YOLOV5, 'Focus', [3, 32, 3], [1, 3, 64, 64]);
  assert.equal(r.params, 3520);
  assert.deepEqual(r.out, [1, 32, 32, 32]);
  // odd sizes: x[..., ::2] has one row more than x[..., 1::2] and torch.cat fails
  assert.throws(() => run(YOLOV5, 'Focus', [3, 32, 3], [1, 3, 65, 65]), ShapeError);
});

test('HEAD GhostConv', () => {
  // c_ = 16: Conv(16,16,3,2) = 2304 + 32 = 2336; Conv(16,16,5,g=16) = 400 + 32 = 432 -> 2768
  const r = run(YOLOV5, 'GhostConv', [16, 32, 3, 2], [1, 16, 32, 32]);
  assert.equal(r.params, 2768);
  assert.deepEqual(r.out, [1, 32, 16, 16]);
});

test('HEAD GhostBottleneck with stride 2', () => {
  // c_ = 16; conv: GhostConv(16, 16): Conv(16,8,1) 144 + Conv(8,8,5,g=8) 216 = 360; DWConv(16,16,3,2) = 144 + 32 = 176;
  // GhostConv(16, 32): Conv(16,16,1) 288 + Conv(16,16,5,g=16) 432 = 720 -> 1256;
  // shortcut: DWConv(16,16,3,2) 176 + Conv(16,32,1) 576 = 752 -> 2008
  const r = run(YOLOV5, 'GhostBottleneck', [16, 32, 3, 2], [1, 16, 32, 32]);
  assert.equal(r.params, 2008);
  assert.deepEqual(r.out, [1, 32, 16, 16]);
});

test('HEAD Contract and Expand', () => {
  // Contract(2): (16, 32, 32) -> (16·4, 16, 16); Expand(2): (16, 32, 32) -> (16 / 4, 64, 64)
  assert.deepEqual(run(YOLOV5, 'Contract', [2], [1, 16, 32, 32]).out, [1, 64, 16, 16]);
  assert.deepEqual(run(YOLOV5, 'Expand', [2], [1, 16, 32, 32]).out, [1, 4, 64, 64]);
  // h not divisible by the gain: x.view(b, c, h // s, s, w // s, s) fails
  assert.throws(() => run(YOLOV5, 'Contract', [2], [1, 16, 33, 33]), ShapeError);
});

test('HEAD Proto', () => {
  // Conv(32,16,3) 4640; Upsample x2; Conv(16,16,3) 2336; Conv(16,8,1) 144 -> 7120
  const r = run(YOLOV5, 'Proto', [32, 16, 8], [1, 32, 32, 32]);
  assert.equal(r.params, 7120);
  assert.deepEqual(r.out, [1, 8, 64, 64]);
});

test('HEAD Classify: Conv to 1280, pool, Linear', () => {
  // Conv(32, 1280, 1) = 40960 + 2560 = 43520; Linear(1280, 10) = 12810 -> 56330
  const r = run(YOLOV5, 'Classify', [32, 10], [1, 32, 8, 8]);
  assert.equal(r.params, 56330);
  assert.deepEqual(r.out, [1, 10]);
  // a list input is concatenated first
  assert.deepEqual(
    run(
      YOLOV5,
      'Classify',
      [32, 10],
      [
        [1, 16, 8, 8],
        [1, 16, 8, 8],
      ],
    ).out,
    [1, 10],
  );
});

test('MixConv2d channel split (torch.linspace in float32, or numpy lstsq)', () => {
  // linspace(0, 2 - 1e-6, 32).floor(): indices 0..15 are < 1, 16..31 are >= 1 -> [16, 16]
  assert.deepEqual(mixConvChannels(32, [1, 3], true), [16, 16]);
  // linspace(0, 1.999999, 5) = 0, 0.5, 0.9999995, 1.5, 1.999999 -> floors 0, 0, 0, 1, 1 -> [3, 2]
  assert.deepEqual(mixConvChannels(5, [1, 3], true), [3, 2]);
  // equal weights: c_i · k_i² equal and Σ c_i = 32 -> c_1 = 32 / (1 + 1/9) = 28.8 -> 29, c_3 = 3.2 -> 3
  assert.deepEqual(mixConvChannels(32, [1, 3], false), [29, 3]);
});

test('HEAD MixConv2d', () => {
  // c_ = [16, 16]: Conv2d(16, 16, 1, groups=16) 16; Conv2d(16, 16, 3, groups=16) 144; bn(32) 64 -> 224
  const r = run(YOLOV5, 'MixConv2d', [16, 32, t3(1, 3)], [1, 16, 32, 32]);
  assert.equal(r.params, 224);
  assert.deepEqual(r.out, [1, 32, 32, 32]);
});

// ---- the Slim-neck YOLOv5 fork ------------------------------------------------------------------------------

test('fork namespace: no Focus, C3x, Segment, Proto; TransformerBlock and Sum are there', () => {
  for (const name of ['Focus', 'C3x', 'Segment', 'Proto', 'DWConvTranspose2d']) assert.ok(!YOLOV5_GSCONV.modules.has(name), name);
  for (const name of ['TransformerLayer', 'TransformerBlock', 'Sum', 'GhostConv', 'C3Ghost', 'C3SPP', 'MixConv2d', 'CrossConv'])
    assert.ok(YOLOV5_GSCONV.modules.has(name), name);
  for (const name of ['TransformerLayer', 'TransformerBlock', 'Sum'])
    assert.ok(!YOLOV5.modules.has(name), `${name} is not imported into HEAD's yolo.py`);
});

test('fork Conv: a Mish of its own, no dilation argument', () => {
  const r = run(YOLOV5_GSCONV, 'Conv', [16, 32, 3, 1, null, 1, false], [1, 16, 8, 8]);
  // 7th positional is act in the fork (d in HEAD): act=False -> Identity
  assert.equal(r.mod.children.find(([n]) => n === 'act')![1].type, 'Identity');
  assert.equal(run(YOLOV5_GSCONV, 'Conv', [16, 32, 3], [1, 16, 8, 8]).mod.children.find(([n]) => n === 'act')![1].type, 'Mish');
});

test('fork BottleneckCSP keeps nn.SiLU after its BatchNorm', () => {
  // gsconv-yolov5/models/common.py BottleneckCSP: self.act = nn.SiLU(); same parameters as HEAD (17856)
  const r = run(YOLOV5_GSCONV, 'BottleneckCSP', [32, 64, 1], [1, 32, 32, 32]);
  assert.equal(r.params, 17856);
  assert.equal(r.mod.children.find(([n]) => n === 'act')![1].type, 'SiLU');
});

test('fork Classify: pool, Conv2d with bias, flatten', () => {
  // Conv2d(32, 10, 1) = 320 + 10 = 330
  const r = run(YOLOV5_GSCONV, 'Classify', [32, 10], [1, 32, 8, 8]);
  assert.equal(r.params, 330);
  assert.deepEqual(r.out, [1, 10]);
});

test('fork TransformerBlock with a Conv when c1 != c2', () => {
  // Conv(16, 32, 1) = 512 + 64 = 576; linear 32·32 + 32 = 1056; TransformerLayer(32, 4): 5·1024 + (3·1024 + 96) + (1024 + 32)
  // = 5120 + 3168 + 1056 = 9344 -> 10976
  const r = run(YOLOV5_GSCONV, 'TransformerBlock', [16, 32, 4, 1], [1, 16, 4, 4]);
  assert.equal(r.params, 10976);
  assert.deepEqual(r.out, [1, 32, 4, 4]);
});

test('fork Sum: weighted sum of a list of inputs', () => {
  // weight=True registers w = -arange(1, n) / 2: n - 1 = 2 parameters
  const r = run(
    YOLOV5_GSCONV,
    'Sum',
    [3, true],
    [
      [1, 8, 4, 4],
      [1, 8, 4, 4],
      [1, 8, 4, 4],
    ],
  );
  assert.equal(r.params, 2);
  assert.deepEqual(r.out, [1, 8, 4, 4]);
  assert.equal(
    run(
      YOLOV5_GSCONV,
      'Sum',
      [2],
      [
        [1, 8, 4, 4],
        [1, 8, 4, 4],
      ],
    ).params,
    0,
  );
});

test('fork GSConvns: built (1744 parameters) but its forward returns a module', () => {
  // super().__init__(c1, c2, k=1, s=1, g=1, act=True): Conv(16,16,1) 288 + Conv(16,16,5,g=16) 432; shuf Conv2d(32,32,1) 1024
  const mod = construct(b, defOf(YOLOV5_GSCONV, 'GSConvns'), [16, 32, 3, 2]);
  assert.equal(countParams(mod).params, 1744);
  assert.throws(() => new ShapeFlow().call(mod, [1, 16, 8, 8]), /nn\.ReLU/);
});

test('fork GSBottleneck and GSBottleneckC', () => {
  // GSBottleneck(32, 32), e = 0.5: c_ = 16; GSConv(32, 16): Conv(32,8,1) 272 + Conv(8,8,5,g=8) 216 = 488;
  // GSConv(16, 32, 3, act=False): Conv(16,16,3) 2336 + Conv(16,16,5,g=16) 432 = 2768; shortcut Conv(32,32,1) 1088 -> 4344
  const r = run(YOLOV5_GSCONV, 'GSBottleneck', [32, 32], [1, 32, 16, 16]);
  assert.equal(r.params, 4344);
  assert.deepEqual(r.out, [1, 32, 16, 16]);
  // GSBottleneckC(32, 32, 3, 1): same lighting 3256, shortcut DWConv(32, 32, 3): 288 + 64 = 352 -> 3608
  const c = run(YOLOV5_GSCONV, 'GSBottleneckC', [32, 32, 3, 1], [1, 32, 16, 16]);
  assert.equal(c.params, 3608);
  assert.deepEqual(c.out, [1, 32, 16, 16]);
});

// ---- the Slim-neck Scaled-YOLOv4 fork ------------------------------------------------------------------------

test('sv4 namespace: its own modules, none of YOLOv5\u2019s newer ones', () => {
  for (const name of [
    'BottleneckCSP2',
    'SPPCSP',
    'VoVCSP',
    'HarDBlock',
    'HarDBlock2',
    'MP',
    'Focus',
    'C3',
    'MixConv2d',
    'CrossConv',
    'ConvSig',
    'ConvSqu',
    'Mish',
    'Flatten',
  ])
    assert.ok(SCALED_YOLOV4.modules.has(name), name);
  for (const name of ['SPPF', 'GhostConv', 'C3TR', 'C3Ghost', 'Segment', 'SE', 'SAM', 'DNL', 'GC'])
    assert.ok(!SCALED_YOLOV4.modules.has(name), name);
  assert.equal(SCALED_YOLOV4.nn.get('Conv2d')!.treat, 'channels', 'nn.Conv2d is in the sv4 channel set');
  assert.equal(SCALED_YOLOV4.modules.get('HarDBlock')!.treat, 'hardblock');
});

test('sv4 DWConv is a function returning a Conv', () => {
  const r = run(SCALED_YOLOV4, 'DWConv', [16, 32, 3, 2], [1, 16, 32, 32]);
  assert.equal(r.params, 352);
  assert.equal(r.mod.type, 'Conv');
  assert.equal(r.mod.children.find(([n]) => n === 'act')![1].type, 'MemoryEfficientMish');
});

test('sv4 GSBottleneck / GSBottleneckC: c_ = c2 // 2, no e; the cheap shortcut ignores k and s', () => {
  // GSBottleneck(32, 64): c_ = 32; GSConv(32, 32): Conv(32,16,1) 544 + Conv(16,16,5,g=16) 432 = 976;
  // GSConv(32, 64, 3, act=False): Conv(32,32,3) 9280 + Conv(32,32,5,g=32) 864 = 10144; shortcut Conv(32,64,1) 2176 -> 13296
  const r = run(SCALED_YOLOV4, 'GSBottleneck', [32, 64], [1, 32, 16, 16]);
  assert.equal(r.params, 13296);
  assert.deepEqual(r.out, [1, 64, 16, 16]);
  // GSBottleneckC(32, 64, 5, 2): lighting 11120, shortcut DWConv(32, 64, 3, 1): g = 32, 64·1·9 + 128 = 704 -> 11824;
  // the stride 2 is ignored, the map keeps its size
  const c = run(SCALED_YOLOV4, 'GSBottleneckC', [32, 64, 5, 2], [1, 32, 16, 16]);
  assert.equal(c.params, 11824);
  assert.deepEqual(c.out, [1, 64, 16, 16]);
});

test('sv4 VoVGSCSP ignores n; VoVGSCSPC lands e in its parent\u2019s n', () => {
  // VoVGSCSP(64, 64, n=3): c_ = 32; cv1, cv2 Conv(64,32,1) 2112 each; ONE GSBottleneck(32, 32, 1, 1): c_ = 16:
  // GSConv(32,16): Conv(32,8,1) 272 + Conv(8,8,5,g=8) 216 = 488; GSConv(16,32,3): 2336 + 432 = 2768; shortcut 1088 -> 4344;
  // res Conv(32,32,3) 9280; cv3 Conv(64,64,1) 4224 -> 2112·2 + 4344 + 9280 + 4224 = 22072
  const r = run(SCALED_YOLOV4, 'VoVGSCSP', [64, 64, 3], [1, 64, 16, 16]);
  assert.equal(r.params, 22072);
  assert.deepEqual(r.out, [1, 64, 16, 16]);
  // VoVGSCSPC(64, 64, 1, True, 1, 0.25): halves int(64·0.5) = 32; GSBottleneckC(16, 16, 3, 1) with int(64·0.25) = 16
  // channels, fed by cv1's 32: the forward fails
  assert.throws(() => run(SCALED_YOLOV4, 'VoVGSCSPC', [64, 64, 1, true, 1, f(0.25)], [1, 64, 16, 16]), /channels/);
});

test('sv4 VoVCSP: the second half through two 3x3 Convs', () => {
  // c_ = 64: Conv(32,32,3) 9280 twice; Conv(64,64,1) 4224 -> 22784
  const r = run(SCALED_YOLOV4, 'VoVCSP', [64, 64, 1], [1, 64, 16, 16]);
  assert.equal(r.params, 22784);
  assert.deepEqual(r.out, [1, 64, 16, 16]);
});

test('sv4 MP, Flatten, Mish', () => {
  assert.deepEqual(run(SCALED_YOLOV4, 'MP', [], [1, 16, 32, 32]).out, [1, 16, 16, 16]);
  assert.deepEqual(run(SCALED_YOLOV4, 'Flatten', [], [1, 16, 4, 4]).out, [1, 256]);
  const m = run(SCALED_YOLOV4, 'Mish', [], [1, 16, 4, 4]);
  assert.deepEqual([m.params, m.out], [0, [1, 16, 4, 4]]);
});

test('sv4 Focus and Classify', () => {
  // Focus: Conv(12, 32, 3) 3520; Classify: Conv2d(32, 10, 1) without bias = 320
  assert.equal(run(SCALED_YOLOV4, 'Focus', [3, 32, 3], [1, 3, 64, 64]).params, 3520);
  const c = run(SCALED_YOLOV4, 'Classify', [32, 10], [1, 32, 8, 8]);
  assert.deepEqual([c.params, c.out], [320, [1, 10]]);
});

test('sv4 ConvSig / ConvSqu: no BatchNorm', () => {
  // Conv2d(16, 32, 3) without bias = 4608
  for (const name of ['ConvSig', 'ConvSqu']) {
    const r = run(SCALED_YOLOV4, name, [16, 32, 3], [1, 16, 8, 8]);
    assert.deepEqual([r.params, r.out], [4608, [1, 32, 8, 8]], name);
  }
});

test('sv4 HarDNet layers', () => {
  // ConvLayer(16, 32, 3): Conv2d 4608 + BN 64 = 4672
  assert.equal(run(SCALED_YOLOV4, 'ConvLayer', [16, 32, 3], [1, 16, 8, 8]).params, 4672);
  // DWConvLayer(16, 99, 2): depth-wise on the INPUT channels, 16·9 + 32 = 176; out_channels ignored
  const dw = run(SCALED_YOLOV4, 'DWConvLayer', [16, 99, 2], [1, 16, 8, 8]);
  assert.deepEqual([dw.params, dw.out], [176, [1, 16, 4, 4]]);
  // CombConvLayer(16, 32): ConvLayer(16, 32, 1) 512 + 64 = 576; DWConvLayer(32): 288 + 64 = 352 -> 928
  assert.equal(run(SCALED_YOLOV4, 'CombConvLayer', [16, 32], [1, 16, 8, 8]).params, 928);
  assert.equal(run(SCALED_YOLOV4, 'BRLayer', [16], [1, 16, 8, 8]).params, 32);
});

test('sv4 HarDBlock: harmonic links, get_out_ch', () => {
  // get_link(L, base 16, growth 8, grmul 1.7):
  //  L1: links [0], out 8 -> int(int(9) / 2)·2 = 8, in 16
  //  L2: links [1, 0], out 8·1.7 = 13.6 -> int(int(14.6) / 2)·2 = 14, in 8 + 16 = 24
  //  L3: links [2], out 8, in 14
  //  L4: links [3, 2, 0], out 8·1.7·1.7 = 23.12 -> int(int(24.12) / 2)·2 = 24, in 8 + 14 + 16 = 38
  // Convs 3x3: 16·8·9 + 16 = 1168; 24·14·9 + 28 = 3052; 14·8·9 + 16 = 1024; 38·24·9 + 48 = 8256 -> 13500
  // output: layers 1, 3 and the last (4): 8 + 8 + 24 = 40 = get_out_ch()
  const r = run(SCALED_YOLOV4, 'HarDBlock', [16, 8, f(1.7), 4], [1, 16, 32, 32]);
  assert.equal(r.params, 13500);
  assert.deepEqual(r.out, [1, 40, 32, 32]);
  assert.equal(r.mod.attrs?.outChannels, 40);
  // keepBase adds the input to the output but not to get_out_ch()
  const k = run(SCALED_YOLOV4, 'HarDBlock', [16, 8, f(1.7), 4, true], [1, 16, 32, 32]);
  assert.deepEqual([k.out, k.mod.attrs?.outChannels], [[1, 56, 32, 32], 40]);
});

test('sv4 HarDBlock2: partitioned convs', () => {
  // reversed links: L1 [0], L2 [0, 1], L3 [2], L4 [0, 2, 3] with widths 8, 14, 8, 24
  // out_partition: 0 -> [8, 14, 24], 1 -> [14], 2 -> [8, 24], 3 -> [24]
  // conv i: Conv2d(cur, Σ partition[i], 3, bias) and BRLayer(partition[i][0]):
  //  i0: 16·46·9 + 46 = 6670, BN 16; i1: 8·14·9 + 14 = 1022, BN 28; i2: 14·32·9 + 32 = 4064, BN 16; i3: 8·24·9 + 24 = 1752, BN 48
  //  -> 13616; output: i0, i2, i3 -> 8 + 8 + 24 = 40
  const r = run(SCALED_YOLOV4, 'HarDBlock2', [16, 8, f(1.7), 4], [1, 16, 32, 32]);
  assert.equal(r.params, 13616);
  assert.deepEqual(r.out, [1, 40, 32, 32]);
  assert.equal(r.mod.attrs?.outChannels, 40);
});

test('sv4 C3 is a CrossConv CSP with LeakyReLU(0.1)', () => {
  // c_ = 32: cv1 Conv(32,32,1) 1088; cv2, cv3 Conv2d 1x1 1024 each; cv4 Conv(64,64,1) 4224; bn 128;
  // CrossConv(32, 32, 3, 1, 1, 1.0, True) 6272 -> 13760
  const r = run(SCALED_YOLOV4, 'C3', [32, 64, 1], [1, 32, 16, 16]);
  assert.equal(r.params, 13760);
  assert.deepEqual(r.out, [1, 64, 16, 16]);
  const act = r.mod.children.find(([n]) => n === 'act')![1];
  assert.deepEqual([act.type, act.leaf?.op === 'act' ? act.leaf.slope : null], ['LeakyReLU', 0.1]);
});

test('sv4 MixConv2d: dense convs and a residual add', () => {
  // c_ = [16, 16]: Conv2d(32, 16, 1) 512 + Conv2d(32, 16, 3) 4608 (no groups here) + BN 64 = 5184
  const r = run(SCALED_YOLOV4, 'MixConv2d', [32, 32, t3(1, 3)], [1, 32, 16, 16]);
  assert.equal(r.params, 5184);
  assert.deepEqual(r.out, [1, 32, 16, 16]);
  // x + ...: c1 != c2 cannot be added
  assert.throws(() => run(SCALED_YOLOV4, 'MixConv2d', [16, 32, t3(1, 3)], [1, 16, 16, 16]), ShapeError);
});

test('sv4 fused Conv: fuse() cannot fold a grouped conv', () => {
  const fused = new Builder({ fused: true, convDefaultAct: null });
  // plain conv: folded, gains a bias: 32·16·9 + 32 = 4640
  assert.equal(countParams(construct(fused, defOf(SCALED_YOLOV4, 'Conv'), [16, 32, 3])).params, 4640);
  // grouped: the new Conv2d has no groups, the folded weight (32·1·5·5 = 800 values) cannot take its shape
  assert.throws(
    () => construct(fused, defOf(SCALED_YOLOV4, 'Conv'), [32, 32, 5, 1, null, 32]),
    /shape '\[32, 32, 5, 5\]' is invalid for input of size 800/,
  );
});

// ---- the same Python over another framework's Conv: the same numbers ----------------------------------------------

test('modules the fork and Scaled-YOLOv4 share with HEAD give HEAD\u2019s numbers (their Convs count the same)', () => {
  // the figures derived above for HEAD; the fork's and Scaled-YOLOv4's Convs differ only in the activation
  const shared: [string, PyVal[], Shape, number, Shape][] = [
    ['Bottleneck', [32, 32], [1, 32, 32, 32], 5216, [1, 32, 32, 32]],
    ['SPP', [32, 64, t3(5, 9, 13)], [1, 32, 32, 32], 4768, [1, 64, 32, 32]],
    ['CrossConv', [32, 32, 3, 1, 1, f(1.0), true], [1, 32, 32, 32], 6272, [1, 32, 32, 32]],
    ['DWConv', [16, 32, 3, 2], [1, 16, 32, 32], 352, [1, 32, 16, 16]],
  ];
  const forkOnly: typeof shared = [
    ['C3TR', [32, 32, 1], [1, 32, 8, 8], 4816, [1, 32, 8, 8]],
    ['C3SPP', [32, 32, t3(5, 9, 13)], [1, 32, 32, 32], 2864, [1, 32, 32, 32]],
    ['C3Ghost', [32, 32, 1], [1, 32, 32, 32], 2652, [1, 32, 32, 32]],
    ['GhostConv', [16, 32, 3, 2], [1, 16, 32, 32], 2768, [1, 32, 16, 16]],
    ['GhostBottleneck', [16, 32, 3, 2], [1, 16, 32, 32], 2008, [1, 32, 16, 16]],
    ['MixConv2d', [16, 32, t3(1, 3)], [1, 16, 32, 32], 224, [1, 32, 32, 32]],
    ['Contract', [2], [1, 16, 32, 32], 0, [1, 64, 16, 16]],
    ['Expand', [2], [1, 16, 32, 32], 0, [1, 4, 64, 64]],
  ];
  for (const [framework, list] of [
    [YOLOV5_GSCONV, [...shared, ...forkOnly]],
    [SCALED_YOLOV4, shared],
  ] as const)
    for (const [name, args, input, params, out] of list) {
      const r = run(framework, name, args, input);
      assert.deepEqual([r.params, r.out], [params, out], `${framework.id} ${name}`);
    }
});

test('fork GhostConv passes act positionally: act=False reaches both Convs', () => {
  const r = run(YOLOV5_GSCONV, 'GhostConv', [16, 32, 1, 1, 1, false], [1, 16, 8, 8]);
  const acts = r.mod.children.map(([, m]) => m.children.find(([n]) => n === 'act')![1].type);
  assert.deepEqual(acts, ['Identity', 'Identity']);
});

test('DetectMultiBackend is in both YOLOv5 namespaces but is no layer', () => {
  for (const framework of [YOLOV5, YOLOV5_GSCONV])
    assert.throws(() => construct(b, defOf(framework, 'DetectMultiBackend'), []), /weights|inference wrapper/);
});
