/**
 * The module tree every interpreter walks. A catalog definition builds a tree of `Mod`s the way a PyTorch
 * constructor builds its `nn.Module`s: leaves are primitive torch layers (Conv2d, BatchNorm2d, SiLU, ...), inner
 * nodes carry a forward written once against the `Flow` interface. The static analyser runs that forward on
 * shapes (params, thop FLOPs), the tfjs runtime on tensors, the graph view walks the children.
 */

export type Shape = readonly number[];

export type ActFn =
  | 'SiLU'
  | 'ReLU'
  | 'ReLU6'
  | 'LeakyReLU'
  | 'Mish'
  | 'Hardswish'
  | 'Hardsigmoid'
  | 'Sigmoid'
  | 'Tanh'
  | 'GELU'
  | 'ELU'
  | 'Softplus'
  | 'PReLU';

export type UpsampleMode = 'nearest' | 'linear' | 'bilinear' | 'bicubic' | 'trilinear' | 'area' | 'nearest-exact';

/** Primitive torch layers. Field names follow the torch constructor. */
export type LeafOp =
  | {
      op: 'conv2d';
      cin: number;
      cout: number;
      k: [number, number];
      s: [number, number];
      p: [number, number];
      d: [number, number];
      g: number;
      bias: boolean;
    }
  | {
      op: 'convTranspose2d';
      cin: number;
      cout: number;
      k: [number, number];
      s: [number, number];
      p: [number, number];
      outputPadding: [number, number];
      d: [number, number];
      g: number;
      bias: boolean;
    }
  | { op: 'batchNorm2d'; c: number; eps: number; affine: boolean }
  | { op: 'layerNorm'; shape: number[]; eps: number; affine: boolean }
  | { op: 'groupNorm'; groups: number; c: number; eps: number; affine: boolean }
  | { op: 'act'; fn: ActFn; slope?: number; approximate?: string; c?: number }
  | { op: 'identity' }
  | { op: 'dropout'; p: number }
  | { op: 'maxPool2d'; k: [number, number]; s: [number, number]; p: [number, number]; d: [number, number]; ceil: boolean }
  | { op: 'avgPool2d'; k: [number, number]; s: [number, number]; p: [number, number]; ceil: boolean; countIncludePad: boolean }
  | { op: 'adaptiveAvgPool2d'; out: [number | null, number | null] }
  | { op: 'adaptiveMaxPool2d'; out: [number | null, number | null] }
  | { op: 'upsample'; size: [number, number] | null; scale: [number, number] | null; mode: UpsampleMode; alignCorners: boolean | null }
  | { op: 'linear'; cin: number; cout: number; bias: boolean }
  | { op: 'zeroPad2d'; pad: [number, number, number, number] }
  | { op: 'flatten'; start: number; end: number }
  | { op: 'softmax'; dim: number }
  | { op: 'embedding'; num: number; dim: number }
  | { op: 'mha'; embed: number; heads: number; batchFirst: boolean; bias: boolean }
  | { op: 'pixelShuffle'; r: number };

/**
 * An `nn.Parameter` a composite module registers directly (LayerNorm2d.weight, ContrastiveHead.bias, ...), read in
 * a forward through `Flow.param`.
 */
export interface OwnParam {
  readonly shape: readonly number[];
  /** the value upstream's __init__ gives every element (absent: initialised randomly). */
  readonly init?: number;
  /** requires_grad=False */
  readonly frozen?: boolean;
}

/**
 * A buffer a composite module registers (`self.register_buffer(name, tensor)`): no parameter, but part of the
 * state_dict unless registered with persistent=False (YOLOv5 Detect's `anchors`).
 */
export interface OwnBuffer {
  readonly shape: readonly number[];
  /** torch dtype name; float32 when absent */
  readonly dtype?: 'float32' | 'int64' | 'bool';
  /** persistent=False: kept out of the state_dict */
  readonly persistent?: false;
}

/** One node of the tree, as `nn.Module` would be: a torch class name, named children, a forward. */
export interface Mod {
  /** torch class name (`Conv`, `Conv2d`, `Sequential`...): what thop and the summary line key on. */
  readonly type: string;
  readonly leaf?: LeafOp;
  readonly children: readonly (readonly [string, Mod])[];
  readonly forward?: Forward;
  /** parameters registered directly on this module (nn.Parameter attributes) and on leaves. */
  readonly ownParams: number;
  /** part of ownParams with requires_grad=False (DFL's fixed conv). */
  readonly frozenParams: number;
  /** the parameters registered directly on this module, by attribute name (counted in ownParams). */
  readonly params?: Readonly<Record<string, OwnParam>>;
  /** the buffers registered directly on this module, by name, in registration order (leaves' own buffers, such as
   * BatchNorm's running statistics, follow from the leaf op) */
  readonly buffers?: Readonly<Record<string, OwnBuffer>>;
  /** free-form attributes a forward or an interpreter may need (e.g. a Detect head's stride). */
  readonly attrs?: Readonly<Record<string, unknown>>;
  /**
   * one instance deliberately used in many places (YOLOv5's `Conv.default_act`): counted once per model.
   * Any other Mod object may also be reused across layers by the build cache; that is not sharing in the
   * PyTorch sense, so counts and weights go per layer.
   */
  readonly shared?: boolean;
}

/** What flows into a layer: one tensor, or a list for Concat-like modules. */
export type In<T> = T | readonly T[];
/** What a module returns: a tensor or (heads) a nested list/tuple of tensors. `null` for a Python None. */
export type Out<T> = T | null | readonly Out<T>[];

export interface ForwardCtx<T> {
  /** extra inputs of a model-level forward, e.g. a WorldModel's text features for C2fAttn/WorldDetect. */
  readonly guide?: T;
  /**
   * a Detect-family head's `stride` (one per input level), which the model build sets after its stride probe
   * (`256 / H_l` of each head input at a 256x256 input): the eval decode multiplies by them, so whoever runs the
   * head passes them (the runtime `Model.strides`, the resolver `H_image / H_l` of the pass it runs, exact for the
   * probe itself). Absent, a head behaves as an unbuilt upstream head would: ultralytics decodes with the zeros its
   * constructor leaves there, YOLOv5's `stride = None` makes the decode raise.
   */
  readonly strides?: readonly number[];
  /**
   * the non-tensor arguments of a submodule's forward, by their upstream names (MSDeformAttn's `value_shapes`, the
   * heads DeformableTransformerDecoder applies): a parent passes them as Python passes them.
   */
  readonly kwargs?: Readonly<Record<string, unknown>>;
}

export type Forward = <T>(f: Flow<T>, x: In<T>, ctx: ForwardCtx<T>) => Out<T>;

/**
 * The tensor operations a forward may use, with PyTorch's NCHW semantics. Every interpreter implements them;
 * functional ops are never counted by thop (only leaf modules called through `call` are).
 */
export interface Flow<T> {
  /** run a child that returns one tensor (most modules) */
  call(m: Mod, x: In<T>, ctx?: ForwardCtx<T>): T;
  /** run a child that may return several tensors (heads, attention) */
  callMulti(m: Mod, x: In<T>, ctx?: ForwardCtx<T>): Out<T>;
  shape(x: T): Shape;
  cat(xs: readonly T[], dim: number): T;
  add(a: T, b: T): T;
  sub(a: T, b: T): T;
  mul(a: T, b: T): T;
  div(a: T, b: T): T;
  scale(a: T, factor: number): T;
  chunk(x: T, chunks: number, dim: number): T[];
  split(x: T, sizes: number | readonly number[], dim: number): T[];
  view(x: T, shape: readonly number[]): T;
  permute(x: T, dims: readonly number[]): T;
  transpose(x: T, d0: number, d1: number): T;
  flatten(x: T, start: number, end?: number): T;
  unsqueeze(x: T, dim: number): T;
  sigmoid(x: T): T;
  softmax(x: T, dim: number): T;
  relu(x: T): T;
  matmul(a: T, b: T): T;
  /** max over one dim (values only, like `x.max(dim)[0]`). */
  maxDim(x: T, dim: number, keepdim: boolean): T;
  mean(x: T, dims: readonly number[], keepdim: boolean): T;
  /** channel-wise torch.cat of a tensor with itself is common; `expand` covers broadcasting of constants. */
  expand(x: T, shape: readonly number[]): T;
  /** a constant tensor (anchor grids, text features placeholders). `fill` gives its values when needed. */
  constant(shape: readonly number[], fill: (index: number) => number): T;
  /** F.interpolate / F.pad / F.max_pool2d in their functional form (never counted by thop). */
  interpolate(x: T, size: readonly [number, number] | null, scale: number | null, mode: UpsampleMode): T;
  pad(x: T, pad: readonly [number, number, number, number], value: number): T;
  maxPool(x: T, k: number, s: number, p: number): T;
  /** F.avg_pool2d(x, k, s, p, ceil_mode, count_include_pad) (YOLOv9's AConv/ADown). */
  avgPool(x: T, k: number, s: number, p: number, ceil: boolean, countIncludePad: boolean): T;
  einsum(eq: string, ...xs: T[]): T;
  /** slice along one dim: x[..., start:end:step, ...]. */
  slice(x: T, dim: number, start: number, end: number, step?: number): T;
  /** a parameter of a module: one it registers directly (`Mod.params`), or a leaf's `weight` (nn.Embedding). */
  param(m: Mod, name: string): T;
  /** elementwise torch.exp / log / sqrt / sin / cos */
  exp(x: T): T;
  log(x: T): T;
  sqrt(x: T): T;
  sin(x: T): T;
  cos(x: T): T;
  /** torch.clamp(x, min, max); null = unbounded on that side. */
  clamp(x: T, min: number | null, max: number | null): T;
  /** x.sum(dims, keepdim) */
  sum(x: T, dims: readonly number[], keepdim: boolean): T;
  /** torch.topk(x, k, dim, largest, sorted=True): [values, indices (int64)]. k larger than the dim raises. */
  topk(x: T, k: number, dim: number, largest?: boolean): [T, T];
  /** torch.gather(x, dim, index): index has x's rank, the output its shape. */
  gather(x: T, dim: number, index: T): T;
  /** floor division and Python-style remainder of an integer tensor by a number (`index // nc`, `index % nc`). */
  floorDiv(x: T, d: number): T;
  remainder(x: T, d: number): T;
  /** `.float()`: an index tensor as float32. */
  toFloat(x: T): T;
  /** F.grid_sample(x [N,C,H,W], grid [N,Ho,Wo,2]) → [N,C,Ho,Wo]; grid in [-1, 1] (x, y). */
  gridSample(x: T, grid: T, mode: 'bilinear' | 'nearest', paddingMode: 'zeros' | 'border' | 'reflection', alignCorners: boolean): T;
}

export class ShapeError extends Error {
  constructor(
    message: string,
    /** which constructor argument is at fault, when known (a parameter name of the module's signature). */
    readonly param?: string,
    /** `build` for constructor errors, `forward` for shape errors (mirrors the reference records' stage). */
    readonly stage: 'build' | 'forward' = 'forward',
  ) {
    super(message);
  }
}

/** A convolution built with 0 output channels (a channel count that became 0): torch fails at its first forward. */
export class EmptyWeightError extends ShapeError {}

/** Builder-time failure (what the torch constructor would raise). */
export const buildError = (message: string, param?: string): ShapeError => new ShapeError(message, param, 'build');

export function leafParams(l: LeafOp): number {
  switch (l.op) {
    case 'conv2d':
      return l.cout * Math.trunc(l.cin / l.g) * l.k[0] * l.k[1] + (l.bias ? l.cout : 0);
    case 'convTranspose2d':
      return l.cin * Math.trunc(l.cout / l.g) * l.k[0] * l.k[1] + (l.bias ? l.cout : 0);
    case 'batchNorm2d':
      return l.affine ? 2 * l.c : 0;
    case 'layerNorm':
      return l.affine ? 2 * l.shape.reduce((a, b) => a * b, 1) : 0;
    case 'groupNorm':
      return l.affine ? 2 * l.c : 0;
    case 'linear':
      return l.cin * l.cout + (l.bias ? l.cout : 0);
    case 'embedding':
      return l.num * l.dim;
    case 'mha':
      // in_proj (3E x E + 3E) and out_proj (E x E + E)
      return 3 * l.embed * l.embed + (l.bias ? 3 * l.embed : 0) + l.embed * l.embed + (l.bias ? l.embed : 0);
    case 'act':
      return l.fn === 'PReLU' ? (l.c ?? 1) : 0;
    default:
      return 0;
  }
}

/** Total parameters of a tree, each module counted once (shared instances like Conv.default_act once). */
export function countParams(m: Mod, seen: Set<Mod> = new Set()): { params: number; frozen: number } {
  let params = 0;
  let frozen = 0;
  const stack: Mod[] = [m];
  while (stack.length) {
    const x = stack.pop()!;
    if (seen.has(x)) continue;
    seen.add(x);
    params += x.ownParams;
    frozen += x.frozenParams;
    for (const [, c] of x.children) stack.push(c);
  }
  return { params, frozen };
}

/** Visit every module once (identity-deduplicated, like `model.modules()`), parents before children. */
export function forEachModule(m: Mod, visit: (m: Mod, isLeaf: boolean) => void, seen: Set<Mod> = new Set()): void {
  const stack: Mod[] = [m];
  while (stack.length) {
    const x = stack.pop()!;
    if (seen.has(x)) continue;
    seen.add(x);
    visit(x, x.children.length === 0);
    for (let i = x.children.length - 1; i >= 0; i--) stack.push(x.children[i]![1]);
  }
}

const isList = <T>(x: In<T>): x is readonly T[] => Array.isArray(x) && (x.length === 0 || typeof x[0] !== 'number');

/** The input of a multi-input module (Concat, heads): a list, as PyTorch passes it. */
export function inputList<T>(x: In<T>, who: string): readonly T[] {
  if (!isList(x)) throw new ShapeError(`${who} expects a list of inputs (its from must be a list)`);
  return x;
}

/** The input of a single-input module. */
export function inputOne<T>(x: In<T>, who: string): T {
  if (isList(x)) throw new ShapeError(`${who} expects one input, got a list of ${x.length}`);
  return x as T;
}
