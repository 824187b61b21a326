/**
 * What crosses from the language server's thread to the profiler's worker and back: the job (the model as text,
 * since module trees hold closures and do not cross threads), the worker's messages, and the empty result that a
 * run that never started reports in. Types and one constructor only: the server's thread, the worker and the
 * engine all import it, and it imports neither of them.
 */
import type { ProfileBackend, ProfileResult } from '../protocol.ts';

/** Everything the worker needs to rebuild the model on its side: the module trees hold closures, so they do not cross threads. */
export interface ProfileJob {
  readonly text: string;
  readonly fileName?: string;
  readonly framework?: string;
  readonly scale?: string;
  readonly ch?: number;
  readonly imgsz: number;
  readonly batch: number;
  readonly runs: number;
  readonly warmup: number;
  readonly backend: ProfileBackend;
  readonly memoryLimitMB: number;
  /** keep feature maps NHWC between convs (default) or go back to NCHW after each (for measuring the choice) */
  readonly layout?: 'nhwc' | 'nchw';
  /** threads the engine computes on; default every core (as PyTorch would) */
  readonly threads?: number;
}

/** What the worker posts to the thread that started it. */
export type WorkerMessage =
  | { type: 'progress'; done: number; total: number; message: string }
  | { type: 'result'; result: ProfileResult }
  | { type: 'error'; message: string };

/**
 * A result with nothing measured yet: the engine fills it in, and a run that never started reports its error in it.
 * Not in engine.ts, which loads tfjs: the language server's thread imports this file (through profile.ts).
 */
export function emptyProfileResult(job: ProfileJob, error: string | null): ProfileResult {
  return {
    uri: job.fileName ?? '',
    backend: 'none',
    imgsz: job.imgsz,
    batch: job.batch,
    runs: 0,
    layers: [],
    totalMs: 0,
    throughput: 0,
    peakMemoryMB: null,
    estimatedMemoryMB: null,
    memoryLimitMB: job.memoryLimitMB,
    params: null,
    error,
    warnings: [],
  };
}
