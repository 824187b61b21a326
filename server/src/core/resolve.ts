/**
 * resolve(): YAML text → Model, exactly as the upstream parse_model would build it, then a static forward pass
 * for shapes, parameters and FLOPs. Never throws on user text: every problem is a diagnostic on the token that
 * causes it, and resolution goes on with unknown shapes where it must.
 */
import { parseModelDoc, keyText, mapEntries, layerRaw, type LayerSrc, type ModelDoc, type SrcVal } from './document.ts';
import type { Range } from './range.ts';
import { type Code, type Diagnostic, diag, type RelatedInfo } from './diagnostics.ts';
import {
  PyFloat,
  PyObj,
  PyTuple,
  type PyVal,
  isInt,
  isNumeric,
  isSeq,
  makeDivisible,
  num,
  pyBrief,
  pyEq,
  pyRepr,
  pyRound,
  pySize,
  seqItems,
  truthy,
} from './py.ts';
import { evalStringArg, type EvalEnv } from './pyeval.ts';
import { Builder } from './nn/builder.ts';
import { type Mod, type Out, type Shape, ShapeError, countParams } from './nn/module.ts';
import { ConcatError, ShapeFlow, flattenOut, isShape } from './nn/static.ts';
import { bindArgs } from './catalog/types.ts';
import { argIndexOf, type Framework, type ModuleEntry, type FrameworkId } from './catalog/framework.ts';
import { FRAMEWORKS, frameworkByName } from './catalog/frameworks.ts';
import type { ArgBinding, Flops, GflopsFigure, Model, ModelTotals, ResolvedLayer } from './model.ts';
import { looksFused, summaryLine, summaryLayerCount } from './summary-line.ts';
import { didYouMean } from './suggest.ts';

export interface ResolveOptions {
  /** force a framework (an id or an alias such as `ultralytics`) instead of detecting it */
  readonly framework?: string;
  /** ultralytics `scales:` key to use */
  readonly scale?: string;
  /** image size for shapes and per-layer FLOPs (default 640) */
  readonly imgsz?: number;
  /** input channels (default: the YAML's `ch:` or 3) */
  readonly ch?: number;
  /** the file name: the scale rule and the summary line's model name use it */
  readonly fileName?: string;
  /** skip the fused figures (faster, for callers that never show them) */
  readonly skipFused?: boolean;
  /**
   * Modules the user declared (`.yolo-lens.json`, see declaredModules.ts): `extend` adds them to the namespace of
   * the framework the file is built with. Catalog modules of the same name win.
   */
  readonly userModules?: { extend(framework: Framework): Framework };
}

/** Largest repeat count or module count we build: beyond it no real model exists and building would hang. */
const MAX_REPEATS = 4096;
const MAX_LAYERS = 20_000;
/**
 * Modules built over all layers (counted per layer, as built): the largest corpus model builds ~900 and a
 * 5,000-layer file ~30,000. Twenty lines of `[-1, 4096, C3, [...]]` would otherwise build 300,000 and take
 * seconds per keystroke; a few hundred such lines, minutes.
 */
export const MAX_MODULES = 50_000;
/** Largest `anchors: N` (anchors per level): real models use 3. */
const MAX_ANCHORS = 1000;
/** Largest tensor dimension we report (2^31 - 1): one beyond is no allocation any device makes. */
const MAX_DIM = 2 ** 31 - 1;

const GS_NAMES = new Set(['GSConv', 'GSConvns', 'GSBottleneck', 'GSBottleneckC', 'VoVGSCSP', 'VoVGSCSPC']);
const SV4_NAMES = new Set(['BottleneckCSP2', 'SPPCSP', 'VoVCSP', 'HarDBlock', 'HarDBlock2', 'SPPCSPC', 'BottleneckCSPF']);

/** `# yolo-lens: framework=yolov5-gsconv scale=s imgsz=320` anywhere in the file overrides detection. */
function modeline(text: string): Partial<Record<'framework' | 'scale' | 'imgsz', string>> {
  // a plain search first: the regex tries every '#' of a file (thousands of `# N` index comments)
  if (!text.includes('yolo-lens:')) return {};
  const m = /#\s*yolo-lens:\s*([^\n\r]*)/.exec(text);
  if (!m) return {};
  const out: Record<string, string> = {};
  for (const kv of m[1]!.trim().split(/\s+/)) {
    const [k, v] = kv.split('=');
    if (k && v && ['framework', 'scale', 'imgsz'].includes(k)) out[k] = v;
  }
  return out;
}

function moduleNames(doc: ModelDoc): string[] {
  return doc.layers.map((l) => l.module?.value).filter((v): v is string => typeof v === 'string');
}

/** Which upstream code would build this YAML. */
export function detectFramework(doc: ModelDoc, forced?: string): { framework: Framework; reason: string } {
  const pick = (id: FrameworkId, reason: string) => ({ framework: FRAMEWORKS[id] ?? FRAMEWORKS.yolov5!, reason });
  const chosen = forced ? frameworkByName(forced) : undefined;
  if (chosen) return { framework: chosen, reason: 'chosen by setting' };
  const ml = modeline(doc.text).framework;
  const named = ml ? frameworkByName(ml) : undefined;
  if (named) return { framework: named, reason: 'chosen by the `# yolo-lens: framework=` comment' };
  const names = moduleNames(doc);
  if (
    !doc.top.has('anchors') &&
    (doc.top.has('scales') ||
      !doc.top.has('depth_multiple') ||
      names.some((n) =>
        /^(C2f|C3k2|C2PSA|SPPELAN|RepNCSPELAN4|Classify|ResNetLayer|RTDETRDecoder|Pose|OBB|v10Detect|WorldDetect|C2fAttn|HGStem|HGBlock|AIFI)$/.test(
          n,
        ),
      ))
  )
    return pick(
      'ultralytics-8.3',
      doc.top.has('scales') ? 'ultralytics dialect: the file has `scales:`' : 'ultralytics dialect: no `anchors:`',
    );
  if (!doc.top.has('anchors')) return pick('ultralytics-8.3', 'ultralytics dialect: no `anchors:`');
  if (names.some((n) => SV4_NAMES.has(n)) && FRAMEWORKS['scaled-yolov4'])
    return pick('scaled-yolov4', 'YOLOv5 dialect with Scaled-YOLOv4 modules (BottleneckCSP2/SPPCSP/VoVCSP)');
  if (names.some((n) => GS_NAMES.has(n)))
    return pick('yolov5-gsconv', 'YOLOv5 dialect with Slim-neck modules: the Slim-neck YOLOv5 fork builds it');
  return pick('yolov5', 'YOLOv5 dialect (`anchors:`, depth/width multiples)');
}

/** ultralytics guess_model_scale: `yolo[v]?\d+([nslmx])` in the file stem. */
export function guessScaleFromFileName(fileName: string | undefined): string | null {
  if (!fileName) return null;
  const base = fileName.replace(/\\/g, '/').split('/').pop()!;
  const stem = base.replace(/\.[^.]*$/, '');
  return /yolo[v]?\d+([nslmx])/.exec(stem)?.[1] ?? null;
}

interface LayerPlan {
  readonly index: number;
  readonly src: LayerSrc;
  from: PyVal;
  fromIndices: number[] | null;
  fromIsList: boolean;
  nYaml: PyVal;
  n: number | null;
  copies: number;
  moduleName: string | null;
  entry?: ModuleEntry;
  args: PyVal[] | null;
  bindings: ArgBinding[];
  c1: number | null;
  c2: number | null;
  /** parse_model got through this layer's bookkeeping */
  parsed: boolean;
  /** module name, copies and args: what a build of this layer depends on besides the framework */
  buildKey: string;
}

interface RunResult {
  out: Out<Shape>;
  ops: { thop: number; ultralyticsThop: number };
}

interface BuildResult {
  mod: Mod | null;
  params: number;
  frozen: number;
  /** modules in the built tree (each counted once) */
  modules: number;
  error: ShapeError | null;
}

/**
 * A cache that starts over when full. Full is by entries and by weight (roughly bytes held), so that a session of
 * big models (a 4096-repeat C3 holds ~30,000 modules) or long keys cannot grow the heap without bound: with a
 * count alone (and errors keeping their stacks) a fuzz run reached 800 MB in 5,000 edits; now it stays near 100 MB.
 */
class BoundedCache<V> {
  private readonly map = new Map<string, V>();
  private weight = 0;
  constructor(
    private readonly maxEntries: number,
    private readonly maxWeight: number,
  ) {}
  get(k: string): V | undefined {
    return this.map.get(k);
  }
  set(k: string, v: V, weight: number): void {
    const w = weight + 2 * k.length;
    if (this.map.size >= this.maxEntries || this.weight + w > this.maxWeight) this.clear();
    this.map.set(k, v);
    this.weight += w;
  }
  clear(): void {
    this.map.clear();
    this.weight = 0;
  }
}

/**
 * A cached error must not keep its stack: V8's captured frames hold the receivers and closures of the resolve that
 * threw (its document, plans and module trees), ~200 KB per error, which made the caches grow to hundreds of MB.
 */
function forgetStack<E extends Error>(e: E): E {
  e.stack = `${e.name}: ${e.message}`;
  return e;
}

/** Measured: a built module holds ~400 bytes; a run result with its key ~600. */
const BYTES_PER_MODULE = 400;
/** Builds are pure functions of (framework, activation, module, args, copies, fused): cached across resolves. */
// a 5,000-layer model fills ~5 entries per layer per resolve (five passes); keep a few such models warm
const buildCache = new BoundedCache<BuildResult>(100_000, 64 * 2 ** 20);
const runCache = new BoundedCache<RunResult | ShapeError>(100_000, 32 * 2 ** 20);

const sharedActs = new Map<string, Mod>();

/** Empties the build and run caches: benchmarks and the fuzzer's time bound measure cold resolves with it. */
export function clearResolveCaches(): void {
  buildCache.clear();
  runCache.clear();
}

function envFor(framework: Framework, act: string | null, fused: boolean): { builder: Builder; key: string } {
  const actName = act ?? framework.defaultActName;
  let shared: Mod | null = null;
  if (framework.conv === 'shared-default-act') {
    const key = `${framework.id}|${actName}`;
    shared = sharedActs.get(key) ?? null;
    if (!shared) {
      const b0 = new Builder({ fused: false, convDefaultAct: null });
      shared = { ...(actName === 'Identity' ? b0.identity() : b0.act(actName as never)), shared: true };
      sharedActs.set(key, shared);
    }
  }
  return { builder: new Builder({ fused, convDefaultAct: shared }), key: `${framework.id}|${actName}|${fused ? 1 : 0}` };
}

function pyKey(v: PyVal): string {
  return pyRepr(v);
}

/** A cache key per definition: a user module redeclared under the same name is a different definition. */
const defTokens = new WeakMap<object, string>();
let defCount = 0;
function defToken(p: LayerPlan): string {
  const def = p.entry?.def;
  if (!def) return String(p.moduleName);
  let t = defTokens.get(def);
  if (!t) defTokens.set(def, (t = `${def.name}#${++defCount}`));
  return t;
}

function buildLayer(framework: Framework, actKey: string, builder: Builder, plan: LayerPlan): BuildResult {
  const key = `${actKey}|${plan.buildKey}`;
  const hit = buildCache.get(key);
  if (hit) return hit;
  let res: BuildResult;
  try {
    const def = plan.entry!.def;
    const one = () => def.build(builder, bindArgs(def, plan.args!));
    const estimate = estimatedModules(builder, plan);
    if (estimate > MAX_MODULES) {
      // no module tree: resolveDoc's budget check sees the estimate and says where the model got too big
      res = { mod: null, params: 0, frozen: 0, modules: estimate, error: null };
      buildCache.set(key, res, 100);
      return res;
    }
    const mod = plan.copies > 1 ? builder.seq(Array.from({ length: plan.copies }, one)) : one();
    const seen = new Set<Mod>();
    const { params, frozen } = countParams(mod, seen);
    res = { mod, params, frozen, modules: seen.size, error: null };
  } catch (e) {
    if (!(e instanceof ShapeError)) throw e;
    res = { mod: null, params: 0, frozen: 0, modules: 0, error: e };
  }
  void framework;
  if (res.error) forgetStack(res.error);
  buildCache.set(key, res, 100 + res.modules * BYTES_PER_MODULE);
  return res;
}

/**
 * Modules a layer with many copies or repeats would build, from one or two small builds: 4096 copies of a detection
 * head took seconds to build before the module budget could stop them. 0 when the layer is small (built as is).
 */
function estimatedModules(builder: Builder, plan: LayerPlan): number {
  const def = plan.entry!.def;
  const size = (args: PyVal[]) => {
    const seen = new Set<Mod>();
    countParams(def.build(builder, bindArgs(def, args)), seen);
    return seen.size;
  };
  // repeats inside the module (C2f's n, HGBlock's n): the growth from one repeat to two, times n
  const at = plan.entry!.treat === 'repeats' ? 2 : plan.entry!.treat === 'hgblock' ? 4 : -1;
  const n = at >= 0 ? plan.args![at] : undefined;
  if (typeof n === 'number' && n > 64) {
    const withN = (k: number) => plan.args!.map((v, j) => (j === at ? k : v));
    const one = size(withN(1));
    return one + (n - 1) * Math.max(0, size(withN(2)) - one);
  }
  // copies in an nn.Sequential (parse_model's n for modules that do not take it): one copy, times n
  if (plan.copies > 64) return size(plan.args!) * plan.copies;
  return 0;
}

function shapeKey(input: Shape | Shape[]): string {
  if (isShape(input)) return input.join(',');
  let k = '';
  for (const s of input as Shape[]) k += s.join(',') + ';';
  return k;
}

function runLayer(
  buildKey: string,
  mod: Mod,
  input: Shape | Shape[],
  guide: Shape | undefined,
  strides?: readonly number[],
): RunResult | ShapeError {
  // strides are a function of the input shapes (see runPass): the key needs no more
  const key = `${buildKey}|${shapeKey(input)}|${guide ? guide.join('x') : ''}`;
  const hit = runCache.get(key);
  if (hit) return hit;
  let res: RunResult | ShapeError;
  try {
    const fl = new ShapeFlow();
    const out = fl.callMulti(mod, input, { ...(guide ? { guide } : {}), ...(strides ? { strides } : {}) });
    // sizes are doubles here: thousands of upsamples or absurd channel counts overflow to Infinity or NaN where
    // torch would fail to allocate; say so instead of reporting the numbers
    for (const s of flattenOut(out))
      if (!s.every((d) => Number.isInteger(d) && d >= 0 && d <= MAX_DIM))
        throw new ShapeError(`the output would be ${s.join('×')}: beyond any tensor torch can allocate`);
    if (!Number.isFinite(fl.ops.thop) || !Number.isFinite(fl.ops.ultralyticsThop))
      throw new ShapeError('the FLOP count overflows: the sizes inside this layer are beyond any tensor torch can allocate');
    res = { out, ops: { ...fl.ops } };
  } catch (e) {
    if (e instanceof ShapeError) res = e;
    else if (e instanceof RangeError) res = new ShapeError(`the forward pass recursed too deeply (${e.message})`);
    else throw e;
  }
  runCache.set(key, res instanceof ShapeError ? forgetStack(res) : res, 600);
  return res;
}

/** A diagnostic collector that remembers the first failure stage, like the upstream code stops at its first. */
class Sink {
  readonly list: Diagnostic[] = [];
  failure: Model['failure'] = null;
  add(d: Diagnostic, stage?: 'parse' | 'build' | 'forward'): void {
    this.list.push(d);
    if (stage && d.severity === 'error' && !this.failure) this.failure = { stage, message: d.message };
  }
}

const rangeOrModule = (plan: LayerPlan): Range => plan.src.module?.range ?? plan.src.range;

function fmtShape(s: Shape | null | undefined): string {
  return s ? s.slice(1).join('×') : '?';
}

export function resolve(text: string, opts: ResolveOptions = {}): Model {
  const doc0 = parseModelDoc(text);
  return resolveDoc(doc0, opts);
}

export function resolveDoc(doc0: ModelDoc, opts: ResolveOptions = {}): Model {
  const sink = new Sink();
  let doc = doc0;
  const detected = detectFramework(doc, opts.framework);
  const framework = opts.userModules ? opts.userModules.extend(detected.framework) : detected.framework;
  const frameworkReason = detected.reason;
  if (framework.dialect === 'yolov5' && doc.nonAsciiScalars) doc = parseModelDoc(doc.text, { stripNonAscii: true });
  for (const d of doc.diagnostics) sink.add(d, d.severity === 'error' ? 'parse' : undefined);
  const ml = modeline(doc.text);
  const imgszOpt = opts.imgsz ?? (ml.imgsz ? Number(ml.imgsz) : 640);
  const imgsz = Number.isInteger(imgszOpt) && imgszOpt > 0 && imgszOpt <= 8192 ? imgszOpt : 640;

  const empty = (): Model => ({
    doc,
    framework,
    dialect: framework.dialect,
    frameworkReason,
    nc: null,
    depthMultiple: null,
    widthMultiple: null,
    maxChannels: Infinity,
    scale: null,
    scaleReason: null,
    imgsz,
    ch: 3,
    layers: [],
    diagnostics: sink.list,
    strides: null,
    maxStride: 32,
    totals: null,
    ok: false,
    failure: sink.failure ?? { stage: 'parse', message: sink.list[0]?.message ?? 'the model does not load' },
    ...(opts.fileName ? { fileName: opts.fileName } : {}),
  });
  if (doc.top.size === 0) return empty();

  const docRange: Range = { start: 0, end: 0 };
  const top = (k: string) => doc.top.get(k);
  const keyProblem = (k: string, code: Code, message: string, stage: 'parse' | 'build' = 'parse') => {
    const t = top(k);
    sink.add(diag(code, t ? t.value.range : docRange, message), stage);
  };

  // ---- header keys ------------------------------------------------------------------------------------
  const v5 = framework.dialect === 'yolov5';
  for (const k of v5 ? ['nc', 'depth_multiple', 'width_multiple', 'anchors', 'backbone', 'head'] : ['backbone', 'head'])
    if (!top(k))
      sink.add(
        diag(
          'YOLO003',
          doc.sections.backbone?.keyRange ?? firstKeyRange(doc),
          `missing key '${k}': ${v5 ? `${framework.label} reads d['${k}']` : 'the model has no layers there'}`,
        ),
        'parse',
      );

  const numberKey = (k: string, dflt: number | null, what: string): number | null => {
    const t = top(k);
    if (!t) return dflt;
    const v = t.value.value;
    if (!isNumeric(v)) {
      const hint =
        typeof v === 'string' && /^[-+]?\d+(\.\d*)?[eE][-+]?\d+$/.test(v)
          ? ` ('${v}' is a string in YAML 1.1, which PyYAML follows: write it with a dot and a signed exponent, e.g. 1.0e+9)`
          : '';
      keyProblem(k, 'YOLO004', `${k} must be a number, got ${pyBrief(v)}${hint}`);
      return null;
    }
    const x = num(v);
    if (!Number.isFinite(x) || x < 0) {
      keyProblem(k, 'YOLO023', `${k} = ${pyBrief(v)} is not a usable ${what}`);
      return null;
    }
    return x;
  };

  // nc
  const ncVal: PyVal = top('nc')?.value.value ?? null;
  if (top('nc') && !(isInt(ncVal) || typeof ncVal === 'boolean')) {
    if (ncVal instanceof PyFloat)
      keyProblem(
        'nc',
        'YOLO004',
        `nc must be an int, got ${pyBrief(ncVal)} (a float class count reaches nn.Conv2d as a float channel count)`,
        'build',
      );
    else keyProblem('nc', 'YOLO004', `nc must be an int, got ${pyBrief(ncVal)}`);
  } else if (isInt(ncVal) && ncVal <= 0)
    keyProblem('nc', 'YOLO023', `nc = ${ncVal}: a model needs at least one class (the bias init takes log(0.6 / (nc - 0.99999)))`, 'build');
  else if (isInt(ncVal) && ncVal > 100_000) keyProblem('nc', 'YOLO023', `nc = ${ncVal} classes is beyond anything buildable here`, 'build');

  let depth: number | null;
  let width: number | null;
  let maxChannels = Infinity;
  let scale: string | null = null;
  let scaleReason: string | null = null;
  const scalesT = top('scales');
  if (!v5 && scalesT && truthy(scalesT.value.value === '<mapping>' ? true : scalesT.value.value)) {
    const entries = mapEntries(scalesT.value);
    if (scalesT.value.kind !== 'map') {
      keyProblem(
        'scales',
        'YOLO022',
        `scales must be a mapping of scale letters to [depth, width, max_channels], got ${pyBrief(scalesT.value.value)}`,
      );
      depth = width = null;
    } else {
      const keys = entries.map((e) => keyText(e.key));
      const fromFile = guessScaleFromFileName(opts.fileName);
      const wanted = opts.scale ?? ml.scale ?? null;
      if (wanted) {
        scale = wanted;
        scaleReason = opts.scale ? `scale '${wanted}' chosen by setting` : `scale '${wanted}' chosen by the yolo-lens comment`;
      } else if (fromFile && keys.includes(fromFile)) {
        scale = fromFile;
        scaleReason = `scale '${fromFile}' from the file name (ultralytics: '${opts.fileName!.split(/[\\/]/).pop()}' loads this YAML at scale '${fromFile}')`;
      } else {
        scale = keys[0] ?? null;
        scaleReason = `no scale given: ultralytics assumes the first, '${scale}'`;
      }
      // a duplicated scale letter: the last one wins, as in the dict PyYAML builds
      const entry = entries.filter((e) => keyText(e.key) === scale).pop();
      if (!entry) {
        sink.add(
          diag(
            'YOLO022',
            scalesT.keyRange,
            `scales has no entry '${scale}' (KeyError: '${scale}'); it has ${keys.map((k) => `'${k}'`).join(', ')}`,
          ),
          'parse',
        );
        depth = width = null;
      } else {
        sink.add(diag('YOLO021', entry.key.range, scaleReason));
        const vals = entry.value.items?.map((i) => i.value) ?? [];
        if (entry.value.kind !== 'seq' || vals.length !== 3) {
          sink.add(
            diag(
              'YOLO022',
              entry.value.range,
              `scale '${scale}' must be [depth, width, max_channels]; got ${vals.length > 3 ? 'too many' : 'not enough'} values to unpack (expected 3, got ${vals.length})`,
            ),
            'parse',
          );
          depth = width = null;
        } else {
          const [d, w, mc] = vals as [PyVal, PyVal, PyVal];
          const bad = [d, w, mc].findIndex((x) => !isNumeric(x) || !Number.isFinite(num(x)) || num(x) < 0);
          if (bad >= 0) {
            const item = entry.value.items![bad]!;
            sink.add(
              diag(
                'YOLO022',
                item.range,
                `${['depth', 'width', 'max_channels'][bad]} must be a non-negative number, got ${pyBrief(item.value)}`,
              ),
              'parse',
            );
            depth = width = null;
          } else {
            depth = num(d);
            width = num(w);
            maxChannels = num(mc);
            if (width > 64)
              sink.add(
                diag('YOLO023', entry.value.items![1]!.range, `width ${width} multiplies every channel count beyond anything buildable`),
                'build',
              );
          }
        }
      }
    }
  } else {
    depth = numberKey('depth_multiple', v5 ? null : 1.0, 'depth multiple');
    width = numberKey('width_multiple', v5 ? null : 1.0, 'width multiple');
    if (width !== null && width > 64) {
      keyProblem('width_multiple', 'YOLO023', `width_multiple ${width} multiplies every channel count beyond anything buildable`, 'build');
      width = null;
    }
  }

  // input channels
  let ch = 3;
  const chT = top('ch');
  // Scaled-YOLOv4's Model never reads a `ch:` key (it takes ch as a constructor argument only)
  if (chT && framework.id !== 'scaled-yolov4') {
    if (isInt(chT.value.value) && chT.value.value > 0 && chT.value.value <= 4096) ch = chT.value.value;
    else keyProblem('ch', 'YOLO004', `ch (input channels) must be a positive int, got ${pyBrief(chT.value.value)}`);
  }
  // an option from a setting or a caller: taken only when it is a usable channel count
  if (opts.ch !== undefined && Number.isInteger(opts.ch) && opts.ch > 0 && opts.ch <= 4096) ch = opts.ch;

  // activation
  let actName: string | null = null;
  const actT = top('activation');
  if (actT && framework.honoursActivationKey) {
    const v = actT.value.value;
    const m = typeof v === 'string' ? /^\s*(?:torch\.)?nn\.([A-Za-z0-9]+)\(\s*\)\s*$/.exec(v) : null;
    if (!m) keyProblem('activation', 'YOLO004', `activation must be an expression like 'nn.ReLU()', got ${pyBrief(v)}`);
    else actName = m[1]!;
  }
  let chMul = 8;
  const chMulT = top('channel_multiple');
  if (chMulT && framework.honoursChannelMultiple) {
    const v = chMulT.value.value;
    if (isNumeric(v) && num(v) > 0) chMul = num(v);
    else if (truthy(v)) keyProblem('channel_multiple', 'YOLO004', `channel_multiple must be a positive number, got ${pyBrief(v)}`);
  }

  // anchors, na, no (YOLOv5 dialect)
  let na: number | null = null;
  let no: number | null = null;
  const anchorsVal: PyVal = top('anchors')?.value.value ?? null;
  if (v5 && top('anchors')) {
    if (isSeq(anchorsVal)) {
      const first = seqItems(anchorsVal)[0];
      if (first === undefined) keyProblem('anchors', 'YOLO004', 'anchors is empty (IndexError: list index out of range)');
      else if (!isSeq(first)) keyProblem('anchors', 'YOLO004', `each anchors row must be a list of numbers, got ${pyBrief(first)}`);
      else na = Math.floor(seqItems(first).length / 2);
    } else if (isInt(anchorsVal)) na = anchorsVal;
    else keyProblem('anchors', 'YOLO004', `anchors must be a list of rows or an int, got ${pyBrief(anchorsVal)}`);
    if (na !== null && isNumeric(ncVal)) no = na * (num(ncVal) + 5);
  }

  // ---- layers -----------------------------------------------------------------------------------------
  if (doc.layers.length > MAX_LAYERS) {
    sink.add(
      diag(
        'YOLO028',
        doc.sections.backbone?.keyRange ?? docRange,
        `${doc.layers.length} layers: YOLO Lens analyses models up to ${MAX_LAYERS} layers`,
      ),
      'parse',
    );
    return empty();
  }
  for (const section of ['backbone', 'head'] as const) {
    const t = top(section);
    if (t && !doc.sections[section]) sink.add(diag('YOLO004', t.value.range, `${section} must be a list of layers`), 'parse');
  }

  if (doc.layers.length === 0 && doc.sections.backbone)
    sink.add(
      diag('YOLO003', doc.sections.backbone.keyRange, 'the model has no layers (the framework fails on model[-1]: IndexError)'),
      'build',
    );
  // the builder the layers are built with (planning needs it too: a HarDBlock's c2 comes from its built block)
  const unfused = envFor(framework, actName, false);
  const plans: LayerPlan[] = [];
  // parse_model's bookkeeping list: after layer 0 it is emptied and holds each layer's c2 (scaled-yolov4 keeps
  // the input at index 0)
  const chList: (number | number[] | null)[] = [ch];
  let chReset = false;
  let lastC2: number | null = ch;
  const sv4 = framework.id === 'scaled-yolov4';
  // the first forward of a model ending in a Detect-family head is the stride probe at build
  const lastModule = doc.layers[doc.layers.length - 1]?.module?.value;
  const sv4Stage: 'build' | 'forward' =
    typeof lastModule === 'string' && framework.modules.get(lastModule)?.def.detectFamily ? 'build' : 'forward';
  for (const src of doc.layers) {
    const plan = planLayer(src);
    plans.push(plan);
  }

  function planLayer(src: LayerSrc): LayerPlan {
    const i = src.index;
    const plan: LayerPlan = {
      index: i,
      src,
      from: src.from?.value ?? null,
      fromIndices: null,
      fromIsList: false,
      nYaml: src.n?.value ?? null,
      n: null,
      copies: 1,
      moduleName: null,
      args: null,
      bindings: [],
      c1: null,
      c2: null,
      parsed: false,
      buildKey: '',
    };
    const fail = (
      code: Code,
      range: Range,
      message: string,
      stage: 'parse' | 'build' | 'forward' = 'parse',
      extra: Parameters<typeof diag>[4] = {},
    ) => {
      sink.add(diag(code, range, message, undefined, { layer: i, ...extra }), stage);
    };
    const pushCh = (c2: number | number[] | null) => {
      if (i === 0 && !sv4 && !chReset) {
        chList.length = 0;
        chReset = true;
      }
      chList.push(c2);
    };
    if (!src.from || !src.n || !src.module || !src.args) {
      const raw = layerRaw(src);
      const got = raw
        ? `got ${raw.kind === 'map' ? 'a mapping' : pyBrief(raw.value)}`
        : `got ${[src.from, src.n, src.module, src.args].filter(Boolean).length} of 4 elements`;
      fail('YOLO005', src.range, `a layer is [from, number, module, args]; ${got}`);
      pushCh(null);
      return plan;
    }
    // ---- module lookup
    const mv = src.module.value;
    let entry: ModuleEntry | undefined;
    if (typeof mv !== 'string') {
      fail('YOLO010', src.module.range, `the module must be a name, got ${pyBrief(mv)}`, 'build');
    } else {
      const r = lookupModule(framework, mv);
      if ('entry' in r) entry = r.entry;
      else fail(r.code, src.module.range, r.message, 'parse', { data: r.suggestion ? { suggestion: r.suggestion } : {} });
      plan.moduleName = mv;
    }
    plan.entry = entry;
    // ---- args: eval strings
    const argsSrc = src.args;
    if (argsSrc.kind !== 'seq') {
      fail('YOLO005', argsSrc.range, `args must be a list, got ${pyBrief(argsSrc.value)}`);
      pushCh(null);
      return plan;
    }
    const yamlArgs = argsSrc.items ?? [];
    // aliases can make an arg a huge DAG; nothing a constructor takes is anywhere near this size
    const tooBig = yamlArgs.find((a) => pySize(a.value, 10_000) > 10_000);
    if (tooBig || pySize(src.from.value, 10_000) > 10_000) {
      fail(
        'YOLO023',
        (tooBig ?? src.from).range,
        'this value expands (through YAML aliases) to more than 10,000 elements: not something a layer takes',
      );
      pushCh(null);
      return plan;
    }
    const nRawForEval = src.n.value;
    // parse_model's locals (and a few module globals) a string arg may name; computed only when asked
    const local = (k: string): PyVal | undefined => {
      switch (k) {
        case 'nc':
          return ncVal;
        case 'i':
          return i;
        case 'n':
          return nRawForEval;
        case 'f':
          return src.from!.value;
      }
      if (v5)
        switch (k) {
          case 'anchors':
            return anchorsVal;
          case 'gd':
            return depth === null ? null : new PyFloat(depth);
          case 'gw':
            return width === null ? null : new PyFloat(width);
          case 'na':
            return na ?? undefined;
          case 'no':
            return no ?? undefined;
          case 'ch':
            return chList.map((c) => (typeof c === 'number' ? c : null));
          default:
            return undefined;
        }
      switch (k) {
        case 'depth':
          return depth === null ? null : new PyFloat(depth);
        case 'width':
          return width === null ? null : new PyFloat(width);
        case 'max_channels':
          return maxChannels === Infinity ? new PyFloat(Infinity) : maxChannels;
        case 'kpt_shape':
          return top('kpt_shape')?.value.value ?? null;
        case 'act':
          return actT?.value.value ?? null;
        case 'scales':
          return scalesT ? '<mapping>' : null;
        case 'scale':
          return scale ?? undefined;
        case 'm':
          return mv;
        case 'args':
          return yamlArgs.map((a) => a.value);
        default:
          return undefined;
      }
    };
    // most layers have no string arg: the evaluation environment is made for the first one
    let env: EvalEnv | undefined;
    const evaluated: PyVal[] = [];
    let evalFailed = false;
    yamlArgs.forEach((a) => {
      if (typeof a.value !== 'string') {
        evaluated.push(a.value);
        return;
      }
      env ??= { names: { has: (k: string) => local(k) !== undefined, get: local }, mode: v5 ? 'eval' : 'literal' };
      const r = evalStringArg(a.value, env);
      if (r.kind === 'value') evaluated.push(r.value);
      else if (r.kind === 'unchanged' || sv4) evaluated.push(a.value);
      else {
        evaluated.push(a.value);
        evalFailed = true;
        fail('YOLO014', a.range, `parse_model ${v5 ? 'evals' : 'literal_evals'} this string and gets ${r.error}`);
      }
    });
    if (evalFailed) {
      pushCh(null);
      return plan;
    }
    // a name can stand for a value behind aliases (`nc: *bomb`, then the arg 'nc'): the same limit as for the YAML
    // args (comparing two such values hung the resolver)
    const hugeAt = evaluated.findIndex((v, k) => typeof yamlArgs[k]!.value === 'string' && pySize(v, 10_000) > 10_000);
    if (hugeAt >= 0) {
      fail(
        'YOLO023',
        yamlArgs[hugeAt]!.range,
        `'${yamlArgs[hugeAt]!.value as string}' names a value that expands (through YAML aliases) to more than 10,000 elements: not something a layer takes`,
      );
      pushCh(null);
      return plan;
    }
    // ---- depth gain
    const nv = src.n.value;
    if (!isNumeric(nv)) {
      const hint = typeof nv === 'string' && /^[-+]?\d+(\.\d*)?[eE][-+]?\d+$/.test(nv) ? ` ('${nv}' is a string in YAML 1.1)` : '';
      fail(
        'YOLO009',
        src.n.range,
        `number (repeats) must be a number, got ${pyBrief(nv)}${hint}: '>' is not supported between a ${typeof nv === 'string' ? 'str' : 'value'} and an int`,
      );
      pushCh(null);
      return plan;
    }
    let n = num(nv);
    if (Number.isNaN(n)) {
      fail('YOLO023', src.n.range, 'number (repeats) is NaN');
      pushCh(null);
      return plan;
    }
    if (n > 1) {
      if (depth === null) {
        pushCh(null);
        return plan;
      }
      n = Math.max(pyRound(n * depth), 1);
    }
    if (!Number.isFinite(n) || n > MAX_REPEATS) {
      fail(
        'YOLO023',
        src.n.range,
        `number ${pyBrief(nv)} gives ${n} repeats after the depth multiple: beyond anything buildable (YOLO Lens stops at ${MAX_REPEATS})`,
        'build',
      );
      pushCh(null);
      return plan;
    }
    if (!Number.isInteger(n) && n > 1) n = Math.trunc(n);
    plan.n = n;
    // ---- from
    const fv = src.from.value;
    const isList = isSeq(fv);
    plan.fromIsList = isList;
    const fromItems: { value: PyVal; range: Range }[] = isList
      ? (src.from.items ?? []).map((it) => ({ value: it.value, range: it.range }))
      : [{ value: fv, range: src.from.range }];
    const chLen = chList.length;
    const absolute: number[] = [];
    let fromOk = true;
    for (const it of fromItems) {
      if (!isInt(it.value) && typeof it.value !== 'boolean') {
        fail('YOLO006', it.range, `from must be an int${isList ? '' : ' or a list of ints'}, got ${pyBrief(it.value)}`);
        fromOk = false;
        continue;
      }
      const x = num(it.value);
      // ch indexing, as parse_model does it (Python list indexing on the bookkeeping list)
      const chIndex = sv4 ? (x === -1 ? -1 : x + (isList ? 1 : 0)) : x;
      const len = i === 0 && !sv4 ? 1 : sv4 ? chLen : i;
      if (chIndex >= len) {
        fail(
          'YOLO008',
          it.range,
          x >= i
            ? `from ${x} points at ${x === i ? 'this layer' : `layer ${x}, after this one`} (layer ${i}): IndexError: list index out of range`
            : `from ${x} is out of range at layer ${i}`,
        );
        fromOk = false;
        continue;
      }
      if (chIndex < -len) {
        fail(
          'YOLO007',
          it.range,
          `from ${x} points before the first layer (layer ${i} can reach back to ${-len}): IndexError: list index out of range`,
        );
        fromOk = false;
        continue;
      }
      if (i === 0 && x !== -1) {
        fail('YOLO007', it.range, 'layer 0 can only take the input image (from: -1): the save list computes x % 0 (ZeroDivisionError)');
        fromOk = false;
        continue;
      }
      // Scaled-YOLOv4's ch list keeps the input at index 0, so `from: i` or `from: -(i+1)` get through parse_model;
      // the forward's y[f] then has no such layer
      if (sv4 && x !== -1 && (x >= i || x < -i)) {
        fail(
          x >= i ? 'YOLO008' : 'YOLO007',
          it.range,
          `from ${x} ${x >= i ? 'points at this layer' : 'points before the first layer'} (layer ${i}): Scaled-YOLOv4's parse_model accepts it (its ch list keeps the input at index 0), but the first forward reads y[${x}] of ${i} outputs: IndexError: list index out of range`,
          sv4Stage,
        );
        fromOk = false;
        continue;
      }
      absolute.push(x === -1 ? i - 1 : x < 0 ? i + x : x);
    }
    if (!fromOk) {
      pushCh(null);
      return plan;
    }
    plan.fromIndices = absolute;
    const chAt = (x: number): number | number[] | null => {
      const idx = x < 0 ? chList.length + x : x;
      return chList[idx] ?? null;
    };
    const chOf = (x: number, forList: boolean): number | null => {
      const raw = sv4 ? chAt(x === -1 ? -1 : forList ? x + 1 : x) : chAt(x);
      return typeof raw === 'number' ? raw : null;
    };
    if (!entry) {
      pushCh(null);
      return plan;
    }
    // ---- parse_model branch
    const treat = entry.treat;
    const def = entry.def;
    let args: PyVal[] = [...evaluated];
    let c2: number | number[] | null = lastC2;
    const bindings: ArgBinding[] = [];
    const bind = (yamlIndex: number, passed: PyVal, note?: string) => {
      const a = yamlArgs[yamlIndex]!;
      const argIndex = argIndexOf(entry, yamlIndex) ?? undefined;
      bindings.push({
        yamlIndex,
        range: a.range,
        yamlValue: a.value,
        evaluated: evaluated[yamlIndex]!,
        passed,
        // plain properties (undefined when absent): this runs for every arg of every layer
        argIndex,
        param: argIndex !== undefined ? def.signature[argIndex]?.name : undefined,
        note,
      });
    };
    const single = (): number | null => {
      if (isList) {
        fail(
          'YOLO006',
          src.from!.range,
          `${def.name} takes one input: from must be an int (TypeError: list indices must be integers or slices, not list)`,
        );
        return null;
      }
      return absolute[0]!;
    };
    const needList = (): boolean => {
      if (!isList) {
        fail(
          'YOLO006',
          src.from!.range,
          `${def.name} takes a list of inputs: from must be a list (TypeError: 'int' object is not iterable)`,
        );
        return false;
      }
      return true;
    };
    const rawFrom = fromItems.map((it) => num(it.value));
    let copies = n > 1 ? n : 1;
    let nPrinted = n;
    switch (treat) {
      case 'channels':
      case 'repeats': {
        if (single() === null) break;
        const c1 = chOf(rawFrom[0]!, false);
        if (!sv4 && Array.isArray(chAt(rawFrom[0]!))) {
          // ch[f] of a CBLinear layer is its list of split channels: the constructor gets a list for c1
          fail(
            'YOLO015',
            src.from!.range,
            `${def.name} takes one tensor but layer ${rawFrom[0]} (CBLinear) outputs a tuple of maps: only CBFuse can take it (c1 = ch[f] is the list ${JSON.stringify(chAt(rawFrom[0]!))})`,
            'build',
          );
          break;
        }
        if (args.length === 0) {
          fail('YOLO012', argsSrc.range, `${def.name} needs its output channels as the first arg (IndexError: list index out of range)`);
          break;
        }
        let c2v: PyVal = args[0]!;
        let note: string | undefined;
        const exempt = v5 ? no !== null && pyEq(c2v, no) : pyEq(c2v, ncVal);
        if (!exempt) {
          if (!isNumeric(c2v)) {
            fail('YOLO013', yamlArgs[0]!.range, `output channels must be a number, got ${pyBrief(c2v)}`);
            break;
          }
          if (width === null) break;
          const raw = num(c2v);
          const capped = v5 ? raw : Math.min(raw, maxChannels);
          const scaled = makeDivisible(capped * width, v5 ? chMul : 8);
          note = `${pyBrief(c2v)}${!v5 && raw > maxChannels ? ` → max_channels ${maxChannels}` : ''} × ${width} → ${scaled}`;
          c2v = scaled;
        } else note = v5 ? `${pyBrief(c2v)} = no (na·(nc+5)): not width-scaled` : `${pyBrief(c2v)} = nc: not width-scaled`;
        if (!v5 && def.name === 'C2fAttn') {
          if (args.length < 3 || !isNumeric(args[1]!) || !isNumeric(args[2]!)) {
            fail('YOLO012', argsSrc.range, 'C2fAttn needs [c2, ec, nh, ...]');
            break;
          }
          const ec = makeDivisible(Math.min(num(args[1]!), Math.floor(maxChannels / 2)) * width!, 8);
          const nhRaw = num(args[2]!);
          const nh =
            nhRaw > 1 ? Math.trunc(Math.max(pyRound(Math.min(nhRaw, Math.floor(Math.floor(maxChannels / 2) / 32))) * width!, 1)) : args[2]!;
          args[1] = ec;
          args[2] = nh;
        }
        if (c1 === null) break;
        plan.c1 = c1;
        c2 = typeof c2v === 'number' ? c2v : num(c2v);
        args = [c1, c2v, ...args.slice(1)];
        bind(0, c2v, note);
        for (let k = 1; k < evaluated.length; k++) bind(k, args[k + 1]!);
        if (treat === 'repeats') {
          args.splice(2, 0, n);
          copies = 1;
          if (sv4) nPrinted = 1;
        }
        if (!v5 && def.name === 'C3k2' && scale !== null && 'mlx'.includes(scale)) {
          args[3] = true;
        }
        if (!v5 && def.name === 'C3k2' && scale === null) {
          fail(
            'YOLO022',
            src.module!.range,
            'C3k2 in a YAML without scales: parse_model reads `scale`, which only exists with scales (UnboundLocalError)',
          );
          break;
        }
        plan.parsed = true;
        break;
      }
      case 'bn': {
        if (single() === null) break;
        const c1 = chOf(rawFrom[0]!, false);
        if (c1 === null) break;
        args = [c1];
        // YOLOv5 frameworks fall through to nothing for c2 either: both keep the previous layer's c2 (stale)
        c2 = lastC2;
        plan.parsed = true;
        break;
      }
      case 'concat': {
        if (!needList()) break;
        const chs = rawFrom.map((x) => (sv4 ? chAt(x === -1 ? -1 : x + 1) : chAt(x)));
        if (chs.some((c) => Array.isArray(c))) {
          fail(
            'YOLO015',
            src.from!.range,
            "Concat cannot take a CBLinear output (a tuple of maps; use CBFuse): parse_model's sum(ch[x] for x in f) raises TypeError: unsupported operand type(s) for +: 'int' and 'list'",
          );
          break;
        }
        if (chs.some((c) => typeof c !== 'number')) break;
        c2 = (chs as number[]).reduce((a, b) => a + b, 0);
        evaluated.forEach((v, k) => bind(k, v));
        plan.parsed = true;
        break;
      }
      case 'head': {
        if (!needList()) break;
        const chs = rawFrom.map((x) => (sv4 ? chAt(x + 1) : chAt(x)));
        if (chs.some((c) => typeof c !== 'number')) break;
        args.push(chs as number[]);
        evaluated.forEach((v, k) => bind(k, args[k]!));
        if (v5) {
          // `isinstance(args[1], int)` right after the append: an empty args list has no args[1]
          if (args.length < 2) {
            fail(
              'YOLO012',
              argsSrc.range,
              `${def.name} needs [nc, anchors${def.name === 'Segment' ? ', nm, npr' : ''}]: parse_model reads args[1] (IndexError: list index out of range)`,
            );
            break;
          }
          if (args.length > 1 && isInt(args[1]!)) {
            const per = args[1] as number;
            // `anchors: 1000000000` makes parse_model build [list(range(na * 2))] * nl (MemoryError upstream; an
            // out-of-memory crash here, found by the hardening tests): refused before allocating
            if (per > MAX_ANCHORS) {
              fail(
                'YOLO023',
                yamlArgs[1]?.range ?? argsSrc.range,
                `${per} anchors per level is beyond anything buildable (parse_model would build a list of ${per * 2} values per level; YOLO Lens stops at ${MAX_ANCHORS})`,
                'build',
              );
              break;
            }
            const row = Array.from({ length: per * 2 }, (_, k) => k);
            args[1] = Array.from({ length: rawFrom.length }, () => row);
          }
          if (def.name === 'Segment') {
            if (args.length < 5 || !isNumeric(args[3]!)) {
              fail('YOLO012', argsSrc.range, 'Segment needs [nc, anchors, nm, npr]');
              break;
            }
            if (width === null) break;
            args[3] = makeDivisible(num(args[3]!) * width, chMul);
          }
        } else if (def.name === 'Segment') {
          if (args.length < 4 || !isNumeric(args[2]!)) {
            fail('YOLO012', argsSrc.range, 'Segment needs [nc, nm, npr] (IndexError: list index out of range)');
            break;
          }
          args[2] = makeDivisible(Math.min(num(args[2]!), maxChannels) * width!, 8);
        }
        // c2 is not assigned: the next layer's bookkeeping sees the previous layer's c2
        plan.parsed = true;
        break;
      }
      case 'rtdetr': {
        if (!needList()) break;
        const chs = rawFrom.map((x) => chAt(x));
        if (chs.some((c) => typeof c !== 'number')) break;
        args.splice(1, 0, chs as number[]);
        evaluated.forEach((v, k) => bind(k, v));
        plan.parsed = true;
        break;
      }
      case 'aifi': {
        if (single() === null) break;
        const c1 = chOf(rawFrom[0]!, false);
        if (c1 === null) break;
        args = [c1, ...args];
        evaluated.forEach((v, k) => bind(k, v));
        plan.c1 = c1;
        plan.parsed = true;
        break;
      }
      case 'hgstem':
      case 'hgblock': {
        if (single() === null) break;
        const c1 = chOf(rawFrom[0]!, false);
        if (c1 === null || args.length < 2 || !isNumeric(args[1]!)) {
          if (args.length < 2) fail('YOLO012', argsSrc.range, `${def.name} needs [cm, c2, ...]`);
          else if (!isNumeric(args[1]!))
            fail('YOLO013', yamlArgs[1]!.range, `${def.name}'s c2 (args[1]) must be a number, got ${pyBrief(args[1]!)}`);
          break;
        }
        c2 = num(args[1]!);
        args = [c1, args[0]!, args[1]!, ...args.slice(2)];
        if (treat === 'hgblock') {
          args.splice(4, 0, n);
          copies = 1;
        }
        evaluated.forEach((v, k) => bind(k, v));
        plan.c1 = c1;
        plan.parsed = true;
        break;
      }
      case 'resnet': {
        if (single() === null) break;
        if (args.length < 4 || !isNumeric(args[1]!)) {
          fail('YOLO012', argsSrc.range, 'ResNetLayer needs [c1, c2, s, is_first, ...] (parse_model reads args[1] and args[3])');
          break;
        }
        c2 = truthy(args[3]!) ? num(args[1]!) : num(args[1]!) * 4;
        evaluated.forEach((v, k) => bind(k, v));
        plan.parsed = true;
        break;
      }
      case 'cblinear': {
        if (single() === null) break;
        const c1 = chOf(rawFrom[0]!, false);
        if (args.length === 0) {
          fail('YOLO012', argsSrc.range, 'CBLinear needs [c2s, ...]: parse_model reads args[0] (IndexError: list index out of range)');
          break;
        }
        if (c1 === null) break;
        const c2s = args[0]!;
        if (!isSeq(c2s)) {
          fail('YOLO013', yamlArgs[0]!.range, 'CBLinear takes a list of output channels as its first arg');
          break;
        }
        c2 = seqItems(c2s).map(num);
        args = [c1, c2s, ...args.slice(1)];
        evaluated.forEach((v, k) => bind(k, v));
        plan.parsed = true;
        break;
      }
      case 'cbfuse': {
        if (!needList()) break;
        c2 = chAt(rawFrom[rawFrom.length - 1]!) as number;
        evaluated.forEach((v, k) => bind(k, v));
        plan.parsed = true;
        break;
      }
      case 'contract':
      case 'expand': {
        if (single() === null) break;
        const c1 = chOf(rawFrom[0]!, false);
        const g = args[0];
        if (c1 === null || g === undefined || !isNumeric(g)) {
          if (g === undefined) fail('YOLO012', argsSrc.range, `${def.name} needs [gain]`);
          // parse_model computes ch[f] // args[0] ** 2 (Contract: *) whatever the input: a non-number raises there
          else if (!isNumeric(g))
            fail(
              'YOLO013',
              yamlArgs[0]!.range,
              `${def.name}'s gain must be a number, got ${pyBrief(g)}: parse_model computes ch[f] ${treat === 'contract' ? '*' : '//'} args[0] ** 2 (TypeError: unsupported operand type(s) for ** or pow())`,
            );
          break;
        }
        c2 = treat === 'contract' ? c1 * num(g) ** 2 : Math.floor(c1 / num(g) ** 2);
        evaluated.forEach((v, k) => bind(k, v));
        plan.parsed = true;
        break;
      }
      case 'hardblock': {
        if (single() === null) break;
        const c1 = chOf(rawFrom[0]!, false);
        if (c1 === null) break;
        args = [c1, ...args];
        evaluated.forEach((v, k) => bind(k, v));
        if (copies > 1) {
          fail(
            'YOLO029',
            src.n.range,
            `${def.name} with n = ${n} is built as an nn.Sequential of ${n} copies, and parse_model then calls m_.get_out_ch() on it (AttributeError: 'Sequential' object has no attribute 'get_out_ch')`,
            'build',
          );
          break;
        }
        // c2 = m_.get_out_ch(): read from the built block once the plan has its args (below)
        plan.parsed = true;
        break;
      }
      case 'plain': {
        if (single() === null) break;
        c2 = chOf(rawFrom[0]!, false);
        evaluated.forEach((v, k) => bind(k, v));
        plan.parsed = true;
        break;
      }
    }
    plan.bindings = bindings;
    plan.n = nPrinted;
    plan.copies = copies;
    if (!plan.parsed) {
      pushCh(null);
      return plan;
    }
    plan.args = args;
    plan.buildKey = `${defToken(plan)}|${plan.copies}|${args.map(pyKey).join(',')}`;
    if (treat === 'hardblock') {
      // the build is cached: the build phase gets this one back, and reports a constructor error (c2 unknown here)
      const out = buildLayer(framework, unfused.key, unfused.builder, plan).mod?.attrs?.outChannels;
      c2 = typeof out === 'number' ? out : null;
    }
    plan.c2 = typeof c2 === 'number' ? c2 : null;
    pushCh(c2);
    if (typeof c2 === 'number') lastC2 = c2;
    return plan;
  }

  // ---- build and run -------------------------------------------------------------------------------------
  const worldModel = !!opts.fileName && /-world/.test((opts.fileName.split(/[\\/]/).pop() ?? '').replace(/\.[^.]*$/, ''));
  const txtFeats: Shape = [1, isInt(ncVal) ? ncVal : 80, 512];
  let modulesBuilt = 0;
  let budgetStop: number | null = null;
  const built: (BuildResult | null)[] = plans.map((p) => {
    if (!p.parsed || !p.entry || !p.args || modulesBuilt > MAX_MODULES) return null;
    const b = buildLayer(framework, unfused.key, unfused.builder, p);
    modulesBuilt += b.modules;
    if (modulesBuilt > MAX_MODULES) {
      budgetStop = p.index;
      sink.add(
        diag(
          'YOLO028',
          rangeOrModule(p),
          `the model builds more than ${MAX_MODULES.toLocaleString('en-US')} modules by layer ${p.index}: YOLO Lens stops analysing here (check the repeat counts)`,
          undefined,
          { layer: p.index },
        ),
        'build',
      );
      return null;
    }
    return b;
  });
  plans.forEach((p, k) => {
    const b = built[k];
    if (b?.error) {
      const e = b.error;
      const at = e.param ? p.bindings.find((x) => x.param === e.param)?.range : undefined;
      sink.add(diag('YOLO029', at ?? rangeOrModule(p), `${p.moduleName}: ${e.message}`, undefined, { layer: p.index }), 'build');
    }
  });

  interface PassResult {
    outs: (Out<Shape> | undefined)[];
    values: (Shape | Shape[] | undefined)[];
    inputs: (Shape | Shape[] | undefined)[];
    ops: ({ thop: number; ultralyticsThop: number } | undefined)[];
    errors: { layer: number; error: ShapeError }[];
  }

  const runPass = (input: Shape, buildResults: (BuildResult | null)[], buildKey: string, stopAtError: boolean): PassResult => {
    const res: PassResult = { outs: [], values: [], inputs: [], ops: [], errors: [] };
    let guide: Shape = txtFeats;
    const origGuide = txtFeats;
    for (let k = 0; k < plans.length; k++) {
      const p = plans[k]!;
      const b = buildResults[k];
      if (!b || !b.mod || !p.fromIndices) continue;
      let inp: Shape | Shape[] | undefined;
      const val = (j: number): Shape | Shape[] | undefined => (j < 0 ? input : res.values[j]);
      if (p.fromIsList) {
        const xs = p.fromIndices.map(val);
        if (xs.some((x) => x === undefined)) continue;
        // a multi-output input (CBLinear's split) stays a nested list, as CBFuse expects; cat rejects it
        inp = xs as Shape[];
      } else {
        inp = val(p.fromIndices[0]!);
        if (inp === undefined) continue;
      }
      res.inputs[k] = inp;
      const role = worldModel ? p.entry!.def.guide : undefined;
      // the last layer, a Detect-family head, decodes with the strides the model derives from the image size (see
      // ForwardCtx.strides); a head anywhere else never gets strides, as upstream
      const strides =
        k === plans.length - 1 && p.entry!.def.detectFamily && !isShape(inp) ? (inp as Shape[]).map((s) => input[2]! / s[2]!) : undefined;
      const r = runLayer(
        `${buildKey}|${p.buildKey}|${strides ? 'last' : ''}`,
        b.mod,
        inp,
        role === 'consumer' || role === 'producer' ? guide : role === 'consumer-original' ? origGuide : undefined,
        strides,
      );
      if (r instanceof ShapeError) {
        res.errors.push({ layer: k, error: r });
        if (stopAtError) break;
        continue;
      }
      res.outs[k] = r.out;
      res.ops[k] = r.ops;
      if (role === 'producer') {
        if (isShape(r.out)) guide = r.out;
        res.values[k] = inp;
      } else {
        const o = r.out;
        res.values[k] = isShape(o) ? o : (flattenOut(o) as Shape[]);
      }
    }
    return res;
  };

  const input: Shape = [1, ch, imgsz, imgsz];
  const main = runPass(input, built, unfused.key, false);
  const last = plans[plans.length - 1];
  const detectHead = !!last?.entry?.def.detectFamily && last.copies === 1;
  const probeContext = ' (at the 256×256 stride probe the framework runs when it builds the model)';
  // a model ending in a Detect-family head runs the 256 probe at build: a graph that fails there fails at build,
  // before any 640 forward
  const earlyProbe = detectHead && main.errors.length > 0 && !sink.failure ? runPass([1, ch, 256, 256], built, unfused.key, true) : null;
  if (earlyProbe && earlyProbe.errors.length) {
    const { layer, error } = earlyProbe.errors[0]!;
    reportForward(plans[layer]!, error, earlyProbe.inputs[layer], 'build', probeContext);
  } else for (const { layer, error } of main.errors) reportForward(plans[layer]!, error, main.inputs[layer], 'forward');

  function reportForward(p: LayerPlan, e: ShapeError, inp: Shape | Shape[] | undefined, stage: 'build' | 'forward', context = '') {
    const related: RelatedInfo[] = [];
    let code: Code = 'YOLO017';
    let range = rangeOrModule(p);
    let message = `${p.moduleName}: ${e.message}`;
    if (e instanceof ConcatError && p.fromIndices && Array.isArray(inp) && !isShape(inp)) {
      code = 'YOLO016';
      const a = p.fromIndices[e.first]!;
      const b = p.fromIndices[e.other]!;
      const sa = (inp as Shape[])[e.first];
      const sb = (inp as Shape[])[e.other];
      const name = (j: number) => (j < 0 ? 'the input image' : `layer ${j} (${plans[j]?.moduleName ?? '?'})`);
      message = `Concat inputs differ in size: ${name(a)} gives ${fmtShape(sa)} but ${name(b)} gives ${fmtShape(sb)}${context}`;
      const items = p.src.from?.items;
      if (items?.[e.other]) range = items[e.other]!.range;
      for (const [j, s] of [
        [a, sa],
        [b, sb],
      ] as const)
        if (j >= 0 && plans[j]) related.push({ range: plans[j]!.src.range, message: `layer ${j} outputs ${fmtShape(s)}` });
    } else if (/channels, but got|to have \d+ channels|running_mean should contain|mat1 and mat2/.test(e.message)) {
      code = 'YOLO015';
      if (isShape(inp) && p.c1 !== null && inp[1] === p.c1) {
        // the layer receives the channels it was built for: the mismatch is inside it
        if (p.copies > 1 && p.src.n) {
          range = p.src.n.range;
          message = `${p.moduleName} at layer ${p.index} is built as ${p.copies} copies with the same args (nn.Sequential), so copy 2 still expects ${p.c1} input channels but gets the ${p.c2 ?? '?'} the first one outputs: ${e.message}${context}`;
        } else message = `${p.moduleName} at layer ${p.index}: its parts do not fit together with these args: ${e.message}${context}`;
      } else {
        if (p.src.from) range = p.src.from.range;
        message = `${p.moduleName} at layer ${p.index} was built for ${p.c1 ?? '?'} input channels but receives ${describeInput(inp)}: ${e.message}${context}`;
      }
    } else if (p.entry?.def.detectFamily && /out of range|anchor/.test(e.message)) {
      code = 'YOLO018';
      if (p.src.from) range = p.src.from.range;
      message = `${p.moduleName}: ${e.message}${context}`;
    } else message += context;
    sink.add(diag(code, range, message, undefined, { layer: p.index, related }), stage);
  }

  function describeInput(inp: Shape | Shape[] | undefined): string {
    if (!inp) return '?';
    if (isShape(inp)) return `${inp[1]} (${fmtShape(inp)} from ${'the previous layer'})`;
    return (inp as Shape[]).map(fmtShape).join(', ');
  }

  // ---- the stride probe the upstream DetectionModel runs when it is built
  let strides: number[] | null = null;
  if (detectHead && main.errors.length === 0 && !sink.failure) {
    const probe = runPass([1, ch, 256, 256], built, unfused.key, true);
    if (probe.errors.length) {
      const { layer, error } = probe.errors[0]!;
      reportForward(plans[layer]!, error, probe.inputs[layer], 'build', probeContext);
    } else {
      const headIn = probe.inputs[plans.length - 1];
      if (headIn && !isShape(headIn)) strides = (headIn as Shape[]).map((s) => 256 / s[2]!);
      // anchor-based heads: `m.anchors /= m.stride.view(-1, 1, 1)` needs one stride per anchor row, and the
      // training-mode probe returns one map per input
      const nl = built[plans.length - 1]?.mod?.attrs?.nl;
      if (strides && typeof nl === 'number' && strides.length > nl) {
        const extra = last!.src.from?.items?.[nl]?.range ?? last!.src.from?.range ?? rangeOrModule(last!);
        sink.add(
          diag(
            'YOLO018',
            extra,
            `${last!.moduleName} has ${nl} anchor row${nl === 1 ? '' : 's'} (levels) but ${strides.length} inputs: building the model divides the anchors by one stride per input and fails (RuntimeError: The size of tensor a (${nl}) must match the size of tensor b (${strides.length}) at non-singleton dimension 0); give one anchors row per input`,
            undefined,
            { layer: last!.index },
          ),
          'build',
        );
      }
    }
  } else if (detectHead && last) {
    const headIn = main.inputs[plans.length - 1];
    if (headIn && !isShape(headIn)) strides = (headIn as Shape[]).map((s) => imgsz / s[2]!);
  }
  const maxStride = strides && strides.length ? Math.max(...strides) : 32;
  // check_img_size rounds up to a multiple of max(largest stride, 32)
  const gridSize = Math.max(32, Math.trunc(maxStride));
  if (strides && imgsz % gridSize !== 0)
    sink.add(
      diag(
        'YOLO020',
        docRange,
        `image size ${imgsz} is not a multiple of ${gridSize} (the model's largest stride, at least 32): training would round it to ${Math.ceil(imgsz / gridSize) * gridSize}`,
      ),
    );

  // ---- extra checks on what parsed
  for (const p of plans) {
    if (!p.args || !p.entry) continue;
    const name = p.entry.def.name;
    if ((name === 'GSConv' || name === 'GSConvns' || name === 'GSConvE') && p.entry.treat === 'channels') {
      const c2 = p.args[1];
      if (isInt(c2 ?? null) && (c2 as number) % 2 === 1) {
        const at = p.bindings.find((x) => x.param === 'c2')?.range ?? rangeOrModule(p);
        sink.add(
          diag(
            'YOLO019',
            at,
            `${name} splits c2 = ${c2} into two halves of ${Math.floor((c2 as number) / 2)}: it outputs ${(c2 as number) - 1} channels, not ${c2}; the next layer will be built for the wrong count`,
            undefined,
            { layer: p.index },
          ),
        );
      }
    }
  }

  // ---- layers out
  // (sets, not a scan of every diagnostic per layer: that was quadratic, seconds at 20,000 failing layers)
  const layersWithErrors = new Set(sink.list.filter((d) => d.severity === 'error' && d.layer !== undefined).map((d) => d.layer));
  const layersFailedForward = new Set(main.errors.map((e) => e.layer));
  const layers: ResolvedLayer[] = plans.map((p, k) => {
    const b = built[k];
    const out = main.outs[k];
    const ok = out !== undefined;
    const flat = ok ? flattenOut(out) : null;
    const single = ok && isShape(out) ? out : null;
    const ops = main.ops[k];
    const inp = main.inputs[k];
    const failed = !!b?.error || k === budgetStop || layersFailedForward.has(k) || (!p.parsed && layersWithErrors.has(k));
    return {
      index: p.index,
      src: p.src,
      section: p.src.section,
      from: p.from,
      fromIndices: p.fromIndices,
      fromIsList: p.fromIsList,
      nYaml: p.nYaml,
      n: p.n,
      copies: p.copies,
      moduleName: p.moduleName,
      entry: p.entry,
      args: p.args,
      bindings: p.bindings,
      c1: p.c1,
      c2: p.c2,
      outShape: single,
      outShapes: ok && !single ? flat : null,
      params: b && b.mod ? b.params : null,
      gradients: b && b.mod ? b.params - b.frozen : null,
      flops: ops ? { thop: 2 * ops.thop, ultralyticsThop: 2 * ops.ultralyticsThop } : null,
      paramsFused: null,
      flopsFused: null,
      status: ok ? 'ok' : failed ? 'error' : 'unknown',
      mod: b?.mod ?? null,
      modFused: null,
      inShapes: inp === undefined ? null : isShape(inp) ? [inp] : (inp as Shape[]),
    };
  });

  // a model without an error has every layer resolved: a layer left unknown with no reason is a bug here, said as
  // one (YOLO030) rather than shown as a healthy model with holes (the fuzzer fails on any YOLO030)
  if (!sink.list.some((d) => d.severity === 'error')) {
    const hole = layers.find((l) => l.status !== 'ok');
    if (hole)
      sink.add(
        diag(
          'YOLO030',
          hole.src.range,
          `YOLO Lens could not analyse layer ${hole.index} (${hole.moduleName ?? '?'}) and found no reason why: a bug, please report it`,
          undefined,
          { layer: hole.index },
        ),
        'build',
      );
  }
  const hasError = sink.list.some((d) => d.severity === 'error');
  const complete = !hasError && layers.length > 0 && layers.every((l) => l.status === 'ok');
  // Totals (fused build, the framework's GFLOPs passes, summary lines) are computed on first use: diagnostics,
  // completion and hover on a layer never need them, and on a large model they cost as much as the rest.
  let totals: ModelTotals | null | undefined = complete ? undefined : null;
  const totalsOnce = (): ModelTotals | null => (totals === undefined ? (totals = computeTotals()) : totals);

  function computeTotals(): ModelTotals {
    const params = layers.reduce((a, l) => a + (l.params ?? 0), 0);
    const gradients = layers.reduce((a, l) => a + (l.gradients ?? 0), 0);
    const flops: Flops = {
      thop: layers.reduce((a, l) => a + (l.flops?.thop ?? 0), 0),
      ultralyticsThop: layers.reduce((a, l) => a + (l.flops?.ultralyticsThop ?? 0), 0),
    };
    // fused: what the framework's model.fuse() leaves; null where fuse() raises (Scaled-YOLOv4 on grouped convs)
    let paramsFused: number | null = null;
    let flopsFused: Flops | null = null;
    let fusedError: string | null = null;
    let fusedBuilt: (BuildResult | null)[] | null = null;
    const fusedEnv = envFor(framework, actName, true);
    if (!opts.skipFused) {
      fusedBuilt = plans.map((p) => (p.parsed && p.entry && p.args ? buildLayer(framework, fusedEnv.key, fusedEnv.builder, p) : null));
      (layers as { modFused: Mod | null }[]).forEach((l, k) => (l.modFused = fusedBuilt![k]?.mod ?? null));
      const failed = fusedBuilt.find((b) => b?.error);
      if (failed?.error) fusedError = failed.error.message;
      if (fusedBuilt.every((b) => b && b.mod)) {
        paramsFused = fusedBuilt.reduce((a, b) => a + b!.params, 0);
        const fp = runPass(input, fusedBuilt, fusedEnv.key, true);
        if (!fp.errors.length) {
          flopsFused = {
            thop: 2 * fp.ops.reduce((a, o) => a + (o?.thop ?? 0), 0),
            ultralyticsThop: 2 * fp.ops.reduce((a, o) => a + (o?.ultralyticsThop ?? 0), 0),
          };
          (layers as { paramsFused: number | null; flopsFused: Flops | null }[]).forEach((l, k) => {
            l.paramsFused = fusedBuilt![k]!.params;
            const o = fp.ops[k];
            l.flopsFused = o ? { thop: 2 * o.thop, ultralyticsThop: 2 * o.ultralyticsThop } : null;
          });
        }
      }
    }
    const none: GflopsFigure = { printed: null, exact: null };
    const figure = (g: number | null): GflopsFigure => ({ printed: g === null ? null : Math.round(g * 10) / 10, exact: g });
    const printed = (bs: (BuildResult | null)[] | null, key: string): [GflopsFigure, GflopsFigure] => {
      if (!bs || !bs.every((b) => b && b.mod)) return [none, none];
      const g = printedGflops(framework, bs as BuildResult[], key);
      return [figure(g?.thop ?? null), figure(g?.ultralyticsThop ?? null)];
    };
    const [gflops, gflopsU] = printed(built, unfused.key);
    const [gflopsF, gflopsFU] = opts.skipFused ? [none, none] : printed(fusedBuilt, fusedEnv.key);
    const mods = built.map((b) => b!.mod!);
    const stem = (opts.fileName?.split(/[\\/]/).pop() ?? '').replace(/\.[^.]*$/, '');
    const summaryLayers = summaryLayerCount(framework, mods);
    const summary = summaryLine(framework, {
      stem,
      scale,
      layers: summaryLayers,
      params,
      gradients,
      gflops: gflops.exact,
      fused: looksFused(mods),
    });
    const summaryFused =
      paramsFused !== null && fusedBuilt && fusedBuilt.every((b) => b && b.mod)
        ? summaryLine(framework, {
            stem,
            scale,
            layers: summaryLayerCount(
              framework,
              fusedBuilt.map((b) => b!.mod!),
            ),
            params: paramsFused,
            gradients: paramsFused - (gradients === params ? 0 : params - gradients),
            gflops: gflopsF.exact,
            fused: looksFused(fusedBuilt.map((b) => b!.mod!)),
          })
        : null;
    return {
      params,
      gradients,
      paramsFused,
      fusedError,
      flops,
      flopsFused,
      gflops,
      gflopsUltralyticsThop: gflopsU,
      gflopsFused: gflopsF,
      gflopsFusedUltralyticsThop: gflopsFU,
      summary,
      summaryFused,
      summaryLayers,
    };
  }

  /** The GFLOPs figure the framework prints: thop at a stride-sized input, scaled to 640 (see quirks F1/19). */
  function printedGflops(t: Framework, bs: BuildResult[], key: string): { thop: number; ultralyticsThop: number } | null {
    const mods = bs.map((b) => b.mod!);
    const run = (size: number, chIn: number): { thop: number; ultralyticsThop: number } | null => {
      const r = runPass([1, chIn, size, size], bs, key, true);
      if (r.errors.length) return null;
      const total = { thop: 0, ultralyticsThop: 0 };
      for (const o of r.ops) {
        if (!o) continue;
        total.thop += o.thop;
        total.ultralyticsThop += o.ultralyticsThop;
      }
      return total;
    };
    const each = (ops: { thop: number; ultralyticsThop: number } | null, f: (x: number) => number) =>
      ops === null ? null : { thop: f(ops.thop), ultralyticsThop: f(ops.ultralyticsThop) };
    if (t.summary === 'scaled-yolov4') return each(run(64, 3), (x) => (x / 1e9) * 2 * 100);
    const s = Math.max(Math.trunc(maxStride), 32);
    const chIn = t.summary === 'yolov5-fork' ? ch : firstParamDim1(mods);
    if (chIn === null) return null;
    const ops = run(s, chIn);
    // the same float operations, in the same order, as the frameworks' get_flops
    if (ops !== null) return each(ops, (x) => ((((x / 1e9) * 2 * 640) / s) * 640) / s);
    if (t.summary === 'yolov5-fork') return null;
    return each(run(640, chIn), (x) => (x / 1e9) * 2);
  }

  const diagnostics = sink.list;
  return {
    doc,
    framework,
    dialect: framework.dialect,
    frameworkReason,
    nc: ncVal,
    depthMultiple: depth,
    widthMultiple: width,
    maxChannels,
    scale,
    scaleReason,
    imgsz,
    ch,
    layers,
    diagnostics,
    strides,
    maxStride,
    get totals() {
      return totalsOnce();
    },
    ok: !diagnostics.some((d) => d.severity === 'error'),
    failure: sink.failure,
    ...(opts.fileName ? { fileName: opts.fileName } : {}),
  };
}

function firstKeyRange(doc: ModelDoc): Range {
  const first = [...doc.top.values()][0];
  return first ? first.keyRange : { start: 0, end: 0 };
}

/** `p.shape[1]` of the model's first parameter (ultralytics get_flops); null when it has no dim 1. */
function firstParamDim1(mods: readonly Mod[]): number | null {
  for (const m of mods) {
    const d = firstParam(m);
    if (d !== undefined) return d;
  }
  return null;
}

function firstParam(m: Mod): number | null | undefined {
  if (m.leaf) {
    const l = m.leaf;
    switch (l.op) {
      case 'conv2d':
        return Math.trunc(l.cin / l.g);
      case 'convTranspose2d':
        return Math.trunc(l.cout / l.g);
      case 'linear':
        return l.cin;
      case 'embedding':
        return l.dim;
      case 'mha':
        return l.embed;
      case 'batchNorm2d':
      case 'layerNorm':
      case 'groupNorm':
        return l.affine ? null : undefined;
      case 'act':
        return l.fn === 'PReLU' ? null : undefined;
      default:
        return undefined;
    }
  }
  if (m.ownParams > 0) return (m.attrs?.firstParamDim1 as number | null | undefined) ?? null;
  for (const [, c] of m.children) {
    const d = firstParam(c);
    if (d !== undefined) return d;
  }
  return undefined;
}

type Lookup = { entry: ModuleEntry } | { code: Code; message: string; suggestion?: string };

/** How the framework's parse_model turns the module string into a class. */
export function lookupModule(framework: Framework, name: string): Lookup {
  let nnName: string | null = null;
  if (framework.dialect === 'ultralytics') {
    // `getattr(torch.nn, m[3:]) if "nn." in m else globals()[m]`
    if (name.includes('nn.')) nnName = name.slice(3);
  } else {
    const m = /^(?:torch\.)?nn\.(.+)$/.exec(name);
    if (m) nnName = m[1]!;
  }
  if (nnName !== null) {
    const e = framework.nn.get(nnName);
    if (e) return { entry: e };
    const s = didYouMean(nnName, [...framework.nn.keys()]);
    return {
      code: 'YOLO010',
      message: `module 'torch.nn' has no attribute '${nnName}' that YOLO Lens knows${s ? ` — did you mean 'nn.${s}'?` : ''}`,
      ...(s ? { suggestion: `nn.${s}` } : {}),
    };
  }
  const e = framework.modules.get(name);
  if (e) return { entry: e };
  for (const other of Object.values(FRAMEWORKS)) {
    if (other && other !== framework && other.modules.has(name))
      return {
        code: 'YOLO011',
        message: `${name} is a ${other.label} module; ${framework.label} cannot build it (${framework.dialect === 'ultralytics' ? `KeyError: '${name}'` : `NameError: name '${name}' is not defined`})`,
      };
  }
  const s = didYouMean(name, [...framework.modules.keys(), ...[...framework.nn.keys()].map((k) => `nn.${k}`)]);
  return {
    code: 'YOLO010',
    message: `unknown module '${name}' (${framework.dialect === 'ultralytics' ? `KeyError: '${name}'` : `NameError: name '${name}' is not defined`})${s ? ` — did you mean '${s}'?` : ''}`,
    ...(s ? { suggestion: s } : {}),
  };
}

export { PyObj, PyTuple, type SrcVal };
