/**
 * ultralytics/nn/modules/block.py (vendored 8.3.x, see conv.ts): the backbone and neck blocks.
 * A subclass that replaces a submodule after `super().__init__()` (C3x, C3Ghost, C3k2, ELAN1...) builds the
 * parent's version first and drops it, as Python does: whatever the parent's constructor rejects is rejected, and
 * the registration order of the children (which decides the model's first parameter) is the parent's.
 */
import { Builder, ModuleInstance, autopad } from '../../nn/builder.ts';
import { buildError, inputList, inputOne, ShapeError, type Flow, type In, type Mod } from '../../nn/module.ts';
import { isSeq, pyEq, pyRepr, PyTuple, seqItems, type PyVal } from '../../py.ts';
import { type Args, construct, f, type ModuleDef, param } from '../types.ts';
import { checkBlocks, range } from '../yolov5.ts';
import { assertSameChannels, c1p, c2p, fusedConv, hidden, item, twoChunks } from './common.ts';
import { Conv, DWConv, GhostConv, LightConv, RepConv } from './conv.ts';
import { TransformerBlock } from './transformer.ts';

const SRC = 'ultralytics/nn/modules/block.py';
export const c2i = param('c2', 'channels', 'output channels');
export const np_ = (doc = 'number of inner blocks (parse_model inserts the scaled repeats)', d: PyVal = 1) => param('n', 'int', doc, d);
export const ep = (d: PyVal = f(0.5)) => param('e', 'float', 'hidden channels = int(c2 * e)', d);
export const shortcutp = (d: boolean) => param('shortcut', 'bool', 'residual adds in the inner blocks', d);
export const gp = param('g', 'int', 'groups of the inner 3\u00d73 convs', 1);

export const k33 = new PyTuple([new PyTuple([3, 3]), new PyTuple([3, 3])]);
const pair = (a: number, b: number) => new PyTuple([a, b]);

/**
 * The attention heads PSA and C2fPSA give their blocks: `c // 64` in 8.3 (0 below 64 channels, which Attention
 * rejects), `max(c // 64, 1)` in 8.4.
 */
export type PsaHeads = (c: number) => number;
export const psaHeads83: PsaHeads = (c) => Math.floor(c / 64);

export const DFL: ModuleDef = {
  name: 'DFL',
  category: 'head',
  doc: 'Distribution Focal Loss integral: a fixed 1x1 conv (weights 0..c1-1) over a softmax of box distributions.',
  source: `${SRC}:DFL`,
  signature: [param('c1', 'int', 'bins per box side (reg_max)', 16)],
  build: (b, a) => {
    const c1 = a.int('c1');
    const conv = b.frozen(b.conv2d(c1, 1, 1, { bias: false }));
    return b.mod('DFL', { conv }, (fl, xin) => {
      const x = inputOne(xin, 'DFL');
      const [bs, , anchors] = fl.shape(x) as [number, number, number];
      const y = fl.softmax(fl.transpose(fl.view(x, [bs, 4, c1, anchors]), 2, 1), 1);
      return fl.view(fl.call(conv, y), [bs, 4, anchors]);
    });
  },
};

// ---- PP-HGNetV2 (RT-DETR)

export const HGStem: ModuleDef = {
  name: 'HGStem',
  category: 'conv',
  doc: 'PP-HGNetV2 stem: five ReLU Convs and a max-pool branch; downsamples by 4 (c2 is not width-scaled).',
  source: `${SRC}:HGStem`,
  signature: [
    c1p,
    param('cm', 'channels', 'middle channels (not width-scaled)'),
    param('c2', 'channels', 'output channels (not width-scaled)'),
  ],
  build: (b, a) => {
    const c1 = a.channels('c1');
    const cm = a.channels('cm');
    const c2 = a.channels('c2');
    // each Conv gets an nn.ReLU() of its own
    const relu = () => ({ act: new ModuleInstance(b.act('ReLU'), 'ReLU', 'ReLU()') });
    const stem1 = construct(b, Conv, [c1, cm, 3, 2], relu());
    const stem2a = construct(b, Conv, [cm, Math.floor(cm / 2), 2, 1, 0], relu());
    const stem2b = construct(b, Conv, [Math.floor(cm / 2), cm, 2, 1, 0], relu());
    const stem3 = construct(b, Conv, [cm * 2, cm, 3, 2], relu());
    const stem4 = construct(b, Conv, [cm, c2, 1, 1], relu());
    const pool = b.maxPool2d(2, 1, 0, 1, true);
    return b.mod('HGStem', { stem1, stem2a, stem2b, stem3, stem4, pool }, (fl, xin) => {
      const x = fl.pad(fl.call(stem1, xin), [0, 1, 0, 1], 0);
      const x2 = fl.call(stem2b, fl.pad(fl.call(stem2a, x), [0, 1, 0, 1], 0));
      const x1 = fl.call(pool, x);
      return fl.call(stem4, fl.call(stem3, fl.cat([x1, x2], 1)));
    });
  },
};

/** `HGBlock`'s default `act=nn.ReLU()`: one instance shared by every HGBlock (and its convs) that takes the default. */
const HGBLOCK_DEFAULT_ACT = new ModuleInstance(
  { ...new Builder({ fused: false, convDefaultAct: null }).act('ReLU'), shared: true },
  'ReLU',
  'ReLU()',
);

export const HGBlock: ModuleDef = {
  name: 'HGBlock',
  category: 'csp',
  doc: 'PP-HGNetV2 block: n chained Convs (or LightConvs), all outputs concatenated, squeezed to c2/2 and excited to c2.',
  source: `${SRC}:HGBlock`,
  signature: [
    c1p,
    param('cm', 'channels', 'channels of each inner conv (not width-scaled)'),
    param('c2', 'channels', 'output channels (not width-scaled)'),
    param('k', 'kernel', 'kernel of the inner convs', 3),
    param('n', 'int', 'number of inner convs (parse_model inserts the scaled repeats)', 6),
    param('lightconv', 'bool', 'LightConv instead of Conv inside', false),
    param('shortcut', 'bool', 'residual add (only if c1 == c2)', false),
    param('act', 'act', 'activation of every conv', HGBLOCK_DEFAULT_ACT, 'nn.ReLU()'),
  ],
  build: (b, a) => {
    const c1 = a.channels('c1');
    const cm = a.channels('cm');
    const c2 = a.channels('c2');
    const n = a.int('n');
    const act = a.raw('act');
    const block = a.bool('lightconv') ? LightConv : Conv;
    const convs = range(n).map((i) => construct(b, block, [i === 0 ? c1 : cm, cm], { k: a.raw('k'), act }));
    const m = b.list(convs);
    const sc = construct(b, Conv, [c1 + n * cm, Math.floor(c2 / 2), 1, 1], { act });
    const ec = construct(b, Conv, [Math.floor(c2 / 2), c2, 1, 1], { act });
    const add = a.bool('shortcut') && c1 === c2;
    return b.mod('HGBlock', { m, sc, ec }, (fl, xin) => {
      const x = inputOne(xin, 'HGBlock');
      const y = [x];
      for (const mm of convs) y.push(fl.call(mm, y[y.length - 1]!));
      const out = fl.call(ec, fl.call(sc, fl.cat(y, 1)));
      return add ? fl.add(out, x) : out;
    });
  },
};

// ---- pooling

export const SPP: ModuleDef = {
  name: 'SPP',
  category: 'pooling',
  doc: 'Spatial pyramid pooling: parallel max-pools of several sizes, concatenated.',
  source: `${SRC}:SPP`,
  signature: [c1p, c2p, param('k', 'list', 'pool kernel sizes (a tuple: an int fails)', new PyTuple([5, 9, 13]))],
  build: (b, a) => {
    const c1 = a.channels('c1');
    const ks = a.intList('k');
    const c_ = Math.floor(c1 / 2);
    const cv1 = construct(b, Conv, [c1, c_, 1, 1]);
    const cv2 = construct(b, Conv, [c_ * (ks.length + 1), a.raw('c2'), 1, 1]);
    const pools = ks.map((k) => b.maxPool2d(k, 1, Math.floor(k / 2), 1, false, 'k'));
    const m = b.list(pools);
    return b.mod('SPP', { cv1, cv2, m }, (fl, x) => {
      const y = fl.call(cv1, x);
      return fl.call(cv2, fl.cat([y, ...pools.map((p) => fl.call(p, y))], 1));
    });
  },
};

export const SPPF: ModuleDef = {
  name: 'SPPF',
  category: 'pooling',
  doc: 'Fast SPP: one max-pool applied three times in a row, the four maps concatenated.',
  source: `${SRC}:SPPF`,
  signature: [c1p, c2p, param('k', 'int', 'pool kernel size', 5)],
  build: (b, a) => {
    const c1 = a.channels('c1');
    const k = a.int('k');
    const c_ = Math.floor(c1 / 2);
    const cv1 = construct(b, Conv, [c1, c_, 1, 1]);
    const cv2 = construct(b, Conv, [c_ * 4, a.raw('c2'), 1, 1]);
    const m = b.maxPool2d(k, 1, Math.floor(k / 2), 1, false, 'k');
    return b.mod('SPPF', { cv1, cv2, m }, (fl, x) => {
      const y = [fl.call(cv1, x)];
      for (let i = 0; i < 3; i++) y.push(fl.call(m, y[y.length - 1]!));
      return fl.call(cv2, fl.cat(y, 1));
    });
  },
};

// ---- bottlenecks

export const Bottleneck: ModuleDef = {
  name: 'Bottleneck',
  category: 'csp',
  doc: 'Conv k[0] \u2192 Conv k[1] (3\u00d73 both by default), with a residual add when shortcut and c1 == c2.',
  source: `${SRC}:Bottleneck`,
  signature: [
    c1p,
    c2p,
    param('shortcut', 'bool', 'residual connection (only if c1 == c2)', true),
    param('g', 'int', 'groups of the second conv', 1),
    param('k', 'list', 'kernels of the two convs', pair(3, 3)),
    ep(),
  ],
  build: (b, a) => bottleneck(b, a, 'Bottleneck'),
};

export const RepBottleneck: ModuleDef = {
  name: 'RepBottleneck',
  category: 'csp',
  doc: 'Bottleneck whose first conv is a RepConv (k[0] must be 3).',
  source: `${SRC}:RepBottleneck`,
  signature: Bottleneck.signature,
  build: (b, a) => bottleneck(b, a, 'RepBottleneck'),
};

function bottleneck(b: Builder, a: Args, type: 'Bottleneck' | 'RepBottleneck'): Mod {
  const c1 = a.channels('c1');
  const c2 = a.channels('c2');
  const c_ = hidden(c2, a.float('e'));
  const k = a.raw('k');
  let cv1 = construct(b, Conv, [c1, c_, item(k, 0, type, 'k'), 1]);
  const cv2 = construct(b, Conv, [c_, c2, item(k, 1, type, 'k'), 1], { g: a.raw('g') });
  if (type === 'RepBottleneck') cv1 = construct(b, RepConv, [c1, c_, item(k, 0, type, 'k'), 1]);
  const add = a.bool('shortcut') && c1 === c2;
  return b.mod(type, { cv1, cv2 }, (fl, x) => {
    const y = fl.call(cv2, fl.call(cv1, x));
    return add ? fl.add(inputOne(x, type), y) : y;
  });
}

export const GhostBottleneck: ModuleDef = {
  name: 'GhostBottleneck',
  category: 'csp',
  doc: 'Ghost bottleneck: GhostConv \u2192 (DWConv when s=2) \u2192 GhostConv, plus an identity (or DWConv+Conv when s=2) shortcut.',
  source: `${SRC}:GhostBottleneck`,
  signature: [c1p, c2p, param('k', 'kernel', 'depth-wise kernel (used when s=2)', 3), param('s', 'int', 'stride (2 downsamples)', 1)],
  build: (b, a) => {
    const c1 = a.raw('c1');
    const c_ = Math.floor(a.channels('c2') / 2);
    const down = pyEq(a.raw('s'), 2);
    const conv = b.seq([
      construct(b, GhostConv, [c1, c_, 1, 1]),
      down ? construct(b, DWConv, [c_, c_, a.raw('k'), a.raw('s')], { act: false }) : b.identity(),
      construct(b, GhostConv, [c_, a.raw('c2'), 1, 1], { act: false }),
    ]);
    const shortcut = down
      ? b.seq([
          construct(b, DWConv, [c1, c1, a.raw('k'), a.raw('s')], { act: false }),
          construct(b, Conv, [c1, a.raw('c2'), 1, 1], { act: false }),
        ])
      : b.identity();
    return b.mod('GhostBottleneck', { conv, shortcut }, (fl, x) => fl.add(fl.call(conv, x), fl.call(shortcut, x)));
  },
};

export const BottleneckCSP: ModuleDef = {
  name: 'BottleneckCSP',
  category: 'csp',
  doc: 'CSP bottleneck (CSPNet): n Bottlenecks (3\u00d73, 3\u00d73) on one half, a plain conv on the other, BN + SiLU over the concat.',
  source: `${SRC}:BottleneckCSP`,
  signature: [c1p, c2p, np_(), shortcutp(true), gp, ep()],
  build: (b, a) => {
    const c1 = a.channels('c1');
    const c_ = hidden(a.channels('c2'), a.float('e'));
    const cv1 = construct(b, Conv, [c1, c_, 1, 1]);
    const cv2 = b.conv2d(c1, c_, 1, { bias: false });
    const cv3 = b.conv2d(c_, c_, 1, { bias: false });
    const cv4 = construct(b, Conv, [2 * c_, a.raw('c2'), 1, 1]);
    const bn = b.bn(2 * c_);
    const act = b.act('SiLU');
    const m = b.seq(range(a.int('n')).map(() => construct(b, Bottleneck, [c_, c_, a.raw('shortcut'), a.raw('g')], { e: f(1.0) })));
    return b.mod('BottleneckCSP', { cv1, cv2, cv3, cv4, bn, act, m }, (fl, x) => {
      const y1 = fl.call(cv3, fl.call(m, fl.call(cv1, x)));
      const y2 = fl.call(cv2, x);
      return fl.call(cv4, fl.call(act, fl.call(bn, fl.cat([y1, y2], 1))));
    });
  },
};

// ---- CSP families

export const C1: ModuleDef = {
  name: 'C1',
  category: 'csp',
  doc: 'CSP bottleneck with 1 convolution: a 1\u00d71 Conv, then n 3\u00d73 Convs added back to it.',
  source: `${SRC}:C1`,
  signature: [c1p, c2p, np_('number of 3\u00d73 convs (parse_model inserts the scaled repeats)')],
  build: (b, a) => {
    const c2 = a.channels('c2');
    const cv1 = construct(b, Conv, [a.raw('c1'), c2, 1, 1]);
    const m = b.seq(range(a.int('n')).map(() => construct(b, Conv, [c2, c2, 3])));
    return b.mod('C1', { cv1, m }, (fl, x) => {
      const y = fl.call(cv1, x);
      return fl.add(fl.call(m, y), y);
    });
  },
};

export const C2: ModuleDef = {
  name: 'C2',
  category: 'csp',
  doc: 'CSP bottleneck with 2 convolutions: the 1\u00d71 output is chunked, n Bottlenecks run on one half.',
  source: `${SRC}:C2`,
  signature: [c1p, c2p, np_('number of Bottlenecks (parse_model inserts the scaled repeats)'), shortcutp(true), gp, ep()],
  build: (b, a) => {
    const c = hidden(a.channels('c2'), a.float('e'));
    const cv1 = construct(b, Conv, [a.raw('c1'), 2 * c, 1, 1]);
    const cv2 = construct(b, Conv, [2 * c, a.raw('c2'), 1]);
    const m = b.seq(range(a.int('n')).map(() => construct(b, Bottleneck, [c, c, a.raw('shortcut'), a.raw('g')], { k: k33, e: f(1.0) })));
    return b.mod('C2', { cv1, cv2, m }, (fl, x) => {
      const [p, q] = twoChunks(fl, fl.call(cv1, x), 'C2');
      return fl.call(cv2, fl.cat([fl.call(m, p), q], 1));
    });
  },
};

/** C2f and its subclasses: `inner(c)` builds the replacement of `self.m` (the C2f Bottlenecks are built first). */
export function c2fLike(b: Builder, a: Args, type: string, opts: { shortcut: PyVal; g: PyVal; inner?: (c: number) => Mod[] }): Mod {
  const n = a.int('n');
  const c = hidden(a.channels('c2'), a.float('e'));
  const cv1 = construct(b, Conv, [a.raw('c1'), 2 * c, 1, 1]);
  const cv2 = construct(b, Conv, [(2 + n) * c, a.raw('c2'), 1]);
  let ms = range(n).map(() => construct(b, Bottleneck, [c, c, opts.shortcut, opts.g], { k: k33, e: f(1.0) }));
  if (opts.inner) ms = opts.inner(c);
  const m = b.list(ms);
  return b.mod(type, { cv1, cv2, m }, (fl, x) => {
    const y = fl.chunk(fl.call(cv1, x), 2, 1);
    for (const mm of ms) y.push(fl.call(mm, y[y.length - 1]!));
    return fl.call(cv2, fl.cat(y, 1));
  });
}

export const C2f: ModuleDef = {
  name: 'C2f',
  category: 'csp',
  doc: 'Faster CSP bottleneck with 2 convolutions: the split halves and every Bottleneck output are concatenated.',
  source: `${SRC}:C2f`,
  signature: [c1p, c2p, np_('number of Bottlenecks (parse_model inserts the scaled repeats)'), shortcutp(false), gp, ep()],
  build: (b, a) => c2fLike(b, a, 'C2f', { shortcut: a.raw('shortcut'), g: a.raw('g') }),
};

export const C3k2: ModuleDef = {
  name: 'C3k2',
  category: 'csp',
  doc: 'C2f with Bottlenecks (e=0.5) or, when c3k, C3k blocks of two 3\u00d73 Bottlenecks; parse_model forces c3k for scales m/l/x.',
  source: `${SRC}:C3k2`,
  signature: [
    c1p,
    c2p,
    np_('number of inner blocks (parse_model inserts the scaled repeats)'),
    param('c3k', 'bool', 'C3k blocks instead of Bottlenecks (forced True at scales m, l, x)', false),
    ep(),
    gp,
    shortcutp(true),
  ],
  build: (b, a) =>
    c2fLike(b, a, 'C3k2', {
      shortcut: a.raw('shortcut'),
      g: a.raw('g'),
      inner: (c) =>
        range(a.int('n')).map(() =>
          a.bool('c3k')
            ? construct(b, C3k, [c, c, 2, a.raw('shortcut'), a.raw('g')])
            : construct(b, Bottleneck, [c, c, a.raw('shortcut'), a.raw('g')]),
        ),
    }),
};

export const C2fCIB: ModuleDef = {
  name: 'C2fCIB',
  category: 'csp',
  doc: 'C2f with CIB blocks (YOLOv10): depth-wise/point-wise stacks, optionally with a large-kernel RepVGGDW.',
  source: `${SRC}:C2fCIB`,
  signature: [
    c1p,
    c2p,
    np_('number of CIB blocks (parse_model inserts the scaled repeats)'),
    shortcutp(false),
    param('lk', 'bool', 'large kernel: RepVGGDW (7\u00d77) as the middle conv of each CIB', false),
    gp,
    ep(),
  ],
  build: (b, a) =>
    c2fLike(b, a, 'C2fCIB', {
      shortcut: a.raw('shortcut'),
      g: a.raw('g'),
      inner: (c) => range(a.int('n')).map(() => construct(b, CIB, [c, c, a.raw('shortcut')], { e: f(1.0), lk: a.raw('lk') })),
    }),
};

export const makeC2fPSA = (heads: PsaHeads, doc: string): ModuleDef => ({
  name: 'C2fPSA',
  category: 'attention',
  doc,
  source: `${SRC}:C2fPSA`,
  signature: [c1p, c2p, np_('number of PSABlocks (parse_model inserts the scaled repeats)'), ep()],
  build: (b, a) => {
    assertSameChannels(a, 'C2fPSA');
    return c2fLike(b, a, 'C2fPSA', {
      shortcut: false,
      g: 1,
      inner: (c) => range(a.int('n')).map(() => construct(b, PSABlock, [c], { attn_ratio: f(0.5), num_heads: heads(c) })),
    });
  },
});

export const C2fPSA: ModuleDef = makeC2fPSA(
  psaHeads83,
  'C2f with PSABlocks (position-sensitive attention) instead of Bottlenecks; needs c1 == c2 and int(c2\u00b7e) \u2265 64.',
);

/** C3 and its subclasses: `inner(c_)` builds the replacement of `self.m` (C3's Bottlenecks are built first). */
export function c3Like(b: Builder, a: Args, type: string, inner?: (c_: number) => Mod): Mod {
  const c1 = a.raw('c1');
  const c_ = hidden(a.channels('c2'), a.float('e'));
  const cv1 = construct(b, Conv, [c1, c_, 1, 1]);
  const cv2 = construct(b, Conv, [c1, c_, 1, 1]);
  const cv3 = construct(b, Conv, [2 * c_, a.raw('c2'), 1]);
  let m = b.seq(
    range(a.int('n')).map(() =>
      construct(b, Bottleneck, [c_, c_, a.raw('shortcut'), a.raw('g')], { k: new PyTuple([pair(1, 1), pair(3, 3)]), e: f(1.0) }),
    ),
  );
  if (inner) m = inner(c_);
  return b.mod(type, { cv1, cv2, cv3, m }, (fl, x) => fl.call(cv3, fl.cat([fl.call(m, fl.call(cv1, x)), fl.call(cv2, x)], 1)));
}

export const c3Signature = (what: string) => [
  c1p,
  c2p,
  np_(`number of ${what} (parse_model inserts the scaled repeats)`),
  shortcutp(true),
  gp,
  ep(),
];

export const C3: ModuleDef = {
  name: 'C3',
  category: 'csp',
  doc: 'CSP bottleneck with 3 convolutions: n Bottlenecks (1\u00d71, 3\u00d73) on one branch, a 1\u00d71 Conv on the other.',
  source: `${SRC}:C3`,
  signature: c3Signature('Bottlenecks'),
  build: (b, a) => c3Like(b, a, 'C3'),
};

export const C3x: ModuleDef = {
  name: 'C3x',
  category: 'csp',
  doc: 'C3 with cross-convolutions: Bottlenecks of a 1\u00d73 and a 3\u00d71 Conv.',
  source: `${SRC}:C3x`,
  signature: c3Signature('Bottlenecks'),
  build: (b, a) =>
    c3Like(b, a, 'C3x', (c_) =>
      b.seq(
        range(a.int('n')).map(() =>
          construct(b, Bottleneck, [c_, c_, a.raw('shortcut'), a.raw('g')], { k: new PyTuple([pair(1, 3), pair(3, 1)]), e: 1 }),
        ),
      ),
    ),
};

export const C3Ghost: ModuleDef = {
  name: 'C3Ghost',
  category: 'csp',
  doc: 'C3 with GhostBottlenecks.',
  source: `${SRC}:C3Ghost`,
  signature: c3Signature('GhostBottlenecks'),
  build: (b, a) => c3Like(b, a, 'C3Ghost', (c_) => b.seq(range(a.int('n')).map(() => construct(b, GhostBottleneck, [c_, c_])))),
};

export const C3TR: ModuleDef = {
  name: 'C3TR',
  category: 'transformer',
  doc: 'C3 with a TransformerBlock (4 heads, n layers) instead of the Bottlenecks; int(c2\u00b7e) must divide by 4.',
  source: `${SRC}:C3TR`,
  signature: c3Signature('transformer layers'),
  build: (b, a) => c3Like(b, a, 'C3TR', (c_) => construct(b, TransformerBlock, [c_, c_, 4, a.raw('n')])),
};

export const RepCSP: ModuleDef = {
  name: 'RepCSP',
  category: 'csp',
  doc: 'C3 with RepBottlenecks (GELAN, YOLOv9).',
  source: `${SRC}:RepCSP`,
  signature: c3Signature('RepBottlenecks'),
  build: (b, a) =>
    c3Like(b, a, 'RepCSP', (c_) =>
      b.seq(range(a.int('n')).map(() => construct(b, RepBottleneck, [c_, c_, a.raw('shortcut'), a.raw('g')], { e: f(1.0) }))),
    ),
};

export const C3k: ModuleDef = {
  name: 'C3k',
  category: 'csp',
  doc: 'C3 with Bottlenecks of a configurable kernel (k\u00d7k, k\u00d7k).',
  source: `${SRC}:C3k`,
  signature: [...c3Signature('Bottlenecks'), param('k', 'kernel', 'kernel of both convs of each Bottleneck', 3)],
  build: (b, a) =>
    c3Like(b, a, 'C3k', (c_) =>
      b.seq(
        range(a.int('n')).map(() =>
          construct(b, Bottleneck, [c_, c_, a.raw('shortcut'), a.raw('g')], { k: new PyTuple([a.raw('k'), a.raw('k')]), e: f(1.0) }),
        ),
      ),
    ),
};

export const C3f: ModuleDef = {
  name: 'C3f',
  category: 'csp',
  doc: 'C2f variant with two parallel 1\u00d71 Convs instead of a split.',
  source: `${SRC}:C3f`,
  signature: [c1p, c2p, np_('number of Bottlenecks'), shortcutp(false), gp, ep()],
  build: (b, a) => {
    const c1 = a.raw('c1');
    const n = a.int('n');
    const c_ = hidden(a.channels('c2'), a.float('e'));
    const cv1 = construct(b, Conv, [c1, c_, 1, 1]);
    const cv2 = construct(b, Conv, [c1, c_, 1, 1]);
    const cv3 = construct(b, Conv, [(2 + n) * c_, a.raw('c2'), 1]);
    const ms = range(n).map(() => construct(b, Bottleneck, [c_, c_, a.raw('shortcut'), a.raw('g')], { k: k33, e: f(1.0) }));
    const m = b.list(ms);
    return b.mod('C3f', { cv1, cv2, cv3, m }, (fl, x) => {
      const y = [fl.call(cv2, x), fl.call(cv1, x)];
      for (const mm of ms) y.push(fl.call(mm, y[y.length - 1]!));
      return fl.call(cv3, fl.cat(y, 1));
    });
  },
};

/**
 * RepC3: 8.3 gives its two 1x1 branches c2 channels (so e != 1 fails at the add), 8.4 gives them int(c2 * e)
 * (`hiddenBranches`).
 */
export const makeRepC3 = (hiddenBranches: boolean): ModuleDef => ({
  name: 'RepC3',
  category: 'csp',
  doc:
    'Rep C3 (RT-DETR neck): n RepConvs on one 1\u00d71 branch, added to another 1\u00d71 branch, then a 1\u00d71 Conv when ' +
    'int(c2\u00b7e) != c2.',
  source: `${SRC}:RepC3`,
  signature: [
    c1p,
    c2p,
    np_('number of RepConvs (parse_model inserts the scaled repeats)', 3),
    param('e', 'float', 'RepConv channels = int(c2 * e)', f(1.0)),
  ],
  build: (b, a) => {
    const c1 = a.raw('c1');
    const c2 = a.channels('c2');
    const c_ = hidden(c2, a.float('e'));
    const cv1 = construct(b, Conv, [c1, hiddenBranches ? c_ : c2, 1, 1]);
    const cv2 = construct(b, Conv, [c1, hiddenBranches ? c_ : c2, 1, 1]);
    const m = b.seq(range(a.int('n')).map(() => construct(b, RepConv, [c_, c_])));
    const cv3 = c_ !== c2 ? construct(b, Conv, [c_, c2, 1, 1]) : b.identity();
    return b.mod('RepC3', { cv1, cv2, m, cv3 }, (fl, x) => fl.call(cv3, fl.add(fl.call(m, fl.call(cv1, x)), fl.call(cv2, x))));
  },
});

export const RepC3: ModuleDef = makeRepC3(false);

// ---- ResNet

export const ResNetBlock: ModuleDef = {
  name: 'ResNetBlock',
  category: 'csp',
  doc:
    'ResNet bottleneck: 1\u00d71, 3\u00d73 (stride s), 1\u00d71 to e\u00b7c2, plus a projection shortcut when the shape ' +
    'changes, then ReLU.',
  source: `${SRC}:ResNetBlock`,
  signature: [
    c1p,
    param('c2', 'channels', 'bottleneck channels (the output has e\u00b7c2)'),
    param('s', 'int', 'stride of the 3\u00d73 conv', 1),
    param('e', 'int', 'expansion of the last conv', 4),
  ],
  build: (b, a) => {
    const c1 = a.channels('c1');
    const c2 = a.channels('c2');
    const s = a.raw('s');
    const c3 = a.int('e') * c2;
    const cv1 = construct(b, Conv, [c1, c2], { k: 1, s: 1, act: true });
    const cv2 = construct(b, Conv, [c2, c2], { k: 3, s, p: 1, act: true });
    const cv3 = construct(b, Conv, [c2, c3], { k: 1, act: false });
    const shortcut = !pyEq(s, 1) || c1 !== c3 ? b.seq([construct(b, Conv, [c1, c3], { k: 1, s, act: false })]) : b.identity();
    return b.mod('ResNetBlock', { cv1, cv2, cv3, shortcut }, (fl, x) =>
      fl.relu(fl.add(fl.call(cv3, fl.call(cv2, fl.call(cv1, x))), fl.call(shortcut, x))),
    );
  },
};

export const ResNetLayer: ModuleDef = {
  name: 'ResNetLayer',
  category: 'csp',
  doc: 'ResNet stage: the 7\u00d77 stem + max-pool when is_first, else n ResNetBlocks (output e\u00b7c2); no width scaling.',
  source: `${SRC}:ResNetLayer`,
  signature: [
    param('c1', 'channels', 'input channels (given in the YAML: parse_model does not prepend them)'),
    param('c2', 'channels', 'bottleneck channels (output e\u00b7c2 unless is_first)'),
    param('s', 'int', 'stride of the first block', 1),
    param('is_first', 'bool', 'the stem (7\u00d77 Conv stride 2 + 3\u00d73 max-pool stride 2) instead of blocks', false),
    param('n', 'int', 'number of ResNetBlocks', 1),
    param('e', 'int', 'expansion of each block', 4),
  ],
  build: (b, a) => {
    const c1 = a.raw('c1');
    const c2 = a.channels('c2');
    let layer: Mod;
    if (a.bool('is_first')) layer = b.seq([construct(b, Conv, [c1, c2], { k: 7, s: 2, p: 3, act: true }), b.maxPool2d(3, 2, 1)]);
    else {
      const e = a.raw('e');
      const blocks = [construct(b, ResNetBlock, [c1, c2, a.raw('s')], { e })];
      const n = a.int('n');
      checkBlocks(n);
      for (let i = 0; i < n - 1; i++) blocks.push(construct(b, ResNetBlock, [a.int('e') * c2, c2, 1], { e }));
      layer = b.seq(blocks);
    }
    return b.mod('ResNetLayer', { layer }, (fl, x) => fl.call(layer, x));
  },
};

// ---- GELAN (YOLOv9)

export const RepNCSPELAN4: ModuleDef = {
  name: 'RepNCSPELAN4',
  category: 'csp',
  doc: 'CSP-ELAN (YOLOv9): 1\u00d71 to c3, split, two RepCSP+Conv stages chained on one half, all concatenated to c2.',
  source: `${SRC}:RepNCSPELAN4`,
  signature: [
    c1p,
    c2p,
    param('c3', 'channels', 'channels after the first conv (not width-scaled)'),
    param('c4', 'channels', 'channels of each stage (not width-scaled)'),
    param('n', 'int', 'RepBottlenecks per RepCSP (a YAML arg: not the layer repeats)', 1),
  ],
  build: (b, a) => elan(b, a, 'RepNCSPELAN4'),
};

export const ELAN1: ModuleDef = {
  name: 'ELAN1',
  category: 'csp',
  doc: 'ELAN1 (YOLOv9 t/s): RepNCSPELAN4 with plain 3\u00d73 Convs as its two stages.',
  source: `${SRC}:ELAN1`,
  signature: [
    c1p,
    c2p,
    param('c3', 'channels', 'channels after the first conv (not width-scaled)'),
    param('c4', 'channels', 'channels of each stage (not width-scaled)'),
  ],
  build: (b, a) => elan(b, a, 'ELAN1'),
};

function elan(b: Builder, a: Args, type: 'RepNCSPELAN4' | 'ELAN1'): Mod {
  const c1 = a.raw('c1');
  const c3 = a.int('c3');
  const c4 = a.int('c4');
  const n = type === 'ELAN1' ? 1 : a.raw('n');
  let cv1 = construct(b, Conv, [c1, c3, 1, 1]);
  let cv2 = b.seq([construct(b, RepCSP, [Math.floor(c3 / 2), c4, n]), construct(b, Conv, [c4, c4, 3, 1])]);
  let cv3 = b.seq([construct(b, RepCSP, [c4, c4, n]), construct(b, Conv, [c4, c4, 3, 1])]);
  let cv4 = construct(b, Conv, [c3 + 2 * c4, a.raw('c2'), 1, 1]);
  if (type === 'ELAN1') {
    cv1 = construct(b, Conv, [c1, c3, 1, 1]);
    cv2 = construct(b, Conv, [Math.floor(c3 / 2), c4, 3, 1]);
    cv3 = construct(b, Conv, [c4, c4, 3, 1]);
    cv4 = construct(b, Conv, [c3 + 2 * c4, a.raw('c2'), 1, 1]);
  }
  const stages = [cv2, cv3];
  return b.mod(type, { cv1, cv2, cv3, cv4 }, (fl, x) => {
    const y = fl.chunk(fl.call(cv1, x), 2, 1);
    for (const m of stages) y.push(fl.call(m, y[y.length - 1]!));
    return fl.call(cv4, fl.cat(y, 1));
  });
}

export const AConv: ModuleDef = {
  name: 'AConv',
  category: 'conv',
  doc: 'YOLOv9 downsampling: a 2\u00d72 stride-1 average pool, then a 3\u00d73 stride-2 Conv.',
  source: `${SRC}:AConv`,
  signature: [c1p, c2p],
  build: (b, a) => {
    const cv1 = construct(b, Conv, [a.raw('c1'), a.raw('c2'), 3, 2, 1]);
    return b.mod('AConv', { cv1 }, (fl, xin) => fl.call(cv1, fl.avgPool(inputOne(xin, 'AConv'), 2, 1, 0, false, true)));
  },
};

export const ADown: ModuleDef = {
  name: 'ADown',
  category: 'conv',
  doc: 'YOLOv9 downsampling: average pool, split; a 3\u00d73 stride-2 Conv on one half, max-pool + 1\u00d71 Conv on the other.',
  source: `${SRC}:ADown`,
  signature: [c1p, c2p],
  build: (b, a) => {
    const c1 = a.channels('c1');
    const c = Math.floor(a.channels('c2') / 2);
    const cv1 = construct(b, Conv, [Math.floor(c1 / 2), c, 3, 2, 1]);
    const cv2 = construct(b, Conv, [Math.floor(c1 / 2), c, 1, 1, 0]);
    return b.mod('ADown', { cv1, cv2 }, (fl, xin) => {
      const x = fl.avgPool(inputOne(xin, 'ADown'), 2, 1, 0, false, true);
      const [x1, x2] = twoChunks(fl, x, 'ADown');
      return fl.cat([fl.call(cv1, x1), fl.call(cv2, fl.maxPool(x2, 3, 2, 1))], 1);
    });
  },
};

export const SPPELAN: ModuleDef = {
  name: 'SPPELAN',
  category: 'pooling',
  doc: 'SPP-ELAN (YOLOv9): 1\u00d71 to c3, three chained max-pools, the four maps concatenated to c2.',
  source: `${SRC}:SPPELAN`,
  signature: [c1p, c2p, param('c3', 'channels', 'hidden channels (not width-scaled)'), param('k', 'int', 'pool kernel size', 5)],
  build: (b, a) => {
    const c3 = a.int('c3');
    const k = a.int('k');
    const cv1 = construct(b, Conv, [a.raw('c1'), c3, 1, 1]);
    const pool = () => b.maxPool2d(k, 1, Math.floor(k / 2), 1, false, 'k');
    const cv2 = pool();
    const cv3 = pool();
    const cv4 = pool();
    const cv5 = construct(b, Conv, [4 * c3, a.raw('c2'), 1, 1]);
    return b.mod('SPPELAN', { cv1, cv2, cv3, cv4, cv5 }, (fl, x) => {
      const y = [fl.call(cv1, x)];
      for (const m of [cv2, cv3, cv4]) y.push(fl.call(m, y[y.length - 1]!));
      return fl.call(cv5, fl.cat(y, 1));
    });
  },
};

export const CBLinear: ModuleDef = {
  name: 'CBLinear',
  category: 'misc',
  doc: 'CBNet linear (YOLOv9-E): one conv (with bias) to sum(c2s) channels, split into a tuple of maps.',
  source: `${SRC}:CBLinear`,
  multiOutput: true,
  signature: [
    c1p,
    param('c2s', 'list', 'output channels of each piece (a list, not width-scaled)'),
    param('k', 'kernel', 'kernel size', 1),
    param('s', 'kernel', 'stride', 1),
    param('p', 'kernel', "padding (None: 'same')", null),
    param('g', 'int', 'groups', 1),
  ],
  build: (b, a) => {
    const raw = a.raw('c2s');
    if (!isSeq(raw)) throw buildError(`TypeError: ${pyRepr(raw)} is not iterable (CBLinear c2s must be a list of channels)`, 'c2s');
    const c2s = seqItems(raw).map((c) => {
      if (typeof c !== 'number') throw buildError(`CBLinear c2s must hold ints, got ${pyRepr(c)}`, 'c2s');
      return c;
    });
    const k = a.pair('k');
    const conv = b.conv2d(
      a.channels('c1'),
      c2s.reduce((x, y) => x + y, 0),
      k,
      { s: a.pair('s'), p: autopad(isSeq(a.raw('k')) ? k : k[0], a.raw('p')), g: a.int('g'), bias: true },
      'c2s',
    );
    return b.mod('CBLinear', { conv }, (fl, x) => fl.split(fl.call(conv, x), c2s, 1));
  },
};

export const CBFuse: ModuleDef = {
  name: 'CBFuse',
  category: 'concat',
  doc: 'CBNet fusion (YOLOv9-E): picks piece idx[i] of each CBLinear output, resizes it (nearest) to the last input and sums all.',
  source: `${SRC}:CBFuse`,
  signature: [param('idx', 'list', 'which piece of each CBLinear output to take')],
  build: (b, a) => {
    const idxRaw = a.raw('idx');
    return b.mod('CBFuse', {}, <T>(fl: Flow<T>, xin: In<T>) => {
      // the inputs but the last are CBLinear outputs: tuples of maps, which arrive as nested lists
      const xs = inputList(xin, 'CBFuse') as readonly (T | readonly T[])[];
      const last = xs[xs.length - 1];
      if (last === undefined || isNested(last))
        throw new ShapeError('CBFuse: its last input must be a single tensor (the map to fuse into)');
      const target = last as T;
      const size = fl.shape(target).slice(2) as [number, number];
      const res = xs.slice(0, -1).map((x, i) => {
        if (!isNested(x)) throw new ShapeError(`CBFuse: input ${i} is a tensor, not a CBLinear output (it indexes x[idx[${i}]])`);
        const j = item(idxRaw, i, 'CBFuse', 'idx');
        if (typeof j !== 'number') throw new ShapeError(`TypeError: tuple indices must be integers, got ${pyRepr(j)} (CBFuse idx[${i}])`);
        const pieces = x as readonly T[];
        const piece = pieces[j < 0 ? pieces.length + j : j];
        if (piece === undefined)
          throw new ShapeError(`IndexError: tuple index out of range (CBFuse idx[${i}] = ${j}, input ${i} has ${pieces.length} pieces)`);
        return fl.interpolate(piece, size, null, 'nearest');
      });
      // torch.stack needs equal shapes; the sum over the stack is then an element-wise sum
      const all = [...res, target];
      const s0 = fl.shape(all[0]!);
      all.forEach((t, i) => {
        const s = fl.shape(t);
        if (s.length !== s0.length || s.some((v, k) => v !== s0[k]))
          throw new ShapeError(
            `stack expects each tensor to be equal size, but got [${s0.join(', ')}] at entry 0 and [${s.join(', ')}] at entry ${i}`,
          );
      });
      return all.slice(1).reduce((acc, t) => fl.add(acc, t), all[0]!);
    });
  },
};

/** a tuple-valued input (a CBLinear output) inside a list input */
const isNested = (x: unknown): boolean => Array.isArray(x) && x.length > 0 && typeof x[0] !== 'number';

// ---- YOLOv10

export const RepVGGDW: ModuleDef = {
  name: 'RepVGGDW',
  category: 'conv',
  doc:
    'RepVGG depth-wise block: a 7\u00d77 and a 3\u00d73 depth-wise Conv (no activation) summed, then SiLU; fuses into one ' +
    '7\u00d77 conv.',
  source: `${SRC}:RepVGGDW`,
  signature: [param('ed', 'channels', 'channels in and out')],
  build: (b, a) => {
    const ed = a.channels('ed');
    const act = b.act('SiLU');
    if (b.fused) {
      const conv = fusedConv(b, b.conv2d(ed, ed, 7, { p: 3, g: ed, bias: true }, 'ed'));
      return b.mod('RepVGGDW', { conv, act }, (fl, x) => fl.call(act, fl.call(conv, x)));
    }
    const conv = construct(b, Conv, [ed, ed, 7, 1, 3], { g: ed, act: false });
    const conv1 = construct(b, Conv, [ed, ed, 3, 1, 1], { g: ed, act: false });
    return b.mod('RepVGGDW', { conv, conv1, act }, (fl, x) => fl.call(act, fl.add(fl.call(conv, x), fl.call(conv1, x))));
  },
};

export const CIB: ModuleDef = {
  name: 'CIB',
  category: 'csp',
  doc:
    'Conditional identity block (YOLOv10): 3\u00d73 dw, 1\u00d71, 3\u00d73 dw (or RepVGGDW), 1\u00d71, 3\u00d73 dw, with a ' +
    'residual add when c1 == c2.',
  source: `${SRC}:CIB`,
  signature: [
    c1p,
    c2i,
    param('shortcut', 'bool', 'residual add (only if c1 == c2)', true),
    ep(),
    param('lk', 'bool', 'RepVGGDW as the middle conv', false),
  ],
  build: (b, a) => {
    const c1 = a.channels('c1');
    const c2 = a.channels('c2');
    const c_ = hidden(c2, a.float('e'));
    const cv1 = b.seq([
      construct(b, Conv, [c1, c1, 3], { g: c1 }),
      construct(b, Conv, [c1, 2 * c_, 1]),
      a.bool('lk') ? construct(b, RepVGGDW, [2 * c_]) : construct(b, Conv, [2 * c_, 2 * c_, 3], { g: 2 * c_ }),
      construct(b, Conv, [2 * c_, c2, 1]),
      construct(b, Conv, [c2, c2, 3], { g: c2 }),
    ]);
    const add = a.bool('shortcut') && c1 === c2;
    return b.mod('CIB', { cv1 }, (fl, x) => (add ? fl.add(inputOne(x, 'CIB'), fl.call(cv1, x)) : fl.call(cv1, x)));
  },
};

export const Attention: ModuleDef = {
  name: 'Attention',
  category: 'attention',
  doc:
    'Multi-head self-attention over the pixels with 1\u00d71 Conv q/k/v, a depth-wise 3\u00d73 positional encoding and a ' +
    '1\u00d71 projection.',
  source: `${SRC}:Attention`,
  signature: [
    param('dim', 'channels', 'channels in and out'),
    param('num_heads', 'int', 'attention heads (dim must divide by it)', 8),
    param('attn_ratio', 'float', 'key dimension = int(head_dim * attn_ratio)', f(0.5)),
  ],
  build: (b, a) => {
    const dim = a.channels('dim');
    const nh = a.int('num_heads');
    if (nh === 0)
      throw buildError(
        'ZeroDivisionError: integer division or modulo by zero (Attention num_heads = 0: PSA/C2PSA use int(c1\u00b7e) // 64 heads)',
        'num_heads',
      );
    const headDim = Math.floor(dim / nh);
    const keyDim = Math.trunc(headDim * a.float('attn_ratio'));
    if (keyDim === 0)
      throw buildError(
        `ZeroDivisionError: 0.0 cannot be raised to a negative power (Attention key_dim = int(${headDim} * attn_ratio) = 0)`,
        'attn_ratio',
      );
    const scale = keyDim ** -0.5;
    const h = dim + keyDim * nh * 2;
    const qkv = construct(b, Conv, [dim, h, 1], { act: false });
    const proj = construct(b, Conv, [dim, dim, 1], { act: false });
    const pe = construct(b, Conv, [dim, dim, 3, 1], { g: dim, act: false });
    return b.mod('Attention', { qkv, proj, pe }, (fl, xin) => {
      const x = inputOne(xin, 'Attention');
      const [B, C, H, W] = fl.shape(x) as [number, number, number, number];
      const N = H * W;
      const [q, k, v] = fl.split(fl.view(fl.call(qkv, x), [B, nh, keyDim * 2 + headDim, N]), [keyDim, keyDim, headDim], 2) as [
        typeof x,
        typeof x,
        typeof x,
      ];
      const attn = fl.softmax(fl.scale(fl.matmul(fl.transpose(q, -2, -1), k), scale), -1);
      const y = fl.add(fl.view(fl.matmul(v, fl.transpose(attn, -2, -1)), [B, C, H, W]), fl.call(pe, fl.view(v, [B, C, H, W])));
      return fl.call(proj, y);
    });
  },
};

export const PSABlock: ModuleDef = {
  name: 'PSABlock',
  category: 'attention',
  doc: 'Position-sensitive attention block: Attention then a 1\u00d71 feed-forward (c \u2192 2c \u2192 c), each with a residual add.',
  source: `${SRC}:PSABlock`,
  signature: [
    param('c', 'channels', 'channels in and out'),
    param('attn_ratio', 'float', 'key dimension ratio of the attention', f(0.5)),
    param('num_heads', 'int', 'attention heads', 4),
    param('shortcut', 'bool', 'residual adds', true),
  ],
  build: (b, a) => {
    const c = a.channels('c');
    const attn = construct(b, Attention, [c], { attn_ratio: a.raw('attn_ratio'), num_heads: a.raw('num_heads') });
    const ffn = psaFfn(b, c);
    const add = a.bool('shortcut');
    return b.mod('PSABlock', { attn, ffn }, (fl, xin) => {
      const x = inputOne(xin, 'PSABlock');
      const y = add ? fl.add(x, fl.call(attn, x)) : fl.call(attn, x);
      return add ? fl.add(y, fl.call(ffn, y)) : fl.call(ffn, y);
    });
  },
};

/** `nn.Sequential(Conv(c, c * 2, 1), Conv(c * 2, c, 1, act=False))` */
export const psaFfn = (b: Builder, c: number): Mod =>
  b.seq([construct(b, Conv, [c, c * 2, 1]), construct(b, Conv, [c * 2, c, 1], { act: false })]);

export const makePSA = (heads: PsaHeads, doc: string): ModuleDef => ({
  name: 'PSA',
  category: 'attention',
  doc,
  source: `${SRC}:PSA`,
  signature: [c1p, c2p, ep()],
  build: (b, a) => {
    assertSameChannels(a, 'PSA');
    const c1 = a.channels('c1');
    const c = hidden(c1, a.float('e'));
    const cv1 = construct(b, Conv, [c1, 2 * c, 1, 1]);
    const cv2 = construct(b, Conv, [2 * c, c1, 1]);
    const attn = construct(b, Attention, [c], { attn_ratio: f(0.5), num_heads: heads(c) });
    const ffn = psaFfn(b, c);
    return b.mod('PSA', { cv1, cv2, attn, ffn }, (fl, x) => {
      const [p, q] = fl.split(fl.call(cv1, x), [c, c], 1);
      const q1 = fl.add(q!, fl.call(attn, q!));
      const q2 = fl.add(q1, fl.call(ffn, q1));
      return fl.call(cv2, fl.cat([p!, q2], 1));
    });
  },
});

export const PSA: ModuleDef = makePSA(
  psaHeads83,
  'Position-sensitive attention (YOLOv10): split, Attention (int(c1\u00b7e)//64 heads) + feed-forward on one half, 1\u00d71 ' +
    'Conv back; needs c1 == c2.',
);

export const C2PSA: ModuleDef = {
  name: 'C2PSA',
  category: 'attention',
  doc: 'PSA with n stacked PSABlocks (YOLO11): needs c1 == c2 and int(c1\u00b7e) \u2265 64 (heads = int(c1\u00b7e) // 64).',
  source: `${SRC}:C2PSA`,
  signature: [c1p, c2p, np_('number of PSABlocks (parse_model inserts the scaled repeats)'), ep()],
  build: (b, a) => {
    assertSameChannels(a, 'C2PSA');
    const c1 = a.channels('c1');
    const c = hidden(c1, a.float('e'));
    const cv1 = construct(b, Conv, [c1, 2 * c, 1, 1]);
    const cv2 = construct(b, Conv, [2 * c, c1, 1]);
    const m = b.seq(range(a.int('n')).map(() => construct(b, PSABlock, [c], { attn_ratio: f(0.5), num_heads: Math.floor(c / 64) })));
    return b.mod('C2PSA', { cv1, cv2, m }, (fl, x) => {
      const [p, q] = fl.split(fl.call(cv1, x), [c, c], 1);
      return fl.call(cv2, fl.cat([p!, fl.call(m, q!)], 1));
    });
  },
};

export const SCDown: ModuleDef = {
  name: 'SCDown',
  category: 'conv',
  doc: 'Separable downsampling (YOLOv10): a 1\u00d71 Conv to c2, then a depth-wise k\u00d7k stride-s Conv without activation.',
  source: `${SRC}:SCDown`,
  signature: [c1p, c2p, param('k', 'kernel', 'kernel of the depth-wise conv'), param('s', 'kernel', 'stride of the depth-wise conv')],
  build: (b, a) => {
    const c2 = a.channels('c2');
    const cv1 = construct(b, Conv, [a.raw('c1'), c2, 1, 1]);
    const cv2 = construct(b, Conv, [c2, c2], { k: a.raw('k'), s: a.raw('s'), g: c2, act: false });
    return b.mod('SCDown', { cv1, cv2 }, (fl, x) => fl.call(cv2, fl.call(cv1, x)));
  },
};

export const ULTRALYTICS_BLOCK_MODULES: readonly ModuleDef[] = [
  DFL,
  HGStem,
  HGBlock,
  SPP,
  SPPF,
  C1,
  C2,
  C3,
  C2f,
  C3x,
  C3TR,
  C3Ghost,
  GhostBottleneck,
  Bottleneck,
  BottleneckCSP,
  RepC3,
  ResNetBlock,
  ResNetLayer,
  RepBottleneck,
  RepCSP,
  RepNCSPELAN4,
  ELAN1,
  AConv,
  ADown,
  SPPELAN,
  CBLinear,
  CBFuse,
  C3f,
  C3k2,
  C3k,
  RepVGGDW,
  CIB,
  C2fCIB,
  Attention,
  PSABlock,
  PSA,
  C2PSA,
  C2fPSA,
  SCDown,
];
