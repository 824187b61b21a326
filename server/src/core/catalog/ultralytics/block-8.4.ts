/**
 * ultralytics 8.4.33 nn/modules/block.py where it differs from the 8.3 file (block.ts) and what it adds:
 *  - changed: SPPF (`n` pools, `shortcut`, its cv1 without activation), C3k2 (`attn`: Bottleneck + PSABlock blocks),
 *    RepC3 (1x1 branches of int(c2 * e) channels), PSA / C2fPSA (at least one attention head), C3TR (8.4's
 *    TransformerBlock);
 *  - new: A2C2f with AAttn / ABlock (YOLO12 area attention), the YOLOE pieces (SwiGLUFFN, Residual, SAVPE), Proto26,
 *    RealNVP (Pose26's flow model) and TorchVision.
 * Every other class of that file is the 8.3 one and is reused from block.ts.
 */
import type { Builder } from '../../nn/builder.ts';
import { buildError, type Flow, inputList, inputOne, type Mod, ShapeError } from '../../nn/module.ts';
import { pyRepr, type PyVal } from '../../py.ts';
import { construct, f, type ModuleDef, param } from '../types.ts';
import { range } from '../yolov5.ts';
import { buildTorchvisionModel } from '../torchvision.ts';
import { c1p, c2p, hidden } from './common.ts';
import { Conv } from './conv.ts';
import { TransformerBlock } from './transformer-8.4.ts';
import {
  Bottleneck,
  C3k,
  C3TR as C3TR83,
  C3k2 as C3k2_83,
  PSABlock,
  type PsaHeads,
  c2fLike,
  c3Like,
  ep,
  gp,
  makeC2fPSA,
  makePSA,
  makeRepC3,
  np_,
  shortcutp,
} from './block.ts';
import { ModuleArg } from './transformer.ts';
import { protoParts } from './head.ts';

const SRC = 'ultralytics/nn/modules/block.py';

/** 8.4's PSA / C2fPSA / C3k2-attn head count: `max(c // 64, 1)`. */
const psaHeads84: PsaHeads = (c) => Math.max(Math.floor(c / 64), 1);

export const SPPF: ModuleDef = {
  name: 'SPPF',
  category: 'pooling',
  doc:
    'Fast SPP: a 1\u00d71 Conv without activation, one max-pool applied n times in a row, the n + 1 maps ' +
    'concatenated; optional residual add when c1 == c2.',
  source: `${SRC}:SPPF`,
  signature: [
    c1p,
    c2p,
    param('k', 'int', 'pool kernel size', 5),
    param('n', 'int', 'number of chained max-pools', 3),
    param('shortcut', 'bool', 'residual add of the input (only if c1 == c2)', false),
  ],
  build: (b, a) => {
    const c1 = a.channels('c1');
    const k = a.int('k');
    const n = a.int('n');
    const c_ = Math.floor(c1 / 2);
    const cv1 = construct(b, Conv, [c1, c_, 1, 1], { act: false });
    const cv2 = construct(b, Conv, [c_ * (n + 1), a.raw('c2'), 1, 1]);
    const m = b.maxPool2d(k, 1, Math.floor(k / 2), 1, false, 'k');
    const add = a.bool('shortcut') && c1 === a.channels('c2');
    return b.mod('SPPF', { cv1, cv2, m }, (fl, xin) => {
      const x = inputOne(xin, 'SPPF');
      const y = [fl.call(cv1, x)];
      for (let i = 0; i < n; i++) y.push(fl.call(m, y[y.length - 1]!));
      const out = fl.call(cv2, fl.cat(y, 1));
      return add ? fl.add(out, x) : out;
    });
  },
};

export const C3k2: ModuleDef = {
  name: 'C3k2',
  category: 'csp',
  doc:
    'C2f with Bottlenecks (e=0.5), C3k blocks when c3k, or Bottleneck + PSABlock pairs when attn; parse_model ' +
    'forces c3k for scales m/l/x.',
  source: `${SRC}:C3k2`,
  signature: [
    ...C3k2_83.signature.slice(0, 5),
    param('attn', 'bool', 'each inner block a Bottleneck followed by a PSABlock (max(c // 64, 1) heads)', false),
    ...C3k2_83.signature.slice(5),
  ],
  build: (b, a) =>
    c2fLike(b, a, 'C3k2', {
      shortcut: a.raw('shortcut'),
      g: a.raw('g'),
      inner: (c) =>
        range(a.int('n')).map(() =>
          a.bool('attn')
            ? b.seq([
                construct(b, Bottleneck, [c, c, a.raw('shortcut'), a.raw('g')]),
                construct(b, PSABlock, [c], { attn_ratio: f(0.5), num_heads: psaHeads84(c) }),
              ])
            : a.bool('c3k')
              ? construct(b, C3k, [c, c, 2, a.raw('shortcut'), a.raw('g')])
              : construct(b, Bottleneck, [c, c, a.raw('shortcut'), a.raw('g')]),
        ),
    }),
};

export const RepC3: ModuleDef = makeRepC3(true);

export const PSA: ModuleDef = makePSA(
  psaHeads84,
  'Position-sensitive attention (YOLOv10): split, Attention (max(int(c1\u00b7e) // 64, 1) heads) + feed-forward on one half, ' +
    '1\u00d71 Conv back; needs c1 == c2.',
);

export const C2fPSA: ModuleDef = makeC2fPSA(
  psaHeads84,
  'C2f with PSABlocks (position-sensitive attention, max(int(c2\u00b7e) // 64, 1) heads) instead of Bottlenecks; needs c1 == c2.',
);

export const C3TR: ModuleDef = {
  ...C3TR83,
  build: (b, a) => c3Like(b, a, 'C3TR', (c_) => construct(b, TransformerBlock, [c_, c_, 4, a.raw('n')])),
};

// ---- YOLO12 area attention

export const AAttn: ModuleDef = {
  name: 'AAttn',
  category: 'attention',
  doc:
    'Area attention (YOLO12): the map is cut into `area` horizontal strips, self-attention runs within each; ' +
    '1\u00d71 qkv, a 7\u00d77 depth-wise positional conv on v, a 1\u00d71 projection.',
  source: `${SRC}:AAttn`,
  signature: [
    param('dim', 'channels', 'channels in and out'),
    param('num_heads', 'int', 'attention heads (head_dim = dim // num_heads)'),
    param('area', 'int', 'strips the tokens are split into (H\u00b7W must divide by it)', 1),
  ],
  build: (b, a) => {
    const dim = a.channels('dim');
    const nh = a.int('num_heads');
    const area = a.int('area');
    if (nh === 0) throw buildError('ZeroDivisionError: integer division or modulo by zero (AAttn num_heads = 0)', 'num_heads');
    const hd = Math.floor(dim / nh);
    const ahd = hd * nh;
    const qkv = construct(b, Conv, [dim, ahd * 3, 1], { act: false });
    const proj = construct(b, Conv, [ahd, dim, 1], { act: false });
    const pe = construct(b, Conv, [ahd, ahd, 7, 1, 3], { g: ahd, act: false });
    return b.mod('AAttn', { qkv, proj, pe }, <T>(fl: Flow<T>, xin: T | readonly T[]) => {
      const x = inputOne(xin, 'AAttn');
      const [B0, , H, W] = fl.shape(x) as [number, number, number, number];
      const N0 = H * W;
      let t = fl.transpose(fl.flatten(fl.call(qkv, x), 2), 1, 2);
      let B = B0;
      let N = N0;
      if (area > 1) {
        t = fl.view(t, [B0 * area, Math.floor(N0 / area), ahd * 3]);
        B = B0 * area;
        N = Math.floor(N0 / area);
      }
      const [q, k, v] = fl.split(fl.permute(fl.view(t, [B, N, nh, hd * 3]), [0, 2, 3, 1]), [hd, hd, hd], 2) as [T, T, T];
      const attn = fl.softmax(fl.scale(fl.matmul(fl.transpose(q, -2, -1), k), hd ** -0.5), -1);
      let o = fl.permute(fl.matmul(v, fl.transpose(attn, -2, -1)), [0, 3, 1, 2]);
      let vv = fl.permute(v, [0, 3, 1, 2]);
      if (area > 1) {
        o = fl.view(o, [Math.floor(B / area), N * area, ahd]);
        vv = fl.view(vv, [Math.floor(B / area), N * area, ahd]);
        B = Math.floor(B / area);
      }
      o = fl.permute(fl.view(o, [B, H, W, ahd]), [0, 3, 1, 2]);
      vv = fl.permute(fl.view(vv, [B, H, W, ahd]), [0, 3, 1, 2]);
      return fl.call(proj, fl.add(o, fl.call(pe, vv)));
    });
  },
};

export const ABlock: ModuleDef = {
  name: 'ABlock',
  category: 'attention',
  doc:
    'Area-attention block: AAttn and a 1\u00d71 Conv feed-forward (dim \u2192 int(dim\u00b7mlp_ratio) \u2192 dim), ' +
    'each with a residual add.',
  source: `${SRC}:ABlock`,
  signature: [
    param('dim', 'channels', 'channels in and out'),
    param('num_heads', 'int', 'attention heads'),
    param('mlp_ratio', 'float', 'feed-forward width = int(dim * mlp_ratio)', f(1.2)),
    param('area', 'int', 'strips of the area attention', 1),
  ],
  build: (b, a) => {
    const dim = a.channels('dim');
    const attn = construct(b, AAttn, [dim], { num_heads: a.raw('num_heads'), area: a.raw('area') });
    const mlpHidden = hidden(dim, a.float('mlp_ratio'));
    const mlp = b.seq([construct(b, Conv, [dim, mlpHidden, 1]), construct(b, Conv, [mlpHidden, dim, 1], { act: false })]);
    return b.mod('ABlock', { attn, mlp }, (fl, xin) => {
      const x = inputOne(xin, 'ABlock');
      const y = fl.add(x, fl.call(attn, x));
      return fl.add(y, fl.call(mlp, y));
    });
  },
};

export const A2C2f: ModuleDef = {
  name: 'A2C2f',
  category: 'attention',
  doc:
    'Residual area-attention ELAN block (YOLO12): a 1\u00d71 Conv, n stages of two ABlocks (or C3k when not a2) ' +
    'chained, all concatenated, 1\u00d71 Conv; l/x scales add a learnt residual scale.',
  source: `${SRC}:A2C2f`,
  signature: [
    c1p,
    c2p,
    np_('number of stages (parse_model inserts the scaled repeats)'),
    param('a2', 'bool', 'area-attention stages (two ABlocks each) instead of C3k', true),
    param('area', 'int', 'strips of the area attention (1: global attention)', 1),
    param('residual', 'bool', 'x + gamma \u00b7 y with a learnt gamma (parse_model sets it at scales l and x)', false),
    param('mlp_ratio', 'float', 'feed-forward ratio of the ABlocks (parse_model sets 1.2 at scales l and x)', f(2.0)),
    ep(),
    gp,
    shortcutp(true),
  ],
  build: (b, a) => {
    const c2 = a.channels('c2');
    const c_ = hidden(c2, a.float('e'));
    if (c_ % 32 !== 0) throw buildError(`AssertionError: Dimension of ABlock must be a multiple of 32. (int(c2 * e) = ${c_})`, 'c2');
    const n = a.int('n');
    const a2 = a.bool('a2');
    const cv1 = construct(b, Conv, [a.raw('c1'), c_, 1, 1]);
    const cv2 = construct(b, Conv, [(1 + n) * c_, c2, 1]);
    const withGamma = a2 && a.bool('residual');
    const stages = range(n).map(() =>
      a2
        ? b.seq(range(2).map(() => construct(b, ABlock, [c_, Math.floor(c_ / 32), a.raw('mlp_ratio'), a.raw('area')])))
        : construct(b, C3k, [c_, c_, 2, a.raw('shortcut'), a.raw('g')]),
    );
    const m = b.list(stages);
    const mod: Mod = b.mod(
      'A2C2f',
      { cv1, cv2, m },
      <T>(fl: Flow<T>, xin: T | readonly T[]) => {
        const x = inputOne(xin, 'A2C2f');
        const y = [fl.call(cv1, x)];
        for (const s of stages) y.push(fl.call(s, y[y.length - 1]!));
        const out = fl.call(cv2, fl.cat(y, 1));
        if (!withGamma) return out;
        return fl.add(x, fl.mul(fl.view(fl.param(mod, 'gamma'), [-1, c2, 1, 1]), out));
      },
      withGamma ? { params: { gamma: { shape: [c2], init: 0.01 } } } : {},
    );
    return mod;
  },
};

// ---- YOLOE pieces (the head's text-prompt and visual-prompt branches)

export const SwiGLUFFN: ModuleDef = {
  name: 'SwiGLUFFN',
  category: 'transformer',
  doc: 'SwiGLU feed-forward: Linear to e\u00b7ec, halves gated as silu(x1) \u00b7 x2, Linear back to ec.',
  source: `${SRC}:SwiGLUFFN`,
  signature: [param('gc', 'int', 'input width'), param('ec', 'int', 'output width'), param('e', 'int', 'expansion of the hidden width', 4)],
  build: (b, a) => {
    const ec = a.channels('ec');
    const e = a.int('e');
    const w12 = b.linear(a.channels('gc'), e * ec);
    const w3 = b.linear(Math.floor((e * ec) / 2), ec);
    return b.mod('SwiGLUFFN', { w12, w3 }, <T>(fl: Flow<T>, x: T | readonly T[]) => {
      const [x1, x2] = fl.chunk(fl.call(w12, x), 2, -1) as [T, T];
      // F.silu is functional: x * sigmoid(x), never counted
      return fl.call(w3, fl.mul(fl.mul(x1, fl.sigmoid(x1)), x2));
    });
  },
};

export const Residual: ModuleDef = {
  name: 'Residual',
  category: 'misc',
  doc: 'x + m(x) around a module (YOLOE wraps its text-prompt SwiGLUFFN in it).',
  source: `${SRC}:Residual`,
  signature: [param('m', 'any', 'the wrapped module (a SwiGLUFFN: its w3 is zero-initialised)')],
  build: (b, a) => {
    const inner = a.raw('m');
    if (!(inner instanceof ModuleArg)) throw buildError(`Residual needs a module with a w3 Linear, got ${pyRepr(inner)}`, 'm');
    const m = inner.make(b);
    return b.mod('Residual', { m }, (fl, xin) => {
      const x = inputOne(xin, 'Residual');
      return fl.add(x, fl.call(m, x));
    });
  },
};

export const SAVPE: ModuleDef = {
  name: 'SAVPE',
  category: 'head',
  doc:
    'Spatial-aware visual prompt embedding (YOLOE): fuses the three levels and pools them under each visual prompt ' +
    'mask; runs only with visual prompts.',
  source: `${SRC}:SAVPE`,
  signature: [
    param('ch', 'list', 'input channels per level'),
    param('c3', 'channels', 'hidden channels'),
    param('embed', 'int', 'embedding width'),
  ],
  build: (b, a) => {
    const ch = a.intList('ch');
    const c3 = a.channels('c3');
    const embed = a.channels('embed');
    const up = (i: number) => (i === 1 || i === 2 ? b.upsample(null, [i * 2, i * 2], 'nearest') : b.identity());
    const cv1 = b.list(ch.map((x, i) => b.seq([construct(b, Conv, [x, c3, 3]), construct(b, Conv, [c3, c3, 3]), up(i)])));
    const cv2 = b.list(ch.map((x, i) => b.seq([construct(b, Conv, [x, c3, 1]), up(i)])));
    const c = 16;
    const cv3 = b.conv2d(3 * c3, embed, 1);
    const cv4 = b.conv2d(3 * c3, c, 3, { p: 1 });
    const cv5 = b.conv2d(1, c, 3, { p: 1 });
    const cv6 = b.seq([construct(b, Conv, [2 * c, c, 3]), b.conv2d(c, c, 3, { p: 1 })]);
    return b.mod('SAVPE', { cv1, cv2, cv3, cv4, cv5, cv6 }, () => {
      throw new ShapeError('SAVPE runs only with visual prompts (YOLOEModel.get_visual_pe), which a model YAML does not give');
    });
  },
};

export const Proto26: ModuleDef = {
  name: 'Proto26',
  category: 'head',
  doc:
    'YOLO26 mask prototypes: the other levels refined to ch[0], upsampled (nearest) and added to the first, a ' +
    '3\u00d73 Conv, then Proto; a semantic-segmentation branch used in training only.',
  source: `${SRC}:Proto26`,
  signature: [
    param('ch', 'list', 'input channels per level', []),
    param('c_', 'channels', 'number of protos (hidden width)', 256),
    param('c2', 'channels', 'number of masks', 32),
    param('nc', 'int', 'classes of the semantic-segmentation branch', 80),
  ],
  // model.fuse() never calls Proto26.fuse() itself: the end2end heads that own one do (see proto26 in the heads)
  build: (b, a) => proto26(b, a.intList('ch'), a.channels('c_'), a.raw('c2'), a.int('nc'), true),
};

/**
 * Proto26(ch, c_, c2, nc): `super().__init__(c_, c_, c2)` (Proto's cv1, upsample, cv2, cv3), then feat_refine,
 * feat_fuse and the training-only semseg, which Segment26.fuse / YOLOESegment.fuse of an end2end head set to None
 * (`semseg` false).
 */
export function proto26(b: Builder, ch: readonly number[], npr: number, c2: PyVal, nc: number, semseg: boolean): Mod {
  if (ch.length === 0) throw buildError('IndexError: tuple index out of range (Proto26 needs at least one level: ch is empty)', 'ch');
  const p = protoParts(b, npr, npr, c2);
  const featRefine = ch.slice(1).map((x) => construct(b, Conv, [x, ch[0]!], { k: 1 }));
  const featFuse = construct(b, Conv, [ch[0]!, npr], { k: 3 });
  const sem = semseg
    ? b.seq([construct(b, Conv, [ch[0]!, npr], { k: 3 }), construct(b, Conv, [npr, npr], { k: 3 }), b.conv2d(npr, nc, 1)])
    : null;
  return b.mod(
    'Proto26',
    { ...p.children, feat_refine: b.list(featRefine), feat_fuse: featFuse, semseg: sem },
    <T>(fl: Flow<T>, xin: T | readonly T[]) => {
      const xs = inputList(xin, 'Proto26');
      if (xs.length === 0) throw new ShapeError('list index out of range: Proto26 got no input levels');
      let feat: T = xs[0] as T;
      const size = fl.shape(feat).slice(2) as [number, number];
      featRefine.forEach((m, i) => {
        const x = xs[i + 1];
        if (x === undefined)
          throw new ShapeError(`list index out of range: Proto26 refines ${featRefine.length + 1} levels, got ${xs.length}`);
        feat = fl.add(feat, fl.interpolate(fl.call(m, x), size, null, 'nearest'));
      });
      return p.forward(fl, fl.call(featFuse, feat));
    },
  );
}

/** Pose26's normalizing flow (RealNVP): six coupling layers of small MLPs; only its log_prob, in the training loss, runs it. */
export const RealNVP: ModuleDef = {
  name: 'RealNVP',
  category: 'misc',
  doc:
    'RealNVP normalizing flow of Pose26 (residual log-likelihood estimation): six coupling layers (s and t MLPs ' +
    '2\u219264\u219264\u21922); training only.',
  source: `${SRC}:RealNVP`,
  signature: [],
  build: (b) => {
    const mlp = (tanh: boolean) =>
      b.seq([b.linear(2, 64), b.act('SiLU'), b.linear(64, 64), b.act('SiLU'), b.linear(64, 2), ...(tanh ? [b.act('Tanh')] : [])]);
    // buffers loc (2), cov (2x2), mask (6x2): state, not parameters
    const s = b.list(range(6).map(() => mlp(true)));
    const t = b.list(range(6).map(() => mlp(false)));
    return b.mod('RealNVP', { s, t }, () => {
      throw new ShapeError('RealNVP is called only by the pose loss (log_prob), not in a forward pass');
    });
  },
};

// ---- TorchVision

export const TorchVision: ModuleDef = {
  name: 'TorchVision',
  category: 'misc',
  doc:
    'A torchvision model as a layer: its children without the last `truncate` (unwrap), or whole with the head ' +
    'removed; split returns every intermediate map.',
  source: `${SRC}:TorchVision`,
  signature: [
    param('model', 'str', 'torchvision model name (torchvision.models.get_model), e.g. resnet18'),
    param('weights', 'str', "pretrained weights ('DEFAULT', a weights name, or None)", 'DEFAULT'),
    param('unwrap', 'bool', 'rebuild as nn.Sequential of the model\u2019s children', true),
    param('truncate', 'int', 'children dropped from the end when unwrapping', 2),
    param('split', 'bool', 'return the input and every child\u2019s output (a list)', false),
  ],
  build: (b, a) => {
    const name = a.raw('model');
    if (typeof name !== 'string') throw buildError(`TorchVision model must be a model name (a string), got ${pyRepr(name)}`, 'model');
    const w = a.raw('weights');
    if (w !== null && typeof w !== 'string')
      throw buildError(`TorchVision weights must be a weights name or None, got ${pyRepr(w)}`, 'weights');
    const tv = buildTorchvisionModel(b, name);
    if (!a.bool('unwrap')) {
      // `self.m.head = self.m.heads = nn.Identity()`: one Identity registered under two more names; the model's own
      // forward runs unchanged
      const id = b.identity();
      const m = { ...tv.model, children: [...tv.model.children, ['head', id] as const, ['heads', id] as const] };
      return b.mod('TorchVision', { m }, (fl, x) => fl.call(m, x));
    }
    let layers = tv.children;
    if (layers[0]?.type === 'Sequential') layers = [...layers[0].children.map(([, c]) => c), ...layers.slice(1)];
    const truncate = a.int('truncate');
    if (truncate) layers = layers.slice(0, pySliceEnd(-truncate, layers.length));
    const m = b.seq(layers);
    const split = a.bool('split');
    return b.mod('TorchVision', { m }, <T>(fl: Flow<T>, xin: T | readonly T[]) => {
      if (!split) return fl.call(m, xin);
      const y = [inputOne(xin, 'TorchVision')];
      for (const l of layers) y.push(fl.call(l, y[y.length - 1]!));
      return y;
    });
  },
};

/** The end of Python's `xs[:end]` for a list of `len` items. */
function pySliceEnd(end: number, len: number): number {
  return end < 0 ? Math.max(0, len + end) : Math.min(end, len);
}

/** LRPCHead as parse_model would build it from a YAML: its vocab, pf and loc must be modules, which a YAML cannot give. */
export const LRPCHead: ModuleDef = {
  name: 'LRPCHead',
  category: 'head',
  doc:
    'Lightweight region-proposal and classification head of a prompt-free YOLOE (set_vocab installs it); its ' +
    'arguments are modules, so a YAML cannot build it.',
  source: 'ultralytics/nn/modules/head.py:LRPCHead',
  signature: [
    param('vocab', 'any', 'vocabulary conv (an nn.Conv2d)'),
    param('pf', 'any', 'proposal-filter conv'),
    param('loc', 'any', 'localization conv'),
    param('enabled', 'bool', 'filter proposals (vocab turned into a Linear)', true),
  ],
  build: (b, a) => {
    if (a.bool('enabled'))
      throw buildError(
        `AssertionError: LRPCHead.conv2linear needs an nn.Conv2d vocab with a 1x1 kernel, got ${pyRepr(a.raw('vocab'))}`,
        'vocab',
      );
    return b.mod('LRPCHead', {}, () => {
      throw new ShapeError(`'${typeOf(a.raw('vocab'))}' object is not callable (LRPCHead.vocab is not a module)`);
    });
  },
};

const typeOf = (v: PyVal): string =>
  v === null ? 'NoneType' : typeof v === 'string' ? 'str' : typeof v === 'boolean' ? 'bool' : typeof v === 'number' ? 'int' : 'object';

/** Residual(SwiGLUFFN(embed, embed)), as YOLOEDetect builds its `reprta`. */
export const residualSwiGLU = (b: Builder, embed: number): Mod =>
  construct(b, Residual, [new ModuleArg('SwiGLUFFN', 'SwiGLUFFN(...)', (bb) => construct(bb, SwiGLUFFN, [embed, embed]))]);

export const ULTRALYTICS_84_BLOCK_MODULES: readonly ModuleDef[] = [
  SPPF,
  C3k2,
  RepC3,
  PSA,
  C2fPSA,
  C3TR,
  AAttn,
  ABlock,
  A2C2f,
  SwiGLUFFN,
  Residual,
  SAVPE,
  Proto26,
  RealNVP,
  TorchVision,
  LRPCHead,
];
