/**
 * A small numeric interpreter of `Flow` (float64, NCHW) for tests of forwards whose values matter (the heads'
 * decode). Only the ops those forwards use are implemented; leaf modules other than activations are replaced by
 * a caller-given function (the test decides what a conv "outputs"), so a forward's own arithmetic can be checked
 * against a formula written independently in the test.
 */
import type { Flow, ForwardCtx, In, Mod, Out, Shape, UpsampleMode } from '../../server/src/core/nn/module.ts';

export interface Tensor {
  readonly shape: number[];
  readonly data: Float64Array;
}

const numel = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
const stridesOf = (s: readonly number[]) => {
  const st = new Array<number>(s.length).fill(1);
  for (let i = s.length - 2; i >= 0; i--) st[i] = st[i + 1]! * s[i + 1]!;
  return st;
};
const coordsOf = (idx: number, s: readonly number[]) => {
  const c = new Array<number>(s.length);
  for (let i = s.length - 1; i >= 0; i--) {
    c[i] = idx % s[i]!;
    idx = Math.floor(idx / s[i]!);
  }
  return c;
};

export function tensor(shape: readonly number[], fill: (i: number) => number): Tensor {
  const data = new Float64Array(numel(shape));
  for (let i = 0; i < data.length; i++) data[i] = fill(i);
  return { shape: [...shape], data };
}

/** value at coordinates */
export const at = (t: Tensor, ...c: number[]): number => {
  const st = stridesOf(t.shape);
  return t.data[c.reduce((a, x, i) => a + x * st[i]!, 0)]!;
};

function gather(shape: readonly number[], f: (c: number[]) => number): Tensor {
  return tensor(shape, (i) => f(coordsOf(i, shape)));
}

const isList = (x: unknown): x is readonly Tensor[] => Array.isArray(x);

export class NumFlow implements Flow<Tensor> {
  constructor(private readonly leaf: (m: Mod, x: Tensor) => Tensor) {}

  call(m: Mod, x: In<Tensor>, ctx?: ForwardCtx<Tensor>): Tensor {
    const out = this.callMulti(m, x, ctx);
    if (isList(out) || out === null) throw new Error(`${m.type} returned several tensors`);
    return out as Tensor;
  }
  callMulti(m: Mod, x: In<Tensor>, ctx: ForwardCtx<Tensor> = {}): Out<Tensor> {
    if (m.leaf) {
      if (isList(x)) throw new Error('leaf on a list');
      if (m.leaf.op === 'act' && m.leaf.fn === 'Sigmoid') return this.sigmoid(x as Tensor);
      if (m.leaf.op === 'identity') return x as Tensor;
      return this.leaf(m, x as Tensor);
    }
    return m.forward!(this, x, ctx);
  }
  shape(x: Tensor): Shape {
    return x.shape;
  }
  cat(xs: readonly Tensor[], dim: number): Tensor {
    const d = dim < 0 ? dim + xs[0]!.shape.length : dim;
    const shape = [...xs[0]!.shape];
    shape[d] = xs.reduce((a, t) => a + t.shape[d]!, 0);
    return gather(shape, (c) => {
      let k = c[d]!;
      for (const t of xs) {
        if (k < t.shape[d]!) return at(t, ...c.map((v, i) => (i === d ? k : v)));
        k -= t.shape[d]!;
      }
      throw new Error('cat index');
    });
  }
  private broadcast(a: Tensor, b: Tensor, op: (x: number, y: number) => number): Tensor {
    const n = Math.max(a.shape.length, b.shape.length);
    const pa = [...new Array<number>(n - a.shape.length).fill(1), ...a.shape];
    const pb = [...new Array<number>(n - b.shape.length).fill(1), ...b.shape];
    const shape = pa.map((v, i) => Math.max(v, pb[i]!));
    const A = { shape: pa, data: a.data };
    const B = { shape: pb, data: b.data };
    return gather(shape, (c) => op(at(A, ...c.map((v, i) => (pa[i] === 1 ? 0 : v))), at(B, ...c.map((v, i) => (pb[i] === 1 ? 0 : v)))));
  }
  add(a: Tensor, b: Tensor): Tensor {
    return this.broadcast(a, b, (x, y) => x + y);
  }
  sub(a: Tensor, b: Tensor): Tensor {
    return this.broadcast(a, b, (x, y) => x - y);
  }
  mul(a: Tensor, b: Tensor): Tensor {
    return this.broadcast(a, b, (x, y) => x * y);
  }
  div(a: Tensor, b: Tensor): Tensor {
    return this.broadcast(a, b, (x, y) => x / y);
  }
  scale(a: Tensor, factor: number): Tensor {
    return tensor(a.shape, (i) => a.data[i]! * factor);
  }
  split(x: Tensor, sizes: number | readonly number[], dim: number): Tensor[] {
    const d = dim < 0 ? dim + x.shape.length : dim;
    const n = x.shape[d]!;
    const parts: number[] =
      typeof sizes === 'number' ? Array.from({ length: Math.ceil(n / sizes) }, (_, i) => Math.min(sizes, n - i * sizes)) : [...sizes];
    let start = 0;
    return parts.map((p) => {
      const s = start;
      start += p;
      return this.slice(x, d, s, s + p);
    });
  }
  chunk(x: Tensor, chunks: number, dim: number): Tensor[] {
    return this.split(x, Math.ceil(x.shape[dim]! / chunks), dim);
  }
  view(x: Tensor, shape: readonly number[]): Tensor {
    const known = shape.filter((v) => v !== -1).reduce((a, b) => a * b, 1);
    const out = shape.map((v) => (v === -1 ? x.data.length / known : v));
    if (numel(out) !== x.data.length) throw new Error(`view ${out} of ${x.shape}`);
    return { shape: out, data: x.data };
  }
  permute(x: Tensor, dims: readonly number[]): Tensor {
    const shape = dims.map((d) => x.shape[d]!);
    return gather(shape, (c) => {
      const src = new Array<number>(dims.length);
      dims.forEach((d, i) => (src[d] = c[i]!));
      return at(x, ...src);
    });
  }
  transpose(x: Tensor, d0: number, d1: number): Tensor {
    const dims = x.shape.map((_, i) => (i === d0 ? d1 : i === d1 ? d0 : i));
    return this.permute(x, dims);
  }
  flatten(x: Tensor, start: number, end = -1): Tensor {
    const e = end < 0 ? end + x.shape.length : end;
    return this.view(x, [...x.shape.slice(0, start), numel(x.shape.slice(start, e + 1)), ...x.shape.slice(e + 1)]);
  }
  unsqueeze(x: Tensor, dim: number): Tensor {
    return this.view(x, [...x.shape.slice(0, dim), 1, ...x.shape.slice(dim)]);
  }
  sigmoid(x: Tensor): Tensor {
    return tensor(x.shape, (i) => 1 / (1 + Math.exp(-x.data[i]!)));
  }
  relu(x: Tensor): Tensor {
    return tensor(x.shape, (i) => Math.max(0, x.data[i]!));
  }
  constant(shape: readonly number[], fill: (index: number) => number): Tensor {
    return tensor(shape, fill);
  }
  slice(x: Tensor, dim: number, start: number, end: number, step = 1): Tensor {
    const n = x.shape[dim]!;
    const s = Math.max(0, Math.min(n, start));
    const e = Math.max(s, Math.min(n, end));
    const shape = [...x.shape];
    shape[dim] = Math.ceil((e - s) / step);
    return gather(shape, (c) => at(x, ...c.map((v, i) => (i === dim ? s + v * step : v))));
  }
  expand(x: Tensor, shape: readonly number[]): Tensor {
    return this.broadcast(
      x,
      tensor(
        shape.map((v, i) => (v === -1 ? x.shape[i]! : v)),
        () => 0,
      ),
      (a) => a,
    );
  }
  softmax(): Tensor {
    throw new Error('not needed');
  }
  matmul(): Tensor {
    throw new Error('not needed');
  }
  maxDim(): Tensor {
    throw new Error('not needed');
  }
  mean(): Tensor {
    throw new Error('not needed');
  }
  interpolate(x: Tensor, size: readonly [number, number] | null, scale: number | null, mode: UpsampleMode): Tensor {
    void [x, size, scale, mode];
    throw new Error('not needed');
  }
  pad(): Tensor {
    throw new Error('not needed');
  }
  maxPool(): Tensor {
    throw new Error('not needed');
  }
  einsum(): Tensor {
    throw new Error('not needed');
  }
  avgPool(): Tensor {
    throw new Error('not needed');
  }
  param(): Tensor {
    throw new Error('not needed');
  }
  private map(x: Tensor, f: (v: number) => number): Tensor {
    return tensor(x.shape, (i) => f(x.data[i]!));
  }
  exp(x: Tensor): Tensor {
    return this.map(x, Math.exp);
  }
  log(x: Tensor): Tensor {
    return this.map(x, Math.log);
  }
  sqrt(x: Tensor): Tensor {
    return this.map(x, Math.sqrt);
  }
  sin(x: Tensor): Tensor {
    return this.map(x, Math.sin);
  }
  cos(x: Tensor): Tensor {
    return this.map(x, Math.cos);
  }
  clamp(x: Tensor, min: number | null, max: number | null): Tensor {
    return this.map(x, (v) => Math.min(max ?? Infinity, Math.max(min ?? -Infinity, v)));
  }
  sum(): Tensor {
    throw new Error('not needed');
  }
  topk(): [Tensor, Tensor] {
    throw new Error('not needed');
  }
  gather(): Tensor {
    throw new Error('not needed');
  }
  floorDiv(): Tensor {
    throw new Error('not needed');
  }
  remainder(): Tensor {
    throw new Error('not needed');
  }
  toFloat(x: Tensor): Tensor {
    return x;
  }
  gridSample(): Tensor {
    throw new Error('not needed');
  }
}
