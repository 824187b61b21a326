/**
 * The tensor interpreter of the module trees: `Flow` on tfjs tensors, PyTorch's NCHW semantics on the interface.
 * Feature maps stay NHWC inside (tfjs's convolutions and pools are NHWC, and a transpose around every conv would
 * cost more than the conv on small maps); an `RtTensor` knows its physical layout and every op translates dims.
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  ShapeError,
  type Flow,
  type ForwardCtx,
  type In,
  type LeafOp,
  type Mod,
  type Out,
  type Shape,
  type UpsampleMode,
} from '../core/nn/module.ts';
import type { ParamArray } from './weights.ts';

/** A tensor with its physical layout: `nhwc` only for 4-D feature maps. `shape` is always the logical NCHW shape. */
export class RtTensor {
  constructor(
    readonly t: tf.Tensor,
    readonly nhwc: boolean,
  ) {}
  get shape(): number[] {
    const s = this.t.shape;
    return this.nhwc ? [s[0]!, s[3]!, s[1]!, s[2]!] : [...s];
  }
  get rank(): number {
    return this.t.rank;
  }
}

/** What a module failure carries up to the profile: which submodule (path) failed. */
export class RuntimeError extends Error {
  constructor(
    message: string,
    readonly path: string,
  ) {
    super(message);
  }
}

/** A leaf's parameters, converted once into the layouts the tfjs kernels want. */
export type Prepared =
  | { kind: 'conv'; mode: 'dense' | 'depthwise' | 'grouped'; filters: tf.Tensor4D[]; bias: tf.Tensor1D | null }
  | { kind: 'convT'; filters: tf.Tensor4D[]; bias: tf.Tensor1D | null }
  | { kind: 'affine'; scale: tf.Tensor1D; shift: tf.Tensor1D }
  | { kind: 'norm'; weight: tf.Tensor | null; bias: tf.Tensor | null }
  | { kind: 'linear'; wT: tf.Tensor2D; bias: tf.Tensor1D | null }
  | { kind: 'mha'; inW: tf.Tensor2D; inB: tf.Tensor1D | null; outW: tf.Tensor2D; outB: tf.Tensor1D | null }
  | { kind: 'prelu'; alpha: tf.Tensor1D }
  | { kind: 'embedding'; weight: tf.Tensor2D }
  /** the parameters a composite module registers directly (`Mod.params`), by attribute name */
  | { kind: 'own'; tensors: Record<string, tf.Tensor> };

const pget = (ps: readonly ParamArray[], name: string): ParamArray | undefined => ps.find((p) => p.name === name);

/** torch layouts → tfjs layouts. Runs outside any tidy: the tensors live as long as the network. */
export function prepareLeaf(l: LeafOp, ps: readonly ParamArray[]): Prepared | null {
  // the scope frees the torch-layout copies and the intermediate reshapes; what the Prepared holds survives
  return tf.tidy(() => prepareLeafIn(l, ps) as unknown as tf.TensorContainer) as unknown as Prepared | null;
}

function prepareLeafIn(l: LeafOp, ps: readonly ParamArray[]): Prepared | null {
  const bias1 = (name = 'bias') => {
    const b = pget(ps, name);
    return b ? tf.tensor1d(b.values) : null;
  };
  switch (l.op) {
    case 'conv2d': {
      const w = pget(ps, 'weight')!;
      const [cout, cinG, kh, kw] = w.shape as [number, number, number, number];
      const oihw = tf.tensor4d(w.values, [cout, cinG, kh, kw]);
      let mode: 'dense' | 'depthwise' | 'grouped';
      let filters: tf.Tensor4D[];
      if (l.g === 1) {
        mode = 'dense';
        filters = [tf.transpose(oihw, [2, 3, 1, 0])]; // HWIO
      } else if (l.g === l.cin && cinG === 1) {
        // depthwise with multiplier m = cout / cin: torch's output o = i·m + j is tfjs's channel i·m + j too
        mode = 'depthwise';
        const m = cout / l.cin;
        filters = [tf.transpose(tf.reshape(oihw, [l.cin, m, kh, kw]), [2, 3, 0, 1])];
      } else {
        mode = 'grouped';
        filters = tf.split(oihw, l.g, 0).map((g) => tf.transpose(g, [2, 3, 1, 0]) as tf.Tensor4D);
      }
      oihw.dispose();
      return { kind: 'conv', mode, filters, bias: bias1() };
    }
    case 'convTranspose2d': {
      const w = pget(ps, 'weight')!;
      const [cin, coutG, kh, kw] = w.shape as [number, number, number, number];
      const iohw = tf.tensor4d(w.values, [cin, coutG, kh, kw]);
      // conv2dTranspose's filter is [kh, kw, outC, inC]
      const groups = tf.split(iohw, l.g, 0);
      const filters = groups.map((g) => tf.transpose(g, [2, 3, 1, 0]) as tf.Tensor4D);
      iohw.dispose();
      groups.forEach((g) => g.dispose());
      return { kind: 'convT', filters, bias: bias1() };
    }
    case 'batchNorm2d': {
      // eval-mode BatchNorm is an affine map per channel: y = x·γ/√(var+ε) + (β − mean·γ/√(var+ε))
      const g = pget(ps, 'weight')?.values;
      const b = pget(ps, 'bias')?.values;
      const mean = pget(ps, 'running_mean')!.values;
      const v = pget(ps, 'running_var')!.values;
      const scale = new Float32Array(l.c);
      const shift = new Float32Array(l.c);
      for (let i = 0; i < l.c; i++) {
        const s = (g ? g[i]! : 1) / Math.sqrt(v[i]! + l.eps);
        scale[i] = s;
        shift[i] = (b ? b[i]! : 0) - mean[i]! * s;
      }
      return { kind: 'affine', scale: tf.tensor1d(scale), shift: tf.tensor1d(shift) };
    }
    case 'layerNorm':
    case 'groupNorm': {
      const w = pget(ps, 'weight');
      const b = pget(ps, 'bias');
      return { kind: 'norm', weight: w ? tf.tensor(w.values, [...w.shape]) : null, bias: b ? tf.tensor(b.values, [...b.shape]) : null };
    }
    case 'linear': {
      const w = pget(ps, 'weight')!;
      const t = tf.tensor2d(w.values, [l.cout, l.cin]);
      const wT = tf.transpose(t) as tf.Tensor2D;
      t.dispose();
      return { kind: 'linear', wT, bias: bias1() };
    }
    case 'mha': {
      const e = l.embed;
      const tin = tf.tensor2d(pget(ps, 'in_proj_weight')!.values, [3 * e, e]);
      const tout = tf.tensor2d(pget(ps, 'out_proj.weight')!.values, [e, e]);
      const inW = tf.transpose(tin) as tf.Tensor2D;
      const outW = tf.transpose(tout) as tf.Tensor2D;
      tin.dispose();
      tout.dispose();
      return { kind: 'mha', inW, inB: bias1('in_proj_bias'), outW, outB: bias1('out_proj.bias') };
    }
    case 'act':
      return l.fn === 'PReLU' ? { kind: 'prelu', alpha: tf.tensor1d(pget(ps, 'weight')!.values) } : null;
    case 'embedding':
      return { kind: 'embedding', weight: tf.tensor2d(pget(ps, 'weight')!.values, [l.num, l.dim]) };
    default:
      return null;
  }
}

export function disposePrepared(p: Prepared): void {
  if (p.kind === 'own') {
    for (const t of Object.values(p.tensors)) t.dispose();
    return;
  }
  for (const v of Object.values(p)) {
    if (v instanceof tf.Tensor) v.dispose();
    else if (Array.isArray(v)) v.forEach((t) => t instanceof tf.Tensor && t.dispose());
  }
}

const fmt = (s: readonly number[]): string => `[${s.join(', ')}]`;
const numel = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);

function normDim(dim: number, rank: number): number {
  const d = dim < 0 ? dim + rank : dim;
  if (d < 0 || d >= rank)
    throw new ShapeError(`Dimension out of range (expected to be in range of [${-rank}, ${rank - 1}], but got ${dim})`);
  return d;
}

/**
 * The `g` channel groups of an NHWC map, by tf.slice: tfjs-backend-wasm's SplitV copies its whole input out of the
 * heap once per piece, the Slice that backend.ts registers copies only the piece.
 */
function channelGroups(x: tf.Tensor4D, g: number): tf.Tensor4D[] {
  const c = x.shape[3] / g;
  return Array.from({ length: g }, (_, i) => tf.slice(x, [0, 0, 0, i * c], [-1, -1, -1, c]));
}

/**
 * A tensor's values where they lie: on the wasm backend a view of its heap (no copy; valid until the next
 * allocation), elsewhere `dataSync()`.
 */
function valuesOf(t: tf.Tensor): ArrayLike<number> {
  const backend = tf.backend() as unknown as { typedArrayFromHeap?: (t: tf.TensorInfo) => ArrayLike<number> };
  return tf.getBackend() === 'wasm' && backend.typedArrayFromHeap ? backend.typedArrayFromHeap(t) : (t.dataSync() as ArrayLike<number>);
}

/** NCHW dim → NHWC axis */
const NHWC_AXIS = [0, 3, 1, 2];

const isRt = (x: unknown): x is RtTensor => x instanceof RtTensor;

/** The tfjs interpreter. `params` maps the current layer's leaves to their prepared weights (set by the engine). */
export class TfFlow implements Flow<RtTensor> {
  private layerParams: ReadonlyMap<Mod, Prepared> = new Map();
  /** the current layer's weights (the engine sets them before each layer; a new layer restarts its constants) */
  get params(): ReadonlyMap<Mod, Prepared> {
    return this.layerParams;
  }
  set params(p: ReadonlyMap<Mod, Prepared>) {
    this.layerParams = p;
    this.constantIndex = 0;
  }
  /**
   * A layer's constants (grids, anchors, index ramps) are pure functions of its static shapes and attributes, so the
   * n-th constant a layer asks for is the same tensor on every pass: made once, as the upstream heads cache their
   * grids, instead of filled in JavaScript and uploaded on every pass. Keyed by the layer's weight map.
   */
  private readonly constants = new Map<ReadonlyMap<Mod, Prepared>, tf.Tensor[]>();
  private constantIndex = 0;
  /** module paths of the current layer, to say where a failure happened */
  paths: ReadonlyMap<Mod, string> = new Map();
  /** sample the bytes held by live tensors after every leaf (the peak-memory pass only) */
  trackMemory = false;
  peakBytes = 0;
  /** keep feature maps NHWC between convs (true) or convert back to NCHW after every conv/pool (the naive form) */
  constructor(readonly keepNhwc = true) {}

  // ---- layout helpers -------------------------------------------------------------------------------------
  /** the tensor in NCHW (row-major, as torch's contiguous tensors are) */
  nchw(x: RtTensor): tf.Tensor {
    return x.nhwc ? tf.transpose(x.t, [0, 3, 1, 2]) : x.t;
  }
  /** the 4-D feature map in NHWC */
  nhwc(x: RtTensor, who: string): tf.Tensor4D {
    if (x.nhwc) return x.t as tf.Tensor4D;
    if (x.rank === 3) return tf.transpose(tf.expandDims(x.t, 0), [0, 2, 3, 1]) as tf.Tensor4D;
    if (x.rank !== 4) throw new ShapeError(`${who} expects a 4-D input (N, C, H, W), got ${fmt(x.shape)}`);
    return tf.transpose(x.t, [0, 2, 3, 1]) as tf.Tensor4D;
  }
  private fromNhwc(t: tf.Tensor): RtTensor {
    return this.keepNhwc ? new RtTensor(t, true) : new RtTensor(tf.transpose(t, [0, 3, 1, 2]), false);
  }
  private plain(t: tf.Tensor): RtTensor {
    return new RtTensor(t, false);
  }
  /** runs a multi-kernel op in its own scope: its temporaries are freed when it returns, only the result stays */
  private scoped<R>(f: () => R): R {
    return tf.tidy(() => f() as unknown as tf.TensorContainer) as unknown as R;
  }

  // ---- modules --------------------------------------------------------------------------------------------
  call(m: Mod, x: In<RtTensor>, ctx: ForwardCtx<RtTensor> = {}): RtTensor {
    const out = this.callMulti(m, x, ctx);
    if (!isRt(out)) throw new ShapeError(`${m.type} returned ${out === null ? 'None' : 'several tensors'} where one tensor is expected`);
    return out;
  }

  callMulti(m: Mod, x: In<RtTensor>, ctx: ForwardCtx<RtTensor> = {}): Out<RtTensor> {
    try {
      // one scope per module: a submodule's temporaries are freed when it returns, as torch frees them
      return tf.tidy(() => {
        if (m.leaf) {
          const y = this.leaf(m, m.leaf, x);
          if (this.trackMemory) this.peakBytes = Math.max(this.peakBytes, tf.memory().numBytes);
          return y as unknown as tf.TensorContainer;
        }
        if (!m.forward) throw new ShapeError(`${m.type} has no forward`);
        const y = m.forward(this, x, ctx);
        // every temporary of this module is still alive here: the moment its memory peaks
        if (this.trackMemory) this.peakBytes = Math.max(this.peakBytes, tf.memory().numBytes);
        return y as unknown as tf.TensorContainer;
      }) as unknown as Out<RtTensor>;
    } catch (e) {
      if (e instanceof RuntimeError) throw e;
      const path = this.paths.get(m) ?? '?';
      const msg = e instanceof Error ? e.message : String(e);
      throw new RuntimeError(`${path ? `${path} (${m.type})` : m.type}: ${msg}`, path);
    }
  }

  private prepared<K extends Prepared['kind']>(m: Mod, kind: K): Extract<Prepared, { kind: K }> {
    const p = this.params.get(m);
    if (!p || p.kind !== kind) throw new Error(`internal: no ${kind} weights for ${m.type} at ${this.paths.get(m) ?? '?'}`);
    return p as Extract<Prepared, { kind: K }>;
  }

  private leaf(m: Mod, l: LeafOp, xin: In<RtTensor>): Out<RtTensor> {
    if (l.op === 'mha') return this.mha(m, l, xin as readonly RtTensor[]);
    if (!isRt(xin)) throw new ShapeError(`${m.type} expects a tensor, got a list of ${(xin as readonly RtTensor[]).length}`);
    const x = xin;
    switch (l.op) {
      case 'conv2d':
        return this.conv(m, l, x);
      case 'convTranspose2d':
        return this.convTranspose(m, l, x);
      case 'batchNorm2d': {
        if (x.rank !== 4) throw new ShapeError(`expected 4D input (got ${x.rank}D input)`);
        if (x.shape[1] !== l.c) throw new ShapeError(`running_mean should contain ${x.shape[1]} elements not ${l.c}`);
        const p = this.prepared(m, 'affine');
        return this.channelAffine(x, p.scale, p.shift);
      }
      case 'layerNorm': {
        const p = this.prepared(m, 'norm');
        const t = this.nchw(x);
        const axes = l.shape.map((_, i) => t.rank - l.shape.length + i);
        const tail = t.shape.slice(-l.shape.length);
        if (tail.some((v, i) => v !== l.shape[i]))
          throw new ShapeError(
            `Given normalized_shape=${fmt(l.shape)}, expected input with shape [*, ${l.shape.join(', ')}], but got ` +
              `input of size${fmt(t.shape)}`,
          );
        const { mean, variance } = tf.moments(t, axes, true);
        let y = tf.div(tf.sub(t, mean), tf.sqrt(tf.add(variance, l.eps)));
        if (p.weight) y = tf.mul(y, p.weight);
        if (p.bias) y = tf.add(y, p.bias);
        return this.plain(y);
      }
      case 'groupNorm': {
        const p = this.prepared(m, 'norm');
        const t = this.nchw(x);
        const [n, c] = t.shape as [number, number];
        const g = tf.reshape(t, [n, l.groups, -1]);
        const { mean, variance } = tf.moments(g, [2], true);
        let y = tf.reshape(tf.div(tf.sub(g, mean), tf.sqrt(tf.add(variance, l.eps))), t.shape);
        const bshape = [c, ...t.shape.slice(2).map(() => 1)];
        if (p.weight) y = tf.mul(y, tf.reshape(p.weight, bshape));
        if (p.bias) y = tf.add(y, tf.reshape(p.bias, bshape));
        return this.plain(y);
      }
      case 'act':
        return this.activation(m, l, x);
      case 'identity':
      case 'dropout':
        return x;
      case 'maxPool2d':
        return this.pool2d('max', x, l.k, l.s, l.p, l.d, l.ceil, true);
      case 'avgPool2d':
        return this.pool2d('avg', x, l.k, l.s, l.p, [1, 1], l.ceil, l.countIncludePad);
      case 'adaptiveAvgPool2d':
      case 'adaptiveMaxPool2d':
        return this.adaptivePool(l.op === 'adaptiveAvgPool2d' ? 'avg' : 'max', x, l.out);
      case 'upsample':
        return this.resize(x, l.size, l.scale, l.mode, l.alignCorners);
      case 'linear': {
        const p = this.prepared(m, 'linear');
        const t = this.nchw(x);
        const s = t.shape;
        if (s[s.length - 1] !== l.cin)
          throw new ShapeError(
            `mat1 and mat2 shapes cannot be multiplied (${numel(s.slice(0, -1))}x${s[s.length - 1]} and ${l.cin}x${l.cout})`,
          );
        let y = matMul(tf.reshape(t, [-1, l.cin]), p.wT);
        if (p.bias) y = tf.add(y, p.bias);
        return this.plain(tf.reshape(y, [...s.slice(0, -1), l.cout]));
      }
      case 'zeroPad2d':
        return this.pad(x, l.pad, 0);
      case 'flatten':
        return this.flatten(x, l.start, l.end);
      case 'softmax':
        return this.softmax(x, l.dim);
      case 'embedding':
        throw new ShapeError('an Embedding is used through its weight, not called');
      case 'pixelShuffle': {
        const t = this.nchw(x);
        const [n, c, h, w] = t.shape as [number, number, number, number];
        const r = l.r;
        if (c % (r * r) !== 0)
          throw new ShapeError(
            `pixel_shuffle expects its input's 'channel' dimension to be divisible by the square of upscale_factor, ` +
              `but input.size(-3)=${c} is not divisible by ${r * r}`,
          );
        const y = tf.transpose(tf.reshape(t, [n, c / (r * r), r, r, h, w]), [0, 1, 4, 2, 5, 3]);
        return this.plain(tf.reshape(y, [n, c / (r * r), h * r, w * r]));
      }
    }
  }

  private channelAffine(x: RtTensor, scale: tf.Tensor1D, shift: tf.Tensor1D): RtTensor {
    if (x.nhwc) return new RtTensor(tf.add(tf.mul(x.t, scale), shift), true);
    const c = scale.shape[0];
    const bshape = [c, ...x.t.shape.slice(2).map(() => 1)];
    return this.plain(tf.add(tf.mul(x.t, tf.reshape(scale, bshape)), tf.reshape(shift, bshape)));
  }

  private conv(m: Mod, l: Extract<LeafOp, { op: 'conv2d' }>, x: RtTensor): RtTensor {
    const s = x.shape;
    if (s.length !== 4 && s.length !== 3)
      throw new ShapeError(`Expected 3D (unbatched) or 4D (batched) input to conv2d, but got input of size: ${fmt(s)}`);
    const c = s[s.length - 3]!;
    if (c !== l.cin)
      throw new ShapeError(
        `Given groups=${l.g}, weight of size [${l.cout}, ${l.cin / l.g}, ${l.k[0]}, ${l.k[1]}], expected ` +
          `input${fmt(s)} to have ${l.cin} channels, but got ${c} channels instead`,
      );
    const p = this.prepared(m, 'conv');
    // tfjs convolves with a stride or a dilation, not both: dilate at stride 1, then keep every s-th output
    const both = (l.s[0] > 1 || l.s[1] > 1) && (l.d[0] > 1 || l.d[1] > 1);
    const xh = this.nhwc(x, 'conv2d');
    const pad: [[number, number], [number, number], [number, number], [number, number]] = [
      [0, 0],
      [l.p[0], l.p[0]],
      [l.p[1], l.p[1]],
      [0, 0],
    ];
    const strides: [number, number] = both ? [1, 1] : [l.s[0], l.s[1]];
    const dilations: [number, number] = [l.d[0], l.d[1]];
    let y: tf.Tensor4D;
    if (p.mode === 'dense')
      y = tf.fused.conv2d({ x: xh, filter: p.filters[0]!, strides, pad, dilations, ...(p.bias ? { bias: p.bias } : {}) });
    else if (p.mode === 'depthwise') {
      // the typings of fused.depthwiseConv2d omit explicit padding, which its kernel (computeConv2DInfo) accepts
      const dwPad = l.p[0] === l.p[1] ? l.p[0] : (pad as unknown as number);
      y = tf.fused.depthwiseConv2d({ x: xh, filter: p.filters[0]!, strides, pad: dwPad, dilations, ...(p.bias ? { bias: p.bias } : {}) });
    } else {
      const xs = channelGroups(xh, l.g);
      const ys = xs.map((xg, i) => tf.conv2d(xg as tf.Tensor4D, p.filters[i]!, strides, pad, 'NHWC', dilations));
      y = tf.concat(ys, 3) as tf.Tensor4D;
      if (p.bias) y = tf.add(y, p.bias);
    }
    if (both) {
      const [n, h, w, c] = y.shape;
      y = tf.stridedSlice(y, [0, 0, 0, 0], [n, h, w, c], [1, l.s[0], l.s[1], 1]) as tf.Tensor4D;
    }
    return this.fromNhwc(y);
  }

  private convTranspose(m: Mod, l: Extract<LeafOp, { op: 'convTranspose2d' }>, x: RtTensor): RtTensor {
    const s = x.shape;
    if (s.length !== 4) throw new ShapeError(`Expected 4D input to conv_transpose2d, but got input of size: ${fmt(s)}`);
    if (s[1] !== l.cin)
      throw new ShapeError(
        `Given transposed=1, weight of size [${l.cin}, ${l.cout / l.g}, ${l.k[0]}, ${l.k[1]}], expected ` +
          `input${fmt(s)} to have ${l.cin} channels, but got ${s[1]} channels instead`,
      );
    if (l.d[0] !== 1 || l.d[1] !== 1) throw new ShapeError('a dilated transposed convolution is not supported by the tfjs runtime');
    const p = this.prepared(m, 'convT');
    const [n, , h, w] = s as [number, number, number, number];
    // torch's output: (h−1)·s − 2p + k + output_padding. Run tfjs's 'valid' transposed conv to the full size, crop
    const fullH = (h - 1) * l.s[0] + l.k[0];
    const fullW = (w - 1) * l.s[1] + l.k[1];
    const oh = fullH - 2 * l.p[0] + l.outputPadding[0];
    const ow = fullW - 2 * l.p[1] + l.outputPadding[1];
    const xh = this.nhwc(x, 'conv_transpose2d');
    const xs = l.g === 1 ? [xh] : channelGroups(xh, l.g);
    const per = l.cout / l.g;
    let y = tf.concat(
      xs.map((xg, i) =>
        tf.conv2dTranspose(
          xg as tf.Tensor4D,
          p.filters[i]!,
          [n, fullH + l.outputPadding[0], fullW + l.outputPadding[1], per],
          [l.s[0], l.s[1]],
          'valid',
        ),
      ),
      3,
    ) as tf.Tensor4D;
    y = tf.slice(y, [0, l.p[0], l.p[1], 0], [n, oh, ow, l.cout]);
    if (p.bias) y = tf.add(y, p.bias);
    return this.fromNhwc(y);
  }

  private activation(m: Mod, l: Extract<LeafOp, { op: 'act' }>, x: RtTensor): RtTensor {
    const t = x.t;
    const keep = (y: tf.Tensor) => new RtTensor(y, x.nhwc);
    switch (l.fn) {
      case 'SiLU':
        return keep(tf.mul(t, tf.sigmoid(t)));
      case 'ReLU':
        return keep(tf.relu(t));
      case 'ReLU6':
        return keep(tf.relu6(t));
      case 'LeakyReLU':
        return keep(tf.leakyRelu(t, l.slope ?? 0.01));
      case 'Mish': {
        // x·tanh(softplus(x)) = x·u/(2−u) with u = σ(x)(2−σ(x)): tfjs's softplus and tanh kernels are scalar,
        // its sigmoid is vectorised, so this form is ~9× faster on wasm (and equal within float32 rounding)
        const s = tf.sigmoid(t);
        const u = tf.mul(s, tf.sub(2, s));
        return keep(tf.mul(t, tf.div(u, tf.sub(2, u))));
      }
      case 'Hardswish':
        return keep(tf.mul(t, tf.div(tf.relu6(tf.add(t, 3)), 6)));
      case 'Hardsigmoid':
        return keep(tf.div(tf.relu6(tf.add(t, 3)), 6));
      case 'Sigmoid':
        return keep(tf.sigmoid(t));
      case 'Tanh':
        return keep(tf.tanh(t));
      case 'GELU':
        if (l.approximate === 'tanh') {
          const inner = tf.mul(Math.sqrt(2 / Math.PI), tf.add(t, tf.mul(0.044715, tf.pow(t, 3))));
          return keep(tf.mul(tf.mul(0.5, t), tf.add(1, tf.tanh(inner))));
        }
        return keep(tf.mul(tf.mul(0.5, t), tf.add(1, tf.erf(tf.mul(t, Math.SQRT1_2)))));
      case 'ELU':
        return keep(tf.elu(t));
      case 'Softplus':
        return keep(tf.softplus(t));
      case 'PReLU': {
        const p = this.prepared(m, 'prelu');
        const c = p.alpha.shape[0];
        if (c === 1) return keep(tf.prelu(t, tf.reshape(p.alpha, [])));
        if (x.nhwc) return keep(tf.prelu(t, p.alpha));
        return keep(tf.prelu(t, tf.reshape(p.alpha, [c, ...t.shape.slice(2).map(() => 1)])));
      }
    }
  }

  private pool2d(
    kind: 'max' | 'avg',
    x: RtTensor,
    k: [number, number],
    s: [number, number],
    p: [number, number],
    d: [number, number],
    ceil: boolean,
    countPad: boolean,
  ): RtTensor {
    return this.scoped(() => {
      const sh = x.shape;
      if (sh.length !== 4) throw new ShapeError(`Expected 4D input to a ${kind} pool, got ${fmt(sh)}`);
      const [h, w] = [sh[2]!, sh[3]!];
      const out = (size: number, i: 0 | 1) => {
        const num = size + 2 * p[i] - d[i] * (k[i] - 1) - 1;
        let o = (ceil ? Math.ceil(num / s[i]) : Math.floor(num / s[i])) + 1;
        if (ceil && (o - 1) * s[i] >= size + p[i]) o--;
        return o;
      };
      const oh = out(h, 0);
      const ow = out(w, 1);
      if (oh <= 0 || ow <= 0)
        throw new ShapeError(
          `Given input size: (${sh.slice(1).join('x')}). Calculated output size: (${sh[1]}x${oh}x${ow}). Output size is too small`,
        );
      let xh = this.nhwc(x, `${kind}_pool2d`);
      // extra padding at the bottom/right that ceil mode needs to reach the last window
      const extraH = Math.max(0, (oh - 1) * s[0] + d[0] * (k[0] - 1) + 1 - (h + 2 * p[0]));
      const extraW = Math.max(0, (ow - 1) * s[1] + d[1] * (k[1] - 1) + 1 - (w + 2 * p[1]));
      const simple = extraH === 0 && extraW === 0 && p[0] === p[1] && (kind === 'max' ? true : p[0] === 0);
      let y: tf.Tensor4D;
      if (kind === 'max') {
        if (simple && d[0] === 1 && d[1] === 1) y = tf.maxPool(xh, k, s, p[0]);
        else {
          // torch pads max pools with −∞; padding then pooling 'valid' gives its windows exactly
          if (p[0] || p[1] || extraH || extraW)
            xh = tf.pad(
              xh,
              [
                [0, 0],
                [p[0], p[0] + extraH],
                [p[1], p[1] + extraW],
                [0, 0],
              ],
              -Infinity,
            );
          // tfjs pools with a stride or a dilation, not both: pool at stride 1 and keep every s-th window
          const dilated = d[0] > 1 || d[1] > 1;
          y = tf.pool(xh, k, 'max', 'valid', d, dilated ? [1, 1] : s) as tf.Tensor4D;
          if (dilated && (s[0] > 1 || s[1] > 1)) y = tf.stridedSlice(y, [0, 0, 0, 0], y.shape, [1, s[0], s[1], 1]) as tf.Tensor4D;
          y = tf.slice(y, [0, 0, 0, 0], [-1, oh, ow, -1]);
        }
      } else if (simple) y = tf.avgPool(xh, k, s, 'valid');
      else {
        // count_include_pad: the zero padding counts in the divisor (torch's default); the ceil-mode overhang never does
        const widths: [number, number][] = [
          [0, 0],
          [p[0], p[0] + extraH],
          [p[1], p[1] + extraW],
          [0, 0],
        ];
        const sums = tf.avgPool(tf.pad(xh, widths, 0), k, s, 'valid');
        const inner = countPad
          ? tf.ones([1, h + 2 * p[0], w + 2 * p[1], 1])
          : tf.pad(
              tf.ones([1, h, w, 1]),
              [
                [0, 0],
                [p[0], p[0]],
                [p[1], p[1]],
                [0, 0],
              ],
              0,
            );
        const counts = tf.avgPool(
          tf.pad(
            inner,
            [
              [0, 0],
              [0, extraH],
              [0, extraW],
              [0, 0],
            ],
            0,
          ) as tf.Tensor4D,
          k,
          s,
          'valid',
        );
        y = tf.div(sums, counts);
      }
      return this.fromNhwc(y);
    });
  }

  private adaptivePool(kind: 'avg' | 'max', x: RtTensor, out: [number | null, number | null]): RtTensor {
    return this.scoped(() => {
      const sh = x.shape;
      const [h, w] = [sh[2]!, sh[3]!];
      const oh = out[0] ?? h;
      const ow = out[1] ?? w;
      const xh = this.nhwc(x, 'adaptive pool');
      const reduce = (t: tf.Tensor) => (kind === 'avg' ? tf.mean(t, [1, 2], true) : tf.max(t, [1, 2], true));
      if (oh === 1 && ow === 1) return this.fromNhwc(reduce(xh));
      if (h % oh === 0 && w % ow === 0) {
        const k: [number, number] = [h / oh, w / ow];
        return this.fromNhwc(kind === 'avg' ? tf.avgPool(xh, k, k, 'valid') : tf.maxPool(xh, k, k, 'valid'));
      }
      // torch's bins: [floor(i·H/oh), ceil((i+1)·H/oh))
      const rows: tf.Tensor[] = [];
      for (let i = 0; i < oh; i++) {
        const h0 = Math.floor((i * h) / oh);
        const h1 = Math.ceil(((i + 1) * h) / oh);
        const cols: tf.Tensor[] = [];
        for (let j = 0; j < ow; j++) {
          const w0 = Math.floor((j * w) / ow);
          const w1 = Math.ceil(((j + 1) * w) / ow);
          cols.push(reduce(tf.slice(xh, [0, h0, w0, 0], [-1, h1 - h0, w1 - w0, -1])));
        }
        rows.push(tf.concat(cols, 2));
      }
      return this.fromNhwc(tf.concat(rows, 1));
    });
  }

  private resize(
    x: RtTensor,
    size: readonly [number, number] | null,
    scale: readonly [number, number] | null,
    mode: UpsampleMode,
    alignCorners: boolean | null,
  ): RtTensor {
    return this.scoped(() => {
      const sh = x.shape;
      if (sh.length !== 4) throw new ShapeError(`Upsample here expects a 4D input, got ${fmt(sh)}`);
      let oh: number;
      let ow: number;
      if (size) [oh, ow] = size;
      else if (scale) {
        oh = Math.floor(sh[2]! * scale[0]);
        ow = Math.floor(sh[3]! * scale[1]);
      } else throw new ShapeError('either size or scale_factor should be defined');
      if (oh <= 0 || ow <= 0)
        throw new ShapeError(
          `Input and output sizes should be greater than 0, but got input (H: ${sh[2]}, W: ${sh[3]}) output (H: ${oh}, W: ${ow})`,
        );
      // the scale torch maps output coordinates with: 1/scale_factor when one is given, else in/out
      const ratio = (i: 0 | 1, inSize: number, outSize: number) => (scale ? 1 / scale[i] : inSize / outSize);
      const exact = Math.abs(ratio(0, sh[2]!, oh) - sh[2]! / oh) < 1e-12 && Math.abs(ratio(1, sh[3]!, ow) - sh[3]! / ow) < 1e-12;
      if (mode === 'nearest' && exact)
        return this.fromNhwc(tf.image.resizeNearestNeighbor(this.nhwc(x, 'upsample'), [oh, ow], false, false));
      if (mode === 'area') return this.adaptivePool('avg', x, [oh, ow]);
      if (mode !== 'nearest' && mode !== 'nearest-exact' && mode !== 'bilinear' && mode !== 'bicubic')
        throw new ShapeError(`upsampling mode '${mode}' needs a ${mode === 'trilinear' ? '5' : '3'}-D input, got ${fmt(sh)}`);
      // separable interpolation as two matrix products, with torch's coordinate rules (upsample_*2d kernels)
      const mh = interpMatrix(sh[2]!, oh, mode, !!alignCorners, ratio(0, sh[2]!, oh));
      const mw = interpMatrix(sh[3]!, ow, mode, !!alignCorners, ratio(1, sh[3]!, ow));
      const [n, c, h, w] = sh as [number, number, number, number];
      const t = this.nchw(x);
      const alongW = tf.reshape(matMul(tf.reshape(t, [n * c * h, w]), tf.tensor2d(mw, [ow, w]), false, true), [n * c, h, ow]);
      const alongH = matMul(tf.reshape(tf.transpose(alongW, [0, 2, 1]), [n * c * ow, h]), tf.tensor2d(mh, [oh, h]), false, true);
      return this.plain(tf.transpose(tf.reshape(alongH, [n, c, ow, oh]), [0, 1, 3, 2]));
    });
  }

  private mha(m: Mod, l: Extract<LeafOp, { op: 'mha' }>, xin: readonly RtTensor[]): Out<RtTensor> {
    const [q0, k0, v0] = xin;
    if (!q0 || !k0 || !v0) throw new ShapeError('MultiheadAttention expects query, key and value');
    const p = this.prepared(m, 'mha');
    const e = l.embed;
    const hN = l.heads;
    const hd = e / hN;
    // work batch-first: [N, L, E]
    const bf = (t: RtTensor) => (l.batchFirst ? this.nchw(t) : tf.transpose(this.nchw(t), [1, 0, 2]));
    const q = bf(q0);
    const k = bf(k0);
    const v = bf(v0);
    if (q.shape[2] !== e) throw new ShapeError(`was expecting embedding dimension of ${e}, but got ${q.shape[2]}`);
    const [n, lq] = q.shape as [number, number];
    const ls = k.shape[1]!;
    const [wq, wk, wv] = tf.split(p.inW, 3, 1);
    const [bq, bk, bv] = p.inB ? tf.split(p.inB, 3, 0) : [null, null, null];
    const proj = (t: tf.Tensor, w: tf.Tensor, b: tf.Tensor | null, len: number) => {
      let y = matMul(tf.reshape(t, [-1, e]), w as tf.Tensor2D);
      if (b) y = tf.add(y, b);
      return tf.transpose(tf.reshape(y, [n, len, hN, hd]), [0, 2, 1, 3]); // [N, h, L, hd]
    };
    const qh = proj(q, wq!, bq!, lq);
    const kh = proj(k, wk!, bk!, ls);
    const vh = proj(v, wv!, bv!, ls);
    const att = tf.softmax(tf.mul(matMul(qh, kh, false, true), 1 / Math.sqrt(hd)));
    const ctxT = tf.reshape(tf.transpose(matMul(att, vh), [0, 2, 1, 3]), [-1, e]);
    let o = matMul(ctxT, p.outW);
    if (p.outB) o = tf.add(o, p.outB);
    let out = tf.reshape(o, [n, lq, e]);
    if (!l.batchFirst) out = tf.transpose(out, [1, 0, 2]);
    return [this.plain(out), this.plain(tf.mean(att, 1))];
  }

  // ---- Flow ops ---------------------------------------------------------------------------------------------
  shape(x: RtTensor): Shape {
    return x.shape;
  }

  cat(xs: readonly RtTensor[], dim: number): RtTensor {
    if (xs.length === 0) throw new ShapeError('torch.cat(): expected a non-empty list of Tensors');
    const r = xs[0]!.rank;
    const d = normDim(dim, r);
    for (let i = 0; i < xs.length; i++) {
      const s = xs[i]!.shape;
      if (s.length !== r) throw new ShapeError(`Tensors must have same number of dimensions: got ${r} and ${s.length}`);
      for (let j = 0; j < r; j++)
        if (j !== d && s[j] !== xs[0]!.shape[j])
          throw new ShapeError(
            `Sizes of tensors must match except in dimension ${d}. Expected size ${xs[0]!.shape[j]} but got size ` +
              `${s[j]} for tensor number ${i} in the list.`,
          );
    }
    if (r === 4 && xs.some((x) => x.nhwc))
      return new RtTensor(
        tf.concat(
          xs.map((x) => this.nhwc(x, 'cat')),
          NHWC_AXIS[d]!,
        ),
        true,
      );
    return this.plain(
      tf.concat(
        xs.map((x) => x.t),
        d,
      ),
    );
  }

  private binary(a: RtTensor, b: RtTensor, op: (x: tf.Tensor, y: tf.Tensor) => tf.Tensor, what: string): RtTensor {
    const sa = a.shape;
    const sb = b.shape;
    const n = Math.max(sa.length, sb.length);
    for (let i = 0; i < n; i++) {
      const x = sa[sa.length - n + i] ?? 1;
      const y = sb[sb.length - n + i] ?? 1;
      if (x !== y && x !== 1 && y !== 1)
        throw new ShapeError(
          `The size of tensor a (${x}) must match the size of tensor b (${y}) at non-singleton dimension ${i} ` +
            `(${what} of ${fmt(sa)} and ${fmt(sb)})`,
        );
    }
    if (a.nhwc && b.nhwc) return new RtTensor(op(a.t, b.t), true);
    if (a.nhwc && b.rank === 0) return new RtTensor(op(a.t, b.t), true);
    if (b.nhwc && a.rank === 0) return new RtTensor(op(a.t, b.t), true);
    return this.plain(op(this.nchw(a), this.nchw(b)));
  }

  add(a: RtTensor, b: RtTensor): RtTensor {
    return this.binary(a, b, tf.add, 'sum');
  }
  sub(a: RtTensor, b: RtTensor): RtTensor {
    return this.binary(a, b, tf.sub, 'difference');
  }
  mul(a: RtTensor, b: RtTensor): RtTensor {
    return this.binary(a, b, tf.mul, 'product');
  }
  div(a: RtTensor, b: RtTensor): RtTensor {
    return this.binary(a, b, tf.div, 'quotient');
  }
  scale(a: RtTensor, factor: number): RtTensor {
    return new RtTensor(tf.mul(a.t, factor), a.nhwc);
  }

  chunk(x: RtTensor, chunks: number, dim: number): RtTensor[] {
    const d = normDim(dim, x.rank);
    const size = Math.ceil(x.shape[d]! / chunks);
    return this.split(x, size, d);
  }

  split(x: RtTensor, sizes: number | readonly number[], dim: number): RtTensor[] {
    const d = normDim(dim, x.rank);
    const n = x.shape[d]!;
    let parts: number[];
    if (typeof sizes === 'number') {
      if (sizes <= 0) throw new ShapeError(`split expects split_size be non-negative, but got split_size=${sizes}`);
      parts = [];
      for (let left = n; left > 0; left -= sizes) parts.push(Math.min(sizes, left));
    } else {
      parts = [...sizes];
      if (parts.reduce((a, b) => a + b, 0) !== n)
        throw new ShapeError(
          `split_with_sizes expects split_sizes to sum exactly to ${n} (input tensor's size at dimension ${d}), but ` +
            `got split_sizes=[${parts.join(', ')}]`,
        );
    }
    if (parts.length === 1) return [x];
    const axis = x.nhwc ? NHWC_AXIS[d]! : d;
    // as column ranges of a 2-D view [outer, n·inner]: tfjs-wasm slices 2-D maps in one pass, while 3-D slices
    // take 12× and 5-D ones 180× longer (measured on a [1, 3, 160, 160, 85] head map)
    const shape = x.t.shape;
    const outer = shape.slice(0, axis).reduce((a, b) => a * b, 1);
    const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
    const flat = tf.reshape(x.t, [outer, shape[axis]! * inner]);
    let start = 0;
    return parts.map((size) => {
      const piece = tf.slice(flat, [0, start * inner], [outer, size * inner]);
      start += size;
      const s = [...shape];
      s[axis] = size;
      return new RtTensor(tf.reshape(piece, s), x.nhwc);
    });
  }

  view(x: RtTensor, shape: readonly number[]): RtTensor {
    const total = numel(x.shape);
    const known = shape.filter((v) => v !== -1).reduce((a, b) => a * b, 1);
    if (shape.filter((v) => v === -1).length > 1) throw new ShapeError('only one dimension can be inferred');
    const out = shape.map((v) => (v === -1 ? total / known : v));
    if (out.some((v) => !Number.isInteger(v) || v < 0) || numel(out) !== total)
      throw new ShapeError(`shape '${fmt(shape)}' is invalid for input of size ${total}`);
    const y = tf.reshape(this.nchw(x), out);
    const s = x.shape;
    // [n, c, h, w] → [n, a, b, h, w]: a YOLOv5 head's view, which its permute follows (see there)
    if (x.nhwc && out.length > 4 && out[0] === s[0] && out[out.length - 2] === s[2] && out[out.length - 1] === s[3])
      this.channelSplits.set(y, { source: x.t as tf.Tensor4D, split: out.slice(1, -2) });
    return this.plain(y);
  }

  /**
   * Views of an NHWC map that split its channels, with the map: a permute of such a view that moves the last split
   * axis last (YOLOv5's `view(bs, na, no, ny, nx).permute(0, 1, 3, 4, 2)`) is read from the NHWC map, where it moves
   * whole rows ([1, 160, 160, 3, 85] → [1, 3, 160, 160, 85]: 14-16 ms on wasm at 1 thread), instead of element by
   * element from the NCHW view (25 ms).
   */
  private readonly channelSplits = new WeakMap<tf.Tensor, { source: tf.Tensor4D; split: number[] }>();

  permute(x: RtTensor, dims: readonly number[]): RtTensor {
    if (dims.length !== x.rank)
      throw new ShapeError(
        `permute: number of dimensions in the tensor input does not match the length of the desired ordering of ` +
          `dimensions i.e. input.dim() = ${x.rank} is not equal to len(dims) = ${dims.length}`,
      );
    const perm = dims.map((d) => normDim(d, x.rank));
    const split = x.nhwc ? undefined : this.channelSplits.get(x.t);
    const k = split?.split.length ?? 0;
    if (split && !split.source.isDisposed && perm[perm.length - 1] === k) {
      // logical [n, ...split, h, w] from the map viewed as [n, h, w, ...split], whose last axis stays last
      const [n, h, w] = split.source.shape;
      const axis = (d: number) => (d === 0 ? 0 : d <= k ? d + 2 : d - k);
      // in its own scope: the reshaped handle of the map goes at once (tf.memory() counts its bytes again)
      return this.scoped(() => this.plain(tf.transpose(tf.reshape(split.source, [n, h, w, ...split.split]), perm.map(axis))));
    }
    if (x.nhwc) {
      // compose with the NHWC → NCHW view instead of materialising NCHW first
      return this.plain(
        tf.transpose(
          x.t,
          perm.map((d) => NHWC_AXIS[d]!),
        ),
      );
    }
    return this.plain(tf.transpose(x.t, perm));
  }

  transpose(x: RtTensor, d0: number, d1: number): RtTensor {
    const a = normDim(d0, x.rank);
    const b = normDim(d1, x.rank);
    const perm = x.shape.map((_, i) => i);
    perm[a] = b;
    perm[b] = a;
    return this.permute(x, perm);
  }

  flatten(x: RtTensor, start: number, end = -1): RtTensor {
    const s = x.shape;
    if (s.length === 0) return this.plain(tf.reshape(x.t, [1]));
    const a = normDim(start, s.length);
    const b = normDim(end, s.length);
    return this.plain(tf.reshape(this.nchw(x), [...s.slice(0, a), numel(s.slice(a, b + 1)), ...s.slice(b + 1)]));
  }

  unsqueeze(x: RtTensor, dim: number): RtTensor {
    const d = normDim(dim, x.rank + 1);
    return this.plain(tf.expandDims(this.nchw(x), d));
  }

  sigmoid(x: RtTensor): RtTensor {
    return new RtTensor(tf.sigmoid(x.t), x.nhwc);
  }
  relu(x: RtTensor): RtTensor {
    return new RtTensor(tf.relu(x.t), x.nhwc);
  }
  softmax(x: RtTensor, dim: number): RtTensor {
    return this.scoped(() => {
      const d = normDim(dim, x.rank);
      const axis = x.nhwc ? NHWC_AXIS[d]! : d;
      const last = x.rank - 1;
      if (axis === last) return new RtTensor(tf.softmax(x.t, -1), x.nhwc);
      // over the channels of a plain 4-D map (the DFL's softmax over its bins, then a 1x1 conv): into NHWC, where
      // the channels are the last axis, and the result stays NHWC for the conv, saving the transpose back and the
      // conv's transpose in
      if (this.keepNhwc && !x.nhwc && x.rank === 4 && d === 1) return new RtTensor(tf.softmax(this.nhwc(x, 'softmax'), -1), true);
      // tfjs's softmax runs on the last axis only: move the axis there and back
      const perm = x.t.shape.map((_, i) => i);
      perm[axis] = last;
      perm[last] = axis;
      return new RtTensor(tf.transpose(tf.softmax(tf.transpose(x.t, perm), -1), perm), x.nhwc);
    });
  }

  matmul(a: RtTensor, b: RtTensor): RtTensor {
    const ta = this.nchw(a);
    const tb = this.nchw(b);
    if (ta.rank < 2 || tb.rank < 2) throw new ShapeError('matmul of 1-D tensors is not used here');
    const sa = ta.shape;
    const sb = tb.shape;
    if (sa[sa.length - 1] !== sb[sb.length - 2])
      throw new ShapeError(
        `mat1 and mat2 shapes cannot be multiplied (${sa[sa.length - 2]}x${sa[sa.length - 1]} and ` +
          `${sb[sb.length - 2]}x${sb[sb.length - 1]})`,
      );
    // tfjs broadcasts batch dims only between equal ranks: lift the lower-rank operand first
    const lift = (t: tf.Tensor, r: number) => (t.rank < r ? tf.reshape(t, [...new Array<number>(r - t.rank).fill(1), ...t.shape]) : t);
    const r = Math.max(ta.rank, tb.rank);
    return this.plain(matMul(lift(ta, r), lift(tb, r)));
  }

  maxDim(x: RtTensor, dim: number, keepdim: boolean): RtTensor {
    const d = normDim(dim, x.rank);
    if (x.nhwc && keepdim) return new RtTensor(tf.max(x.t, NHWC_AXIS[d]!, true), true);
    return this.plain(tf.max(this.nchw(x), d, keepdim));
  }

  mean(x: RtTensor, dims: readonly number[], keepdim: boolean): RtTensor {
    const ds = dims.map((d) => normDim(d, x.rank));
    if (x.nhwc && keepdim)
      return new RtTensor(
        tf.mean(
          x.t,
          ds.map((d) => NHWC_AXIS[d]!),
          true,
        ),
        true,
      );
    return this.plain(tf.mean(this.nchw(x), ds, keepdim));
  }

  expand(x: RtTensor, shape: readonly number[]): RtTensor {
    const t = this.nchw(x);
    const off = shape.length - t.rank;
    if (off < 0) throw new ShapeError('expand: the number of sizes provided must be greater or equal to the number of dimensions');
    const target = shape.map((v, i) => (v === -1 ? (i - off >= 0 ? t.shape[i - off]! : 1) : v));
    const lifted = off > 0 ? tf.reshape(t, [...new Array<number>(off).fill(1), ...t.shape]) : t;
    for (let i = 0; i < target.length; i++) {
      const src = lifted.shape[i]!;
      if (src !== 1 && src !== target[i])
        throw new ShapeError(
          `The expanded size of the tensor (${target[i]}) must match the existing size (${src}) at non-singleton dimension ${i}`,
        );
    }
    // torch's expand is a view; here a copy. tfjs-wasm's Tile is a JavaScript loop (2 ms for a head's [1, 300, 80]
    // top-k index): a float broadcasts through a native multiply by ones, an int index is written out here
    if (lifted.dtype === 'float32') return this.plain(tf.mul(lifted, tf.ones(target)));
    const idx = lifted.dataSync();
    const out = new Int32Array(numel(target));
    const srcStrides = lifted.shape.map((v, i) => (v === 1 ? 0 : numel(lifted.shape.slice(i + 1))));
    const coord = new Array<number>(target.length).fill(0);
    for (let o = 0; o < out.length; o++) {
      let at = 0;
      for (let i = 0; i < coord.length; i++) at += coord[i]! * srcStrides[i]!;
      out[o] = Number(idx[at]);
      for (let i = coord.length - 1; i >= 0; i--) {
        if (++coord[i]! < target[i]!) break;
        coord[i] = 0;
      }
    }
    return this.plain(tf.tensor(out, target, 'int32'));
  }

  constant(shape: readonly number[], fill: (index: number) => number): RtTensor {
    const cached = this.constants.get(this.layerParams) ?? [];
    this.constants.set(this.layerParams, cached);
    const k = this.constantIndex++;
    const hit = cached[k];
    if (hit && !hit.isDisposed && hit.shape.length === shape.length && hit.shape.every((v, i) => v === shape[i])) return this.plain(hit);
    hit?.dispose();
    const n = numel(shape);
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = fill(i);
    // kept: the module's scope must not free it; dispose() does
    cached[k] = tf.keep(tf.tensor(data, [...shape]));
    return this.plain(cached[k]);
  }

  /** Frees the cached constants (the engine calls it when the network is freed). */
  dispose(): void {
    for (const ts of this.constants.values()) for (const t of ts) if (!t.isDisposed) t.dispose();
    this.constants.clear();
  }

  interpolate(x: RtTensor, size: readonly [number, number] | null, scale: number | null, mode: UpsampleMode): RtTensor {
    return this.resize(x, size, scale == null ? null : [scale, scale], mode, null);
  }

  pad(x: RtTensor, pad: readonly [number, number, number, number], value: number): RtTensor {
    const [l, r, t, b] = pad;
    if (x.rank !== 4) {
      const tt = this.nchw(x);
      const rank = tt.rank;
      const widths: [number, number][] = tt.shape.map(() => [0, 0]);
      widths[rank - 1] = [l, r];
      if (rank >= 2) widths[rank - 2] = [t, b];
      return this.plain(tf.pad(tt, widths, value));
    }
    let xh = this.nhwc(x, 'pad');
    // negative padding crops, as in torch
    const crop = [Math.max(0, -t), Math.max(0, -l)];
    if (t < 0 || b < 0 || l < 0 || r < 0) {
      const [, h, w] = xh.shape;
      xh = tf.slice(xh, [0, crop[0]!, crop[1]!, 0], [-1, h - crop[0]! - Math.max(0, -b), w - crop[1]! - Math.max(0, -r), -1]);
    }
    return this.fromNhwc(
      tf.pad(
        xh,
        [
          [0, 0],
          [Math.max(0, t), Math.max(0, b)],
          [Math.max(0, l), Math.max(0, r)],
          [0, 0],
        ],
        value,
      ),
    );
  }

  maxPool(x: RtTensor, k: number, s: number, p: number): RtTensor {
    return this.pool2d('max', x, [k, k], [s, s], [p, p], [1, 1], false, true);
  }

  einsum(eq: string, ...xs: RtTensor[]): RtTensor {
    return this.scoped(() => {
      return this.plain(
        einsum(
          eq,
          xs.map((x) => this.nchw(x)),
        ),
      );
    });
  }

  slice(x: RtTensor, dim: number, start: number, end: number, step = 1): RtTensor {
    const d = normDim(dim, x.rank);
    const n = x.shape[d]!;
    const s = Math.max(0, Math.min(n, start < 0 ? n + start : start));
    const e = Math.max(s, Math.min(n, end < 0 ? n + end : end));
    const axis = x.nhwc ? NHWC_AXIS[d]! : d;
    // as columns of a 2-D view (see split)
    const shape = x.t.shape;
    const outer = shape.slice(0, axis).reduce((a, b) => a * b, 1);
    const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
    const out = [...shape];
    out[axis] = Math.ceil((e - s) / step);
    if (step === 1)
      return new RtTensor(
        tf.reshape(tf.slice(tf.reshape(x.t, [outer, shape[axis]! * inner]), [0, s * inner], [outer, (e - s) * inner]), out),
        x.nhwc,
      );
    const t3 = tf.reshape(x.t, [outer, shape[axis]!, inner]);
    return new RtTensor(tf.reshape(tf.stridedSlice(t3, [0, s, 0], [outer, e, inner], [1, step, 1]), out), x.nhwc);
  }

  param(m: Mod, name: string): RtTensor {
    const p = this.params.get(m);
    if (p?.kind === 'own' && p.tensors[name]) return this.plain(p.tensors[name]!);
    if (p?.kind === 'embedding' && name === 'weight') return this.plain(p.weight);
    throw new ShapeError(`'${m.type}' object has no parameter '${name}'`);
  }

  private unary(x: RtTensor, f: (t: tf.Tensor) => tf.Tensor): RtTensor {
    return new RtTensor(f(x.t), x.nhwc);
  }
  exp(x: RtTensor): RtTensor {
    return this.unary(x, tf.exp);
  }
  log(x: RtTensor): RtTensor {
    return this.unary(x, tf.log);
  }
  sqrt(x: RtTensor): RtTensor {
    return this.unary(x, tf.sqrt);
  }
  sin(x: RtTensor): RtTensor {
    return this.unary(x, tf.sin);
  }
  cos(x: RtTensor): RtTensor {
    return this.unary(x, tf.cos);
  }
  clamp(x: RtTensor, min: number | null, max: number | null): RtTensor {
    return this.unary(x, (t) => tf.clipByValue(t, min ?? -Infinity, max ?? Infinity));
  }
  sum(x: RtTensor, dims: readonly number[], keepdim: boolean): RtTensor {
    const ds = dims.map((d) => normDim(d, x.rank));
    if (x.nhwc && keepdim)
      return new RtTensor(
        tf.sum(
          x.t,
          ds.map((d) => NHWC_AXIS[d]!),
          true,
        ),
        true,
      );
    return this.plain(tf.sum(this.nchw(x), ds, keepdim));
  }

  avgPool(x: RtTensor, k: number, s: number, p: number, ceil: boolean, countIncludePad: boolean): RtTensor {
    if (p > k / 2) throw new ShapeError(`pad should be at most half of kernel size, but got pad=${p} and kernel_size=${k}`);
    return this.pool2d('avg', x, [k, k], [s, s], [p, p], [1, 1], ceil, countIncludePad);
  }

  topk(x: RtTensor, k: number, dim: number, largest = true): [RtTensor, RtTensor] {
    return this.scoped(() => {
      const t = this.nchw(x);
      const d = normDim(dim, t.rank);
      const n = t.shape[d]!;
      if (!Number.isInteger(k) || k < 0 || k > n)
        throw new ShapeError(`selected index k out of range (topk k=${k} on a dimension of size ${n})`);
      // tfjs's topk runs on the last axis: move `dim` there and back
      const last = t.rank - 1;
      const perm = t.shape.map((_, i) => i);
      perm[d] = last;
      perm[last] = d;
      const moved = d === last ? t : tf.transpose(t, perm);
      const r = tf.topk(largest ? moved : tf.neg(moved), k, true);
      const values = largest ? r.values : tf.neg(r.values);
      const back = (y: tf.Tensor) => (d === last ? y : tf.transpose(y, perm));
      return [this.plain(back(values)), this.plain(back(r.indices))];
    });
  }

  gather(x: RtTensor, dim: number, index: RtTensor): RtTensor {
    return this.scoped(() => {
      // torch.gather: out[i..] = x[i.. with dim replaced by index[i..]]. Written out over the values: the index of
      // a head's top-k is small (k rows), while tfjs's gather of linear offsets took ~10 kernels and 12 ms on wasm
      const t = this.nchw(x);
      const idxT = this.nchw(index);
      const d = normDim(dim, t.rank);
      if (idxT.rank !== t.rank)
        throw new ShapeError(`Index tensor must have the same number of dimensions as input tensor (${idxT.rank} vs ${t.rank})`);
      for (let i = 0; i < t.rank; i++)
        if (i !== d && idxT.shape[i]! > t.shape[i]!)
          throw new ShapeError(
            `Size does not match at dimension ${i} expected index ${fmt(idxT.shape)} to be smaller than self ` +
              `${fmt(t.shape)} apart from dimension ${d}`,
          );
      // the index first: the heap view of the values must be taken after the last read
      const idx = idxT.dataSync();
      const values = valuesOf(t);
      const n = t.shape[d]!;
      const xStrides = t.shape.map((_, i) => numel(t.shape.slice(i + 1)));
      const iShape = idxT.shape;
      const out = t.dtype === 'int32' ? new Int32Array(idx.length) : new Float32Array(idx.length);
      const coord = new Array<number>(iShape.length).fill(0);
      for (let o = 0; o < idx.length; o++) {
        const j = Number(idx[o]);
        if (!(j >= -n && j < n)) throw new ShapeError(`index ${j} is out of bounds for dimension ${d} with size ${n}`);
        let at = 0;
        for (let i = 0; i < coord.length; i++) at += (i === d ? (j < 0 ? j + n : j) : coord[i]!) * xStrides[i]!;
        out[o] = values[at]!;
        // the next coordinate of the index tensor (row-major odometer)
        for (let i = coord.length - 1; i >= 0; i--) {
          if (++coord[i]! < iShape[i]!) break;
          coord[i] = 0;
        }
      }
      return this.plain(tf.tensor(out, [...iShape], t.dtype === 'int32' ? 'int32' : 'float32'));
    });
  }

  floorDiv(x: RtTensor, d: number): RtTensor {
    return this.unary(x, (t) => (t.dtype === 'int32' ? tf.floorDiv(t, tf.scalar(d, 'int32')) : tf.floor(tf.div(t, d))));
  }
  remainder(x: RtTensor, d: number): RtTensor {
    return this.unary(x, (t) => tf.mod(t, tf.scalar(d, t.dtype === 'int32' ? 'int32' : 'float32')));
  }
  toFloat(x: RtTensor): RtTensor {
    return this.unary(x, (t) => tf.cast(t, 'float32'));
  }

  gridSample(
    x: RtTensor,
    grid: RtTensor,
    mode: 'bilinear' | 'nearest',
    paddingMode: 'zeros' | 'border' | 'reflection',
    alignCorners: boolean,
  ): RtTensor {
    return this.scoped(() => {
      const [n, c, h, w] = x.shape as [number, number, number, number];
      const g = this.nchw(grid);
      if (g.rank !== 4 || g.shape[0] !== n || g.shape[3] !== 2)
        throw new ShapeError(`grid_sample(): expected grid [${n}, H, W, 2], got [${g.shape.join(', ')}]`);
      if (paddingMode === 'reflection') throw new ShapeError("grid_sample padding_mode='reflection' is not supported by the tfjs runtime");
      const [, ho, wo] = g.shape as [number, number, number, number];
      const [gx, gy] = [tf.slice(g, [0, 0, 0, 0], [-1, -1, -1, 1]), tf.slice(g, [0, 0, 0, 1], [-1, -1, -1, 1])];
      // torch's unnormalisation: [-1, 1] to pixel coordinates
      const unnorm = (v: tf.Tensor, size: number) =>
        alignCorners ? tf.mul(tf.add(v, 1), (size - 1) / 2) : tf.div(tf.sub(tf.mul(tf.add(v, 1), size), 1), 2);
      let ix = unnorm(gx!, w);
      let iy = unnorm(gy!, h);
      if (paddingMode === 'border') {
        ix = tf.clipByValue(ix, 0, w - 1);
        iy = tf.clipByValue(iy, 0, h - 1);
      }
      const flat = tf.reshape(this.nhwc(x, 'grid_sample'), [n * h * w, c]);
      const batch = tf.reshape(tf.mul(tf.range(0, n, 1, 'int32'), tf.scalar(h * w, 'int32')), [n, 1, 1, 1]);
      // one corner: its value times its weight, zero outside the map
      const corner = (cx: tf.Tensor, cy: tf.Tensor, weight: tf.Tensor) => {
        const inside = tf.logicalAnd(
          tf.logicalAnd(tf.greaterEqual(cx, 0), tf.lessEqual(cx, w - 1)),
          tf.logicalAnd(tf.greaterEqual(cy, 0), tf.lessEqual(cy, h - 1)),
        );
        const xi = tf.cast(tf.clipByValue(cx, 0, w - 1), 'int32');
        const yi = tf.cast(tf.clipByValue(cy, 0, h - 1), 'int32');
        const at = tf.add(batch, tf.add(tf.mul(yi, tf.scalar(w, 'int32')), xi));
        const v = tf.reshape(tf.gather(flat, tf.reshape(at, [-1])), [n, ho, wo, c]);
        return tf.mul(v, tf.mul(weight, tf.cast(inside, 'float32')));
      };
      let y: tf.Tensor;
      if (mode === 'nearest') {
        // torch rounds half to even (nearbyint)
        y = corner(tf.round(ix), tf.round(iy), tf.onesLike(ix));
      } else {
        const x0 = tf.floor(ix);
        const y0 = tf.floor(iy);
        const x1 = tf.add(x0, 1);
        const y1 = tf.add(y0, 1);
        const wx1 = tf.sub(ix, x0);
        const wy1 = tf.sub(iy, y0);
        const wx0 = tf.sub(1, wx1);
        const wy0 = tf.sub(1, wy1);
        y = tf.addN([
          corner(x0, y0, tf.mul(wx0, wy0)),
          corner(x1, y0, tf.mul(wx1, wy0)),
          corner(x0, y1, tf.mul(wx0, wy1)),
          corner(x1, y1, tf.mul(wx1, wy1)),
        ]);
      }
      return this.fromNhwc(y);
    });
  }
}

/** Products smaller than this (multiply-adds per batch item) stay on tfjs's matMul: a convolution call costs more. */
const CONV_MATMUL_MIN_MACS = 16_384;
/**
 * Products of fewer rows than this stay on matMul too: the convolution holds a copy of its filter while it runs (a
 * classifier's 1280×1000 Linear: 5 MB more at its peak for one row), and a few rows gain nothing from it.
 */
const CONV_MATMUL_MIN_ROWS = 16;
/** Batches of more items than this stay on matMul too (one convolution per item). */
const CONV_MATMUL_MAX_ITEMS = 64;

/**
 * `tf.matMul(a, b, transposeA, transposeB)` for tensors of equal rank ≥ 2. tfjs-backend-wasm's BatchMatMul is a plain
 * loop, 10-20× slower than its XNNPACK convolutions (an attention map of 400 tokens: 12 ms against 1.1 ms): a product
 * A·B is a 1×1 convolution with A's rows as pixels, its columns as channels and B as the filter, so on wasm it runs
 * as one, per batch item (one convolution for all rows when B has no batch).
 */
export function matMul(a: tf.Tensor, b: tf.Tensor, transposeA = false, transposeB = false): tf.Tensor {
  const r = a.rank;
  if (tf.getBackend() !== 'wasm' || r < 2 || b.rank !== r) return tf.matMul(a, b, transposeA, transposeB);
  const [m, k] = transposeA ? [a.shape[r - 1]!, a.shape[r - 2]!] : [a.shape[r - 2]!, a.shape[r - 1]!];
  const n = transposeB ? b.shape[r - 2]! : b.shape[r - 1]!;
  const batchA = a.shape.slice(0, -2);
  const batchB = b.shape.slice(0, -2);
  const itemsA = numel(batchA);
  const itemsB = numel(batchB);
  const sameBatch = batchA.every((v, i) => v === batchB[i]);
  if (m * k * n < CONV_MATMUL_MIN_MACS || m < CONV_MATMUL_MIN_ROWS || (!sameBatch && itemsB !== 1) || itemsB > CONV_MATMUL_MAX_ITEMS)
    return tf.matMul(a, b, transposeA, transposeB);
  const rows = transposeA ? swapLast(a) : a; // [..., m, k]
  const filters = transposeB ? swapLast(b) : b; // [..., k, n]
  const out = [...batchA, m, n];
  if (itemsB === 1)
    return tf.reshape(
      tf.conv2d(tf.reshape(rows, [1, 1, itemsA * m, k]) as tf.Tensor4D, tf.reshape(filters, [1, 1, k, n]) as tf.Tensor4D, 1, 'valid'),
      out,
    );
  // one convolution per item, each packing its own filter: with fewer rows than columns (an attention's v·attnᵀ, 32
  // rows against 400) the transposed product Cᵀ = Bᵀ·Aᵀ packs the smaller operand (1.6× faster on [8, 32, 400] ·
  // [8, 400, 400], transposes included)
  if (m < n) {
    const rowsT = transposeB ? b : swapLast(b); // [..., n, k]
    const filtersT = transposeA ? a : swapLast(a); // [..., k, m]
    return swapLast(tf.reshape(perItem(rowsT, filtersT, itemsA, n, k, m), [...batchA, n, m]));
  }
  return tf.reshape(perItem(rows, filters, itemsA, m, k, n), out);
}

/** Item i of `rows` [items, m, k] times item i of `filters` [items, k, n], each as a 1×1 convolution: [items, m, n]. */
function perItem(rows: tf.Tensor, filters: tf.Tensor, items: number, m: number, k: number, n: number): tf.Tensor {
  // items by tf.slice (the in-place Slice of backend.ts; wasm's SplitV copies its whole input out per piece)
  const as = tf.reshape(rows, [items, 1, m, k]);
  const bs = tf.reshape(filters, [items, k, n]);
  return tf.concat(
    Array.from({ length: items }, (_, i) =>
      tf.conv2d(
        tf.slice(as, [i, 0, 0, 0], [1, 1, m, k]) as tf.Tensor4D,
        tf.reshape(tf.slice(bs, [i, 0, 0], [1, k, n]), [1, 1, k, n]) as tf.Tensor4D,
        1,
        'valid',
      ),
    ),
    0,
  );
}

/** The transpose of the last two dims. */
const swapLast = (t: tf.Tensor): tf.Tensor => tf.transpose(t, [...t.shape.slice(0, -2).map((_, i) => i), t.rank - 1, t.rank - 2]);

/** Row-major [outSize, inSize] weights of torch's 1-D interpolation (nearest, nearest-exact, bilinear, bicubic). */
export function interpMatrix(
  inSize: number,
  outSize: number,
  mode: 'nearest' | 'nearest-exact' | 'bilinear' | 'bicubic',
  alignCorners: boolean,
  ratio: number,
): Float32Array {
  const m = new Float32Array(outSize * inSize);
  const add = (o: number, i: number, v: number) => (m[o * inSize + Math.min(Math.max(i, 0), inSize - 1)]! += v);
  const scale = alignCorners ? (outSize > 1 ? (inSize - 1) / (outSize - 1) : 0) : ratio;
  for (let o = 0; o < outSize; o++) {
    if (mode === 'nearest' || mode === 'nearest-exact') {
      const src = Math.floor((mode === 'nearest' ? o : o + 0.5) * ratio);
      add(o, Math.min(src, inSize - 1), 1);
    } else if (mode === 'bilinear') {
      const real = alignCorners ? o * scale : Math.max(scale * (o + 0.5) - 0.5, 0);
      const i0 = Math.floor(real);
      const i1 = i0 + (i0 < inSize - 1 ? 1 : 0);
      const l1 = real - i0;
      add(o, i0, 1 - l1);
      add(o, i1, l1);
    } else {
      const A = -0.75;
      const real = alignCorners ? o * scale : scale * (o + 0.5) - 0.5;
      const i0 = Math.floor(real);
      const t = real - i0;
      const near = (x: number) => ((A + 2) * x - (A + 3)) * x * x + 1;
      const far = (x: number) => ((A * x - 5 * A) * x + 8 * A) * x - 4 * A;
      [far(t + 1), near(t), near(1 - t), far(2 - t)].forEach((v, k) => add(o, i0 - 1 + k, v));
    }
  }
  return m;
}

/**
 * einsum over two (or one) operands as a batched matmul: tfjs has an Einsum kernel on its CPU backend only.
 * Letters are sorted into batch (both operands and the output), contracted (both, not the output) and free.
 */
export function einsum(eq: string, ts: readonly tf.Tensor[]): tf.Tensor {
  const [lhs, rhs0] = eq.replace(/\s/g, '').split('->') as [string, string | undefined];
  const terms = lhs.split(',');
  if (terms.length !== ts.length) throw new ShapeError(`einsum(): ${terms.length} operands in the equation, ${ts.length} given`);
  const all = terms.join('');
  const rhs =
    rhs0 ??
    [...new Set(all)]
      .filter((c) => all.split(c).length === 2)
      .sort()
      .join('');
  const size = new Map<string, number>();
  terms.forEach((t, i) => {
    if (t.length !== ts[i]!.rank)
      throw new ShapeError(
        `einsum(): the number of subscripts in the equation (${t.length}) does not match the number of dimensions ` +
          `(${ts[i]!.rank}) for operand ${i}`,
      );
    [...t].forEach((c, j) => size.set(c, Math.max(size.get(c) ?? 1, ts[i]!.shape[j]!)));
  });
  // sum away letters found only in one operand and not in the output
  const reduceAlone = (t: tf.Tensor, term: string, other: string): [tf.Tensor, string] => {
    const drop = [...term].map((c, i) => (!rhs.includes(c) && !other.includes(c) ? i : -1)).filter((i) => i >= 0);
    if (!drop.length) return [t, term];
    return [tf.sum(t, drop), [...term].filter((_, i) => !drop.includes(i)).join('')];
  };
  if (terms.length === 1) {
    const [t, term] = reduceAlone(ts[0]!, terms[0]!, '');
    return tf.transpose(
      t,
      [...rhs].map((c) => term.indexOf(c)),
    );
  }
  if (terms.length !== 2) throw new ShapeError('einsum with more than two operands is not supported by the tfjs runtime');
  let [a, ta] = reduceAlone(ts[0]!, terms[0]!, terms[1]!);
  let [b, tb] = reduceAlone(ts[1]!, terms[1]!, terms[0]!);
  const batch = [...ta].filter((c) => tb.includes(c) && rhs.includes(c));
  const contr = [...ta].filter((c) => tb.includes(c) && !rhs.includes(c));
  const freeA = [...ta].filter((c) => !tb.includes(c));
  const freeB = [...tb].filter((c) => !ta.includes(c));
  const prod = (cs: string[]) => cs.reduce((p, c) => p * size.get(c)!, 1);
  const bcast = (t: tf.Tensor, term: string) => {
    // broadcast size-1 batch dims up to the other operand's
    const target = [...term].map((c) => (batch.includes(c) ? size.get(c)! : t.shape[term.indexOf(c)]!));
    return target.some((v, i) => v !== t.shape[i])
      ? tf.tile(
          t,
          target.map((v, i) => (t.shape[i] === v ? 1 : v)),
        )
      : t;
  };
  a = bcast(
    tf.transpose(
      a,
      [...batch, ...freeA, ...contr].map((c) => ta.indexOf(c)),
    ),
    (ta = [...batch, ...freeA, ...contr].join('')),
  );
  b = bcast(
    tf.transpose(
      b,
      [...batch, ...contr, ...freeB].map((c) => tb.indexOf(c)),
    ),
    (tb = [...batch, ...contr, ...freeB].join('')),
  );
  const m = matMul(tf.reshape(a, [prod(batch), prod(freeA), prod(contr)]), tf.reshape(b, [prod(batch), prod(contr), prod(freeB)]));
  const order = [...batch, ...freeA, ...freeB];
  const y = tf.reshape(
    m,
    order.map((c) => size.get(c)!),
  );
  return tf.transpose(
    y,
    [...rhs].map((c) => order.indexOf(c)),
  );
}
