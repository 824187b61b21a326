/**
 * One-click profile: a dummy forward pass through a tfjs network built from the same module trees the static
 * analyser walks, timed layer by layer.
 * PLACEHOLDER: the runtime work replaces this file; the CLI and the server call `profileModel` as typed here.
 */
import type { Model } from '../core/model.ts';
import type { ProfileBackend, ProfileResult } from '../protocol.ts';

export interface ProfileOptions {
  readonly imgsz?: number;
  readonly batch?: number;
  readonly runs?: number;
  readonly warmup?: number;
  readonly backend?: ProfileBackend;
  /** refuse models whose estimated memory exceeds this (MB) */
  readonly memoryLimitMB?: number;
  readonly signal?: AbortSignal;
  readonly onProgress?: (done: number, total: number, message: string) => void;
}

export async function profileModel(model: Model, opts: ProfileOptions = {}): Promise<ProfileResult> {
  void opts;
  return {
    uri: model.fileName ?? '',
    backend: 'none',
    imgsz: model.imgsz,
    batch: 1,
    runs: 0,
    layers: [],
    totalMs: 0,
    throughput: 0,
    peakMemoryMB: null,
    error: 'the profiler is not built yet',
    warnings: [],
  };
}
