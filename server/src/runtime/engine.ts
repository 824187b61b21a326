/**
 * The profile itself, in whatever thread calls it (the worker, a test, the bench): resolve the YAML at the
 * profile's image size, plan and estimate memory (refusing before any allocation), start a backend, build the
 * deployed network with seeded weights, then warm up and time every layer over N runs.
 */
import * as tf from '@tensorflow/tfjs-core';
import { resolve } from '../core/resolve.ts';
import type { Mod, Out, Shape } from '../core/nn/module.ts';
import type { ProfileLayer, ProfileResult } from '../protocol.ts';
import { allCores, startBackend, type StartedBackend } from './backend.ts';
import { MB, planNetwork, type NetworkPlan } from './plan.ts';
import { driveLayers, type Stored } from '../core/nn/driver.ts';
import { disposePrepared, prepareLeaf, RtTensor, TfFlow, type Prepared } from './tfflow.ts';
import { moduleParamArrays, ownParamArrays, uniform } from './weights.ts';
import { loadOrt, ortBundled, ortUnavailableReason, runOrt } from './ort.ts';
import { OnnxUnsupported } from './onnx.ts';
import { emptyProfileResult, type ProfileJob } from './job.ts';
import { estimateTorchLayers } from './torch-cost.ts';
import { median } from './stats.ts';

export interface EngineHooks {
  onProgress?(done: number, total: number, message: string): void;
  /** polled between layers: a cooperative stop (the worker is also terminated from outside) */
  shouldStop?(): boolean;
}

export const DEFAULT_MEMORY_LIMIT_MB = 2048;

const round = (x: number, digits = 3): number => Math.round(x * 10 ** digits) / 10 ** digits;

function flattenRt(o: Out<RtTensor>): RtTensor[] {
  if (o === null) return [];
  if (o instanceof RtTensor) return [o];
  return (o as readonly Out<RtTensor>[]).flatMap(flattenRt);
}

const sameShape = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((v, i) => v === b[i]);

class Cancelled extends Error {}

/** The network on the backend: prepared weights per layer (keyed by layer index + module path). */
interface Network {
  readonly weights: Map<Mod, Prepared>[];
  readonly input: RtTensor;
  readonly guide: RtTensor | null;
}

/**
 * Seeded weights of one module tree, prepared for tfjs. Each leaf's key is `${key}/${module path}`: the key names
 * the layer, because the resolver's build cache may hand one Mod object to two identical layers.
 */
export function prepareModuleWeights(paths: ReadonlyMap<Mod, string>, key: string): Map<Mod, Prepared> {
  const map = new Map<Mod, Prepared>();
  for (const [m, path] of paths) {
    if (m.params && !m.shared) {
      const tensors: Record<string, tf.Tensor> = {};
      for (const p of ownParamArrays(m.params, `${key}/${path}`)) tensors[p.name] = tf.tensor(p.values, [...p.shape]);
      map.set(m, { kind: 'own', tensors });
    }
    if (!m.leaf || m.shared) continue;
    const arrays = moduleParamArrays(m, `${key}/${path}`);
    if (!arrays.length) continue;
    const p = prepareLeaf(m.leaf, arrays);
    if (p) map.set(m, p);
  }
  return map;
}

function buildNetwork(plan: NetworkPlan, keepNhwc: boolean): Network {
  const weights = plan.layers.map((l) => prepareModuleWeights(l.paths, String(l.index)));
  const [b, c, h, w] = plan.inputShape as [number, number, number, number];
  const img = uniform('input', b * c * h * w, 0, 1);
  const nchw = tf.tensor4d(img, [b, c, h, w]);
  const input = keepNhwc ? new RtTensor(tf.transpose(nchw, [0, 2, 3, 1]), true) : new RtTensor(tf.clone(nchw), false);
  nchw.dispose();
  const guide = plan.guideShape
    ? new RtTensor(
        tf.tensor(
          uniform(
            'guide',
            plan.guideShape.reduce((a, v) => a * v, 1),
            -1,
            1,
          ),
          [...plan.guideShape],
        ),
        false,
      )
    : null;
  return { weights, input, guide };
}

function disposeNetwork(n: Network): void {
  for (const m of n.weights) for (const p of m.values()) disposePrepared(p);
  n.input.t.dispose();
  n.guide?.t.dispose();
}

/** Resolves and plans without touching a backend: what the refusal test and the worker's first step use. */
export function planJob(job: ProfileJob): { plan: NetworkPlan | null; error: string | null } {
  const model = resolve(job.text, {
    imgsz: job.imgsz,
    ...(job.fileName ? { fileName: job.fileName } : {}),
    ...(job.framework ? { framework: job.framework } : {}),
    ...(job.scale ? { scale: job.scale } : {}),
    ...(job.ch ? { ch: job.ch } : {}),
  });
  try {
    return { plan: planNetwork(model, job.batch), error: null };
  } catch (e) {
    return { plan: null, error: e instanceof Error ? e.message : String(e) };
  }
}

/** Runs one profile. Never throws for a model problem: the result's `error` says which layer failed and why. */
export async function runProfile(job: ProfileJob, hooks: EngineHooks = {}): Promise<ProfileResult> {
  const result = emptyProfileResult(job, null);
  const fail = (message: string): ProfileResult => ({ ...result, error: message });
  if (!Number.isInteger(job.imgsz) || job.imgsz <= 0) return fail(`the image size must be a positive integer, got ${job.imgsz}`);
  if (!Number.isInteger(job.batch) || job.batch <= 0) return fail(`the batch size must be a positive integer, got ${job.batch}`);
  const { plan, error } = planJob(job);
  if (!plan) return fail(`cannot profile: ${error}`);
  return runPlan(plan, job, hooks);
}

/** WebAssembly's 32-bit heap: tfjs-backend-wasm cannot grow past 4 GB, and an allocation failure aborts its module. */
const WASM_HEAP_MB = 3584;

/** Runs a planned network (what `runProfile` does after resolving). */
export async function runPlan(plan: NetworkPlan, job: ProfileJob, hooks: EngineHooks = {}): Promise<ProfileResult> {
  const result = emptyProfileResult(job, null);
  const fail = (message: string): ProfileResult => ({ ...result, error: message });
  const est = plan.estimate;
  result.estimatedMemoryMB = round(est.totalBytes / MB, 1);
  result.params = plan.params;
  if (!plan.fused)
    result.warnings.push(
      `BatchNorm is not folded, as upstream's model.fuse() fails for this model (${plan.fusedError}): the unfused network ran`,
    );
  // refuse before the backend even starts: nothing is allocated for a model that would not fit
  if (est.totalBytes > job.memoryLimitMB * MB)
    return fail(
      `refused: the profile would need about ${round(est.totalBytes / MB, 0)} MB (weights ` +
        `${round(est.weightsBytes / MB, 1)} MB + activations ${round(est.activationsBytes / MB, 0)} MB, peak at layer ` +
        `${est.peakLayer}) at ${job.imgsz}×${job.imgsz}, batch ${job.batch}; the limit is ${job.memoryLimitMB} MB ` +
        `(setting yolo.profile.memoryLimitMB). Lower the image size or batch, or raise the limit.`,
    );

  const runs = Math.max(1, Math.trunc(job.runs));
  const warmup = Math.max(0, Math.trunc(job.warmup));
  if (job.backend === 'onnxruntime-node' || job.backend === 'auto') {
    if (loadOrt()) {
      try {
        return await ortProfile(plan, job, hooks, result, warmup, runs);
      } catch (e) {
        if (e instanceof Error && e.message === 'cancelled') return fail('cancelled');
        if (job.backend === 'onnxruntime-node' || !(e instanceof OnnxUnsupported))
          result.warnings.push(
            `onnxruntime-node could not run this model (${e instanceof Error ? e.message : String(e)}); the tfjs runtime ran it`,
          );
      }
    } else if (ortBundled())
      // the platform package's own copy did not load (another libc, a missing system library): say why
      result.warnings.push(`the onnxruntime-node this package carries did not load (${ortUnavailableReason()}); the tfjs runtime ran it`);
    else if (job.backend === 'onnxruntime-node')
      result.warnings.push(`onnxruntime-node is not available (${ortUnavailableReason()}); install it next to the extension to use it`);
  }

  let backend: StartedBackend;
  try {
    backend = await startBackend(job.backend === 'onnxruntime-node' ? 'auto' : job.backend, job.threads ?? allCores());
  } catch (e) {
    return fail(`no backend could start: ${e instanceof Error ? e.message : String(e)}`);
  }
  result.backend = backend.name;
  result.backendDetail = backend.detail;
  result.threads = backend.threads;
  result.warnings.push(...backend.warnings);
  if (backend.name === 'wasm' && est.totalBytes > WASM_HEAP_MB * MB)
    return fail(
      `refused: the profile would need about ${round(est.totalBytes / MB, 0)} MB, more than the WebAssembly backend's ` +
        `heap can hold (${WASM_HEAP_MB} MB of its 4 GB address space); lower the image size or batch, or install @tensorflow/tfjs-node`,
    );

  const passes = warmup + runs;
  const flow = new TfFlow(job.layout !== 'nchw');
  const n = plan.layers.length;
  const times: number[][] = plan.layers.map(() => []);
  const totals: number[] = [];
  const measured: (Shape[] | null)[] = new Array(n).fill(null);
  const startTensors = tf.memory().numTensors;
  let net: Network | null = null;
  hooks.onProgress?.(0, passes, 'building the network');
  try {
    net = buildNetwork(plan, flow.keepNhwc);
    const weightBytes = tf.memory().numBytes;
    for (let pass = 0; pass < passes; pass++) {
      const timed = pass >= warmup;
      flow.trackMemory = pass === 0;
      flow.peakBytes = weightBytes;
      let passMs = 0;
      const last = forwardPass(plan, net, flow, hooks, (k, outs, dt) => {
        passMs += dt;
        if (timed) times[k]!.push(dt);
        if (pass === 0) measured[k] = outs.map((o) => o.shape);
      });
      for (const t of last) if (!t.t.isDisposed) t.t.dispose();
      if (pass === 0) result.peakMemoryMB = round(flow.peakBytes / MB, 1);
      if (timed) totals.push(passMs);
      hooks.onProgress?.(pass + 1, passes, timed ? `run ${pass - warmup + 1}/${runs}` : `warm-up ${pass + 1}/${warmup}`);
    }
  } catch (e) {
    if (e instanceof Cancelled) result.error = 'cancelled';
    else if (e instanceof LayerFailure) result.error = `layer ${e.layer} (${e.module}) failed: ${e.message}`;
    else result.error = `the profile failed: ${e instanceof Error ? e.message : String(e)}`;
  } finally {
    if (net) disposeNetwork(net);
    flow.dispose();
  }
  const leaked = tf.memory().numTensors - startTensors;
  if (leaked > 0) result.warnings.push(`internal: ${leaked} tensors were not freed`);

  return finishResult(result, plan, job, totals, times, measured);
}

/** Per-layer medians, shape comparison with the static resolver, totals. */
function finishResult(
  result: ProfileResult,
  plan: NetworkPlan,
  job: ProfileJob,
  totals: number[],
  times: number[][],
  measured: (Shape[] | null)[],
): ProfileResult {
  result.runs = totals.length;
  const torch = estimateTorchLayers(plan, result.threads ?? job.threads ?? allCores());
  result.torchEstimate = torch?.basis ?? null;
  const mismatches: string[] = [];
  result.layers = plan.layers.map((l, k): ProfileLayer => {
    const got = measured[k];
    const want = l.staticShapes;
    const matches = !!got && got.length === want.length && got.every((s, i) => sameShape(s, want[i]!));
    if (got && !matches)
      mismatches.push(
        `layer ${k} (${l.module}): measured ${got.map((s) => `[${s.join(', ')}]`).join(' ')}, static ` +
          `${want.map((s) => `[${s.join(', ')}]`).join(' ')}`,
      );
    const single = want.length === 1;
    return {
      index: k,
      module: l.module,
      ms: round(median(times[k]!)),
      outShape: got && got.length === 1 ? [...got[0]!] : null,
      staticShape: single ? [...want[0]!] : null,
      shapeMatches: matches,
      torchMs: torch ? round(torch.layerMs[k]!) : null,
      ...(single ? {} : { outShapes: got ? got.map((s) => [...s]) : null, staticShapes: want.map((s) => [...s]) }),
    };
  });
  result.totalMs = round(median(totals));
  result.throughput = result.totalMs > 0 ? round((1000 * job.batch) / result.totalMs, 2) : 0;
  if (mismatches.length && !result.error)
    result.error =
      `internal error: the runtime and the static resolver disagree on ${mismatches.length} layer ` +
      `shape(s) (one of the two interpreters is wrong): ${mismatches.join('; ')}`;
  return result;
}

async function ortProfile(
  plan: NetworkPlan,
  job: ProfileJob,
  hooks: EngineHooks,
  result: ProfileResult,
  warmup: number,
  runs: number,
): Promise<ProfileResult> {
  const passes = warmup + runs;
  hooks.onProgress?.(0, passes, 'building the network');
  const threads = job.threads ?? allCores();
  const r = await runOrt(plan, warmup, runs, threads, {
    onPass: (i) => hooks.onProgress?.(i, passes, i > warmup ? `run ${i - warmup}/${runs}` : `warm-up ${i}/${warmup}`),
    ...(hooks.shouldStop ? { shouldStop: hooks.shouldStop } : {}),
  });
  result.backend = 'onnxruntime-node';
  result.backendDetail = r.detail;
  result.threads = threads;
  const times = plan.layers.map((_, k) => r.layerMs.map((run) => run[k]!));
  return finishResult(result, plan, job, r.totals, times, r.shapes);
}

/**
 * One forward pass through the layer driver, each layer in its own tidy, calling `onLayer` with the layer's outputs
 * and time. Frees every output once no later layer reads it; returns the last layer's outputs (the caller frees them).
 */
function forwardPass(
  plan: NetworkPlan,
  net: Network,
  flow: TfFlow,
  hooks: EngineHooks,
  onLayer: (k: number, outs: RtTensor[], ms: number) => void,
): RtTensor[] {
  const n = plan.layers.length;
  // the driver's stored outputs and running guide, as `after` last saw them (what a failed pass must free)
  let values: readonly (Stored<RtTensor> | undefined)[] = [];
  let guide = net.guide;
  let ok = false;
  try {
    const pass = driveLayers<RtTensor>(
      plan.layers,
      net.input,
      net.guide,
      {
        run(k, x, ctx) {
          if (hooks.shouldStop?.()) throw new Cancelled('cancelled');
          const l = plan.layers[k]!;
          flow.params = net.weights[k]!;
          flow.paths = l.paths;
          let out: Out<RtTensor>;
          const t0 = performance.now();
          try {
            out = tf.tidy(() => flow.callMulti(l.mod, x, ctx) as unknown as tf.TensorContainer) as unknown as Out<RtTensor>;
          } catch (e) {
            throw new LayerFailure(k, l.module, e instanceof Error ? e.message : String(e));
          }
          onLayer(k, flattenRt(out), performance.now() - t0);
          return out;
        },
        asOne: (out) => (out instanceof RtTensor ? out : null),
        flatten: flattenRt,
        after(k, stored, running) {
          values = stored;
          guide = running;
          freeDead(stored, plan, k, net, running);
        },
      },
      (k) => plan.layers[k]!.ctx,
    );
    values = pass.values;
    const last = pass.values[n - 1];
    if (last === undefined) throw new Error(`internal: the last layer stored no output`);
    ok = true;
    return last instanceof RtTensor ? [last] : [...last];
  } finally {
    // free this pass's tensors (the input and the weights stay); on success the last layer's outputs survive
    const keep = new Set<tf.Tensor>([net.input.t, ...(net.guide ? [net.guide.t] : [])]);
    if (ok) for (const t of storedTensors(values[n - 1])) keep.add(t.t);
    for (const v of values) for (const t of storedTensors(v)) if (!keep.has(t.t) && !t.t.isDisposed) t.t.dispose();
    if (guide && !keep.has(guide.t) && !guide.t.isDisposed) guide.t.dispose();
  }
}

const storedTensors = (v: Stored<RtTensor> | undefined): readonly RtTensor[] => (v === undefined ? [] : v instanceof RtTensor ? [v] : v);

/** The model's outputs for the seeded input, NCHW float32 (the bench compares them with PyTorch's). */
export async function forwardOutputs(job: ProfileJob): Promise<{ backend: string; outputs: { shape: number[]; data: Float32Array }[] }> {
  const { plan, error } = planJob(job);
  if (!plan) throw new Error(error ?? 'no plan');
  const backend = await startBackend(job.backend, job.threads ?? allCores());
  const flow = new TfFlow(job.layout !== 'nchw');
  const net = buildNetwork(plan, flow.keepNhwc);
  try {
    const last = forwardPass(plan, net, flow, {}, () => {});
    const outputs = last.map((o) => {
      const t = flow.nchw(o);
      const data = t.dataSync() as Float32Array;
      if (t !== o.t) t.dispose();
      o.t.dispose();
      return { shape: [...t.shape], data };
    });
    return { backend: backend.detail, outputs };
  } finally {
    disposeNetwork(net);
    flow.dispose();
  }
}

class LayerFailure extends Error {
  constructor(
    readonly layer: number,
    readonly module: string,
    message: string,
  ) {
    super(message);
  }
}

/** Frees the outputs nobody reads after layer k (a tensor may be shared by several layers: Identity, producers). */
function freeDead(values: (Stored<RtTensor> | undefined)[], plan: NetworkPlan, k: number, net: Network, guide: RtTensor | null): void {
  const keep = new Set<tf.Tensor>([net.input.t]);
  if (net.guide) keep.add(net.guide.t);
  if (guide) keep.add(guide.t);
  const dead: RtTensor[] = [];
  for (let j = 0; j <= k; j++) {
    const ts = storedTensors(values[j]);
    if (plan.layers[j]!.lastUse > k) ts.forEach((t) => keep.add(t.t));
    else dead.push(...ts);
  }
  for (const t of dead) if (!keep.has(t.t) && !t.t.isDisposed) t.t.dispose();
  for (let j = 0; j <= k; j++) if (plan.layers[j]!.lastUse <= k) values[j] = undefined;
}
