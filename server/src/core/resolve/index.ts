/**
 * resolve(): YAML text → Model, exactly as the framework's parse_model would build it, then a static forward pass
 * for shapes, parameters and FLOPs. The phases, each in its own file: header → per-layer plan → build → run →
 * stride probe → layers out → totals (on first use). Never throws on user text: every problem is a diagnostic on the
 * token that causes it, and resolution goes on with unknown shapes where it must.
 */
import { diag } from '../diagnostics.ts';
import { parseModelDoc, type ModelDoc } from '../document.ts';
import type { Range } from '../range.ts';
import { isInt } from '../py.ts';
import type { Shape } from '../nn/module.ts';
import type { WiredLayer } from '../nn/driver.ts';
import { flattenOut, isShape } from '../nn/static.ts';
import { detectFramework, modeline } from '../framework/detect.ts';
import { withWorkspace } from '../framework/workspace.ts';
import type { Framework, Header } from '../framework/types.ts';
import type { Model, ModelTotals, ResolvedLayer } from '../model.ts';
import { buildAll, buildEnv, buildLayer, type BuildResult } from './build.ts';
import { readHeader } from './header.ts';
import { MAX_LAYERS, type ResolveOptions } from './options.ts';
import { LayerPlanner, rangeOrModule, type ParsedLayer } from './plan.ts';
import { probeAndReport, type PassInputs } from './probe.ts';
import { reportForward, runPass, wiring, type PassResult } from './run.ts';
import { Sink } from './sink.ts';
import { computeTotals } from './totals.ts';

export type { ResolveOptions } from './options.ts';
export { MAX_MODULES } from './options.ts';
export { clearResolveCaches } from './cache.ts';
export { lookupModule } from './lookup.ts';

export function resolve(text: string, opts: ResolveOptions = {}): Model {
  return resolveDoc(parseModelDoc(text), opts);
}

/**
 * What the model class feeds its layers besides the image: a WorldModel's text features `[1, nc or 80, 512]`, a
 * YOLOEModel's class prompts (zeros `[1, 80, 512]` without prompts); a placeholder where nothing reads them.
 */
function textFeatures(layers: readonly ParsedLayer[], inputs: 'world' | 'prompts' | null, header: Header): Shape {
  if (inputs === 'prompts') {
    const p = layers.find((l) => l.entry?.def.prompts)?.entry?.def.prompts;
    if (p) return [1, p.classes, p.width];
  }
  return [1, isInt(header.nc) && header.nc > 0 ? header.nc : 80, 512];
}

/** Image size: the option, else the modeline, else 640 (a size no model takes falls back to 640). */
function imageSize(opts: ResolveOptions, ml: ReturnType<typeof modeline>): number {
  const wanted = opts.imgsz ?? (ml.imgsz ? Number(ml.imgsz) : 640);
  return Number.isInteger(wanted) && wanted > 0 && wanted <= 8192 ? wanted : 640;
}

export function resolveDoc(doc0: ModelDoc, opts: ResolveOptions = {}): Model {
  const sink = new Sink();
  const detected = detectFramework(doc0, opts.framework, opts.workspace);
  const declared = opts.userModules ? opts.userModules.extend(detected.framework) : detected.framework;
  // the workspace's code decides which names exist only when it chose the framework (a setting or comment overrides)
  const framework = detected.source === 'workspace' && opts.workspace ? withWorkspace(declared, opts.workspace) : declared;
  // the YOLOv5 frameworks read the file with errors='ignore' and drop what is not ASCII in scalars
  const doc = framework.dialect === 'yolov5' && doc0.nonAsciiScalars ? parseModelDoc(doc0.text, { stripNonAscii: true }) : doc0;
  for (const d of doc.diagnostics) sink.add(d, d.severity === 'error' ? 'parse' : undefined);
  const ml = modeline(doc.text);
  const imgsz = imageSize(opts, ml);
  const base = {
    doc,
    framework,
    dialect: framework.dialect,
    frameworkReason: detected.reason,
    frameworkSource: detected.source,
    imgsz,
    ...(opts.fileName ? { fileName: opts.fileName } : {}),
  };
  if (doc.top.size === 0) return emptyModel(base, sink);
  const header = readHeader(doc, framework, opts, ml, sink);
  if (!checkLayerCount(doc, sink)) return emptyModel(base, sink);

  const unfused = buildEnv(framework, header.defaultAct, false);
  const layers = new LayerPlanner(doc, framework, header, sink, probeStage(doc, framework), (p) => {
    const out = buildLayer(unfused, p).mod?.attrs?.outChannels;
    return typeof out === 'number' ? out : null;
  }).planAll();
  const { built, budgetStop } = buildAll(unfused, layers, sink);
  const stem = (opts.fileName?.split(/[\\/]/).pop() ?? '').replace(/\.[^.]*$/, '');
  const inputs = framework.modelInputs(stem);
  const pass: PassInputs = {
    layers,
    wired: wiring(layers, inputs),
    built,
    envKey: unfused.key,
    ch: header.ch,
    imgsz,
    textFeatures: textFeatures(layers, inputs, header),
  };
  const main = runPass(layers, pass.wired, built, unfused.key, [1, header.ch, imgsz, imgsz], pass.textFeatures, false);
  const probe = probeAndReport(pass, main, sink);
  warnOddGsconvChannels(layers, sink);
  const resolved = resolvedLayers(layers, pass.wired, built, main, budgetStop, sink);
  checkNoHoles(resolved, sink);

  const complete = !sink.hasError && resolved.length > 0 && resolved.every((l) => l.status === 'ok');
  // the fused build, the framework's GFLOPs passes and summary lines cost as much as the rest on a large model
  let totals: ModelTotals | null | undefined = complete ? undefined : null;
  const totalsOnce = (): ModelTotals | null =>
    totals === undefined
      ? (totals = computeTotals({
          framework,
          pass,
          layers: resolved,
          defaultAct: header.defaultAct,
          maxStride: probe.maxStride,
          scale: header.scale,
          fileName: opts.fileName,
          skipFused: !!opts.skipFused,
        }))
      : totals;
  return {
    ...base,
    ...modelHeader(header),
    layers: resolved,
    diagnostics: sink.list,
    strides: probe.strides,
    maxStride: probe.maxStride,
    guideShape: pass.wired.some((w) => w.guideRole) ? pass.textFeatures : null,
    get totals() {
      return totalsOnce();
    },
    ok: !sink.hasError,
    failure: sink.failure,
    scaleVar: header.scaleVar,
    forwardAt: (size) => forwardFailure(pass, size),
  };
}

/** What a forward at another square image size would fail with (the first failing layer's diagnostic), or null. */
function forwardFailure(pass: PassInputs, size: number) {
  if (!Number.isInteger(size) || size <= 0 || size > 8192) return null;
  const r = runPass(pass.layers, pass.wired, pass.built, pass.envKey, [1, pass.ch, size, size], pass.textFeatures, true);
  const first = r.errors[0];
  if (!first) return null;
  const s = new Sink();
  reportForward(pass.layers, pass.layers[first.layer]!, first.error, r.inputs[first.layer], 'forward', s, ` (at ${size}×${size})`);
  return s.list[0] ?? null;
}

type ModelBase = Pick<Model, 'doc' | 'framework' | 'dialect' | 'frameworkReason' | 'frameworkSource' | 'imgsz' | 'fileName'>;

const modelHeader = (h: Header) => ({
  nc: h.nc,
  depthMultiple: h.depth,
  widthMultiple: h.width,
  maxChannels: h.maxChannels,
  scale: h.scale,
  scaleReason: h.scaleReason,
  scaleSource: h.scaleSource,
  ch: h.ch,
});

function emptyModel(base: ModelBase, sink: Sink): Model {
  return {
    ...base,
    nc: null,
    depthMultiple: null,
    widthMultiple: null,
    maxChannels: Infinity,
    scale: null,
    scaleReason: null,
    scaleSource: null,
    ch: 3,
    layers: [],
    diagnostics: sink.list,
    strides: null,
    maxStride: 32,
    guideShape: null,
    totals: null,
    scaleVar: null,
    forwardAt: () => null,
    ok: false,
    failure: sink.failure ?? { stage: 'parse', message: sink.list[0]?.message ?? 'the model does not load' },
  };
}

/** false when the model is too large to analyse; the sections must be lists, and there must be layers */
function checkLayerCount(doc: ModelDoc, sink: Sink): boolean {
  const at: Range = doc.sections.backbone?.keyRange ?? { start: 0, end: 0 };
  if (doc.layers.length > MAX_LAYERS) {
    sink.add(diag('YOLO028', at, `${doc.layers.length} layers: YOLO Lens analyses models up to ${MAX_LAYERS} layers`), 'parse');
    return false;
  }
  for (const section of ['backbone', 'head'] as const) {
    const t = doc.top.get(section);
    if (t && !doc.sections[section]) sink.add(diag('YOLO004', t.value.range, `${section} must be a list of layers`), 'parse');
  }
  if (doc.layers.length === 0 && doc.sections.backbone)
    sink.add(
      diag('YOLO003', doc.sections.backbone.keyRange, 'the model has no layers (the framework fails on model[-1]: IndexError)'),
      'build',
    );
  return true;
}

/** The first forward of a model ending in a Detect-family head is the stride probe, at build. */
function probeStage(doc: ModelDoc, framework: Framework): 'build' | 'forward' {
  const lastModule = doc.layers[doc.layers.length - 1]?.module?.value;
  return typeof lastModule === 'string' && framework.modules.get(lastModule)?.def.detectFamily ? 'build' : 'forward';
}

/** GSConv splits c2 into two halves: an odd c2 outputs one channel less than the next layer is built for. */
function warnOddGsconvChannels(layers: readonly ParsedLayer[], sink: Sink): void {
  for (const p of layers) {
    if (!p.args || !p.entry) continue;
    const name = p.entry.def.name;
    if (!(name === 'GSConv' || name === 'GSConvns' || name === 'GSConvE') || p.entry.treat !== 'channels') continue;
    const c2 = p.args[1];
    if (!isInt(c2 ?? null) || (c2 as number) % 2 === 0) continue;
    const at = p.bindings.find((x) => x.param === 'c2')?.range ?? rangeOrModule(p);
    const half = Math.floor((c2 as number) / 2);
    const message =
      `${name} splits c2 = ${c2} into two halves of ${half}: it outputs ${(c2 as number) - 1} channels, not ` +
      `${c2}; the next layer will be built for the wrong count`;
    sink.add(diag('YOLO019', at, message, undefined, { layer: p.index }));
  }
}

function resolvedLayers(
  layers: readonly ParsedLayer[],
  wired: readonly WiredLayer[],
  built: readonly (BuildResult | null)[],
  main: PassResult,
  budgetStop: number | null,
  sink: Sink,
): ResolvedLayer[] {
  // sets, not a scan of every diagnostic per layer: that was quadratic, seconds at 20,000 failing layers
  const withErrors = new Set(sink.list.filter((d) => d.severity === 'error' && d.layer !== undefined).map((d) => d.layer));
  const failedForward = new Set(main.errors.map((e) => e.layer));
  return layers.map((p, k) => {
    const b = built[k];
    const out = main.outs[k];
    const ok = out !== undefined;
    const single = ok && isShape(out) ? out : null;
    const ops = main.ops[k];
    const inp = main.inputs[k];
    const failed = !!b?.error || k === budgetStop || failedForward.has(k) || (!p.parsed && withErrors.has(k));
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
      outShapes: ok && !single ? flattenOut(out) : null,
      params: b && b.mod ? b.params : null,
      gradients: b && b.mod ? b.params - b.frozen : null,
      flops: ops ? { thop: 2 * ops.thop, ultralyticsThop: 2 * ops.ultralyticsThop } : null,
      paramsFused: null,
      flopsFused: null,
      status: ok ? 'ok' : failed ? 'error' : 'unknown',
      mod: b?.mod ?? null,
      modFused: null,
      inShapes: inp === undefined ? null : isShape(inp) ? [inp] : (inp as Shape[]),
      guideRole: wired[k]!.guideRole,
      unreadParams: b?.unread ?? [],
    };
  });
}

/**
 * A model without an error has every layer resolved: a layer left unknown with no reason is a bug here, said as one
 * (YOLO030) rather than shown as a healthy model with holes (the fuzzer fails on any YOLO030).
 */
function checkNoHoles(layers: readonly ResolvedLayer[], sink: Sink): void {
  if (sink.hasError) return;
  const hole = layers.find((l) => l.status !== 'ok');
  if (!hole) return;
  const message =
    `YOLO Lens could not analyse layer ${hole.index} (${hole.moduleName ?? '?'}) and found no reason why: a bug, ` + `please report it`;
  sink.add(diag('YOLO030', hole.src.range, message, undefined, { layer: hole.index }), 'build');
}
