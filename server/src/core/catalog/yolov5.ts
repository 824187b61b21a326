/**
 * YOLOv5-style modules, in the two YOLOv5 trees:
 *  - `upstream`: ultralytics/yolov5 @ 5081342, `models/common.py`, `models/experimental.py`, `models/yolo.py`;
 *  - `fork`: AlanLi1997/slim-neck-by-gsconv @ 8357ef6 `gsconv-yolov5/models/*` (an older YOLOv5 with the
 *    Slim-neck modules; its Conv is Conv2d + BatchNorm2d + a Mish of its own, with no dilation argument).
 * The classes are the same Python in both trees except where a comment says otherwise, so most are written once
 * as factories over the tree's Conv; the Scaled-YOLOv4 tree (`scaled-yolov4.ts`) reuses the factories whose
 * Python it shares.
 */
import { Builder, autopad, asPair } from '../nn/builder.ts';
import { activationFrom } from './activation.ts';
import {
  buildError,
  type Flow,
  type Forward,
  type ForwardCtx,
  inputList,
  inputOne,
  type In,
  type Mod,
  type Out,
  ShapeError,
} from '../nn/module.ts';
import { gcd, PyObj, type PyVal, PyTuple, isSeq, seqItems, isNumeric, num, pyEq, pyRepr, pyRound } from '../py.ts';
import { type Args, construct, f, type ModuleDef, param } from './types.ts';

/** `upstream`: ultralytics/yolov5 itself; `fork`: the Slim-neck YOLOv5 fork. */
export type Yolov5Flavour = 'upstream' | 'fork';
/** The three anchor-based Detect heads differ in their signature and in how the model build orders anchors. */
export type DetectKind = Yolov5Flavour | 'sv4';

export const c1p = param('c1', 'channels', 'input channels (parse_model passes the input layer\u2019s channels)');
export const c2p = param('c2', 'channels', 'output channels (scaled by width_multiple)');
const np = (doc: string) => param('n', 'int', doc, 1);
const nRepeats = np('number of inner blocks (parse_model inserts the scaled repeats)');
const shortcutP = param('shortcut', 'bool', 'residual adds in the inner blocks', true);
const gP = param('g', 'int', 'groups', 1);
const eP = param('e', 'float', 'hidden channels = int(c2 * e)', f(0.5));

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
  /** the names `models/yolo.py` can evaluate (its namespace), in definition order */
  readonly all: readonly ModuleDef[];
  /** classes built only inside others (upstream yolov5 does not import them into yolo.py) */
  readonly internal: readonly ModuleDef[];
}

/** torch.cat((a, b), 1) as a forward helper */
const cat1 = <T>(fl: Flow<T>, ...xs: T[]): T => fl.cat(xs, 1);

/**
 * Most blocks a builder repeats (bottlenecks, decoder layers, HarDBlock layers...): parse_model's own repeats stop
 * at 4096, but a count written straight into the args (`RepNCSPELAN4 [64, 32, 16, 1000000000]`) reached the
 * builders unchecked and ran out of memory (found by the hardening tests).
 */
export const MAX_BLOCKS = 4096;

export function checkBlocks(n: number, what = 'n'): void {
  if (n > MAX_BLOCKS)
    throw buildError(`${what} = ${n} repeated blocks is beyond anything buildable (YOLO Lens builds at most ${MAX_BLOCKS})`);
}

export function range(n: number): number[] {
  checkBlocks(n);
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(i);
  return out;
}

/** Python `int(x * e)` for a hidden channel count. */
const hidden = (c2: number, e: number): number => Math.trunc(c2 * e);

/** `s == 2` in Python: true for 2, 2.0 and nothing else. */
const equals = (v: PyVal, n: number): boolean => pyEq(v, n);

// ---- factories over a tree's Conv ---------------------------------------------------------------------------

export function bottleneckDef(Conv: ModuleDef, src: string): ModuleDef {
  return {
    name: 'Bottleneck',
    category: 'csp',
    doc: 'Conv 1x1 \u2192 Conv 3x3, with a residual add when shortcut and c1 == c2.',
    source: src,
    signature: [
      c1p,
      c2p,
      param('shortcut', 'bool', 'residual connection (only if c1 == c2)', true),
      param('g', 'int', 'groups of the 3x3 conv', 1),
      eP,
    ],
    build: (b, a) => {
      const c1 = a.channels('c1');
      const c2 = a.channels('c2');
      const c_ = hidden(c2, a.float('e'));
      const cv1 = construct(b, Conv, [c1, c_, 1, 1]);
      const cv2 = construct(b, Conv, [c_, c2, 3, 1], { g: a.raw('g') });
      const add = a.bool('shortcut') && c1 === c2;
      return b.mod('Bottleneck', { cv1, cv2 }, (fl, x) => {
        const y = fl.call(cv2, fl.call(cv1, x));
        return add ? fl.add(inputOne(x, 'Bottleneck'), y) : y;
      });
    },
  };
}

/** BottleneckCSP: identical in the three trees except the activation after the BatchNorm. */
export function bottleneckCspDef(
  Conv: ModuleDef,
  Bottleneck: ModuleDef,
  src: string,
  act: (b: Builder) => Mod,
  actName: string,
): ModuleDef {
  return {
    name: 'BottleneckCSP',
    category: 'csp',
    doc: `CSP bottleneck (CSPNet): n Bottlenecks on one half, a plain conv on the other, BatchNorm + ${actName} over the concat.`,
    source: src,
    signature: [
      c1p,
      c2p,
      np('number of Bottlenecks (parse_model inserts the scaled repeats)'),
      param('shortcut', 'bool', 'residual adds in the Bottlenecks', true),
      gP,
      eP,
    ],
    build: (b, a) => {
      const c1 = a.channels('c1');
      const c2 = a.channels('c2');
      const c_ = hidden(c2, a.float('e'));
      const cv1 = construct(b, Conv, [c1, c_, 1, 1]);
      const cv2 = b.conv2d(c1, c_, 1, { bias: false });
      const cv3 = b.conv2d(c_, c_, 1, { bias: false });
      const cv4 = construct(b, Conv, [2 * c_, c2, 1, 1]);
      const bn = b.bn(2 * c_);
      const actM = act(b);
      const m = b.seq(range(a.int('n')).map(() => construct(b, Bottleneck, [c_, c_, a.raw('shortcut'), a.raw('g')], { e: f(1.0) })));
      return b.mod('BottleneckCSP', { cv1, cv2, cv3, cv4, bn, act: actM, m }, (fl, x) => {
        const y1 = fl.call(cv3, fl.call(m, fl.call(cv1, x)));
        const y2 = fl.call(cv2, x);
        return fl.call(cv4, fl.call(actM, fl.call(bn, cat1(fl, y1, y2))));
      });
    },
  };
}

export function crossConvDef(Conv: ModuleDef, src: string): ModuleDef {
  return {
    name: 'CrossConv',
    category: 'conv',
    doc: 'Cross convolution: a 1xk then a kx1 Conv, with a residual add when shortcut and c1 == c2.',
    source: src,
    signature: [
      c1p,
      c2p,
      param('k', 'int', 'kernel length', 3),
      param('s', 'int', 'stride', 1),
      gP,
      param('e', 'float', 'hidden channels = int(c2 * e)', f(1.0)),
      param('shortcut', 'bool', 'residual add (only if c1 == c2)', false),
    ],
    build: (b, a) => {
      const c1 = a.channels('c1');
      const c2 = a.channels('c2');
      const c_ = hidden(c2, a.float('e'));
      const k = a.raw('k');
      const s = a.raw('s');
      const cv1 = construct(b, Conv, [c1, c_, new PyTuple([1, k]), new PyTuple([1, s])]);
      const cv2 = construct(b, Conv, [c_, c2, new PyTuple([k, 1]), new PyTuple([s, 1])], { g: a.raw('g') });
      const add = a.bool('shortcut') && c1 === c2;
      return b.mod('CrossConv', { cv1, cv2 }, (fl, x) => {
        const y = fl.call(cv2, fl.call(cv1, x));
        return add ? fl.add(inputOne(x, 'CrossConv'), y) : y;
      });
    },
  };
}

export function sppDef(Conv: ModuleDef, src: string): ModuleDef {
  return {
    name: 'SPP',
    category: 'pooling',
    doc: 'Spatial pyramid pooling: parallel max-pools of several sizes, concatenated.',
    source: src,
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
}

export function focusDef(Conv: ModuleDef, src: string, upstreamSignature: boolean): ModuleDef {
  return {
    name: 'Focus',
    category: 'conv',
    doc: 'Space-to-depth: the four pixel phases of each 2x2 block stacked as channels (4\u00b7c1), then a Conv.',
    source: src,
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
      const c1 = a.channels('c1');
      const pos: PyVal[] = [4 * c1, a.raw('c2'), a.raw('k'), a.raw('s'), a.raw('p'), a.raw('g')];
      // upstream yolov5 passes act as a keyword, the older frameworks positionally: the same parameter either way
      const conv = upstreamSignature ? construct(b, Conv, pos, { act: a.raw('act') }) : construct(b, Conv, [...pos, a.raw('act')]);
      return b.mod('Focus', { conv }, (fl, xin) => {
        const x = inputOne(xin, 'Focus');
        const [, , h, w] = fl.shape(x) as [number, number, number, number];
        const phase = (r: number, c: number) => fl.slice(fl.slice(x, 2, r, h, 2), 3, c, w, 2);
        // x[..., ::2, ::2], x[..., 1::2, ::2], x[..., ::2, 1::2], x[..., 1::2, 1::2]
        return fl.call(conv, fl.cat([phase(0, 0), phase(1, 0), phase(0, 1), phase(1, 1)], 1));
      });
    },
  };
}

export function concatDef(src: string): ModuleDef {
  return {
    name: 'Concat',
    category: 'concat',
    doc: 'Concatenates its inputs along a dimension (channels by default).',
    source: src,
    signature: [param('dimension', 'int', 'dimension to concatenate along', 1)],
    build: (b, a) => {
      const d = a.int('dimension');
      return b.mod('Concat', {}, (fl, x) => fl.cat(inputList(x, 'Concat'), d));
    },
  };
}

/**
 * MixConv2d's split of c2 over the kernels (experimental.py, identical in the three trees).
 * equal_ch: `torch.linspace(0, n - 1e-6, c2).floor()` counted per group, in float32 as torch computes it;
 * otherwise `np.linalg.lstsq` of a consistent system whose exact solution is c_i = c2 / (k_i² · Σ_j 1/k_j²),
 * rounded half to even like numpy.
 */
export function mixConvChannels(c2: number, ks: readonly number[], equalCh: boolean): number[] {
  // the split walks every output channel: check the count first, as every conv does (1e9 took seconds, fuzzer)
  if (c2 > 1 << 24) throw buildError(`out_channels = ${c2} is beyond any buildable layer`, 'c2');
  const n = ks.length;
  if (equalCh) {
    const counts = new Array<number>(n).fill(0);
    const f32 = Math.fround;
    const start = 0;
    const end = f32(n - 1e-6);
    if (c2 === 1) counts[0] = n > 0 ? 1 : 0;
    else if (c2 > 1) {
      const step = f32(f32(end - start) / (c2 - 1));
      const halfway = Math.floor(c2 / 2);
      for (let idx = 0; idx < c2; idx++) {
        // aten linspace: start + step*idx for the first half, end - step*(steps-idx-1) for the second
        const v = idx < halfway ? f32(start + f32(step * idx)) : f32(end - f32(step * (c2 - idx - 1)));
        const g = Math.floor(v);
        if (g >= 0 && g < n) counts[g]!++;
      }
    }
    return counts;
  }
  const inv = ks.reduce((s, k) => s + 1 / (k * k), 0);
  return ks.map((k) => pyRound(c2 / (k * k * inv)));
}

// ---- anchor-based Detect / Segment ----------------------------------------------------------------------------

/** anchors as Detect receives them: a list of rows of 2·na numbers (parse_model expands an int itself). */
export function anchorRows(v: PyVal): number[][] {
  if (!isSeq(v)) throw buildError(`len() of a non-list: anchors must be a list of rows, got ${pyRepr(v)}`, 'anchors');
  const rows = seqItems(v).map((row) => {
    if (!isSeq(row))
      throw buildError(
        `object of type '${typeof row === 'number' ? 'int' : 'value'}' has no len() (each anchors row must be a list of numbers, got ` +
          `${pyRepr(row)})`,
        'anchors',
      );
    return seqItems(row).map((x) => {
      if (!isNumeric(x)) throw buildError(`anchor values must be numbers, got ${pyRepr(x)} (torch.tensor(anchors) fails)`, 'anchors');
      return num(x);
    });
  });
  if (rows.length === 0)
    throw buildError('IndexError: list index out of range (anchors is empty: Detect reads len(anchors[0]))', 'anchors');
  const len0 = rows[0]!.length;
  const bad = rows.findIndex((r) => r.length !== len0);
  if (bad >= 0)
    throw buildError(
      `ValueError: expected sequence of length ${len0} at dim 1 (got ${rows[bad]!.length}): every anchors row needs the same number of ` +
        `values`,
      'anchors',
    );
  if (len0 % 2 !== 0)
    throw buildError(
      `RuntimeError: shape '[${rows.length}, -1, 2]' is invalid for input of size ${rows.length * len0}: anchors rows hold (w, h) ` +
        `pairs, an odd count cannot be viewed as pairs`,
      'anchors',
    );
  if (len0 === 0) throw buildError('each anchors row needs at least one (w, h) pair', 'anchors');
  return rows;
}

/**
 * The pixel anchors each level's decode multiplies by (`anchor_grid`), after the model build has divided the
 * anchors by the strides and possibly reversed their order (check_anchor_order). The three trees do this
 * differently, and the fork's order (divide, then flip) changes the pixel values when it flips.
 */
export function decodeAnchors(kind: DetectKind, rows: readonly (readonly number[])[], strides: readonly number[]): number[][] {
  const nl = rows.length;
  const s = (i: number) => strides[i] ?? NaN;
  const sign = (x: number) => (x > 0 ? 1 : x < 0 ? -1 : 0);
  const ds = s(strides.length - 1) - s(0);
  const areas = (r: readonly number[]) => range(r.length / 2).map((j) => r[2 * j]! * r[2 * j + 1]!);
  const flip = <X>(xs: readonly X[]): X[] => [...xs].reverse();
  if (kind === 'upstream') {
    // utils/autoanchor.py: mean anchor area per level, compared while anchors are still in pixels; anchor_grid =
    // (anchors / stride) * stride
    const a = rows.map((r) => areas(r).reduce((p, q) => p + q, 0) / (r.length / 2));
    const da = a[nl - 1]! - a[0]!;
    return da !== 0 && sign(da) !== sign(ds) ? flip(rows).map((r) => [...r]) : rows.map((r) => [...r]);
  }
  if (kind === 'fork') {
    // gsconv-yolov5 yolo.py: anchors /= stride first, then check_anchor_order on every anchor's area (grid units);
    // a flip moves grid-unit anchors to another level, whose stride then scales them
    const grid = rows.map((r, i) => r.map((v) => v / s(i)));
    const a = grid.flatMap(areas);
    const da = a[a.length - 1]! - a[0]!;
    const ordered = sign(da) !== sign(ds) ? flip(grid) : grid;
    return ordered.map((r, i) => r.map((v) => v * s(i)));
  }
  // Scaled-YOLOv4: anchor_grid keeps the pixel anchors; check_anchor_order compares their areas and flips both
  const a = rows.flatMap(areas);
  const da = a[a.length - 1]! - a[0]!;
  return sign(da) !== sign(ds) ? flip(rows).map((r) => [...r]) : rows.map((r) => [...r]);
}

/**
 * The eval decode of one level, shared by the three anchor-based heads (the frameworks write it differently: upstream
 * puts the -0.5 into its grid, the fork and Scaled-YOLOv4 write `y * 2 - 0.5 + grid`; the numbers are the same):
 * xy = (sigmoid * 2 - 0.5 + grid) * stride, wh = (sigmoid * 2)² * anchor, the rest sigmoid (Segment: the mask
 * coefficients stay raw).
 */
function decodeLevel<T>(fl: Flow<T>, xi: T, nc: number, nm: number, stride: number, anchors: readonly number[]): T {
  const [bs, na, ny, nx, no] = fl.shape(xi) as [number, number, number, number, number];
  const gridShape = [1, na, ny, nx, 2];
  const grid = fl.constant(gridShape, (idx) => (idx % 2 === 0 ? Math.floor(idx / 2) % nx : Math.floor(idx / (2 * nx)) % ny) - 0.5);
  const anchorGrid = fl.constant(gridShape, (idx) => anchors[(Math.floor(idx / (2 * nx * ny)) % na) * 2 + (idx % 2)]!);
  let xy: T;
  let wh: T;
  let rest: T[];
  if (nm > 0) {
    const [pxy, pwh, conf, mask] = fl.split(xi, [2, 2, nc + 1, nm], 4) as [T, T, T, T];
    xy = fl.sigmoid(pxy);
    wh = fl.sigmoid(pwh);
    rest = [fl.sigmoid(conf), mask];
  } else {
    const [pxy, pwh, conf] = fl.split(fl.sigmoid(xi), [2, 2, nc + 1], 4) as [T, T, T];
    xy = pxy;
    wh = pwh;
    rest = [conf];
  }
  const xyOut = fl.scale(fl.add(fl.scale(xy, 2), grid), stride);
  const wh2 = fl.scale(wh, 2);
  const whOut = fl.mul(fl.mul(wh2, wh2), anchorGrid);
  return fl.view(fl.cat([xyOut, whOut, ...rest], 4), [bs, na * ny * nx, no]);
}

/** The stride of level i as the built model holds it (see ForwardCtx.strides). */
function levelStride<T>(ctx: ForwardCtx<T>, i: number, who: string): number {
  const s = ctx.strides?.[i];
  if (s === undefined)
    throw new ShapeError(
      `TypeError: 'NoneType' object is not subscriptable: ${who}.stride is None. The model sets a head's strides only when it is its ` +
        `last layer; its eval forward decodes boxes with them (callers pass them as ctx.strides), level ${i} has none`,
    );
  return s;
}

/** YOLOv5 Detect (the three frameworks) and upstream yolov5's Segment: anchor-based, one 1x1 conv per input level. */
export function detectDef(kind: DetectKind, src: string, segment: boolean, proto?: ModuleDef): ModuleDef {
  const name = segment ? 'Segment' : 'Detect';
  return {
    name,
    category: 'head',
    doc: segment
      ? 'YOLOv5 segmentation head: Detect with nm mask coefficients per anchor, plus a Proto branch on the first level.'
      : 'YOLOv5 detection head: per level a 1x1 conv to na\u00b7(nc+5) outputs, decoded with the anchors and strides.',
    source: src,
    multiOutput: true,
    detectFamily: true,
    signature: [
      param('nc', 'int', 'number of classes', 80),
      param('anchors', 'list', 'anchor rows per level (or an int: anchors per level)', new PyTuple([])),
      ...(segment
        ? [param('nm', 'int', 'number of masks', 32), param('npr', 'channels', 'number of protos (scaled by width_multiple)', 256)]
        : []),
      param('ch', 'list', 'input channels per level (parse_model appends them)', new PyTuple([])),
      ...(kind === 'sv4' ? [] : [param('inplace', 'bool', 'use in-place ops', true)]),
    ],
    build: (b, a) => {
      const nc = a.int('nc');
      const rows = anchorRows(a.raw('anchors'));
      const nl = rows.length;
      const na = Math.floor(rows[0]!.length / 2);
      const nm = segment ? a.int('nm') : 0;
      const no = nc + 5 + nm;
      const chRaw = a.raw('ch');
      if (!isSeq(chRaw)) throw buildError(`ch must be a list of input channels, got ${pyRepr(chRaw)}`, 'ch');
      const ch = seqItems(chRaw).map((c) => {
        if (typeof c !== 'number') throw buildError(`input channels must be ints, got ${pyRepr(c)}`, 'ch');
        return c;
      });
      const convs = ch.map((c) => b.conv2d(c, no * na, 1, {}, 'nc'));
      const m = b.list(convs);
      // Segment: self.proto = Proto(ch[0], self.npr, self.nm)
      if (segment && ch.length === 0)
        throw buildError('IndexError: list index out of range (Segment builds its Proto on ch[0], and has no inputs)', 'ch');
      const protoMod = segment ? construct(b, proto!, [ch[0]!, a.raw('npr'), a.raw('nm')]) : null;
      const forward: Forward = (fl, xin, ctx) => {
        const xs = [...inputList(xin, name)];
        if (xs.length === 0) throw new ShapeError(`IndexError: list index out of range (${name} received no inputs)`);
        const p = protoMod ? fl.call(protoMod, xs[0]!) : null;
        const z: (typeof xs)[number][] = [];
        let anchors: number[][] | null = null;
        for (let i = 0; i < nl; i++) {
          // `self.m[i](x[i])`: one conv was built per input, so the ModuleList runs out first
          if (i >= xs.length)
            throw new ShapeError(
              `IndexError: index ${i} is out of range: ${name} has ${nl} anchor rows (levels) but ${xs.length} ` +
                `input${xs.length === 1 ? '' : 's'}, so it built ${xs.length} output conv${xs.length === 1 ? '' : 's'}; give one input ` +
                `per anchors row`,
            );
          // a `ch` written into the YAML args (shorter than the inputs) built fewer convs (a crash before, fuzzer)
          if (i >= convs.length)
            throw new ShapeError(
              `IndexError: index ${i} is out of range: ${name} built ${convs.length} output conv${convs.length === 1 ? '' : 's'} (one ` +
                `per entry of ch = ${pyRepr(chRaw)}) for ${xs.length} input${xs.length === 1 ? '' : 's'}`,
            );
          const y = fl.call(convs[i]!, xs[i]!);
          const [bs, , ny, nx] = fl.shape(y) as [number, number, number, number];
          xs[i] = fl.permute(fl.view(y, [bs, na, no, ny, nx]), [0, 1, 3, 4, 2]);
          anchors ??= decodeAnchors(kind, rows, ctx.strides ?? []);
          z.push(decodeLevel(fl, xs[i]!, nc, nm, levelStride(ctx, i, name), anchors[i]!));
        }
        const det = fl.cat(z, 1);
        // eval outputs: (torch.cat(z, 1), x) and Segment's (z, proto, x)
        return segment ? ([det, p!, xs] as Out<(typeof xs)[number]>) : [det, xs];
      };
      // register_buffer('anchors', [nl, na, 2]); Scaled-YOLOv4 also registers 'anchor_grid' (HEAD and the
      // Slim-neck fork keep theirs in a plain list): both are in the state_dict a checkpoint loads
      const anchorBuffers = {
        anchors: { shape: [nl, na, 2] },
        ...(kind === 'sv4' ? { anchor_grid: { shape: [nl, 1, na, 1, 1, 2] } } : {}),
      };
      return b.mod(name, protoMod ? { m, proto: protoMod } : { m }, forward, {
        buffers: anchorBuffers,
        attrs: { anchors: rows, na, nl, no },
      });
    },
  };
}

// ---- the two YOLOv5 trees -----------------------------------------------------------------------------------

const gainSig = [param('gain', 'int', 'block size s', 2)];
const gainOf = (a: Args): number => {
  const s = a.int('gain');
  if (s <= 0) throw buildError(`gain must be a positive int, got ${s}`, 'gain');
  return s;
};

/** C3 and its variants share one constructor; `inner` builds `self.m` (the subclass replaces the Bottlenecks). */
function c3Family(
  t: KitTree,
  Conv: ModuleDef,
  Bottleneck: ModuleDef,
  CrossConv: ModuleDef,
  TransformerBlock: ModuleDef,
  SPP: ModuleDef,
  GhostBottleneck: ModuleDef,
): Record<'C3' | 'C3x' | 'C3TR' | 'C3SPP' | 'C3Ghost', ModuleDef> {
  const { src } = t;
  const c3Like = (name: string, doc: string, inner: (b: Builder, a: Args, c_: number) => Mod, sig?: ModuleDef['signature']): ModuleDef => ({
    name,
    category: name === 'C3TR' ? 'transformer' : 'csp',
    doc,
    source: src(name),
    signature: sig ?? [c1p, c2p, nRepeats, shortcutP, gP, eP],
    build: (b, a) => {
      const c1 = a.channels('c1');
      const c2 = a.channels('c2');
      const c_ = hidden(c2, a.float('e'));
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
  const C3x = c3Like('C3x', 'C3 with n CrossConvs (3x1/1x3) instead of Bottlenecks.', (b, a, c_) =>
    b.seq(range(a.int('n')).map(() => construct(b, CrossConv, [c_, c_, 3, 1, a.raw('g'), f(1.0), a.raw('shortcut')]))),
  );
  const C3TR = c3Like('C3TR', 'C3 with a TransformerBlock (4 heads, n layers) instead of Bottlenecks.', (b, a, c_) =>
    construct(b, TransformerBlock, [c_, c_, 4, a.raw('n')]),
  );
  const C3SPP = c3Like(
    'C3SPP',
    'C3 with an SPP block instead of Bottlenecks (its 3rd arg is the pool kernels: parse_model does not insert n).',
    (b, a, c_) => construct(b, SPP, [c_, c_, a.raw('k')]),
    [
      c1p,
      c2p,
      param('k', 'list', 'pool kernel sizes of the inner SPP', new PyTuple([5, 9, 13])),
      np('unused (the Bottlenecks it builds are replaced by the SPP)'),
      shortcutP,
      gP,
      eP,
    ],
  );
  const C3Ghost = c3Like('C3Ghost', 'C3 with n GhostBottlenecks instead of Bottlenecks.', (b, a, c_) =>
    b.seq(range(a.int('n')).map(() => construct(b, GhostBottleneck, [c_, c_]))),
  );

  return { C3, C3x, C3TR, C3SPP, C3Ghost };
}

/** What a definition needs of its tree: which one, where its classes live, what `Conv(act=True)` applies. */
interface KitTree {
  readonly flavour: Yolov5Flavour;
  readonly upstream: boolean;
  src(cls: string, file?: string): string;
  defaultAct(b: Builder): Mod;
}

function convDef(t: KitTree): ModuleDef {
  const { upstream, src, defaultAct } = t;
  return {
    name: 'Conv',
    category: 'conv',
    doc: upstream ? 'Conv2d (no bias) + BatchNorm2d + SiLU.' : 'Conv2d (no bias) + BatchNorm2d + Mish (the Slim-neck fork\u2019s Conv).',
    source: src('Conv'),
    signature: [
      c1p,
      c2p,
      param('k', 'kernel', 'kernel size', 1),
      param('s', 'kernel', 'stride', 1),
      param('p', 'kernel', "padding (None: 'same' for odd kernels)", null),
      gP,
      ...(upstream ? [param('d', 'int', 'dilation', 1)] : []),
      param(
        'act',
        'act',
        upstream ? 'True: the default activation, an nn.Module: that one, else none' : 'truthy: an nn.Mish of its own, else none',
        true,
      ),
    ],
    build: (b, a) => {
      const c1 = a.channels('c1');
      const c2 = a.channels('c2');
      const k = a.pair('k');
      const kRaw = a.raw('k');
      const d = upstream ? a.convInt('d') : 1;
      const kForPad: number | [number, number] = isSeq(kRaw) ? k : k[0];
      const p = autopad(kForPad, a.raw('p'), d);
      const conv = b.conv2d(c1, c2, k, { s: a.convPair('s'), p, g: a.convInt('g'), d, bias: b.fused }, 'k');
      // upstream: `self.default_act if act is True else act if isinstance(act, nn.Module) else nn.Identity()`;
      // the fork: `nn.Mish() if act else nn.Identity()`
      const act = upstream ? activationFrom(b, a.raw('act'), () => defaultAct(b)) : a.bool('act') ? b.act('Mish') : b.identity();
      if (b.fused) {
        // fuse_conv_and_bn's conv: frozen where the framework's fuse returns it with requires_grad False (ultralytics 8.4)
        const fused = b.env.fuseFreezes ? b.frozen(conv) : conv;
        return b.mod('Conv', { conv: fused, act }, (fl, x) => fl.call(act, fl.call(fused, x)));
      }
      const bn = b.bn(c2);
      return b.mod('Conv', { conv, bn, act }, (fl, x) => fl.call(act, fl.call(bn, fl.call(conv, x))));
    },
  };
}

function dwConvDef(t: KitTree, Conv: ModuleDef): ModuleDef {
  const { upstream, src } = t;
  return {
    name: 'DWConv',
    category: 'conv',
    doc: 'Depth-wise Conv: groups = gcd(c1, c2).',
    source: src('DWConv'),
    signature: [
      c1p,
      c2p,
      param('k', 'kernel', 'kernel size', 1),
      param('s', 'kernel', 'stride', 1),
      ...(upstream ? [param('d', 'int', 'dilation', 1)] : []),
      param('act', 'act', 'activation flag', true),
    ],
    build: (b, a) => {
      const c1 = a.channels('c1');
      const c2 = a.channels('c2');
      const kw: Record<string, PyVal> = { g: gcd(c1, c2), act: a.raw('act') };
      if (upstream) kw.d = a.raw('d');
      return { ...construct(b, Conv, [c1, c2, a.raw('k'), a.raw('s')], kw), type: 'DWConv' };
    },
  };
}

function dwConvTranspose2dDef(t: KitTree): ModuleDef {
  const { src } = t;
  return {
    name: 'DWConvTranspose2d',
    category: 'upsample',
    doc: 'Depth-wise transposed conv: nn.ConvTranspose2d with groups = gcd(c1, c2) (a subclass: thop 0.1.1 does not count it).',
    source: src('DWConvTranspose2d'),
    signature: [
      c1p,
      c2p,
      param('k', 'kernel', 'kernel size', 1),
      param('s', 'kernel', 'stride', 1),
      param('p1', 'kernel', 'padding', 0),
      param('p2', 'kernel', 'output padding', 0),
    ],
    build: (b, a) => {
      const c1 = a.channels('c1');
      const c2 = a.channels('c2');
      const m = b.convTranspose2d(
        c1,
        c2,
        a.pair('k'),
        { s: a.pair('s'), p: a.pair('p1'), outputPadding: a.pair('p2'), g: gcd(c1, c2) },
        'k',
      );
      return { ...m, type: 'DWConvTranspose2d' };
    },
  };
}

function transformerLayerDef(t: KitTree): ModuleDef {
  const { src } = t;
  return {
    name: 'TransformerLayer',
    category: 'transformer',
    doc:
      'Transformer layer without LayerNorm: q/k/v projections, multi-head attention, two linears, residual adds. Takes (sequence, ' +
      'batch, c).',
    source: src('TransformerLayer'),
    signature: [param('c', 'channels', 'embedding size'), param('num_heads', 'int', 'attention heads (must divide c)')],
    build: (b, a) => {
      const c = a.channels('c');
      const lin = () => b.linear(c, c, false);
      const q = lin();
      const k = lin();
      const v = lin();
      const ma = b.mha(c, a.int('num_heads'));
      const fc1 = lin();
      const fc2 = lin();
      return b.mod('TransformerLayer', { q, k, v, ma, fc1, fc2 }, (fl, xin) => {
        let x = inputOne(xin, 'TransformerLayer');
        const att = fl.callMulti(ma, [fl.call(q, x), fl.call(k, x), fl.call(v, x)]);
        x = fl.add(firstOf(att, 'MultiheadAttention'), x);
        return fl.add(fl.call(fc2, fl.call(fc1, x)), x);
      });
    },
  };
}

function transformerBlockDef(t: KitTree, Conv: ModuleDef, TransformerLayer: ModuleDef): ModuleDef {
  const { src } = t;
  return {
    name: 'TransformerBlock',
    category: 'transformer',
    doc:
      'Vision transformer block: optional Conv to c2, a learned position embedding (Linear), num_layers TransformerLayers over the ' +
      'H\u00b7W tokens.',
    source: src('TransformerBlock'),
    signature: [
      c1p,
      c2p,
      param('num_heads', 'int', 'attention heads (must divide c2)'),
      param('num_layers', 'int', 'number of TransformerLayers'),
    ],
    build: (b, a) => {
      const c1 = a.channels('c1');
      const c2 = a.channels('c2');
      const conv = c1 !== c2 ? construct(b, Conv, [c1, c2]) : null;
      const linear = b.linear(c2, c2);
      const tr = b.seq(range(a.int('num_layers')).map(() => construct(b, TransformerLayer, [c2, a.raw('num_heads')])));
      return b.mod('TransformerBlock', { conv, linear, tr }, (fl, xin) => {
        let x = inputOne(xin, 'TransformerBlock');
        if (conv) x = fl.call(conv, x);
        const [bs, , w, h] = fl.shape(x) as [number, number, number, number];
        const p = fl.permute(fl.flatten(x, 2), [2, 0, 1]);
        const y = fl.call(tr, fl.add(p, fl.call(linear, p)));
        return fl.view(fl.permute(y, [1, 2, 0]), [bs, c2, w, h]);
      });
    },
  };
}

function sppfDef(t: KitTree, Conv: ModuleDef): ModuleDef {
  const { src } = t;
  return {
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
}

function ghostConvDef(t: KitTree, Conv: ModuleDef): ModuleDef {
  const { upstream, src } = t;
  return {
    name: 'GhostConv',
    category: 'conv',
    doc: 'Ghost convolution: a Conv to c2/2 channels plus a cheap 5x5 depth-wise Conv of it, concatenated.',
    source: src('GhostConv'),
    signature: [
      c1p,
      c2p,
      param('k', 'kernel', 'kernel of the primary conv', 1),
      param('s', 'kernel', 'stride of the primary conv', 1),
      gP,
      param('act', 'act', 'activation flag', true),
    ],
    build: (b, a) => {
      const c_ = Math.floor(a.channels('c2') / 2);
      const act = a.raw('act');
      // upstream passes act=act, the fork positionally: both reach Conv.act
      const cv1 = upstream
        ? construct(b, Conv, [a.raw('c1'), c_, a.raw('k'), a.raw('s'), null, a.raw('g')], { act })
        : construct(b, Conv, [a.raw('c1'), c_, a.raw('k'), a.raw('s'), null, a.raw('g'), act]);
      const cv2 = upstream ? construct(b, Conv, [c_, c_, 5, 1, null, c_], { act }) : construct(b, Conv, [c_, c_, 5, 1, null, c_, act]);
      return b.mod('GhostConv', { cv1, cv2 }, (fl, x) => {
        const y = fl.call(cv1, x);
        return cat1(fl, y, fl.call(cv2, y));
      });
    },
  };
}

function ghostBottleneckDef(t: KitTree, Conv: ModuleDef, DWConv: ModuleDef, GhostConv: ModuleDef): ModuleDef {
  const { src } = t;
  return {
    name: 'GhostBottleneck',
    category: 'csp',
    doc: 'Ghost bottleneck: GhostConv \u2192 (stride 2: depth-wise conv) \u2192 GhostConv, plus a shortcut (stride 2: DWConv + Conv).',
    source: src('GhostBottleneck'),
    signature: [
      c1p,
      c2p,
      param('k', 'kernel', 'kernel of the depth-wise convs', 3),
      param('s', 'int', 'stride (2 adds the depth-wise downsampling)', 1),
    ],
    build: (b, a) => {
      const c1 = a.channels('c1');
      const c2 = a.channels('c2');
      const c_ = Math.floor(c2 / 2);
      const k = a.raw('k');
      const s = a.raw('s');
      const s2 = equals(s, 2);
      const conv = b.seq([
        construct(b, GhostConv, [c1, c_, 1, 1]),
        s2 ? construct(b, DWConv, [c_, c_, k, s], { act: false }) : b.identity(),
        construct(b, GhostConv, [c_, c2, 1, 1], { act: false }),
      ]);
      const shortcut = s2
        ? b.seq([construct(b, DWConv, [c1, c1, k, s], { act: false }), construct(b, Conv, [c1, c2, 1, 1], { act: false })])
        : b.identity();
      return b.mod('GhostBottleneck', { conv, shortcut }, (fl, x) => fl.add(fl.call(conv, x), fl.call(shortcut, x)));
    },
  };
}

function contractDef(t: KitTree): ModuleDef {
  const { src } = t;
  return {
    name: 'Contract',
    category: 'misc',
    doc: 'Space-to-depth by a gain s: (c, h, w) \u2192 (c\u00b7s\u00b2, h/s, w/s).',
    source: src('Contract'),
    signature: gainSig,
    build: (b, a) => {
      const s = gainOf(a);
      return b.mod('Contract', {}, (fl, xin) => {
        const x = inputOne(xin, 'Contract');
        const [bs, c, h, w] = fl.shape(x) as [number, number, number, number];
        const y = fl.permute(fl.view(x, [bs, c, Math.floor(h / s), s, Math.floor(w / s), s]), [0, 3, 5, 1, 2, 4]);
        return fl.view(y, [bs, c * s * s, Math.floor(h / s), Math.floor(w / s)]);
      });
    },
  };
}

function expandDef(t: KitTree): ModuleDef {
  const { src } = t;
  return {
    name: 'Expand',
    category: 'upsample',
    doc: 'Depth-to-space by a gain s: (c, h, w) \u2192 (c/s\u00b2, h\u00b7s, w\u00b7s).',
    source: src('Expand'),
    signature: gainSig,
    build: (b, a) => {
      const s = gainOf(a);
      return b.mod('Expand', {}, (fl, xin) => {
        const x = inputOne(xin, 'Expand');
        const [bs, c, h, w] = fl.shape(x) as [number, number, number, number];
        const y = fl.permute(fl.view(x, [bs, s, s, Math.floor(c / s ** 2), h, w]), [0, 3, 4, 1, 5, 2]);
        return fl.view(y, [bs, Math.floor(c / s ** 2), h * s, w * s]);
      });
    },
  };
}

function protoDef(t: KitTree, Conv: ModuleDef): ModuleDef {
  const { src } = t;
  return {
    name: 'Proto',
    category: 'head',
    doc: 'Mask prototypes: Conv 3x3, 2x nearest upsample, Conv 3x3, Conv 1x1 to c2 masks.',
    source: src('Proto'),
    signature: [c1p, param('c_', 'channels', 'prototype channels', 256), param('c2', 'channels', 'number of masks', 32)],
    build: (b, a) => {
      const c_ = a.raw('c_');
      const cv1 = construct(b, Conv, [a.raw('c1'), c_], { k: 3 });
      const upsample = b.upsample(null, [2, 2], 'nearest');
      const cv2 = construct(b, Conv, [c_, c_], { k: 3 });
      const cv3 = construct(b, Conv, [c_, a.raw('c2')]);
      return b.mod('Proto', { cv1, upsample, cv2, cv3 }, (fl, x) => fl.call(cv3, fl.call(cv2, fl.call(upsample, fl.call(cv1, x)))));
    },
  };
}

function classifyDef(t: KitTree, Conv: ModuleDef): ModuleDef {
  const { upstream, src } = t;
  return upstream
    ? {
        name: 'Classify',
        category: 'head',
        doc: 'Classification head: Conv to 1280, global average pool, dropout, Linear to c2 classes.',
        source: src('Classify'),
        signature: [
          c1p,
          param('c2', 'channels', 'number of classes'),
          param('k', 'kernel', 'kernel size', 1),
          param('s', 'kernel', 'stride', 1),
          param('p', 'kernel', 'padding', null),
          gP,
          param('dropout_p', 'float', 'dropout probability', f(0.0)),
        ],
        build: (b, a) => {
          const c_ = 1280; // efficientnet_b0 size
          const k = a.raw('k');
          const kPair = a.pair('k');
          const conv = construct(b, Conv, [a.raw('c1'), c_, k, a.raw('s'), autopad(isSeq(k) ? kPair : kPair[0], a.raw('p')), a.raw('g')]);
          const pool = b.adaptiveAvgPool2d(1);
          const drop = b.dropout(a.float('dropout_p'));
          const linear = b.linear(c_, a.channels('c2'));
          return b.mod('Classify', { conv, pool, drop, linear }, (fl, xin) => {
            // `if isinstance(x, list): x = torch.cat(x, 1)`
            const xs = asInputs(xin);
            const x = xs ? fl.cat(xs, 1) : inputOne(xin, 'Classify');
            return fl.call(linear, fl.call(drop, fl.flatten(fl.call(pool, fl.call(conv, x)), 1)));
          });
        },
      }
    : {
        name: 'Classify',
        category: 'head',
        doc: 'Classification head: global average pool (of each input, concatenated), a 1x1 Conv2d to c2, flatten.',
        source: src('Classify'),
        signature: [
          c1p,
          param('c2', 'channels', 'number of classes'),
          param('k', 'kernel', 'kernel size', 1),
          param('s', 'kernel', 'stride', 1),
          param('p', 'kernel', 'padding', null),
          gP,
        ],
        build: (b, a) => classifyOld(b, a, true),
      };
}

function mixConv2dDef(t: KitTree): ModuleDef {
  const { src } = t;
  return {
    name: 'MixConv2d',
    category: 'conv',
    doc: 'Mixed depth-wise conv: the output channels split over several kernel sizes, concatenated, BatchNorm + SiLU.',
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
      const convs = ks.map((k, i) => b.conv2d(c1, split[i]!, k, { s, p: Math.floor(k / 2), g: gcd(c1, split[i]!), bias: false }, 'k'));
      const m = b.list(convs);
      const bn = b.bn(c2);
      const act = b.act('SiLU');
      return b.mod('MixConv2d', { m, bn, act }, (fl, x) =>
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
      );
    },
  };
}

function sumDef(t: KitTree): ModuleDef {
  const { src } = t;
  return {
    name: 'Sum',
    category: 'misc',
    doc: 'Weighted sum of n inputs (BiFPN): x[0] + \u03a3 x[i+1]\u00b7w_i, with learnable w when weight=True.',
    source: src('Sum', 'experimental.py'),
    signature: [param('n', 'int', 'number of inputs'), param('weight', 'bool', 'learnable weights', false)],
    build: (b, a) => {
      const n = a.int('n');
      const weight = a.bool('weight');
      // w = -arange(1, n) / 2, used as sigmoid(w) * 2 (the values a freshly built model holds)
      const factors = range(Math.max(n - 1, 0)).map((i) => 2 / (1 + Math.exp((i + 1) / 2)));
      return b.mod(
        'Sum',
        {},
        (fl, xin) => {
          const at = (k: number) => indexInput(fl, xin, k, 'Sum');
          let y = at(0);
          for (let i = 0; i < n - 1; i++) y = fl.add(y, weight ? fl.scale(at(i + 1), factors[i]!) : at(i + 1));
          return y;
        },
        // self.w = nn.Parameter(-torch.arange(1.0, n) / 2)
        weight ? { params: { w: { shape: [Math.max(n - 1, 0)] } }, attrs: { paramTensors: 1, firstParamDim1: null } } : {},
      );
    },
  };
}

function detectMultiBackendDef(t: KitTree): ModuleDef {
  const { upstream, src } = t;
  return {
    name: 'DetectMultiBackend',
    category: 'misc',
    doc: 'Inference wrapper that loads a whole model from a weights file; not a layer.',
    source: src('DetectMultiBackend'),
    signature: [
      param('weights', 'str', 'weights file', 'yolov5s.pt'),
      param('device', 'any', 'torch device', null, upstream ? 'torch.device("cpu")' : undefined),
      param('dnn', 'bool', 'OpenCV DNN for ONNX', false),
      param('data', 'str', 'dataset YAML', null),
      ...(upstream ? [param('fp16', 'bool', 'half precision', false), param('fuse', 'bool', 'fuse Conv+BN', true)] : []),
    ],
    build: (_b, a) => {
      throw buildError(
        `DetectMultiBackend loads a complete model from ${pyRepr(a.raw('weights'))} (downloading it if missing): it is an inference ` +
          `wrapper, not a layer a model YAML can use`,
        'weights',
      );
    },
  };
}

export function yolov5Kit(flavour: Yolov5Flavour): Yolov5Kit {
  const upstream = flavour === 'upstream';
  const dir = upstream ? 'models' : 'gsconv-yolov5/models';
  const tree: KitTree = {
    flavour,
    upstream,
    src: (cls, file = 'common.py') => `${dir}/${file}:${cls}`,
    // `Conv(act=True)`: upstream yolov5 shares one SiLU instance (`Conv.default_act`), the fork makes an `nn.Mish()` per Conv
    defaultAct: (b) => b.env.convDefaultAct ?? b.act(upstream ? 'SiLU' : 'Mish'),
  };
  const { src } = tree;

  const Conv = convDef(tree);

  const DWConv = dwConvDef(tree, Conv);

  const DWConvTranspose2d = dwConvTranspose2dDef(tree);

  const TransformerLayer = transformerLayerDef(tree);

  const TransformerBlock = transformerBlockDef(tree, Conv, TransformerLayer);

  const Bottleneck = bottleneckDef(Conv, src('Bottleneck'));
  // both trees: `self.act = nn.SiLU()` (the fork keeps SiLU here although its Conv uses Mish)
  const BottleneckCSP = bottleneckCspDef(Conv, Bottleneck, src('BottleneckCSP'), (b) => b.act('SiLU'), 'SiLU');
  const CrossConv = crossConvDef(Conv, src('CrossConv', upstream ? 'common.py' : 'experimental.py'));
  const SPP = sppDef(Conv, src('SPP'));

  const SPPF = sppfDef(tree, Conv);

  const GhostConv = ghostConvDef(tree, Conv);

  const GhostBottleneck = ghostBottleneckDef(tree, Conv, DWConv, GhostConv);

  const { C3, C3x, C3TR, C3SPP, C3Ghost } = c3Family(tree, Conv, Bottleneck, CrossConv, TransformerBlock, SPP, GhostBottleneck);

  const Contract = contractDef(tree);
  const Expand = expandDef(tree);

  const Concat = concatDef(src('Concat'));

  const Proto = protoDef(tree, Conv);

  const Classify = classifyDef(tree, Conv);

  const MixConv2d = mixConv2dDef(tree);

  const Sum = sumDef(tree);

  // in both namespaces, but it loads a weights file (a whole model for inference), not a layer of this graph
  const DetectMultiBackend = detectMultiBackendDef(tree);

  const Detect = detectDef(flavour, upstream ? 'models/yolo.py:Detect' : 'gsconv-yolov5/models/yolo.py:Detect', false);
  const Segment = detectDef('upstream', 'models/yolo.py:Segment', true, Proto);

  // the names each models/yolo.py can eval: upstream imports an explicit list (L28-52) and defines Detect/Segment;
  // the fork star-imports common.py and experimental.py (no Focus, C3x, DWConvTranspose2d, Proto, Segment there)
  const all: ModuleDef[] = upstream
    ? [
        Conv,
        DWConv,
        DWConvTranspose2d,
        Bottleneck,
        BottleneckCSP,
        CrossConv,
        C3,
        C3x,
        C3TR,
        C3SPP,
        C3Ghost,
        SPP,
        SPPF,
        focusDef(Conv, src('Focus'), true),
        GhostConv,
        GhostBottleneck,
        Contract,
        Expand,
        Concat,
        DetectMultiBackend,
        Proto,
        Classify,
        MixConv2d,
        Detect,
        Segment,
      ]
    : [
        Conv,
        DWConv,
        TransformerLayer,
        TransformerBlock,
        Bottleneck,
        BottleneckCSP,
        C3,
        C3TR,
        C3SPP,
        C3Ghost,
        SPP,
        SPPF,
        GhostConv,
        GhostBottleneck,
        Contract,
        Expand,
        Concat,
        DetectMultiBackend,
        Classify,
        CrossConv,
        Sum,
        MixConv2d,
        Detect,
      ];
  const internal: ModuleDef[] = upstream ? [TransformerLayer, TransformerBlock] : [];
  return { flavour, Conv, DWConv, Bottleneck, C3, SPP, SPPF, Concat, Detect, all, internal };
}

/** `Out` of MultiheadAttention is (attn_output, attn_weights): the layer keeps the first. */
function firstOf<T>(o: Out<T>, who: string): T {
  if (Array.isArray(o) && o.length > 0 && !isShapeLike(o)) return (o as readonly Out<T>[])[0] as T;
  throw new ShapeError(`${who} did not return (output, weights)`);
}

/** a Shape is an array of numbers: tells a tensor from a list of tensors in the static interpreter */
function isShapeLike(x: unknown): boolean {
  return Array.isArray(x) && x.length > 0 && typeof x[0] === 'number';
}

/** the input as a list when the module received a list (Python `isinstance(x, list)`), else null */
export function asInputs<T>(x: In<T>): readonly T[] | null {
  return Array.isArray(x) && !isShapeLike(x) ? (x as readonly T[]) : null;
}

/** `x[k]` on a module input: a list element, or (a tensor input) the k-th image of the batch. */
function indexInput<T>(fl: Flow<T>, xin: In<T>, k: number, who: string): T {
  const xs = asInputs(xin);
  if (xs) {
    if (k >= xs.length) throw new ShapeError(`IndexError: list index out of range (${who} reads input ${k} of ${xs.length})`);
    return xs[k]!;
  }
  const x = xin as T;
  const s = fl.shape(x);
  if (k >= s[0]!)
    throw new ShapeError(
      `IndexError: index ${k} is out of bounds for dimension 0 with size ${s[0]} (${who} indexes a tensor, not a list of inputs)`,
    );
  return fl.view(fl.slice(x, 0, k, k + 1), s.slice(1));
}

/**
 * Classify of the older trees (the fork and Scaled-YOLOv4): global average pool of each input, concatenated,
 * a Conv2d (with a bias in the fork, without in Scaled-YOLOv4) to c2, flattened.
 */
export function classifyOld(b: Builder, a: Args, bias: boolean, flatten?: (b: Builder) => Mod): Mod {
  const k = a.raw('k');
  const kPair = a.pair('k');
  const aap = b.adaptiveAvgPool2d(1);
  const conv = b.conv2d(
    a.channels('c1'),
    a.channels('c2'),
    kPair,
    { s: a.convPair('s'), p: autopad(isSeq(k) ? kPair : kPair[0], a.raw('p')), g: a.convInt('g'), bias },
    'k',
  );
  const flat = flatten ? flatten(b) : b.flatten(1, -1);
  return b.mod('Classify', { aap, conv, flat }, (fl, xin) => {
    // `torch.cat([self.aap(y) for y in (x if isinstance(x, list) else [x])], 1)`
    const xs = asInputs(xin) ?? [inputOne(xin, 'Classify')];
    const z = fl.cat(
      xs.map((y) => fl.call(aap, y)),
      1,
    );
    return fl.call(flat, fl.call(conv, z));
  });
}

export { activationFrom, autopad, asPair, PyObj };
