/**
 * The static interpreter: runs a module's forward on shapes instead of tensors. It checks what torch would
 * check (channels into a conv, sizes into cat/add), computes output shapes and counts FLOPs by thop's rules,
 * in both conventions a user may compare against:
 *  - `thop`: Lyken17 thop 0.1.1, what the reference records and both frameworks' printed GFLOPs use;
 *  - `ultralyticsThop`: ultralytics-thop 2.x, what a current install prints (nearest upsampling counts 0,
 *    transposed convs count on the input volume, rules found through the class hierarchy).
 * Counts are MACs (thop's unit); callers double them into FLOPs as both frameworks do.
 */
import { ShapeError, type Flow, type ForwardCtx, type In, type LeafOp, type Mod, type Out, type Shape } from './module.ts';
import { flattenShape, fmt, normDim, numel, poolOut, runLeaf, upsampleShape } from './leaves.ts';

export interface OpCount {
  thop: number;
  ultralyticsThop: number;
}

function broadcast(a: Shape, b: Shape, what: string): Shape {
  const n = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const x = a[a.length - n + i] ?? 1;
    const y = b[b.length - n + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1)
      throw new ShapeError(
        `The size of tensor a (${x}) must match the size of tensor b (${y}) at non-singleton dimension ${i} (${what} of ${fmt(a)} and ` +
          `${fmt(b)})`,
      );
    out.push(x === 1 ? y : x);
  }
  return out;
}

export interface TraceEntry {
  inShapes: Shape[];
  outShape: Shape | null;
  ops: OpCount;
  calls: number;
}

/** Shape-level implementation of `Flow`. */
export class ShapeFlow implements Flow<Shape> {
  readonly ops: OpCount = { thop: 0, ultralyticsThop: 0 };
  /**
   * the part of `ops.thop` counted on shared modules (`Conv.default_act` = nn.PReLU()): thop 0.1.1 counts a shared
   * module very differently from its calls (see `sharedThopQuirk` in resolve/run.ts), so a pass adjusts it.
   */
  sharedThop = 0;
  /** per-module statistics, when a caller wants to expand a layer into its submodules. */
  constructor(readonly trace?: Map<Mod, TraceEntry>) {}

  call(m: Mod, x: In<Shape>, ctx: ForwardCtx<Shape> = {}): Shape {
    const out = this.callMulti(m, x, ctx);
    if (!isShape(out)) throw new ShapeError(`${m.type} returned ${out === null ? 'None' : 'several tensors'} where one tensor is expected`);
    return out;
  }

  callMulti(m: Mod, x: In<Shape>, ctx: ForwardCtx<Shape> = {}): Out<Shape> {
    if (m.leaf) return this.leaf(m, m.leaf, x);
    if (!m.forward) throw new ShapeError(`${m.type} has no forward`);
    if (!this.trace) return m.forward(this, x, ctx);
    const before = { ...this.ops };
    const out = m.forward(this, x, ctx);
    this.record(m, x, out, { thop: this.ops.thop - before.thop, ultralyticsThop: this.ops.ultralyticsThop - before.ultralyticsThop });
    return out;
  }

  private record(m: Mod, x: In<Shape>, out: Out<Shape>, ops: OpCount): void {
    const inShapes = isShape(x) ? [x] : (x as Shape[]);
    const outShape = isShape(out) ? out : null;
    const prev = this.trace!.get(m);
    if (prev) {
      prev.calls++;
      prev.ops.thop += ops.thop;
      prev.ops.ultralyticsThop += ops.ultralyticsThop;
    } else this.trace!.set(m, { inShapes, outShape, ops, calls: 1 });
  }

  private leaf(m: Mod, l: LeafOp, xin: In<Shape>): Out<Shape> {
    const r = runLeaf(m, l, xin);
    this.ops.thop += r.thop;
    if (m.shared) this.sharedThop += r.thop;
    this.ops.ultralyticsThop += r.ultralyticsThop;
    if (this.trace) this.record(m, xin, r.out, { thop: r.thop, ultralyticsThop: r.ultralyticsThop });
    return r.out;
  }

  shape(x: Shape): Shape {
    return x;
  }

  cat(xs: readonly Shape[], dim: number): Shape {
    if (xs.length === 0) throw new ShapeError('torch.cat(): expected a non-empty list of Tensors');
    const r = xs[0]!.length;
    const d = normDim(dim, r);
    let total = 0;
    for (let i = 0; i < xs.length; i++) {
      const s = xs[i]!;
      // a multi-output layer (CBLinear, a head) feeding a list input arrives as a nested list
      if (!isShape(s)) throw new ShapeError(`expected Tensor as element ${i} in argument 0, but got tuple`);
      if (s.length !== r) throw new ShapeError(`Tensors must have same number of dimensions: got ${r} and ${s.length}`);
      for (let j = 0; j < r; j++)
        if (j !== d && s[j] !== xs[0]![j])
          throw new ConcatError(
            `Sizes of tensors must match except in dimension ${d}. Expected size ${xs[0]![j]} but got size ${s[j]} for tensor number ` +
              `${i} in the list.`,
            0,
            i,
            j,
          );
      total += s[d]!;
    }
    const out = [...xs[0]!];
    out[d] = total;
    return out;
  }

  add(a: Shape, b: Shape): Shape {
    return broadcast(a, b, 'sum');
  }
  sub(a: Shape, b: Shape): Shape {
    return broadcast(a, b, 'difference');
  }
  mul(a: Shape, b: Shape): Shape {
    return broadcast(a, b, 'product');
  }
  div(a: Shape, b: Shape): Shape {
    return broadcast(a, b, 'quotient');
  }
  scale(a: Shape): Shape {
    return a;
  }

  chunk(x: Shape, chunks: number, dim: number): Shape[] {
    const d = normDim(dim, x.length);
    const size = Math.ceil(x[d]! / chunks);
    return this.split(x, size, d);
  }

  split(x: Shape, sizes: number | readonly number[], dim: number): Shape[] {
    const d = normDim(dim, x.length);
    const n = x[d]!;
    let parts: number[];
    if (typeof sizes === 'number') {
      if (sizes <= 0) throw new ShapeError(`split expects split_size be non-negative, but got split_size=${sizes}`);
      parts = [];
      for (let left = n; left > 0; left -= sizes) parts.push(Math.min(sizes, left));
      if (parts.length === 0) parts.push(0);
    } else {
      parts = [...sizes];
      const sum = parts.reduce((a, b) => a + b, 0);
      if (sum !== n)
        throw new ShapeError(
          `split_with_sizes expects split_sizes to sum exactly to ${n} (input tensor's size at dimension ${d}), but got ` +
            `split_sizes=[${parts.join(', ')}]`,
        );
    }
    return parts.map((p) => {
      const s = [...x];
      s[d] = p;
      return s;
    });
  }

  view(x: Shape, shape: readonly number[]): Shape {
    const total = numel(x);
    const known = shape.filter((v) => v !== -1).reduce((a, b) => a * b, 1);
    const unknown = shape.filter((v) => v === -1).length;
    if (unknown > 1) throw new ShapeError('only one dimension can be inferred');
    const out = shape.map((v) => (v === -1 ? total / known : v));
    if (out.some((v) => !Number.isInteger(v) || v < 0) || numel(out) !== total)
      throw new ShapeError(`shape '${fmt(shape)}' is invalid for input of size ${total}`);
    return out;
  }

  permute(x: Shape, dims: readonly number[]): Shape {
    if (dims.length !== x.length)
      throw new ShapeError(
        `permute(sparse_coo): number of dimensions in the tensor input does not match the length of the desired ordering of dimensions ` +
          `i.e. input.dim() = ${x.length} is not equal to len(dims) = ${dims.length}`,
      );
    return dims.map((d) => x[normDim(d, x.length)]!);
  }

  transpose(x: Shape, d0: number, d1: number): Shape {
    const a = normDim(d0, x.length);
    const b = normDim(d1, x.length);
    const out = [...x];
    out[a] = x[b]!;
    out[b] = x[a]!;
    return out;
  }

  flatten(x: Shape, start: number, end = -1): Shape {
    return flattenShape(x, start, end);
  }

  unsqueeze(x: Shape, dim: number): Shape {
    const d = normDim(dim, x.length + 1);
    return [...x.slice(0, d), 1, ...x.slice(d)];
  }

  sigmoid(x: Shape): Shape {
    return x;
  }
  softmax(x: Shape, dim: number): Shape {
    normDim(dim, x.length);
    return x;
  }
  relu(x: Shape): Shape {
    return x;
  }

  matmul(a: Shape, b: Shape): Shape {
    if (a.length < 2 || b.length < 2) throw new ShapeError('matmul of 1-D tensors is not used here');
    if (a[a.length - 1] !== b[b.length - 2])
      throw new ShapeError(
        `mat1 and mat2 shapes cannot be multiplied (${a[a.length - 2]}x${a[a.length - 1]} and ${b[b.length - 2]}x${b[b.length - 1]})`,
      );
    const batch = broadcast(a.slice(0, -2), b.slice(0, -2), 'matmul batch');
    return [...batch, a[a.length - 2]!, b[b.length - 1]!];
  }

  maxDim(x: Shape, dim: number, keepdim: boolean): Shape {
    const d = normDim(dim, x.length);
    return keepdim ? x.map((v, i) => (i === d ? 1 : v)) : x.filter((_, i) => i !== d);
  }

  mean(x: Shape, dims: readonly number[], keepdim: boolean): Shape {
    const ds = dims.map((d) => normDim(d, x.length));
    return keepdim ? x.map((v, i) => (ds.includes(i) ? 1 : v)) : x.filter((_, i) => !ds.includes(i));
  }

  expand(x: Shape, shape: readonly number[]): Shape {
    const off = shape.length - x.length;
    if (off < 0) throw new ShapeError('expand: the number of sizes provided must be greater or equal to the number of dimensions');
    return shape.map((v, i) => {
      const src = i - off >= 0 ? x[i - off]! : 1;
      if (v === -1) return src;
      if (src !== 1 && src !== v)
        throw new ShapeError(
          `The expanded size of the tensor (${v}) must match the existing size (${src}) at non-singleton dimension ${i}`,
        );
      return v;
    });
  }

  constant(shape: readonly number[]): Shape {
    return [...shape];
  }

  interpolate(x: Shape, size: readonly [number, number] | null, scale: number | null): Shape {
    return upsampleShape(x, size ? [size[0], size[1]] : null, scale == null ? null : [scale, scale]);
  }

  pad(x: Shape, pad: readonly [number, number, number, number]): Shape {
    return [...x.slice(0, -2), x[x.length - 2]! + pad[2] + pad[3], x[x.length - 1]! + pad[0] + pad[1]];
  }

  maxPool(x: Shape, k: number, s: number, p: number): Shape {
    return [...x.slice(0, -2), poolOut(x[x.length - 2]!, k, s, p, 1, false), poolOut(x[x.length - 1]!, k, s, p, 1, false)];
  }

  avgPool(x: Shape, k: number, s: number, p: number, ceil: boolean): Shape {
    if (x.length !== 4 && x.length !== 3) throw new ShapeError(`Expected 3D or 4D input to avg_pool2d, got ${fmt(x)}`);
    if (p > k / 2) throw new ShapeError(`pad should be at most half of kernel size, but got pad=${p} and kernel_size=${k}`);
    const oh = poolOut(x[x.length - 2]!, k, s, p, 1, ceil);
    const ow = poolOut(x[x.length - 1]!, k, s, p, 1, ceil);
    if (oh <= 0 || ow <= 0)
      throw new ShapeError(
        `Given input size: (${x.slice(-3).join('x')}). Calculated output size: (${x[x.length - 3]}x${oh}x${ow}). Output size is too small`,
      );
    return [...x.slice(0, -2), oh, ow];
  }

  einsum(eq: string, ...xs: Shape[]): Shape {
    return einsumShape(eq, xs);
  }

  slice(x: Shape, dim: number, start: number, end: number, step = 1): Shape {
    const d = normDim(dim, x.length);
    const n = x[d]!;
    const s = Math.max(0, Math.min(n, start < 0 ? n + start : start));
    const e = Math.max(s, Math.min(n, end < 0 ? n + end : end));
    const out = [...x];
    out[d] = Math.ceil((e - s) / step);
    return out;
  }

  param(m: Mod, name: string): Shape {
    const own = m.params?.[name];
    if (own) return [...own.shape];
    if (m.leaf?.op === 'embedding' && name === 'weight') return [m.leaf.num, m.leaf.dim];
    throw new ShapeError(`'${m.type}' object has no parameter '${name}'`);
  }

  exp(x: Shape): Shape {
    return x;
  }
  log(x: Shape): Shape {
    return x;
  }
  sqrt(x: Shape): Shape {
    return x;
  }
  sin(x: Shape): Shape {
    return x;
  }
  cos(x: Shape): Shape {
    return x;
  }
  clamp(x: Shape): Shape {
    return x;
  }

  sum(x: Shape, dims: readonly number[], keepdim: boolean): Shape {
    return this.mean(x, dims, keepdim);
  }

  topk(x: Shape, k: number, dim: number): [Shape, Shape] {
    const d = normDim(dim, x.length);
    // torch: RuntimeError "selected index k out of range" (what sends get_flops to its 640 retry for RT-DETR)
    if (!Number.isInteger(k) || k < 0 || k > x[d]!)
      throw new ShapeError(`selected index k out of range (topk k=${k} on a dimension of size ${x[d]})`);
    const out = [...x];
    out[d] = k;
    return [out, [...out]];
  }

  gather(x: Shape, dim: number, index: Shape): Shape {
    const d = normDim(dim, x.length);
    if (index.length !== x.length)
      throw new ShapeError(`Index tensor must have the same number of dimensions as input tensor (${index.length} vs ${x.length})`);
    for (let i = 0; i < x.length; i++)
      if (i !== d && index[i]! > x[i]!)
        throw new ShapeError(
          `Size does not match at dimension ${i} expected index ${fmt(index)} to be smaller than self ${fmt(x)} apart from dimension ${d}`,
        );
    return [...index];
  }

  floorDiv(x: Shape): Shape {
    return x;
  }
  remainder(x: Shape): Shape {
    return x;
  }
  toFloat(x: Shape): Shape {
    return x;
  }

  gridSample(x: Shape, grid: Shape): Shape {
    if (x.length !== 4 || grid.length !== 4)
      throw new ShapeError(`grid_sample(): expected 4D input and grid, got input ${fmt(x)} and grid ${fmt(grid)}`);
    if (grid[0] !== x[0])
      throw new ShapeError(
        `grid_sample(): expected grid and input to have same batch size, but got input with sizes ${fmt(x)} and grid with sizes ` +
          `${fmt(grid)}`,
      );
    if (grid[3] !== 2)
      throw new ShapeError(`grid_sample(): expected grid to have size 2 in last dimension, but got grid with sizes ${fmt(grid)}`);
    return [x[0]!, x[1]!, grid[1]!, grid[2]!];
  }
}

/** A Concat mismatch, with which input and which dimension, so diagnostics can point at both producers. */
export class ConcatError extends ShapeError {
  constructor(
    message: string,
    readonly first: number,
    readonly other: number,
    readonly dim: number,
  ) {
    super(message);
  }
}

function einsumShape(eq: string, xs: readonly Shape[]): Shape {
  const [lhs, rhs] = eq.replace(/\s/g, '').split('->') as [string, string | undefined];
  const terms = lhs.split(',');
  if (terms.length !== xs.length) throw new ShapeError(`einsum(): ${terms.length} operands in the equation, ${xs.length} given`);
  const sizes = new Map<string, number>();
  terms.forEach((t, i) => {
    const s = xs[i]!;
    if (t.length !== s.length)
      throw new ShapeError(
        `einsum(): the number of subscripts in the equation (${t.length}) does not match the number of dimensions (${s.length}) for ` +
          `operand ${i}`,
      );
    [...t].forEach((ch, j) => {
      const prev = sizes.get(ch);
      const v = s[j]!;
      if (prev !== undefined && prev !== v && prev !== 1 && v !== 1)
        throw new ShapeError(`einsum(): operands do not broadcast with remapped shapes (subscript ${ch}: ${prev} vs ${v})`);
      sizes.set(ch, prev === undefined || prev === 1 ? v : prev);
    });
  });
  const out =
    rhs ??
    [...new Set(terms.join(''))]
      .filter((c) => terms.join('').split(c).length === 2)
      .sort()
      .join('');
  return [...out].map((c) => sizes.get(c)!);
}

export const isShape = (x: unknown): x is Shape => Array.isArray(x) && (x.length === 0 || typeof x[0] === 'number');

/**
 * Flatten a nested output depth-first, skipping None (how the reference records list multi-output shapes). An empty
 * list is an empty container, never a 0-d tensor: it is what a fused-away branch set returns (an end2end head's
 * `one2many: {}` after fuse()), which holds no tensor; no layer of any upstream model outputs a 0-d tensor.
 */
export function flattenOut(o: Out<Shape>): Shape[] {
  if (o === null || (Array.isArray(o) && o.length === 0)) return [];
  if (isShape(o)) return [o];
  return (o as readonly Out<Shape>[]).flatMap(flattenOut);
}

export const shapeNumel = numel;
