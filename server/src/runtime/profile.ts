/**
 * One-click profile: a dummy forward pass through a network built from the same module trees the static analyser
 * walks, timed layer by layer, in a worker thread (the CLI's `profile` and the graph panel's Profile button call
 * `profileModel`). Cancelling terminates the worker. Backends (`ProfileBackend`): `auto` takes onnxruntime-node,
 * then tfjs-node when the user installed them, else the bundled WebAssembly backend, else the pure-JS CPU one;
 * the result's `backend`/`backendDetail` say which ran.
 */
import { Worker } from 'node:worker_threads';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { Model } from '../core/model.ts';
import type { ProfileBackend, ProfileResult } from '../protocol.ts';
import { emptyProfileResult, type ProfileJob, type WorkerMessage } from './job.ts';

export interface ProfileOptions {
  readonly imgsz?: number;
  readonly batch?: number;
  readonly runs?: number;
  readonly warmup?: number;
  readonly backend?: ProfileBackend;
  /** threads the engine computes on; default every core */
  readonly threads?: number;
  /** refuse models whose estimated memory exceeds this (MB) */
  readonly memoryLimitMB?: number;
  readonly signal?: AbortSignal;
  readonly onProgress?: (done: number, total: number, message: string) => void;
  /** the worker script; default: `runtime-worker.js` beside this bundle, or `worker.ts` beside this source */
  readonly workerPath?: string;
}

export const PROFILE_DEFAULTS = { batch: 1, runs: 10, warmup: 2, backend: 'auto' as ProfileBackend, memoryLimitMB: 2048 };

/** The job a worker can rebuild the model from (module trees hold closures and do not cross threads). */
export function jobFor(model: Model, opts: ProfileOptions = {}): ProfileJob {
  return {
    text: model.doc.text,
    ...(model.fileName ? { fileName: model.fileName } : {}),
    framework: model.framework.id,
    ...(model.scale ? { scale: model.scale } : {}),
    ch: model.ch,
    imgsz: opts.imgsz ?? model.imgsz,
    batch: opts.batch ?? PROFILE_DEFAULTS.batch,
    runs: opts.runs ?? PROFILE_DEFAULTS.runs,
    warmup: opts.warmup ?? PROFILE_DEFAULTS.warmup,
    backend: opts.backend ?? PROFILE_DEFAULTS.backend,
    memoryLimitMB: opts.memoryLimitMB ?? PROFILE_DEFAULTS.memoryLimitMB,
    ...(opts.threads ? { threads: opts.threads } : {}),
  };
}

function workerScript(explicit?: string): string | null {
  if (explicit) return explicit;
  // eslint-disable-next-line no-restricted-properties -- unreachable: the bundles are CommonJS (__dirname is defined)
  const here = typeof __dirname === 'string' ? __dirname : process.cwd();
  for (const p of [join(here, 'runtime-worker.js'), join(here, 'worker.ts')]) if (existsSync(p)) return p;
  return null;
}

function startWorker(script: string, job: ProfileJob): Worker {
  if (!script.endsWith('.ts')) return new Worker(script, { workerData: { job } });
  // running from source (tests, the bench): load the TypeScript worker through tsx's require hook
  const tsx = createRequire(join(__dirname, 'profile.ts')).resolve('tsx/cjs');
  // eslint-disable-next-line no-restricted-syntax -- both paths come from the extension's own folder, never from a document
  return new Worker(`require(${JSON.stringify(tsx)}); require(${JSON.stringify(script)});`, { eval: true, workerData: { job } });
}

/** Profiles a resolved model in a worker thread. Never rejects: failures and cancellation are in `error`. */
export function profileModel(model: Model, opts: ProfileOptions = {}): Promise<ProfileResult> {
  const job = jobFor(model, opts);
  if (opts.signal?.aborted) return Promise.resolve(emptyProfileResult(job, 'cancelled'));
  const script = workerScript(opts.workerPath);
  if (!script) return Promise.resolve(emptyProfileResult(job, 'the profiler worker (runtime-worker.js) is missing from this installation'));
  return new Promise((resolvePromise) => {
    let settled = false;
    let result: ProfileResult | null = null;
    let worker: Worker;
    try {
      worker = startWorker(script, job);
    } catch (e) {
      resolvePromise(emptyProfileResult(job, `the profiler worker did not start: ${e instanceof Error ? e.message : String(e)}`));
      return;
    }
    const finish = (r: ProfileResult) => {
      if (settled) return;
      settled = true;
      opts.signal?.removeEventListener('abort', onAbort);
      resolvePromise(r);
    };
    const onAbort = () => {
      // terminate() stops the worker's JavaScript and WebAssembly where they are; 'exit' follows promptly
      void worker.terminate();
      result ??= emptyProfileResult(job, 'cancelled');
    };
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    worker.on('message', (m: WorkerMessage) => {
      if (m.type === 'progress') opts.onProgress?.(m.done, m.total, m.message);
      else if (m.type === 'result') result = m.result;
      else result = emptyProfileResult(job, `the profiler failed: ${m.message}`);
      if (m.type !== 'progress') void worker.terminate();
    });
    worker.on('error', (e) => {
      result ??= emptyProfileResult(job, `the profiler worker crashed: ${e.message}`);
    });
    worker.on('exit', (code) => {
      finish(result ?? emptyProfileResult(job, `the profiler worker stopped (exit code ${code}) before it reported`));
    });
  });
}
