/**
 * The ultralytics conv.py / block.py modules that no corpus YAML builds (so the parity records cannot check them):
 * parameters, fused parameters, output shapes and the errors their Python constructors and forwards raise.
 * Every expected number is derived by hand from the upstream Python (the comment says which convs with which
 * channels): Conv(c1, c2, k, g) = c2·(c1/g)·k² weights + 2·c2 BatchNorm; fused = the weights + c2 bias.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Builder } from '../../server/src/core/nn/builder.ts';
import { countParams, forEachModule, ShapeError, type Mod, type Shape } from '../../server/src/core/nn/module.ts';
import { ShapeFlow, flattenOut } from '../../server/src/core/nn/static.ts';
import { construct, f, type ModuleDef } from '../../server/src/core/catalog/types.ts';
import { PyTuple, type PyVal } from '../../server/src/core/py.ts';
import * as conv from '../../server/src/core/catalog/ultralytics/conv.ts';
import * as block from '../../server/src/core/catalog/ultralytics/block.ts';
import * as slimneck from '../../server/src/core/catalog/ultralytics/slimneck.ts';
import { ULTRALYTICS_8_3 } from '../../server/src/core/framework/index.ts';
import { resolve } from '../../server/src/core/resolve.ts';

const SILU = { ...new Builder({ fused: false, convDefaultAct: null }).act('SiLU'), shared: true };
const builder = (fused = false) => new Builder({ fused, convDefaultAct: SILU });

function build(def: ModuleDef, args: PyVal[], kw: Record<string, PyVal> = {}, fused = false): Mod {
  return construct(builder(fused), def, args, kw);
}
const params = (m: Mod) => countParams(m).params;
function run(m: Mod, input: Shape | Shape[] | (Shape | Shape[])[]) {
  const fl = new ShapeFlow();
  const out = fl.callMulti(m, input as Shape);
  return { out, thop: fl.ops.thop, ultralyticsThop: fl.ops.ultralyticsThop };
}
const x = (c: number, s = 32): Shape => [1, c, s, s];

interface Case {
  name: string;
  def: ModuleDef;
  args: PyVal[];
  kw?: Record<string, PyVal>;
  /** by hand from the upstream __init__ */
  params: number;
  /** after BaseModel.fuse(), when it changes anything */
  fused?: number;
  input: Shape;
  out: Shape | Shape[];
}

const t33 = new PyTuple([5, 9, 13]);

const cases: Case[] = [
  // Conv(16,32,3): 32·16·9 = 4608 + BN 64; fused 4608 + bias 32
  { name: 'Conv', def: conv.Conv, args: [16, 32, 3], params: 4672, fused: 4640, input: x(16), out: x(32) },
  // DWConv(16,32,3): groups gcd = 16 → 32·1·9 = 288 + 64; fused 288 + 32
  { name: 'DWConv', def: conv.DWConv, args: [16, 32, 3], params: 352, fused: 320, input: x(16), out: x(32) },
  // Conv2(16,32) k=3: conv 4608 + cv2 (1×1) 512 + BN 64; fused: cv2 folded into conv, BN folded: 4608 + 32
  { name: 'Conv2', def: conv.Conv2, args: [16, 32], params: 5184, fused: 4640, input: x(16), out: x(32) },
  // LightConv(16,32,3): Conv(16,32,1) 512+64, DWConv(32,32,3) g=32 288+64
  { name: 'LightConv', def: conv.LightConv, args: [16, 32, 3], params: 928, fused: 512 + 32 + 288 + 32, input: x(16), out: x(32) },
  // DWConvTranspose2d(16,32,2,2): groups 16, weight [16, 32/16, 2, 2] = 128 + bias 32
  { name: 'DWConvTranspose2d', def: conv.DWConvTranspose2d, args: [16, 32, 2, 2], params: 160, input: x(16, 8), out: x(32, 16) },
  // ConvTranspose(16,32): k2 s2, weight 16·32·4 = 2048 (no bias) + BN 64; fused: 2048 + bias 32
  { name: 'ConvTranspose', def: conv.ConvTranspose, args: [16, 32], params: 2112, fused: 2080, input: x(16, 8), out: x(32, 16) },
  // ConvTranspose(16,32,bn=False): 2048 + bias 32, Identity
  {
    name: 'ConvTranspose bn=False',
    def: conv.ConvTranspose,
    args: [16, 32, 2, 2, 0, false],
    params: 2080,
    input: x(16, 8),
    out: x(32, 16),
  },
  // Focus(3,32,3): Conv(12,32,3) = 32·12·9 = 3456 + 64; the space-to-depth halves the size
  { name: 'Focus', def: conv.Focus, args: [3, 32, 3], params: 3520, fused: 3456 + 32, input: x(3, 64), out: x(32, 32) },
  // GhostConv(16,32,3): c_=16: Conv(16,16,3) 2304+32, Conv(16,16,5,g=16) 400+32
  { name: 'GhostConv', def: conv.GhostConv, args: [16, 32, 3], params: 2768, input: x(16), out: x(32) },
  // ChannelAttention(16): fc Conv2d(16,16,1) with bias = 256 + 16
  { name: 'ChannelAttention', def: conv.ChannelAttention, args: [16], params: 272, input: x(16), out: x(16) },
  // SpatialAttention(7): Conv2d(2,1,7) no bias = 98; (3): 18
  { name: 'SpatialAttention', def: conv.SpatialAttention, args: [], params: 98, input: x(16), out: x(16) },
  { name: 'SpatialAttention k=3', def: conv.SpatialAttention, args: [3], params: 18, input: x(16), out: x(16) },
  // CBAM(16): 272 + 98
  { name: 'CBAM', def: conv.CBAM, args: [16], params: 370, input: x(16), out: x(16) },
  // RepConv(16,32): Conv(16,32,3) 4608+64, Conv(16,32,1) 512+64, no identity BN; fused: one 3×3 with bias 4608+32
  { name: 'RepConv', def: conv.RepConv, args: [16, 32], params: 5248, fused: 4640, input: x(16), out: x(32) },
  // RepConv(32,32,bn=True): 9216+64, 1024+64, identity BN(32) 64; fused 9216+32
  { name: 'RepConv bn', def: conv.RepConv, args: [32, 32], kw: { bn: true }, params: 10432, fused: 9248, input: x(32), out: x(32) },
  // RepConv(16,32,s=2): both branches stride 2
  { name: 'RepConv s=2', def: conv.RepConv, args: [16, 32, 3, 2], params: 5248, fused: 4640, input: x(16), out: x(32, 16) },
  // GSConvE2(16,32,1): c_=8: Conv(16,8,1) 128+16; depth-wise 9/13/17: 8·81+16, 8·169+16, 8·289+16
  { name: 'GSConvE2', def: slimneck.GSConvE2, args: [16, 32, 1], params: 144 + 664 + 1368 + 2328, input: x(16), out: x(32) },
  // GSConvns(16,32,3): GSConv's 2336 + 432, shuf Conv2d(32,32,1) 1024
  { name: 'GSConvns', def: slimneck.GSConvns, args: [16, 32, 3], params: 3792, input: x(16), out: x(32) },
  // GSBottleneck(16,32): GSConv(16,16,1,1,0) = Conv(16,8,1) 144 + Conv(8,8,5,g=8) 216; GSConv(16,32,3) 2336 + 432;
  // shortcut Conv(16,32,1,act=False) 576
  { name: 'GSBottleneck', def: slimneck.GSBottleneck, args: [16, 32], params: 360 + 2768 + 576, input: x(16), out: x(32) },
  // GSBottleneckC(16,32): as above with shortcut DWConv(16,32,3) g=16: 288 + 64
  { name: 'GSBottleneckC', def: slimneck.GSBottleneckC, args: [16, 32], params: 360 + 2768 + 352, input: x(16), out: x(32) },
  // VoVGSCSP(16,32,1): c_=16: cv1 Conv(16,16,1) 288; gc2 GSConv(16,16,3) = Conv(16,8,3) 1168 + Conv(8,8,5,g=8) 216;
  // m C2f(16,16,1,shortcut) = Conv(16,16,1) 288 + Conv(24,16,1) 416 + Bottleneck(8,8) 2·592; cv3 Conv(32,32,1) 1088
  { name: 'VoVGSCSP', def: slimneck.VoVGSCSP, args: [16, 32, 1], params: 288 + 1384 + 1888 + 1088, input: x(16), out: x(32) },
  // VoVGSCSP ignores n: 5 repeats give the same module
  { name: 'VoVGSCSP n=5', def: slimneck.VoVGSCSP, args: [16, 32, 5], params: 4648, input: x(16), out: x(32) },
  // VoVGSCSPC(16,32,1,True,1,0.25): the parent gets e as n and keeps e=0.5 (4648 as above), plus the unused
  // GSBottleneckC(8,8): GSConv(8,4,1,1,0) = Conv(8,2,1) 20 + Conv(2,2,5,g=2) 54; GSConv(4,8,3) = Conv(4,4,3) 152 +
  // Conv(4,4,5,g=4) 108; DWConv(8,8,3) 72+16
  {
    name: 'VoVGSCSPC',
    def: slimneck.VoVGSCSPC,
    args: [16, 32, 1, true, 1, f(0.25)],
    params: 4648 + 74 + 260 + 88,
    input: x(16),
    out: x(32),
  },
  // DFL(16): a frozen Conv2d(16,1,1) = 16
  { name: 'DFL', def: block.DFL, args: [], params: 16, input: [1, 64, 100], out: [1, 4, 100] },
  // HGStem(3,32,48): Conv(3,32,3,2) 864+64; Conv(32,16,2) 2048+32; Conv(16,32,2) 2048+64; Conv(64,32,3,2) 18432+64;
  // Conv(32,48,1) 1536+96. 64 → 32 (stem1) → pad 33 → 32 (stem2a) → pad 33 → 32; pool(2,1,ceil) 33 → 32; stem3 → 16
  { name: 'HGStem', def: block.HGStem, args: [3, 32, 48], params: 25248, input: x(3, 64), out: x(48, 16) },
  // HGBlock(48,48,128,3,6): 6 × Conv(48,48,3) 20736+96; sc Conv(336,64,1) 21504+128; ec Conv(64,128,1) 8192+256
  { name: 'HGBlock', def: block.HGBlock, args: [48, 48, 128, 3, 6], params: 155072, input: x(48), out: x(128) },
  // HGBlock(128,96,512,5,6,lightconv): LightConv(128,96,5) = Conv(128,96,1) 12288+192 + DWConv(96,96,5) 2400+192;
  // 5 × LightConv(96,96,5) = 9408 + 2592; sc Conv(704,256,1) 180224+512; ec Conv(256,512,1) 131072+1024
  {
    name: 'HGBlock lightconv',
    def: block.HGBlock,
    args: [128, 96, 512, 5, 6, true],
    params: 15072 + 60000 + 180736 + 132096,
    input: x(128),
    out: x(512),
  },
  // SPP(16,32): c_=8: Conv(16,8,1) 144, Conv(32,32,1) 1088
  { name: 'SPP', def: block.SPP, args: [16, 32, t33], params: 1232, input: x(16), out: x(32) },
  // C1(16,32,2): Conv(16,32,1) 576; 2 × Conv(32,32,3) 9216+64
  { name: 'C1', def: block.C1, args: [16, 32, 2], params: 19136, input: x(16), out: x(32) },
  // C3x(16,32,1): c_=16: Conv(16,16,1) 288 ×2, Conv(32,32,1) 1088, Bottleneck k=((1,3),(3,1)): 2 × (16·16·3 + 32)
  { name: 'C3x', def: block.C3x, args: [16, 32, 1], params: 288 + 288 + 1088 + 1600, input: x(16), out: x(32) },
  // C3TR(16,32,1): c_=16: 288+288+1088; TransformerBlock(16,16,4,1): position Linear(16,16) 272; one layer: q,k,v
  // 3·256, MultiheadAttention in_proj 3·256+48 and out_proj 256+16, fc1, fc2 2·256
  { name: 'C3TR', def: block.C3TR, args: [16, 32, 1], params: 288 + 288 + 1088 + 272 + 768 + 1088 + 512, input: x(16, 8), out: x(32, 8) },
  // GhostBottleneck(16,16): GhostConv(16,8) = Conv(16,4,1) 72 + Conv(4,4,5,g=4) 108; GhostConv(8,16) = Conv(8,8,1) 80 +
  // Conv(8,8,5,g=8) 216; identity shortcut
  { name: 'GhostBottleneck', def: block.GhostBottleneck, args: [16, 16], params: 476, input: x(16), out: x(16) },
  // GhostBottleneck(16,32,3,2): GhostConv(16,16) 144+216; DWConv(16,16,3,2) 144+32; GhostConv(16,32) 288+432;
  // shortcut DWConv(16,16,3,2) 176 + Conv(16,32,1) 576
  {
    name: 'GhostBottleneck s=2',
    def: block.GhostBottleneck,
    args: [16, 32, 3, 2],
    params: 360 + 176 + 720 + 176 + 576,
    input: x(16),
    out: x(32, 16),
  },
  // BottleneckCSP(16,32,1): c_=16: Conv(16,16,1) 288, Conv2d 256, Conv2d 256, Conv(32,32,1) 1088, BN(32) 64,
  // Bottleneck(16,16,e=1) with ultralytics' default k=(3,3): 2 × (2304+32)
  { name: 'BottleneckCSP', def: block.BottleneckCSP, args: [16, 32, 1], params: 6624, input: x(16), out: x(32) },
  // RepC3(16,32,3): c_=32: Conv(16,32,1) 576 ×2; 3 × RepConv(32,32) = 9280 + 1088; cv3 Identity.
  // fused: 544 ×2 + 3 × (9216+32)
  { name: 'RepC3', def: block.RepC3, args: [16, 32, 3], params: 32256, fused: 28832, input: x(16), out: x(32) },
  // ResNetBlock(16,8): c3=32: Conv(16,8,1) 144, Conv(8,8,3) 592, Conv(8,32,1) 320, shortcut Conv(16,32,1) 576
  { name: 'ResNetBlock', def: block.ResNetBlock, args: [16, 8], params: 1632, input: x(16), out: x(32) },
  // ResNetLayer(16,8,2,False,2): ResNetBlock(16,8,2) 1632 (stride 2) + ResNetBlock(32,8,1): 256+16, 592, 320, Identity
  { name: 'ResNetLayer', def: block.ResNetLayer, args: [16, 8, 2, false, 2], params: 1632 + 272 + 592 + 320, input: x(16), out: x(32, 16) },
  // RepBottleneck(16,16): c_=8: RepConv(16,8) = Conv(16,8,3) 1168 + Conv(16,8,1) 144; Conv(8,16,3) 1184.
  // fused: 1152+8, 1152+16
  { name: 'RepBottleneck', def: block.RepBottleneck, args: [16, 16], params: 2496, fused: 2328, input: x(16), out: x(16) },
  // RepCSP(16,32,1): c_=16: 288, 288, 1088; RepBottleneck(16,16,e=1): RepConv(16,16) 2336+288, Conv(16,16,3) 2336
  { name: 'RepCSP', def: block.RepCSP, args: [16, 32, 1], params: 6624, input: x(16), out: x(32) },
  // RepNCSPELAN4(32,64,32,16,1): Conv(32,32,1) 1088; 2 × [RepCSP(16,16,1) = 144+144+288+(RepConv(8,8) 672 +
  // Conv(8,8,3) 592) + Conv(16,16,3) 2336]; Conv(64,64,1) 4224
  { name: 'RepNCSPELAN4', def: block.RepNCSPELAN4, args: [32, 64, 32, 16, 1], params: 1088 + 4176 + 4176 + 4224, input: x(32), out: x(64) },
  // ELAN1(32,64,32,16): Conv(32,32,1) 1088, Conv(16,16,3) 2336 ×2, Conv(64,64,1) 4224
  { name: 'ELAN1', def: block.ELAN1, args: [32, 64, 32, 16], params: 9984, input: x(32), out: x(64) },
  // AConv(16,32): Conv(16,32,3,2,1) 4672; avg-pool 2/1 takes 64 → 63, the conv 63 → 32
  { name: 'AConv', def: block.AConv, args: [16, 32], params: 4672, input: x(16, 64), out: x(32, 32) },
  // ADown(16,32): c=16: Conv(8,16,3,2,1) 1152+32, Conv(8,16,1) 128+32; 64 → 63 → 32 on both branches
  { name: 'ADown', def: block.ADown, args: [16, 32], params: 1344, input: x(16, 64), out: x(32, 32) },
  // SPPELAN(16,32,8): Conv(16,8,1) 144, Conv(32,32,1) 1088
  { name: 'SPPELAN', def: block.SPPELAN, args: [16, 32, 8], params: 1232, input: x(16), out: x(32) },
  // CBLinear(16,[8,16,32]): Conv2d(16,56,1) with bias = 896 + 56; the output is split
  { name: 'CBLinear', def: block.CBLinear, args: [16, [8, 16, 32]], params: 952, input: x(16), out: [x(8), x(16), x(32)] },
  // C3f(16,32,1): c_=16: 288, 288, Conv(48,32,1) 1600, Bottleneck(16,16,e=1) 2 × 2336
  { name: 'C3f', def: block.C3f, args: [16, 32, 1], params: 6848, input: x(16), out: x(32) },
  // C3k2(32,64,1,False,0.25) (YOLO11n layer 2): c=16: Conv(32,32,1) 1088, Conv(48,64,1) 3200,
  // Bottleneck(16,16) e=0.5: Conv(16,8,3) 1168 + Conv(8,16,3) 1184
  { name: 'C3k2', def: block.C3k2, args: [32, 64, 1, false, f(0.25)], params: 6640, input: x(32), out: x(64) },
  // C3k2(128,128,1,True) (YOLO11n layer 6): c=64: Conv(128,128,1) 16640, Conv(192,128,1) 24832; C3k(64,64,2):
  // Conv(64,32,1) 2112 ×2, Conv(64,64,1) 4224, 2 × Bottleneck(32,32,e=1) 2 × 9280
  { name: 'C3k2 c3k', def: block.C3k2, args: [128, 128, 1, true], params: 87040, input: x(128), out: x(128) },
  // C3k(16,32,1,True,1,0.5,5): c_=16: 288, 288, 1088, Bottleneck k=(5,5): 2 × (6400+32)
  { name: 'C3k', def: block.C3k, args: [16, 32, 1, true, 1, f(0.5), 5], params: 14528, input: x(16), out: x(32) },
  // RepVGGDW(32): Conv(32,32,7,g=32) 1568+64, Conv(32,32,3,g=32) 288+64; fused: one 7×7 dw with bias 1568+32
  { name: 'RepVGGDW', def: block.RepVGGDW, args: [32], params: 1984, fused: 1600, input: x(32), out: x(32) },
  // CIB(16,16): c_=8: dw Conv(16,16,3,g=16) 176, Conv(16,16,1) 288, dw 176, Conv(16,16,1) 288, dw 176
  { name: 'CIB', def: block.CIB, args: [16, 16], params: 1104, fused: 3 * 160 + 2 * 272, input: x(16), out: x(16) },
  // CIB(16,16,lk): the middle dw is RepVGGDW(16): 784+32 + 144+32; fused 160·2 + 272·2 + 784+16
  { name: 'CIB lk', def: block.CIB, args: [16, 16, true, f(0.5), true], params: 1920, fused: 1664, input: x(16), out: x(16) },
  // C2fCIB(32,32,1): c=16: Conv(32,32,1) 1088, Conv(48,32,1) 1600; CIB(16,16,e=1): 176, Conv(16,32,1) 576,
  // Conv(32,32,3,g=32) 352, Conv(32,16,1) 544, 176
  { name: 'C2fCIB', def: block.C2fCIB, args: [32, 32, 1], params: 4512, input: x(32), out: x(32) },
  // Attention(64,2): head_dim 32, key_dim 16, qkv Conv(64,128,1) 8448, proj Conv(64,64,1) 4224, pe Conv(64,64,3,g=64) 704
  { name: 'Attention', def: block.Attention, args: [64, 2], params: 13376, input: x(64, 8), out: x(64, 8) },
  // PSABlock(64,0.5,2): Attention 13376; ffn Conv(64,128,1) 8448 + Conv(128,64,1) 8320
  { name: 'PSABlock', def: block.PSABlock, args: [64, f(0.5), 2], params: 30144, input: x(64, 8), out: x(64, 8) },
  // PSA(128,128): c=64, 1 head: Conv(128,128,1) 16640 ×2, Attention(64,1) 13376, ffn 16768
  { name: 'PSA', def: block.PSA, args: [128, 128], params: 63424, input: x(128, 8), out: x(128, 8) },
  // C2PSA(256,256,1) (YOLO11n layer 10): c=128, 2 heads: Conv(256,256,1) 66048 ×2; PSABlock(128): qkv Conv(128,256,1)
  // 33280, proj 16640, pe 1408, ffn 33280 + 33024
  { name: 'C2PSA', def: block.C2PSA, args: [256, 256, 1], params: 249728, input: x(256, 20), out: x(256, 20) },
  // C2fPSA(128,128,1): c=64: Conv(128,128,1) 16640, Conv(192,128,1) 24832, PSABlock(64, 1 head) 30144
  { name: 'C2fPSA', def: block.C2fPSA, args: [128, 128, 1], params: 71616, input: x(128, 8), out: x(128, 8) },
  // SCDown(16,32,3,2): Conv(16,32,1) 576, Conv(32,32,3,2,g=32) 288+64
  { name: 'SCDown', def: block.SCDown, args: [16, 32, 3, 2], params: 928, input: x(16), out: x(32, 16) },
];

for (const c of cases) {
  test(`${c.name}: params and output shape`, () => {
    const m = build(c.def, c.args, c.kw);
    assert.equal(params(m), c.params, 'params');
    const { out } = run(m, c.input);
    const shapes = flattenOut(out);
    assert.deepEqual(shapes.length === 1 && !Array.isArray(c.out[0]) ? shapes[0] : shapes, c.out, 'output shape');
  });
  if (c.fused !== undefined) {
    test(`${c.name}: fused params`, () => {
      const m = build(c.def, c.args, c.kw, true);
      assert.equal(params(m), c.fused);
      // the deployed form has no BatchNorm left where fuse() folds it
      forEachModule(m, (mm) => assert.notEqual(mm.type, 'BatchNorm2d'));
    });
  }
}

test('fused Conv2 cannot run: its forward_fuse still calls the BatchNorm that fuse() deleted', () => {
  const m = build(conv.Conv2, [16, 32], {}, true);
  assert.throws(
    () => run(m, x(16)),
    (e: unknown) => e instanceof ShapeError && /no attribute 'bn'/.test(e.message),
  );
});

test('fused ConvTranspose with bn=False fails like fuse() (an Identity has no weight)', () => {
  assert.throws(
    () => build(conv.ConvTranspose, [16, 32, 2, 2, 0, false], {}, true),
    (e: unknown) => e instanceof ShapeError && e.stage === 'build',
  );
});

test('constructor asserts and divisions by zero become build errors', () => {
  const fails = (def: ModuleDef, args: PyVal[], re: RegExp, kw: Record<string, PyVal> = {}) =>
    assert.throws(
      () => build(def, args, kw),
      (e: unknown) => e instanceof ShapeError && e.stage === 'build' && re.test(e.message),
      `${def.name}(${args.join(', ')})`,
    );
  fails(block.C2PSA, [128, 64, 1], /AssertionError/);
  fails(block.C2fPSA, [128, 64, 1], /AssertionError/);
  fails(block.PSA, [64, 32], /AssertionError/);
  // int(64·0.5) // 64 = 0 heads: Attention divides by zero
  fails(block.PSA, [64, 64], /ZeroDivisionError/);
  fails(block.C2PSA, [64, 64, 1], /ZeroDivisionError/);
  fails(conv.RepConv, [16, 32, 1], /AssertionError/);
  fails(conv.RepConv, [16, 32, 3, 1, 0], /AssertionError/);
  fails(conv.SpatialAttention, [5], /kernel size must be 3 or 7/);
  fails(block.SPP, [16, 32, 5], /has no len/);
  // RepBottleneck's RepConv gets k[0]
  fails(block.RepBottleneck, [16, 16, true, 1, new PyTuple([1, 3])], /AssertionError/);
  // C3TR builds C3's Bottlenecks (g=3 on 16 channels) before replacing them with a TransformerBlock
  fails(block.C3TR, [16, 32, 1, true, 3], /divisible by groups/);
});

test('C2PSA with n = 0 builds no PSABlock, so 0 heads do not matter', () => {
  // c=32: Conv(64,64,1) 4096+128 = 4224 twice
  assert.equal(params(build(block.C2PSA, [64, 64, 0])), 8448);
});

test('forward errors the Python forward would raise', () => {
  // RepC3(16,32,1,0.5): cv1 gives 32 channels to a RepConv built for 16
  assert.throws(() => run(build(block.RepC3, [16, 32, 1, f(0.5)]), x(16)), /channels/);
  // Focus on an odd size: the pixel phases differ by one row
  assert.throws(() => run(build(conv.Focus, [3, 32, 3]), x(3, 65)), /Sizes of tensors must match/);
  // Attention(64, 3): 3·(2·10 + 21) = 123 ≠ 124 qkv channels
  assert.throws(() => run(build(block.Attention, [64, 3]), x(64, 8)), /invalid for input/);
  // ADown on an odd c1: chunk gives 9 and 8, cv1 was built for 8
  assert.throws(() => run(build(block.ADown, [17, 32]), x(17, 64)), /channels/);
});

test('thop rules: functional pooling counts 0, a ConvTranspose2d subclass counts 0 in thop 0.1.1 only', () => {
  // AConv(16,32) at 64: conv 32·32·32 outputs × 16·9 = 4,718,592 MACs + BN 4 × 32,768; the avg-pool is functional
  assert.equal(run(build(block.AConv, [16, 32]), x(16, 64)).thop, 4718592 + 131072);
  // DWConvTranspose2d(16,32,2,2) at 8: ultralytics-thop counts the input volume 16·8·8 × (32/16)·2·2 = 8192
  const t = run(build(conv.DWConvTranspose2d, [16, 32, 2, 2]), x(16, 8));
  assert.equal(t.thop, 0);
  assert.equal(t.ultralyticsThop, 8192);
  // ConvTranspose(16,32) at 8: thop 0.1.1 counts the output volume 32·16·16 × 16·4 = 524,288 + BN 4 × 8192
  assert.equal(run(build(conv.ConvTranspose, [16, 32]), x(16, 8)).thop, 524288 + 32768);
});

test('CBFuse picks piece idx[i] of each CBLinear output, resizes it to the last input and sums', () => {
  const m = build(block.CBFuse, [[0, 2]]);
  assert.equal(params(m), 0);
  const a: Shape[] = [x(32, 16), x(8, 16)];
  const b: Shape[] = [x(4, 8), x(2, 8), x(32, 8)];
  assert.deepEqual(run(m, [a, b, x(32, 32)]).out, x(32, 32));
  assert.throws(() => run(m, [a, [x(4, 8), x(2, 8), x(16, 8)], x(32, 32)]), /stack expects each tensor to be equal size/);
  assert.throws(() => run(build(block.CBFuse, [[0, 5]]), [a, b, x(32, 32)]), /IndexError/);
});

test('CBLinear and CBFuse through parse_model: the split outputs reach CBFuse, a Concat of them fails', () => {
  const yaml = (fuse: string) => `nc: 80
scales:
  n: [1.0, 1.0, 1024]
backbone:
  - [-1, 1, Conv, [16, 3, 2]]
  - [-1, 1, Conv, [32, 3, 2]]
  - [1, 1, CBLinear, [[8, 16]]]
  - [0, 1, Conv, [16, 3, 1]]
  - [[2, -1], 1, ${fuse}]
head: []
`;
  const m = resolve(yaml('CBFuse, [[1]]'), { framework: 'ultralytics', imgsz: 64, ch: 3, fileName: 'cb.yaml' });
  assert.deepEqual(
    m.diagnostics.filter((d) => d.severity === 'error'),
    [],
  );
  // CBLinear(32,[8,16]): Conv2d(32,24,1) with bias = 768 + 24
  assert.equal(m.layers[2]!.params, 792);
  assert.deepEqual(m.layers[2]!.outShapes, [x(8, 16), x(16, 16)]);
  // piece 1 (16 channels, 16×16) resized to layer 3's 16×32×32 and added
  assert.deepEqual(m.layers[4]!.outShape, x(16, 32));
  // parse_model's sum(ch[x] for x in f) adds a list: TypeError
  const bad = resolve(yaml('Concat, [1]'), { framework: 'ultralytics', imgsz: 64, ch: 3, fileName: 'cb.yaml' });
  assert.ok(
    bad.diagnostics.some((d) => d.severity === 'error' && d.layer === 4),
    'Concat of a CBLinear output fails',
  );
  // a one-input module gets the list as c1
  const conv = resolve(yaml('CBFuse, [[1]]').replace('[0, 1, Conv, [16, 3, 1]]', '[2, 1, Conv, [16, 3, 1]]'), {
    framework: 'ultralytics',
    imgsz: 64,
    ch: 3,
    fileName: 'cb.yaml',
  });
  assert.ok(
    conv.diagnostics.some((d) => d.severity === 'error' && d.layer === 3),
    'Conv of a CBLinear output fails',
  );
});

test('shared activation instances: HGBlock/LightConv defaults and the RepConv/ConvTranspose class defaults', () => {
  const acts = (m: Mod) => {
    const seen = new Set<Mod>();
    forEachModule(m, (mm) => {
      if (mm.type === 'ReLU' || mm.type === 'SiLU') seen.add(mm);
    });
    return seen;
  };
  // HGBlock(act=nn.ReLU()) default: every conv of every HGBlock shares the one instance created with the class
  const h1 = acts(build(block.HGBlock, [16, 16, 32, 3, 2, true]));
  const h2 = acts(build(block.HGBlock, [32, 16, 32, 3, 2]));
  assert.equal(h1.size, 1);
  assert.deepEqual([...h1], [...h2]);
  assert.ok([...h1][0]!.shared);
  // HGStem makes a fresh nn.ReLU() per conv
  assert.equal(acts(build(block.HGStem, [3, 16, 32])).size, 5);
  // RepConv.default_act is its own class attribute: not Conv.default_act
  const r = acts(build(conv.RepConv, [16, 16]));
  assert.equal(r.size, 1);
  assert.notEqual([...r][0], SILU);
  assert.equal([...r][0], [...acts(build(conv.RepConv, [8, 8]))][0]);
});

test('a YAML `activation:` rebinds Conv.default_act only: RepConv keeps SiLU', () => {
  const yaml = `nc: 80
activation: nn.ReLU()
scales:
  n: [1.0, 1.0, 1024]
backbone:
  - [-1, 1, Conv, [16, 3, 2]]
  - [-1, 1, RepConv, [16, 16]]
head: []
`;
  const m = resolve(yaml, { framework: 'ultralytics', imgsz: 64, ch: 3, fileName: 'act.yaml' });
  const types = (mod: Mod) => {
    const out: string[] = [];
    forEachModule(mod, (mm) => void (mm.leaf?.op === 'act' && out.push(mm.type)));
    return out;
  };
  assert.deepEqual(types(m.layers[0]!.mod!), ['ReLU']);
  assert.deepEqual(types(m.layers[1]!.mod!), ['SiLU']);
});

test('the namespace parse_model reaches is what tasks.py imports (L12-63)', () => {
  // imported by tasks.py, so a YAML can name them
  for (const n of [
    'Conv2',
    'RepConv',
    'RepVGGDW',
    'GSConvE2',
    'GSBottleneck',
    'GSBottleneckC',
    'ConvTranspose',
    'DWConvTranspose2d',
    'HGStem',
    'HGBlock',
    'ResNetLayer',
    'SCDown',
    'PSA',
    'C2fPSA',
    'ELAN1',
    'CBLinear',
    'CBFuse',
  ])
    assert.ok(ULTRALYTICS_8_3.modules.has(n), `${n} resolves`);
  // defined in conv.py / block.py but not imported by tasks.py: KeyError
  for (const n of [
    'LightConv',
    'ChannelAttention',
    'SpatialAttention',
    'CBAM',
    'DFL',
    'C3f',
    'C3k',
    'CIB',
    'RepBottleneck',
    'RepCSP',
    'ResNetBlock',
    'Attention',
    'PSABlock',
  ])
    assert.ok(!ULTRALYTICS_8_3.modules.has(n), `${n} does not resolve`);
  // branch of the big if-chain: c1 prepended and width-scaled c2 (+ repeats), or verbatim args
  assert.equal(ULTRALYTICS_8_3.modules.get('GSConvE2')!.treat, 'channels');
  assert.equal(ULTRALYTICS_8_3.modules.get('VoVGSCSPC')!.treat, 'repeats');
  assert.equal(ULTRALYTICS_8_3.modules.get('RepNCSPELAN4')!.treat, 'channels');
  assert.equal(ULTRALYTICS_8_3.modules.get('Conv2')!.treat, 'plain');
  assert.equal(ULTRALYTICS_8_3.modules.get('RepVGGDW')!.treat, 'plain');
});

test('every module of conv.py and block.py has a signature, a doc per argument and a source', () => {
  for (const d of [...conv.ULTRALYTICS_CONV_MODULES, ...slimneck.ULTRALYTICS_SLIMNECK_MODULES, ...block.ULTRALYTICS_BLOCK_MODULES]) {
    assert.ok(d.doc.length > 10, d.name);
    assert.match(d.source, /^ultralytics\/nn\/modules\/(conv|block)\.py:/);
    for (const p of d.signature) assert.ok(p.doc.length > 2, `${d.name}.${p.name}`);
  }
});
