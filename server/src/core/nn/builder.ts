/**
 * Construction of module trees: the torch layer constructors (with the checks torch makes when it builds them)
 * and the small vocabulary catalog definitions compose them with.
 */
import {
  buildError,
  type OwnParam,
  type OwnBuffer,
  type ActFn,
  type Flow,
  type Forward,
  type In,
  type LeafOp,
  type Mod,
  type Out,
  leafParams,
  type UpsampleMode,
} from './module.ts';
import { PyFloat, PyObj, PyTuple, type PyVal, isNumeric, num, pyRepr, seqItems, isSeq } from '../py.ts';

export interface BuildEnv {
  /** build the deployed form: BatchNorm folded into the preceding conv (`model.fuse()` upstream). */
  readonly fused: boolean;
  /** the activation instance shared by every Conv (`Conv.default_act`), or null where each Conv makes its own. */
  readonly convDefaultAct: Mod | null;
  /**
   * the framework's `fuse_conv_and_bn` returns the conv with requires_grad False (ultralytics 8.4), so a fused build
   * marks those parameters frozen; absent or false where the fused weights still require grad (8.3, YOLOv5).
   */
  readonly fuseFreezes?: boolean;
}

const mod = (type: string, extra: Partial<Mod> & { leaf?: LeafOp }): Mod => ({
  type,
  children: [],
  ownParams: extra.leaf ? leafParams(extra.leaf) : 0,
  frozenParams: 0,
  ...extra,
});

/** Python int check for a constructor argument that torch requires to be an int (bool is an int in Python). */
export function asInt(v: PyVal | undefined, what: string, param?: string): number {
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  // undefined: an item a builder read past the end of a list the YAML gave (e.g. output_size: [])
  throw buildError(v === undefined ? `${what} is missing` : `${what} must be an int, got ${pyRepr(v)}`, param);
}

/** torch's `_pair`: an int or a 2-sequence of ints. */
export function asPair(v: PyVal, what: string, param?: string): [number, number] {
  if (isSeq(v)) {
    const items = seqItems(v);
    if (items.length === 1) {
      const a = asInt(items[0]!, what, param);
      return [a, a];
    }
    if (items.length !== 2) throw buildError(`${what} must be an int or a pair of ints, got ${pyRepr(v)}`, param);
    return [asInt(items[0]!, what, param), asInt(items[1]!, what, param)];
  }
  const a = asInt(v, what, param);
  return [a, a];
}

function checkChannels(c: number, what: string, param?: string): void {
  if (!Number.isFinite(c)) throw buildError(`${what} is not a finite number (${c})`, param);
  if (c < 0) throw buildError(`Trying to create tensor with negative dimension ${c}: ${what}`, param);
  if (c > 1 << 24) throw buildError(`${what} = ${c} is beyond any buildable layer`, param);
}

export interface ConvOpts {
  s?: number | [number, number];
  p?: number | [number, number];
  d?: number | [number, number];
  g?: number;
  bias?: boolean;
}

const pair = (v: number | [number, number]): [number, number] => (typeof v === 'number' ? [v, v] : v);

/** What torch's _ConvNd constructor checks, for Conv2d and ConvTranspose2d alike. */
function convChecks(cin: number, cout: number, k: number | [number, number], o: ConvOpts, param?: string) {
  const g = o.g ?? 1;
  checkChannels(cin, 'in_channels', param);
  checkChannels(cout, 'out_channels', param);
  if (!Number.isInteger(g) || g <= 0) throw buildError(`groups must be a positive integer, got ${g}`, param);
  if (cin % g !== 0) throw buildError(`in_channels must be divisible by groups (${cin} % ${g})`, param);
  if (cout % g !== 0) throw buildError(`out_channels must be divisible by groups (${cout} % ${g})`, param);
  const kk = pair(k);
  if (kk[0] <= 0 || kk[1] <= 0) throw buildError(`kernel size should be greater than zero, got ${kk.join('x')}`, param);
  const s = pair(o.s ?? 1);
  if (s[0] <= 0 || s[1] <= 0) throw buildError(`stride should be greater than zero, got ${s.join('x')}`, param);
  return { g, k: kk, s, p: pair(o.p ?? 0) };
}

/** Every builder shares this vocabulary; definitions receive it as `b`. */
export class Builder {
  constructor(readonly env: BuildEnv) {}

  get fused(): boolean {
    return this.env.fused;
  }

  conv2d(cin: number, cout: number, k: number | [number, number], o: ConvOpts = {}, param?: string): Mod {
    const c = convChecks(cin, cout, k, o, param);
    const d = pair(o.d ?? 1);
    if (c.p[0] < 0 || c.p[1] < 0) throw buildError(`negative padding is not supported, got ${c.p.join('x')}`, param);
    if (d[0] <= 0 || d[1] <= 0) throw buildError(`dilation should be greater than zero, got ${d.join('x')}`, param);
    return mod('Conv2d', { leaf: { op: 'conv2d', cin, cout, k: c.k, s: c.s, p: c.p, d, g: c.g, bias: o.bias ?? true } });
  }

  convTranspose2d(
    cin: number,
    cout: number,
    k: number | [number, number],
    o: ConvOpts & { outputPadding?: number | [number, number] } = {},
    param?: string,
  ): Mod {
    const c = convChecks(cin, cout, k, o, param);
    const outputPadding = pair(o.outputPadding ?? 0);
    const d = pair(o.d ?? 1);
    return mod('ConvTranspose2d', {
      leaf: { op: 'convTranspose2d', cin, cout, k: c.k, s: c.s, p: c.p, outputPadding, d, g: c.g, bias: o.bias ?? true },
    });
  }

  bn(c: number, eps = 1e-5, param?: string): Mod {
    checkChannels(c, 'num_features', param);
    return mod('BatchNorm2d', { leaf: { op: 'batchNorm2d', c, eps, affine: true } });
  }

  layerNorm(shape: number | number[], eps = 1e-5): Mod {
    const s = typeof shape === 'number' ? [shape] : shape;
    return mod('LayerNorm', { leaf: { op: 'layerNorm', shape: s, eps, affine: true } });
  }

  groupNorm(groups: number, c: number, eps = 1e-5): Mod {
    if (c % groups !== 0) throw buildError(`num_channels must be divisible by num_groups (${c} % ${groups})`);
    return mod('GroupNorm', { leaf: { op: 'groupNorm', groups, c, eps, affine: true } });
  }

  act(fn: ActFn, opts: { slope?: number; approximate?: string; c?: number } = {}): Mod {
    return mod(fn, { leaf: { op: 'act', fn, ...opts } });
  }

  identity(): Mod {
    return mod('Identity', { leaf: { op: 'identity' } });
  }

  dropout(p = 0.5, type = 'Dropout'): Mod {
    return mod(type, { leaf: { op: 'dropout', p } });
  }

  maxPool2d(
    k: number | [number, number],
    s?: number | [number, number] | null,
    p: number | [number, number] = 0,
    d: number | [number, number] = 1,
    ceil = false,
    param?: string,
  ): Mod {
    const kk = pair(k);
    if (kk[0] <= 0 || kk[1] <= 0) throw buildError(`kernel_size should be greater than zero, got ${kk.join('x')}`, param);
    const ss = s == null ? kk : pair(s);
    if (ss[0] <= 0 || ss[1] <= 0) throw buildError(`stride should be greater than zero, got ${ss.join('x')}`, param);
    const pp = pair(p);
    if (pp[0] > kk[0] / 2 || pp[1] > kk[1] / 2 || pp[0] < 0 || pp[1] < 0)
      throw buildError(`pad should be at most half of effective kernel size, but got pad=${pp[0]}, kernel_size=${kk[0]}`, param);
    return mod('MaxPool2d', { leaf: { op: 'maxPool2d', k: kk, s: ss, p: pp, d: pair(d), ceil } });
  }

  avgPool2d(
    k: number | [number, number],
    s?: number | [number, number] | null,
    p: number | [number, number] = 0,
    ceil = false,
    countIncludePad = true,
  ): Mod {
    const kk = pair(k);
    return mod('AvgPool2d', { leaf: { op: 'avgPool2d', k: kk, s: s == null ? kk : pair(s), p: pair(p), ceil, countIncludePad } });
  }

  adaptiveAvgPool2d(out: number | [number | null, number | null]): Mod {
    return mod('AdaptiveAvgPool2d', { leaf: { op: 'adaptiveAvgPool2d', out: typeof out === 'number' ? [out, out] : out } });
  }

  adaptiveMaxPool2d(out: number | [number | null, number | null]): Mod {
    return mod('AdaptiveMaxPool2d', { leaf: { op: 'adaptiveMaxPool2d', out: typeof out === 'number' ? [out, out] : out } });
  }

  upsample(size: [number, number] | null, scale: [number, number] | null, mode: UpsampleMode, alignCorners: boolean | null = null): Mod {
    return mod('Upsample', { leaf: { op: 'upsample', size, scale, mode, alignCorners } });
  }

  linear(cin: number, cout: number, bias = true): Mod {
    checkChannels(cin, 'in_features');
    checkChannels(cout, 'out_features');
    return mod('Linear', { leaf: { op: 'linear', cin, cout, bias } });
  }

  zeroPad2d(pad: [number, number, number, number]): Mod {
    return mod('ZeroPad2d', { leaf: { op: 'zeroPad2d', pad } });
  }

  flatten(start = 1, end = -1): Mod {
    return mod('Flatten', { leaf: { op: 'flatten', start, end } });
  }

  softmax(dim: number): Mod {
    return mod('Softmax', { leaf: { op: 'softmax', dim } });
  }

  embedding(numEmbeddings: number, dim: number): Mod {
    return mod('Embedding', { leaf: { op: 'embedding', num: numEmbeddings, dim } });
  }

  mha(embed: number, heads: number, batchFirst = false, bias = true): Mod {
    if (heads <= 0 || embed % heads !== 0) throw buildError(`embed_dim must be divisible by num_heads (${embed} % ${heads})`);
    return mod('MultiheadAttention', { leaf: { op: 'mha', embed, heads, batchFirst, bias } });
  }

  pixelShuffle(r: number): Mod {
    return mod('PixelShuffle', { leaf: { op: 'pixelShuffle', r } });
  }

  /**
   * A composite module: named children in registration order (the order printing and the state_dict follow), a
   * forward, and what it registers directly (parameters, buffers).
   */
  mod(
    type: string,
    children: Record<string, Mod | null | undefined> | readonly (readonly [string, Mod])[],
    forward: Forward,
    opts: {
      ownParams?: number;
      frozenParams?: number;
      params?: Record<string, OwnParam>;
      buffers?: Record<string, OwnBuffer>;
      attrs?: Record<string, unknown>;
    } = {},
  ): Mod {
    const own = Object.values(opts.params ?? {});
    const numel = (p: OwnParam) => p.shape.reduce((a, c) => a * c, 1);
    const list = Array.isArray(children)
      ? (children as readonly (readonly [string, Mod])[])
      : Object.entries(children as Record<string, Mod | null | undefined>).filter((e): e is [string, Mod] => e[1] != null);
    return {
      type,
      children: list,
      forward,
      ownParams: opts.ownParams ?? own.reduce((a, p) => a + numel(p), 0),
      frozenParams: opts.frozenParams ?? own.reduce((a, p) => a + (p.frozen ? numel(p) : 0), 0),
      ...(opts.params ? { params: opts.params } : {}),
      ...(opts.buffers ? { buffers: opts.buffers } : {}),
      ...(opts.attrs ? { attrs: opts.attrs } : {}),
    };
  }

  /**
   * nn.Sequential: children '0', '1', ... chained; `names` for a subclass that registers them with add_module (their
   * names are the state_dict's).
   */
  seq(items: readonly Mod[], type = 'Sequential', names?: readonly string[]): Mod {
    if (names && names.length !== items.length) throw new Error(`internal: ${type} has ${items.length} children, ${names.length} names`);
    const children = items.map((m, i) => [names ? names[i]! : String(i), m] as const);
    const forward: Forward = <T>(f: Flow<T>, x: In<T>) => {
      let y: Out<T> = x;
      for (const m of items) y = f.callMulti(m, y as In<T>);
      return y;
    };
    return { type, children, forward, ownParams: 0, frozenParams: 0 };
  }

  /** nn.ModuleList: children without a forward of their own. */
  list(items: readonly Mod[]): Mod {
    return {
      type: 'ModuleList',
      children: items.map((m, i) => [String(i), m] as const),
      forward: () => {
        throw buildError('ModuleList is not callable');
      },
      ownParams: 0,
      frozenParams: 0,
    };
  }

  /** A frozen copy (requires_grad False): counted in parameters, not in gradients. */
  frozen(m: Mod): Mod {
    return { ...m, frozenParams: m.ownParams };
  }
}

/**
 * A module instance as an argument value. A Python default such as `act=nn.ReLU()` is evaluated once, when the
 * class is defined, so every call that takes the default shares that one instance (ultralytics HGBlock, LightConv).
 */
export class ModuleInstance extends PyObj {
  constructor(
    readonly mod: Mod,
    cls: string,
    repr: string,
  ) {
    super(cls, repr);
  }
}

export const ACT_CLASSES: Record<string, ActFn> = {
  SiLU: 'SiLU',
  ReLU: 'ReLU',
  ReLU6: 'ReLU6',
  LeakyReLU: 'LeakyReLU',
  Mish: 'Mish',
  Hardswish: 'Hardswish',
  Hardsigmoid: 'Hardsigmoid',
  Sigmoid: 'Sigmoid',
  Tanh: 'Tanh',
  GELU: 'GELU',
  ELU: 'ELU',
  Softplus: 'Softplus',
  PReLU: 'PReLU',
};

/** `autopad(k, p, d)`: 'same' padding for odd kernels, as both frameworks compute it. */
export function autopad(k: number | [number, number], p: PyVal = null, d = 1): number | [number, number] {
  if (p !== null) {
    if (typeof p === 'number') return p;
    if (isSeq(p)) return asPair(p, 'padding', 'p');
    if (typeof p === 'boolean') throw buildError(`conv2d() received an invalid combination of arguments: padding=${pyRepr(p)}`, 'p');
    if (typeof p === 'string') throw buildError(`Invalid padding string '${p}'`, 'p');
    throw buildError(`padding must be an int or a pair of ints, got ${pyRepr(p)}`, 'p');
  }
  const eff = (x: number) => (d > 1 ? d * (x - 1) + 1 : x);
  if (typeof k === 'number') return Math.floor(eff(k) / 2);
  return [Math.floor(eff(k[0]) / 2), Math.floor(eff(k[1]) / 2)];
}

export { PyFloat, PyTuple, num, isNumeric };
