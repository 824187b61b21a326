/**
 * The exported ONNX graph as onnx.ts builds it (nodes, initializers), and rewrites of it that onnxruntime's own
 * optimiser does not make, each chosen by paired timings (bench figures in the commit that added it). Every rewrite
 * computes the same numbers; node names keep their `L<layer>/` prefix so the profile still sums kernel time per layer.
 */

export type Attr = number | string | readonly number[] | { floats: readonly number[] } | { float: number };

export interface OnnxNode {
  op: string;
  inputs: string[];
  outputs: string[];
  name: string;
  attrs?: Record<string, Attr>;
}

export interface Initializer {
  name: string;
  dims: readonly number[];
  /** FLOAT = 1, INT64 = 7 */
  type: 1 | 7;
  raw: Uint8Array;
}

/** Ops applied element by element, whose other inputs (if any) are scalars: a channel slice commutes with them. */
const ELEMENTWISE = new Set([
  'Sigmoid',
  'Mul',
  'Add',
  'Sub',
  'Div',
  'Relu',
  'LeakyRelu',
  'Clip',
  'HardSwish',
  'HardSigmoid',
  'Tanh',
  'Elu',
  'Softplus',
  'Erf',
  'Identity',
]);

/**
 * Output channels of a split part must fill whole blocks of onnxruntime's NCHWc layout (8 floats with AVX2, 16 with
 * AVX-512): the parts then stay in that layout, which is the point.
 */
const CHANNEL_BLOCK = 16;

/**
 * A channel Split of a convolution's output (C2f's and C3k2's `chunk(2, 1)`, through its activation) becomes one
 * convolution per part, each with its slice of the weights. onnxruntime keeps convolutions, their activations,
 * Add and channel Concat in its blocked NCHWc layout but not Split: the split forced the tensor back to NCHW and
 * every consumer of a part back into NCHWc (ReorderOutput/ReorderInput kernels around each C2f block), where the
 * per-part convolutions produce NCHWc tensors directly. Each output channel is computed as before.
 *
 * `keep`: tensors that must stay (graph outputs). Nodes are rewritten in place of the Split, so the list stays in
 * topological order.
 */
export function splitConvsAtChannelSplits(nodes: OnnxNode[], inits: Initializer[], keep: ReadonlySet<string>): OnnxNode[] {
  const { producer, consumers, initOf } = indexGraph(nodes, inits);
  const isScalar = (name: string) => initOf.get(name)?.dims.length === 0;
  const removed = new Set<number>();
  const added = new Map<number, OnnxNode[]>();

  for (let si = 0; si < nodes.length; si++) {
    const split = nodes[si]!;
    if (split.op !== 'Split' || split.attrs?.axis !== 1) continue;
    const sizesInit = initOf.get(split.inputs[1] ?? '');
    if (!sizesInit || sizesInit.type !== 7) continue;
    const sizes = [...new BigInt64Array(sizesInit.raw.slice().buffer)].map(Number);
    if (sizes.some((s) => s % CHANNEL_BLOCK !== 0)) continue;
    const t = split.inputs[0]!;

    // the element-wise nodes between one Conv and the Split
    const region = new Set<number>();
    let conv = -1;
    const reaches = (tensor: string): boolean => {
      const pi = producer.get(tensor);
      if (pi === undefined || removed.has(pi)) return false;
      const n = nodes[pi]!;
      if (n.op === 'Conv') {
        if (conv !== -1 && conv !== pi) return false;
        conv = pi;
        return true;
      }
      if (!ELEMENTWISE.has(n.op) || n.outputs.length !== 1) return false;
      if (region.has(pi)) return true;
      region.add(pi);
      return n.inputs.every((x) => x === '' || isScalar(x) || reaches(x));
    };
    if (!reaches(t) || conv === -1) continue;
    const c = nodes[conv]!;
    const weight = initOf.get(c.inputs[1]!);
    const bias = c.inputs[2] ? initOf.get(c.inputs[2]) : undefined;
    if ((c.attrs?.group ?? 1) !== 1 || !weight || weight.type !== 1 || (c.inputs[2] && !bias)) continue;
    if (sizes.reduce((a, b) => a + b, 0) !== weight.dims[0]) continue;
    // nothing else may read the Conv's output or what the region computes from it
    const inside = new Set([...region, si]);
    const tensors = [c.outputs[0]!, ...[...region].map((i) => nodes[i]!.outputs[0]!)];
    if (tensors.some((x) => keep.has(x) || (consumers.get(x) ?? []).some((i) => !inside.has(i)))) continue;

    const perOut = weight.raw.length / weight.dims[0]!;
    const slice = (init: Initializer, per: number, from: number, to: number, part: number): string => {
      const name = `${init.name}#${part}`;
      inits.push({ name, dims: [to - from, ...init.dims.slice(1)], type: 1, raw: init.raw.slice(from * per, to * per) });
      return name;
    };
    const parts: OnnxNode[] = [];
    let from = 0;
    sizes.forEach((size, part) => {
      const to = from + size;
      const rename = (x: string) => (x === t ? split.outputs[part]! : tensors.includes(x) ? `${x}#${part}` : x);
      const w = slice(weight, perOut, from, to, part);
      const b = bias ? [slice(bias, 4, from, to, part)] : [];
      parts.push({ ...c, inputs: [c.inputs[0]!, w, ...b], outputs: [rename(c.outputs[0]!)], name: `${c.name}/part${part}` });
      for (const i of [...region].sort((p, q) => p - q)) {
        const n = nodes[i]!;
        parts.push({ ...n, inputs: n.inputs.map(rename), outputs: n.outputs.map(rename), name: `${n.name}/part${part}` });
      }
      from = to;
    });
    removed.add(conv).add(si);
    for (const i of region) removed.add(i);
    added.set(si, parts);
  }

  return applyEdits(nodes, inits, added, removed);
}

/**
 * A Transpose that moves the last axis to the channels (rank 4) feeding a 1x1 convolution to one channel (DFL's
 * weighted sum over the bins, after its softmax on the last axis): a MatMul on the last axis instead, then a
 * Transpose that only moves the size-1 axis. onnxruntime ran the convolution in its NCHWc layout with 8 output
 * channels for the one, behind a full Transpose and a ReorderInput.
 */
export function channelSumsAsMatMul(nodes: OnnxNode[], inits: Initializer[], keep: ReadonlySet<string>): OnnxNode[] {
  const { producer, consumers, initOf } = indexGraph(nodes, inits);
  const removed = new Set<number>();
  const replaced = new Map<number, OnnxNode[]>();
  nodes.forEach((conv, ci) => {
    if (conv.op !== 'Conv' || conv.inputs.length !== 2) return;
    const weight = initOf.get(conv.inputs[1]!);
    const a = conv.attrs ?? {};
    const ones = (v: Attr | undefined) => v === undefined || (Array.isArray(v) && v.every((x) => x === 1));
    const zeros = (v: Attr | undefined) => v === undefined || (Array.isArray(v) && v.every((x) => x === 0));
    if (!weight || weight.type !== 1 || weight.dims.join() !== `1,${weight.dims[1]},1,1`) return;
    if ((a.group ?? 1) !== 1 || !ones(a.strides) || !ones(a.dilations) || !zeros(a.pads) || a.auto_pad !== undefined) return;
    const t = conv.inputs[0]!;
    const ti = producer.get(t);
    const transpose = ti === undefined ? undefined : nodes[ti]!;
    if (!transpose || transpose.op !== 'Transpose' || (transpose.attrs?.perm as readonly number[] | undefined)?.join() !== '0,3,1,2')
      return;
    if (consumers.get(t)?.length !== 1 || keep.has(t)) return;
    // [C] as [C, 1]: the same bytes
    const w = `${weight.name}#matmul`;
    inits.push({ name: w, dims: [weight.dims[1]!, 1], type: 1, raw: weight.raw });
    const out = conv.outputs[0]!;
    removed.add(ti!);
    replaced.set(ci, [
      { op: 'MatMul', inputs: [transpose.inputs[0]!, w], outputs: [`${out}_mm`], name: `${conv.name}/matmul` },
      { op: 'Transpose', inputs: [`${out}_mm`], outputs: [out], name: conv.name, attrs: { perm: [0, 3, 1, 2] } },
    ]);
  });
  return applyEdits(nodes, inits, replaced, removed);
}

/** Where each tensor comes from (node index), which nodes read it (once per input slot), and initializers by name. */
function indexGraph(
  nodes: readonly OnnxNode[],
  inits: readonly Initializer[],
): { producer: Map<string, number>; consumers: Map<string, number[]>; initOf: Map<string, Initializer> } {
  const producer = new Map<string, number>();
  const consumers = new Map<string, number[]>();
  nodes.forEach((n, i) => {
    for (const o of n.outputs) producer.set(o, i);
    for (const x of n.inputs) if (x) consumers.set(x, [...(consumers.get(x) ?? []), i]);
  });
  return { producer, consumers, initOf: new Map(inits.map((t) => [t.name, t])) };
}

/**
 * A rewrite's result: each node at a replaced index gives way to its replacements (in place, so the list stays in
 * topological order), removed ones go, and initializers no node reads any more (the replaced weights) are dropped.
 */
function applyEdits(
  nodes: readonly OnnxNode[],
  inits: Initializer[],
  replaced: ReadonlyMap<number, OnnxNode[]>,
  removed: ReadonlySet<number>,
): OnnxNode[] {
  const out = nodes.flatMap((n, i) => replaced.get(i) ?? (removed.has(i) ? [] : [n]));
  const used = new Set(out.flatMap((n) => n.inputs));
  for (let i = inits.length - 1; i >= 0; i--) if (!used.has(inits[i]!.name)) inits.splice(i, 1);
  return out;
}
