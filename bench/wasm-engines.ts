/**
 * The engines that need no native code, side by side: what the universal .vsix can run where onnxruntime-node has no
 * binary. tfjs wasm SIMD (the one it ships, timed in the shipped worker bundle) against onnxruntime-web's WebAssembly
 * build (SIMD, threads) running the ONNX graph YOLO Lens exports for onnxruntime-node, the same seeded input, at
 * 1 thread and on all cores, rounds interleaved; medians of the rounds' medians. onnxruntime-web is not a dependency
 * (111 MB installed): install it for the run.
 *
 *   npm i --no-save onnxruntime-web && npm run bench:wasm -- [--models yolov8n,yolo11n,yolo26n] [--imgsz 640]
 *     [--rounds 3] [--runs 5] [--ultralytics DIR] [--gsconv-yolov5 DIR]
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { resolve as resolveModel } from '../server/src/core/resolve.ts';
import { allCores } from '../server/src/runtime/backend.ts';
import { planJob } from '../server/src/runtime/engine.ts';
import { exportOnnx } from '../server/src/runtime/onnx.ts';
import { feedsOf, smallestOutput } from '../server/src/runtime/ort.ts';
import { profileModel } from '../server/src/runtime/profile.ts';
import { traceNetwork } from '../server/src/runtime/trace.ts';
import { specOf } from './models.ts';
import { median } from './stats.ts';

const root = join(__dirname, '..');
const args = process.argv.slice(2);
const flag = (name: string): string | undefined => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const imgsz = Number(flag('--imgsz') ?? 640);
const rounds = Number(flag('--rounds') ?? 3);
const runs = Number(flag('--runs') ?? 5);
const modelNames = (flag('--models') ?? 'yolov8n,yolo11n,yolo26n').split(',').filter(Boolean);
const trees = {
  ultralyticsDir: flag('--ultralytics') ?? process.env.YOLO_LENS_ULTRALYTICS,
  gsconvDir: flag('--gsconv-yolov5') ?? process.env.YOLO_LENS_GSCONV_YOLOV5,
};
const workerPath = join(root, 'dist/runtime-worker.js');

/** The few onnxruntime-web types used here (the package is not a dependency). */
interface OrtWeb {
  env: { wasm: { numThreads: number; simd?: boolean }; versions?: { web?: string } };
  InferenceSession: {
    create(
      model: Uint8Array,
      options: Record<string, unknown>,
    ): Promise<{
      run(feeds: Record<string, unknown>, fetches: readonly string[]): Promise<unknown>;
      release(): Promise<void>;
    }>;
  };
  Tensor: new (type: 'float32', data: Float32Array, dims: readonly number[]) => unknown;
}

/** onnxruntime-web's wall ms per run, `runs` runs after one warm-up, fetching the smallest output as ort.ts does. */
async function timeOrtWeb(ortWeb: OrtWeb, name: string, threads: number): Promise<number> {
  const spec = specOf(name, trees);
  if (typeof spec === 'string') throw new Error(spec);
  const { plan, error } = planJob({
    text: spec.text,
    fileName: spec.fileName,
    imgsz,
    batch: 1,
    runs,
    warmup: 1,
    backend: 'onnxruntime-node',
    memoryLimitMB: 8192,
    threads,
  });
  if (!plan) throw new Error(error ?? 'not planned');
  const trace = traceNetwork(plan);
  const model = exportOnnx(trace, 'model');
  const feeds = feedsOf(ortWeb.Tensor, trace);
  // the thread count is fixed when onnxruntime-web first starts its WebAssembly module: one process per setting
  ortWeb.env.wasm.numThreads = threads;
  const session = await ortWeb.InferenceSession.create(model.bytes, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
  try {
    const wall: number[] = [];
    for (let i = 0; i < runs + 1; i++) {
      const t0 = performance.now();
      await session.run(feeds, [model.outputNames[smallestOutput(trace)]!]);
      if (i > 0) wall.push(performance.now() - t0);
    }
    return median(wall);
  } finally {
    await session.release();
  }
}

async function timeTfjs(name: string, threads: number): Promise<number> {
  const spec = specOf(name, trees);
  if (typeof spec === 'string') throw new Error(spec);
  const model = resolveModel(spec.text, { fileName: spec.fileName, imgsz });
  const r = await profileModel(model, { backend: 'wasm', threads, runs, warmup: 1, imgsz, batch: 1, memoryLimitMB: 8192, workerPath });
  if (r.error) throw new Error(r.error);
  return r.totalMs;
}

/** The child mode: one onnxruntime-web measurement in a fresh process (its thread count is fixed per process). */
async function child(name: string, threads: number): Promise<void> {
  // a name in a variable: the package is installed for the run only, so the type checker must not look for it
  const pkg = 'onnxruntime-web';
  const ortWeb = (await import(pkg)) as OrtWeb;
  const ms = await timeOrtWeb(ortWeb, name, threads);
  console.log(JSON.stringify({ ms, version: ortWeb.env.versions?.web ?? '?' }));
  process.exit(0);
}

async function inChild(name: string, threads: number): Promise<{ ms: number; version: string }> {
  const { execFileSync } = await import('node:child_process');
  const out = execFileSync(process.execPath, ['--import', 'tsx', __filename, '--child', name, String(threads), ...args], {
    cwd: root,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  return JSON.parse(out.trim().split('\n').pop()!) as { ms: number; version: string };
}

async function main(): Promise<void> {
  if (args[0] === '--child') return child(args[1]!, Number(args[2]));
  try {
    require.resolve('onnxruntime-web');
  } catch {
    console.log('bench/wasm-engines: onnxruntime-web is not installed (npm i --no-save onnxruntime-web)');
    process.exitCode = 1;
    return;
  }
  if (!existsSync(workerPath)) {
    console.log(`bench/wasm-engines: ${workerPath} is missing; build it first (npm run bench:wasm does)`);
    process.exitCode = 1;
    return;
  }
  const threadCounts = [...new Set([1, allCores()])];
  console.log(`bench/wasm-engines at ${imgsz}×${imgsz}, batch 1: ${rounds} rounds × ${runs} runs after 1 warm-up, medians`);
  console.log(`\n| model | threads | tfjs wasm SIMD | onnxruntime-web wasm | onnxruntime-web / tfjs |\n|---|---:|---:|---:|---:|`);
  let version = '?';
  for (const name of modelNames) {
    for (const threads of threadCounts) {
      const tfjs: number[] = [];
      const web: number[] = [];
      for (let r = 0; r < rounds; r++) {
        // alternate which engine goes first, so drift in the machine's load hits both alike
        const first = r % 2 === 0;
        if (first) tfjs.push(await timeTfjs(name, threads));
        const w = await inChild(name, threads);
        web.push(w.ms);
        version = w.version;
        if (!first) tfjs.push(await timeTfjs(name, threads));
      }
      const [t, o] = [median(tfjs), median(web)];
      console.log(`| ${name} | ${threads} | ${t.toFixed(1)} ms | ${o.toFixed(1)} ms | ${(o / t).toFixed(2)}× |`);
    }
  }
  console.log(`\nonnxruntime-web ${version}`);
}

main().catch((e: unknown) => {
  console.log(`bench/wasm-engines: ${e instanceof Error ? e.message : String(e)}`);
  process.exitCode = 1;
});
