/**
 * The exporter's graph rewrites (onnx-graph.ts) change how onnxruntime runs a graph, never what it computes: a
 * rewritten graph gives the numbers of the graph as traced, bit for bit, and a graph the rewrite does not fit is
 * left as it is.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeModel } from '../../server/src/runtime/onnx.ts';
import { channelSumsAsMatMul, splitConvsAtChannelSplits, type Initializer, type OnnxNode } from '../../server/src/runtime/onnx-graph.ts';
import { loadOrt } from '../../server/src/runtime/ort.ts';
import { uniform } from '../../server/src/runtime/weights.ts';

const f32 = (name: string, dims: number[], lo = -1, hi = 1): Initializer => {
  const a = uniform(
    name,
    dims.reduce((x, y) => x * y, 1),
    lo,
    hi,
  );
  return { name, dims, type: 1, raw: new Uint8Array(a.buffer) };
};
const i64 = (name: string, values: number[]): Initializer => ({
  name,
  dims: [values.length],
  type: 7,
  raw: new Uint8Array(new BigInt64Array(values.map(BigInt)).buffer),
});
const scalar = (name: string, v: number): Initializer => ({ name, dims: [], type: 1, raw: new Uint8Array(Float32Array.of(v).buffer) });

/**
 * C2f's pattern: Conv → SiLU (Sigmoid, Mul) → Split in two along the channels; one part feeds a Conv whose output
 * is added to it, and the Concat takes them all. `sizes` are the split's parts.
 */
function c2f(sizes: number[]): { nodes: OnnxNode[]; inits: Initializer[] } {
  const c = sizes.reduce((a, b) => a + b, 0);
  const last = sizes[sizes.length - 1]!;
  const inits = [
    f32('cv1.weight', [c, 8, 3, 3]),
    f32('cv1.bias', [c]),
    f32('m.weight', [last, last, 1, 1]),
    i64('sizes', sizes),
    scalar('half', 0.5),
  ];
  const nodes: OnnxNode[] = [
    {
      op: 'Conv',
      inputs: ['x', 'cv1.weight', 'cv1.bias'],
      outputs: ['L0/c'],
      name: 'L0/cv1',
      attrs: { kernel_shape: [3, 3], pads: [1, 1, 1, 1] },
    },
    { op: 'Sigmoid', inputs: ['L0/c'], outputs: ['L0/s'], name: 'L0/act/sigmoid' },
    { op: 'Mul', inputs: ['L0/c', 'L0/s'], outputs: ['L0/a'], name: 'L0/act' },
    { op: 'Mul', inputs: ['L0/a', 'half'], outputs: ['L0/h'], name: 'L0/scale' },
    { op: 'Split', inputs: ['L0/h', 'sizes'], outputs: sizes.map((_, i) => `L0/y${i}`), name: 'L0/split', attrs: { axis: 1 } },
    { op: 'Conv', inputs: [`L0/y${sizes.length - 1}`, 'm.weight'], outputs: ['L0/m'], name: 'L0/m', attrs: { kernel_shape: [1, 1] } },
    { op: 'Add', inputs: [`L0/y${sizes.length - 1}`, 'L0/m'], outputs: ['L0/r'], name: 'L0/add' },
    { op: 'Concat', inputs: [...sizes.map((_, i) => `L0/y${i}`), 'L0/r'], outputs: ['y'], name: 'L0/cat', attrs: { axis: 1 } },
  ];
  return { nodes, inits };
}

const ort = loadOrt();

async function run(nodes: OnnxNode[], inits: Initializer[], outputs: [string, number[]][], x = [1, 8, 12, 12]): Promise<Float32Array[]> {
  const bytes = encodeModel(nodes, inits, [['x', x]], outputs);
  const session = await ort!.InferenceSession.create(bytes, {
    executionProviders: ['cpu'],
    intraOpNumThreads: 1,
    graphOptimizationLevel: 'all',
  });
  try {
    const n = x.reduce((a, b) => a * b, 1);
    const out = await session.run({ x: new ort!.Tensor('float32', uniform('x', n, -4, 4), x) });
    return outputs.map(([n]) => out[n]!.data);
  } finally {
    await session.release();
  }
}

test('a channel Split of a convolution becomes one convolution per part, each with its slice of the weights', () => {
  const { nodes, inits } = c2f([16, 32]);
  const out = splitConvsAtChannelSplits(nodes, inits, new Set(['y']));
  assert.equal(out.filter((n) => n.op === 'Split').length, 0);
  const convs = out.filter((n) => n.op === 'Conv' && n.name.startsWith('L0/cv1'));
  assert.deepEqual(
    convs.map((n) => n.name),
    ['L0/cv1/part0', 'L0/cv1/part1'],
  );
  const dims = (name: string) => inits.find((t) => t.name === name)!.dims;
  assert.deepEqual(
    convs.map((n) => [dims(n.inputs[1]!), dims(n.inputs[2]!)]),
    [
      [[16, 8, 3, 3], [16]],
      [[32, 8, 3, 3], [32]],
    ],
  );
  // the activation and the scale run per part, into the split's own output names; every node keeps its layer
  assert.deepEqual(out.filter((n) => n.op === 'Mul').length, 4);
  assert.ok(out.some((n) => n.outputs.includes('L0/y0')) && out.some((n) => n.outputs.includes('L0/y1')));
  assert.ok(out.every((n) => n.name.startsWith('L0/')));
  // the whole weights are gone, the slices are in
  assert.ok(!inits.some((t) => t.name === 'cv1.weight'));
});

test('a Split the rewrite does not fit stays', () => {
  // parts that are not whole NCHWc blocks
  const odd = c2f([8, 24]);
  assert.deepEqual(splitConvsAtChannelSplits(odd.nodes, odd.inits, new Set(['y'])), odd.nodes);
  // the activation's output read by something besides the Split (a graph output here)
  const read = c2f([16, 16]);
  assert.deepEqual(splitConvsAtChannelSplits(read.nodes, read.inits, new Set(['y', 'L0/a'])), read.nodes);
  // a grouped convolution
  const grouped = c2f([16, 16]);
  grouped.nodes[0] = { ...grouped.nodes[0]!, attrs: { ...grouped.nodes[0]!.attrs, group: 2 } };
  assert.deepEqual(splitConvsAtChannelSplits(grouped.nodes, grouped.inits, new Set(['y'])), grouped.nodes);
});

test(
  'onnxruntime computes the same numbers, bit for bit, from the rewritten graph',
  { skip: ort ? false : 'onnxruntime-node is not installed' },
  async () => {
    const { nodes, inits } = c2f([16, 32]);
    const outputs: [string, number[]][] = [['y', [1, 80, 12, 12]]];
    const before = await run(nodes, [...inits], outputs);
    const after = await run(splitConvsAtChannelSplits(nodes, inits, new Set(['y'])), inits, outputs);
    assert.deepEqual(after, before);
  },
);

/** DFL's integral as exported: the bins' softmax on the last axis, moved back to the channels, a 1x1 conv to one. */
function dfl(outChannels = 1): { nodes: OnnxNode[]; inits: Initializer[] } {
  return {
    nodes: [
      { op: 'Transpose', inputs: ['x'], outputs: ['L1/last'], name: 'L1/to-last', attrs: { perm: [0, 2, 3, 1] } },
      { op: 'Softmax', inputs: ['L1/last'], outputs: ['L1/soft'], name: 'L1/softmax', attrs: { axis: -1 } },
      { op: 'Transpose', inputs: ['L1/soft'], outputs: ['L1/p'], name: 'L1/back', attrs: { perm: [0, 3, 1, 2] } },
      { op: 'Conv', inputs: ['L1/p', 'dfl.weight'], outputs: ['y'], name: 'L1/dfl.conv', attrs: { kernel_shape: [1, 1] } },
    ],
    inits: [f32('dfl.weight', [outChannels, 16, 1, 1], 0, 15)],
  };
}

test('a 1x1 convolution to one channel behind a Transpose becomes a MatMul on the last axis', () => {
  const { nodes, inits } = dfl();
  const out = channelSumsAsMatMul(nodes, inits, new Set(['y']));
  assert.deepEqual(
    out.map((n) => n.op),
    ['Transpose', 'Softmax', 'MatMul', 'Transpose'],
  );
  assert.deepEqual(inits.find((t) => t.name === out[2]!.inputs[1])!.dims, [16, 1]);
  assert.ok(out.every((n) => n.name.startsWith('L1/')));
  // to two channels, or with the Transpose's output read elsewhere: left as it is
  const two = dfl(2);
  assert.deepEqual(channelSumsAsMatMul(two.nodes, two.inits, new Set(['y'])), two.nodes);
  const read = dfl();
  assert.deepEqual(channelSumsAsMatMul(read.nodes, read.inits, new Set(['y', 'L1/p'])), read.nodes);
});

test(
  'onnxruntime computes the same DFL integral, bit for bit, as a MatMul',
  { skip: ort ? false : 'onnxruntime-node is not installed' },
  async () => {
    const { nodes, inits } = dfl();
    const x = [1, 16, 4, 300];
    const outputs: [string, number[]][] = [['y', [1, 1, 4, 300]]];
    const before = await run(nodes, [...inits], outputs, x);
    const after = await run(channelSumsAsMatMul(nodes, inits, new Set(['y'])), inits, outputs, x);
    assert.deepEqual(after, before);
  },
);
