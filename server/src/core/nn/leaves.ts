/**
 * The torch layers on shapes: for each primitive (conv2d, batch-norm, pooling...), the checks torch makes on its input,
 * its output shape, and its MACs under the two counting conventions (thop 0.1.1, ultralytics-thop 2.x). One function
 * per layer, looked up by op; the static interpreter (static.ts) calls them.
 */
import { EmptyWeightError, ShapeError, type In, type LeafOp, type Mod, type Out, type Shape, type UpsampleMode } from './module.ts';

/** thop 0.1.1 registers rules for these exact torch classes only (a subclass counts 0). */
export const THOP011_TYPES: Record<LeafOp['op'], string[]> = {
  conv2d: ['Conv2d'],
  convTranspose2d: ['ConvTranspose2d'],
  batchNorm2d: ['BatchNorm2d'],
  layerNorm: ['LayerNorm'],
  groupNorm: [],
  act: ['PReLU'],
  identity: [],
  dropout: ['Dropout'],
  maxPool2d: ['MaxPool2d'],
  avgPool2d: ['AvgPool2d'],
  adaptiveAvgPool2d: ['AdaptiveAvgPool2d'],
  adaptiveMaxPool2d: ['AdaptiveMaxPool2d'],
  upsample: ['Upsample', 'UpsamplingBilinear2d', 'UpsamplingNearest2d'],
  linear: ['Linear'],
  zeroPad2d: ['ZeroPad2d'],
  flatten: [],
  softmax: ['Softmax'],
  embedding: [],
  mha: [],
  pixelShuffle: ['PixelShuffle'],
};

export const numel = (s: Shape): number => s.reduce((a, b) => a * b, 1);
export const fmt = (s: Shape): string => `[${s.join(', ')}]`;

export function normDim(dim: number, rank: number): number {
  const d = dim < 0 ? dim + rank : dim;
  if (d < 0 || d >= rank)
    throw new ShapeError(`Dimension out of range (expected to be in range of [${-rank}, ${rank - 1}], but got ${dim})`);
  return d;
}

export function flattenShape(x: Shape, start: number, end = -1): Shape {
  if (x.length === 0) return [1];
  const s = normDim(start, x.length);
  const e = normDim(end, x.length);
  return [...x.slice(0, s), numel(x.slice(s, e + 1)), ...x.slice(e + 1)];
}

function convOut(size: number, k: number, s: number, p: number, d: number): number {
  return Math.floor((size + 2 * p - d * (k - 1) - 1) / s) + 1;
}

export function poolOut(size: number, k: number, s: number, p: number, d: number, ceil: boolean): number {
  const num = size + 2 * p - d * (k - 1) - 1;
  let out = (ceil ? Math.ceil(num / s) : Math.floor(num / s)) + 1;
  // torch: the last pooling window must start inside the (left-padded) input
  if (ceil && (out - 1) * s >= size + p) out--;
  return out;
}

const UPSAMPLE_OPS: Partial<Record<UpsampleMode, number>> = { nearest: 1, linear: 5, bilinear: 11, bicubic: 259, trilinear: 31 };

export function upsampleShape(x: Shape, size: [number, number] | null, scale: [number, number] | null): Shape {
  if (x.length !== 4) throw new ShapeError(`Upsample here expects a 4D input, got ${fmt(x)}`);
  if (size) return [x[0]!, x[1]!, size[0], size[1]];
  if (!scale) throw new ShapeError('either size or scale_factor should be defined');
  const oh = Math.floor(x[2]! * scale[0]);
  const ow = Math.floor(x[3]! * scale[1]);
  if (oh <= 0 || ow <= 0)
    throw new ShapeError(
      `Input and output sizes should be greater than 0, but got input (H: ${x[2]}, W: ${x[3]}) output (H: ${oh}, W: ${ow})`,
    );
  return [x[0]!, x[1]!, oh, ow];
}

/** One call of a torch layer on shapes: its output and its MACs in both conventions. */
export interface LeafRun {
  readonly out: Out<Shape>;
  /** thop 0.1.1, counted only when the module is exactly the class thop registered (see THOP011_TYPES) */
  readonly thop: number;
  readonly ultralyticsThop: number;
}

type Rule<K extends LeafOp['op']> = (l: Extract<LeafOp, { op: K }>, x: Shape, m: Mod, xin: In<Shape>) => LeafRun;

const run = (out: Out<Shape>, thop = 0, ultralyticsThop = thop): LeafRun => ({ out, thop, ultralyticsThop });

const conv2d: Rule<'conv2d'> = (l, x) => {
  if (x.length !== 4 && x.length !== 3)
    throw new ShapeError(`Expected 3D (unbatched) or 4D (batched) input to conv2d, but got input of size: ${fmt(x)}`);
  const [c, h, w] = x.slice(-3) as [number, number, number];
  if (c !== l.cin)
    throw new ShapeError(
      `Given groups=${l.g}, weight of size [${l.cout}, ${l.cin / l.g}, ${l.k[0]}, ${l.k[1]}], expected input${fmt(x)} to have ` +
        `${l.cin} channels, but got ${c} channels instead`,
    );
  // torch builds a conv with no output channels but its first forward refuses the empty weight
  if (l.cout === 0)
    throw new EmptyWeightError(
      `Given groups=${l.g}, expected weight to be at least 1 at dimension 0, but got weight of size ` +
        `[0, ${l.cin / l.g}, ${l.k[0]}, ${l.k[1]}] instead`,
    );
  const ph = h + 2 * l.p[0];
  const pw = w + 2 * l.p[1];
  const kh = l.d[0] * (l.k[0] - 1) + 1;
  const kw = l.d[1] * (l.k[1] - 1) + 1;
  if (ph < kh || pw < kw)
    throw new ShapeError(
      `Calculated padded input size per channel: (${ph} x ${pw}). Kernel size: (${kh} x ${kw}). Kernel size can't be greater than ` +
        `actual input size`,
    );
  const out = [...x.slice(0, -3), l.cout, convOut(h, l.k[0], l.s[0], l.p[0], l.d[0]), convOut(w, l.k[1], l.s[1], l.p[1], l.d[1])];
  return run(out, numel(out) * Math.floor(c / l.g) * l.k[0] * l.k[1]);
};

const convTranspose2d: Rule<'convTranspose2d'> = (l, x) => {
  if (x.length !== 4 && x.length !== 3)
    throw new ShapeError(`Expected 3D or 4D input to conv_transpose2d, but got input of size: ${fmt(x)}`);
  const [c, h, w] = x.slice(-3) as [number, number, number];
  if (c !== l.cin)
    throw new ShapeError(
      `Given transposed=1, weight of size [${l.cin}, ${l.cout / l.g}, ${l.k[0]}, ${l.k[1]}], expected input${fmt(x)} to have ` +
        `${l.cin} channels, but got ${c} channels instead`,
    );
  const oh = (h - 1) * l.s[0] - 2 * l.p[0] + l.d[0] * (l.k[0] - 1) + l.outputPadding[0] + 1;
  const ow = (w - 1) * l.s[1] - 2 * l.p[1] + l.d[1] * (l.k[1] - 1) + l.outputPadding[1] + 1;
  if (oh <= 0 || ow <= 0)
    throw new ShapeError(
      `Given input size per channel: (${h} x ${w}). Calculated output size per channel: (${oh} x ${ow}). Output size is too small`,
    );
  const out = [...x.slice(0, -3), l.cout, oh, ow];
  // ultralytics-thop counts a transposed conv on its input volume
  return run(out, numel(out) * Math.floor(c / l.g) * l.k[0] * l.k[1], numel(x) * Math.floor(l.cout / l.g) * l.k[0] * l.k[1]);
};

const batchNorm2d: Rule<'batchNorm2d'> = (l, x) => {
  if (x.length !== 4) throw new ShapeError(`expected 4D input (got ${x.length}D input)`);
  if (x[1] !== l.c) throw new ShapeError(`running_mean should contain ${x[1]} elements not ${l.c}`);
  return run(x, (l.affine ? 4 : 2) * numel(x));
};

const layerNorm: Rule<'layerNorm'> = (l, x) => {
  const tail = x.slice(-l.shape.length);
  if (tail.length !== l.shape.length || tail.some((v, i) => v !== l.shape[i]))
    throw new ShapeError(
      `Given normalized_shape=${fmt(l.shape)}, expected input with shape [*, ${l.shape.join(', ')}], but got input of size${fmt(x)}`,
    );
  return run(x, (l.affine ? 4 : 2) * numel(x));
};

const groupNorm: Rule<'groupNorm'> = (l, x) => {
  if (x[1] !== l.c)
    throw new ShapeError(
      `Expected number of channels in input to be divisible by num_groups, but got input of shape ${fmt(x)} and num_groups=${l.groups}`,
    );
  // thop 0.1.1 has no GroupNorm rule
  return run(x, 0, (l.affine ? 4 : 2) * numel(x));
};

function pool(l: Extract<LeafOp, { op: 'maxPool2d' | 'avgPool2d' }>, x: Shape, m: Mod): LeafRun {
  if (x.length !== 4 && x.length !== 3) throw new ShapeError(`Expected 3D or 4D input to ${m.type}, got ${fmt(x)}`);
  const [h, w] = x.slice(-2) as [number, number];
  const d = l.op === 'maxPool2d' ? l.d : ([1, 1] as [number, number]);
  const oh = poolOut(h, l.k[0], l.s[0], l.p[0], d[0], l.ceil);
  const ow = poolOut(w, l.k[1], l.s[1], l.p[1], d[1], l.ceil);
  if (oh <= 0 || ow <= 0)
    throw new ShapeError(
      `Given input size: (${x.slice(-3).join('x')}). Calculated output size: (${x[x.length - 3]}x${oh}x${ow}). Output size is too small`,
    );
  const out = [...x.slice(0, -2), oh, ow];
  return run(out, l.op === 'avgPool2d' ? numel(out) : 0);
}

function adaptivePool(l: Extract<LeafOp, { op: 'adaptiveAvgPool2d' | 'adaptiveMaxPool2d' }>, x: Shape): LeafRun {
  const [h, w] = x.slice(-2) as [number, number];
  const oh = l.out[0] ?? h;
  const ow = l.out[1] ?? w;
  const out = [...x.slice(0, -2), oh, ow];
  return run(out, l.op === 'adaptiveAvgPool2d' ? Math.trunc(((h / oh) * (w / ow) + 1) * numel(out)) : 0);
}

const upsample: Rule<'upsample'> = (l, x) => {
  const out = upsampleShape(x, l.size, l.scale);
  const a = (UPSAMPLE_OPS[l.mode] ?? 0) * numel(out);
  // ultralytics-thop counts nearest upsampling as 0
  return run(out, a, l.mode === 'nearest' || l.mode === 'nearest-exact' ? 0 : a);
};

const linear: Rule<'linear'> = (l, x) => {
  if (x[x.length - 1] !== l.cin)
    throw new ShapeError(`mat1 and mat2 shapes cannot be multiplied (${numel(x.slice(0, -1))}x${x[x.length - 1]} and ${l.cin}x${l.cout})`);
  const out = [...x.slice(0, -1), l.cout];
  return run(out, l.cin * numel(out));
};

const zeroPad2d: Rule<'zeroPad2d'> = (l, x) => {
  const [pl, pr, pt, pb] = l.pad;
  return run([...x.slice(0, -2), x[x.length - 2]! + pt + pb, x[x.length - 1]! + pl + pr]);
};

const softmax: Rule<'softmax'> = (l, x) => {
  const f = x[normDim(l.dim, x.length)]!;
  return run(x, (numel(x) / f) * (3 * f - 1));
};

const mha: Rule<'mha'> = (l, _x, _m, xin) => {
  const [q, k, v] = xin as Shape[];
  if (!q || !k || !v) throw new ShapeError('MultiheadAttention expects query, key and value');
  if (q[q.length - 1] !== l.embed) throw new ShapeError(`was expecting embedding dimension of ${l.embed}, but got ${q[q.length - 1]}`);
  if (k.length !== q.length || v.length !== q.length) throw new ShapeError('query, key and value must have the same rank');
  // (attn_output, attn_weights)
  return run([q, l.batchFirst ? [q[0]!, q[1]!, k[1]!] : [q[1]!, q[0]!, k[0]!]]);
};

const pixelShuffle: Rule<'pixelShuffle'> = (l, x) => {
  const [c, h, w] = x.slice(-3) as [number, number, number];
  if (c % (l.r * l.r) !== 0)
    throw new ShapeError(
      `pixel_shuffle expects its input's 'channel' dimension to be divisible by the square of upscale_factor, but ` +
        `input.size(-3)=${c} is not divisible by ${l.r * l.r}`,
    );
  return run([...x.slice(0, -3), c / (l.r * l.r), h * l.r, w * l.r]);
};

const RULES: { [K in LeafOp['op']]: Rule<K> } = {
  conv2d,
  convTranspose2d,
  batchNorm2d,
  layerNorm,
  groupNorm,
  act: (l, x) => run(x, l.fn === 'PReLU' ? numel(x) : 0),
  identity: (_l, x) => run(x),
  dropout: (_l, x) => run(x),
  maxPool2d: pool,
  avgPool2d: pool,
  adaptiveAvgPool2d: adaptivePool,
  adaptiveMaxPool2d: adaptivePool,
  upsample,
  linear,
  zeroPad2d,
  flatten: (l, x) => run(flattenShape(x, l.start, l.end)),
  softmax,
  embedding: () => {
    throw new ShapeError('an Embedding is used through its weight, not called');
  },
  mha,
  pixelShuffle,
};

/** Run one torch layer on shapes; thop 0.1.1's count is kept only for the exact classes it registered. */
export function runLeaf(m: Mod, l: LeafOp, xin: In<Shape>): LeafRun {
  const x = (l.op === 'mha' ? (xin as Shape[])[0] : xin) as Shape;
  if (l.op !== 'mha' && !isShapeIn(x)) throw new ShapeError(`${m.type} expects a tensor, got a list of ${(xin as Shape[]).length}`);
  const r = (RULES[l.op] as Rule<LeafOp['op']>)(l as never, x, m, xin);
  return THOP011_TYPES[l.op].includes(m.type) ? r : { ...r, thop: 0 };
}

const isShapeIn = (x: unknown): x is Shape => Array.isArray(x) && (x.length === 0 || typeof x[0] === 'number');
