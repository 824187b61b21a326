/**
 * The onnxruntime-node profile backend, the `auto` choice wherever it loads: an optional dependency (its npm package
 * carries the CPU binaries; its install script, which only fetches CUDA libraries, is not allowed to run), chosen by
 * bench/forward's figures: it beats the upstream PyTorch model where tfjs wasm takes 1.4-3.2x its time. It is loaded
 * at run time: the platform-specific .vsix carries its own copy (scripts/vsix-targets.mjs), the repo and the CLI take
 * the user's node_modules one, and the universal .vsix or an install without it falls back to tfjs. The traced
 * network is exported to ONNX; per-layer times come from onnxruntime's own profiling trace, summed per `L<layer>/` node.
 */
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Shape } from '../core/nn/module.ts';
import type { NetworkPlan } from './plan.ts';
import { exportOnnx } from './onnx.ts';
import { median } from './stats.ts';
import { traceNetwork, type Trace } from './trace.ts';

/** The few onnxruntime-node types used here (the package is optional, so its typings may be absent). */
interface OrtTensor {
  readonly dims: readonly number[];
  readonly data: Float32Array;
}
interface OrtSession {
  readonly outputNames: readonly string[];
  run(feeds: Record<string, OrtTensor>, fetches?: readonly string[] | undefined): Promise<Record<string, OrtTensor>>;
  endProfiling(): void;
  release(): Promise<void>;
}
interface OrtModule {
  InferenceSession: { create(model: Uint8Array, options: Record<string, unknown>): Promise<OrtSession> };
  Tensor: new (type: 'float32', data: Float32Array, dims: readonly number[]) => OrtTensor;
  env?: { versions?: { node?: string } };
}

// eslint-disable-next-line no-restricted-properties -- unreachable: the bundles are CommonJS (__filename is defined)
const thisFile = typeof __filename === 'string' ? __filename : join(process.cwd(), 'index.js');
const req = createRequire(thisFile);
let ort: OrtModule | null = null;
let ortError: string | null = null;
let bundled = false;

/**
 * Loads onnxruntime-node, once: the copy a platform-specific .vsix carries beside the bundles (dist/onnxruntime/,
 * where the packaging puts it), else the user's (an optional dependency of the repo and the CLI).
 */
export function loadOrt(): OrtModule | null {
  if (ort || ortError) return ort;
  bundled = existsSync(join(dirname(thisFile), 'onnxruntime'));
  try {
    ort = (bundled ? req('./onnxruntime/node_modules/onnxruntime-node') : req('onnxruntime-node')) as OrtModule;
  } catch (e) {
    ortError = e instanceof Error ? e.message.split('\n')[0]! : String(e);
  }
  return ort;
}

/** Whether this installation carries its own onnxruntime-node (a platform-specific .vsix): its failure is news. */
export function ortBundled(): boolean {
  loadOrt();
  return bundled;
}

export function ortUnavailableReason(): string | null {
  loadOrt();
  return ortError;
}

export interface OrtRun {
  readonly detail: string;
  /** per layer: measured output shapes (one run with every layer's outputs fetched) */
  readonly shapes: Shape[][];
  /** per timed run: wall ms; per profiled run, per layer: its share of the kernel time, in ms of the median wall time */
  readonly totals: number[];
  readonly layerMs: number[][];
}

export interface OrtHooks {
  onPass?(pass: number): void;
  shouldStop?(): boolean;
}

/** How many passes onnxruntime's profiler records for the per-layer times (the wall times come from other passes). */
const PROFILED_RUNS = 3;

/** Builds the ONNX graph of a plan and times it. Throws `OnnxUnsupported` for an op ONNX export does not cover. */
export async function runOrt(plan: NetworkPlan, warmup: number, runs: number, threads: number, hooks: OrtHooks = {}): Promise<OrtRun> {
  const rt = loadOrt();
  if (!rt) throw new Error(`onnxruntime-node is not available: ${ortError}`);
  const trace = traceNetwork(plan);
  const feeds = feedsOf(rt.Tensor, trace);
  const options = {
    executionProviders: ['cpu'],
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
  };

  // every layer's outputs once, for the comparison with the static shapes
  const all = exportOnnx(trace, 'layers');
  const probe = await rt.InferenceSession.create(all.bytes, options);
  const fetched = await probe.run(feeds);
  const shapes = all.layerOutputNames.map((names) => names.map((n) => [...fetched[n]!.dims]));
  await probe.release();

  const model = exportOnnx(trace, 'model');
  // the wall times from a session without profiling: onnxruntime's profiler records every kernel, which slows the
  // very runs it records
  const session = await rt.InferenceSession.create(model.bytes, options);
  const name = model.outputNames[smallestOutput(trace)]!;
  // (an output that is the graph input itself has another name in the graph: then all of them)
  const fetches = session.outputNames.includes(name) ? [name] : undefined;
  let wall: number[];
  try {
    wall = await runPasses(session, warmup + runs, feeds, fetches, hooks.shouldStop, hooks.onPass);
  } finally {
    await session.release();
  }
  // per-layer shares from a profiled session: one warm-up pass, then a few profiled ones
  const profiled = Math.min(runs, PROFILED_RUNS);
  const prefix = join(tmpdir(), `yolo-lens-ort-${process.pid}-${Date.now()}`);
  const tracer = await rt.InferenceSession.create(model.bytes, { ...options, enableProfiling: true, profileFilePrefix: prefix });
  try {
    await runPasses(tracer, 1 + profiled, feeds, fetches, hooks.shouldStop);
  } finally {
    tracer.endProfiling();
    await tracer.release();
  }
  const totals = wall.slice(warmup);
  // the profiler adds a fixed cost to every kernel it records (the example at 160: 1017 kernels, 13.5 ms of kernel
  // time in a pass that takes 8 ms unprofiled): its kernel times give each layer's share of a pass, the unprofiled
  // passes' median wall time the scale, so the layers add up to the total as tfjs's do
  const wallMs = median(totals);
  const layerMs = perLayer(readProfile(prefix), plan.layers.length)
    .slice(1)
    .map((run) => {
      const kernelMs = run.reduce((a, b) => a + b, 0);
      return kernelMs > 0 ? run.map((ms) => (ms * wallMs) / kernelMs) : run;
    });
  return {
    detail: `onnxruntime-node ${rt.env?.versions?.node ?? ''} (CPU, ${threads} thread${threads === 1 ? '' : 's'})`.replace('  ', ' '),
    shapes,
    totals,
    layerMs,
  };
}

/**
 * Which output the timed runs fetch: the smallest. The graph computes them all anyway, and copying the others into
 * JavaScript (10 MB for a detection model at 640) is binding overhead PyTorch's forward does not have.
 */
export function smallestOutput(trace: Trace): number {
  const size = (id: number) => trace.ops[id]!.shape.reduce((a, b) => a * b, 1);
  return trace.outputs.reduce((best, id, i) => (size(id) < size(trace.outputs[best]!) ? i : best), 0);
}

/** The traced network's inputs (the seeded image, a guide) as tensors of an onnxruntime package (node or web). */
export function feedsOf<T>(
  Tensor: new (type: 'float32', data: Float32Array, dims: readonly number[]) => T,
  trace: Trace,
): Record<string, T> {
  const feeds: Record<string, T> = {};
  for (const o of trace.ops) if (o.kind === 'input') feeds[o.tensor] = new Tensor('float32', trace.tensors.get(o.tensor)!.values, o.shape);
  return feeds;
}

/** Runs a session `passes` times (stopping between passes when asked): each pass's wall ms. */
async function runPasses(
  session: OrtSession,
  passes: number,
  feeds: Record<string, OrtTensor>,
  fetches: readonly string[] | undefined,
  shouldStop?: () => boolean,
  onPass?: (pass: number) => void,
): Promise<number[]> {
  const wall: number[] = [];
  for (let i = 0; i < passes; i++) {
    if (shouldStop?.()) throw new Error('cancelled');
    const t0 = performance.now();
    await session.run(feeds, fetches);
    wall.push(performance.now() - t0);
    onPass?.(i + 1);
  }
  return wall;
}

interface ProfileEvent {
  cat: string;
  name: string;
  ts: number;
  dur: number;
}

function readProfile(prefix: string): ProfileEvent[] {
  const dir = tmpdir();
  const base = prefix.slice(dir.length + 1);
  const files = readdirSync(dir).filter((f) => f.startsWith(base) && f.endsWith('.json'));
  const events: ProfileEvent[] = [];
  for (const f of files) {
    const p = join(dir, f);
    events.push(...(JSON.parse(readFileSync(p, 'utf8')) as ProfileEvent[]));
    if (existsSync(p) && !process.env.YL_KEEP_PROFILE) rmSync(p);
  }
  return events;
}

/**
 * Kernel time per layer per run. Nodes the optimiser added (layout reorders) carry no `L<k>/` name: their time goes
 * to the layer whose kernel ran just before them (one thread runs the kernels in order).
 */
function perLayer(events: ProfileEvent[], layers: number): number[][] {
  const runs = events.filter((e) => e.cat === 'Session' && e.name === 'model_run').sort((a, b) => a.ts - b.ts);
  const kernels = events.filter((e) => e.cat === 'Node' && e.name.endsWith('_kernel_time')).sort((a, b) => a.ts - b.ts);
  return runs.map((r) => {
    const ms = new Array<number>(layers).fill(0);
    let current = 0;
    for (const k of kernels) {
      if (k.ts < r.ts || k.ts > r.ts + r.dur) continue;
      const m = /^L(\d+)\//.exec(k.name);
      if (m) current = Math.min(layers - 1, Number(m[1]));
      ms[current]! += k.dur / 1000;
    }
    return ms;
  });
}

/** The model's outputs on onnxruntime for the seeded input (the bench compares them with PyTorch's). */
export async function ortOutputs(plan: NetworkPlan): Promise<{ shape: number[]; data: Float32Array }[]> {
  const rt = loadOrt();
  if (!rt) throw new Error(`onnxruntime-node is not available: ${ortError}`);
  const trace = traceNetwork(plan);
  const feeds = feedsOf(rt.Tensor, trace);
  const model = exportOnnx(trace, 'model');
  const session = await rt.InferenceSession.create(model.bytes, { executionProviders: ['cpu'], intraOpNumThreads: 1 });
  try {
    const out = await session.run(feeds);
    return model.outputNames.map((n) => ({ shape: [...out[n]!.dims], data: out[n]!.data }));
  } finally {
    await session.release();
  }
}
