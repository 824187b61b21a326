/**
 * Phase 3b, the run: a static forward pass over the built layers (shapes, thop FLOPs), driven by the one layer
 * driver, and the diagnostics a failing forward gives (which input, which layer, which shapes).
 */
import { diag, type Code, type RelatedInfo } from '../diagnostics.ts';
import type { Range } from '../range.ts';
import { driveLayers, STOP, type WiredLayer } from '../nn/driver.ts';
import { forEachModule, ShapeError, type Mod, type Out, type Shape } from '../nn/module.ts';
import { ConcatError, ShapeFlow, flattenOut, isShape } from '../nn/static.ts';
import { EmptyWeightError } from '../nn/module.ts';
import type { BuildResult } from './build.ts';
import { forgetStack, resolverCache } from './cache.ts';
import { MAX_DIM } from './options.ts';
import { rangeOrModule, type ParsedLayer } from './plan.ts';
import type { Sink, Stage } from './sink.ts';

export interface Ops {
  thop: number;
  ultralyticsThop: number;
  /** thop 0.1.1 ops counted on a shared module in this layer (included in `thop`) */
  sharedThop?: number;
  /** how many modules of this layer hold a shared counted module as a child (`model.apply` visits it once each) */
  sharedParents?: number;
}

interface RunResult {
  readonly out: Out<Shape>;
  readonly ops: Ops;
}

export interface PassResult {
  readonly outs: (Out<Shape> | undefined)[];
  readonly inputs: (Shape | Shape[] | undefined)[];
  readonly ops: (Ops | undefined)[];
  readonly errors: { layer: number; error: ShapeError }[];
}

/** Measured: a run result with its key holds ~600 bytes. */
const runCache = resolverCache<RunResult | ShapeError>(100_000, 32 * 2 ** 20);

function shapeKey(input: Shape | readonly Shape[]): string {
  if (isShape(input)) return input.join(',');
  let k = '';
  for (const s of input as Shape[]) k += s.join(',') + ';';
  return k;
}

/** One layer's static forward (cached by build, input shapes and text-feature shape). */
function runLayer(
  key: string,
  b: BuildResult,
  input: Shape | readonly Shape[],
  guide: Shape | undefined,
  strides?: readonly number[],
): RunResult | ShapeError {
  // strides are a function of the input shapes (see `runPass`): the key needs no more
  const fullKey = `${key}|${shapeKey(input)}|${guide ? guide.join('x') : ''}`;
  const hit = runCache.get(fullKey);
  if (hit) return hit;
  let res: RunResult | ShapeError;
  try {
    const fl = new ShapeFlow();
    const out = fl.callMulti(b.mod!, input as Shape | Shape[], { ...(guide ? { guide } : {}), ...(strides ? { strides } : {}) });
    // sizes are doubles here: thousands of upsamples or absurd channel counts overflow to Infinity or NaN where
    // torch would fail to allocate; say so instead of reporting the numbers
    for (const s of flattenOut(out))
      if (!s.every((d) => Number.isInteger(d) && d >= 0 && d <= MAX_DIM))
        throw new ShapeError(`the output would be ${s.join('×')}: beyond any tensor torch can allocate`);
    if (!Number.isFinite(fl.ops.thop) || !Number.isFinite(fl.ops.ultralyticsThop))
      throw new ShapeError('the FLOP count overflows: the sizes inside this layer are beyond any tensor torch can allocate');
    res = {
      out,
      ops: fl.sharedThop > 0 ? { ...fl.ops, sharedThop: fl.sharedThop, sharedParents: sharedParents(b.mod!) } : { ...fl.ops },
    };
  } catch (e) {
    if (e instanceof ShapeError) res = e;
    else if (e instanceof RangeError) res = new ShapeError(`the forward pass recursed too deeply (${e.message})`);
    else throw e;
  }
  runCache.set(fullKey, res instanceof ShapeError ? forgetStack(res) : res, 600);
  return res;
}

/**
 * The layers as the driver wires them: a WorldModel's text features reach the layers that take them, a YOLOEModel's
 * prompts its YOLOE head; in any other model class nothing does.
 */
export function wiring(layers: readonly ParsedLayer[], inputs: 'world' | 'prompts' | null): WiredLayer[] {
  return layers.map((p) => ({
    fromIndices: p.fromIndices ?? [],
    fromIsList: p.fromIsList,
    guideRole:
      inputs === 'world' ? (p.entry?.def.guide ?? null) : inputs === 'prompts' && p.entry?.def.prompts ? 'consumer-original' : null,
  }));
}

/**
 * A static forward pass at `input` over the given builds. `stopAtError` ends the pass at the first failing layer (the
 * stride probe and GFLOPs passes); otherwise every layer whose inputs are known runs.
 */
export function runPass(
  layers: readonly ParsedLayer[],
  wired: readonly WiredLayer[],
  builds: readonly (BuildResult | null)[],
  envKey: string,
  input: Shape,
  textFeatures: Shape,
  stopAtError: boolean,
): PassResult {
  const outs: (Out<Shape> | undefined)[] = [];
  const ops: (Ops | undefined)[] = [];
  const errors: { layer: number; error: ShapeError }[] = [];
  const last = layers.length - 1;
  const drive = driveLayers<Shape>(wired, input, textFeatures, {
    canRun: (k) => !!builds[k]?.mod && layers[k]!.fromIndices !== null,
    run(k, x, ctx) {
      const p = layers[k]!;
      // the last layer, a Detect-family head, decodes with the strides the model derives from the image size (see
      // ForwardCtx.strides); a head anywhere else never gets strides, as upstream
      const strides = k === last && p.entry!.def.detectFamily && !isShape(x) ? (x as Shape[]).map((s) => input[2]! / s[2]!) : undefined;
      const r = runLayer(`${envKey}|${p.buildKey}|${strides ? 'last' : ''}`, builds[k]!, x as Shape | Shape[], ctx.guide, strides);
      if (r instanceof ShapeError) {
        errors.push({ layer: k, error: r });
        return stopAtError ? STOP : undefined;
      }
      outs[k] = r.out;
      ops[k] = r.ops;
      return r.out;
    },
    asOne: (out) => (isShape(out) ? (out as Shape) : null),
    flatten: (out) => flattenOut(out),
  });
  return { outs, inputs: drive.inputs as (Shape | Shape[] | undefined)[], ops: sharedThopQuirk(ops), errors };
}

/** Modules of a layer that hold a shared module with a thop rule (a shared nn.PReLU) as a named child. */
function sharedParents(root: Mod): number {
  let n = 0;
  forEachModule(root, (m) => {
    if (m.children.some(([, c]) => c.shared && c.leaf)) n++;
  });
  return n;
}

/**
 * thop 0.1.1 on a module shared by N parents (YOLOv5's `Conv.default_act` when it is `nn.PReLU()`): `model.apply`
 * visits it once per parent and registers its counting hook N times, so each call adds N x its count; then every
 * parent adds the module's whole total (all calls of the model) to its own. A layer's figure is thus its own ops
 * plus (its parents) x N x E, where E is what the shared module's calls count once; the model's, N^2 x E.
 * ultralytics-thop 2.x counts a shared module once per call: its figures are left as they are.
 */
function sharedThopQuirk(ops: (Ops | undefined)[]): (Ops | undefined)[] {
  let e = 0;
  let parents = 0;
  for (const o of ops) {
    e += o?.sharedThop ?? 0;
    parents += o?.sharedParents ?? 0;
  }
  if (e === 0) return ops;
  return ops.map((o) => (o ? { ...o, thop: o.thop - (o.sharedThop ?? 0) + (o.sharedParents ?? 0) * parents * e } : o));
}

const fmtShape = (s: Shape | null | undefined): string => (s ? s.slice(1).join('×') : '?');

function describeInput(inp: Shape | Shape[] | undefined): string {
  if (!inp) return '?';
  if (isShape(inp)) return `${inp[1]} (${fmtShape(inp)} from the previous layer)`;
  return (inp as Shape[]).map(fmtShape).join(', ');
}

const CHANNEL_ERROR = /channels, but got|to have \d+ channels|running_mean should contain|mat1 and mat2/;

/** The diagnostic of a layer whose forward fails: on the `from` item or arg at fault where that can be told. */
export function reportForward(
  layers: readonly ParsedLayer[],
  p: ParsedLayer,
  e: ShapeError,
  inp: Shape | Shape[] | undefined,
  stage: Stage,
  sink: Sink,
  context = '',
): void {
  const related: RelatedInfo[] = [];
  let code: Code = 'YOLO017';
  let range: Range = rangeOrModule(p);
  let message = `${p.moduleName}: ${e.message}`;
  if (e instanceof ConcatError && p.fromIndices && Array.isArray(inp) && !isShape(inp)) {
    code = 'YOLO016';
    const a = p.fromIndices[e.first]!;
    const b = p.fromIndices[e.other]!;
    const sa = (inp as Shape[])[e.first];
    const sb = (inp as Shape[])[e.other];
    const name = (j: number) => (j < 0 ? 'the input image' : `layer ${j} (${layers[j]?.moduleName ?? '?'})`);
    message = `Concat inputs differ in size: ${name(a)} gives ${fmtShape(sa)} but ${name(b)} gives ${fmtShape(sb)}${context}`;
    const items = p.src.from?.items;
    if (items?.[e.other]) range = items[e.other]!.range;
    for (const [j, s] of [
      [a, sa],
      [b, sb],
    ] as const)
      if (j >= 0 && layers[j]) related.push({ range: layers[j]!.src.range, message: `layer ${j} outputs ${fmtShape(s)}` });
  } else if (e instanceof EmptyWeightError) {
    // the channel count that became 0: the YAML's c2 (written 0, negative, or floored to 0 by the width)
    const c2 = p.bindings.find((b) => b.param === 'c2' || b.param === 'out_channels');
    if (c2) range = c2.range;
    const written = c2 ? ` (written ${c2.yamlValue === null ? 'None' : String(c2.yamlValue)}${c2.note ? `: ${c2.note}` : ''})` : '';
    message = `${p.moduleName} at layer ${p.index} has a convolution with 0 output channels${written}: ${e.message}${context}`;
  } else if (CHANNEL_ERROR.test(e.message)) {
    code = 'YOLO015';
    if (isShape(inp) && p.c1 !== null && inp[1] === p.c1) {
      // the layer receives the channels it was built for: the mismatch is inside it
      if (p.copies > 1 && p.src.n) {
        range = p.src.n.range;
        message =
          `${p.moduleName} at layer ${p.index} is built as ${p.copies} copies with the same args (nn.Sequential), so ` +
          `copy 2 still expects ${p.c1} input channels but gets the ${p.c2 ?? 'channels'} the first one outputs: ${e.message}${context}`;
      } else message = `${p.moduleName} at layer ${p.index}: its parts do not fit together with these args: ${e.message}${context}`;
    } else {
      if (p.src.from) range = p.src.from.range;
      const builtFor = p.c1 !== null ? `was built for ${p.c1} input channels but ` : '';
      message = `${p.moduleName} at layer ${p.index} ${builtFor}receives ${describeInput(inp)}: ${e.message}${context}`;
    }
  } else if (p.entry?.def.detectFamily && /out of range|anchor/.test(e.message)) {
    code = 'YOLO018';
    if (p.src.from) range = p.src.from.range;
    message = `${p.moduleName}: ${e.message}${context}`;
  } else message += context;
  sink.add(diag(code, range, message, undefined, { layer: p.index, related }), stage);
}
