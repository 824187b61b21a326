/**
 * ultralytics 8.4.33 nn/modules/head.py: the Detect family as 8.4 builds and runs it.
 *  - Constructors take `reg_max` and `end2end` before `ch` (parse_model appends `[reg_max, end2end, ch]`); the DFL
 *    is an nn.Identity when reg_max is 1; with end2end the box/class (and extra) branches are deep-copied into
 *    `one2one_*` branches.
 *  - The class branch cv3 depends on the class attribute `legacy` that parse_model sets on the head class before
 *    building it: legacy (no C3k2, A2C2f or C2fCIB layer before the head) gives Conv-Conv-Conv2d, otherwise
 *    DWConv/Conv pairs. `detectHeads84(legacy)` builds either set; the namespace holds both.
 *  - In eval, forward returns `(y, preds)`: preds is a dict (boxes, scores, feats, then the head's extras), or
 *    `{one2many: ..., one2one: ...}` for an end2end head, whose y is the top-300 post-processed detections.
 *    Dicts are returned as lists of their values in insertion order (how the reference records list them).
 *  - Fused (`b.fused`): `model.fuse()` calls `fuse()` of an end2end head, which drops the one-to-many branches
 *    (and what each head's fuse() names: Pose26's flow model and sigma branches, Proto26's semseg).
 * v10Detect, WorldDetect, Classify and RTDETRDecoder are 8.4's versions of those classes.
 */
import { Builder } from '../../nn/builder.ts';
import { buildError, type Flow, type ForwardCtx, type In, type Mod, type Out, ShapeError } from '../../nn/module.ts';
import { PyTuple } from '../../py.ts';
import { Args, construct, type ModuleDef, param } from '../types.ts';
import { range } from '../yolov5.ts';
import { Conv, DWConv } from './conv.ts';
import { DFL } from './block.ts';
import { BNContrastiveHead, ContrastiveHead, guideOf } from './world.ts';
import {
  chParam,
  deepCopyEnv,
  dist2bbox,
  dist2rbox,
  extraBranch,
  headDefaults,
  keypointShape,
  keypointsDecode,
  levelChannels,
  levels,
  makeAnchors,
  makeClassify,
  makeRTDETRDecoder,
  ncParam,
  Proto,
} from './head.ts';
import { MLP } from './transformer-8.4.ts';
import { proto26, RealNVP, residualSwiGLU, SAVPE } from './block-8.4.ts';

const SRC = 'ultralytics/nn/modules/head.py';
/** Detect.max_det */
const MAX_DET = 300;

const regMaxParam = param('reg_max', 'int', "DFL bins per box side (parse_model passes the YAML's reg_max, 16 when absent)", 16);
const end2endParam = param(
  'end2end',
  'bool',
  "one-to-one branches and NMS-free top-300 output (parse_model passes the YAML's end2end, None when absent)",
  false,
);

// ---------------------------------------------------------------------------------------------------------------
// Shared machinery

/** What `forward_head` returns: a dict, kept as ordered entries. */
type Preds<T> = Map<string, T | readonly T[]>;

const predsOut = <T>(p: Preds<T>): Out<T> => [...p.values()] as Out<T>;

/** One set of branches (one2many or one2one): the box and class heads, and the head's extra ModuleLists. */
interface Branches {
  readonly box: readonly Mod[];
  readonly cls: readonly Mod[];
  readonly extra: Readonly<Record<string, readonly Mod[]>>;
}

/** Detect.__init__: the fields every head shares. */
interface DetectCore {
  readonly nc: number;
  readonly nl: number;
  readonly regMax: number;
  readonly ch: readonly number[];
  readonly c3: number;
  readonly end2end: boolean;
  readonly dfl: Mod;
  readonly cv2: Mod[];
  /** Detect's own cv3 (subclasses may replace it) */
  readonly cv3: Mod[];
  readonly o2oCv2: Mod[] | null;
  readonly o2oCv3: Mod[] | null;
}

/** `nn.Sequential(Conv(x, c2, 3), Conv(c2, c2, 3), nn.Conv2d(c2, out, 1))` per level. */
const threeLayer = (b: Builder, ch: readonly number[], c: number, out: number): Mod[] =>
  ch.map((x) => b.seq([construct(b, Conv, [x, c, 3]), construct(b, Conv, [c, c, 3]), b.conv2d(c, out, 1)]));

/** Detect's class branch: legacy Conv-Conv-Conv2d, else two DWConv + 1x1 Conv pairs, to `out` channels. */
function classBranch(b: Builder, ch: readonly number[], c3: number, out: number, legacy: boolean): Mod[] {
  if (legacy) return threeLayer(b, ch, c3, out);
  return ch.map((x) =>
    b.seq([
      b.seq([construct(b, DWConv, [x, x, 3]), construct(b, Conv, [x, c3, 1])]),
      b.seq([construct(b, DWConv, [c3, c3, 3]), construct(b, Conv, [c3, c3, 1])]),
      b.conv2d(c3, out, 1),
    ]),
  );
}

function detectInit(b: Builder, a: Args, legacy: boolean, end2end = a.bool('end2end')): DetectCore {
  const nc = a.int('nc');
  const ch = levelChannels(a);
  const regMax = a.int('reg_max');
  const c2 = Math.max(16, Math.floor(ch[0]! / 4), regMax * 4);
  const c3 = Math.max(ch[0]!, Math.min(nc, 100));
  const cv2 = threeLayer(b, ch, c2, 4 * regMax);
  const cv3 = classBranch(b, ch, c3, nc, legacy);
  const dfl = regMax > 1 ? construct(b, DFL, [regMax]) : b.identity();
  // copy.deepcopy(branch): fresh modules, and one copy of the shared Conv.default_act per deepcopy call
  const o2oCv2 = end2end ? threeLayer(deepCopyEnv(b), ch, c2, 4 * regMax) : null;
  const o2oCv3 = end2end ? classBranch(deepCopyEnv(b), ch, c3, nc, legacy) : null;
  return { nc, nl: ch.length, regMax, ch, c3, end2end, dfl, cv2, cv3, o2oCv2, o2oCv3 };
}

/** Children in registration order; `one2many` entries are what fuse() of an end2end head sets to None. */
type Child = readonly [name: string, mod: Mod | null, one2many?: 'one2many'];

function children(b: Builder, end2end: boolean, list: readonly Child[]): (readonly [string, Mod])[] {
  const dropped = b.fused && end2end;
  return list
    .filter((c): c is readonly [string, Mod, 'one2many'?] => c[1] !== null && !(dropped && c[2] === 'one2many'))
    .map(([n, m]) => [n, m] as const);
}

/** Detect.forward_head: boxes and scores over the levels, feats = the inputs; {} for a fused-away branch set. */
function baseHead<T>(fl: Flow<T>, core: DetectCore, xs: readonly T[], br: Branches | null): Preds<T> {
  if (!br) return new Map();
  const bs = fl.shape(xs[0]!)[0]!;
  const boxes = fl.cat(
    range(core.nl).map((i) => fl.view(fl.call(br.box[i]!, xs[i]!), [bs, 4 * core.regMax, -1])),
    -1,
  );
  const scores = fl.cat(
    range(core.nl).map((i) => fl.view(fl.call(br.cls[i]!, xs[i]!), [bs, core.nc, -1])),
    -1,
  );
  return new Map<string, T | readonly T[]>([
    ['boxes', boxes],
    ['scores', scores],
    ['feats', xs],
  ]);
}

/** `torch.cat([head[i](x[i]).view(bs, n, -1) for i in range(nl)], 2)` */
function levelsCat<T>(fl: Flow<T>, heads: readonly Mod[], xs: readonly T[], nl: number, n: number): T {
  const bs = fl.shape(xs[0]!)[0]!;
  return fl.cat(
    range(nl).map((i) => fl.view(fl.call(heads[i]!, xs[i]!), [bs, n, -1])),
    2,
  );
}

interface Decoded<T> {
  readonly y: T;
  readonly anchors: T;
  readonly strides: T;
}

/** Detect._inference: the DFL integral around the anchors x stride, cat the class sigmoids. */
function inference<T>(
  fl: Flow<T>,
  core: DetectCore,
  p: Preds<T>,
  ctx: ForwardCtx<T>,
  decode: (dist: T, anchors: T) => T,
  scoresOf: (p: Preds<T>) => T = (q) => q.get('scores') as T,
): Decoded<T> {
  const feats = p.get('feats') as readonly T[];
  // an unbuilt head's stride is torch.zeros(nl); the model build sets the probe's strides
  const a = makeAnchors(
    fl,
    feats,
    range(core.nl).map((i) => ctx.strides?.[i] ?? 0),
  );
  const dbox = fl.mul(decode(fl.call(core.dfl, p.get('boxes') as T), fl.unsqueeze(a.anchors, 0)), a.strides);
  return { y: fl.cat([dbox, fl.sigmoid(scoresOf(p))], 1), anchors: a.anchors, strides: a.strides };
}

/**
 * Detect.postprocess / get_topk_index on `preds` [b, A, 4 + nc + extra]: the top min(300, A) (box, score, class,
 * extra) rows.
 */
function postprocess<T>(fl: Flow<T>, preds: T, nc: number, extra: number): T {
  const [bs, anchors] = fl.shape(preds) as [number, number];
  const k = Math.min(MAX_DET, anchors);
  const parts = fl.split(preds, extra ? [4, nc, extra] : [4, nc], -1);
  const [boxes, scores] = parts as [T, T];
  const oriIndex = fl.unsqueeze(fl.topk(fl.maxDim(scores, -1, false), k, -1)[1], -1);
  const top = fl.gather(scores, 1, fl.expand(oriIndex, [bs, k, nc]));
  const [best, index] = fl.topk(fl.flatten(top, 1), k, -1);
  // ori_index[torch.arange(bs)[..., None], index // nc]
  const idx = fl.gather(oriIndex, 1, fl.unsqueeze(fl.floorDiv(index, nc), -1));
  const pick = (t: T, width: number) => fl.gather(t, 1, fl.expand(idx, [bs, k, width]));
  const out = [pick(boxes, 4), fl.unsqueeze(best, -1), fl.toFloat(fl.unsqueeze(fl.remainder(index, nc), -1))];
  if (extra) out.push(pick(parts[2]!, extra));
  return fl.cat(out, -1);
}

/** Detect.forward in eval: preds per branch set, decode (one2one when end2end), post-process when end2end. */
function detectForward<T>(
  fl: Flow<T>,
  core: DetectCore,
  xs: readonly T[],
  ctx: ForwardCtx<T>,
  one2many: Branches | null,
  one2one: Branches | null,
  head: {
    forwardHead: (xs: readonly T[], br: Branches | null) => Preds<T>;
    inference: (p: Preds<T>) => T;
    extra: number;
  },
): { y: T; preds: Preds<T>; many: Preds<T>; one: Preds<T> | null } {
  const many = head.forwardHead(xs, one2many);
  const one = core.end2end ? head.forwardHead(xs, one2one) : null;
  let y = head.inference(one ?? many);
  if (one) y = postprocess(fl, fl.permute(y, [0, 2, 1]), core.nc, head.extra);
  const preds: Preds<T> = one
    ? new Map<string, T | readonly T[]>([
        ['one2many', predsOut(many) as readonly T[]],
        ['one2one', predsOut(one) as readonly T[]],
      ])
    : many;
  return { y, preds, many, one };
}

const legacyNote = (legacy: boolean) => (legacy ? ' (legacy class branch: no C3k2, A2C2f or C2fCIB before the head)' : '');

// ---------------------------------------------------------------------------------------------------------------
// Detect, Segment(26), OBB(26), Pose(26)

function makeDetect(legacy: boolean): ModuleDef {
  return {
    name: 'Detect',
    ...headDefaults,
    doc:
      'Anchor-free detection head: per level a box branch (4\u00b7reg_max DFL bins) and a class branch, decoded at the anchor ' +
      `points; end2end adds one-to-one copies and returns the top 300${legacyNote(legacy)}.`,
    source: `${SRC}:Detect`,
    signature: [ncParam, regMaxParam, end2endParam, chParam],
    build: (b, a) => {
      const core = detectInit(b, a, legacy);
      const many: Branches = { box: core.cv2, cls: core.cv3, extra: {} };
      const one: Branches | null = core.o2oCv2 && core.o2oCv3 ? { box: core.o2oCv2, cls: core.o2oCv3, extra: {} } : null;
      const fusedAway = b.fused && core.end2end;
      const list = children(b, core.end2end, [
        ['cv2', b.list(core.cv2), 'one2many'],
        ['cv3', b.list(core.cv3), 'one2many'],
        ['dfl', core.dfl],
        ['one2one_cv2', core.o2oCv2 && b.list(core.o2oCv2)],
        ['one2one_cv3', core.o2oCv3 && b.list(core.o2oCv3)],
      ]);
      return b.mod('Detect', list, <T>(fl: Flow<T>, x: In<T>, ctx: ForwardCtx<T>): Out<T> => {
        const xs = levels(x, core.nl, 'Detect');
        const r = detectForward(fl, core, xs, ctx, fusedAway ? null : many, one, {
          forwardHead: (xx, br) => baseHead(fl, core, xx, br),
          inference: (p) => inference(fl, core, p, ctx, (d, an) => dist2bbox(fl, d, an, !core.end2end)).y,
          extra: 0,
        });
        return [r.y, predsOut(r.preds)];
      });
    },
  };
}

function makeSegment(legacy: boolean, v26: boolean): ModuleDef {
  const name = v26 ? 'Segment26' : 'Segment';
  return {
    name,
    ...headDefaults,
    doc: v26
      ? `YOLO26 segmentation head: Detect plus mask coefficients per anchor (cv4) and a Proto26 over all levels${legacyNote(legacy)}.`
      : `Detect plus mask coefficients per anchor (cv4) and a Proto branch on the first level${legacyNote(legacy)}.`,
    source: `${SRC}:${name}`,
    signature: [
      ncParam,
      param('nm', 'int', 'number of masks', 32),
      param('npr', 'channels', 'number of protos (parse_model scales it by width)', 256),
      regMaxParam,
      end2endParam,
      chParam,
    ],
    build: (b, a) => {
      const core = detectInit(b, a, legacy);
      const ch = core.ch;
      const nm = a.int('nm');
      const npr = a.channels('npr');
      const fusedAway = b.fused && core.end2end;
      const proto = v26 ? proto26(b, ch, npr, nm, core.nc, !fusedAway) : construct(b, Proto, [ch[0]!, npr, nm]);
      const c4 = Math.max(Math.floor(ch[0]! / 4), nm);
      const cv4 = extraBranch(b, ch, c4, nm);
      const o2oCv4 = core.end2end ? extraBranch(deepCopyEnv(b), ch, c4, nm) : null;
      const many: Branches = { box: core.cv2, cls: core.cv3, extra: { mask: cv4 } };
      const one: Branches | null = core.end2end ? { box: core.o2oCv2!, cls: core.o2oCv3!, extra: { mask: o2oCv4! } } : null;
      const list = children(b, core.end2end, [
        ['cv2', b.list(core.cv2), 'one2many'],
        ['cv3', b.list(core.cv3), 'one2many'],
        ['dfl', core.dfl],
        ['one2one_cv2', core.o2oCv2 && b.list(core.o2oCv2)],
        ['one2one_cv3', core.o2oCv3 && b.list(core.o2oCv3)],
        ['proto', proto],
        ['cv4', b.list(cv4), 'one2many'],
        ['one2one_cv4', o2oCv4 && b.list(o2oCv4)],
      ]);
      return b.mod(name, list, <T>(fl: Flow<T>, x: In<T>, ctx: ForwardCtx<T>): Out<T> => {
        const xs = levels(x, core.nl, name);
        const r = detectForward(fl, core, xs, ctx, fusedAway ? null : many, one, {
          forwardHead: (xx, br) => {
            const p = baseHead(fl, core, xx, br);
            if (br) p.set('mask_coefficient', levelsCat(fl, br.extra.mask!, xx, core.nl, nm));
            return p;
          },
          inference: (p) =>
            fl.cat([inference(fl, core, p, ctx, (d, an) => dist2bbox(fl, d, an, !core.end2end)).y, p.get('mask_coefficient') as T], 1),
          extra: nm,
        });
        const p = v26 ? fl.call(proto, xs) : fl.call(proto, xs[0]!);
        r.many.set('proto', p);
        if (r.one) r.one.set('proto', p);
        const preds = r.one ? [predsOut(r.many), predsOut(r.one)] : predsOut(r.many);
        return [[r.y, p], preds];
      });
    },
  };
}

function makeOBB(legacy: boolean, v26: boolean): ModuleDef {
  const name = v26 ? 'OBB26' : 'OBB';
  return {
    name,
    ...headDefaults,
    doc: v26
      ? `YOLO26 rotated-box head: OBB with raw angle logits (no sigmoid)${legacyNote(legacy)}.`
      : 'Detect for rotated boxes: an angle branch (cv4) per level, (sigmoid - 0.25)\u00b7\u03c0; boxes decoded with the ' +
        `angle${legacyNote(legacy)}.`,
    source: `${SRC}:${name}`,
    signature: [ncParam, param('ne', 'int', 'number of extra parameters (angles)', 1), regMaxParam, end2endParam, chParam],
    build: (b, a) => {
      const core = detectInit(b, a, legacy);
      const ch = core.ch;
      const ne = a.int('ne');
      const c4 = Math.max(Math.floor(ch[0]! / 4), ne);
      const cv4 = extraBranch(b, ch, c4, ne);
      const o2oCv4 = core.end2end ? extraBranch(deepCopyEnv(b), ch, c4, ne) : null;
      const fusedAway = b.fused && core.end2end;
      const many: Branches = { box: core.cv2, cls: core.cv3, extra: { angle: cv4 } };
      const one: Branches | null = core.end2end ? { box: core.o2oCv2!, cls: core.o2oCv3!, extra: { angle: o2oCv4! } } : null;
      const list = children(b, core.end2end, [
        ['cv2', b.list(core.cv2), 'one2many'],
        ['cv3', b.list(core.cv3), 'one2many'],
        ['dfl', core.dfl],
        ['one2one_cv2', core.o2oCv2 && b.list(core.o2oCv2)],
        ['one2one_cv3', core.o2oCv3 && b.list(core.o2oCv3)],
        ['cv4', b.list(cv4), 'one2many'],
        ['one2one_cv4', o2oCv4 && b.list(o2oCv4)],
      ]);
      return b.mod(name, list, <T>(fl: Flow<T>, x: In<T>, ctx: ForwardCtx<T>): Out<T> => {
        const xs = levels(x, core.nl, name);
        const r = detectForward(fl, core, xs, ctx, fusedAway ? null : many, one, {
          forwardHead: (xx, br) => {
            const p = baseHead(fl, core, xx, br);
            if (br) {
              const logits = levelsCat(fl, br.extra.angle!, xx, core.nl, ne);
              // OBB: theta logits -> [-pi/4, 3pi/4]; OBB26 keeps them raw
              p.set(
                'angle',
                v26
                  ? logits
                  : fl.scale(
                      fl.sub(
                        fl.sigmoid(logits),
                        fl.constant([1], () => 0.25),
                      ),
                      Math.PI,
                    ),
              );
            }
            return p;
          },
          inference: (p) => {
            const angle = p.get('angle') as T;
            const y = inference(fl, core, p, ctx, (d, an) => dist2rbox(fl, d, angle, an)).y;
            return fl.cat([y, angle], 1);
          },
          extra: ne,
        });
        return [r.y, predsOut(r.preds)];
      });
    },
  };
}

function makePose(legacy: boolean, v26: boolean): ModuleDef {
  const name = v26 ? 'Pose26' : 'Pose';
  return {
    name,
    ...headDefaults,
    doc: v26
      ? 'YOLO26 pose head: keypoint features (cv4) with separate keypoint and sigma convs, a RealNVP flow for the training ' +
        `loss; keypoints decoded as (y + anchor)\u00b7stride${legacyNote(legacy)}.`
      : `Detect plus keypoints per anchor (cv4), decoded around the anchor points${legacyNote(legacy)}.`,
    source: `${SRC}:${name}`,
    signature: [
      ncParam,
      param('kpt_shape', 'list', 'keypoints and dims per keypoint (2: x, y; 3: x, y, visible)', new PyTuple([17, 3])),
      regMaxParam,
      end2endParam,
      chParam,
    ],
    build: (b, a) => {
      const core = detectInit(b, a, legacy);
      const ch = core.ch;
      const [nkpt, ndim] = keypointShape(a.raw('kpt_shape'));
      const nk = nkpt * ndim;
      // Pose.__init__'s cv4 (and its one2one copy); Pose26 replaces both in place
      const c4p = Math.max(Math.floor(ch[0]! / 4), nk);
      let cv4 = extraBranch(b, ch, c4p, nk);
      let o2oCv4 = core.end2end ? extraBranch(deepCopyEnv(b), ch, c4p, nk) : null;
      const fusedAway = b.fused && core.end2end;
      let flowModel: Mod | null = null;
      let kptsHead: Mod[] | null = null;
      let sigmaHead: Mod[] | null = null;
      let o2oKpts: Mod[] | null = null;
      let o2oSigma: Mod[] | null = null;
      if (v26) {
        flowModel = construct(b, RealNVP, []);
        const c4 = Math.max(Math.floor(ch[0]! / 4), nkpt * (ndim + 2));
        const features = (bb: Builder) => ch.map((x) => bb.seq([construct(bb, Conv, [x, c4, 3]), construct(bb, Conv, [c4, c4, 3])]));
        cv4 = features(b);
        kptsHead = ch.map(() => b.conv2d(c4, nk, 1));
        sigmaHead = ch.map(() => b.conv2d(c4, nkpt * 2, 1));
        if (core.end2end) {
          o2oCv4 = features(deepCopyEnv(b));
          o2oKpts = ch.map(() => b.conv2d(c4, nk, 1));
          o2oSigma = ch.map(() => b.conv2d(c4, nkpt * 2, 1));
        }
      }
      const many: Branches = { box: core.cv2, cls: core.cv3, extra: { pose: cv4, ...(kptsHead ? { kpts: kptsHead } : {}) } };
      const one: Branches | null = core.end2end
        ? { box: core.o2oCv2!, cls: core.o2oCv3!, extra: { pose: o2oCv4!, ...(o2oKpts ? { kpts: o2oKpts } : {}) } }
        : null;
      const list = children(b, core.end2end, [
        ['cv2', b.list(core.cv2), 'one2many'],
        ['cv3', b.list(core.cv3), 'one2many'],
        ['dfl', core.dfl],
        ['one2one_cv2', core.o2oCv2 && b.list(core.o2oCv2)],
        ['one2one_cv3', core.o2oCv3 && b.list(core.o2oCv3)],
        ['cv4', b.list(cv4), 'one2many'],
        ['one2one_cv4', o2oCv4 && b.list(o2oCv4)],
        // Pose26.fuse() also sets flow_model, cv4_kpts, cv4_sigma and one2one_cv4_sigma to None
        ['flow_model', flowModel, 'one2many'],
        ['cv4_kpts', kptsHead && b.list(kptsHead), 'one2many'],
        ['cv4_sigma', sigmaHead && b.list(sigmaHead), 'one2many'],
        ['one2one_cv4_kpts', o2oKpts && b.list(o2oKpts)],
        ['one2one_cv4_sigma', o2oSigma && b.list(o2oSigma), 'one2many'],
      ]);
      return b.mod(name, list, <T>(fl: Flow<T>, x: In<T>, ctx: ForwardCtx<T>): Out<T> => {
        const xs = levels(x, core.nl, name);
        const bs = fl.shape(xs[0]!)[0]!;
        const r = detectForward(fl, core, xs, ctx, fusedAway ? null : many, one, {
          forwardHead: (xx, br) => {
            const p = baseHead(fl, core, xx, br);
            if (!br) return p;
            const kh = br.extra.kpts;
            if (kh) {
              // Pose26: features through cv4, keypoints through cv4_kpts (the sigma branch runs in training only)
              const feats = range(core.nl).map((i) => fl.call(br.extra.pose![i]!, xx[i]!));
              p.set('kpts', levelsCat(fl, kh, feats, core.nl, nk));
            } else p.set('kpts', levelsCat(fl, br.extra.pose!, xx, core.nl, nk));
            return p;
          },
          inference: (p) => {
            const d = inference(fl, core, p, ctx, (dd, an) => dist2bbox(fl, dd, an, !core.end2end));
            const kpts = keypointsDecode(fl, p.get('kpts') as T, bs, nkpt, ndim, d.anchors, d.strides, v26);
            return fl.cat([d.y, kpts], 1);
          },
          extra: nk,
        });
        return [r.y, predsOut(r.preds)];
      });
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// YOLOE heads

/** YOLOEModel.predict without prompts: get_cls_pe falls back to `torch.zeros(1, 80, 512)`, expanded to the batch. */
export const DEFAULT_PROMPTS = { classes: 80, width: 512 } as const;

/**
 * The head's input list: the levels, then the class prompt embeddings [b, K, embed] that only a YOLOEModel (a file
 * whose name contains "yoloe") appends (`ctx.guide`); forward_head asserts 4 inputs, so exactly 3 levels.
 */
function withPrompts<T>(x: In<T>, ctx: ForwardCtx<T>, nl: number, who: string): T[] {
  const xs = levels(x, nl, who);
  if (ctx.guide === undefined)
    throw new ShapeError(
      `AssertionError: Expected 4 features including 3 feature maps and 1 text embeddings, but got ${xs.length}. ` +
        `(only a YOLOEModel, a file whose name contains 'yoloe', appends the class prompt embeddings to ${who}'s inputs)`,
    );
  const all = [...xs, ctx.guide];
  if (all.length !== 4)
    throw new ShapeError(
      `AssertionError: Expected 4 features including 3 feature maps and 1 text embeddings, but got ${all.length}. ` +
        `(${who} takes exactly 3 levels)`,
    );
  return all;
}

interface YoloeCore {
  readonly core: DetectCore;
  readonly cv3: Mod[];
  readonly cv4: Mod[];
  readonly o2oCv3: Mod[] | null;
  readonly o2oCv4: Mod[] | null;
  readonly reprta: Mod;
  readonly savpe: Mod;
  readonly embed: number;
}

function yoloeInit(b: Builder, a: Args, legacy: boolean): YoloeCore {
  const core = detectInit(b, a, legacy);
  const ch = core.ch;
  const embed = a.int('embed');
  const c3 = core.c3;
  if (!(c3 <= embed)) throw buildError(`AssertionError: YOLOEDetect asserts c3 <= embed (c3 = ${c3}, embed = ${embed})`, 'embed');
  if (!a.bool('with_bn')) throw buildError('AssertionError: YOLOEDetect asserts with_bn (it needs BNContrastiveHead)', 'with_bn');
  const cv3 = classBranch(b, ch, c3, embed, legacy);
  const contrastive = (bb: Builder) => ch.map(() => construct(bb, BNContrastiveHead, [embed]));
  const cv4 = contrastive(b);
  const o2oCv3 = core.end2end ? classBranch(deepCopyEnv(b), ch, c3, embed, legacy) : null;
  const o2oCv4 = core.end2end ? contrastive(deepCopyEnv(b)) : null;
  const reprta = residualSwiGLU(b, embed);
  const savpe = construct(b, SAVPE, [ch as number[], c3, embed]);
  return { core, cv3, cv4, o2oCv3, o2oCv4, reprta, savpe, embed };
}

/** YOLOEDetect.forward_head: boxes, scores from the contrastive heads against the prompts (nc becomes their count). */
function yoloeHead<T>(fl: Flow<T>, y: YoloeCore, xs: readonly T[], br: Branches | null): Preds<T> {
  if (!br) return new Map();
  const { core } = y;
  const bs = fl.shape(xs[0]!)[0]!;
  const pe = xs[xs.length - 1]!;
  const nc = fl.shape(pe)[1]!;
  const boxes = fl.cat(
    range(core.nl).map((i) => fl.view(fl.call(br.box[i]!, xs[i]!), [bs, 4 * core.regMax, -1])),
    -1,
  );
  const scores = fl.cat(
    range(core.nl).map((i) => fl.view(fl.call(br.extra.contrastive![i]!, [fl.call(br.cls[i]!, xs[i]!), pe]), [bs, nc, -1])),
    -1,
  );
  return new Map<string, T | readonly T[]>([
    ['boxes', boxes],
    ['scores', scores],
    ['feats', xs.slice(0, 3)],
  ]);
}

function makeYOLOE(legacy: boolean, kind: 'detect' | 'segment' | 'segment26'): ModuleDef {
  const name = kind === 'detect' ? 'YOLOEDetect' : kind === 'segment' ? 'YOLOESegment' : 'YOLOESegment26';
  const seg = kind !== 'detect';
  return {
    name,
    ...headDefaults,
    prompts: DEFAULT_PROMPTS,
    doc:
      (kind === 'detect'
        ? 'YOLOE open-vocabulary head: a box branch and an embedding branch scored against class prompt embeddings ' +
          '(BNContrastiveHead); a text-prompt MLP (reprta) and a visual-prompt encoder (SAVPE)'
        : 'YOLOE segmentation head: YOLOEDetect plus mask coefficients (cv5) and a ' +
          (kind === 'segment' ? 'Proto on the first level' : 'Proto26 over all levels')) +
      `; without prompts the model passes zeros(1, 80, 512)${legacyNote(legacy)}.`,
    source: `${SRC}:${name}`,
    signature: [
      ncParam,
      ...(seg
        ? [param('nm', 'int', 'number of masks', 32), param('npr', 'channels', 'number of protos (parse_model scales it by width)', 256)]
        : []),
      param('embed', 'int', 'embedding width of the prompts', 512),
      param('with_bn', 'bool', 'BNContrastiveHead (must be True)', false),
      regMaxParam,
      end2endParam,
      chParam,
    ],
    build: (b, a) => {
      const y = yoloeInit(b, a, legacy);
      const { core } = y;
      const ch = core.ch;
      const fusedAway = b.fused && core.end2end;
      let proto: Mod | null = null;
      let cv5: Mod[] | null = null;
      let o2oCv5: Mod[] | null = null;
      const nm = seg ? a.int('nm') : 0;
      if (seg) {
        const npr = a.channels('npr');
        proto = kind === 'segment' ? construct(b, Proto, [ch[0]!, npr, nm]) : proto26(b, ch, npr, nm, core.nc, !fusedAway);
        const c5 = Math.max(Math.floor(ch[0]! / 4), nm);
        cv5 = extraBranch(b, ch, c5, nm);
        o2oCv5 = core.end2end ? extraBranch(deepCopyEnv(b), ch, c5, nm) : null;
      }
      const many: Branches = { box: core.cv2, cls: y.cv3, extra: { contrastive: y.cv4, ...(cv5 ? { mask: cv5 } : {}) } };
      const one: Branches | null = core.end2end
        ? { box: core.o2oCv2!, cls: y.o2oCv3!, extra: { contrastive: y.o2oCv4!, ...(o2oCv5 ? { mask: o2oCv5 } : {}) } }
        : null;
      const list = children(b, core.end2end, [
        ['cv2', b.list(core.cv2), 'one2many'],
        ['cv3', b.list(y.cv3), 'one2many'],
        ['dfl', core.dfl],
        ['one2one_cv2', core.o2oCv2 && b.list(core.o2oCv2)],
        ['one2one_cv3', y.o2oCv3 && b.list(y.o2oCv3)],
        ['cv4', b.list(y.cv4), 'one2many'],
        ['one2one_cv4', y.o2oCv4 && b.list(y.o2oCv4)],
        ['reprta', y.reprta],
        ['savpe', y.savpe],
        ['proto', proto],
        ['cv5', cv5 && b.list(cv5), 'one2many'],
        ['one2one_cv5', o2oCv5 && b.list(o2oCv5)],
      ]);
      return b.mod(name, list, <T>(fl: Flow<T>, x: In<T>, ctx: ForwardCtx<T>): Out<T> => {
        const xs = withPrompts(x, ctx, core.nl, name);
        const nc = fl.shape(xs[3]!)[1]!;
        // self.nc = x[-1].shape[1]: the prompts decide the class count the decode and postprocess use
        const c: DetectCore = { ...core, nc };
        const r = detectForward(fl, c, xs, ctx, fusedAway ? null : many, one, {
          forwardHead: (xx, br) => {
            const p = yoloeHead(fl, y, xx, br);
            if (br && seg) p.set('mask_coefficient', levelsCat(fl, br.extra.mask!, xx, core.nl, nm));
            return p;
          },
          inference: (p) => {
            const d = inference(fl, c, p, ctx, (dd, an) => dist2bbox(fl, dd, an, !core.end2end)).y;
            return seg ? fl.cat([d, p.get('mask_coefficient') as T], 1) : d;
          },
          extra: nm,
        });
        if (!seg) return [r.y, predsOut(r.preds)];
        const p = kind === 'segment' ? fl.call(proto!, xs[0]!) : fl.call(proto!, xs);
        r.many.set('proto', p);
        if (r.one) r.one.set('proto', p);
        return [[r.y, p], r.one ? [predsOut(r.many), predsOut(r.one)] : predsOut(r.many)];
      });
    },
  };
}

/** The heads whose class branch follows parse_model's `legacy` flag, built for one value of it. */
export function detectHeads84(legacy: boolean): readonly ModuleDef[] {
  return [
    makeDetect(legacy),
    makeSegment(legacy, false),
    makeSegment(legacy, true),
    makeOBB(legacy, false),
    makeOBB(legacy, true),
    makePose(legacy, false),
    makePose(legacy, true),
    makeYOLOE(legacy, 'detect'),
    makeYOLOE(legacy, 'segment'),
    makeYOLOE(legacy, 'segment26'),
  ];
}

/** The head classes as a fresh process has them (`legacy = False`, the class default), what parse_model builds after a C3k2. */
export const HEADS_84: readonly ModuleDef[] = detectHeads84(false);
/** The same heads after parse_model set `legacy = True` (no C3k2, A2C2f or C2fCIB before the head). */
export const LEGACY_HEADS_84: readonly ModuleDef[] = detectHeads84(true);

// ---------------------------------------------------------------------------------------------------------------
// WorldDetect, v10Detect, Classify, RTDETRDecoder as 8.4 has them

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
    regMaxParam,
    end2endParam,
    chParam,
  ],
  build: (b, a) => {
    // parse_model never sets WorldDetect.legacy: Detect.__init__ reads the class default (False in a fresh process);
    // that cv3 is replaced, and survives only in the one2one copy of an end2end head
    const core = detectInit(b, a, false);
    const ch = core.ch;
    const embed = a.channels('embed');
    const cv3 = threeLayer(b, ch, core.c3, embed);
    const cv4 = ch.map(() => (a.bool('with_bn') ? construct(b, BNContrastiveHead, [embed]) : construct(b, ContrastiveHead, [])));
    const fusedAway = b.fused && core.end2end;
    const list = children(b, core.end2end, [
      ['cv2', b.list(core.cv2), 'one2many'],
      ['cv3', b.list(cv3), 'one2many'],
      ['dfl', core.dfl],
      ['one2one_cv2', core.o2oCv2 && b.list(core.o2oCv2)],
      ['one2one_cv3', core.o2oCv3 && b.list(core.o2oCv3)],
      ['cv4', b.list(cv4)],
    ]);
    return b.mod('WorldDetect', list, <T>(fl: Flow<T>, x: In<T>, ctx: ForwardCtx<T>): Out<T> => {
      if (fusedAway)
        throw new ShapeError("'NoneType' object is not subscriptable (fuse() removed WorldDetect's cv2 and cv3, which its forward uses)");
      const text = guideOf(ctx, 'WorldDetect', 'text');
      const xs = levels(x, core.nl, 'WorldDetect');
      const bs = fl.shape(xs[0]!)[0]!;
      const no = core.nc + core.regMax * 4;
      const maps = range(core.nl).map((i) =>
        fl.cat([fl.call(core.cv2[i]!, xs[i]!), fl.call(cv4[i]!, [fl.call(cv3[i]!, xs[i]!), text])], 1),
      );
      const xCat = fl.cat(
        maps.map((m) => fl.view(m, [bs, no, -1])),
        2,
      );
      const [boxes, scores] = fl.split(xCat, [core.regMax * 4, core.nc], 1) as [T, T];
      const preds: Preds<T> = new Map<string, T | readonly T[]>([
        ['boxes', boxes],
        ['scores', scores],
        ['feats', xs.slice(0, core.nl)],
      ]);
      const y = inference(fl, core, preds, ctx, (d, an) => dist2bbox(fl, d, an, !core.end2end)).y;
      return [y, predsOut(preds)];
    });
  },
};

export const v10Detect: ModuleDef = {
  name: 'v10Detect',
  ...headDefaults,
  doc:
    'YOLOv10 end-to-end head: one-to-many and one-to-one branch copies with a light class branch; inference keeps ' +
    'the top 300 one-to-one predictions (no NMS).',
  source: `${SRC}:v10Detect`,
  signature: [ncParam, chParam],
  build: (b, a) => {
    // super().__init__(nc, end2end=True, ch=ch): reg_max 16; the Detect cv3 it builds (and copies) is replaced
    const core = detectInit(b, withDefaults(a), false, true);
    const ch = core.ch;
    const c3 = core.c3;
    const lightCls = (bb: Builder) =>
      ch.map((x) =>
        bb.seq([
          bb.seq([construct(bb, Conv, [x, x, 3], { g: x }), construct(bb, Conv, [x, c3, 1])]),
          bb.seq([construct(bb, Conv, [c3, c3, 3], { g: c3 }), construct(bb, Conv, [c3, c3, 1])]),
          bb.conv2d(c3, core.nc, 1),
        ]),
      );
    const cv3 = lightCls(b);
    const o2oCv3 = lightCls(deepCopyEnv(b));
    const many: Branches = { box: core.cv2, cls: cv3, extra: {} };
    const one: Branches = { box: core.o2oCv2!, cls: o2oCv3, extra: {} };
    const list = children(b, true, [
      ['cv2', b.list(core.cv2), 'one2many'],
      ['cv3', b.list(cv3), 'one2many'],
      ['dfl', core.dfl],
      ['one2one_cv2', b.list(core.o2oCv2!)],
      ['one2one_cv3', b.list(o2oCv3)],
    ]);
    const fusedAway = b.fused;
    return b.mod(
      'v10Detect',
      list,
      <T>(fl: Flow<T>, x: In<T>, ctx: ForwardCtx<T>): Out<T> => {
        const xs = levels(x, core.nl, 'v10Detect');
        const r = detectForward(fl, core, xs, ctx, fusedAway ? null : many, one, {
          forwardHead: (xx, br) => baseHead(fl, core, xx, br),
          inference: (p) => inference(fl, core, p, ctx, (d, an) => dist2bbox(fl, d, an, false)).y,
          extra: 0,
        });
        return [r.y, predsOut(r.preds)];
      },
      { attrs: { end2end: true, maxDet: MAX_DET } },
    );
  },
};

/** v10Detect's Args seen by Detect.__init__: its own (nc, ch) and Detect's defaults reg_max=16, end2end=True. */
function withDefaults(a: Args): Args {
  const values = new Map(a.values);
  values.set('reg_max', 16);
  values.set('end2end', true);
  return new Args(a.def, values);
}

export const Classify: ModuleDef = makeClassify(true);

export const RTDETRDecoder: ModuleDef = makeRTDETRDecoder(MLP, `${SRC}:RTDETRDecoder`);

export const ULTRALYTICS_84_HEAD_MODULES: readonly ModuleDef[] = [...HEADS_84, WorldDetect, v10Detect, Classify, RTDETRDecoder];
