/**
 * The Slim-neck modules the AlanLi1997/slim-neck-by-gsconv fork adds to its vendored ultralytics 8.3 conv.py
 * (conv.py:58-191): GSConv, GSConvE, GSConvE2, GSConvns, GSBottleneck(C), VoVGSCSP(C). They are not the YOLOv5
 * fork's versions (see QUIRKS-ultralytics.md "Module semantics") and exist in the `ultralytics-8.3` framework only.
 */
import type { Builder } from '../../nn/builder.ts';
import type { Flow, Mod } from '../../nn/module.ts';
import { type Args, construct, f, type ModuleDef, param } from '../types.ts';
import { actp, c1p, c2p, dp, kp, pp, sp } from './common.ts';
import { Conv, DWConv } from './conv.ts';
import { C2f } from './block.ts';

const SRC = 'ultralytics/nn/modules/conv.py';
const gp = param('g', 'int', 'groups', 1);

/** `x.reshape(b, 2, c // 2, h, w).permute(0, 2, 1, 3, 4).reshape(b, -1, h, w)`: the GSConv channel shuffle. */
function shuffle<T>(fl: Flow<T>, y: T): T {
  const [bs, c, h, w] = fl.shape(y) as [number, number, number, number];
  const z = fl.permute(fl.view(y, [bs, 2, Math.floor(c / 2), h, w]), [0, 2, 1, 3, 4]);
  return fl.view(z, [bs, -1, h, w]);
}

const gsSignature = [c1p, c2p, kp(1), sp(1), pp, gp, dp, actp];
/** the first Conv of the GSConv family: Conv(c1, c_, k, s, p, g, d, act) */
const gsFirst = (b: Builder, a: Args, c_: number): Mod =>
  construct(b, Conv, [a.raw('c1'), c_, a.raw('k'), a.raw('s'), a.raw('p'), a.raw('g'), a.raw('d'), a.raw('act')]);

export const GSConv: ModuleDef = {
  name: 'GSConv',
  category: 'slimneck',
  doc: 'GSConv: a Conv to c2/2, a 5\u00d75 depth-wise Conv of it, concatenated and channel-shuffled.',
  source: `${SRC}:GSConv`,
  signature: gsSignature,
  build: (b, a) => {
    const c_ = Math.floor(a.channels('c2') / 2);
    const cv1 = gsFirst(b, a, c_);
    const cv2 = construct(b, Conv, [c_, c_, 5, 1, 2, c_, a.raw('d'), a.raw('act')]);
    return b.mod('GSConv', { cv1, cv2 }, (fl, x) => {
      const x1 = fl.call(cv1, x);
      return shuffle(fl, fl.cat([x1, fl.call(cv2, x1)], 1));
    });
  },
};

export const GSConvns: ModuleDef = {
  name: 'GSConvns',
  category: 'slimneck',
  doc: 'GSConv with a "normative" shuffle: a 1\u00d71 conv (no BN) over the concatenation, then ReLU.',
  source: `${SRC}:GSConvns`,
  signature: gsSignature,
  build: (b, a) => {
    const c2 = a.channels('c2');
    const c_ = Math.floor(c2 / 2);
    const cv1 = gsFirst(b, a, c_);
    const cv2 = construct(b, Conv, [c_, c_, 5, 1, 2, c_, a.raw('d'), a.raw('act')]);
    const shuf = b.conv2d(c_ * 2, c2, 1, { bias: false }, 'c2');
    return b.mod('GSConvns', { cv1, cv2, shuf }, (fl, x) => {
      const x1 = fl.call(cv1, x);
      return fl.relu(fl.call(shuf, fl.cat([x1, fl.call(cv2, x1)], 1)));
    });
  },
};

export const GSConvE: ModuleDef = {
  name: 'GSConvE',
  category: 'slimneck',
  doc: 'GSConv enhancement (GSConvE1): the cheap branch is a 3\u00d73 conv, a 3\u00d73 depth-wise conv and GELU (no BatchNorm).',
  source: `${SRC}:GSConvE`,
  signature: gsSignature,
  build: (b, a) => {
    const c_ = Math.floor(a.channels('c2') / 2);
    const cv1 = gsFirst(b, a, c_);
    const cv2 = b.seq([
      b.conv2d(c_, c_, 3, { p: 1, bias: false }, 'c2'),
      b.conv2d(c_, c_, 3, { p: 1, g: c_, bias: false }, 'c2'),
      b.act('GELU'),
    ]);
    return b.mod('GSConvE', { cv1, cv2 }, (fl, x) => {
      const x1 = fl.call(cv1, x);
      return shuffle(fl, fl.cat([x1, fl.call(cv2, x1)], 1));
    });
  },
};

export const GSConvE2: ModuleDef = {
  name: 'GSConvE2',
  category: 'slimneck',
  doc: 'GSConvE (official): a Conv to c2/4 and three depth-wise Convs of it (9\u00d79, 13\u00d713, 17\u00d717), concatenated and shuffled.',
  source: `${SRC}:GSConvE2`,
  signature: gsSignature,
  build: (b, a) => {
    const c_ = Math.floor(a.channels('c2') / 4);
    const cv1 = gsFirst(b, a, c_);
    const dw = (k: number) => construct(b, Conv, [c_, c_, k, 1, (k - 1) / 2, c_, a.raw('d'), a.raw('act')]);
    const cv2 = dw(9);
    const cv3 = dw(13);
    const cv4 = dw(17);
    return b.mod('GSConvE2', { cv1, cv2, cv3, cv4 }, (fl, x) => {
      const x1 = fl.call(cv1, x);
      return shuffle(fl, fl.cat([x1, fl.call(cv2, x1), fl.call(cv3, x1), fl.call(cv4, x1)], 1));
    });
  },
};

export const GSBottleneck: ModuleDef = {
  name: 'GSBottleneck',
  category: 'slimneck',
  doc: 'GS bottleneck: two GSConvs (1\u00d71 to c2/2, 3\u00d73 to c2) plus a 1\u00d71 Conv shortcut (no activation).',
  source: `${SRC}:GSBottleneck`,
  signature: [c1p, c2p, param('k', 'kernel', 'unused', 3), param('s', 'kernel', 'unused', 1)],
  build: (b, a) => gsBottleneck(b, a, 'GSBottleneck'),
};

export const GSBottleneckC: ModuleDef = {
  name: 'GSBottleneckC',
  category: 'slimneck',
  doc: 'Cheap GS bottleneck: GSBottleneck with a 3\u00d73 depth-wise DWConv shortcut.',
  source: `${SRC}:GSBottleneckC`,
  signature: GSBottleneck.signature,
  build: (b, a) => gsBottleneck(b, a, 'GSBottleneckC'),
};

function gsBottleneck(b: Builder, a: Args, type: 'GSBottleneck' | 'GSBottleneckC'): Mod {
  const c1 = a.raw('c1');
  const c2 = a.channels('c2');
  const c_ = Math.floor(c2 / 2);
  const conv_lighting = b.seq([construct(b, GSConv, [c1, c_, 1, 1, 0]), construct(b, GSConv, [c_, c2, 3, 1, 1], { act: true })]);
  // GSBottleneckC builds its parent's Conv shortcut first, then replaces it
  let shortcut = construct(b, Conv, [c1, c2, 1, 1], { act: false });
  if (type === 'GSBottleneckC') shortcut = construct(b, DWConv, [c1, c2, 3, 1], { act: false });
  return b.mod(type, { conv_lighting, shortcut }, (fl, x) => fl.add(fl.call(conv_lighting, x), fl.call(shortcut, x)));
}

const vovSignature = [
  c1p,
  c2p,
  param('n', 'int', 'ignored: VoVGSCSP always builds one C2f (parse_model still inserts the repeats)', 1),
  param('shortcut', 'bool', 'ignored', true),
  param('g', 'int', 'ignored', 1),
  param('e', 'float', 'hidden channels = int(c2 * e)', f(0.5)),
];

export const VoVGSCSP: ModuleDef = {
  name: 'VoVGSCSP',
  category: 'slimneck',
  doc:
    'VoV-GSCSP (ultralytics tree): a GSConv branch and a Conv \u2192 C2f(shortcut) branch, concatenated, 1\u00d71 Conv; n, ' +
    'shortcut and g are ignored.',
  source: `${SRC}:VoVGSCSP`,
  signature: vovSignature,
  build: (b, a) => vovGSCSP(b, a, 'VoVGSCSP'),
};

export const VoVGSCSPC: ModuleDef = {
  name: 'VoVGSCSPC',
  category: 'slimneck',
  doc: 'Cheap VoV-GSCSP: VoVGSCSP built with e=0.5 always (the parent gets e as n), plus an unused GSBottleneckC(int(c2\u00b7e)).',
  source: `${SRC}:VoVGSCSPC`,
  signature: vovSignature,
  build: (b, a) => vovGSCSP(b, a, 'VoVGSCSPC'),
};

function vovGSCSP(b: Builder, a: Args, type: 'VoVGSCSP' | 'VoVGSCSPC'): Mod {
  const c1 = a.raw('c1');
  const c2 = a.channels('c2');
  // VoVGSCSPC calls super().__init__(c1, c2, e): e lands in n, and the parent's own e keeps its default 0.5
  const e = type === 'VoVGSCSPC' ? 0.5 : a.float('e');
  const c_ = Math.trunc(c2 * e);
  const cv1 = construct(b, Conv, [c1, c_, 1, 1]);
  const gc2 = construct(b, GSConv, [c1, c_, 3, 1, 1]);
  const m = construct(b, C2f, [c_, c_, 1, 1]);
  const cv3 = construct(b, Conv, [2 * c_, c2, 1]);
  const gsb =
    type === 'VoVGSCSPC' ? construct(b, GSBottleneckC, [Math.trunc(c2 * a.float('e')), Math.trunc(c2 * a.float('e')), 3, 1]) : null;
  return b.mod(type, { cv1, gc2, m, cv3, gsb }, (fl, x) => {
    const x1 = fl.call(m, fl.call(cv1, x));
    const y = fl.call(gc2, x);
    return fl.call(cv3, fl.cat([y, x1], 1));
  });
}

export const ULTRALYTICS_SLIMNECK_MODULES: readonly ModuleDef[] = [
  GSConv,
  GSConvE,
  GSConvE2,
  GSConvns,
  GSBottleneck,
  GSBottleneckC,
  VoVGSCSP,
  VoVGSCSPC,
];
