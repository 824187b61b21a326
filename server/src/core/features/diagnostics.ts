/**
 * The squiggles of a model YAML (Problems panel, underlined tokens): every diagnostic the resolver finds, plus the
 * warnings upstream would not stop on but users regret — stale `# N` index comments (YOLO024), layers nothing
 * consumes (YOLO025), args written for the other dialect (YOLO026) and raw-arg modules whose channel argument no
 * longer matches their input after width scaling (YOLO027) — with the user's severity overrides applied.
 */
import { type Code, CODES, type Diagnostic, diag, type Severity } from '../diagnostics.ts';
import type { LayerSrc } from '../document.ts';
import type { Model, ResolvedLayer } from '../model.ts';
import { argIndexOf, type Framework } from '../framework/types.ts';
import { FRAMEWORKS } from '../framework/index.ts';
import { isInt, isSeq, pyRepr, seqItems } from '../py.ts';
import { fromElements } from './references.ts';
import { filledParams } from './yamlParams.ts';
import { parseIndexComment } from './refactor.ts';

export type SeverityOverride = Severity | 'off';

export interface DiagnosticOptions {
  /** per code: a different severity, or 'off' */
  readonly severity?: Readonly<Record<string, SeverityOverride>>;
}

export function modelDiagnostics(model: Model, opts: DiagnosticOptions = {}): Diagnostic[] {
  const all: Diagnostic[] = [
    ...model.diagnostics,
    ...staleIndexComments(model),
    ...unusedLayers(model),
    ...dialectMismatches(model),
    ...rawChannelArgs(model),
  ];
  const overrides = opts.severity ?? {};
  const out: Diagnostic[] = [];
  for (const d of all) {
    const o = overrides[d.code];
    if (o === 'off') continue;
    out.push(o && o !== d.severity && isSeverity(o) ? { ...d, severity: o } : d);
  }
  return out;
}

const isSeverity = (s: string): s is Severity => s === 'error' || s === 'warning' || s === 'information' || s === 'hint';

/** YOLO024: the trailing `# N` comment of a layer is not its index (a layer was inserted or removed above). */
export function staleIndexComments(model: Model): Diagnostic[] {
  const out: Diagnostic[] = [];
  const layers = model.doc.layers;
  for (const l of layers) {
    const c = l.comment;
    if (!c) continue;
    // the same rule the layer refactors renumber by (`# 13`, `# 0-P1/2`, `# 17 (P3/8-small)`; not `# 3 bottlenecks`)
    const m = parseIndexComment(c.text);
    if (!m) continue;
    const written = m.index;
    if (written === l.index) continue;
    // a number far beyond the layer count is not an index (e.g. `# 640`)
    if (written > layers.length * 2 + 8) continue;
    const start = c.range.start + m.start;
    out.push(
      diag(
        'YOLO024',
        { start, end: c.range.start + m.end },
        `this comment says layer ${written}, but the layer is ${l.index}: \`from\` indices count layers, not comments`,
        undefined,
        {
          layer: l.index,
          data: { written, index: l.index },
        },
      ),
    );
  }
  return out;
}

/** Absolute indices a layer's `from` names, read from the YAML; null while some element is not an int yet. */
function fromTargets(l: LayerSrc): number[] | null {
  const v = l.from?.value;
  if (v === undefined) return null;
  const written = isSeq(v) ? seqItems(v).length : 1;
  const elements = fromElements(l);
  return elements.length === written ? elements.map((e) => e.target) : null;
}

/** YOLO025: a layer whose output no later layer reads (the model returns only the last layer's output). */
export function unusedLayers(model: Model): Diagnostic[] {
  const layers = model.doc.layers;
  if (layers.length < 2) return [];
  const consumed = new Set<number>();
  for (const l of layers) {
    const t = fromTargets(l);
    // a `from` being typed could name anything: say nothing rather than flag a layer the user is about to use
    if (!t) return [];
    for (const j of t) consumed.add(j);
  }
  const out: Diagnostic[] = [];
  for (const l of layers) {
    if (l.index === layers.length - 1 || consumed.has(l.index)) continue;
    const resolved = model.layers[l.index];
    // ImagePoolingAttn feeds the text features forward, not its x
    if (guideOf(resolved?.entry?.def.name ?? (typeof l.module?.value === 'string' ? l.module.value : '')) === 'producer') continue;
    out.push(
      diag(
        'YOLO025',
        l.range,
        `layer ${l.index}${resolved?.moduleName ? ` (${resolved.moduleName})` : ''} is never used: no later layer takes it in \`from\`, ` +
          `and the model returns only the last layer`,
        undefined,
        {
          layer: l.index,
          tags: [1],
        },
      ),
    );
  }
  return out;
}

/** A module's WorldModel role, from any framework that defines it (this file's framework may not). */
function guideOf(name: string): string | undefined {
  for (const t of Object.values(FRAMEWORKS)) {
    const g = t?.modules.get(name)?.def.guide;
    if (g) return g;
  }
  return name === 'ImagePoolingAttn' ? 'producer' : undefined;
}

const ERROR_CODES_OF_A_BAD_CALL = new Set<Code>(['YOLO011', 'YOLO012', 'YOLO013', 'YOLO014', 'YOLO018', 'YOLO029', 'YOLO017']);

/** The framework of the other dialect that has a module of this name (preferring the one closest to this framework). */
function otherDialectEntry(framework: Framework, name: string) {
  for (const t of Object.values(FRAMEWORKS)) {
    if (!t || t.dialect === framework.dialect) continue;
    const e = t.modules.get(name);
    if (e) return { framework: t, entry: e };
  }
  return null;
}

/**
 * YOLO026: a layer written the other dialect's way. Detect-family heads are the common case (YOLOv5's
 * `Detect, [nc, anchors]` against ultralytics' anchor-free `Detect, [nc]`); any module whose args do not fit this
 * framework's constructor but fit the other dialect's is reported the same way.
 */
export function dialectMismatches(model: Model): Diagnostic[] {
  const out: Diagnostic[] = [];
  const framework = model.framework;
  for (const l of model.layers) {
    const src = l.src;
    const name = l.moduleName;
    const argsSrc = src.args;
    if (!name || !argsSrc || argsSrc.kind !== 'seq') continue;
    const yamlArgs = argsSrc.items ?? [];
    const head = l.entry?.treat === 'head' || /^(Detect|Segment|Pose|OBB|v10Detect|WorldDetect)$/.test(name);
    if (head && framework.dialect === 'ultralytics') {
      const anchorsArg = yamlArgs.findIndex(
        (a) => a.value === 'anchors' || (isSeq(a.value) && seqItems(a.value).length > 0 && isSeq(seqItems(a.value)[0]!)),
      );
      if (anchorsArg >= 0) {
        out.push(
          diag(
            'YOLO026',
            yamlArgs[anchorsArg]!.range,
            `${name} here is ultralytics' anchor-free head: it takes ` +
              `[nc${name === 'Segment' ? ', nm, npr' : name === 'Pose' ? ', kpt_shape' : ''}], not YOLOv5's [nc, anchors] (parse_model ` +
              `would call ${name}(nc, ${pyRepr(yamlArgs[anchorsArg]!.value)}, [channels]))`,
            undefined,
            {
              layer: l.index,
              data: { dialect: 'yolov5', argIndex: anchorsArg },
            },
          ),
        );
        continue;
      }
    }
    if (head && framework.dialect === 'yolov5' && (name === 'Detect' || name === 'Segment')) {
      const minArgs = name === 'Detect' ? 2 : 4;
      if (yamlArgs.length < minArgs && !yamlArgs.some((a) => a.value === 'anchors')) {
        out.push(
          diag(
            'YOLO026',
            argsSrc.range,
            `${pyRepr(argsSrc.value)} is ultralytics' anchor-free form; YOLOv5's ${name} takes [nc, ` +
              `anchors${name === 'Segment' ? ', nm, npr' : ''}] (e.g. [nc, anchors] with the file's anchors: key)`,
            undefined,
            {
              layer: l.index,
              data: { dialect: 'ultralytics' },
            },
          ),
        );
        continue;
      }
    }
    // generic: this framework rejects the call, the other dialect's constructor of the same name would take it
    const failed = model.diagnostics.some((d) => d.layer === l.index && d.severity === 'error' && ERROR_CODES_OF_A_BAD_CALL.has(d.code));
    if (!failed) continue;
    // a module this framework lacks altogether is YOLO011's business; here the module exists in both
    const mine = l.entry;
    if (!mine) continue;
    const other = otherDialectEntry(framework, name);
    if (!other) continue;
    if (fits(mine, yamlArgs.length)) continue;
    if (!fits(other.entry, yamlArgs.length)) continue;
    out.push(
      diag(
        'YOLO026',
        src.module!.range,
        `${name} takes these args in ${other.framework.label}, not in ${framework.label}: the file is read as ` +
          `${framework.dialect === 'yolov5' ? 'a YOLOv5' : 'an ultralytics'} YAML (${model.frameworkReason})`,
        undefined,
        {
          layer: l.index,
          data: { dialect: other.framework.dialect },
        },
      ),
    );
  }
  return out;
}

/** Would a YAML args list of this length bind to the constructor (positional count within the signature)? */
function fits(entry: NonNullable<ResolvedLayer['entry']>, yamlCount: number): boolean {
  const sig = entry.def.signature;
  let passed: number;
  if (entry.treat === 'bn') passed = 1;
  else if (entry.treat === 'head') passed = yamlCount + 1;
  else {
    const last = yamlCount > 0 ? (argIndexOf(entry, yamlCount - 1) ?? 0) + 1 : 0;
    passed = Math.max(last, ...filledParams(entry).map((f) => f.argIndex + 1));
  }
  const required = sig.filter((p) => p.default === undefined).length;
  return (entry.def.varargs || passed <= sig.length) && passed >= required;
}

/** Parameter names that take the input's channel count in modules whose args parse_model passes verbatim. */
const INPUT_CHANNEL_PARAMS = new Set(['in_channels', 'in_features', 'c1', 'num_features', 'c', 'dim']);

/** YOLO027: a verbatim-args module (`nn.Conv2d`, `nn.Linear`...) whose input-channel arg is not what reaches it. */
export function rawChannelArgs(model: Model): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const l of model.layers) {
    if (l.entry?.treat !== 'plain' || !l.fromIndices || l.fromIsList) continue;
    const b = l.bindings.find(
      (x) =>
        x.param !== undefined &&
        INPUT_CHANNEL_PARAMS.has(x.param) &&
        l.entry!.def.signature.find((p) => p.name === x.param)?.kind === 'channels',
    );
    if (!b || !isInt(b.passed)) continue;
    const actual = inputChannels(model, l);
    if (actual === null || actual === b.passed) continue;
    const w = model.widthMultiple;
    const scaled =
      w !== null && w !== 1
        ? ` (width_multiple ${w} scales the layers around it, but parse_model passes ${l.moduleName}'s args verbatim)`
        : '';
    out.push(
      diag(
        'YOLO027',
        b.range,
        `${l.moduleName} is built for ${b.passed} input channels (${b.param}) but its input has ${actual}${scaled}`,
        CODES.YOLO027.severity,
        {
          layer: l.index,
          data: { param: b.param, written: b.passed, actual },
        },
      ),
    );
  }
  return out;
}

function inputChannels(model: Model, l: ResolvedLayer): number | null {
  const s = l.inShapes?.[0];
  if (s && s.length >= 2) return s[1]!;
  const j = l.fromIndices![0]!;
  if (j < 0) return model.ch;
  const p = model.layers[j];
  if (p?.outShape && p.outShape.length >= 2) return p.outShape[1]!;
  return p?.c2 ?? null;
}
