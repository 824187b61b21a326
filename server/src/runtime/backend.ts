/**
 * Chooses and starts the tfjs backend the profile runs on: `@tensorflow/tfjs-node` when the user installed it
 * (never a dependency: its install downloads libtensorflow), else the bundled WebAssembly backend (SIMD), else
 * the pure-JS CPU backend. The `.wasm` binaries are looked up beside the bundle (dist/, the VSIX) and in the package.
 */
import * as tf from '@tensorflow/tfjs-core';
// a used binding: the package's sideEffects list would let a bare import be dropped from the bundle
import { version_cpu } from '@tensorflow/tfjs-backend-cpu';
import { setWasmPaths, type BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { ProfileBackend } from '../protocol.ts';

export type TfBackendName = 'tfjs-node' | 'wasm' | 'cpu';

export interface StartedBackend {
  readonly name: TfBackendName;
  /** e.g. `wasm (SIMD, 1 thread)` */
  readonly detail: string;
  readonly warnings: string[];
}

const WASM_SIMD = 'tfjs-backend-wasm-simd.wasm';

// silence tfjs's console advice ("install tfjs-node") and skip its debug checks
tf.env().set('PROD', true);

// eslint-disable-next-line no-restricted-properties -- unreachable: the bundles are CommonJS (__filename is defined)
const req = createRequire(typeof __filename === 'string' ? __filename : join(process.cwd(), 'index.js'));

/** The folder holding the wasm binaries: beside this bundle first (dist/ in the VSIX), else the installed package. */
export function wasmDir(): string | null {
  const here = typeof __dirname === 'string' ? __dirname : null;
  if (here && existsSync(join(here, WASM_SIMD))) return here;
  try {
    const pkg = dirname(req.resolve('@tensorflow/tfjs-backend-wasm/package.json'));
    if (existsSync(join(pkg, 'dist', WASM_SIMD))) return join(pkg, 'dist');
  } catch {
    // not installed: the bundle must carry the binaries
  }
  return null;
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
let inPlaceSlice = false;

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
        heap.copyWithin(dstAt + to, srcAt + from, srcAt + from + run);
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

async function tryWasm(): Promise<string | null> {
  if (!wasmConfigured) {
    const dir = wasmDir();
    if (!dir) return `the WebAssembly binaries (${WASM_SIMD}) are neither beside the bundle nor in node_modules`;
    setWasmPaths(dir.endsWith('/') ? dir : `${dir}/`);
    wasmConfigured = true;
  }
  try {
    const ok = await tf.setBackend('wasm');
    if (!ok) return 'the wasm backend failed to initialise';
    if (!inPlaceSlice) registerInPlaceSlice();
    inPlaceSlice = true;
    return null;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

/** Starts the chosen backend, falling back (with a warning) when it is not available. */
export async function startBackend(choice: ProfileBackend): Promise<StartedBackend> {
  const warnings: string[] = [];
  const order: TfBackendName[] = choice === 'cpu' ? ['cpu'] : choice === 'wasm' ? ['wasm', 'cpu'] : ['tfjs-node', 'wasm', 'cpu'];
  for (const name of order) {
    if (name === 'tfjs-node') {
      if (loadTfjsNode() && (await tf.setBackend('tensorflow'))) return { name, detail: 'tfjs-node (libtensorflow)', warnings };
      if (choice === 'tfjs-node')
        warnings.push(
          `@tensorflow/tfjs-node is not available (${tfjsNodeError ?? 'it did not start'}); install it next to the extension to use it`,
        );
    } else if (name === 'wasm') {
      const err = await tryWasm();
      if (!err) {
        const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
        return { name, detail: `wasm (${simd ? 'SIMD' : 'no SIMD'}, 1 thread)`, warnings };
      }
      warnings.push(`the WebAssembly backend did not start: ${err}`);
    } else {
      await tf.setBackend('cpu');
      return { name, detail: `cpu (pure JavaScript ${version_cpu}, slow)`, warnings };
    }
  }
  throw new Error('no tfjs backend started');
}

/** Whether tfjs-node can be loaded here (for the bench and the settings UI). */
export function tfjsNodeAvailable(): boolean {
  return loadTfjsNode();
}
