/**
 * The model summary as text (the parse_model table the frameworks print, with output shapes and GFLOPs added) and
 * as the reference-record JSON of `../shared/reference/SCHEMA.md`. Used by the CLI (`yolo-lens summary`) and the
 * server (`yolo/summary`).
 */
import type { Model, ResolvedLayer } from './model.ts';
import {
  CONVENTION_NAME,
  DEFAULT_FLOPS_CONVENTION,
  flopsOf,
  formatFixed,
  otherConvention,
  shapeText,
  UNKNOWN,
  withCommas,
  type FlopsConvention,
} from '../../../common/src/format.ts';
import { pyJson, pyRepr, type PyVal } from './py.ts';
import { frameworkTitle } from './framework/index.ts';

const CONVENTION_MEANS: Record<FlopsConvention, string> = {
  'ultralytics-thop': 'what a current ultralytics install prints',
  thop: 'what the frameworks printed when these models were published',
};

/** The table's output column: every output of a head, since the table has the room. */
function layerOutput(l: ResolvedLayer): string {
  if (l.outShape) return shapeText(l.outShape);
  if (l.outShapes) return l.outShapes.map(shapeText).join(' ');
  return l.status === 'error' ? 'error' : UNKNOWN;
}

function pad(s: string, w: number, right = false): string {
  return right ? s.padStart(w) : s.padEnd(w);
}

/** The table, one row per layer, then the summary lines (both conventions labelled). */
export function summaryTable(model: Model, convention: FlopsConvention = DEFAULT_FLOPS_CONVENTION): string {
  const rows = model.layers.map((l) => ({
    i: String(l.index),
    from: pyRepr(l.from),
    n: l.n === null ? '?' : String(l.n),
    params: l.params === null ? '?' : String(l.params),
    module: l.moduleName ?? pyRepr(l.src.module?.value ?? null),
    args: l.args ? pyRepr(l.args as PyVal[]) : '?',
    out: layerOutput(l),
    gflops: l.flops ? formatFixed(flopsOf(l.flops, convention) / 1e9, 2) : '?',
  }));
  const w = {
    from: Math.max(18, ...rows.map((r) => r.from.length + 1)),
    params: Math.max(10, ...rows.map((r) => r.params.length + 1)),
    module: Math.max(20, ...rows.map((r) => r.module.length + 2)),
    args: Math.min(48, Math.max(10, ...rows.map((r) => r.args.length + 2))),
    out: Math.max(14, ...rows.map((r) => r.out.length + 2)),
  };
  const lines: string[] = [];
  lines.push(
    `${pad('', 3)}${pad('from', w.from, true)}${pad('n', 3, true)}${pad('params', w.params, true)}  ` +
      `${pad('module', w.module)}${pad('arguments', w.args)}${pad('output', w.out)}${pad('GFLOPs', 8, true)}`,
  );
  for (const r of rows) {
    const args = r.args.length > w.args - 2 ? r.args.slice(0, w.args - 3) + '…' : r.args;
    lines.push(
      `${pad(r.i, 3, true)}${pad(r.from, w.from, true)}${pad(r.n, 3, true)}${pad(r.params, w.params, true)}  ` +
        `${pad(r.module, w.module)}${pad(args, w.args)}${pad(r.out, w.out)}${pad(r.gflops, 8, true)}`,
    );
  }
  lines.push('');
  lines.push(...summaryLines(model, convention));
  return lines.join('\n');
}

/** The closing lines: framework, input, totals (unfused and fused), both GFLOPs conventions, what failed. */
export function summaryLines(model: Model, convention: FlopsConvention = DEFAULT_FLOPS_CONVENTION): string[] {
  const out: string[] = [];
  out.push(`framework: ${frameworkTitle(model.framework)} (${model.frameworkReason})`);
  if (model.scaleReason)
    out.push(`scale: ${model.scaleReason}; depth ${model.depthMultiple}, width ${model.widthMultiple}, max_channels ${model.maxChannels}`);
  out.push(`input: 1×${model.ch}×${model.imgsz}×${model.imgsz}`);
  const t = model.totals;
  if (!t) {
    const errors = model.diagnostics.filter((d) => d.severity === 'error');
    const first = model.failure ? ` (first at the ${model.failure.stage} stage: ${model.failure.message})` : '';
    out.push(`the model does not build: ${errors.length} error${errors.length === 1 ? '' : 's'}${first}`);
    return out;
  }
  const other = otherConvention(convention);
  const g = (c: FlopsConvention, fused: boolean) => {
    const f = fused ? (c === 'thop' ? t.gflopsFused : t.gflopsFusedUltralyticsThop) : c === 'thop' ? t.gflops : t.gflopsUltralyticsThop;
    return f.exact === null ? 'n/a' : formatFixed(f.exact, 1);
  };
  const fusedFigures =
    t.paramsFused === null
      ? t.fusedError
        ? `fused: n/a (model.fuse() raises ${t.fusedError})`
        : 'fused: n/a'
      : `${withCommas(t.paramsFused)} parameters, ${g(convention, true)} GFLOPs @640 fused (BatchNorm folded)`;
  const label = `${CONVENTION_NAME[convention]} (${CONVENTION_MEANS[convention]})`;
  out.push(`${withCommas(t.params)} parameters, ${g(convention, false)} GFLOPs @640 built, ${fusedFigures}   [${label}]`);
  out.push(`with ${CONVENTION_NAME[other]}: ${g(other, false)} GFLOPs built, ${g(other, true)} GFLOPs fused`);
  out.push(`per-layer sum at ${model.imgsz}: ${formatFixed(flopsOf(t.flops, convention) / 1e9, 2)} GFLOPs`);
  if (t.summary) out.push(`the framework prints on build: ${t.summary}`);
  return out;
}

/** A JSON fragment inserted verbatim by `toJson` (Python values keep their float/int distinction). */
class RawJson {
  constructor(readonly text: string) {}
}

function toJson(v: unknown, indent = ''): string {
  if (v instanceof RawJson) return v.text;
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : 'null';
  if (typeof v === 'string' || typeof v === 'boolean') return JSON.stringify(v);
  const inner = indent + '  ';
  if (Array.isArray(v)) {
    if (v.every((x) => typeof x === 'number' || x === null)) return `[${v.map((x) => toJson(x)).join(', ')}]`;
    return `[\n${v.map((x) => inner + toJson(x, inner)).join(',\n')}\n${indent}]`;
  }
  const entries = Object.entries(v as Record<string, unknown>);
  if (indent.length >= 2) return `{${entries.map(([k, x]) => `${JSON.stringify(k)}: ${toJson(x, inner)}`).join(', ')}}`;
  return `{\n${entries.map(([k, x]) => `${inner}${JSON.stringify(k)}: ${toJson(x, inner)}`).join(',\n')}\n${indent}}`;
}

const round6 = (x: number) => Math.round(x * 1e6) / 1e6;

/** The record of SCHEMA.md for this model (same keys, same meaning). */
export function referenceRecord(model: Model, yamlPath: string): Record<string, unknown> {
  const t = model.totals;
  const errors = model.diagnostics.filter((d) => d.severity === 'error');
  const layerFlops = model.layers.map((l) => l.flops?.thop ?? null);
  const rec: Record<string, unknown> = {
    schema: 1,
    yaml: yamlPath,
    origin: null,
    framework: model.dialect,
    scale: model.scale,
    ch: model.ch,
    imgsz: model.imgsz,
    nc: typeof model.nc === 'number' ? model.nc : null,
    ok: model.ok && !!t,
    stage: model.ok ? null : (model.failure?.stage ?? 'parse'),
    error: model.ok ? null : errors[0] ? `${errors[0].code}: ${errors[0].message}` : 'the model does not build',
    layers: model.layers.map((l) => ({
      i: l.index,
      from: new RawJson(pyJson(l.from)),
      n: l.n,
      module: l.moduleName ?? pyRepr(l.src.module?.value ?? null),
      args: l.args ? new RawJson(pyJson(l.args as PyVal[])) : null,
      params: l.params,
      out_shape: l.outShape ? [...l.outShape] : null,
      out_shapes: l.outShapes ? l.outShapes.map((s) => [...s]) : null,
      flops: l.flops ? Math.round(l.flops.thop) : null,
    })),
    params: t ? t.params : null,
    gflops: t ? t.gflops.printed : null,
    gflops_imgsz: t && layerFlops.every((x) => x !== null) ? round6((layerFlops as number[]).reduce((a, b) => a + b, 0) / 1e9) : null,
    summary: t ? t.summary : null,
  };
  if (model.framework.dialect === 'yolov5')
    rec.code = {
      repo: model.framework.origin.split('@')[0],
      commit: model.framework.origin.split('@')[1]?.split(' ')[0] ?? null,
      dir: model.framework.origin.split(' ')[1] ?? '',
    };
  rec.params_fused = t ? t.paramsFused : null;
  rec.gflops_fused = t ? t.gflopsFused.printed : null;
  rec.summary_fused = t ? t.summaryFused : null;
  if (t?.fusedError) rec.fused_error = t.fusedError;
  rec.gflops_ultralytics_thop = t ? t.gflopsUltralyticsThop.printed : null;
  return rec;
}

export function recordJson(model: Model, yamlPath: string): string {
  return toJson(referenceRecord(model, yamlPath));
}
