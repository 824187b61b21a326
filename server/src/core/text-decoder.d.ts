/**
 * The core is typed without DOM or node types (no IO, no editor). Standard globals it may use anyway: TextDecoder
 * (WHATWG Encoding, in Node, browsers and workers alike), which the checkpoint reader needs to read names and headers.
 */
declare class TextDecoder {
  constructor(label?: string, options?: { fatal?: boolean; ignoreBOM?: boolean });
  readonly encoding: string;
  readonly fatal: boolean;
  decode(input?: ArrayBufferView | ArrayBuffer, options?: { stream?: boolean }): string;
}

/** Its counterpart (same standard, same hosts): the checkpoint writer encodes names as UTF-8. */
declare class TextEncoder {
  constructor();
  readonly encoding: string;
  encode(input?: string): Uint8Array;
}
