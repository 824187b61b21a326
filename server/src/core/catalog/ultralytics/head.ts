/**
 * ultralytics/nn/modules/head.py (vendored 8.3.x, see conv.ts): the anchor-free Detect family with its DFL decode
 * (Detect, Segment with Proto, OBB, Pose, WorldDetect, v10Detect), Classify and RTDETRDecoder.
 * Forwards are the eval-mode forwards (what the records' hooks and thop see); training-only paths (RT-DETR's
 * denoising queries) are not built into them.
 */
import { Builder } from '../../nn/builder.ts';
import { buildError, type Flow, type ForwardCtx, type In, inputList, inputOne, type Mod, type Out, ShapeError } from '../../nn/module.ts';
import { PyObj, PyTuple, type PyVal, isSeq, pyRepr, seqItems } from '../../py.ts';
import { type Args, construct, f, type ModuleDef, param } from '../types.ts';
import { range } from '../yolov5.ts';
import { Conv, DWConv } from './conv.ts';
import { DFL } from './block.ts';
import { DeformableTransformerDecoder, DeformableTransformerDecoderLayer, MLP, ModuleArg } from './transformer.ts';
import { BNContrastiveHead, ContrastiveHead, guideOf } from './world.ts';

const SRC = 'ultralytics/nn/modules/head.py';
const REG_MAX = 16;
/** like the resolver's repeat cap: more clones than this is no real model, and building them would hang */
const MAX_DECODER_LAYERS = 4096;

export const Proto: ModuleDef = {
  name: 'Proto',
  category: 'head',
  doc: 'YOLOv8 mask prototypes: Conv 3x3, a 2x transposed-conv upsample, Conv 3x3, Conv 1x1 to nm masks.',
  source: 'ultralytics/nn/modules/block.py:Proto',
  signature: [
    param('c1', 'channels', 'input channels'),
    param('c_', 'channels', 'number of protos (hidden width)', 256),
    param('c2', 'channels', 'number of masks', 32),
  ],
  build: (b, a) => {
    const p = protoParts(b, a.channels('c1'), a.channels('c_'), a.raw('c2'));
    return b.mod('Proto', p.children, (fl, x) => p.forward(fl, x));
  },
};

/** Proto's submodules and forward (8.4's Proto26 is a Proto with more around it). */
export function protoParts(
  b: Builder,
  c1: PyVal,
  cm: number,
  c2: PyVal,
): { children: { cv1: Mod; upsample: Mod; cv2: Mod; cv3: Mod }; forward: <T>(fl: Flow<T>, x: In<T>) => T } {
  const cv1 = construct(b, Conv, [c1, cm], { k: 3 });
  const upsample = b.convTranspose2d(cm, cm, 2, { s: 2, p: 0, bias: true });
  const cv2 = construct(b, Conv, [cm, cm], { k: 3 });
  const cv3 = construct(b, Conv, [cm, c2]);
  return {
    children: { cv1, upsample, cv2, cv3 },
    forward: (fl, x) => fl.call(cv3, fl.call(cv2, fl.call(upsample, fl.call(cv1, x)))),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// The Detect family

export const ncParam = param('nc', 'int', 'number of classes', 80);
export const chParam = param('ch', 'list', 'input channels per level (parse_model appends them)', new PyTuple([]));

/** Detect's `ch`: the channel list parse_model appends; ch[0] sizes the branches. */
export function levelChannels(a: Args): number[] {
  const v = a.raw('ch');
  if (!isSeq(v))
    throw buildError(`object of type '${typeof v === 'number' ? 'int' : 'value'}' has no len() (ch must be a list of channels)`, 'ch');
  const ch = a.intList('ch');
  if (ch.length === 0) throw buildError('tuple index out of range (Detect needs at least one input level: ch is empty)', 'ch');
  return ch;
}

interface DetectCore {
  readonly nc: number;
  readonly nl: number;
  /** outputs per anchor: nc + 4 * reg_max */
  readonly no: number;
  cv2: Mod[];
  cv3: Mod[];
  readonly dfl: Mod;
}

/** Detect.__init__: the box branch cv2 (→ 4·reg_max DFL bins) and the class branch cv3 (DWConv + Conv twice, → nc). */
function detectCore(b: Builder, a: Args): DetectCore {
  const nc = a.int('nc');
  const ch = levelChannels(a);
  const c2 = Math.max(16, Math.floor(ch[0]! / 4), REG_MAX * 4);
  const c3 = Math.max(ch[0]!, Math.min(nc, 100));
  const cv2 = ch.map((x) => b.seq([construct(b, Conv, [x, c2, 3]), construct(b, Conv, [c2, c2, 3]), b.conv2d(c2, 4 * REG_MAX, 1)]));
  const cv3 = ch.map((x) =>
    b.seq([
      b.seq([construct(b, DWConv, [x, x, 3]), construct(b, Conv, [x, c3, 1])]),
      b.seq([construct(b, DWConv, [c3, c3, 3]), construct(b, Conv, [c3, c3, 1])]),
      b.conv2d(c3, nc, 1),
    ]),
  );
  return { nc, nl: ch.length, no: nc + 4 * REG_MAX, cv2, cv3, dfl: construct(b, DFL, [REG_MAX]) };
}

/** `x[i]` for i < nl, as the head's loop reads them (fewer inputs than levels: IndexError). */
export function levels<T>(x: In<T>, nl: number, who: string): T[] {
  const xs = [...inputList(x, who)];
  if (xs.length < nl) throw new ShapeError(`list index out of range: ${who} was built for ${nl} levels but receives ${xs.length} inputs`);
  return xs;
}

/** Flat positions of several (h, w) grids laid end to end: which grid, row and column a flat index falls on. */
export function gridLocator(shapes: readonly (readonly [number, number])[]): {
  total: number;
  at(i: number): { level: number; row: number; col: number };
} {
  const starts: number[] = [];
  let total = 0;
  for (const [h, w] of shapes) {
    starts.push(total);
    total += h * w;
  }
  return {
    total,
    at(i) {
      let level = shapes.length - 1;
      while (level > 0 && starts[level]! > i) level--;
      const local = i - starts[level]!;
      const w = shapes[level]![1];
      return { level, row: Math.floor(local / w), col: local % w };
    },
  };
}

/** make_anchors(feats, stride, 0.5), transposed as Detect keeps them: anchor points [2, A] (x row, y row) and strides [1, A]. */
export function makeAnchors<T>(fl: Flow<T>, xs: readonly T[], strides: readonly number[]): { anchors: T; strides: T } {
  const grid = gridLocator(
    strides.map((_, i) => {
      const s = fl.shape(xs[i]!);
      return [s[s.length - 2]!, s[s.length - 1]!] as const;
    }),
  );
  const n = grid.total;
  return {
    anchors: fl.constant([2, n], (i) => {
      const p = grid.at(i % n);
      return (i < n ? p.col : p.row) + 0.5;
    }),
    strides: fl.constant([1, n], (i) => strides[grid.at(i).level]!),
  };
}

/** dist2bbox(distance, anchor_points, xywh, dim=1) */
export function dist2bbox<T>(fl: Flow<T>, distance: T, anchors: T, xywh: boolean): T {
  const [lt, rb] = fl.chunk(distance, 2, 1) as [T, T];
  const x1y1 = fl.sub(anchors, lt);
  const x2y2 = fl.add(anchors, rb);
  return xywh ? fl.cat([fl.scale(fl.add(x1y1, x2y2), 0.5), fl.sub(x2y2, x1y1)], 1) : fl.cat([x1y1, x2y2], 1);
}

/** dist2rbox(pred_dist, pred_angle, anchor_points, dim=1): rotated boxes (OBB). */
export function dist2rbox<T>(fl: Flow<T>, dist: T, angle: T, anchors: T): T {
  const [lt, rb] = fl.split(dist, 2, 1) as [T, T];
  const cos = fl.cos(angle);
  const sin = fl.sin(angle);
  const [xf, yf] = fl.split(fl.scale(fl.sub(rb, lt), 0.5), 1, 1) as [T, T];
  const x = fl.sub(fl.mul(xf, cos), fl.mul(yf, sin));
  const y = fl.add(fl.mul(xf, sin), fl.mul(yf, cos));
  return fl.cat([fl.add(fl.cat([x, y], 1), anchors), fl.add(lt, rb)], 1);
}

interface Decoded<T> {
  readonly y: T;
  readonly anchors: T;
  readonly strides: T;
}

/** Detect._inference: DFL box distributions → boxes around the anchor points, × stride; class sigmoid. */
function inference<T>(fl: Flow<T>, core: DetectCore, xs: readonly T[], ctx: ForwardCtx<T>, decode: (dist: T, anchors: T) => T): Decoded<T> {
  const bs = fl.shape(xs[0]!)[0]!;
  const xCat = fl.cat(
    xs.map((x) => fl.view(x, [bs, core.no, -1])),
    2,
  );
  // an unbuilt head's stride is torch.zeros(nl); the model build sets the probe's strides
  const anchors = makeAnchors(
    fl,
    xs,
    range(core.nl).map((i) => ctx.strides?.[i] ?? 0),
  );
  const [box, cls] = fl.split(xCat, [REG_MAX * 4, core.nc], 1) as [T, T];
  const dbox = fl.mul(decode(fl.call(core.dfl, box), fl.unsqueeze(anchors.anchors, 0)), anchors.strides);
  return { y: fl.cat([dbox, fl.sigmoid(cls)], 1), anchors: anchors.anchors, strides: anchors.strides };
}

/** Detect.forward in eval (non-end2end): per level cat(box, cls), then the decoded predictions. */
function detectForward<T>(
  fl: Flow<T>,
  core: DetectCore,
  x: In<T>,
  ctx: ForwardCtx<T>,
  who: string,
  decode?: (dist: T, anchors: T) => T,
): { decoded: Decoded<T>; maps: T[] } {
  const xs = levels(x, core.nl, who);
  for (let i = 0; i < core.nl; i++) xs[i] = fl.cat([fl.call(core.cv2[i]!, xs[i]!), fl.call(core.cv3[i]!, xs[i]!)], 1);
  const decoded = inference(fl, core, xs, ctx, decode ?? ((d, a) => dist2bbox(fl, d, a, true)));
  return { decoded, maps: xs };
}

/** `Sequential(Conv(x, c4, 3), Conv(c4, c4, 3), nn.Conv2d(c4, out, 1))` per level: the extra branch cv4 of Segment/Pose/OBB. */
export function extraBranch(b: Builder, ch: readonly number[], c4: number, out: number): Mod[] {
  return ch.map((x) => b.seq([construct(b, Conv, [x, c4, 3]), construct(b, Conv, [c4, c4, 3]), b.conv2d(c4, out, 1)]));
}

/** `cat([cv4[i](x[i]).view(bs, n, -1) for i], dim)` */
export function perLevel<T>(fl: Flow<T>, cv4: readonly Mod[], xs: readonly T[], bs: number, n: number, dim: number): T {
  return fl.cat(
    cv4.map((m, i) => fl.view(fl.call(m, xs[i]!), [bs, n, -1])),
    dim,
  );
}

export const headDefaults = { category: 'head' as const, multiOutput: true, detectFamily: true };

export const Detect: ModuleDef = {
  name: 'Detect',
  ...headDefaults,
  doc:
    'Anchor-free YOLOv8/11 detection head: per level a box branch (DFL bins) and a class branch (DWConv + Conv), decoded at ' +
    'the anchor points.',
  source: `${SRC}:Detect`,
  signature: [ncParam, chParam],
  build: (b, a) => {
    const core = detectCore(b, a);
    return b.mod(
      'Detect',
      { cv2: b.list(core.cv2), cv3: b.list(core.cv3), dfl: core.dfl },
      <T>(fl: Flow<T>, x: In<T>, ctx: ForwardCtx<T>): Out<T> => {
        const { decoded, maps } = detectForward(fl, core, x, ctx, 'Detect');
        return [decoded.y, maps];
      },
    );
  },
};

export const Segment: ModuleDef = {
  name: 'Segment',
  ...headDefaults,
  doc: 'Detect plus mask coefficients per anchor (cv4) and a Proto branch on the first level.',
  source: `${SRC}:Segment`,
  signature: [
    ncParam,
    param('nm', 'int', 'number of masks', 32),
    param('npr', 'channels', 'number of protos (parse_model scales it by width)', 256),
    chParam,
  ],
  build: (b, a) => {
    const core = detectCore(b, a);
    const ch = levelChannels(a);
    const nm = a.int('nm');
    const proto = construct(b, Proto, [ch[0]!, a.raw('npr'), nm]);
    const cv4 = extraBranch(b, ch, Math.max(Math.floor(ch[0]! / 4), nm), nm);
    return b.mod(
      'Segment',
      { cv2: b.list(core.cv2), cv3: b.list(core.cv3), dfl: core.dfl, proto, cv4: b.list(cv4) },
      <T>(fl: Flow<T>, x: In<T>, ctx: ForwardCtx<T>): Out<T> => {
        const xs = levels(x, core.nl, 'Segment');
        const p = fl.call(proto, xs[0]!);
        const bs = fl.shape(p)[0]!;
        const mc = perLevel(fl, cv4, xs, bs, nm, 2);
        const { decoded, maps } = detectForward(fl, core, xs, ctx, 'Segment');
        return [fl.cat([decoded.y, mc], 1), [maps, mc, p]];
      },
    );
  },
};

export const OBB: ModuleDef = {
  name: 'OBB',
  ...headDefaults,
  doc: 'Detect for rotated boxes: an angle branch (cv4) per level; boxes decoded with the predicted angle.',
  source: `${SRC}:OBB`,
  signature: [ncParam, param('ne', 'int', 'number of extra parameters (angles)', 1), chParam],
  build: (b, a) => {
    const core = detectCore(b, a);
    const ch = levelChannels(a);
    const ne = a.int('ne');
    const cv4 = extraBranch(b, ch, Math.max(Math.floor(ch[0]! / 4), ne), ne);
    return b.mod(
      'OBB',
      { cv2: b.list(core.cv2), cv3: b.list(core.cv3), dfl: core.dfl, cv4: b.list(cv4) },
      <T>(fl: Flow<T>, x: In<T>, ctx: ForwardCtx<T>): Out<T> => {
        const xs = levels(x, core.nl, 'OBB');
        const bs = fl.shape(xs[0]!)[0]!;
        // theta logits → [-pi/4, 3pi/4]
        const logits = perLevel(fl, cv4, xs, bs, ne, 2);
        const angle = fl.scale(
          fl.sub(
            fl.sigmoid(logits),
            fl.constant([1], () => 0.25),
          ),
          Math.PI,
        );
        const { decoded, maps } = detectForward(fl, core, xs, ctx, 'OBB', (d, anchors) => dist2rbox(fl, d, angle, anchors));
        return [fl.cat([decoded.y, angle], 1), [maps, angle]];
      },
    );
  },
};

/** kpt_shape as Pose reads it: (number of keypoints, dims per keypoint). */
export function keypointShape(v: PyVal): [number, number] {
  if (!isSeq(v))
    throw buildError(
      `'${v === null ? 'NoneType' : typeof v === 'number' ? 'int' : 'value'}' object is not subscriptable (kpt_shape must be ` +
        `[keypoints, dims], e.g. [17, 3])`,
      'kpt_shape',
    );
  const items = seqItems(v);
  if (items.length < 2) throw buildError('tuple index out of range (kpt_shape must be [keypoints, dims])', 'kpt_shape');
  const [k, d] = items as [PyVal, PyVal];
  if (typeof k !== 'number' || typeof d !== 'number' || !Number.isInteger(k) || !Number.isInteger(d))
    throw buildError(`kpt_shape must hold two ints, got ${pyRepr(v)}`, 'kpt_shape');
  return [k, d];
}

/**
 * Pose.kpts_decode (non-export): x/y decoded around the anchors × stride, visibility through a sigmoid when
 * ndim == 3. `offsets` is ultralytics 8.4's Pose26 form, `(y + anchors) * strides`, instead of
 * `(y * 2 + (anchors - 0.5)) * strides`.
 */
export function keypointsDecode<T>(
  fl: Flow<T>,
  kpts: T,
  bs: number,
  nkpt: number,
  ndim: number,
  anchors: T,
  strides: T,
  offsets = false,
): T {
  if (ndim <= 0) throw new ShapeError('slice step cannot be zero (kpt_shape[1] must be positive)');
  const ax = fl.slice(anchors, 0, 0, 1); // self.anchors[0], kept as [1, A]: it broadcasts the same
  const ay = fl.slice(anchors, 0, 1, 2);
  const half = fl.constant([1], () => 0.5);
  const decodeWith = (t: T, a: T) => (offsets ? fl.mul(fl.add(t, a), strides) : fl.mul(fl.add(fl.scale(t, 2), fl.sub(a, half)), strides));
  const A = fl.shape(kpts)[2]!;
  if (ndim === 1) {
    // y[:, 0::1] then y[:, 1::1], in place: every channel but the first is decoded twice
    const all = decodeWith(kpts, ax);
    return fl.cat([fl.slice(all, 1, 0, 1), decodeWith(fl.slice(all, 1, 1, nkpt), ay)], 1);
  }
  const y = fl.view(kpts, [bs, nkpt, ndim, A]);
  const parts = range(ndim).map((d) => {
    const c = fl.slice(y, 2, d, d + 1);
    if (d === 0) return decodeWith(c, ax);
    if (d === 1) return decodeWith(c, ay);
    return d === 2 && ndim === 3 ? fl.sigmoid(c) : c;
  });
  return fl.view(fl.cat(parts, 2), [bs, nkpt * ndim, A]);
}

export const Pose: ModuleDef = {
  name: 'Pose',
  ...headDefaults,
  doc: 'Detect plus keypoints per anchor (cv4), decoded around the anchor points.',
  source: `${SRC}:Pose`,
  signature: [
    ncParam,
    param('kpt_shape', 'list', 'keypoints and dims per keypoint (2: x, y; 3: x, y, visible)', new PyTuple([17, 3])),
    chParam,
  ],
  build: (b, a) => {
    const core = detectCore(b, a);
    const ch = levelChannels(a);
    const [nkpt, ndim] = keypointShape(a.raw('kpt_shape'));
    const nk = nkpt * ndim;
    const cv4 = extraBranch(b, ch, Math.max(Math.floor(ch[0]! / 4), nk), nk);
    return b.mod(
      'Pose',
      { cv2: b.list(core.cv2), cv3: b.list(core.cv3), dfl: core.dfl, cv4: b.list(cv4) },
      <T>(fl: Flow<T>, x: In<T>, ctx: ForwardCtx<T>): Out<T> => {
        const xs = levels(x, core.nl, 'Pose');
        const bs = fl.shape(xs[0]!)[0]!;
        const kpt = perLevel(fl, cv4, xs, bs, nk, -1);
        const { decoded, maps } = detectForward(fl, core, xs, ctx, 'Pose');
        const predKpt = keypointsDecode(fl, kpt, bs, nkpt, ndim, decoded.anchors, decoded.strides);
        return [fl.cat([decoded.y, predKpt], 1), [maps, kpt]];
      },
    );
  },
};

/**
 * Classify: in eval 8.3 returns the softmax, 8.4 `(softmax, logits)` (`withLogits`, a multi-output module).
 */
export const makeClassify = (withLogits: boolean): ModuleDef => ({
  name: 'Classify',
  category: 'head',
  doc: withLogits
    ? 'Classification head: Conv to 1280 channels, global average pool, Linear to c2 classes; returns the softmax and the logits.'
    : 'Classification head: Conv to 1280 channels, global average pool, Linear to c2 classes, softmax.',
  source: `${SRC}:Classify`,
  ...(withLogits ? { multiOutput: true } : {}),
  signature: [
    param('c1', 'channels', 'input channels (parse_model passes the input layer\u2019s channels)'),
    param('c2', 'channels', 'number of classes (not width-scaled when it equals nc)'),
    param('k', 'kernel', 'kernel size of the 1280-channel conv', 1),
    param('s', 'kernel', 'its stride', 1),
    param('p', 'kernel', 'its padding (None: same)', null),
    param('g', 'int', 'its groups', 1),
  ],
  build: (b, a) => {
    const hidden = 1280; // efficientnet_b0 width, fixed upstream
    const conv = construct(b, Conv, [a.raw('c1'), hidden, a.raw('k'), a.raw('s'), a.raw('p'), a.raw('g')]);
    const pool = b.adaptiveAvgPool2d(1);
    const drop = b.dropout(0.0);
    const linear = b.linear(hidden, a.channels('c2'));
    return b.mod('Classify', { conv, pool, drop, linear }, <T>(fl: Flow<T>, xin: In<T>): Out<T> => {
      const x =
        Array.isArray(xin) && (xin.length === 0 || typeof xin[0] !== 'number') ? fl.cat(xin as readonly T[], 1) : inputOne(xin, 'Classify');
      const logits = fl.call(linear, fl.call(drop, fl.flatten(fl.call(pool, fl.call(conv, x)), 1)));
      const y = fl.softmax(logits, 1);
      return withLogits ? [y, logits] : y;
    });
  },
});

export const Classify: ModuleDef = makeClassify(false);

export const WorldDetect: ModuleDef = {
  name: 'WorldDetect',
  ...headDefaults,
  guide: 'consumer-original',
  doc: 'YOLO-World head: the class branch embeds each anchor and a contrastive head scores it against the text features.',
  source: `${SRC}:WorldDetect`,
  signature: [
    ncParam,
    param('embed', 'int', 'embedding width of the text features', 512),
    param('with_bn', 'bool', 'BNContrastiveHead instead of ContrastiveHead', false),
    chParam,
  ],
  build: (b, a) => {
    const core = detectCore(b, a);
    const ch = levelChannels(a);
    const c3 = Math.max(ch[0]!, Math.min(core.nc, 100));
    const embed = a.channels('embed');
    core.cv3 = ch.map((x) => b.seq([construct(b, Conv, [x, c3, 3]), construct(b, Conv, [c3, c3, 3]), b.conv2d(c3, embed, 1)]));
    const cv4 = ch.map(() => (a.bool('with_bn') ? construct(b, BNContrastiveHead, [embed]) : construct(b, ContrastiveHead, [])));
    return b.mod(
      'WorldDetect',
      { cv2: b.list(core.cv2), cv3: b.list(core.cv3), dfl: core.dfl, cv4: b.list(cv4) },
      <T>(fl: Flow<T>, x: In<T>, ctx: ForwardCtx<T>): Out<T> => {
        const text = guideOf(ctx, 'WorldDetect', 'text');
        const xs = levels(x, core.nl, 'WorldDetect');
        for (let i = 0; i < core.nl; i++)
          xs[i] = fl.cat([fl.call(core.cv2[i]!, xs[i]!), fl.call(cv4[i]!, [fl.call(core.cv3[i]!, xs[i]!), text])], 1);
        const decoded = inference(fl, core, xs, ctx, (d, anchors) => dist2bbox(fl, d, anchors, true));
        return [decoded.y, xs];
      },
    );
  },
};

/** The builder of a `copy.deepcopy(branch)`: the Conv.default_act instance all Convs share is copied once for the copy. */
export function deepCopyEnv(b: Builder): Builder {
  const act = b.env.convDefaultAct;
  return act ? new Builder({ ...b.env, convDefaultAct: { ...act } }) : b;
}

/** Detect.postprocess(preds [b, A, 4 + nc], max_det, nc): the top max_det (box, score, class) rows. */
function postprocess<T>(fl: Flow<T>, preds: T, maxDet: number, nc: number): T {
  const [bs, anchors] = fl.shape(preds) as [number, number];
  const k = Math.min(maxDet, anchors);
  const [boxes, scores] = fl.split(preds, [4, nc], -1) as [T, T];
  const index = fl.unsqueeze(fl.topk(fl.maxDim(scores, -1, false), k, -1)[1], -1);
  const topBoxes = fl.gather(boxes, 1, fl.expand(index, [bs, k, 4]));
  const topScores = fl.gather(scores, 1, fl.expand(index, [bs, k, nc]));
  const [best, flat] = fl.topk(fl.flatten(topScores, 1), k, -1);
  // boxes[arange(bs)[..., None], index // nc]
  const picked = fl.gather(topBoxes, 1, fl.expand(fl.unsqueeze(fl.floorDiv(flat, nc), -1), [bs, k, 4]));
  return fl.cat([picked, fl.unsqueeze(best, -1), fl.toFloat(fl.unsqueeze(fl.remainder(flat, nc), -1))], -1);
}

export const v10Detect: ModuleDef = {
  name: 'v10Detect',
  ...headDefaults,
  doc: 'YOLOv10 end-to-end head: one-to-many and one-to-one branch copies; inference keeps the top 300 one-to-one predictions (no NMS).',
  source: `${SRC}:v10Detect`,
  signature: [ncParam, chParam],
  build: (b, a) => {
    const core = detectCore(b, a);
    const ch = levelChannels(a);
    const c3 = Math.max(ch[0]!, Math.min(core.nc, 100));
    // light class branch: depth-wise Conv (g = channels) + pointwise Conv, twice
    const lightCls = (b: Builder) =>
      ch.map((x) =>
        b.seq([
          b.seq([construct(b, Conv, [x, x, 3], { g: x }), construct(b, Conv, [x, c3, 1])]),
          b.seq([construct(b, Conv, [c3, c3, 3], { g: c3 }), construct(b, Conv, [c3, c3, 1])]),
          b.conv2d(c3, core.nc, 1),
        ]),
      );
    core.cv3 = lightCls(b);
    // end2end: the one2one branches are copy.deepcopy()s, so they have their own weights and, because deepcopy copies
    // the shared Conv.default_act once per call, one activation instance of their own per copied branch
    const o2oCv2 = detectCore(deepCopyEnv(b), a).cv2;
    const o2oCv3 = lightCls(deepCopyEnv(b));
    const one2one: DetectCore = { ...core, cv2: o2oCv2, cv3: o2oCv3 };
    const maxDet = 300;
    return b.mod(
      'v10Detect',
      { cv2: b.list(core.cv2), cv3: b.list(core.cv3), dfl: core.dfl, one2one_cv2: b.list(o2oCv2), one2one_cv3: b.list(o2oCv3) },
      <T>(fl: Flow<T>, x: In<T>, ctx: ForwardCtx<T>): Out<T> => {
        const xs = levels(x, core.nl, 'v10Detect');
        const o2o = range(core.nl).map((i) => fl.cat([fl.call(o2oCv2[i]!, xs[i]!), fl.call(o2oCv3[i]!, xs[i]!)], 1));
        for (let i = 0; i < core.nl; i++) xs[i] = fl.cat([fl.call(core.cv2[i]!, xs[i]!), fl.call(core.cv3[i]!, xs[i]!)], 1);
        // end2end decodes xyxy boxes
        const y = inference(fl, one2one, o2o, ctx, (d, anchors) => dist2bbox(fl, d, anchors, false)).y;
        return [postprocess(fl, fl.permute(y, [0, 2, 1]), maxDet, core.nc), [xs, o2o]];
      },
      { attrs: { end2end: true, maxDet } },
    );
  },
};

// ---------------------------------------------------------------------------------------------------------------
// RTDETRDecoder

/**
 * RTDETRDecoder._generate_anchors(shapes): per position (cx, cy, w, h) in logit space, +inf where any of them is not
 * inside (eps, 1 - eps); the valid mask [1, L, 1] as 0/1.
 */
function rtdetrAnchors<T>(
  fl: Flow<T>,
  shapes: readonly (readonly [number, number])[],
  gridSize = 0.05,
  eps = 1e-2,
): { anchors: T; valid: T; total: number } {
  const grid = gridLocator(shapes);
  const box = (i: number): number[] => {
    const { level, row, col } = grid.at(i);
    const [h, w] = shapes[level]!;
    const wh = gridSize * 2 ** level;
    return [(col + 0.5) / w, (row + 0.5) / h, wh, wh];
  };
  const ok = (b: number[]) => b.every((v) => v > eps && v < 1 - eps);
  return {
    total: grid.total,
    anchors: fl.constant([1, grid.total, 4], (i) => {
      const b = box(Math.floor(i / 4));
      const v = b[i % 4]!;
      return ok(b) ? Math.log(v / (1 - v)) : Infinity;
    }),
    valid: fl.constant([1, grid.total, 1], (i) => (ok(box(i)) ? 1 : 0)),
  };
}

/**
 * RTDETRDecoder built with a given MLP definition: ultralytics 8.4's MLP registers an `out_norm` (nn.Identity) that
 * 8.3's does not, the decoder is otherwise the same class.
 */
export const makeRTDETRDecoder = (MLP: ModuleDef, source: string): ModuleDef => ({
  name: 'RTDETRDecoder',
  category: 'head',
  multiOutput: true,
  doc:
    'RT-DETR decoder: projects each level to hd channels, selects the top nq encoder positions as queries and refines them ' +
    'through ndl deformable decoder layers.',
  source,
  signature: [
    ncParam,
    param('ch', 'list', 'input channels per level (parse_model inserts them as the second arg)', new PyTuple([512, 1024, 2048])),
    param('hd', 'int', 'hidden dim', 256),
    param('nq', 'int', 'number of queries', 300),
    param('ndp', 'int', 'decoder sampling points', 4),
    param('nh', 'int', 'attention heads', 8),
    param('ndl', 'int', 'decoder layers', 6),
    param('d_ffn', 'int', 'feed-forward width', 1024),
    param('dropout', 'float', 'dropout rate', f(0.0)),
    param('act', 'act', 'feed-forward activation', new PyObj('ReLU', 'ReLU()'), 'nn.ReLU()'),
    param('eval_idx', 'int', 'decoder layer whose output inference returns', -1),
    param('nd', 'int', 'denoising queries (training only)', 100),
    param('label_noise_ratio', 'float', 'denoising label noise (training only)', f(0.5)),
    param('box_noise_scale', 'float', 'denoising box noise (training only)', f(1.0)),
    param('learnt_init_query', 'bool', 'learnt query embeddings instead of the selected features', false),
  ],
  build: (b, a) => {
    const nc = a.int('nc');
    const chRaw = a.raw('ch');
    if (!isSeq(chRaw))
      throw buildError(
        `object of type '${typeof chRaw === 'number' ? 'int' : 'value'}' has no len() (ch must be a list of channels)`,
        'ch',
      );
    const ch = a.intList('ch');
    const hd = a.channels('hd');
    const nq = a.int('nq');
    const ndl = a.int('ndl');
    if (ndl > MAX_DECODER_LAYERS)
      throw buildError(`ndl = ${ndl} decoder layers is beyond anything buildable (YOLO Lens stops at ${MAX_DECODER_LAYERS})`, 'ndl');
    const nl = ch.length;
    const inputProj = ch.map((x) => b.seq([b.conv2d(x, hd, 1, { bias: false }), b.bn(hd)]));
    const layerArgs: PyVal[] = [hd, a.raw('nh'), a.raw('d_ffn'), a.raw('dropout'), a.raw('act'), nl, a.raw('ndp')];
    const layerArg = new ModuleArg('DeformableTransformerDecoderLayer', 'DeformableTransformerDecoderLayer(...)', (bb) =>
      construct(bb, DeformableTransformerDecoderLayer, layerArgs),
    );
    const decoder = construct(b, DeformableTransformerDecoder, [hd, layerArg, ndl, a.raw('eval_idx')]);
    const denoisingClassEmbed = b.embedding(nc, hd);
    const learnt = a.bool('learnt_init_query');
    const tgtEmbed = learnt ? b.embedding(nq, hd) : null;
    const queryPosHead = construct(b, MLP, [4, 2 * hd, hd], { num_layers: 2 });
    const encOutput = b.seq([b.linear(hd, hd), b.layerNorm(hd)]);
    const encScoreHead = b.linear(hd, nc);
    const encBboxHead = construct(b, MLP, [hd, hd, 4], { num_layers: 3 });
    const decScoreHead = range(ndl).map(() => b.linear(hd, nc));
    const decBboxHead = range(ndl).map(() => construct(b, MLP, [hd, hd, 4], { num_layers: 3 }));
    const children = {
      input_proj: b.list(inputProj),
      decoder,
      denoising_class_embed: denoisingClassEmbed,
      tgt_embed: tgtEmbed,
      query_pos_head: queryPosHead,
      enc_output: encOutput,
      enc_score_head: encScoreHead,
      enc_bbox_head: encBboxHead,
      dec_score_head: b.list(decScoreHead),
      dec_bbox_head: b.list(decBboxHead),
    };
    return b.mod('RTDETRDecoder', children, <T>(fl: Flow<T>, xin: In<T>): Out<T> => {
      const xs = inputList(xin, 'RTDETRDecoder');
      if (xs.length > nl)
        throw new ShapeError(`index ${nl} is out of range (RTDETRDecoder was built for ${nl} levels, got ${xs.length} inputs)`);
      // _get_encoder_input: project, flatten to [b, h*w, hd] and concatenate the levels
      const shapes: [number, number][] = [];
      const feats = fl.cat(
        xs.map((x, i) => {
          const p = fl.call(inputProj[i]!, x);
          const s = fl.shape(p);
          shapes.push([s[2]!, s[3]!]);
          return fl.permute(fl.flatten(p, 2), [0, 2, 1]);
        }),
        1,
      );
      const bs = fl.shape(feats)[0]!;
      // _get_decoder_input (eval: no denoising queries)
      const { anchors, valid: validMask, total: L } = rtdetrAnchors(fl, shapes);
      const features = fl.call(encOutput, fl.mul(validMask, feats));
      const encOutputsScores = fl.call(encScoreHead, features);
      const topk = fl.topk(fl.maxDim(encOutputsScores, -1, false), nq, 1)[1];
      const pick = (t: T, width: number) => fl.gather(t, 1, fl.expand(fl.unsqueeze(topk, -1), [bs, nq, width]));
      const topKFeatures = pick(features, hd);
      const topKAnchors = pick(fl.expand(anchors, [bs, L, 4]), 4);
      const referBbox = fl.add(fl.call(encBboxHead, topKFeatures), topKAnchors);
      const encBboxes = fl.sigmoid(referBbox);
      const encScores = pick(encOutputsScores, nc);
      const embed = tgtEmbed ? fl.expand(fl.unsqueeze(fl.param(tgtEmbed, 'weight'), 0), [bs, nq, hd]) : topKFeatures;
      const dec = fl.callMulti(decoder, [embed, referBbox, feats], {
        kwargs: { shapes, bbox_head: decBboxHead, score_head: decScoreHead, pos_mlp: queryPosHead },
      });
      const [decBboxes, decScores] = dec as [T, T];
      const squeeze0 = (t: T) => {
        const s = fl.shape(t);
        if (s[0] !== 1) return t; // squeeze(0) leaves a dim that is not 1
        return fl.view(t, s.slice(1));
      };
      const y = fl.cat([squeeze0(decBboxes), fl.sigmoid(squeeze0(decScores))], -1);
      // x = dec_bboxes, dec_scores, enc_bboxes, enc_scores, dn_meta (None in eval)
      return [y, [decBboxes, decScores, encBboxes, encScores, null]];
    });
  },
});

export const RTDETRDecoder: ModuleDef = makeRTDETRDecoder(MLP, `${SRC}:RTDETRDecoder`);

export const ULTRALYTICS_HEAD_MODULES: readonly ModuleDef[] = [
  Proto,
  Detect,
  Segment,
  OBB,
  Pose,
  Classify,
  WorldDetect,
  RTDETRDecoder,
  v10Detect,
];
