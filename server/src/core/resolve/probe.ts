/**
 * Phase 4, the stride probe: a model ending in a Detect-family head runs a 256×256 forward when it is built, to learn
 * its strides (`256 / H` of each head input). A graph that fails there fails at build, before any forward at imgsz;
 * the strides then decide the image sizes the framework accepts.
 */
import { diag } from '../diagnostics.ts';
import type { WiredLayer } from '../nn/driver.ts';
import type { Shape } from '../nn/module.ts';
import { isShape } from '../nn/static.ts';
import type { BuildResult } from './build.ts';
import { rangeOrModule, type ParsedLayer } from './plan.ts';
import { reportForward, runPass, type PassResult } from './run.ts';
import type { Sink } from './sink.ts';

const PROBE = 256;
const PROBE_CONTEXT = ' (at the 256×256 stride probe the framework runs when it builds the model)';

export interface Probe {
  /** the detection levels' strides, when the model ends in a Detect-family head */
  readonly strides: number[] | null;
  readonly maxStride: number;
}

export interface PassInputs {
  readonly layers: readonly ParsedLayer[];
  readonly wired: readonly WiredLayer[];
  readonly built: readonly (BuildResult | null)[];
  readonly envKey: string;
  readonly ch: number;
  readonly imgsz: number;
  readonly textFeatures: Shape;
}

/** The head is a single Detect-family module (not n copies of one): the framework probes the model with it. */
export function endsInDetectHead(layers: readonly ParsedLayer[]): boolean {
  const last = layers[layers.length - 1];
  return !!last?.entry?.def.detectFamily && last.copies === 1;
}

const probePass = (x: PassInputs) => runPass(x.layers, x.wired, x.built, x.envKey, [1, x.ch, PROBE, PROBE], x.textFeatures, true);

/**
 * Reports the forward errors of the main pass, or the probe's when the model would already fail at build; then runs
 * the probe for the strides and checks the anchors and the image size against them.
 */
export function probeAndReport(x: PassInputs, main: PassResult, sink: Sink): Probe {
  const { layers } = x;
  const detectHead = endsInDetectHead(layers);
  const early = detectHead && main.errors.length > 0 && !sink.failure ? probePass(x) : null;
  if (early && early.errors.length) {
    const { layer, error } = early.errors[0]!;
    reportForward(layers, layers[layer]!, error, early.inputs[layer], 'build', sink, PROBE_CONTEXT);
  } else for (const { layer, error } of main.errors) reportForward(layers, layers[layer]!, error, main.inputs[layer], 'forward', sink);

  let strides: number[] | null = null;
  const lastIndex = layers.length - 1;
  if (detectHead && main.errors.length === 0 && !sink.failure) {
    const probe = probePass(x);
    if (probe.errors.length) {
      const { layer, error } = probe.errors[0]!;
      reportForward(layers, layers[layer]!, error, probe.inputs[layer], 'build', sink, PROBE_CONTEXT);
    } else {
      const headIn = probe.inputs[lastIndex];
      if (headIn && !isShape(headIn)) strides = (headIn as Shape[]).map((s) => PROBE / s[2]!);
      checkAnchorRows(layers, x.built, strides, sink);
    }
  } else if (detectHead) {
    const headIn = main.inputs[lastIndex];
    if (headIn && !isShape(headIn)) strides = (headIn as Shape[]).map((s) => x.imgsz / s[2]!);
  }
  const maxStride = strides && strides.length ? Math.max(...strides) : 32;
  // check_img_size rounds up to a multiple of max(largest stride, 32)
  const gridSize = Math.max(32, Math.trunc(maxStride));
  if (strides && x.imgsz % gridSize !== 0) {
    const message =
      `image size ${x.imgsz} is not a multiple of ${gridSize} (the model's largest stride, at least 32): training ` +
      `would round it to ${Math.ceil(x.imgsz / gridSize) * gridSize}`;
    sink.add(diag('YOLO020', { start: 0, end: 0 }, message));
  }
  return { strides, maxStride };
}

/**
 * Anchor-based heads: `m.anchors /= m.stride.view(-1, 1, 1)` needs one stride per anchor row, and the training-mode
 * probe returns one map per input.
 */
function checkAnchorRows(
  layers: readonly ParsedLayer[],
  built: readonly (BuildResult | null)[],
  strides: number[] | null,
  sink: Sink,
): void {
  const last = layers[layers.length - 1]!;
  const nl = built[layers.length - 1]?.mod?.attrs?.nl;
  if (!strides || typeof nl !== 'number' || strides.length <= nl) return;
  const extra = last.src.from?.items?.[nl]?.range ?? last.src.from?.range ?? rangeOrModule(last);
  const rows = `${nl} anchor row${nl === 1 ? '' : 's'}`;
  const message =
    `${last.moduleName} has ${rows} (levels) but ${strides.length} inputs: building the model divides the anchors by one ` +
    `stride per input and fails (RuntimeError: The size of tensor a (${nl}) must match the size of tensor b (${strides.length}) ` +
    'at non-singleton dimension 0); give one anchors row per input';
  sink.add(diag('YOLO018', extra, message, undefined, { layer: last.index }), 'build');
}
