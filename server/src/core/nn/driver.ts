/**
 * The layer driver: how a model's layers pass values to each other, written once for every interpreter (the
 * resolver's shape passes, the profile's memory plan, the tfjs engine, the op trace). It routes each layer's `from`
 * inputs (-1 = the image), keeps the WorldModel text features (`guide`) the way WorldModel.predict threads them, and
 * stores each output for the layers after it; what running a layer means is the interpreter's.
 */
import type { ForwardCtx, In, Out } from './module.ts';

/** How a layer touches a WorldModel's text features: reads the running ones, reads the originals, or replaces them. */
export type GuideRole = 'consumer' | 'consumer-original' | 'producer';

/** What the driver needs of a layer. */
export interface WiredLayer {
  /** absolute indices of the inputs, -1 = the model input */
  readonly fromIndices: readonly number[];
  /** inputs passed as a list (Concat, heads) rather than one tensor */
  readonly fromIsList: boolean;
  /** null: the layer does not touch text features (every layer outside a `-world` model) */
  readonly guideRole: GuideRole | null;
}

/** A layer's stored value: one tensor, or the flat list of a multi-output layer's tensors. */
export type Stored<T> = T | readonly T[];

export interface DriveHooks<T> {
  /** false: layer k cannot run (it was not built), so it is skipped before its inputs are routed */
  canRun?(k: number): boolean;
  /**
   * Run layer `k` on its input. Return its output, or `undefined` when it produced none (not built, failed): the
   * layers reading it are then skipped. Return `STOP` to end the pass.
   */
  run(k: number, input: In<T>, ctx: ForwardCtx<T>): Out<T> | undefined | typeof STOP;
  /** the output as one tensor, or null when the layer returned several (a list, a tuple, None) */
  asOne(out: Out<T>): T | null;
  /** every tensor of a multi-output layer's output, depth-first (what later layers read from it) */
  flatten(out: Out<T>): readonly T[];
  /** called after layer k's output is stored (the engine frees what no later layer reads) */
  after?(k: number, values: (Stored<T> | undefined)[], guide: T | null): void;
}

export const STOP: unique symbol = Symbol('stop');

export interface DriveResult<T> {
  /** what each layer stored (undefined: skipped or failed) */
  readonly values: (Stored<T> | undefined)[];
  /** the input each layer ran on (undefined: skipped) */
  readonly inputs: (In<T> | undefined)[];
  /** the text features after the last producer */
  readonly guide: T | null;
  /** the pass ended early */
  readonly stopped: boolean;
}

/** The forward context of a layer: `base`, plus the text features its role reads. */
export function guideCtx<T>(base: ForwardCtx<T>, role: GuideRole | null, running: T | null, original: T | null): ForwardCtx<T> {
  if (role === 'consumer' || role === 'producer') return running === null ? base : { ...base, guide: running };
  if (role === 'consumer-original') return original === null ? base : { ...base, guide: original };
  return base;
}

/**
 * Walk the layers in order. `baseCtx(k, input)` gives what a layer's forward gets besides its inputs and the text
 * features (a Detect head's strides).
 */
export function driveLayers<T>(
  layers: readonly WiredLayer[],
  input: T,
  guide0: T | null,
  hooks: DriveHooks<T>,
  baseCtx: (k: number, input: In<T>) => ForwardCtx<T> = () => ({}),
): DriveResult<T> {
  const values: (Stored<T> | undefined)[] = new Array(layers.length);
  const inputs: (In<T> | undefined)[] = new Array(layers.length);
  let guide = guide0;
  const valueOf = (j: number): Stored<T> | undefined => (j < 0 ? input : values[j]);
  for (let k = 0; k < layers.length; k++) {
    const l = layers[k]!;
    if (hooks.canRun && !hooks.canRun(k)) continue;
    let x: In<T>;
    if (l.fromIsList) {
      const xs = l.fromIndices.map(valueOf);
      if (xs.some((v) => v === undefined)) continue;
      // a multi-output input (CBLinear's split) stays a nested list, as CBFuse expects it
      x = xs as unknown as In<T>;
    } else {
      const v = valueOf(l.fromIndices[0]!);
      if (v === undefined) continue;
      x = v as In<T>;
    }
    inputs[k] = x;
    const out = hooks.run(k, x, guideCtx(baseCtx(k, x), l.guideRole, guide, guide0));
    if (out === STOP) return { values, inputs, guide, stopped: true };
    if (out === undefined) continue;
    const one = hooks.asOne(out);
    if (l.guideRole === 'producer') {
      // ImagePoolingAttn returns new text features; the layer's value for the next layers stays its input
      if (one !== null) guide = one;
      values[k] = x as Stored<T>;
    } else values[k] = one ?? hooks.flatten(out);
    hooks.after?.(k, values, guide);
  }
  return { values, inputs, guide, stopped: false };
}
