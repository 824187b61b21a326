/**
 * ONNX export of a traced network (opset 17), for the onnxruntime-node profile backend: each traced op becomes
 * ONNX nodes named `L<layer>/<module path>` so the runtime's profiling trace can be summed per YOLO layer.
 * Encoded by protobufjs from the schema subset in onnx-schema.ts.
 */
import type { LeafOp } from '../core/nn/module.ts';
import type { Trace, TraceOp } from './trace.ts';
import { modelProto } from './onnx-schema.ts';
import { channelSumsAsMatMul, splitConvsAtChannelSplits, type Attr, type Initializer, type OnnxNode } from './onnx-graph.ts';

// ---- ONNX messages --------------------------------------------------------------------------------------------

const FLOAT = 1;
const INT64 = 7;

/** An attribute as AttributeProto: its type tag and the one field that holds its value. */
function attribute(name: string, v: Attr): Record<string, unknown> {
  if (typeof v === 'number') return { name, type: 'INT', i: v };
  if (typeof v === 'string') return { name, type: 'STRING', s: new TextEncoder().encode(v) };
  if (Array.isArray(v)) return { name, type: 'INTS', ints: v };
  if ('floats' in (v as object)) return { name, type: 'FLOATS', floats: (v as { floats: readonly number[] }).floats };
  return { name, type: 'FLOAT', f: (v as { float: number }).float };
}

const valueInfo = (name: string, shape: readonly number[]) => ({
  name,
  type: { tensorType: { elemType: FLOAT, shape: { dim: shape.map((d) => ({ dimValue: d })) } } },
});

/**
 * Opset 17: the newest the ONNX releases in current distributions check (Debian's python3-onnx 1.12), and all the
 * exporter needs (in 18 ReduceMax and ReduceMean moved their axes from an attribute to an input).
 */
const OPSET = 17;

/** The model as ModelProto bytes (IR version 8), encoded by protobufjs from onnx-schema.ts. */
export function encodeModel(
  nodes: OnnxNode[],
  inits: Initializer[],
  inputs: [string, readonly number[]][],
  outputs: [string, readonly number[]][],
): Uint8Array {
  const type = modelProto();
  const model = {
    irVersion: 8,
    producerName: 'yolo-lens',
    producerVersion: '0.1',
    graph: {
      node: nodes.map((n) => ({
        input: n.inputs,
        output: n.outputs,
        name: n.name,
        opType: n.op,
        attribute: Object.entries(n.attrs ?? {}).map(([k, v]) => attribute(k, v)),
      })),
      name: 'yolo-lens',
      initializer: inits.map((t) => ({ dims: t.dims, dataType: t.type, name: t.name, rawData: t.raw })),
      input: inputs.map(([name, shape]) => valueInfo(name, shape)),
      output: outputs.map(([name, shape]) => valueInfo(name, shape)),
    },
    opsetImport: [{ domain: '', version: OPSET }],
  };
  const message = type.fromObject(model);
  const err = type.verify(message);
  if (err) throw new Error(`internal: the ONNX model does not fit the schema: ${err}`);
  return type.encode(message).finish();
}

// ---- traced ops → ONNX nodes ----------------------------------------------------------------------------------

export class OnnxUnsupported extends Error {}

/** Exports a trace. `outputs`: every layer's outputs (for the shape check) or only the model's (for timing). */
export function exportOnnx(
  trace: Trace,
  outputs: 'model' | 'layers' = 'model',
): { bytes: Uint8Array; inputs: string[]; outputNames: string[]; layerOutputNames: string[][] } {
  const nodes: OnnxNode[] = [];
  const inits: Initializer[] = [];
  const graphInputs: [string, readonly number[]][] = [];
  const nameOf = new Map<number, string>();
  const shapeOf = new Map<number, readonly number[]>();
  let unique = 0;
  const f32 = (name: string, dims: readonly number[], values: ArrayLike<number>): string => {
    const a = Float32Array.from(values as ArrayLike<number>);
    inits.push({ name, dims, type: FLOAT, raw: new Uint8Array(a.buffer) });
    return name;
  };
  const i64 = (dims: readonly number[] | null, values: readonly number[]): string => {
    const name = `c${unique++}`;
    const a = new BigInt64Array(values.map((v) => BigInt(v)));
    inits.push({ name, dims: dims ?? [values.length], type: INT64, raw: new Uint8Array(a.buffer) });
    return name;
  };
  const scalar = (v: number): string => f32(`c${unique++}`, [], [v]);
  const weight = (name: string | undefined): string => {
    if (!name) throw new OnnxUnsupported('a parameter is missing');
    const t = trace.tensors.get(name)!;
    if (!inits.some((i) => i.name === name)) f32(name, t.shape, t.values);
    return name;
  };

  for (const o of trace.ops) {
    // tensor names carry the layer too: onnxruntime names the kernels it rewrites (NCHWc convs) after their output
    const out = o.kind === 'input' ? o.tensor : `L${o.layer}/t${o.id}`;
    if (o.kind === 'input') {
      graphInputs.push([o.tensor, o.shape]);
      nameOf.set(o.id, o.tensor);
      shapeOf.set(o.id, o.shape);
      continue;
    }
    if (o.kind === 'item') {
      nameOf.set(o.id, `L${o.layer}/t${o.of}_${o.index}`);
      shapeOf.set(o.id, o.shape);
      continue;
    }
    const ins = o.inputs.map((i) => nameOf.get(i)!);
    const name = o.kind === 'leaf' ? `L${o.layer}/${o.path || o.leaf.op}#${o.id}` : `L${o.layer}/${o.op}#${o.id}`;
    const node = (op: string, inputs: string[], outputs: string[] = [out], attrs: Record<string, Attr> = {}, suffix = '') =>
      nodes.push({ op, inputs, outputs, name: name + suffix, attrs });
    nameOf.set(o.id, out);
    shapeOf.set(o.id, o.shape);
    if (o.kind === 'leaf') leafNodes(o, ins, out, node, weight, scalar, i64, (n) => trace.tensors.get(n)!, f32);
    else opNodes(o, ins, out, node, i64, scalar, shapeOf, trace, f32);
  }
  const layerOutputNames = trace.layerOutputs.map((ids) => ids.map((i) => nameOf.get(i)!));
  const wanted = outputs === 'model' ? trace.outputs : [...new Set(trace.layerOutputs.flat())];
  // a graph output must be produced by a node: an output that is a graph input (an Identity layer) gets one
  const graphOutputs: [string, readonly number[]][] = wanted.map((i) => {
    let n = nameOf.get(i)!;
    if (graphInputs.some(([g]) => g === n)) {
      const alias = `${n}_out${unique++}`;
      nodes.push({ op: 'Identity', inputs: [n], outputs: [alias], name: `${alias}` });
      n = alias;
    }
    return [n, shapeOf.get(i)!];
  });
  const dedup = [...new Map(graphOutputs.map((g) => [g[0], g])).values()];
  const keep = new Set(dedup.map(([n]) => n));
  const rewritten = channelSumsAsMatMul(splitConvsAtChannelSplits(nodes, inits, keep), inits, keep);
  return {
    bytes: encodeModel(rewritten, inits, graphInputs, dedup),
    inputs: graphInputs.map(([n]) => n),
    outputNames: trace.outputs.map((i) => nameOf.get(i)!),
    layerOutputNames,
  };
}

type NodeFn = (op: string, inputs: string[], outputs?: string[], attrs?: Record<string, Attr>, suffix?: string) => void;

function leafNodes(
  o: Extract<TraceOp, { kind: 'leaf' }>,
  ins: string[],
  out: string,
  node: NodeFn,
  weight: (n: string | undefined) => string,
  scalar: (v: number) => string,
  i64: (d: readonly number[] | null, v: readonly number[]) => string,
  tensor: (name: string) => { shape: readonly number[]; values: Float32Array },
  f32: (name: string, dims: readonly number[], values: ArrayLike<number>) => string,
): void {
  const l: LeafOp = o.leaf;
  const x = ins[0]!;
  const p = o.params;
  switch (l.op) {
    case 'conv2d':
      node('Conv', [x, weight(p.weight), ...(p.bias ? [weight(p.bias)] : [])], [out], {
        kernel_shape: l.k,
        strides: l.s,
        pads: [l.p[0], l.p[1], l.p[0], l.p[1]],
        dilations: l.d,
        group: l.g,
      });
      return;
    case 'convTranspose2d':
      node('ConvTranspose', [x, weight(p.weight), ...(p.bias ? [weight(p.bias)] : [])], [out], {
        kernel_shape: l.k,
        strides: l.s,
        pads: [l.p[0], l.p[1], l.p[0], l.p[1]],
        dilations: l.d,
        group: l.g,
        output_padding: l.outputPadding,
      });
      return;
    case 'batchNorm2d':
      node('BatchNormalization', [x, weight(p.weight), weight(p.bias), weight(p.running_mean), weight(p.running_var)], [out], {
        epsilon: { float: l.eps },
      });
      return;
    case 'act': {
      const t = `${out}_a`;
      switch (l.fn) {
        case 'SiLU':
          node('Sigmoid', [x], [t], {}, '/sigmoid');
          node('Mul', [x, t]);
          return;
        case 'ReLU':
          return node('Relu', [x]);
        case 'ReLU6':
          return node('Clip', [x, scalar(0), scalar(6)]);
        case 'LeakyReLU':
          return node('LeakyRelu', [x], [out], { alpha: { float: l.slope ?? 0.01 } });
        case 'Mish': {
          // x·tanh(softplus(x)) = x·u/(2−u) with u = σ(x)(2−σ(x)): onnxruntime expands its Mish into Softplus,
          // whose kernel is ten times slower than a convolution here; Sigmoid is vectorised
          node('Sigmoid', [x], [`${t}s`], {}, '/sigmoid');
          node('Sub', [scalar(2), `${t}s`], [`${t}2s`], {}, '/2-s');
          node('Mul', [`${t}s`, `${t}2s`], [`${t}u`], {}, '/u');
          node('Sub', [scalar(2), `${t}u`], [`${t}2u`], {}, '/2-u');
          node('Div', [`${t}u`, `${t}2u`], [`${t}r`], {}, '/ratio');
          return node('Mul', [x, `${t}r`]);
        }
        case 'Hardswish':
          return node('HardSwish', [x]);
        case 'Hardsigmoid':
          return node('HardSigmoid', [x], [out], { alpha: { float: 1 / 6 }, beta: { float: 0.5 } });
        case 'Sigmoid':
          return node('Sigmoid', [x]);
        case 'Tanh':
          return node('Tanh', [x]);
        case 'ELU':
          return node('Elu', [x]);
        case 'Softplus':
          return node('Softplus', [x]);
        case 'GELU':
          if (l.approximate === 'tanh') throw new OnnxUnsupported('GELU(tanh) in ONNX opset 17');
          node('Div', [x, scalar(Math.SQRT2)], [`${t}0`], {}, '/div');
          node('Erf', [`${t}0`], [`${t}1`], {}, '/erf');
          node('Add', [`${t}1`, scalar(1)], [`${t}2`], {}, '/add');
          node('Mul', [x, `${t}2`], [`${t}3`], {}, '/mul');
          return node('Mul', [`${t}3`, scalar(0.5)]);
        case 'PReLU':
          throw new OnnxUnsupported('PReLU');
      }
      return;
    }
    case 'identity':
    case 'dropout':
      return node('Identity', [x]);
    case 'maxPool2d':
      return node('MaxPool', [x], [out], {
        kernel_shape: l.k,
        strides: l.s,
        pads: [l.p[0], l.p[1], l.p[0], l.p[1]],
        dilations: l.d,
        ceil_mode: l.ceil ? 1 : 0,
      });
    case 'avgPool2d':
      return node('AveragePool', [x], [out], {
        kernel_shape: l.k,
        strides: l.s,
        pads: [l.p[0], l.p[1], l.p[0], l.p[1]],
        ceil_mode: l.ceil ? 1 : 0,
        count_include_pad: l.countIncludePad ? 1 : 0,
      });
    case 'adaptiveAvgPool2d':
    case 'adaptiveMaxPool2d': {
      const avg = l.op === 'adaptiveAvgPool2d';
      const [oh, ow] = [o.shape[2]!, o.shape[3]!];
      if (oh === 1 && ow === 1) return node(avg ? 'GlobalAveragePool' : 'GlobalMaxPool', [x]);
      // torch's bins [floor(i·H/oh), ceil((i+1)·H/oh)): one slice and reduction per output cell
      const [h, w] = [o.inShapes[0]?.[2] ?? NaN, o.inShapes[0]?.[3] ?? NaN];
      if (!Number.isFinite(h) || oh * ow > 256) throw new OnnxUnsupported(`${l.op} to ${oh}x${ow}`);
      const rows: string[] = [];
      for (let i = 0; i < oh; i++) {
        const cells: string[] = [];
        for (let j = 0; j < ow; j++) {
          const [h0, h1] = [Math.floor((i * h) / oh), Math.ceil(((i + 1) * h) / oh)];
          const [w0, w1] = [Math.floor((j * w) / ow), Math.ceil(((j + 1) * w) / ow)];
          const cell = `${out}_${i}_${j}`;
          node('Slice', [x, i64(null, [h0, w0]), i64(null, [h1, w1]), i64(null, [2, 3])], [`${cell}s`], {}, `/slice${i}_${j}`);
          node(avg ? 'ReduceMean' : 'ReduceMax', [`${cell}s`], [cell], { axes: [2, 3], keepdims: 1 }, `/cell${i}_${j}`);
          cells.push(cell);
        }
        node('Concat', cells, [`${out}_r${i}`], { axis: 3 }, `/row${i}`);
        rows.push(`${out}_r${i}`);
      }
      return node('Concat', rows, [out], { axis: 2 });
    }
    case 'layerNorm':
      return node(
        'LayerNormalization',
        [
          x,
          ...(p.weight
            ? [weight(p.weight), weight(p.bias)]
            : [f32(`${out}_one`, l.shape, new Float32Array(l.shape.reduce((a, b) => a * b, 1)).fill(1))]),
        ],
        [out],
        { axis: -l.shape.length, epsilon: { float: l.eps } },
      );
    case 'groupNorm': {
      // (x − mean) / √(var + ε) over each group of channels, then the per-channel affine
      const t = `${out}_g`;
      node('Reshape', [x, i64(null, [o.shape[0]!, l.groups, -1])], [`${t}r`], {}, '/group');
      node('ReduceMean', [`${t}r`], [`${t}m`], { axes: [2], keepdims: 1 }, '/mean');
      node('Sub', [`${t}r`, `${t}m`], [`${t}d`], {}, '/center');
      node('Mul', [`${t}d`, `${t}d`], [`${t}d2`], {}, '/sq');
      node('ReduceMean', [`${t}d2`], [`${t}v`], { axes: [2], keepdims: 1 }, '/var');
      node('Add', [`${t}v`, scalar(l.eps)], [`${t}ve`], {}, '/eps');
      node('Sqrt', [`${t}ve`], [`${t}s`], {}, '/std');
      node('Div', [`${t}d`, `${t}s`], [`${t}n`], {}, '/norm');
      node('Reshape', [`${t}n`, i64(null, o.shape)], [p.weight ? `${t}y` : out], {}, '/back');
      if (!p.weight) return;
      const bshape = [l.c, ...o.shape.slice(2).map(() => 1)];
      const w = tensor(p.weight);
      const b = tensor(p.bias!);
      node('Mul', [`${t}y`, f32(`${out}_w`, bshape, w.values)], [`${t}yw`], {}, '/scale');
      return node('Add', [`${t}yw`, f32(`${out}_b`, bshape, b.values)]);
    }
    case 'mha': {
      // nn.MultiheadAttention (eval, no mask): projections, scaled dot-product per head, output projection;
      // second output: the attention weights averaged over heads
      const e = l.embed;
      const hN = l.heads;
      const hd = e / hN;
      const inW = tensor(p.in_proj_weight!).values;
      const inB = p.in_proj_bias ? tensor(p.in_proj_bias).values : null;
      const transposed = (w: Float32Array, rows: number, cols: number, r0: number) => {
        const t = new Float32Array(rows * cols);
        for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) t[c * rows + r] = w[(r0 + r) * cols + c]!;
        return t;
      };
      const [q, k, v] = [ins[0]!, ins[1]!, ins[2]!];
      const t = `${out}_m`;
      const bf = (name: string, src: string) => {
        if (l.batchFirst) return src;
        node('Transpose', [src], [`${t}${name}bf`], { perm: [1, 0, 2] }, `/${name}bf`);
        return `${t}${name}bf`;
      };
      const qShape = o.inShapes[0]!;
      const [n, lq] = l.batchFirst ? [qShape[0]!, qShape[1]!] : [qShape[1]!, qShape[0]!];
      const heads = (name: string, src: string, part: number) => {
        node('MatMul', [bf(name, src), f32(`${t}W${name}`, [e, e], transposed(inW, e, e, part * e))], [`${t}${name}p`], {}, `/${name}proj`);
        let y = `${t}${name}p`;
        if (inB) {
          node('Add', [y, f32(`${t}b${name}`, [e], inB.subarray(part * e, (part + 1) * e))], [`${t}${name}pb`], {}, `/${name}bias`);
          y = `${t}${name}pb`;
        }
        node('Reshape', [y, i64(null, [n, -1, hN, hd])], [`${t}${name}h`], {}, `/${name}heads`);
        node('Transpose', [`${t}${name}h`], [`${t}${name}ht`], { perm: [0, 2, 1, 3] }, `/${name}t`);
        return `${t}${name}ht`;
      };
      const qh = heads('q', q, 0);
      const kh = heads('k', k, 1);
      const vh = heads('v', v, 2);
      node('Transpose', [kh], [`${t}kT`], { perm: [0, 1, 3, 2] }, '/kT');
      node('MatMul', [qh, `${t}kT`], [`${t}s`], {}, '/scores');
      node('Mul', [`${t}s`, scalar(1 / Math.sqrt(hd))], [`${t}ss`], {}, '/scale');
      node('Softmax', [`${t}ss`], [`${t}a`], { axis: -1 }, '/softmax');
      node('MatMul', [`${t}a`, vh], [`${t}c`], {}, '/context');
      node('Transpose', [`${t}c`], [`${t}ct`], { perm: [0, 2, 1, 3] }, '/ct');
      node('Reshape', [`${t}ct`, i64(null, [n, lq, e])], [`${t}cr`], {}, '/merge');
      node(
        'MatMul',
        [`${t}cr`, f32(`${t}Wo`, [e, e], transposed(tensor(p['out_proj.weight']!).values, e, e, 0))],
        [`${t}o`],
        {},
        '/outproj',
      );
      let y = `${t}o`;
      if (p['out_proj.bias']) {
        node('Add', [y, weight(p['out_proj.bias'])], [`${t}ob`], {}, '/outbias');
        y = `${t}ob`;
      }
      if (l.batchFirst) node('Identity', [y], [`${out}_0`], {}, '/out');
      else node('Transpose', [y], [`${out}_0`], { perm: [1, 0, 2] }, '/out');
      return node('ReduceMean', [`${t}a`], [`${out}_1`], { axes: [1], keepdims: 0 }, '/weights');
    }
    case 'upsample':
      return resize(node, x, out, o.shape, l.mode, l.alignCorners, i64);
    case 'linear': {
      const t = `${out}_mm`;
      // x · Wᵀ: the transpose of a constant is folded by the runtime when it loads the graph
      node('Transpose', [weight(p.weight)], [`${out}_wt`], { perm: [1, 0] }, '/wt');
      node('MatMul', [x, `${out}_wt`], p.bias ? [t] : [out], {}, '/matmul');
      if (p.bias) node('Add', [t, weight(p.bias)]);
      return;
    }
    case 'zeroPad2d': {
      const [pl, pr, pt, pb] = l.pad;
      return node('Pad', [x, i64(null, [0, 0, pt, pl, 0, 0, pb, pr])]);
    }
    case 'flatten':
      return node('Reshape', [x, i64(null, o.shape)]);
    case 'softmax':
      return softmax(node, x, out, l.dim, o.shape.length);
    case 'pixelShuffle':
      return node('DepthToSpace', [x], [out], { blocksize: l.r, mode: 'CRD' });
    default:
      throw new OnnxUnsupported(l.op);
  }
}

/**
 * Softmax over `axis`. onnxruntime's kernel is slow on any axis but the last (DFL's softmax over dim 1 of
 * [1, 16, 4, 8400]: 6-7 ms at 1 thread, several times that at 2), so the axis is moved last by a Transpose (the
 * other axes keep their order), which the optimiser merges with a Transpose before it, and back after: 1.7 ms for
 * DFL's, the same numbers bit for bit. The Transpose back before a 1x1 convolution becomes a MatMul in onnx-graph.ts.
 */
function softmax(node: NodeFn, x: string, out: string, dim: number, rank: number): void {
  const axis = dim < 0 ? dim + rank : dim;
  if (axis === rank - 1) return node('Softmax', [x], [out], { axis });
  const perm = [...[...Array(rank).keys()].filter((d) => d !== axis), axis];
  const back = perm.map((_, d) => perm.indexOf(d));
  node('Transpose', [x], [`${out}_last`], { perm }, '/to-last');
  node('Softmax', [`${out}_last`], [`${out}_soft`], { axis: -1 }, '/softmax');
  return node('Transpose', [`${out}_soft`], [out], { perm: back });
}

function resize(
  node: NodeFn,
  x: string,
  out: string,
  shape: readonly number[],
  mode: string,
  alignCorners: boolean | null,
  i64: (d: readonly number[] | null, v: readonly number[]) => string,
): void {
  const sizes = i64(null, shape);
  const base = { nearest_mode: 'floor' } as Record<string, Attr>;
  if (mode === 'nearest')
    return node('Resize', [x, '', '', sizes], [out], { ...base, mode: 'nearest', coordinate_transformation_mode: 'asymmetric' });
  // torch's nearest-exact takes floor((o + 0.5)·in/out): ONNX's half_pixel source (o + 0.5)·in/out − 0.5, rounded
  // half up, is the same index
  if (mode === 'nearest-exact')
    return node('Resize', [x, '', '', sizes], [out], {
      mode: 'nearest',
      coordinate_transformation_mode: 'half_pixel',
      nearest_mode: 'round_prefer_ceil',
    });
  if (mode === 'bilinear' || mode === 'bicubic')
    return node('Resize', [x, '', '', sizes], [out], {
      mode: mode === 'bilinear' ? 'linear' : 'cubic',
      cubic_coeff_a: { float: -0.75 },
      coordinate_transformation_mode: alignCorners ? 'align_corners' : mode === 'bilinear' ? 'pytorch_half_pixel' : 'half_pixel',
    });
  throw new OnnxUnsupported(`upsampling mode ${mode}`);
}

function opNodes(
  o: Extract<TraceOp, { kind: 'op' }>,
  ins: string[],
  out: string,
  node: NodeFn,
  i64: (d: readonly number[] | null, v: readonly number[]) => string,
  scalar: (v: number) => string,
  shapeOf: Map<number, readonly number[]>,
  trace: Trace,
  f32: (name: string, dims: readonly number[], values: ArrayLike<number>) => string,
): void {
  const a = o.attrs as Record<string, unknown>;
  switch (o.op) {
    case 'cat':
      return node('Concat', ins, [out], { axis: a.dim as number });
    case 'add':
    case 'sub':
    case 'mul':
    case 'div':
      return node({ add: 'Add', sub: 'Sub', mul: 'Mul', div: 'Div' }[o.op]!, ins);
    case 'scale':
      return node('Mul', [ins[0]!, scalar(a.factor as number)]);
    case 'split': {
      const sizes = a.sizes as number[];
      return node(
        'Split',
        [ins[0]!, i64(null, sizes)],
        sizes.map((_, i) => `${out}_${i}`),
        { axis: a.dim as number },
      );
    }
    case 'reshape':
      return node('Reshape', [ins[0]!, i64(null, a.shape as number[])]);
    case 'permute':
      return node('Transpose', ins, [out], { perm: a.dims as number[] });
    case 'sigmoid':
      return node('Sigmoid', ins);
    case 'relu':
      return node('Relu', ins);
    case 'softmax':
      return softmax(node, ins[0]!, out, a.dim as number, o.shape.length);
    case 'matmul':
      return node('MatMul', ins);
    case 'max':
      return node('ReduceMax', [ins[0]!], [out], { axes: [a.dim as number], keepdims: a.keepdim ? 1 : 0 });
    case 'mean':
      return node('ReduceMean', [ins[0]!], [out], { axes: a.dims as number[], keepdims: a.keepdim ? 1 : 0 });
    case 'expand':
      return node('Expand', [ins[0]!, i64(null, a.shape as number[])]);
    case 'constant': {
      const t = trace.tensors.get(o.tensor!)!;
      f32(o.tensor!, t.shape, t.values);
      return node('Identity', [o.tensor!]);
    }
    case 'interpolate':
      return resize(node, ins[0]!, out, o.shape, a.mode as string, null, i64);
    case 'pad': {
      const [l, r, t, b] = a.pad as number[];
      const rank = shapeOf.get(o.inputs[0]!)!.length;
      const begin = new Array<number>(rank).fill(0);
      const end = new Array<number>(rank).fill(0);
      begin[rank - 1] = l!;
      end[rank - 1] = r!;
      begin[rank - 2] = t!;
      end[rank - 2] = b!;
      return node('Pad', [ins[0]!, i64(null, [...begin, ...end]), scalar(a.value as number)]);
    }
    case 'maxpool': {
      const k = a.k as number;
      const s = a.s as number;
      const p = a.p as number;
      return node('MaxPool', ins, [out], { kernel_shape: [k, k], strides: [s, s], pads: [p, p, p, p] });
    }
    case 'einsum':
      return node('Einsum', ins, [out], { equation: a.eq as string });
    case 'slice':
      return node('Slice', [
        ins[0]!,
        i64(null, [a.start as number]),
        i64(null, [a.end as number]),
        i64(null, [a.dim as number]),
        i64(null, [a.step as number]),
      ]);
    case 'avgpool': {
      const k = a.k as number;
      const st = a.s as number;
      const p = a.p as number;
      return node('AveragePool', ins, [out], {
        kernel_shape: [k, k],
        strides: [st, st],
        pads: [p, p, p, p],
        ceil_mode: a.ceil ? 1 : 0,
        count_include_pad: a.countIncludePad ? 1 : 0,
      });
    }
    case 'exp':
    case 'log':
    case 'sqrt':
    case 'sin':
    case 'cos':
      return node({ exp: 'Exp', log: 'Log', sqrt: 'Sqrt', sin: 'Sin', cos: 'Cos' }[o.op]!, ins);
    case 'clamp':
      return node('Clip', [ins[0]!, a.min == null ? '' : scalar(a.min as number), a.max == null ? '' : scalar(a.max as number)]);
    case 'sum':
      return node('ReduceSum', [ins[0]!, i64(null, a.dims as number[])], [out], { keepdims: a.keepdim ? 1 : 0 });
    case 'topk':
      return node('TopK', [ins[0]!, i64(null, [a.k as number])], [`${out}_0`, `${out}_1`], {
        axis: a.dim as number,
        largest: a.largest ? 1 : 0,
        sorted: 1,
      });
    case 'gather':
      return node('GatherElements', ins, [out], { axis: a.dim as number });
    case 'floordiv':
      // indices are non-negative: integer division truncates, which is floor here
      return node('Div', [ins[0]!, i64([], [a.d as number])]);
    case 'remainder':
      return node('Mod', [ins[0]!, i64([], [a.d as number])], [out], { fmod: 0 });
    case 'float':
      return node('Cast', ins, [out], { to: FLOAT });
    case 'gridsample':
      if (a.paddingMode === 'reflection') throw new OnnxUnsupported('grid_sample with reflection padding');
      return node('GridSample', ins, [out], {
        mode: a.mode as string,
        padding_mode: a.paddingMode as string,
        align_corners: a.alignCorners ? 1 : 0,
      });
    default:
      throw new OnnxUnsupported(o.op);
  }
}
