/**
 * ultralytics/nn/modules/transformer.py (vendored 8.3.x, see conv.ts): the AIFI encoder layer of RT-DETR, the
 * YOLOv5-style TransformerBlock, the MLPs and the deformable decoder RTDETRDecoder drives.
 */
import { Builder, ACT_CLASSES, ModuleInstance } from '../../nn/builder.ts';
import { activationFrom } from '../activation.ts';
import { buildError, type Flow, type ForwardCtx, type In, inputList, inputOne, type Mod, type Out, ShapeError } from '../../nn/module.ts';
import { PyObj, type PyVal, pyRepr } from '../../py.ts';
import { construct, f, type ModuleDef, param } from '../types.ts';
import { range } from '../yolov5.ts';
import { Conv } from './conv.ts';

const SRC = 'ultralytics/nn/modules/transformer.py';

/**
 * A module passed as a constructor argument that the receiver deep-copies (DeformableTransformerDecoder's
 * `decoder_layer`, cloned num_layers times): it carries the constructor, so every clone is built afresh with its own
 * parameters. (`ModuleInstance` in nn/builder.ts is the other case: one instance used as it is, shared.)
 */
export class ModuleArg extends PyObj {
  constructor(
    cls: string,
    repr: string,
    readonly make: (b: Builder) => Mod,
  ) {
    super(cls, repr);
  }
}

/** A tensor of one interpreter: a shape (an array of numbers) or an opaque tensor object; a list holds several. */
const isTensor = (o: unknown): boolean => !Array.isArray(o) || o.length === 0 || typeof o[0] === 'number';

/** The first tensor of a module that returns several (nn.MultiheadAttention's `(out, weights)[0]`). */
export function first<T>(o: Out<T>, who: string): T {
  if (o === null) throw new ShapeError(`${who} returned None`);
  if (isTensor(o)) return o as T;
  const x = (o as readonly Out<T>[])[0];
  if (x === undefined || x === null || !isTensor(x)) throw new ShapeError(`${who} returned no tensor first`);
  return x as T;
}

/** The first `n` tensors of a forward taking several positional tensors (`forward(query, refer_bbox, value)`). */
export function positional<T>(x: In<T>, n: number, who: string): T[] {
  const xs = inputList(x, who);
  if (xs.length < n) throw new ShapeError(`${who}.forward() takes ${n} tensors, got ${xs.length}`);
  return xs.slice(0, n);
}

/** A non-tensor forward argument a parent passed in `ctx.kwargs`. */
export function kwarg<V>(ctx: { kwargs?: Readonly<Record<string, unknown>> }, name: string, who: string): V {
  const v = ctx.kwargs?.[name];
  if (v === undefined) throw new ShapeError(`${who}.forward() missing 1 required positional argument: '${name}'`);
  return v as V;
}

/** An activation *class* argument (`act=nn.ReLU`): the module instantiates it itself. */
export function activationClass(b: Builder, v: PyVal, fallback: 'ReLU' | 'GELU', who: string): Mod {
  if (v instanceof PyObj) {
    const name = v.cls.replace(/^(?:torch\.)?nn\./, '');
    if (ACT_CLASSES[name]) return name === 'GELU' ? b.act('GELU', { approximate: 'none' }) : b.act(ACT_CLASSES[name]!);
    if (name === 'Identity') return b.identity();
  }
  if (v === null) throw buildError(`'NoneType' object is not callable (${who}.act)`, 'act');
  if (typeof v !== 'object')
    throw buildError(
      `'${typeof v === 'number' ? 'int' : typeof v === 'boolean' ? 'bool' : 'str'}' object is not callable (${who}.act = ${pyRepr(v)})`,
      'act',
    );
  return fallback === 'GELU' ? b.act('GELU', { approximate: 'none' }) : b.act('ReLU');
}

/** `act=nn.GELU()` defaults: evaluated once by Python, so every module taking the default shares that instance. */
const sharedGelu = () => ({ ...new Builder({ fused: false, convDefaultAct: null }).act('GELU', { approximate: 'none' }), shared: true });
const GELU_TEXT = "nn.GELU(approximate='none')";
const TEL_DEFAULT_ACT = new ModuleInstance(sharedGelu(), 'GELU', GELU_TEXT);
const AIFI_DEFAULT_ACT = new ModuleInstance(sharedGelu(), 'GELU', GELU_TEXT);
const gelu = (b: Builder) => () => b.act('GELU', { approximate: 'none' });

// ---------------------------------------------------------------------------------------------------------------
// TransformerEncoderLayer / AIFI

interface EncoderParts {
  readonly children: Record<string, Mod>;
  /** forward(src, pos): post- or pre-norm as normalize_before says */
  run<T>(fl: Flow<T>, src: T, pos: T | null): T;
}

function encoderLayer(
  b: Builder,
  c1: number,
  cm: number,
  heads: number,
  dropout: number,
  act: Mod,
  normalizeBefore: boolean,
): EncoderParts {
  if (heads <= 0 || c1 % heads !== 0) throw buildError(`embed_dim must be divisible by num_heads (${c1} % ${heads})`, 'num_heads');
  const ma = b.mha(c1, heads, true);
  const fc1 = b.linear(c1, cm);
  const fc2 = b.linear(cm, c1);
  const norm1 = b.layerNorm(c1);
  const norm2 = b.layerNorm(c1);
  const drop = b.dropout(dropout);
  const drop1 = b.dropout(dropout);
  const drop2 = b.dropout(dropout);
  const withPos = <T>(fl: Flow<T>, t: T, pos: T | null): T => (pos === null ? t : fl.add(t, pos));
  const ffn = <T>(fl: Flow<T>, t: T): T => fl.call(fc2, fl.call(drop, fl.call(act, fl.call(fc1, t))));
  return {
    children: { ma, fc1, fc2, norm1, norm2, dropout: drop, dropout1: drop1, dropout2: drop2, act },
    run<T>(fl: Flow<T>, src: T, pos: T | null): T {
      if (normalizeBefore) {
        let s2 = fl.call(norm1, src);
        const q = withPos(fl, s2, pos);
        s2 = first(fl.callMulti(ma, [q, q, s2]), 'MultiheadAttention');
        const s = fl.add(src, fl.call(drop1, s2));
        s2 = ffn(fl, fl.call(norm2, s));
        return fl.add(s, fl.call(drop2, s2));
      }
      const q = withPos(fl, src, pos);
      const s2 = first(fl.callMulti(ma, [q, q, src]), 'MultiheadAttention');
      const s = fl.call(norm1, fl.add(src, fl.call(drop1, s2)));
      return fl.call(norm2, fl.add(s, fl.call(drop2, ffn(fl, s))));
    },
  };
}

const encoderSignature = (dropout: PyVal, act: ModuleInstance) => [
  param('c1', 'channels', 'embedding channels (the input\u2019s channels)'),
  param('cm', 'int', 'hidden width of the feed-forward network', 2048),
  param('num_heads', 'int', 'attention heads (c1 must divide by it)', 8),
  param('dropout', 'float', 'dropout rate', dropout),
  param('act', 'act', 'feed-forward activation', act, GELU_TEXT),
  param('normalize_before', 'bool', 'pre-norm instead of post-norm', false),
];

export const TransformerEncoderLayer: ModuleDef = {
  name: 'TransformerEncoderLayer',
  category: 'transformer',
  doc: 'One transformer encoder layer (batch-first multi-head self-attention + feed-forward, LayerNorms post or pre).',
  source: `${SRC}:TransformerEncoderLayer`,
  signature: encoderSignature(f(0.0), TEL_DEFAULT_ACT),
  build: (b, a) => {
    const act = activationFrom(b, a.raw('act'), gelu(b));
    const enc = encoderLayer(
      b,
      a.channels('c1'),
      a.channels('cm'),
      a.int('num_heads'),
      a.float('dropout'),
      act,
      a.bool('normalize_before'),
    );
    return b.mod('TransformerEncoderLayer', enc.children, (fl, x) => enc.run(fl, inputOne(x, 'TransformerEncoderLayer'), null));
  },
};

/** build_2d_sincos_position_embedding(w, h, embed_dim): [1, w*h, embed_dim], laid out as upstream computes it. */
export function sinCosPositionEmbedding<T>(fl: Flow<T>, w: number, h: number, dim: number, temperature = 10000): T {
  if (dim % 4 !== 0) throw new ShapeError('Embed dimension must be divisible by 4 for 2D sin-cos position embedding');
  const posDim = dim / 4;
  // meshgrid(arange(w), arange(h), indexing="ij") flattened: row n is (gw, gh) = (n // h, n % h)
  return fl.constant([1, w * h, dim], (i) => {
    const n = Math.floor(i / dim);
    const c = i % dim;
    const part = Math.floor(c / posDim);
    const k = c % posDim;
    const omega = 1 / Math.pow(temperature, k / posDim);
    const v = (part < 2 ? Math.floor(n / h) : n % h) * omega;
    return part % 2 === 0 ? Math.sin(v) : Math.cos(v);
  });
}

export const AIFI: ModuleDef = {
  name: 'AIFI',
  category: 'transformer',
  doc:
    'RT-DETR\u2019s attention-based intra-scale feature interaction: an encoder layer over the flattened map with a 2D ' +
    'sin-cos position embedding.',
  source: `${SRC}:AIFI`,
  signature: encoderSignature(0, AIFI_DEFAULT_ACT),
  build: (b, a) => {
    const act = activationFrom(b, a.raw('act'), gelu(b));
    const enc = encoderLayer(
      b,
      a.channels('c1'),
      a.channels('cm'),
      a.int('num_heads'),
      a.float('dropout'),
      act,
      a.bool('normalize_before'),
    );
    return b.mod('AIFI', enc.children, (fl, xin) => {
      const x = inputOne(xin, 'AIFI');
      const s = fl.shape(x);
      if (s.length !== 4) throw new ShapeError(`AIFI expects a [B, C, H, W] map, got [${s.join(', ')}]`);
      const [, c, h, w] = s as [number, number, number, number];
      const pos = sinCosPositionEmbedding(fl, w, h, c);
      const y = enc.run(fl, fl.permute(fl.flatten(x, 2), [0, 2, 1]), pos);
      return fl.view(fl.permute(y, [0, 2, 1]), [-1, c, h, w]);
    });
  },
};

// ---------------------------------------------------------------------------------------------------------------
// TransformerLayer / TransformerBlock (the YOLOv5 ViT block C3TR uses)

export const TransformerLayer: ModuleDef = {
  name: 'TransformerLayer',
  category: 'transformer',
  doc: 'Self-attention with q/k/v projections and a two-Linear feed-forward, residual around both (no LayerNorm).',
  source: `${SRC}:TransformerLayer`,
  signature: [param('c', 'channels', 'embedding channels'), param('num_heads', 'int', 'attention heads (c must divide by it)')],
  build: (b, a) => {
    const c = a.channels('c');
    const heads = a.int('num_heads');
    if (heads <= 0 || c % heads !== 0) throw buildError(`embed_dim must be divisible by num_heads (${c} % ${heads})`, 'num_heads');
    const q = b.linear(c, c, false);
    const k = b.linear(c, c, false);
    const v = b.linear(c, c, false);
    const ma = b.mha(c, heads, false);
    const fc1 = b.linear(c, c, false);
    const fc2 = b.linear(c, c, false);
    return b.mod('TransformerLayer', { q, k, v, ma, fc1, fc2 }, (fl, xin) => {
      const x = inputOne(xin, 'TransformerLayer');
      const y = fl.add(first(fl.callMulti(ma, [fl.call(q, x), fl.call(k, x), fl.call(v, x)]), 'MultiheadAttention'), x);
      return fl.add(fl.call(fc2, fl.call(fc1, y)), y);
    });
  },
};

export const TransformerBlock: ModuleDef = {
  name: 'TransformerBlock',
  category: 'transformer',
  doc: 'Vision transformer block: optional Conv to c2, a learnt position Linear, then num_layers TransformerLayers over the flattened map.',
  source: `${SRC}:TransformerBlock`,
  signature: [
    param('c1', 'channels', 'input channels'),
    param('c2', 'channels', 'output channels (a Conv adapts c1 when they differ)'),
    param('num_heads', 'int', 'attention heads'),
    param('num_layers', 'int', 'number of TransformerLayers'),
  ],
  build: (b, a) => {
    const c1 = a.channels('c1');
    const c2 = a.channels('c2');
    const conv = c1 !== c2 ? construct(b, Conv, [c1, c2]) : null;
    const linear = b.linear(c2, c2);
    const layers = range(a.int('num_layers')).map(() => construct(b, TransformerLayer, [c2, a.raw('num_heads')]));
    const tr = b.seq(layers);
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

// ---------------------------------------------------------------------------------------------------------------
// MLPBlock / MLP / LayerNorm2d

export const MLPBlock: ModuleDef = {
  name: 'MLPBlock',
  category: 'transformer',
  doc: 'Linear → activation → Linear back to the embedding width.',
  source: `${SRC}:MLPBlock`,
  signature: [
    param('embedding_dim', 'int', 'input and output width'),
    param('mlp_dim', 'int', 'hidden width'),
    param('act', 'act', 'activation class', new PyObj('nn.GELU', 'nn.GELU'), 'nn.GELU'),
  ],
  build: (b, a) => {
    const e = a.channels('embedding_dim');
    const m = a.channels('mlp_dim');
    const lin1 = b.linear(e, m);
    const lin2 = b.linear(m, e);
    const act = activationClass(b, a.raw('act'), 'GELU', 'MLPBlock');
    return b.mod('MLPBlock', { lin1, lin2, act }, (fl, x) => fl.call(lin2, fl.call(act, fl.call(lin1, x))));
  },
};

export const MLP: ModuleDef = {
  name: 'MLP',
  category: 'transformer',
  doc: 'num_layers Linears (input → hidden … → output) with an activation between them, optionally a final sigmoid.',
  source: `${SRC}:MLP`,
  signature: [
    param('input_dim', 'int', 'input width'),
    param('hidden_dim', 'int', 'hidden width'),
    param('output_dim', 'int', 'output width'),
    param('num_layers', 'int', 'number of Linear layers'),
    param('act', 'act', 'activation class', new PyObj('nn.ReLU', 'nn.ReLU'), 'nn.ReLU'),
    param('sigmoid', 'bool', 'apply a sigmoid to the output', false),
  ],
  build: (b, a) => {
    const n = a.int('num_layers');
    const hidden = range(Math.max(n - 1, 0)).map(() => a.channels('hidden_dim'));
    const ins = [a.channels('input_dim'), ...hidden];
    const outs = [...hidden, a.channels('output_dim')];
    // zip() stops at the shorter list: num_layers <= 0 still makes one Linear (input → output)
    const linears = ins.slice(0, Math.min(ins.length, outs.length)).map((c, i) => b.linear(c, outs[i]!));
    const layers = b.list(linears);
    const act = activationClass(b, a.raw('act'), 'ReLU', 'MLP');
    const sigmoid = a.bool('sigmoid');
    return b.mod('MLP', { layers, act }, (fl, xin) => {
      let x = inputOne(xin, 'MLP');
      linears.forEach((l, i) => {
        x = i < n - 1 ? fl.call(act, fl.call(l, x)) : fl.call(l, x);
      });
      return sigmoid ? fl.sigmoid(x) : x;
    });
  },
};

export const LayerNorm2d: ModuleDef = {
  name: 'LayerNorm2d',
  category: 'norm',
  doc: 'LayerNorm over the channels of a [B, C, H, W] map, with a per-channel weight and bias.',
  source: `${SRC}:LayerNorm2d`,
  signature: [param('num_channels', 'channels', 'channels'), param('eps', 'float', 'added to the variance', f(1e-6))],
  build: (b, a) => {
    const c = a.channels('num_channels');
    const eps = a.float('eps');
    const params = { weight: { shape: [c], init: 1 }, bias: { shape: [c], init: 0 } };
    const m: Mod = b.mod(
      'LayerNorm2d',
      {},
      (fl, xin) => {
        const x = inputOne(xin, 'LayerNorm2d');
        const u = fl.mean(x, [1], true);
        const d = fl.sub(x, u);
        const s = fl.mean(fl.mul(d, d), [1], true);
        const y = fl.div(
          d,
          fl.sqrt(
            fl.add(
              s,
              fl.constant([1], () => eps),
            ),
          ),
        );
        return fl.add(fl.mul(fl.view(fl.param(m, 'weight'), [c, 1, 1]), y), fl.view(fl.param(m, 'bias'), [c, 1, 1]));
      },
      { params },
    );
    return m;
  },
};

// ---------------------------------------------------------------------------------------------------------------
// MSDeformAttn / DeformableTransformerDecoderLayer / DeformableTransformerDecoder

type LevelShapes = readonly (readonly [number, number])[];

/** ultralytics multi_scale_deformable_attn_pytorch: bilinear samples of every level, weighted and summed. */
function multiScaleDeformableAttn<T>(fl: Flow<T>, value: T, shapes: LevelShapes, locations: T, weights: T): T {
  const [bs, , heads, dims] = fl.shape(value) as [number, number, number, number];
  const [, queries, , levels, points] = fl.shape(locations) as [number, number, number, number, number];
  const values = fl.split(
    value,
    shapes.map(([h, w]) => h * w),
    1,
  );
  const grids = fl.sub(
    fl.scale(locations, 2),
    fl.constant([1], () => 1),
  );
  const sampled = shapes.map(([h, w], level) => {
    const v = fl.view(fl.transpose(fl.flatten(values[level]!, 2), 1, 2), [bs * heads, dims, h, w]);
    const g = fl.flatten(fl.transpose(fl.view(fl.slice(grids, 3, level, level + 1), [bs, queries, heads, points, 2]), 1, 2), 0, 1);
    return fl.unsqueeze(fl.gridSample(v, g, 'bilinear', 'zeros', false), -2);
  });
  const w = fl.view(fl.transpose(weights, 1, 2), [bs * heads, 1, queries, levels * points]);
  const out = fl.view(fl.sum(fl.mul(fl.flatten(fl.cat(sampled, -2), -2), w), [-1], false), [bs, heads * dims, queries]);
  return fl.transpose(out, 1, 2);
}

export const MSDeformAttn: ModuleDef = {
  name: 'MSDeformAttn',
  category: 'attention',
  doc: 'Multi-scale deformable attention: each query samples n_points offsets per head and level around its reference box.',
  source: `${SRC}:MSDeformAttn`,
  signature: [
    param('d_model', 'int', 'embedding width', 256),
    param('n_levels', 'int', 'feature levels', 4),
    param('n_heads', 'int', 'attention heads', 8),
    param('n_points', 'int', 'sampling points per head and level', 4),
  ],
  build: (b, a) => {
    const d = a.int('d_model');
    const nl = a.int('n_levels');
    const nh = a.int('n_heads');
    const np = a.int('n_points');
    if (nh === 0) throw buildError('integer division or modulo by zero (MSDeformAttn n_heads = 0)', 'n_heads');
    if (d % nh !== 0) throw buildError(`d_model must be divisible by n_heads, but got ${d} and ${nh}`, 'n_heads');
    const samplingOffsets = b.linear(d, nh * nl * np * 2);
    const attentionWeights = b.linear(d, nh * nl * np);
    const valueProj = b.linear(d, d);
    const outputProj = b.linear(d, d);
    return b.mod(
      'MSDeformAttn',
      { sampling_offsets: samplingOffsets, attention_weights: attentionWeights, value_proj: valueProj, output_proj: outputProj },
      <T>(fl: Flow<T>, xin: In<T>, ctx: ForwardCtx<T>) => {
        // forward(query, refer_bbox, value, value_shapes, value_mask=None)
        const [query, referBbox, valueIn] = positional(xin, 3, 'MSDeformAttn') as [T, T, T];
        const shapes = kwarg<LevelShapes>(ctx, 'value_shapes', 'MSDeformAttn');
        const [bs, lenQ] = fl.shape(query) as [number, number];
        const lenV = fl.shape(valueIn)[1]!;
        if (shapes.reduce((s, [h, w]) => s + h * w, 0) !== lenV)
          throw new ShapeError(
            `AssertionError: the value shapes cover ${shapes.reduce((s, [h, w]) => s + h * w, 0)} positions, the value has ${lenV}`,
          );
        const value = fl.view(fl.call(valueProj, valueIn), [bs, lenV, nh, Math.trunc(d / nh)]);
        const offsets = fl.view(fl.call(samplingOffsets, query), [bs, lenQ, nh, nl, np, 2]);
        const weights = fl.view(fl.softmax(fl.view(fl.call(attentionWeights, query), [bs, lenQ, nh, nl * np]), -1), [bs, lenQ, nh, nl, np]);
        const rb = fl.shape(referBbox);
        const numPoints = rb[rb.length - 1];
        // refer_bbox[:, :, None, :, None, ...]
        const ref = fl.unsqueeze(fl.unsqueeze(referBbox, 2), 4);
        let locations: T;
        if (numPoints === 2) {
          // offset_normalizer = tensor(value_shapes).flip(-1): (w, h) per level
          const normalizer = fl.constant([1, 1, 1, shapes.length, 1, 2], (i) => shapes[Math.floor(i / 2)]![1 - (i % 2)]!);
          locations = fl.add(ref, fl.div(offsets, normalizer));
        } else if (numPoints === 4) {
          const wh = fl.slice(ref, -1, 2, 4);
          locations = fl.add(fl.slice(ref, -1, 0, 2), fl.scale(fl.mul(fl.scale(offsets, 1 / np), wh), 0.5));
        } else throw new ShapeError(`Last dim of reference_points must be 2 or 4, but got ${numPoints}.`);
        return fl.call(outputProj, multiScaleDeformableAttn(fl, value, shapes, locations, weights));
      },
    );
  },
};

const decoderLayerSignature = [
  param('d_model', 'int', 'embedding width', 256),
  param('n_heads', 'int', 'attention heads', 8),
  param('d_ffn', 'int', 'feed-forward hidden width', 1024),
  param('dropout', 'float', 'dropout rate', f(0.0)),
  param('act', 'act', 'feed-forward activation', new PyObj('ReLU', 'ReLU()'), 'nn.ReLU()'),
  param('n_levels', 'int', 'feature levels the cross-attention samples', 4),
  param('n_points', 'int', 'sampling points per head and level', 4),
];

export const DeformableTransformerDecoderLayer: ModuleDef = {
  name: 'DeformableTransformerDecoderLayer',
  category: 'transformer',
  doc:
    'Self-attention over the queries, deformable cross-attention into the multi-scale features, then a feed-forward network; ' +
    'LayerNorm after each.',
  source: `${SRC}:DeformableTransformerDecoderLayer`,
  signature: decoderLayerSignature,
  build: (b, a) => {
    const d = a.int('d_model');
    const nh = a.int('n_heads');
    const dropout = a.float('dropout');
    const selfAttn = b.mha(d, nh, false);
    const dropout1 = b.dropout(dropout);
    const norm1 = b.layerNorm(d);
    const crossAttn = construct(b, MSDeformAttn, [d, a.raw('n_levels'), nh, a.raw('n_points')]);
    const dropout2 = b.dropout(dropout);
    const norm2 = b.layerNorm(d);
    const linear1 = b.linear(d, a.channels('d_ffn'));
    const act = activationFrom(b, a.raw('act'), () => b.act('ReLU'));
    const dropout3 = b.dropout(dropout);
    const linear2 = b.linear(a.channels('d_ffn'), d);
    const dropout4 = b.dropout(dropout);
    const norm3 = b.layerNorm(d);
    const children = {
      self_attn: selfAttn,
      dropout1,
      norm1,
      cross_attn: crossAttn,
      dropout2,
      norm2,
      linear1,
      act,
      dropout3,
      linear2,
      dropout4,
      norm3,
    };
    return b.mod('DeformableTransformerDecoderLayer', children, <T>(fl: Flow<T>, xin: In<T>, ctx: ForwardCtx<T>) => {
      // forward(embed, refer_bbox, feats, shapes, padding_mask=None, attn_mask=None, query_pos=None)
      const xs = inputList(xin, 'DeformableTransformerDecoderLayer');
      const [embed0, referBbox, feats] = positional(xin, 3, 'DeformableTransformerDecoderLayer') as [T, T, T];
      const queryPos = xs.length > 3 ? xs[3]! : null;
      const shapes = kwarg<LevelShapes>(ctx, 'shapes', 'DeformableTransformerDecoderLayer');
      const withPos = (t: T) => (queryPos === null ? t : fl.add(t, queryPos));
      const q = fl.transpose(withPos(embed0), 0, 1);
      const tgt = fl.transpose(first(fl.callMulti(selfAttn, [q, q, fl.transpose(embed0, 0, 1)]), 'MultiheadAttention'), 0, 1);
      let embed = fl.call(norm1, fl.add(embed0, fl.call(dropout1, tgt)));
      const cross = fl.call(crossAttn, [withPos(embed), fl.unsqueeze(referBbox, 2), feats], { kwargs: { value_shapes: shapes } });
      embed = fl.call(norm2, fl.add(embed, fl.call(dropout2, cross)));
      const ffn = fl.call(linear2, fl.call(dropout3, fl.call(act, fl.call(linear1, embed))));
      return fl.call(norm3, fl.add(embed, fl.call(dropout4, ffn)));
    });
  },
};

/** ultralytics inverse_sigmoid(x, eps=1e-5) */
export function inverseSigmoid<T>(fl: Flow<T>, x: T, eps = 1e-5): T {
  const c = fl.clamp(x, 0, 1);
  return fl.log(
    fl.div(
      fl.clamp(c, eps, null),
      fl.clamp(
        fl.sub(
          fl.constant([1], () => 1),
          c,
        ),
        eps,
        null,
      ),
    ),
  );
}

/** The heads DeformableTransformerDecoder.forward receives from RTDETRDecoder (modules, passed as kwargs). */
export interface DecoderHeads {
  readonly bbox_head: readonly Mod[];
  readonly score_head: readonly Mod[];
  readonly pos_mlp: Mod;
}

export const DeformableTransformerDecoder: ModuleDef = {
  name: 'DeformableTransformerDecoder',
  category: 'transformer',
  doc: 'num_layers clones of a decoder layer refining the reference boxes layer by layer (inference stops at eval_idx).',
  source: `${SRC}:DeformableTransformerDecoder`,
  signature: [
    param('hidden_dim', 'int', 'embedding width'),
    param('decoder_layer', 'any', 'the DeformableTransformerDecoderLayer to clone'),
    param('num_layers', 'int', 'number of clones'),
    param('eval_idx', 'int', 'the layer whose output inference returns (negative: from the end)', -1),
  ],
  build: (b, a) => {
    const layerArg = a.raw('decoder_layer');
    if (!(layerArg instanceof ModuleArg)) throw buildError(`decoder_layer must be a module, got ${pyRepr(layerArg)}`, 'decoder_layer');
    const n = a.int('num_layers');
    if (n > 4096) throw buildError(`num_layers = ${n} is beyond anything buildable`, 'num_layers');
    const clones = range(n).map(() => layerArg.make(b));
    const layers = b.list(clones);
    const e = a.int('eval_idx');
    const evalIdx = e >= 0 ? e : n + e;
    return b.mod('DeformableTransformerDecoder', { layers }, <T>(fl: Flow<T>, xin: In<T>, ctx: ForwardCtx<T>) => {
      // forward(embed, refer_bbox, feats, shapes, bbox_head, score_head, pos_mlp, attn_mask=None, padding_mask=None)
      const [embed, referIn, feats] = positional(xin, 3, 'DeformableTransformerDecoder') as [T, T, T];
      const shapes = kwarg<LevelShapes>(ctx, 'shapes', 'DeformableTransformerDecoder');
      const bboxHead = kwarg<readonly Mod[]>(ctx, 'bbox_head', 'DeformableTransformerDecoder');
      const scoreHead = kwarg<readonly Mod[]>(ctx, 'score_head', 'DeformableTransformerDecoder');
      const posMlp = kwarg<Mod>(ctx, 'pos_mlp', 'DeformableTransformerDecoder');
      let output = embed;
      let referBbox = fl.sigmoid(referIn);
      const boxes: T[] = [];
      const scores: T[] = [];
      for (let i = 0; i < clones.length; i++) {
        output = fl.call(clones[i]!, [output, referBbox, feats, fl.call(posMlp, referBbox)], { kwargs: { shapes } });
        const head = bboxHead[i];
        if (!head) throw new ShapeError('index out of range (fewer bbox heads than decoder layers)');
        const refined = fl.sigmoid(fl.add(fl.call(head, output), inverseSigmoid(fl, referBbox)));
        if (i === evalIdx) {
          const sh = scoreHead[i];
          if (!sh) throw new ShapeError('index out of range (fewer score heads than decoder layers)');
          scores.push(fl.call(sh, output));
          boxes.push(refined);
          break;
        }
        referBbox = refined;
      }
      if (!boxes.length) throw new ShapeError(`stack expects a non-empty TensorList (eval_idx ${e} is not one of the ${n} decoder layers)`);
      // torch.stack(list) on one tensor: a new leading dim
      return [
        fl.cat(
          boxes.map((t) => fl.unsqueeze(t, 0)),
          0,
        ),
        fl.cat(
          scores.map((t) => fl.unsqueeze(t, 0)),
          0,
        ),
      ];
    });
  },
};

export const ULTRALYTICS_TRANSFORMER_MODULES: readonly ModuleDef[] = [
  TransformerEncoderLayer,
  AIFI,
  TransformerLayer,
  TransformerBlock,
  MLPBlock,
  MLP,
  LayerNorm2d,
  MSDeformAttn,
  DeformableTransformerDecoderLayer,
  DeformableTransformerDecoder,
];
