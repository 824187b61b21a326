/**
 * The YOLO-World pieces of ultralytics/nn/modules/block.py (vendored 8.3.x, see conv.ts): text-guided attention in
 * the neck (C2fAttn, MaxSigmoidAttnBlock), image-aware text features (ImagePoolingAttn) and the region-text
 * similarity heads WorldDetect uses (ContrastiveHead, BNContrastiveHead).
 */
import { buildError, type Flow, type ForwardCtx, type In, inputList, type Mod, ShapeError } from '../../nn/module.ts';
import { PyTuple } from '../../py.ts';
import { construct, f, type ModuleDef, param } from '../types.ts';
import { range } from '../yolov5.ts';
import { Conv } from './conv.ts';
import { Bottleneck } from './block.ts';
import { positional } from './transformer.ts';

const SRC = 'ultralytics/nn/modules/block.py';

/** F.normalize(x, p=2, dim, eps=1e-12): x / max(‖x‖₂, eps) along dim. */
export function l2Normalize<T>(fl: Flow<T>, x: T, dim: number): T {
  return fl.div(x, fl.clamp(fl.sqrt(fl.sum(fl.mul(x, x), [dim], true)), 1e-12, null));
}

/** The text features a WorldModel threads into C2fAttn / ImagePoolingAttn / WorldDetect (tasks.py WorldModel.predict). */
export function guideOf<T>(ctx: ForwardCtx<T>, who: string, name: string): T {
  if (ctx.guide === undefined)
    throw new ShapeError(
      `${who}.forward() missing 1 required positional argument: '${name}' (only a WorldModel, a file whose name contains ` +
        `'-world', passes text features)`,
    );
  return ctx.guide;
}

export const MaxSigmoidAttnBlock: ModuleDef = {
  name: 'MaxSigmoidAttnBlock',
  category: 'attention',
  doc:
    'Text-guided attention: per head, the max similarity of each pixel embedding to the text embeddings, sigmoid, scales a ' +
    '3x3 projection.',
  source: `${SRC}:MaxSigmoidAttnBlock`,
  signature: [
    param('c1', 'channels', 'input channels'),
    param('c2', 'channels', 'output channels'),
    param('nh', 'int', 'attention heads', 1),
    param('ec', 'int', 'embedding channels (a 1x1 Conv maps c1 to it when they differ)', 128),
    param('gc', 'int', 'text (guide) feature width', 512),
    param('scale', 'bool', 'learnt per-head scale instead of 1.0', false),
  ],
  build: (b, a) => {
    const c1 = a.channels('c1');
    const c2 = a.channels('c2');
    const nh = a.int('nh');
    const ecw = a.channels('ec');
    if (nh === 0) throw buildError('integer division or modulo by zero (MaxSigmoidAttnBlock nh = 0)', 'nh');
    const hc = Math.floor(c2 / nh);
    const ec = c1 !== ecw ? construct(b, Conv, [c1, ecw], { k: 1, act: false }) : null;
    const gl = b.linear(a.channels('gc'), ecw);
    const proj = construct(b, Conv, [c1, c2], { k: 3, s: 1, act: false });
    const learntScale = a.bool('scale');
    const params = { bias: { shape: [nh], init: 0 }, ...(learntScale ? { scale: { shape: [1, nh, 1, 1], init: 1 } } : {}) };
    const m: Mod = b.mod(
      'MaxSigmoidAttnBlock',
      { ec, gl, proj_conv: proj },
      <T>(fl: Flow<T>, xin: In<T>) => {
        // forward(x, guide)
        const [x, guideIn] = positional(xin, 2, 'MaxSigmoidAttnBlock') as [T, T];
        const [bs, , h, w] = fl.shape(x) as [number, number, number, number];
        const guide = fl.view(fl.call(gl, guideIn), [bs, -1, nh, hc]);
        const embed = fl.view(ec ? fl.call(ec, x) : x, [bs, nh, hc, h, w]);
        let aw = fl.maxDim(fl.einsum('bmchw,bnmc->bmhwn', embed, guide), -1, false);
        aw = fl.scale(aw, 1 / Math.sqrt(hc));
        aw = fl.add(aw, fl.view(fl.param(m, 'bias'), [1, nh, 1, 1]));
        aw = fl.sigmoid(aw);
        if (learntScale) aw = fl.mul(aw, fl.param(m, 'scale'));
        const y = fl.view(fl.call(proj, x), [bs, nh, -1, h, w]);
        return fl.view(fl.mul(y, fl.unsqueeze(aw, 2)), [bs, -1, h, w]);
      },
      { params },
    );
    return m;
  },
};

export const C2fAttn: ModuleDef = {
  name: 'C2fAttn',
  category: 'attention',
  doc: 'C2f with a MaxSigmoidAttnBlock on the last branch, guided by the text features (YOLO-World neck).',
  source: `${SRC}:C2fAttn`,
  guide: 'consumer',
  signature: [
    param('c1', 'channels', 'input channels (parse_model passes the input layer\u2019s channels)'),
    param('c2', 'channels', 'output channels (scaled by width and capped by max_channels)'),
    param('n', 'int', 'number of Bottlenecks (parse_model inserts the scaled repeats)', 1),
    param('ec', 'int', 'attention embedding channels (parse_model scales it like a width)', 128),
    param('nh', 'int', 'attention heads (parse_model scales it by width)', 1),
    param('gc', 'int', 'text feature width', 512),
    param('shortcut', 'bool', 'residual adds in the Bottlenecks', false),
    param('g', 'int', 'groups', 1),
    param('e', 'float', 'hidden channels = int(c2 * e)', f(0.5)),
  ],
  build: (b, a) => {
    const c1 = a.channels('c1');
    const c2 = a.channels('c2');
    const n = a.int('n');
    const c = Math.trunc(c2 * a.float('e'));
    const cv1 = construct(b, Conv, [c1, 2 * c, 1, 1]);
    const cv2 = construct(b, Conv, [(3 + Math.max(n, 0)) * c, c2, 1]);
    const ms = range(n).map(() =>
      construct(b, Bottleneck, [c, c, a.raw('shortcut'), a.raw('g')], {
        k: new PyTuple([new PyTuple([3, 3]), new PyTuple([3, 3])]),
        e: f(1.0),
      }),
    );
    const attn = construct(b, MaxSigmoidAttnBlock, [c, c], { gc: a.raw('gc'), ec: a.raw('ec'), nh: a.raw('nh') });
    return b.mod('C2fAttn', { cv1, cv2, m: b.list(ms), attn }, <T>(fl: Flow<T>, x: In<T>, ctx: ForwardCtx<T>) => {
      const guide = guideOf(ctx, 'C2fAttn', 'guide');
      const y = fl.chunk(fl.call(cv1, x), 2, 1);
      for (const mm of ms) y.push(fl.call(mm, y[y.length - 1]!));
      y.push(fl.call(attn, [y[y.length - 1]!, guide]));
      return fl.call(cv2, fl.cat(y, 1));
    });
  },
};

export const ImagePoolingAttn: ModuleDef = {
  name: 'ImagePoolingAttn',
  category: 'attention',
  doc:
    'Updates the text features with image context: attention from the text embeddings to k\u00d7k max-pooled tokens of every ' +
    'input level.',
  source: `${SRC}:ImagePoolingAttn`,
  guide: 'producer',
  multiOutput: false,
  signature: [
    param('ec', 'int', 'attention embedding channels', 256),
    param('ch', 'list', 'input channels per level (parse_model appends them)', new PyTuple([])),
    param('ct', 'int', 'text feature width', 512),
    param('nh', 'int', 'attention heads', 8),
    param('k', 'int', 'pooled grid size per level (k\u00d7k tokens)', 3),
    param('scale', 'bool', 'learnt residual scale (initialised 0) instead of 1.0', false),
  ],
  build: (b, a) => {
    const ec = a.channels('ec');
    const ct = a.channels('ct');
    const nh = a.int('nh');
    const k = a.int('k');
    if (nh === 0) throw buildError('integer division or modulo by zero (ImagePoolingAttn nh = 0)', 'nh');
    const hc = Math.floor(ec / nh);
    const ch = a.intList('ch');
    const query = b.seq([b.layerNorm(ct), b.linear(ct, ec)]);
    const key = b.seq([b.layerNorm(ec), b.linear(ec, ec)]);
    const value = b.seq([b.layerNorm(ec), b.linear(ec, ec)]);
    const proj = b.linear(ec, ct);
    const projections = ch.map((c) => b.conv2d(c, ec, 1));
    const pools = ch.map(() => b.adaptiveMaxPool2d([k, k]));
    const learntScale = a.bool('scale');
    const m: Mod = b.mod(
      'ImagePoolingAttn',
      { query, key, value, proj, projections: b.list(projections), im_pools: b.list(pools) },
      <T>(fl: Flow<T>, xin: In<T>, ctx: ForwardCtx<T>) => {
        const text = guideOf(ctx, 'ImagePoolingAttn', 'text');
        const xs = inputList(xin, 'ImagePoolingAttn');
        if (xs.length === 0) throw new ShapeError('list index out of range (ImagePoolingAttn reads x[0].shape of an empty input list)');
        const bs = fl.shape(xs[0]!)[0]!;
        if (xs.length !== ch.length)
          throw new ShapeError(`AssertionError: ImagePoolingAttn was built for ${ch.length} levels, got ${xs.length} inputs`);
        const tokens = fl.transpose(
          fl.cat(
            xs.map((x, i) => fl.view(fl.call(pools[i]!, fl.call(projections[i]!, x)), [bs, -1, k * k])),
            -1,
          ),
          1,
          2,
        );
        const q = fl.view(fl.call(query, text), [bs, -1, nh, hc]);
        const kk = fl.view(fl.call(key, tokens), [bs, -1, nh, hc]);
        const v = fl.view(fl.call(value, tokens), [bs, -1, nh, hc]);
        const aw = fl.softmax(fl.scale(fl.einsum('bnmc,bkmc->bmnk', q, kk), 1 / Math.sqrt(hc)), -1);
        const y = fl.call(proj, fl.view(fl.einsum('bmnk,bkmc->bnmc', aw, v), [bs, -1, ec]));
        return fl.add(learntScale ? fl.mul(y, fl.param(m, 'scale')) : y, text);
      },
      learntScale ? { params: { scale: { shape: [1], init: 0 } } } : {},
    );
    return m;
  },
};

/** forward(x, w) of both contrastive heads: region-text similarity, x * exp(logit_scale) + bias. */
function contrastive<T>(fl: Flow<T>, m: Mod, x: T, w: T): T {
  const sim = fl.einsum('bchw,bkc->bkhw', x, l2Normalize(fl, w, -1));
  return fl.add(fl.mul(sim, fl.exp(fl.param(m, 'logit_scale'))), fl.param(m, 'bias'));
}

export const ContrastiveHead: ModuleDef = {
  name: 'ContrastiveHead',
  category: 'head',
  doc: 'Region-text similarity: cosine similarity of L2-normalised pixel and text embeddings, times a learnt temperature, plus a bias.',
  source: `${SRC}:ContrastiveHead`,
  signature: [],
  build: (b) => {
    const m: Mod = b.mod(
      'ContrastiveHead',
      {},
      <T>(fl: Flow<T>, xin: In<T>) => {
        const [x, w] = positional(xin, 2, 'ContrastiveHead') as [T, T];
        return contrastive(fl, m, l2Normalize(fl, x, 1), w);
      },
      // bias = tensor([-10.0]); logit_scale = log(1 / 0.07), a 0-dim tensor
      { params: { bias: { shape: [1], init: -10 }, logit_scale: { shape: [], init: Math.log(1 / 0.07) } } },
    );
    return m;
  },
};

export const BNContrastiveHead: ModuleDef = {
  name: 'BNContrastiveHead',
  category: 'head',
  doc: 'ContrastiveHead with a BatchNorm2d on the pixel embeddings instead of L2 normalisation (YOLO-World v2).',
  source: `${SRC}:BNContrastiveHead`,
  signature: [param('embed_dims', 'int', 'embedding channels of image and text features')],
  build: (b, a) => {
    const norm = b.bn(a.channels('embed_dims'));
    const m: Mod = b.mod(
      'BNContrastiveHead',
      { norm },
      <T>(fl: Flow<T>, xin: In<T>) => {
        const [x, w] = positional(xin, 2, 'BNContrastiveHead') as [T, T];
        return contrastive(fl, m, fl.call(norm, x), w);
      },
      { params: { bias: { shape: [1], init: -10 }, logit_scale: { shape: [], init: -1 } } },
    );
    return m;
  },
};

export const ULTRALYTICS_WORLD_MODULES: readonly ModuleDef[] = [
  MaxSigmoidAttnBlock,
  C2fAttn,
  ImagePoolingAttn,
  ContrastiveHead,
  BNContrastiveHead,
];
