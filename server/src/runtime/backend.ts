/**
 * Chooses and starts the tfjs backend the profile runs on: `@tensorflow/tfjs-node` when the user installed it
 * (never a dependency: its install downloads libtensorflow), else the bundled WebAssembly backend (SIMD, on every
 * core), else the pure-JS CPU backend. The `.wasm` binaries are looked up beside the bundle (dist/, the VSIX) and in
 * the package.
 */
import * as tf from '@tensorflow/tfjs-core';
// a used binding: the package's sideEffects list would let a bare import be dropped from the bundle
import { version_cpu } from '@tensorflow/tfjs-backend-cpu';
import { getThreadsCount, setThreadsCount, setWasmPaths, type BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Worker as NodeWorker, type WorkerOptions } from 'node:worker_threads';
import type { ProfileBackend } from '../protocol.ts';
import { concatInto } from './layout-kernels.ts';

export type TfBackendName = 'tfjs-node' | 'wasm' | 'cpu';

export interface StartedBackend {
  readonly name: TfBackendName;
  /** e.g. `wasm (SIMD, 1 thread)` */
  readonly detail: string;
  /** threads the backend computes on (tfjs-node: its own pool, reported as null) */
  readonly threads: number | null;
  readonly warnings: string[];
}

const WASM_SIMD = 'tfjs-backend-wasm-simd.wasm';
/** the threaded build: its binary, its Emscripten glue (which each pthread loads) and the glue's worker code */
const WASM_THREADED = 'tfjs-backend-wasm-threaded-simd.wasm';
const THREADED_GLUE = 'tfjs-backend-wasm-threaded-simd.js';
const THREADED_WORKER = 'tfjs-backend-wasm-threaded-simd.worker.js';
/** our starter for the pthreads (see startPthreadWorkers) */
const PTHREAD_STARTER = 'wasm-pthread.cjs';

// silence tfjs's console advice ("install tfjs-node") and skip its debug checks
tf.env().set('PROD', true);

// eslint-disable-next-line no-restricted-properties -- unreachable: the bundles are CommonJS (__filename is defined)
const req = createRequire(typeof __filename === 'string' ? __filename : join(process.cwd(), 'index.js'));

const here = typeof __dirname === 'string' ? __dirname : null;

function wasmPackage(): string | null {
  try {
    return dirname(req.resolve('@tensorflow/tfjs-backend-wasm/package.json'));
  } catch {
    return null; // not installed: the bundle must carry the binaries
  }
}

/** The folder holding the wasm binaries: beside this bundle first (dist/ in the VSIX), else the installed package. */
export function wasmDir(): string | null {
  if (here && existsSync(join(here, WASM_SIMD))) return here;
  const pkg = wasmPackage();
  if (pkg && existsSync(join(pkg, 'dist', WASM_SIMD))) return join(pkg, 'dist');
  return null;
}

interface ThreadedFiles {
  readonly dir: string;
  readonly glue: string;
  readonly workerCode: string;
  readonly starter: string;
}

/** The threaded build's files: all beside the bundle (dist/), or, running from source, in the package's folders. */
function threadedFiles(): ThreadedFiles | null {
  const all = (dir: string, glueDir: string, starterDir: string): ThreadedFiles | null => {
    const f = {
      dir,
      glue: join(glueDir, THREADED_GLUE),
      workerCode: join(glueDir, THREADED_WORKER),
      starter: join(starterDir, PTHREAD_STARTER),
    };
    return existsSync(join(dir, WASM_THREADED)) && existsSync(f.glue) && existsSync(f.workerCode) && existsSync(f.starter) ? f : null;
  };
  if (here) {
    const bundled = all(here, here, here);
    if (bundled) return bundled;
  }
  const pkg = wasmPackage();
  return pkg && here ? all(join(pkg, 'dist'), join(pkg, 'wasm-out'), here) : null;
}

/** All the cores of this machine: the threads PyTorch would use too. */
export function allCores(): number {
  const os = req('node:os') as typeof import('node:os');
  return Math.max(1, typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length);
}

/**
 * tfjs-backend-wasm's threaded build in Node. tfjs turns threads off in Node (WASM_HAS_MULTITHREAD_SUPPORT is false
 * there) because Emscripten starts each pthread as a Worker on a `blob:` URL of its worker code, and Node's
 * worker_threads only start files. The glue creates its pthreads with the global `Worker` it sets to Node's
 * worker_threads.Worker: here that global is pinned to a Worker that starts our starter file instead, which runs the
 * package's own worker code; the glue's first message to a pthread names a Blob of its own source, replaced by the
 * path of the package's standalone glue (the same build). Lives as long as this thread (the profile's worker).
 */
function startPthreadWorkers(files: ThreadedFiles): void {
  class PthreadWorker extends NodeWorker {
    constructor(_blobUrl: string | URL, options?: WorkerOptions) {
      super(files.starter, { ...options, workerData: { workerCode: files.workerCode, glue: files.glue } });
      super.unref();
    }
    /**
     * Emscripten refs a pthread while it runs, and XNNPACK's pool threads run (wait for work) for good: they would
     * keep a process that started the backend alive after its work is done. They only ever work while this thread
     * waits for them, so they never need to hold the process.
     */
    override ref(): void {}
    override postMessage(message: unknown, transfer?: Parameters<NodeWorker['postMessage']>[1]): void {
      const m = message as { cmd?: string; urlOrBlob?: unknown } | null;
      super.postMessage(m && m.cmd === 'load' ? { ...m, urlOrBlob: files.glue } : message, transfer);
    }
  }
  Object.defineProperty(globalThis, 'Worker', { configurable: true, get: () => PthreadWorker, set: () => {} });
}

/**
 * Emscripten starts a pool of 8 pthread workers whatever the thread count; XNNPACK's pool took what it needs when the
 * backend started and never asks again. The idle rest would only make ending the profile (a cancel terminates its
 * worker, and with it these) slower, by the time each takes to stop.
 */
function stopIdlePthreads(): void {
  const wasm = (tf.backend() as unknown as { wasm?: { PThread?: { unusedWorkers?: NodeWorker[] } } }).wasm;
  for (const w of wasm?.PThread?.unusedWorkers?.splice(0) ?? []) void w.terminate();
}

/**
 * tfjs-backend-wasm caps its thread pool at half the logical cores it is told of (it assumes two hyper-threads per
 * core, so a 2-core machine gets 1 thread): while the backend starts, it is told of twice the threads asked for.
 */
async function withReportedCores<T>(threads: number, f: () => Promise<T>): Promise<T> {
  const os = req('node:os') as { cpus: () => import('node:os').CpuInfo[] };
  const real = os.cpus;
  os.cpus = () => {
    const one = real()[0];
    return one ? new Array<import('node:os').CpuInfo>(2 * threads).fill(one) : real();
  };
  try {
    return await f();
  } finally {
    os.cpus = real;
  }
}

let tfjsNodeError: string | null = null;
let tfjsNodeLoaded = false;

/** Loads the user's tfjs-node, if any. Its backend registers itself in the global tfjs engine as 'tensorflow'. */
function loadTfjsNode(): boolean {
  if (tfjsNodeLoaded) return true;
  if (tfjsNodeError !== null) return false;
  try {
    req('@tensorflow/tfjs-node');
    tfjsNodeLoaded = tf.findBackendFactory('tensorflow') != null;
    if (!tfjsNodeLoaded) tfjsNodeError = '@tensorflow/tfjs-node loaded but registered no backend in this tfjs-core';
  } catch (e) {
    tfjsNodeError = e instanceof Error ? e.message.split('\n')[0]! : String(e);
  }
  return tfjsNodeLoaded;
}

let wasmConfigured = false;
let kernelsReplaced = false;
/** threads the wasm backend was started with in this thread (it cannot change once started) */
let wasmThreads = 0;

/**
 * tfjs-backend-wasm's Slice copies its whole input out of the wasm heap into a fresh JS array (readSync) before
 * cutting, whatever the size of the cut: each of the three pieces Detect's decode splits off its 6.5 MB map at
 * 320 px cost 3.5 ms, more than the conv that made the map. This Slice reads the input where it lies and copies
 * only the slice, in runs as long as the layout allows (everything inward of the innermost cut axis).
 */
function registerInPlaceSlice(): void {
  const original = tf.getKernel('Slice', 'wasm');
  if (!original) return;
  tf.unregisterKernel('Slice', 'wasm');
  tf.registerKernel({
    ...original,
    kernelFunc: (args) => {
      const backend = args.backend as BackendWasm;
      const x = args.inputs.x!;
      const { begin: b, size: sz } = args.attrs as unknown as tf.SliceAttrs;
      if (x.dtype === 'string' || x.shape.length === 0) return original.kernelFunc(args);
      const [begin, size] = tf.slice_util.parseSliceParams(x as tf.Tensor, b, sz);
      const out = backend.makeOutput(size, x.dtype);
      if (tf.util.sizeFromShape(size) === 0) return out;
      // views taken after the allocation, which may have grown (and so detached) the heap
      const src = backend.typedArrayFromHeap(x);
      const dst = backend.typedArrayFromHeap(out);
      const heap = new (src.constructor as new (b: ArrayBufferLike) => typeof src)(src.buffer);
      const srcAt = src.byteOffset / src.BYTES_PER_ELEMENT;
      const dstAt = dst.byteOffset / dst.BYTES_PER_ELEMENT;
      const shape = x.shape;
      const strides = [...tf.util.computeStrides(shape), 1];
      let k = shape.length - 1;
      while (k > 0 && size[k] === shape[k]) k--;
      const run = size[k]! * strides[k]!;
      let from = begin.reduce((a, v, i) => a + v * strides[i]!, 0);
      const idx = new Array<number>(k).fill(0);
      for (let to = 0; to < dst.length; to += run) {
        // a short run (a head's split of [.., 85] rows into 2, 2 and 81) is cheaper as a loop than as a call
        if (run < SHORT_RUN) for (let j = 0; j < run; j++) dst[to + j] = src[from + j]!;
        else heap.copyWithin(dstAt + to, srcAt + from, srcAt + from + run);
        // the next run: an odometer over the axes outside the run
        for (let i = k - 1; i >= 0; i--) {
          from += strides[i]!;
          if (++idx[i]! < size[i]!) break;
          idx[i] = 0;
          from -= size[i]! * strides[i]!;
        }
      }
      return out;
    },
  });
}

/** Runs shorter than this are copied element by element. */
const SHORT_RUN = 16;

/**
 * tfjs-backend-wasm's Concat replaced by the loops of layout-kernels.ts (see there for the figures), for the numeric
 * dtypes; strings and complex numbers keep the original.
 */
function registerLayoutKernels(): void {
  const concat = tf.getKernel('Concat', 'wasm');
  if (concat) {
    tf.unregisterKernel('Concat', 'wasm');
    tf.registerKernel({
      ...concat,
      kernelFunc: (args) => {
        const backend = args.backend as BackendWasm;
        const all = Object.values(args.inputs) as tf.TensorInfo[];
        const xs = all.filter((t) => tf.util.sizeFromShape(t.shape) > 0);
        if (xs.length < 2 || xs[0]!.dtype === 'string' || xs[0]!.dtype === 'complex64') return concat.kernelFunc(args);
        const { axis: ax } = args.attrs as unknown as tf.ConcatAttrs;
        const axis = tf.util.parseAxisParam(ax, xs[0]!.shape)[0]!;
        const out = backend.makeOutput(
          tf.backend_util.computeOutShape(
            xs.map((t) => t.shape),
            axis,
          ),
          xs[0]!.dtype,
        );
        const outer = tf.util.sizeFromShape(xs[0]!.shape.slice(0, axis));
        const inner = xs.map((t) => tf.util.sizeFromShape(t.shape.slice(axis)));
        concatInto(
          xs.map((t) => backend.typedArrayFromHeap(t)),
          inner,
          outer,
          backend.typedArrayFromHeap(out),
        );
        return out;
      },
    });
  }
}

async function tryWasm(threads: number, warnings: string[]): Promise<string | null> {
  if (!wasmConfigured) {
    const dir = wasmDir();
    if (!dir) return `the WebAssembly binaries (${WASM_SIMD}) are neither beside the bundle nor in node_modules`;
    const threaded = threads > 1 ? threadedFiles() : null;
    if (threads > 1 && !threaded) warnings.push(`the threaded WebAssembly files are missing: the profile runs on 1 thread`);
    if (threaded) {
      startPthreadWorkers(threaded);
      tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
      setThreadsCount(threads);
    }
    setWasmPaths(`${(threaded?.dir ?? dir).replace(/\/$/, '')}/`);
    wasmConfigured = true;
  }
  try {
    const ok = await withReportedCores(Math.max(1, threads), () => tf.setBackend('wasm'));
    wasmThreads = getThreadsCount();
    if (ok && wasmThreads > 1) stopIdlePthreads();
    if (!ok) return 'the wasm backend failed to initialise';
    if (!kernelsReplaced) {
      registerInPlaceSlice();
      registerLayoutKernels();
    }
    kernelsReplaced = true;
    return null;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

/**
 * Starts the chosen backend on `threads` threads (default: every core), falling back (with a warning) when it is not
 * available. The wasm backend's thread count is fixed by the first start in a thread: later starts report it.
 */
export async function startBackend(choice: ProfileBackend, threads = allCores()): Promise<StartedBackend> {
  const warnings: string[] = [];
  const order: TfBackendName[] = choice === 'cpu' ? ['cpu'] : choice === 'wasm' ? ['wasm', 'cpu'] : ['tfjs-node', 'wasm', 'cpu'];
  for (const name of order) {
    if (name === 'tfjs-node') {
      if (loadTfjsNode() && (await tf.setBackend('tensorflow')))
        return { name, detail: 'tfjs-node (libtensorflow)', threads: null, warnings };
      if (choice === 'tfjs-node')
        warnings.push(
          `@tensorflow/tfjs-node is not available (${tfjsNodeError ?? 'it did not start'}); install it next to the extension to use it`,
        );
    } else if (name === 'wasm') {
      const err = await tryWasm(threads, warnings);
      if (!err) {
        const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
        const n = wasmThreads;
        return { name, detail: `wasm (${simd ? 'SIMD' : 'no SIMD'}, ${n} thread${n === 1 ? '' : 's'})`, threads: n, warnings };
      }
      warnings.push(`the WebAssembly backend did not start: ${err}`);
    } else {
      await tf.setBackend('cpu');
      return { name, detail: `cpu (pure JavaScript ${version_cpu}, 1 thread, slow)`, threads: 1, warnings };
    }
  }
  throw new Error('no tfjs backend started');
}

/** Whether tfjs-node can be loaded here (for the bench and the settings UI). */
export function tfjsNodeAvailable(): boolean {
  return loadTfjsNode();
}
