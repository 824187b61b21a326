/**
 * Channel counts that build but are not what was meant: a verbatim-args module (`nn.Conv2d`...) whose input-channel
 * argument no longer matches what reaches it after width scaling (YOLO027).
 */
import { CODES, type Diagnostic, diag } from '../../diagnostics.ts';
import type { Model, ResolvedLayer } from '../../model.ts';
import { isInt, PyFloat, pyRepr } from '../../py.ts';
import { keyText, mapEntries } from '../../document.ts';

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

/** A width-scaled count that the multiple sent below the divisor, so make_divisible lifts it to the minimum. */
function clampedWidths(model: Model): { clamped: number; total: number; example: string | null } {
  const w = model.widthMultiple;
  let clamped = 0;
  let total = 0;
  let example: string | null = null;
  if (w === null) return { clamped, total, example };
  for (const l of model.layers) {
    if (l.entry?.treat !== 'channels' && l.entry?.treat !== 'repeats') continue;
    const b = l.bindings.find((x) => x.yamlIndex === 0 && x.param === 'c2');
    if (!b || !isInt(b.evaluated) || !isInt(b.passed) || b.evaluated <= 0 || b.evaluated === model.nc) continue;
    total++;
    const raw = Math.min(b.evaluated, model.maxChannels) * w;
    if (raw < b.passed && b.passed <= 8) {
      clamped++;
      example ??= `${b.evaluated} × ${w} = ${+raw.toFixed(3)} → ${b.passed}`;
    }
  }
  return { clamped, total, example };
}

/** Where the width (k = 1) or depth (k = 0) multiple is written: the key, or the chosen scales row's item. */
function multipleRange(model: Model, k: 0 | 1) {
  const key = k === 1 ? 'width_multiple' : 'depth_multiple';
  const scales = model.doc.top.get('scales');
  if (model.scale && scales?.value.kind === 'map') {
    const row = mapEntries(scales.value)
      .filter((e) => keyText(e.key) === model.scale)
      .pop();
    const item = row?.value.items?.[k];
    if (item) return item.range;
  }
  return model.doc.top.get(key)?.value.range ?? null;
}

/**
 * YOLO043: a width multiple so small that most channel counts are lifted to the minimum (make_divisible's 8), or a
 * depth multiple that rounds every repeat below one (clamped to 1): the model is nothing like the one written.
 */
export function multipleFloors(model: Model): Diagnostic[] {
  const out: Diagnostic[] = [];
  const widths = clampedWidths(model);
  const wr = multipleRange(model, 1);
  if (wr && widths.total >= 2 && widths.clamped * 2 >= widths.total)
    out.push(
      diag(
        'YOLO043',
        wr,
        `width ${model.widthMultiple} sends ${widths.clamped} of ${widths.total} channel counts below 8, which ` +
          `make_divisible lifts to the minimum (${widths.example}): the layers no longer differ in width`,
        CODES.YOLO043.severity,
        { data: { clamped: widths.clamped, total: widths.total } },
      ),
    );
  const d = model.depthMultiple;
  const dr = multipleRange(model, 0);
  const repeated = model.layers.filter((l) => typeof l.nYaml === 'number' && l.nYaml > 1);
  if (d !== null && dr && repeated.length > 0 && repeated.every((l) => (l.nYaml as number) * d < 0.5))
    out.push(
      diag(
        'YOLO043',
        dr,
        `depth ${d} rounds every repeat count below 1 (${repeated[0]!.nYaml as number} × ${d} → ` +
          `${+((repeated[0]!.nYaml as number) * d).toFixed(3)}), which parse_model lifts to 1: every block is built once`,
        CODES.YOLO043.severity,
        { data: { depth: d } },
      ),
    );
  return out;
}

/** Parameter kinds a bool must not stand in for, and the kind a float must not stand in for. */
const INT_KINDS = new Set(['int', 'kernel', 'channels']);

/**
 * YOLO044: Python takes a bool for an int (`True` is 1) and any number for a bool (0.25 is truthy), so a value in
 * the wrong place builds silently: `Conv [128, True, 2]` is a 1×1 kernel, `C3k2 [512, 0.25]` sets c3k, not e.
 */
export function argKinds(model: Model): Diagnostic[] {
  const out: Diagnostic[] = [];
  const failed = new Set(model.diagnostics.filter((d) => d.severity === 'error').map((d) => d.layer));
  for (const l of model.layers) {
    if (!l.entry || failed.has(l.index)) continue;
    for (const b of l.bindings) {
      const spec = b.param ? l.entry.def.signature.find((p) => p.name === b.param) : undefined;
      if (!spec) continue;
      const v = b.evaluated;
      let message: string | null = null;
      if (typeof v === 'boolean' && INT_KINDS.has(spec.kind))
        message =
          `${v ? 'True' : 'False'} where ${l.moduleName} takes an int (${spec.name}: ${spec.doc}): Python counts it as ` +
          `${v ? 1 : 0}; write ${v ? 1 : 0} if that is meant`;
      else if (v instanceof PyFloat && spec.kind === 'bool') {
        const floatParam = l.entry.def.signature.find((p) => p.kind === 'float' && p.name !== spec.name);
        message =
          `${pyRepr(v)} where ${l.moduleName} takes a bool (${spec.name}): any non-zero number is True` +
          `${floatParam ? `; did you mean ${floatParam.name} (${floatParam.doc}), a later argument?` : ''}`;
      }
      if (message) out.push(diag('YOLO044', b.range, message, CODES.YOLO044.severity, { layer: l.index, data: { param: spec.name } }));
    }
  }
  return out;
}
