/**
 * Where PyTorch spends its time, layer by layer: an estimate of the upstream model's per-layer times from the traced
 * network alone, so the profile can rank layers as PyTorch would even though its own engine (onnxruntime, tfjs) has
 * other kernels. Measured against real PyTorch, the engines' own per-layer times rank layers differently: PyTorch's
 * max-pool is slow (SPPF takes 5-7% of its time, 1.5-2% of onnxruntime's), and every large activation costs it a
 * separate memory pass (the stem convs at 320 and 160 px take 2-3x onnxruntime's time), while the wide head convs run
 * as fast as onnxruntime's.
 *
 * The estimate is linear in a few work counts per layer (multiply-adds per conv kind and of matmuls, bytes each op
 * writes and convs read, pooling window reads, writes into tensors past the caches, the number of ops), weighted by
 * coefficients fitted to per-layer times of real upstream models in PyTorch (scripts/truth/torch-cost.ts, which
 * measures and fits; the coefficients and the machine they were measured on are in torch-cost-model.json). The
 * coefficients are milliseconds on that machine, so the estimate's shares are what it is for; its total is only that
 * machine's.
 */
import type { ActFn } from '../core/nn/module.ts';
import type { NetworkPlan } from './plan.ts';
import { traceNetwork, type Trace } from './trace.ts';
import model from './torch-cost-model.json';

/** The work counts, in the order of every feature vector and coefficient list. */
export const TORCH_COST_FEATURES = [
  'stemConvGMAC', // convs reading the image (<= 4 channels): PyTorch reorders their sparse input
  'pointwiseConvGMAC', // 1x1, stride 1
  'spatialConvGMAC', // k > 1, stride 1
  'stridedConvGMAC', // stride > 1
  'depthwiseConvGMAC', // grouped
  'matmulGMAC', // attention and linear layers
  'poolReadsG', // pooling window reads (output elements x window)
  'convOutMB', // what convs write
  'convInMB', // what convs read (PyTorch reorders a conv's input into its blocked layout first)
  'cheapActivationMB', // what piecewise-linear activations write (ReLU, LeakyReLU, Hardswish, ...)
  'activationMB', // what activations built on exp write (SiLU, Sigmoid, GELU, ...): a separate pass in PyTorch
  'mishActivationMB', // what Mish writes (exp, log and tanh per element: the Slim-neck fork's Conv)
  'concatMB', // what concatenations write
  'elementwiseMB', // add, mul, sigmoid, softmax, ...
  'resampleMB', // what upsampling writes
  'ops', // ops that run a kernel (views do not)
  'largeWriteMB', // what ops write into tensors larger than LARGE_TENSOR_MB, on top of their kind's count
] as const;
export type TorchCostFeature = (typeof TORCH_COST_FEATURES)[number];

export interface TorchCostModel {
  /** PyTorch version and CPU the coefficients were measured with */
  readonly torch: string;
  readonly cpu: string;
  readonly measured: string;
  /** coefficients per thread setting: `1` and `all` (every core of that machine) */
  readonly coefficients: Readonly<Record<'1' | 'all', Readonly<Record<TorchCostFeature, number>>>>;
  /** the models the coefficients were fitted on, and the ones held out to check them */
  readonly fittedOn: readonly string[];
  readonly heldOut: readonly string[];
}

export const torchCostModel = model as TorchCostModel;

/** Ops that only view their input (no kernel, no bytes written) in PyTorch. */
const VIEWS = new Set(['reshape', 'split', 'identity', 'constant', 'permute', 'flatten', 'dropout', 'expand', 'float']);

const CHEAP_ACTIVATIONS = new Set<ActFn>(['ReLU', 'ReLU6', 'LeakyReLU', 'Hardswish', 'Hardsigmoid', 'PReLU']);

/**
 * Past this size an op's output leaves the caches: PyTorch's element-wise passes over such tensors (a P2 head's decode
 * writes 26 MB per pass at 640) cost more per byte than over small ones.
 */
const LARGE_TENSOR_MB = 16;

const numel = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

/** Per layer, the work counts of its traced ops (`TORCH_COST_FEATURES` order). */
export function layerCostFeatures(trace: Trace, layers: number): number[][] {
  const rows = Array.from({ length: layers }, () => new Array<number>(TORCH_COST_FEATURES.length).fill(0));
  const at = Object.fromEntries(TORCH_COST_FEATURES.map((f, i) => [f, i])) as Record<TorchCostFeature, number>;
  const shapes = new Map<number, readonly number[]>();
  for (const o of trace.ops) {
    shapes.set(o.id, o.shape);
    if (o.kind === 'input' || o.kind === 'item') continue;
    const row = rows[Math.min(Math.max(o.layer, 0), layers - 1)]!;
    const add = (f: TorchCostFeature, v: number) => (row[at[f]] += v);
    const out = numel(o.shape);
    const mb = (out * 4) / 1e6;
    const name = o.kind === 'leaf' ? o.leaf.op : o.op;
    if (VIEWS.has(name)) continue;
    add('ops', 1);
    if (mb > LARGE_TENSOR_MB) add('largeWriteMB', mb);
    if (o.kind === 'leaf') {
      const leaf = o.leaf;
      switch (leaf.op) {
        case 'conv2d':
        case 'convTranspose2d': {
          const macs = (out * (leaf.cin / leaf.g) * leaf.k[0] * leaf.k[1]) / 1e9;
          if (leaf.cin <= 4) add('stemConvGMAC', macs);
          else if (leaf.g > 1) add('depthwiseConvGMAC', macs);
          else if (leaf.s[0] > 1 || leaf.s[1] > 1) add('stridedConvGMAC', macs);
          else if (leaf.k[0] === 1 && leaf.k[1] === 1) add('pointwiseConvGMAC', macs);
          else add('spatialConvGMAC', macs);
          add('convOutMB', mb);
          add('convInMB', (numel(o.inShapes[0] ?? []) * 4) / 1e6);
          break;
        }
        case 'linear':
          add('matmulGMAC', (out * leaf.cin) / 1e9);
          add('elementwiseMB', mb);
          break;
        case 'mha': {
          // four projections of every token, then scores and their weighted sum: tokens^2 x embed per batch each
          const tokens = out / leaf.embed / (o.shape[leaf.batchFirst ? 0 : 1] ?? 1);
          add('matmulGMAC', (4 * out * leaf.embed + 2 * out * tokens) / 1e9);
          add('elementwiseMB', mb);
          break;
        }
        case 'maxPool2d':
        case 'avgPool2d':
          add('poolReadsG', (out * leaf.k[0] * leaf.k[1]) / 1e9);
          break;
        case 'act':
          add(leaf.fn === 'Mish' ? 'mishActivationMB' : CHEAP_ACTIVATIONS.has(leaf.fn) ? 'cheapActivationMB' : 'activationMB', mb);
          break;
        case 'upsample':
          add('resampleMB', mb);
          break;
        default:
          add('elementwiseMB', mb);
      }
      continue;
    }
    if (name === 'matmul') {
      const a = shapes.get(o.inputs[0]!);
      add('matmulGMAC', (out * (a?.[a.length - 1] ?? 1)) / 1e9);
    } else if (name === 'cat') add('concatMB', mb);
    else add('elementwiseMB', mb); // add, mul, sigmoid, softmax, topk, gather, ...
  }
  return rows;
}

/** The estimated PyTorch ms per layer at a thread count (1, or more: the `all` coefficients). */
export function estimateTorchLayerMs(
  features: readonly (readonly number[])[],
  threads: number,
  m: TorchCostModel = torchCostModel,
): number[] {
  const coef = m.coefficients[threads > 1 ? 'all' : '1'];
  return features.map((row) => TORCH_COST_FEATURES.reduce((s, f, i) => s + coef[f] * row[i]!, 0));
}

/**
 * The estimate for a planned network at a thread count, and one line saying what it rests on; null where the network
 * does not trace (the profile reports that layer's failure itself).
 */
export function estimateTorchLayers(plan: NetworkPlan, threads: number): { layerMs: number[]; basis: string } | null {
  let features: number[][];
  try {
    features = layerCostFeatures(traceNetwork(plan, { tensors: false }), plan.layers.length);
  } catch {
    return null;
  }
  const m = torchCostModel;
  const setting = threads > 1 ? 'on all cores' : 'on 1 thread';
  return {
    layerMs: estimateTorchLayerMs(features, threads, m),
    basis:
      `estimated share of the upstream model's time in PyTorch ${m.torch} ${setting}: each layer's work weighted by ` +
      `costs fitted to ${m.fittedOn.length} other models measured on ${m.cpu} on ${m.measured}`,
  };
}

/**
 * Non-negative least squares (coordinate descent on the normal equations): the coefficients are costs, so none may
 * be negative. Rows may be weighted by the caller (the fit weights each model's layers by 1 / its total).
 */
export function fitNonNegative(rows: readonly (readonly number[])[], targets: readonly number[], sweeps = 20000): number[] {
  const k = rows[0]?.length ?? 0;
  const q = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  const c = new Array<number>(k).fill(0);
  rows.forEach((r, n) => {
    for (let i = 0; i < k; i++) {
      c[i]! += r[i]! * targets[n]!;
      for (let j = 0; j < k; j++) q[i]![j]! += r[i]! * r[j]!;
    }
  });
  const x = new Array<number>(k).fill(0);
  for (let sweep = 0; sweep < sweeps; sweep++) {
    let moved = 0;
    for (let i = 0; i < k; i++) {
      if (q[i]![i]! <= 0) continue;
      let g = -c[i]!;
      for (let j = 0; j < k; j++) g += q[i]![j]! * x[j]!;
      const next = Math.max(0, x[i]! - g / q[i]![i]!);
      moved = Math.max(moved, Math.abs(next - x[i]!));
      x[i] = next;
    }
    if (moved < 1e-12) break;
  }
  return x;
}
