/**
 * YOLOv5-style modules, in the two trees that build YOLOv5 YAMLs:
 *  - `head`: ultralytics/yolov5 @ 5081342, `models/common.py`, `models/experimental.py`, `models/yolo.py`;
 *  - `fork`: AlanLi1997/slim-neck-by-gsconv @ 8357ef6 `gsconv-yolov5/models/*` (an older YOLOv5 with the
 *    Slim-neck modules; its Conv is Conv2d + BatchNorm2d + a Mish of its own, with no dilation argument).
 * The classes are the same Python in both trees except where a comment says otherwise, so each is written once
 * as a factory over the tree's Conv.
 */
import { Builder, activationFrom, autopad, asPair } from '../nn/builder.ts';
import { buildError, type Forward, inputList, inputOne, type Mod, type Shape } from '../nn/module.ts';
import { gcd, PyObj, type PyVal, PyTuple, isSeq, seqItems, isInt, pyRepr } from '../py.ts';
import { type Args, construct, f, type ModuleDef, param } from './types.ts';

export type Yolov5Flavour = 'head' | 'fork';

const c1p = param('c1', 'channels', 'input channels (parse_model passes the input layer\u2019s channels)');
const c2p = param('c2', 'channels', 'output channels (scaled by width_multiple)');

export interface Yolov5Kit {
  readonly flavour: Yolov5Flavour;
  readonly Conv: ModuleDef;
  readonly DWConv: ModuleDef;
  readonly Bottleneck: ModuleDef;
  readonly C3: ModuleDef;
  readonly SPP: ModuleDef;
  readonly SPPF: ModuleDef;
  readonly Concat: ModuleDef;
  readonly Detect: ModuleDef;
  readonly all: readonly ModuleDef[];
}

/** torch.cat((a, b), 1) as a forward helper */
const cat1 = <T>(fl: { cat(xs: readonly T[], d: number): T }, ...xs: T[]): T => fl.cat(xs, 1);

export function yolov5Kit(flavour: Yolov5Flavour): Yolov5Kit {
  const file = flavour === 'head' ? 'models/common.py' : 'gsconv-yolov5/models/common.py';
  const src = (cls: string) => `${file}:${cls}`;

  /** The tree's activation for `Conv(act=True)`: HEAD shares one SiLU instance (`Conv.default_act`), the fork
   * makes an `nn.Mish()` per Conv. */
  const defaultAct = (b: Builder): Mod => b.env.convDefaultAct ?? b.act(flavour === 'head' ? 'SiLU' : 'Mish');

  const Conv: ModuleDef = {
    name: 'Conv',
    category: 'conv',
    doc: flavour === 'head' ? 'Conv2d (no bias) + BatchNorm2d + SiLU.' : 'Conv2d (no bias) + BatchNorm2d + Mish (the Slim-neck fork\u2019s Conv).',
    source: src('Conv'),
    signature: [
      c1p,
      c2p,
      param('k', 'kernel', 'kernel size', 1),
      param('s', 'kernel', 'stride', 1),
      param('p', 'kernel', "padding (None: 'same' for odd kernels)", null),
      param('g', 'int', 'groups', 1),
      ...(flavour === 'head' ? [param('d', 'int', 'dilation', 1)] : []),
      param('act', 'act', 'True: the default activation, an nn.Module: that one, else none', true),
    ],
    build: (b, a) => {
      const c1 = a.channels('c1');
      const c2 = a.channels('c2');
      const k = a.pair('k');
      const kRaw = a.raw('k');
      const d = flavour === 'head' ? a.int('d') : 1;
      const kForPad: number | [number, number] = isSeq(kRaw) ? k : k[0];
      const p = autopad(kForPad, a.raw('p'), d);
      const conv = b.conv2d(c1, c2, k, { s: a.pair('s'), p, g: a.int('g'), d, bias: b.fused }, 'k');
      const act = flavour === 'head' ? activationFrom(b, a.raw('act'), () => defaultAct(b)) : a.bool('act') ? b.act('Mish') : b.identity();
      if (b.fused) return b.mod('Conv', { conv, act }, (fl, x) => fl.call(act, fl.call(conv, x)));
      const bn = b.bn(c2);
      return b.mod('Conv', { conv, bn, act }, (fl, x) => fl.call(act, fl.call(bn, fl.call(conv, x))));
    },
  };

  const DWConv: ModuleDef = {
    name: 'DWConv',
    category: 'conv',
    doc: 'Depth-wise Conv: groups = gcd(c1, c2).',
    source: src('DWConv'),
    signature: [
      c1p,
      c2p,
      param('k', 'kernel', 'kernel size', 1),
      param('s', 'kernel', 'stride', 1),
      ...(flavour === 'head' ? [param('d', 'int', 'dilation', 1)] : []),
      param('act', 'act', 'activation flag', true),
    ],
    build: (b, a) => {
      const c1 = a.channels('c1');
      const c2 = a.channels('c2');
      const kw: Record<string, PyVal> = { g: gcd(c1, c2), act: a.raw('act') };
      if (flavour === 'head') kw.d = a.raw('d');
      return { ...construct(b, Conv, [c1, c2, a.raw('k'), a.raw('s')], kw), type: 'DWConv' };
    },
  };

  const Bottleneck: ModuleDef = {
    name: 'Bottleneck',
    category: 'csp',
    doc: 'Conv 1x1 \u2192 Conv 3x3, with a residual add when shortcut and c1 == c2.',
    source: src('Bottleneck'),
    signature: [c1p, c2p, param('shortcut', 'bool', 'residual connection (only if c1 == c2)', true), param('g', 'int', 'groups of the 3x3 conv', 1), param('e', 'float', 'hidden channels = int(c2 * e)', f(0.5))],
    build: (b, a) => {
      const c1 = a.channels('c1');
      const c2 = a.channels('c2');
      const c_ = Math.trunc(c2 * a.float('e'));
      const cv1 = construct(b, Conv, [c1, c_, 1, 1]);
      const cv2 = construct(b, Conv, [c_, c2, 3, 1], { g: a.raw('g') });
      const add = a.bool('shortcut') && c1 === c2;
      return b.mod('Bottleneck', { cv1, cv2 }, (fl, x) => {
        const y = fl.call(cv2, fl.call(cv1, x));
        return add ? fl.add(inputOne(x, 'Bottleneck'), y) : y;
      });
    },
  };

  const BottleneckCSP: ModuleDef = {
    name: 'BottleneckCSP',
    category: 'csp',
    doc: 'CSP bottleneck (CSPNet): n Bottlenecks on one half, a plain conv on the other, BN + SiLU over the concat.',
    source: src('BottleneckCSP'),
    signature: [c1p, c2p, param('n', 'int', 'number of Bottlenecks (parse_model inserts the scaled repeats)', 1), param('shortcut', 'bool', 'residual adds in the Bottlenecks', true), param('g', 'int', 'groups', 1), param('e', 'float', 'hidden channels = int(c2 * e)', f(0.5))],
    build: (b, a) => {
      const c1 = a.channels('c1');
      const c2 = a.channels('c2');
      const c_ = Math.trunc(c2 * a.float('e'));
      const cv1 = construct(b, Conv, [c1, c_, 1, 1]);
      const cv2 = b.conv2d(c1, c_, 1, { bias: false });
      const cv3 = b.conv2d(c_, c_, 1, { bias: false });
      const cv4 = construct(b, Conv, [2 * c_, c2, 1, 1]);
      const bn = b.bn(2 * c_);
      const act = b.act(flavour === 'head' ? 'SiLU' : 'LeakyReLU', flavour === 'head' ? {} : { slope: 0.1 });
      const m = b.seq(range(a.int('n')).map(() => construct(b, Bottleneck, [c_, c_, a.raw('shortcut'), a.raw('g')], { e: f(1.0) })));
      return b.mod('BottleneckCSP', { cv1, cv2, cv3, cv4, bn, act, m }, (fl, x) => {
        const y1 = fl.call(cv3, fl.call(m, fl.call(cv1, x)));
        const y2 = fl.call(cv2, x);
        return fl.call(cv4, fl.call(act, fl.call(bn, cat1(fl, y1, y2))));
      });
    },
  };

  /** C3 and its variants share one constructor; `inner` builds `self.m`. */
  const c3Like = (name: string, doc: string, inner: (b: Builder, a: Args, c_: number) => Mod, sig?: ModuleDef['signature']): ModuleDef => ({
    name,
    category: name === 'C3TR' ? 'transformer' : 'csp',
    doc,
    source: src(name),
    signature: sig ?? [c1p, c2p, param('n', 'int', 'number of inner blocks (parse_model inserts the scaled repeats)', 1), param('shortcut', 'bool', 'residual adds in the inner blocks', true), param('g', 'int', 'groups', 1), param('e', 'float', 'hidden channels = int(c2 * e)', f(0.5))],
    build: (b, a) => {
      const c1 = a.channels('c1');
      const c2 = a.channels('c2');
      const c_ = Math.trunc(c2 * a.float('e'));
      const cv1 = construct(b, Conv, [c1, c_, 1, 1]);
      const cv2 = construct(b, Conv, [c1, c_, 1, 1]);
      const cv3 = construct(b, Conv, [2 * c_, c2, 1]);
      const m = inner(b, a, c_);
      return b.mod(name, { cv1, cv2, cv3, m }, (fl, x) => fl.call(cv3, cat1(fl, fl.call(m, fl.call(cv1, x)), fl.call(cv2, x))));
    },
  });

  const C3 = c3Like('C3', 'CSP bottleneck with 3 convolutions: n Bottlenecks on one branch, a 1x1 conv on the other.', (b, a, c_) =>
    b.seq(range(a.int('n')).map(() => construct(b, Bottleneck, [c_, c_, a.raw('shortcut'), a.raw('g')], { e: f(1.0) }))),
  );

  const SPP: ModuleDef = {
    name: 'SPP',
    category: 'pooling',
    doc: 'Spatial pyramid pooling: parallel max-pools of several sizes, concatenated.',
    source: src('SPP'),
    signature: [c1p, c2p, param('k', 'list', 'pool kernel sizes (a tuple)', new PyTuple([5, 9, 13]))],
    build: (b, a) => {
      const c1 = a.channels('c1');
      const c2 = a.channels('c2');
      const ks = a.intList('k');
      const c_ = Math.floor(c1 / 2);
      const cv1 = construct(b, Conv, [c1, c_, 1, 1]);
      const cv2 = construct(b, Conv, [c_ * (ks.length + 1), c2, 1, 1]);
      const pools = ks.map((k) => b.maxPool2d(k, 1, Math.floor(k / 2), 1, false, 'k'));
      const m = b.list(pools);
      return b.mod('SPP', { cv1, cv2, m }, (fl, x) => {
        const y = fl.call(cv1, x);
        return fl.call(cv2, fl.cat([y, ...pools.map((p) => fl.call(p, y))], 1));
      });
    },
  };

  const SPPF: ModuleDef = {
    name: 'SPPF',
    category: 'pooling',
    doc: 'Fast SPP: one max-pool applied three times in a row, the four maps concatenated.',
    source: src('SPPF'),
    signature: [c1p, c2p, param('k', 'int', 'pool kernel size', 5)],
    build: (b, a) => {
      const c1 = a.channels('c1');
      const c2 = a.channels('c2');
      const k = a.int('k');
      const c_ = Math.floor(c1 / 2);
      const cv1 = construct(b, Conv, [c1, c_, 1, 1]);
      const cv2 = construct(b, Conv, [c_ * 4, c2, 1, 1]);
      const m = b.maxPool2d(k, 1, Math.floor(k / 2), 1, false, 'k');
      return b.mod('SPPF', { cv1, cv2, m }, (fl, x) => {
        const y0 = fl.call(cv1, x);
        const y1 = fl.call(m, y0);
        const y2 = fl.call(m, y1);
        return fl.call(cv2, fl.cat([y0, y1, y2, fl.call(m, y2)], 1));
      });
    },
  };

  const Concat: ModuleDef = {
    name: 'Concat',
    category: 'concat',
    doc: 'Concatenates its inputs along a dimension (channels by default).',
    source: src('Concat'),
    signature: [param('dimension', 'int', 'dimension to concatenate along', 1)],
    build: (b, a) => {
      const d = a.int('dimension');
      return b.mod('Concat', {}, (fl, x) => fl.cat(inputList(x, 'Concat'), d));
    },
  };

  const Detect = detectDef(flavour, src, false);

  const all: ModuleDef[] = [Conv, DWConv, Bottleneck, BottleneckCSP, C3, SPP, SPPF, Concat, Detect];
  return { flavour, Conv, DWConv, Bottleneck, C3, SPP, SPPF, Concat, Detect, all };
}

export function range(n: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(i);
  return out;
}

/** anchors as Detect receives them: a list of rows of 2·na numbers (parse_model expands an int itself). */
function anchorRows(v: PyVal): number[][] {
  if (!isSeq(v)) throw buildError(`anchors must be a list of rows, got ${pyRepr(v)}`, 'anchors');
  return seqItems(v).map((row) => {
    if (!isSeq(row)) throw buildError(`object of type '${typeof row}' has no len() (each anchors row must be a list)`, 'anchors');
    return seqItems(row).map((x) => {
      if (!isInt(x) && !(x instanceof Object && 'value' in x)) throw buildError(`anchor values must be numbers, got ${pyRepr(x)}`, 'anchors');
      return typeof x === 'number' ? x : (x as { value: number }).value;
    });
  });
}

/** YOLOv5 Detect (and Segment in HEAD): anchor-based, one 1x1 conv per input level. */
function detectDef(flavour: Yolov5Flavour, src: (c: string) => string, segment: boolean): ModuleDef {
  const name = segment ? 'Segment' : 'Detect';
  return {
    name,
    category: 'head',
    doc: segment ? 'YOLOv5 segmentation head: Detect plus mask coefficients and a Proto branch.' : 'YOLOv5 detection head: per level a 1x1 conv to na\u00b7(nc+5) outputs, decoded with anchors.',
    source: flavour === 'head' ? 'models/yolo.py:' + name : 'gsconv-yolov5/models/yolo.py:' + name,
    multiOutput: true,
    signature: [
      param('nc', 'int', 'number of classes', 80),
      param('anchors', 'list', 'anchor rows per level (or an int: anchors per level)', new PyTuple([])),
      ...(segment ? [param('nm', 'int', 'number of masks', 32), param('npr', 'channels', 'number of protos (scaled by width_multiple)', 256)] : []),
      param('ch', 'list', 'input channels per level (parse_model appends them)', new PyTuple([])),
      param('inplace', 'bool', 'use in-place ops', true),
    ],
    build: (b, a) => {
      const nc = a.int('nc');
      const rows = anchorRows(a.raw('anchors'));
      const nl = rows.length;
      if (nl === 0) throw buildError('list index out of range (anchors is empty)', 'anchors');
      const na = Math.floor(rows[0]!.length / 2);
      const nm = segment ? a.int('nm') : 0;
      const no = nc + 5 + nm;
      const chRaw = a.raw('ch');
      const ch = isSeq(chRaw) ? seqItems(chRaw).map((c) => (typeof c === 'number' ? c : NaN)) : [];
      const convs = ch.map((c) => b.conv2d(c, no * na, 1));
      const m = b.list(convs);
      const proto = segment ? buildProto(b, ch[0]!, a.int('npr'), nm) : null;
      const forward: Forward = (fl, xin) => {
        const xs = [...inputList(xin, name)];
        if (xs.length < nl) throw buildError(`list index out of range: Detect has ${nl} anchor rows but ${xs.length} inputs`);
        const z: (typeof xs)[number][] = [];
        const p = proto ? (fl.call(proto, xs[0]!)) : null;
        for (let i = 0; i < nl; i++) {
          const y = fl.call(convs[i]!, xs[i]!);
          const [bs, , ny, nx] = fl.shape(y) as Shape as [number, number, number, number];
          xs[i] = fl.permute(fl.view(y, [bs, na, no, ny, nx]), [0, 1, 3, 4, 2]);
          // decoded boxes: same shape as the raw map, flattened per image
          z.push(fl.view(fl.sigmoid(xs[i]!), [bs, na * nx * ny, no]));
        }
        const det = fl.cat(z, 1);
        return segment ? [det, p, xs] : [det, xs];
      };
      return b.mod(name, proto ? { m, proto } : { m }, forward, { attrs: { anchors: rows, na, nl, no } });
    },
  };

  function buildProto(b: Builder, c1: number, c_: number, c2: number): Mod {
    void b;
    void c1;
    void c_;
    void c2;
    throw buildError('Segment is not available in this tree');
  }
}

export { activationFrom, autopad, asPair, PyObj };
