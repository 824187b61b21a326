/**
 * The profiler's worker thread (bundled to dist/runtime-worker.js): rebuilds the model from its YAML text, runs
 * the profile and posts progress and the result, so the language server's thread never blocks on a forward pass.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { runProfile } from './engine.ts';
import type { ProfileJob, WorkerMessage } from './job.ts';

const port = parentPort;
if (port) {
  const job = (workerData as { job: ProfileJob }).job;
  const post = (m: WorkerMessage) => port.postMessage(m);
  runProfile(job, { onProgress: (done, total, message) => post({ type: 'progress', done, total, message }) }).then(
    (result) => post({ type: 'result', result }),
    (e: unknown) => post({ type: 'error', message: e instanceof Error ? (e.stack ?? e.message) : String(e) }),
  );
}
