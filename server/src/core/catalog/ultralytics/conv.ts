/**
 * ultralytics/nn/modules/conv.py of the ultralytics package vendored in AlanLi1997/slim-neck-by-gsconv @ 8357ef6
 * (`gsconv-yolov8_9_10_11/ultralytics`, version 8.3.x). ultralytics 8.4.33's conv.py defines the same classes the
 * same way (plus `Index`, in conv-8.4.ts), so both versions use these definitions. The Slim-neck modules that file
 * adds (GSConv, VoVGSCSP...) are in slimneck.ts.
 * Fused forms (`b.fused`) follow `BaseModel.fuse()` (nn/tasks.py:193-221).
 */
import { autopad, ModuleInstance } from '../../nn/builder.ts';
import { activationFrom } from '../activation.ts';
import { buildError, inputOne, ShapeError } from '../../nn/module.ts';
import { gcd, isSeq, pyEq, pyRepr } from '../../py.ts';
import { yolov5Kit } from '../yolov5.ts';
import { construct, type ModuleDef, param } from '../types.ts';
import { actp, c1p, c2p, dp, fusedConv, kp, pp, sharedInstance, sp } from './common.ts';

const SRC = 'ultralytics/nn/modules/conv.py';
// Conv, DWConv and Concat are the same Python as YOLOv5 HEAD's (Conv.default_act shared, autopad with dilation).
const v5 = yolov5Kit('upstream');

export const Conv: ModuleDef = { ...v5.Conv, source: `${SRC}:Conv` };
export const DWConv: ModuleDef = { ...v5.DWConv, source: `${SRC}:DWConv` };
export const Concat: ModuleDef = { ...v5.Concat, source: `${SRC}:Concat` };

const gp = param('g', 'int', 'groups', 1);

/** `ConvTranspose.default_act` and `RepConv.default_act`: class attributes of their own, not Conv's (so the
 * YAML `activation:` key, which rebinds only `Conv.default_act`, leaves them SiLU). */
const CONV_TRANSPOSE_DEFAULT_ACT = sharedInstance((b) => b.act('SiLU'));
const REPCONV_DEFAULT_ACT = sharedInstance((b) => b.act('SiLU'));

export const Conv2: ModuleDef = {
  name: 'Conv2',
  category: 'conv',
  doc: 'Simplified RepConv: a k\u00d7k conv plus a parallel 1\u00d71 conv, summed before BatchNorm and the activation.',
  source: `${SRC}:Conv2`,
  signature: [c1p, c2p, kp(3), sp(), pp, gp, dp, actp],
  build: (b, a) => {
    const c1 = a.channels('c1');
    const c2 = a.channels('c2');
    const d = a.int('d');
    const kRaw = a.raw('k');
    const k = a.pair('k');
    const conv = b.conv2d(
      c1,
      c2,
      k,
      { s: a.convPair('s'), p: autopad(isSeq(kRaw) ? k : k[0], a.raw('p'), d), g: a.convInt('g'), d, bias: b.fused },
      'k',
    );
    const act = activationFrom(b, a.raw('act'), () => b.env.convDefaultAct ?? b.act('SiLU'));
    if (b.fused) {
      // fuse(): fuse_convs() folds cv2 into conv and deletes it, then the BatchNorm is folded and deleted too;
      // but Conv2.forward_fuse still calls self.bn, so the fused model cannot run (its summary has no GFLOPs).
      return b.mod('Conv2', { conv: fusedConv(b, conv), act }, () => {
        throw new ShapeError(
          "'Conv2' object has no attribute 'bn' (the fused Conv2.forward_fuse still calls the BatchNorm fuse() deleted)",
        );
      });
    }
    const bn = b.bn(c2);
    const cv2 = b.conv2d(c1, c2, 1, { s: a.pair('s'), p: autopad(1, a.raw('p'), d), g: a.int('g'), d, bias: false }, 'c2');
    return b.mod('Conv2', { conv, bn, act, cv2 }, (fl, x) => fl.call(act, fl.call(bn, fl.add(fl.call(conv, x), fl.call(cv2, x)))));
  },
};

/** `LightConv`'s default `act=nn.ReLU()`: one instance shared by every LightConv that takes the default. */
const LIGHTCONV_DEFAULT_ACT = new ModuleInstance(
  sharedInstance((b) => b.act('ReLU')),
  'ReLU',
  'ReLU()',
);

export const LightConv: ModuleDef = {
  name: 'LightConv',
  category: 'conv',
  doc: 'Light convolution (PP-HGNetV2): a 1\u00d71 Conv without activation, then a depth-wise k\u00d7k DWConv.',
  source: `${SRC}:LightConv`,
  signature: [
    c1p,
    param('c2', 'channels', 'output channels'),
    kp(1),
    param('act', 'act', 'activation of the depth-wise conv', LIGHTCONV_DEFAULT_ACT, 'nn.ReLU()'),
  ],
  build: (b, a) => {
    const conv1 = construct(b, Conv, [a.raw('c1'), a.raw('c2'), 1], { act: false });
    const conv2 = construct(b, DWConv, [a.raw('c2'), a.raw('c2'), a.raw('k')], { act: a.raw('act') });
    return b.mod('LightConv', { conv1, conv2 }, (fl, x) => fl.call(conv2, fl.call(conv1, x)));
  },
};

export const DWConvTranspose2d: ModuleDef = {
  name: 'DWConvTranspose2d',
  category: 'upsample',
  doc: 'Depth-wise transposed convolution: nn.ConvTranspose2d with groups = gcd(c1, c2) and a bias.',
  source: `${SRC}:DWConvTranspose2d`,
  signature: [c1p, c2p, kp(1), sp(1), param('p1', 'kernel', 'padding', 0), param('p2', 'kernel', 'output padding', 0)],
  build: (b, a) => {
    const c1 = a.channels('c1');
    const c2 = a.channels('c2');
    const m = b.convTranspose2d(
      c1,
      c2,
      a.pair('k'),
      { s: a.pair('s'), p: a.pair('p1'), outputPadding: a.pair('p2'), g: gcd(c1, c2), bias: true },
      'k',
    );
    // a subclass of nn.ConvTranspose2d: thop 0.1.1 matches exact types only, so it counts 0 FLOPs
    return { ...m, type: 'DWConvTranspose2d' };
  },
};

export const ConvTranspose: ModuleDef = {
  name: 'ConvTranspose',
  category: 'upsample',
  doc: 'nn.ConvTranspose2d + BatchNorm2d + SiLU (ConvTranspose.default_act, not Conv\u2019s).',
  source: `${SRC}:ConvTranspose`,
  signature: [
    c1p,
    c2p,
    kp(2),
    sp(2),
    param('p', 'kernel', 'padding', 0),
    param('bn', 'bool', 'BatchNorm after the conv (else a bias)', true),
    actp,
  ],
  build: (b, a) => {
    const c1 = a.channels('c1');
    const c2 = a.channels('c2');
    const withBn = a.bool('bn');
    const act = activationFrom(b, a.raw('act'), () => CONV_TRANSPOSE_DEFAULT_ACT);
    const opts = { s: a.pair('s'), p: a.pair('p') };
    if (b.fused) {
      // fuse() folds `bn` whenever the attribute exists; with bn=False it is an nn.Identity, which has no weight
      if (!withBn)
        throw buildError(
          "'Identity' object has no attribute 'weight' (model.fuse() tries to fold ConvTranspose's bn=False Identity)",
          'bn',
        );
      const conv_transpose = fusedConv(b, b.convTranspose2d(c1, c2, a.pair('k'), { ...opts, bias: true }, 'k'));
      return b.mod('ConvTranspose', { conv_transpose, act }, (fl, x) => fl.call(act, fl.call(conv_transpose, x)));
    }
    const conv_transpose = b.convTranspose2d(c1, c2, a.pair('k'), { ...opts, bias: !withBn }, 'k');
    const bn = withBn ? b.bn(c2) : b.identity();
    return b.mod('ConvTranspose', { conv_transpose, bn, act }, (fl, x) => fl.call(act, fl.call(bn, fl.call(conv_transpose, x))));
  },
};

export const Focus: ModuleDef = {
  name: 'Focus',
  category: 'conv',
  doc: 'Space-to-depth: the four pixel phases concatenated on channels (4\u00b7c1), then a Conv.',
  source: `${SRC}:Focus`,
  signature: [c1p, c2p, kp(1), sp(1), pp, gp, actp],
  build: (b, a) => {
    const c1 = a.channels('c1');
    const conv = construct(b, Conv, [c1 * 4, a.raw('c2'), a.raw('k'), a.raw('s'), a.raw('p'), a.raw('g')], { act: a.raw('act') });
    return b.mod('Focus', { conv }, (fl, xin) => {
      const x = inputOne(xin, 'Focus');
      const r = fl.shape(x).length;
      if (r < 2) throw new ShapeError(`too many indices for tensor of dimension ${r}`);
      const [h, w] = fl.shape(x).slice(-2) as [number, number];
      const phase = (i: number, j: number) => fl.slice(fl.slice(x, -2, i, h, 2), -1, j, w, 2);
      return fl.call(conv, fl.cat([phase(0, 0), phase(1, 0), phase(0, 1), phase(1, 1)], 1));
    });
  },
};

export const GhostConv: ModuleDef = {
  name: 'GhostConv',
  category: 'conv',
  doc: 'Ghost convolution: a Conv to c2/2 channels and a cheap 5\u00d75 depth-wise Conv of it, concatenated.',
  source: `${SRC}:GhostConv`,
  signature: [c1p, c2p, kp(1), sp(1), gp, actp],
  build: (b, a) => {
    const c_ = Math.floor(a.channels('c2') / 2);
    const cv1 = construct(b, Conv, [a.raw('c1'), c_, a.raw('k'), a.raw('s'), null, a.raw('g')], { act: a.raw('act') });
    const cv2 = construct(b, Conv, [c_, c_, 5, 1, null, c_], { act: a.raw('act') });
    return b.mod('GhostConv', { cv1, cv2 }, (fl, x) => {
      const y = fl.call(cv1, x);
      return fl.cat([y, fl.call(cv2, y)], 1);
    });
  },
};

export const RepConv: ModuleDef = {
  name: 'RepConv',
  category: 'conv',
  doc:
    'RepVGG block: a 3\u00d73 and a 1\u00d71 Conv (no activation) summed, plus an identity BatchNorm when bn; fuses into one ' +
    '3\u00d73 conv.',
  source: `${SRC}:RepConv`,
  signature: [
    c1p,
    param('c2', 'channels', 'output channels'),
    param('k', 'kernel', 'kernel size (must be 3)', 3),
    sp(1),
    param('p', 'kernel', 'padding (must be 1)', 1),
    gp,
    param('d', 'int', 'dilation (unused)', 1),
    param('act', 'act', 'True: RepConv.default_act (SiLU), an nn.Module: that one, else none', true),
    param('bn', 'bool', 'identity branch (a BatchNorm) when c1 == c2 and s == 1', false),
    param('deploy', 'bool', 'unused', false),
  ],
  build: (b, a) => {
    const k = a.raw('k');
    const p = a.raw('p');
    if (!(pyEq(k, 3) && pyEq(p, 1)))
      throw buildError(`AssertionError: RepConv asserts k == 3 and p == 1 (got k=${pyRepr(k)}, p=${pyRepr(p)})`, pyEq(k, 3) ? 'p' : 'k');
    const c1 = a.channels('c1');
    const c2 = a.channels('c2');
    const s = a.raw('s');
    const g = a.raw('g');
    const act = activationFrom(b, a.raw('act'), () => REPCONV_DEFAULT_ACT);
    const withBn = a.bool('bn') && c2 === c1 && pyEq(s, 1);
    if (b.fused) {
      // fuse_convs(): one Conv2d with conv1's geometry and a bias, requires_grad_(False) (8.3 and 8.4); conv1, conv2
      // and bn deleted
      const conv = b.frozen(b.conv2d(c1, c2, 3, { s: a.pair('s'), p: 1, g: a.int('g'), bias: true }, 'c2'));
      return b.mod('RepConv', { act, conv }, (fl, x) => fl.call(act, fl.call(conv, x)));
    }
    const bn = withBn ? b.bn(c1) : null;
    const conv1 = construct(b, Conv, [c1, c2, 3, s], { p: 1, g, act: false });
    // p - k // 2 = 0 once the assert has passed
    const conv2 = construct(b, Conv, [c1, c2, 1, s], { p: 0, g, act: false });
    return b.mod('RepConv', { act, bn, conv1, conv2 }, (fl, x) => {
      const y = fl.add(fl.call(conv1, x), fl.call(conv2, x));
      return fl.call(act, bn ? fl.add(y, fl.call(bn, x)) : y);
    });
  },
};

export const ChannelAttention: ModuleDef = {
  name: 'ChannelAttention',
  category: 'attention',
  doc: 'Channel attention (RTMDet): x \u00b7 sigmoid(1\u00d71 conv of the global average).',
  source: `${SRC}:ChannelAttention`,
  signature: [param('channels', 'channels', 'channels in and out')],
  build: (b, a) => {
    const c = a.channels('channels');
    const pool = b.adaptiveAvgPool2d(1);
    const fc = b.conv2d(c, c, 1, { bias: true }, 'channels');
    const act = b.act('Sigmoid');
    return b.mod('ChannelAttention', { pool, fc, act }, (fl, xin) => {
      const x = inputOne(xin, 'ChannelAttention');
      return fl.mul(x, fl.call(act, fl.call(fc, fl.call(pool, x))));
    });
  },
};

export const SpatialAttention: ModuleDef = {
  name: 'SpatialAttention',
  category: 'attention',
  doc: 'Spatial attention: x \u00b7 sigmoid(conv of the channel mean and max).',
  source: `${SRC}:SpatialAttention`,
  signature: [param('kernel_size', 'int', 'kernel of the attention conv (3 or 7)', 7)],
  build: (b, a) => {
    const raw = a.raw('kernel_size');
    if (!(pyEq(raw, 3) || pyEq(raw, 7))) throw buildError(`AssertionError: kernel size must be 3 or 7 (got ${pyRepr(raw)})`, 'kernel_size');
    const k = a.int('kernel_size');
    const cv1 = b.conv2d(2, 1, k, { p: k === 7 ? 3 : 1, bias: false }, 'kernel_size');
    const act = b.act('Sigmoid');
    return b.mod('SpatialAttention', { cv1, act }, (fl, xin) => {
      const x = inputOne(xin, 'SpatialAttention');
      return fl.mul(x, fl.call(act, fl.call(cv1, fl.cat([fl.mean(x, [1], true), fl.maxDim(x, 1, true)], 1))));
    });
  },
};

export const CBAM: ModuleDef = {
  name: 'CBAM',
  category: 'attention',
  doc: 'Convolutional Block Attention Module: channel attention, then spatial attention.',
  source: `${SRC}:CBAM`,
  signature: [c1p, param('kernel_size', 'int', 'kernel of the spatial attention (3 or 7)', 7)],
  build: (b, a) => {
    const channel_attention = construct(b, ChannelAttention, [a.raw('c1')]);
    const spatial_attention = construct(b, SpatialAttention, [a.raw('kernel_size')]);
    return b.mod('CBAM', { channel_attention, spatial_attention }, (fl, x) => fl.call(spatial_attention, fl.call(channel_attention, x)));
  },
};

export const ULTRALYTICS_CONV_MODULES: readonly ModuleDef[] = [
  Conv,
  Conv2,
  LightConv,
  DWConv,
  DWConvTranspose2d,
  ConvTranspose,
  Focus,
  GhostConv,
  ChannelAttention,
  SpatialAttention,
  CBAM,
  Concat,
  RepConv,
];
