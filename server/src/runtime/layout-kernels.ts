/**
 * Data-movement kernels written over flat arrays, for the wasm backend's heap (backend.ts registers them).
 * tfjs-backend-wasm's Concat copies each row of each input through a fresh subarray: 15 ms at 640 px for the
 * Slim-neck YOLOv5 Detect's cat of its [1, 3, 160, 160, 2], [.., 2] and [.., 81] pieces along the last axis.
 */

/** A flat array the kernels read and write: a typed array view of the heap, or a plain array in tests. */
export interface Flat {
  readonly length: number;
  [i: number]: number;
}

/** Rows at least this long are moved with one call each (copyWithin, or set between buffers); shorter ones by a loop. */
const CALL_MIN_RUN = 16;

/**
 * torch.cat along an axis of row-major arrays: `outer` rows (the product of the axes before it), input i contributing
 * `inner[i]` values (its size along the axis times the axes after it) to each output row.
 */
export function concatInto(srcs: readonly Flat[], inner: readonly number[], outer: number, dst: Flat): void {
  const total = inner.reduce((p, v) => p + v, 0);
  let col = 0;
  srcs.forEach((src, i) => {
    const n = inner[i]!;
    if (n >= CALL_MIN_RUN && isTyped(src) && isTyped(dst)) {
      if (src.buffer === dst.buffer) {
        // both in the wasm heap: copyWithin over one view of it allocates nothing per row
        const heap = new (dst.constructor as new (b: ArrayBufferLike) => TypedArray)(dst.buffer);
        const from = src.byteOffset / src.BYTES_PER_ELEMENT;
        const to = dst.byteOffset / dst.BYTES_PER_ELEMENT + col;
        for (let row = 0; row < outer; row++) heap.copyWithin(to + row * total, from + row * n, from + row * n + n);
      } else for (let row = 0; row < outer; row++) dst.set(src.subarray(row * n, row * n + n), row * total + col);
    } else
      for (let row = 0; row < outer; row++) {
        const s = row * n;
        const o = row * total + col;
        for (let k = 0; k < n; k++) dst[o + k] = src[s + k]!;
      }
    col += n;
  });
}

type TypedArray = Float32Array | Int32Array | Uint8Array;
const isTyped = (a: Flat): a is TypedArray => a instanceof Float32Array || a instanceof Int32Array || a instanceof Uint8Array;
