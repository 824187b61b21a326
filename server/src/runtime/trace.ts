/**
 * A third interpreter of the module trees: records the forward pass as a flat list of tensor ops (leaf layers with
 * their seeded parameters, functional ops with their arguments), with static shapes. Other engines replay it: the
 * PyTorch bench (`bench/torch_forward.py`) and the ONNX export.
 */
import type { Flow, ForwardCtx, In, LeafOp, Mod, Out, Shape, UpsampleMode } from '../core/nn/module.ts';
import { ShapeFlow, isShape } from '../core/nn/static.ts';
import type { NetworkPlan } from './plan.ts';
import { driveLayers } from '../core/nn/driver.ts';
import { leafParamArrays, moduleParamArrays, ownParamArrays, uniform } from './weights.ts';

/** A traced tensor: the id of the op that made it (and which output of it), with its shape. */
export interface TNode {
  readonly id: number;
  readonly shape: Shape;
}

export type TraceOp =
  | { readonly kind: 'input'; readonly id: number; readonly shape: Shape; readonly tensor: string }
  | {
      readonly kind: 'leaf';
      readonly id: number;
      readonly layer: number;
      readonly path: string;
      readonly leaf: LeafOp;
      readonly inputs: readonly number[];
      readonly inShapes: readonly Shape[];
      readonly params: Readonly<Record<string, string>>;
      readonly shape: Shape;
    }
  | {
      readonly kind: 'op';
      readonly id: number;
      readonly layer: number;
      readonly op: string;
      readonly inputs: readonly number[];
      readonly attrs: Readonly<Record<string, unknown>>;
      readonly shape: Shape;
      readonly tensor?: string;
    }
  /** output `index` of a multi-output op (split, chunk, MultiheadAttention) */
  | {
      readonly kind: 'item';
      readonly id: number;
      readonly layer: number;
      readonly of: number;
      readonly index: number;
      readonly shape: Shape;
    };

export interface Trace {
  readonly ops: TraceOp[];
  /** every tensor the ops reference by name (weights, constants, the input), torch layout, float32 */
  readonly tensors: Map<string, { shape: readonly number[]; values: Float32Array }>;
  /** per layer: the node ids it outputs (depth-first, as the profile compares shapes) */
  readonly layerOutputs: number[][];
  readonly outputs: number[];
}

class TraceFlow implements Flow<TNode> {
  private readonly shapes = new ShapeFlow();
  layer = -1;
  paths: ReadonlyMap<Mod, string> = new Map();

  /** `withTensors: false` traces ops and shapes only (no weights drawn): what the PyTorch estimate needs */
  constructor(
    readonly trace: Trace,
    private readonly withTensors = true,
  ) {}

  private next(): number {
    return this.trace.ops.length;
  }

  op(op: string, inputs: readonly TNode[], shape: Shape, attrs: Record<string, unknown> = {}, tensor?: string): TNode {
    const id = this.next();
    this.trace.ops.push({
      kind: 'op',
      id,
      layer: this.layer,
      op,
      inputs: inputs.map((x) => x.id),
      attrs,
      shape,
      ...(tensor ? { tensor } : {}),
    });
    return { id, shape };
  }

  private items(of: TNode, shapes: readonly Shape[]): TNode[] {
    return shapes.map((shape, index) => {
      const id = this.next();
      this.trace.ops.push({ kind: 'item', id, layer: this.layer, of: of.id, index, shape });
      return { id, shape };
    });
  }

  call(m: Mod, x: In<TNode>, ctx: ForwardCtx<TNode> = {}): TNode {
    const out = this.callMulti(m, x, ctx);
    if (out === null || Array.isArray(out)) throw new Error(`${m.type} returned several tensors where one is expected`);
    return out as TNode;
  }

  callMulti(m: Mod, x: In<TNode>, ctx: ForwardCtx<TNode> = {}): Out<TNode> {
    if (!m.leaf) {
      if (!m.forward) throw new Error(`${m.type} has no forward`);
      return m.forward(this, x, ctx);
    }
    const xs = (Array.isArray(x) ? x : [x]) as TNode[];
    const shapeOut = this.shapes.callMulti(m, Array.isArray(x) ? xs.map((t) => t.shape) : (x as TNode).shape);
    const path = this.paths.get(m) ?? '?';
    const key = `${this.layer}/${path}`;
    const params: Record<string, string> = {};
    for (const p of m.shared || !this.withTensors ? [] : moduleParamArrays(m, key)) {
      const name = `${key}.${p.name}`;
      this.trace.tensors.set(name, { shape: p.shape, values: p.values });
      params[p.name] = name;
    }
    const id = this.next();
    const shape = isShape(shapeOut) ? shapeOut : [];
    this.trace.ops.push({
      kind: 'leaf',
      id,
      layer: this.layer,
      path,
      leaf: m.leaf,
      inputs: xs.map((t) => t.id),
      inShapes: xs.map((t) => t.shape),
      params,
      shape,
    });
    if (isShape(shapeOut)) return { id, shape };
    return this.items({ id, shape }, shapeOut as Shape[]);
  }

  shape(x: TNode): Shape {
    return x.shape;
  }
  cat(xs: readonly TNode[], dim: number): TNode {
    return this.op(
      'cat',
      xs,
      this.shapes.cat(
        xs.map((x) => x.shape),
        dim,
      ),
      { dim },
    );
  }
  add(a: TNode, b: TNode): TNode {
    return this.op('add', [a, b], this.shapes.add(a.shape, b.shape));
  }
  sub(a: TNode, b: TNode): TNode {
    return this.op('sub', [a, b], this.shapes.sub(a.shape, b.shape));
  }
  mul(a: TNode, b: TNode): TNode {
    return this.op('mul', [a, b], this.shapes.mul(a.shape, b.shape));
  }
  div(a: TNode, b: TNode): TNode {
    return this.op('div', [a, b], this.shapes.div(a.shape, b.shape));
  }
  scale(a: TNode, factor: number): TNode {
    return this.op('scale', [a], a.shape, { factor });
  }
  chunk(x: TNode, chunks: number, dim: number): TNode[] {
    const shapes = this.shapes.chunk(x.shape, chunks, dim);
    const d = dim < 0 ? dim + x.shape.length : dim;
    return this.items(this.op('split', [x], x.shape, { sizes: shapes.map((s) => s[d]!), dim: d }), shapes);
  }
  split(x: TNode, sizes: number | readonly number[], dim: number): TNode[] {
    const shapes = this.shapes.split(x.shape, sizes, dim);
    const d = dim < 0 ? dim + x.shape.length : dim;
    return this.items(this.op('split', [x], x.shape, { sizes: shapes.map((s) => s[d]!), dim: d }), shapes);
  }
  view(x: TNode, shape: readonly number[]): TNode {
    const out = this.shapes.view(x.shape, shape);
    return this.op('reshape', [x], out, { shape: out });
  }
  permute(x: TNode, dims: readonly number[]): TNode {
    const out = this.shapes.permute(x.shape, dims);
    return this.op('permute', [x], out, { dims: dims.map((d) => (d < 0 ? d + x.shape.length : d)) });
  }
  transpose(x: TNode, d0: number, d1: number): TNode {
    const r = x.shape.length;
    const perm = x.shape.map((_, i) => i);
    const a = d0 < 0 ? d0 + r : d0;
    const b = d1 < 0 ? d1 + r : d1;
    perm[a] = b;
    perm[b] = a;
    return this.permute(x, perm);
  }
  flatten(x: TNode, start: number, end = -1): TNode {
    const out = this.shapes.flatten(x.shape, start, end);
    return this.op('reshape', [x], out, { shape: out });
  }
  unsqueeze(x: TNode, dim: number): TNode {
    const out = this.shapes.unsqueeze(x.shape, dim);
    return this.op('reshape', [x], out, { shape: out });
  }
  sigmoid(x: TNode): TNode {
    return this.op('sigmoid', [x], x.shape);
  }
  softmax(x: TNode, dim: number): TNode {
    return this.op('softmax', [x], x.shape, { dim: dim < 0 ? dim + x.shape.length : dim });
  }
  relu(x: TNode): TNode {
    return this.op('relu', [x], x.shape);
  }
  matmul(a: TNode, b: TNode): TNode {
    return this.op('matmul', [a, b], this.shapes.matmul(a.shape, b.shape));
  }
  maxDim(x: TNode, dim: number, keepdim: boolean): TNode {
    return this.op('max', [x], this.shapes.maxDim(x.shape, dim, keepdim), { dim: dim < 0 ? dim + x.shape.length : dim, keepdim });
  }
  mean(x: TNode, dims: readonly number[], keepdim: boolean): TNode {
    return this.op('mean', [x], this.shapes.mean(x.shape, dims, keepdim), {
      dims: dims.map((d) => (d < 0 ? d + x.shape.length : d)),
      keepdim,
    });
  }
  expand(x: TNode, shape: readonly number[]): TNode {
    const out = this.shapes.expand(x.shape, shape);
    return this.op('expand', [x], out, { shape: out });
  }
  constant(shape: readonly number[], fill: (index: number) => number): TNode {
    const name = `const/${this.trace.ops.length}`;
    if (this.withTensors) {
      const n = shape.reduce((a, b) => a * b, 1);
      const values = new Float32Array(n);
      for (let i = 0; i < n; i++) values[i] = fill(i);
      this.trace.tensors.set(name, { shape, values });
    }
    return this.op('constant', [], [...shape], {}, name);
  }
  interpolate(x: TNode, size: readonly [number, number] | null, scale: number | null, mode: UpsampleMode): TNode {
    const out = this.shapes.interpolate(x.shape, size, scale);
    return this.op('interpolate', [x], out, { size: out.slice(2), scale, mode });
  }
  pad(x: TNode, pad: readonly [number, number, number, number], value: number): TNode {
    return this.op('pad', [x], this.shapes.pad(x.shape, pad), { pad: [...pad], value });
  }
  maxPool(x: TNode, k: number, s: number, p: number): TNode {
    return this.op('maxpool', [x], this.shapes.maxPool(x.shape, k, s, p), { k, s, p });
  }
  einsum(eq: string, ...xs: TNode[]): TNode {
    return this.op('einsum', xs, this.shapes.einsum(eq, ...xs.map((x) => x.shape)), { eq });
  }
  slice(x: TNode, dim: number, start: number, end: number, step = 1): TNode {
    const out = this.shapes.slice(x.shape, dim, start, end, step);
    const d = dim < 0 ? dim + x.shape.length : dim;
    const n = x.shape[d]!;
    const s = Math.max(0, Math.min(n, start < 0 ? n + start : start));
    return this.op('slice', [x], out, { dim: d, start: s, end: s + (out[d]! - 1) * step + 1, step });
  }
  avgPool(x: TNode, k: number, s: number, p: number, ceil: boolean, countIncludePad: boolean): TNode {
    return this.op('avgpool', [x], this.shapes.avgPool(x.shape, k, s, p, ceil), { k, s, p, ceil, countIncludePad });
  }
  param(m: Mod, name: string): TNode {
    const shape = this.shapes.param(m, name);
    const key = `${this.layer}/${this.paths.get(m) ?? '?'}`;
    const tensor = `${key}.${name}`;
    if (this.withTensors && !this.trace.tensors.has(tensor)) {
      const arrays = m.params?.[name]
        ? ownParamArrays({ [name]: m.params[name]! }, key)
        : m.leaf
          ? leafParamArrays(m.leaf, key).filter((p) => p.name === name)
          : [];
      if (!arrays.length) throw new Error(`'${m.type}' object has no parameter '${name}'`);
      this.trace.tensors.set(tensor, { shape: arrays[0]!.shape, values: arrays[0]!.values });
    }
    return this.op('constant', [], shape, {}, tensor);
  }
  exp(x: TNode): TNode {
    return this.op('exp', [x], x.shape);
  }
  log(x: TNode): TNode {
    return this.op('log', [x], x.shape);
  }
  sqrt(x: TNode): TNode {
    return this.op('sqrt', [x], x.shape);
  }
  sin(x: TNode): TNode {
    return this.op('sin', [x], x.shape);
  }
  cos(x: TNode): TNode {
    return this.op('cos', [x], x.shape);
  }
  clamp(x: TNode, min: number | null, max: number | null): TNode {
    return this.op('clamp', [x], x.shape, { min, max });
  }
  sum(x: TNode, dims: readonly number[], keepdim: boolean): TNode {
    return this.op('sum', [x], this.shapes.sum(x.shape, dims, keepdim), {
      dims: dims.map((d) => (d < 0 ? d + x.shape.length : d)),
      keepdim,
    });
  }
  topk(x: TNode, k: number, dim: number, largest = true): [TNode, TNode] {
    const [v, i] = this.shapes.topk(x.shape, k, dim);
    const d = dim < 0 ? dim + x.shape.length : dim;
    const [values, indices] = this.items(this.op('topk', [x], v, { k, dim: d, largest }), [v, i]);
    return [values!, indices!];
  }
  gather(x: TNode, dim: number, index: TNode): TNode {
    return this.op('gather', [x, index], this.shapes.gather(x.shape, dim, index.shape), { dim: dim < 0 ? dim + x.shape.length : dim });
  }
  floorDiv(x: TNode, d: number): TNode {
    return this.op('floordiv', [x], x.shape, { d });
  }
  remainder(x: TNode, d: number): TNode {
    return this.op('remainder', [x], x.shape, { d });
  }
  toFloat(x: TNode): TNode {
    return this.op('float', [x], x.shape);
  }
  gridSample(
    x: TNode,
    grid: TNode,
    mode: 'bilinear' | 'nearest',
    paddingMode: 'zeros' | 'border' | 'reflection',
    alignCorners: boolean,
  ): TNode {
    return this.op('gridsample', [x, grid], this.shapes.gridSample(x.shape, grid.shape), { mode, paddingMode, alignCorners });
  }
}

const flatten = (o: Out<TNode>): TNode[] =>
  o === null ? [] : Array.isArray(o) ? (o as readonly Out<TNode>[]).flatMap(flatten) : [o as TNode];

/**
 * Traces a planned network, with the same seeded weights and input as the tfjs runtime; `{ tensors: false }` records
 * the ops and shapes only (`trace.tensors` stays empty).
 */
export function traceNetwork(plan: NetworkPlan, options: { tensors?: boolean } = {}): Trace {
  const trace: Trace = { ops: [], tensors: new Map(), layerOutputs: [], outputs: [] };
  const withTensors = options.tensors ?? true;
  const fl = new TraceFlow(trace, withTensors);
  // a graph input: an op, and (with tensors) its seeded values, the same the tfjs runtime draws
  const addInput = (id: number, tensor: string, shape: readonly number[], lo: number, hi: number): TNode => {
    if (withTensors)
      trace.tensors.set(tensor, {
        shape,
        values: uniform(
          tensor,
          shape.reduce((a, b) => a * b, 1),
          lo,
          hi,
        ),
      });
    trace.ops.push({ kind: 'input', id, shape, tensor });
    return { id, shape };
  };
  const input = addInput(0, 'input', plan.inputShape, 0, 1);
  const guide0 = plan.guideShape ? addInput(1, 'guide', plan.guideShape, -1, 1) : null;
  driveLayers<TNode>(
    plan.layers,
    input,
    guide0,
    {
      run(k, x, ctx) {
        const l = plan.layers[k]!;
        fl.layer = l.index;
        fl.paths = l.paths;
        const out = fl.callMulti(l.mod, x, ctx);
        trace.layerOutputs[k] = flatten(out).map((o) => o.id);
        return out;
      },
      asOne: (out) => (out !== null && !Array.isArray(out) ? (out as TNode) : null),
      flatten,
    },
    (k) => plan.layers[k]!.ctx,
  );
  trace.outputs.push(...trace.layerOutputs[trace.layerOutputs.length - 1]!);
  return trace;
}

/** The trace as JSON plus one binary blob of float32 tensors (offsets in the JSON), for other processes. */
export function serializeTrace(trace: Trace): { json: string; blob: Buffer } {
  const index: Record<string, { shape: readonly number[]; offset: number; length: number }> = {};
  const parts: Buffer[] = [];
  let offset = 0;
  for (const [name, t] of trace.tensors) {
    index[name] = { shape: t.shape, offset, length: t.values.length };
    const b = Buffer.from(t.values.buffer, t.values.byteOffset, t.values.byteLength);
    parts.push(b);
    offset += b.length;
  }
  return {
    json: JSON.stringify({ ops: trace.ops, tensors: index, layerOutputs: trace.layerOutputs, outputs: trace.outputs }),
    blob: Buffer.concat(parts),
  };
}
