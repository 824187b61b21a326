/**
 * The Scaled-YOLOv4 tree of the Slim-neck repository (AlanLi1997/slim-neck-by-gsconv @ 8357ef6,
 * `gsconv-scaled-yolov4/models/{common,experimental,yolo}.py`): its Conv (Conv2d + BatchNorm2d +
 * MemoryEfficientMish, no dilation), the CSP family of Scaled-YOLOv4, its own takes on the GS modules, HarDBlocks
 * and the anchor-based Detect. Modules whose Python it shares with YOLOv5 come from the factories in `yolov5.ts`.
 */
import type { Builder } from '../nn/builder.ts';
import { autopad } from '../nn/builder.ts';
import { buildError, type Flow, type In, inputOne, type Mod, ShapeError } from '../nn/module.ts';
import { gcd, PyTuple, type PyVal, isSeq, num, isNumeric, pyRepr } from '../py.ts';
import { construct, f, type ModuleDef, param } from './types.ts';
import {
  bottleneckCspDef,
  bottleneckDef,
  c1p,
  c2p,
  checkBlocks,
  classifyOld,
  concatDef,
  crossConvDef,
  detectDef,
  focusDef,
  mixConvChannels,
  range,
  sppDef,
} from './yolov5.ts';
import { gsConvDef, gsConvnsDef } from './gsconv-yolov5.ts';

const DIR = 'gsconv-scaled-yolov4/models';
const src = (cls: string, file = 'common.py') => `${DIR}/${file}:${cls}`;

/** `from utils.activations import MemoryEfficientMish as Mish`: Mish with a hand-written backward. */
const mish = (b: Builder): Mod => ({ ...b.act('Mish'), type: 'MemoryEfficientMish' });

const gP = param('g', 'int', 'groups', 1);
const eP = param('e', 'float', 'hidden channels = int(c2 * e)', f(0.5));
const nP = (doc: string) => param('n', 'int', doc, 1);

/**
 * Conv2d (no bias) + BatchNorm2d + MemoryEfficientMish. Its fused form fails for grouped convs: the tree's
 * `fuse_conv_and_bn` (utils/torch_utils.py) rebuilds the conv without `groups`, so copying the folded weights into
 * it raises; `model.fuse()` then stops and no fused figures exist.
 */
const Conv: ModuleDef = {
  name: 'Conv',
  category: 'conv',
  doc: 'Conv2d (no bias) + BatchNorm2d + Mish (Scaled-YOLOv4\u2019s Conv; no dilation argument).',
  source: src('Conv'),
  signature: [
    c1p,
    c2p,
    param('k', 'kernel', 'kernel size', 1),
    param('s', 'kernel', 'stride', 1),
    param('p', 'kernel', "padding (None: 'same' for odd kernels)", null),
    gP,
    param('act', 'act', 'truthy: Mish, else none', true),
  ],
  build: (b, a) => {
    const c1 = a.channels('c1');
    const c2 = a.channels('c2');
    const k = a.pair('k');
    const g = a.convInt('g');
    const p = autopad(isSeq(a.raw('k')) ? k : k[0], a.raw('p'));
    const conv = b.conv2d(c1, c2, k, { s: a.convPair('s'), p, g, bias: b.fused }, 'k');
    if (b.fused && g !== 1)
      throw buildError(
        // exactly what upstream raises (the record's fused_error): the folded weight has c2·(c1/g)·k² values, the new
        // Conv2d (no groups) wants c2·c1·k²
        `RuntimeError: shape '[${c2}, ${c1}, ${k[0]}, ${k[1]}]' is invalid for input of size ${c2 * Math.trunc(c1 / g) * k[0] * k[1]}`,
        'g',
      );
    const act = a.bool('act') ? mish(b) : b.identity();
    if (b.fused) return b.mod('Conv', { conv, act }, (fl, x) => fl.call(act, fl.call(conv, x)));
    const bn = b.bn(c2);
    return b.mod('Conv', { conv, bn, act }, (fl, x) => fl.call(act, fl.call(bn, fl.call(conv, x))));
  },
};

/** `def DWConv(...)`: a function returning a Conv with groups = gcd(c1, c2) (so the module is a plain Conv). */
const DWConv: ModuleDef = {
  name: 'DWConv',
  category: 'conv',
  doc: 'Depth-wise Conv: a Conv with groups = gcd(c1, c2) (a function in this tree, so the module is a Conv).',
  source: src('DWConv'),
  signature: [
    c1p,
    c2p,
    param('k', 'kernel', 'kernel size', 1),
    param('s', 'kernel', 'stride', 1),
    param('act', 'act', 'activation flag', true),
  ],
  build: (b, a) =>
    construct(b, Conv, [a.raw('c1'), a.raw('c2'), a.raw('k'), a.raw('s')], {
      g: gcd(a.channels('c1'), a.channels('c2')),
      act: a.raw('act'),
    }),
};

const Bottleneck = bottleneckDef(Conv, src('Bottleneck'));
const BottleneckCSP = bottleneckCspDef(Conv, Bottleneck, src('BottleneckCSP'), mish, 'Mish');

const BottleneckCSP2: ModuleDef = {
  name: 'BottleneckCSP2',
  category: 'csp',
  doc:
    'CSP bottleneck of the Scaled-YOLOv4 neck: a Conv to c2, then n Bottlenecks (no shortcut by default) beside a plain 1x1 conv, ' +
    'BatchNorm + Mish, Conv.',
  source: src('BottleneckCSP2'),
  signature: [
    c1p,
    c2p,
    nP('number of Bottlenecks (parse_model inserts the scaled repeats)'),
    param('shortcut', 'bool', 'residual adds in the Bottlenecks', false),
    gP,
    param('e', 'float', 'unused (hidden channels = c2)', f(0.5)),
  ],
  build: (b, a) => {
    const c1 = a.channels('c1');
    const c2 = a.channels('c2');
    const c_ = c2; // int(c2)
    const cv1 = construct(b, Conv, [c1, c_, 1, 1]);
    const cv2 = b.conv2d(c_, c_, 1, { bias: false });
    const cv3 = construct(b, Conv, [2 * c_, c2, 1, 1]);
    const bn = b.bn(2 * c_);
    const act = mish(b);
    const m = b.seq(range(a.int('n')).map(() => construct(b, Bottleneck, [c_, c_, a.raw('shortcut'), a.raw('g')], { e: f(1.0) })));
    return b.mod('BottleneckCSP2', { cv1, cv2, cv3, bn, act, m }, (fl, x) => {
      const x1 = fl.call(cv1, x);
      const y1 = fl.call(m, x1);
      const y2 = fl.call(cv2, x1);
      return fl.call(cv3, fl.call(act, fl.call(bn, fl.cat([y1, y2], 1))));
    });
  },
};

const VoVCSP: ModuleDef = {
  name: 'VoVCSP',
  category: 'csp',
  doc: 'VoV-CSP: the second half of the channels through two 3x3 Convs, both outputs concatenated, a 1x1 Conv (n, shortcut, g, e unused).',
  source: src('VoVCSP'),
  signature: [
    c1p,
    c2p,
    nP('unused'),
    param('shortcut', 'bool', 'unused', true),
    param('g', 'int', 'unused', 1),
    param('e', 'float', 'unused', f(0.5)),
  ],
  build: (b, a) => {
    const c1 = a.channels('c1');
    const c2 = a.channels('c2');
    const c_ = c2;
    const cv1 = construct(b, Conv, [Math.floor(c1 / 2), Math.floor(c_ / 2), 3, 1]);
    const cv2 = construct(b, Conv, [Math.floor(c_ / 2), Math.floor(c_ / 2), 3, 1]);
    const cv3 = construct(b, Conv, [c_, c2, 1, 1]);
    return b.mod('VoVCSP', { cv1, cv2, cv3 }, (fl, xin) => {
      // `_, x1 = x.chunk(2, dim=1)`
      const halves = fl.chunk(inputOne(xin, 'VoVCSP'), 2, 1);
      if (halves.length !== 2)
        throw new ShapeError(
          `ValueError: not enough values to unpack (expected 2, got ${halves.length}): VoVCSP chunks its input into two halves`,
        );
      const x1 = fl.call(cv1, halves[1]!);
      const x2 = fl.call(cv2, x1);
      return fl.call(cv3, fl.cat([x1, x2], 1));
    });
  },
};

const SPP = sppDef(Conv, src('SPP'));

const SPPCSP: ModuleDef = {
  name: 'SPPCSP',
  category: 'pooling',
  doc: 'CSP spatial pyramid pooling: Convs around parallel max-pools on one branch, a plain 1x1 conv on the other, BatchNorm + Mish, Conv.',
  source: src('SPPCSP'),
  signature: [
    c1p,
    c2p,
    nP('unused (parse_model inserts the scaled repeats)'),
    param('shortcut', 'bool', 'unused', false),
    gP,
    eP,
    param('k', 'list', 'pool kernel sizes (a tuple)', new PyTuple([5, 9, 13])),
  ],
  build: (b, a) => {
    const c1 = a.channels('c1');
    const c2 = a.channels('c2');
    const c_ = Math.trunc(2 * c2 * a.float('e'));
    const ks = a.intList('k');
    const cv1 = construct(b, Conv, [c1, c_, 1, 1]);
    const cv2 = b.conv2d(c1, c_, 1, { bias: false });
    const cv3 = construct(b, Conv, [c_, c_, 3, 1]);
    const cv4 = construct(b, Conv, [c_, c_, 1, 1]);
    const pools = ks.map((k) => b.maxPool2d(k, 1, Math.floor(k / 2), 1, false, 'k'));
    const m = b.list(pools);
    // 4 * c_ whatever len(k) is: another pool count fails at the forward
    const cv5 = construct(b, Conv, [4 * c_, c_, 1, 1]);
    const cv6 = construct(b, Conv, [c_, c_, 3, 1]);
    const bn = b.bn(2 * c_);
    const act = mish(b);
    const cv7 = construct(b, Conv, [2 * c_, c2, 1, 1]);
    return b.mod('SPPCSP', { cv1, cv2, cv3, cv4, m, cv5, cv6, bn, act, cv7 }, (fl, x) => {
      const x1 = fl.call(cv4, fl.call(cv3, fl.call(cv1, x)));
      const y1 = fl.call(cv6, fl.call(cv5, fl.cat([x1, ...pools.map((p) => fl.call(p, x1))], 1)));
      const y2 = fl.call(cv2, x);
      return fl.call(cv7, fl.call(act, fl.call(bn, fl.cat([y1, y2], 1))));
    });
  },
};

const MP: ModuleDef = {
  name: 'MP',
  category: 'pooling',
  doc: 'Max pooling with a k x k window and stride k.',
  source: src('MP'),
  signature: [param('k', 'int', 'window and stride', 2)],
  build: (b, a) => {
    const k = a.int('k');
    const m = b.maxPool2d(k, k, 0, 1, false, 'k');
    return b.mod('MP', { m }, (fl, x) => fl.call(m, x));
  },
};

const Focus = focusDef(Conv, src('Focus'), false);
const Concat = concatDef(src('Concat'));

/** This tree's own Flatten (no arguments): `x.view(x.size(0), -1)`. */
const flattenMod = (b: Builder): Mod =>
  b.mod('Flatten', {}, (fl, xin) => {
    const x = inputOne(xin, 'Flatten');
    return fl.view(x, [fl.shape(x)[0]!, -1]);
  });

const Flatten: ModuleDef = {
  name: 'Flatten',
  category: 'misc',
  doc: 'Flattens everything but the batch dimension (this tree\u2019s own class: no arguments).',
  source: src('Flatten'),
  signature: [],
  build: (b) => flattenMod(b),
};

const Classify: ModuleDef = {
  name: 'Classify',
  category: 'head',
  doc: 'Classification head: global average pool (of each input, concatenated), a 1x1 Conv2d without bias to c2, flatten.',
  source: src('Classify'),
  signature: [
    c1p,
    param('c2', 'channels', 'number of classes'),
    param('k', 'kernel', 'kernel size', 1),
    param('s', 'kernel', 'stride', 1),
    param('p', 'kernel', 'padding', null),
    gP,
  ],
  build: (b, a) => classifyOld(b, a, false, flattenMod),
};

/** ConvSig / ConvSqu: a conv without BatchNorm, then Sigmoid (ConvSig) or Mish (ConvSqu). */
const convNoBn = (name: 'ConvSig' | 'ConvSqu'): ModuleDef => ({
  name,
  category: 'conv',
  doc: `Conv2d (no bias, no BatchNorm) + ${name === 'ConvSig' ? 'Sigmoid' : 'Mish'}.`,
  source: src(name),
  signature: [
    c1p,
    c2p,
    param('k', 'kernel', 'kernel size', 1),
    param('s', 'kernel', 'stride', 1),
    param('p', 'kernel', "padding (None: 'same')", null),
    gP,
    param('act', 'act', 'activation flag', true),
  ],
  build: (b, a) => {
    const k = a.pair('k');
    const conv = b.conv2d(
      a.channels('c1'),
      a.channels('c2'),
      k,
      { s: a.convPair('s'), p: autopad(isSeq(a.raw('k')) ? k : k[0], a.raw('p')), g: a.convInt('g'), bias: false },
      'k',
    );
    const act = a.bool('act') ? (name === 'ConvSig' ? b.act('Sigmoid') : mish(b)) : b.identity();
    return b.mod(name, { conv, act }, (fl, x) => fl.call(act, fl.call(conv, x)));
  },
});

const MishDef: ModuleDef = {
  name: 'Mish',
  category: 'activation',
  doc: 'Mish activation as a layer (this tree imports MemoryEfficientMish under that name).',
  source: 'gsconv-scaled-yolov4/utils/activations.py:MemoryEfficientMish',
  signature: [],
  build: (b) => mish(b),
};

// ---- experimental.py (only MixConv2d, CrossConv and C3 are imported into yolo.py) ---------------------------

const CrossConv = crossConvDef(Conv, src('CrossConv', 'experimental.py'));

const C3: ModuleDef = {
  name: 'C3',
  category: 'csp',
  doc:
    'Cross-convolution CSP (this tree\u2019s C3, not YOLOv5\u2019s): n CrossConvs on one half, a plain conv on the other, BatchNorm ' +
    '+ LeakyReLU(0.1).',
  source: src('C3', 'experimental.py'),
  signature: [
    c1p,
    c2p,
    nP('number of CrossConvs (parse_model inserts the scaled repeats)'),
    param('shortcut', 'bool', 'residual adds in the CrossConvs', true),
    gP,
    eP,
  ],
  build: (b, a) => {
    const c1 = a.channels('c1');
    const c2 = a.channels('c2');
    const c_ = Math.trunc(c2 * a.float('e'));
    const cv1 = construct(b, Conv, [c1, c_, 1, 1]);
    const cv2 = b.conv2d(c1, c_, 1, { bias: false });
    const cv3 = b.conv2d(c_, c_, 1, { bias: false });
    const cv4 = construct(b, Conv, [2 * c_, c2, 1, 1]);
    const bn = b.bn(2 * c_);
    const act = b.act('LeakyReLU', { slope: 0.1 });
    const m = b.seq(range(a.int('n')).map(() => construct(b, CrossConv, [c_, c_, 3, 1, a.raw('g'), f(1.0), a.raw('shortcut')])));
    return b.mod('C3', { cv1, cv2, cv3, cv4, bn, act, m }, (fl, x) => {
      const y1 = fl.call(cv3, fl.call(m, fl.call(cv1, x)));
      const y2 = fl.call(cv2, x);
      return fl.call(cv4, fl.call(act, fl.call(bn, fl.cat([y1, y2], 1))));
    });
  },
};

const MixConv2d: ModuleDef = {
  name: 'MixConv2d',
  category: 'conv',
  doc:
    'Mixed conv (this tree\u2019s version: dense convs, a residual add): x + LeakyReLU(BatchNorm(cat of convs of several kernel ' +
    'sizes)).',
  source: src('MixConv2d', 'experimental.py'),
  signature: [
    c1p,
    c2p,
    param('k', 'list', 'kernel sizes (a tuple)', new PyTuple([1, 3])),
    param('s', 'int', 'stride', 1),
    param('equal_ch', 'bool', 'equal channels per kernel (else equal weights)', true),
  ],
  build: (b, a) => {
    const c1 = a.channels('c1');
    const c2 = a.channels('c2');
    const ks = a.intList('k');
    const split = mixConvChannels(c2, ks, a.bool('equal_ch'));
    const s = a.int('s');
    const convs = ks.map((k, i) => b.conv2d(c1, split[i]!, k, { s, p: Math.floor(k / 2), bias: false }, 'k'));
    const m = b.list(convs);
    const bn = b.bn(c2);
    const act = b.act('LeakyReLU', { slope: 0.1 });
    return b.mod('MixConv2d', { m, bn, act }, (fl, x) =>
      fl.add(
        inputOne(x, 'MixConv2d'),
        fl.call(
          act,
          fl.call(
            bn,
            fl.cat(
              convs.map((cv) => fl.call(cv, x)),
              1,
            ),
          ),
        ),
      ),
    );
  },
};

// ---- the GS modules as this tree writes them ------------------------------------------------------------------

const GSConv = gsConvDef(Conv, src('GSConv'));
const GSConvns = gsConvnsDef(Conv, GSConv, src('GSConvns'));

/** conv_lighting = GSConv(c1, c2 // 2, 1, 1) then GSConv(c2 // 2, c2, 3, 1, act=False): no `e` in this tree */
const lighting = (b: Builder, c1: number, c2: number): Mod =>
  b.seq([construct(b, GSConv, [c1, Math.floor(c2 / 2), 1, 1]), construct(b, GSConv, [Math.floor(c2 / 2), c2, 3, 1], { act: false })]);

const GSBottleneck: ModuleDef = {
  name: 'GSBottleneck',
  category: 'slimneck',
  doc: 'Two GSConvs (1x1 to c2/2, then 3x3 without activation) plus a 1x1 Conv shortcut, added.',
  source: src('GSBottleneck'),
  signature: [c1p, c2p, param('k', 'kernel', 'unused', 3), param('s', 'kernel', 'unused', 1)],
  build: (b, a) => {
    const c1 = a.channels('c1');
    const c2 = a.channels('c2');
    const conv_lighting = lighting(b, c1, c2);
    const shortcut = construct(b, Conv, [c1, c2, 1, 1], { act: false });
    return b.mod('GSBottleneck', { conv_lighting, shortcut }, (fl, x) => fl.add(fl.call(conv_lighting, x), fl.call(shortcut, x)));
  },
};

const GSBottleneckC: ModuleDef = {
  name: 'GSBottleneckC',
  category: 'slimneck',
  doc: 'Cheap GSBottleneck: the shortcut is a 3x3 depth-wise Conv (k and s are unused).',
  source: src('GSBottleneckC'),
  signature: [c1p, c2p, param('k', 'kernel', 'unused (the shortcut is always 3x3, stride 1)', 3), param('s', 'kernel', 'unused', 1)],
  build: (b, a) => {
    const c1 = a.channels('c1');
    const c2 = a.channels('c2');
    const conv_lighting = lighting(b, c1, c2);
    const shortcut = construct(b, DWConv, [c1, c2, 3, 1], { act: false });
    return b.mod('GSBottleneckC', { conv_lighting, shortcut }, (fl, x) => fl.add(fl.call(conv_lighting, x), fl.call(shortcut, x)));
  },
};

/**
 * VoVGSCSP / VoVGSCSPC as this tree writes them: ONE GSBottleneck(c_, c_, 1, 1) whatever n is; the cheap one
 * calls `super().__init__(c1, c2, e)`, which lands its e in the parent's n, so the parent's halves are int(c2 * 0.5)
 * while its own GSBottleneckC uses int(c2 * e).
 */
const vov = (name: 'VoVGSCSP' | 'VoVGSCSPC'): ModuleDef => {
  const cheap = name === 'VoVGSCSPC';
  return {
    name,
    category: 'slimneck',
    doc: cheap
      ? 'Cheap VoV-GSCSP: one GSBottleneckC on half the channels, a 1x1 Conv on the other half (n, shortcut and g are unused).'
      : 'VoV-GSCSP: one GSBottleneck on half the channels, a 1x1 Conv on the other half (n, shortcut and g are unused in this tree).',
    source: src(name),
    signature: [
      c1p,
      c2p,
      nP('unused (one bottleneck is built whatever n is)'),
      param('shortcut', 'bool', 'unused', true),
      param('g', 'int', 'unused', 1),
      param(
        'e',
        'float',
        cheap ? 'hidden channels of the GSBottleneckC = int(c2 * e) (the halves stay int(c2 * 0.5))' : 'hidden channels = int(c2 * e)',
        f(0.5),
      ),
    ],
    build: (b, a) => {
      const c1 = a.channels('c1');
      const c2 = a.channels('c2');
      const e = a.float('e');
      const cHalf = Math.trunc(c2 * (cheap ? 0.5 : e));
      const cv1 = construct(b, Conv, [c1, cHalf, 1, 1]);
      const cv2 = construct(b, Conv, [c1, cHalf, 1, 1]);
      const cG = Math.trunc(c2 * e);
      const gsb = cheap ? construct(b, GSBottleneckC, [cG, cG, 3, 1]) : construct(b, GSBottleneck, [cHalf, cHalf, 1, 1]);
      // `res` is built (and counted in the parameters) but never called
      const res = construct(b, Conv, [cHalf, cHalf, 3, 1], { act: false });
      const cv3 = construct(b, Conv, [2 * cHalf, c2, 1]);
      return b.mod(name, { cv1, cv2, gsb, res, cv3 }, (fl, x) => {
        const x1 = fl.call(gsb, fl.call(cv1, x));
        const y = fl.call(cv2, x);
        return fl.call(cv3, fl.cat([y, x1], 1));
      });
    },
  };
};

// ---- HarDNet blocks ---------------------------------------------------------------------------------------

// The HarDNet layers are nn.Sequential subclasses that name their children with add_module (state_dict keys).

/** ConvLayer: Conv2d(kernel, padding kernel // 2) + BatchNorm2d + ReLU6 (an nn.Sequential subclass). */
function convLayer(b: Builder, cin: number, cout: number, kernel: number, stride = 1, bias = false): Mod {
  return b.seq([b.conv2d(cin, cout, kernel, { s: stride, p: Math.floor(kernel / 2), bias }), b.bn(cout), b.act('ReLU6')], 'ConvLayer', [
    'conv',
    'norm',
    'relu',
  ]);
}

/** DWConvLayer: a 3x3 depth-wise Conv2d on in_channels + BatchNorm2d (out_channels is ignored). */
function dwConvLayer(b: Builder, cin: number, stride = 1, bias = false): Mod {
  return b.seq([b.conv2d(cin, cin, 3, { s: stride, p: 1, g: cin, bias }), b.bn(cin)], 'DWConvLayer', ['dwconv', 'norm']);
}

/** CombConvLayer: ConvLayer(in, out, kernel) then DWConvLayer(out, out, stride). */
function combConvLayer(b: Builder, cin: number, cout: number, kernel = 1, stride = 1): Mod {
  return b.seq([convLayer(b, cin, cout, kernel), dwConvLayer(b, cout, stride)], 'CombConvLayer', ['layer1', 'layer2']);
}

const ConvLayer: ModuleDef = {
  name: 'ConvLayer',
  category: 'conv',
  doc: 'HarDNet ConvLayer: Conv2d + BatchNorm2d + ReLU6.',
  source: src('ConvLayer'),
  signature: [
    param('in_channels', 'channels', 'input channels'),
    param('out_channels', 'channels', 'output channels'),
    param('kernel', 'int', 'kernel size', 3),
    param('stride', 'int', 'stride', 1),
    param('dropout', 'float', 'unused', f(0.1)),
    param('bias', 'bool', 'conv bias', false),
  ],
  build: (b, a) => convLayer(b, a.channels('in_channels'), a.channels('out_channels'), a.int('kernel'), a.int('stride'), a.bool('bias')),
};

const DWConvLayer: ModuleDef = {
  name: 'DWConvLayer',
  category: 'conv',
  doc: 'HarDNet depth-wise layer: a 3x3 depth-wise Conv2d on the input channels + BatchNorm2d (out_channels is ignored).',
  source: src('DWConvLayer'),
  signature: [
    param('in_channels', 'channels', 'input (and output) channels'),
    param('out_channels', 'channels', 'unused'),
    param('stride', 'int', 'stride', 1),
    param('bias', 'bool', 'conv bias', false),
  ],
  build: (b, a) => dwConvLayer(b, a.channels('in_channels'), a.int('stride'), a.bool('bias')),
};

const CombConvLayer: ModuleDef = {
  name: 'CombConvLayer',
  category: 'conv',
  doc: 'HarDNet combined layer: a 1x1 ConvLayer then a 3x3 depth-wise DWConvLayer.',
  source: src('CombConvLayer'),
  signature: [
    param('in_channels', 'channels', 'input channels'),
    param('out_channels', 'channels', 'output channels'),
    param('kernel', 'int', 'kernel of the ConvLayer', 1),
    param('stride', 'int', 'stride of the depth-wise layer', 1),
    param('dropout', 'float', 'unused', f(0.1)),
    param('bias', 'bool', 'unused', false),
  ],
  build: (b, a) => combConvLayer(b, a.channels('in_channels'), a.channels('out_channels'), a.int('kernel'), a.int('stride')),
};

/** BRLayer: BatchNorm2d + ReLU (an nn.Sequential subclass). */
function brLayer(b: Builder, c: number): Mod {
  return b.seq([b.bn(c), b.act('ReLU')], 'BRLayer', ['norm', 'relu']);
}

const BRLayer: ModuleDef = {
  name: 'BRLayer',
  category: 'norm',
  doc: 'BatchNorm2d + ReLU (HarDBlock2\u2019s post-activation).',
  source: src('BRLayer'),
  signature: [param('in_channels', 'channels', 'channels')],
  build: (b, a) => brLayer(b, a.channels('in_channels')),
};

interface HardLink {
  readonly out: number;
  readonly in: number;
  readonly link: number[];
}

/**
 * HarDBlock.get_link: layer L links back to L - 2^i for every 2^i dividing L; its width is growth_rate times grmul
 * per extra link, rounded to an even int; its input is the sum of the linked layers' widths (layer 0 = the block
 * input). HarDBlock2 lists the links in reverse order.
 */
function hardLink(layer: number, baseCh: number, growth: number, grmul: number, reversed: boolean): HardLink {
  if (layer === 0) return { out: baseCh, in: 0, link: [] };
  let out = growth;
  const link: number[] = [];
  for (let i = 0; i < 10; i++) {
    const dv = 2 ** i;
    if (layer % dv === 0) {
      if (reversed) link.unshift(layer - dv);
      else link.push(layer - dv);
      if (i > 0) out *= grmul;
    }
  }
  out = Math.trunc(Math.trunc(out + 1) / 2) * 2;
  let inCh = 0;
  for (const k of link) inCh += hardLink(k, baseCh, growth, grmul, reversed).out;
  return { out, in: inCh, link };
}

const hardSig = [
  param('in_channels', 'channels', 'input channels (parse_model passes them)'),
  param('growth_rate', 'float', 'base width of each layer'),
  param('grmul', 'float', 'width multiplier per extra link'),
  param('n_layers', 'int', 'number of layers'),
];

const numArg = (a: { readonly def: ModuleDef; raw(n: string): PyVal }, name: string): number => {
  const v = a.raw(name);
  if (!isNumeric(v)) throw buildError(`${a.def.name}.${name} must be a number, got ${pyRepr(v)}`, name);
  return num(v);
};

const HarDBlock: ModuleDef = {
  name: 'HarDBlock',
  category: 'csp',
  doc:
    'HarDNet block: n_layers 3x3 Convs with harmonic dense links (layer L reads layers L - 2^i); the odd layers and the last are ' +
    'concatenated.',
  source: src('HarDBlock'),
  signature: [
    ...hardSig,
    param('keepBase', 'bool', 'also output the block input', false),
    param('residual_out', 'bool', 'unused', false),
    param('dwconv', 'bool', 'CombConvLayers instead of Convs', false),
  ],
  build: (b, a) => {
    const cin = a.channels('in_channels');
    const growth = numArg(a, 'growth_rate');
    const grmul = numArg(a, 'grmul');
    const n = a.int('n_layers');
    checkBlocks(n, 'n_layers');
    const keepBase = a.bool('keepBase');
    const dw = a.bool('dwconv');
    const links: number[][] = [];
    const layers: Mod[] = [];
    let outChannels = 0;
    for (let i = 0; i < n; i++) {
      const l = hardLink(i + 1, cin, growth, grmul, false);
      links.push(l.link);
      layers.push(dw ? combConvLayer(b, l.in, l.out) : construct(b, Conv, [l.in, l.out], { k: 3 }));
      if (i % 2 === 0 || i === n - 1) outChannels += l.out;
    }
    const list = b.list(layers);
    return b.mod(
      'HarDBlock',
      { layers: list },
      <T>(fl: Flow<T>, xin: In<T>) => {
        const all: T[] = [inputOne(xin, 'HarDBlock')];
        layers.forEach((layer, k) => {
          const tin = links[k]!.map((j) => all[j]!);
          all.push(fl.call(layer, tin.length > 1 ? fl.cat(tin, 1) : tin[0]!));
        });
        const t = all.length;
        const out = all.filter((_, i) => (i === 0 && keepBase) || i === t - 1 || i % 2 === 1);
        return fl.cat(out, 1);
      },
      // get_out_ch(): what parse_model books as the layer's channels (keepBase output is not included)
      { attrs: { outChannels } },
    );
  },
};

const HarDBlock2: ModuleDef = {
  name: 'HarDBlock2',
  category: 'csp',
  doc: 'HarDNet block, fused form: each conv computes every later layer\u2019s share of its output at once, then BatchNorm + ReLU.',
  source: src('HarDBlock2'),
  signature: [...hardSig, param('dwconv', 'bool', 'unused', false)],
  build: (b, a) => {
    const cin = a.channels('in_channels');
    const growth = numArg(a, 'growth_rate');
    const grmul = numArg(a, 'grmul');
    const n = a.int('n_layers');
    checkBlocks(n, 'n_layers');
    const links: number[][] = [];
    const partition = new Map<number, number[]>();
    for (let i = 0; i < n; i++) {
      const l = hardLink(i + 1, cin, growth, grmul, true);
      links.push(l.link);
      for (const j of l.link) partition.set(j, [...(partition.get(j) ?? []), l.out]);
    }
    const part = (i: number): number[] => partition.get(i) ?? [];
    const convs: Mod[] = [];
    const brs: Mod[] = [];
    let cur = cin;
    let outChannels = 0;
    for (let i = 0; i < n; i++) {
      const p = part(i);
      if (p.length === 0) throw buildError(`IndexError: list index out of range (no later layer links to layer ${i})`, 'n_layers');
      convs.push(
        b.conv2d(
          cur,
          p.reduce((s, x) => s + x, 0),
          3,
          { s: 1, p: 1, bias: true },
        ),
      );
      brs.push(brLayer(b, p[0]!));
      cur = p[0]!;
      if (i % 2 === 0 || i === n - 1) outChannels += p[0]!;
    }
    return b.mod(
      'HarDBlock2',
      { conv_layers: b.list(convs), bnrelu_layers: b.list(brs) },
      <T>(fl: Flow<T>, xin: In<T>) => {
        const layers: T[] = [];
        const outs: T[] = [];
        let x = inputOne(xin, 'HarDBlock2');
        for (let i = 0; i < n; i++) {
          const link = links[i]!;
          const p = part(i);
          const xout = fl.call(convs[i]!, x);
          layers.push(xout);
          x = p.length > 1 ? fl.slice(xout, 1, 0, p[0]!) : xout;
          if (link.length > 1) {
            for (let j = 0; j < link.length - 1; j++) {
              const ly = link[j]!;
              const pl = part(ly);
              const partId = pl.indexOf(p[0]!);
              const chs = pl.slice(0, partId).reduce((s, v) => s + v, 0);
              const src = layers[ly];
              if (src === undefined) throw new ShapeError(`IndexError: list index out of range (HarDBlock2 layer ${i} reads layer ${ly})`);
              x = fl.add(x, fl.slice(src, 1, chs, chs + p[0]!));
            }
            // `xin += ...` works in place on a view of xout: the layer's stored output sees the sums too
            layers[i] = p.length > 1 ? fl.cat([x, fl.slice(xout, 1, p[0]!, fl.shape(xout)[1]!)], 1) : x;
          }
          x = fl.call(brs[i]!, x);
          if (i % 2 === 0 || i === n - 1) outs.push(x);
        }
        return fl.cat(outs, 1);
      },
      { attrs: { outChannels } },
    );
  },
};

const Detect = detectDef('sv4', `${DIR}/yolo.py:Detect`, false);

const ConvSig = convNoBn('ConvSig');
const ConvSqu = convNoBn('ConvSqu');

/**
 * The names `models/yolo.py` can eval: everything `from models.common import *` brings (the commented-out SE,
 * SAM, DNL and GC live in a string literal and do not exist) plus MixConv2d, CrossConv and C3 from
 * experimental.py; GhostConv, SPPF, C3TR and the other YOLOv5 modules are not there.
 */
export const SCALED_YOLOV4_MODULES: readonly ModuleDef[] = [
  DWConv,
  GSConv,
  GSConvns,
  GSBottleneck,
  GSBottleneckC,
  vov('VoVGSCSP'),
  vov('VoVGSCSPC'),
  Conv,
  Bottleneck,
  BottleneckCSP,
  BottleneckCSP2,
  VoVCSP,
  SPP,
  SPPCSP,
  MP,
  Focus,
  Concat,
  Flatten,
  Classify,
  CombConvLayer,
  DWConvLayer,
  ConvLayer,
  HarDBlock,
  BRLayer,
  HarDBlock2,
  ConvSig,
  ConvSqu,
  MishDef,
  CrossConv,
  C3,
  MixConv2d,
  Detect,
];
