/**
 * Hover cards in a model YAML: on a module, its signature, doc, the args as parse_model passes them, c_in→c_out,
 * output shape, params and FLOPs in both conventions; on a `from` element, the layer it points to; on an arg, the
 * parameter it binds and its resolved value (`512 × 0.25 → 128`); on `n`, the repeats after depth_multiple; on
 * the top-level keys and `scales:` entries, what they do and their effect on this file.
 */
import type { SrcVal } from '../document.ts';
import type { Range } from '../range.ts';
import type { Model, ResolvedLayer } from '../model.ts';
import { signatureText } from '../catalog/types.ts';
import { FRAMEWORKS, frameworkTitle } from '../framework/index.ts';
import { isNumeric, isSeq, num, pyRepr, pyRound, seqItems, type PyVal } from '../py.ts';
import { layerAt } from './cursor.ts';
import {
  compactCount,
  CONVENTION_NAME,
  DEFAULT_FLOPS_CONVENTION,
  exactCount,
  flopsOf,
  gflopsText,
  modelFiguresText,
  otherConvention,
  outputText,
  shapeText,
  type FlopsConvention,
} from '../../../../common/src/format.ts';
import { filledParams, treatmentNote, yamlParamAt } from './yamlParams.ts';
import { keyText, mapEntries } from '../document.ts';

export interface CoreHover {
  readonly range: Range;
  readonly markdown: string;
}

export interface HoverOptions {
  readonly convention?: FlopsConvention;
  /** resolve the same text at another `scales:` entry (for the scale hover); absent: no comparison */
  readonly resolveAtScale?: (scale: string) => Model | null;
}

const within = (r: Range, offset: number): boolean => r.start <= offset && offset <= r.end;

export function hover(model: Model, offset: number, opts: HoverOptions = {}): CoreHover | null {
  const doc = model.doc;
  if (!(offset >= 0 && offset <= doc.text.length)) return null;
  const conv = opts.convention ?? DEFAULT_FLOPS_CONVENTION;
  const src = layerAt(doc, offset) ?? doc.layers.find((l) => within(l.range, offset));
  if (src) {
    const l = model.layers[src.index];
    if (!l) return null;
    if (src.module && within(src.module.range, offset)) return { range: src.module.range, markdown: moduleHover(model, l, conv) };
    if (src.from && within(src.from.range, offset)) {
      const items = src.from.kind === 'seq' ? (src.from.items ?? []) : [src.from];
      const k = items.findIndex((it) => within(it.range, offset));
      if (k >= 0) return { range: items[k]!.range, markdown: fromHover(model, l, k) };
      return null;
    }
    if (src.n && within(src.n.range, offset)) return { range: src.n.range, markdown: nHover(model, l) };
    if (src.args && within(src.args.range, offset)) {
      const items = src.args.items ?? [];
      const k = items.findIndex((it) => within(it.range, offset));
      if (k >= 0) return { range: items[k]!.range, markdown: argHover(model, l, k, items[k]!) };
    }
    return null;
  }
  const ml = modelineAt(doc.text, offset);
  if (ml) return { range: ml, markdown: modelineHover(model) };
  for (const t of doc.top.values()) {
    if (within(t.keyRange, offset) || (t.value.kind !== 'seq' && t.value.kind !== 'map' && within(t.value.range, offset))) {
      const md = keyHover(model, t.key, t.value);
      return md ? { range: within(t.keyRange, offset) ? t.keyRange : t.value.range, markdown: md } : null;
    }
  }
  const scales = doc.top.get('scales');
  if (scales && within(scales.value.range, offset)) {
    for (const e of mapEntries(scales.value)) {
      if (within(e.key.range, offset) || within(e.value.range, offset))
        return { range: e.key.range, markdown: scaleHover(model, keyText(e.key), e.value, opts) };
    }
  }
  return null;
}

// ---- the `# yolo-lens:` comment -----------------------------------------------------------------------------

function modelineAt(text: string, offset: number): Range | null {
  const m = /#\s*yolo-lens:[^\n\r]*/.exec(text);
  if (!m) return null;
  const r = { start: m.index, end: m.index + m[0].length };
  return within(r, offset) ? r : null;
}

/** What the file is checked with: the framework, scale and image size, and who chose each. */
function modelineHover(model: Model): string {
  const lines = [`**yolo-lens** — how YOLO Lens checks this file (this comment wins over the settings)`, ''];
  lines.push(`- framework: ${frameworkLine(model)}`);
  if (model.scale) lines.push(`- scale: ${model.scale} (${model.scaleReason ?? ''})`);
  lines.push(`- image size: ${model.imgsz}`);
  return lines.join('\n');
}

// ---- module -------------------------------------------------------------------------------------------------

function moduleHover(model: Model, l: ResolvedLayer, conv: FlopsConvention): string {
  const name = l.moduleName ?? pyRepr(l.src.module?.value ?? null);
  const entry = l.entry;
  const lines: string[] = [];
  if (entry) {
    lines.push(`**${name}**\`${signatureText(entry.def)}\``, '', entry.def.doc, '');
  } else {
    const elsewhere = Object.values(FRAMEWORKS).find((t) => t && t.modules.get(name));
    lines.push(`**${name}**${elsewhere ? `\`${signatureText(elsewhere.modules.get(name)!.def)}\`` : ''}`, '');
    lines.push(
      elsewhere
        ? `_${elsewhere.label} defines ${name}; ${model.framework.label} does not._`
        : `_${model.framework.label} has no module named ${name}._`,
      '',
    );
  }
  if (l.args)
    lines.push(
      '```python',
      `${name}(${(l.args as PyVal[]).map(pyRepr).join(', ')})`,
      '```',
      `_args as parse_model passes them${entry ? `: ${treatmentNote(entry)}` : ''}_`,
      '',
    );
  const rows: [string, string][] = [];
  rows.push([
    'layer',
    `${l.index} · ${l.section} · from ` +
      `${pyRepr(l.from)}${l.fromIndices ? ` → ${l.fromIndices.map((j) => (j < 0 ? 'input' : String(j))).join(', ')}` : ''}`,
  ]);
  if (l.c1 !== null || l.c2 !== null) rows.push(['channels', `${l.c1 ?? '?'} → ${l.c2 ?? '?'}`]);
  rows.push([
    'output',
    l.outShapes && l.outShapes.length > 1 ? l.outShapes.map(shapeText).join(', ') : outputText(l.outShape, l.outShapes),
  ]);
  if (l.n !== null && isNumeric(l.nYaml) && num(l.nYaml) !== depthScaled(model, l))
    rows.push(['repeats', `${pyRepr(l.nYaml)} × ${model.depthMultiple} → ${depthScaled(model, l)}`]);
  if (l.params !== null) rows.push(['params', exactCount(l.params)]);
  if (l.flops) {
    const other = otherConvention(conv);
    rows.push([
      `FLOPs @${model.imgsz}`,
      `${gflopsText(flopsOf(l.flops, conv))} GFLOPs (${CONVENTION_NAME[conv]}) · ` +
        `${gflopsText(flopsOf(l.flops, other))} GFLOPs (${CONVENTION_NAME[other]})`,
    ]);
  }
  lines.push('| | |', '|---|---|', ...rows.map(([k, v]) => `| ${k} | ${v} |`), '');
  const errors = model.diagnostics.filter((d) => d.layer === l.index && d.severity === 'error');
  for (const e of errors.slice(0, 3)) lines.push(`❌ ${e.code}: ${e.message}`, '');
  if (entry) lines.push(`\`${entry.def.source}\` · ${frameworkLine(model)}`);
  else lines.push(frameworkLine(model));
  return lines.join('\n').trimEnd();
}

/** Which code builds the file, with its version, and how that was chosen (every hover on a layer ends with it). */
export function frameworkLine(model: Model): string {
  return `${frameworkTitle(model.framework)} (${model.frameworkReason})`;
}

/** n after depth_multiple, as parse_model computes it (`max(round(n * gd), 1) if n > 1 else n`). */
export function depthScaled(model: Model, l: ResolvedLayer): number | null {
  if (!isNumeric(l.nYaml)) return null;
  const n = num(l.nYaml);
  if (n <= 1) return n;
  if (model.depthMultiple === null) return null;
  return Math.max(pyRound(n * model.depthMultiple), 1);
}

// ---- from ---------------------------------------------------------------------------------------------------

function layerLine(model: Model, j: number): string {
  if (j < 0) return `the input image · ${model.ch}×${model.imgsz}×${model.imgsz}`;
  const t = model.layers[j];
  if (!t) return `layer ${j}`;
  return `layer ${j} · ${t.moduleName ?? '?'} · ${outputText(t.outShape, t.outShapes)}`;
}

function fromHover(model: Model, l: ResolvedLayer, k: number): string {
  const items = l.src.from?.kind === 'seq' ? (l.src.from.items ?? []) : l.src.from ? [l.src.from] : [];
  const written = items[k]?.value ?? null;
  let target: number | null = null;
  if (l.fromIndices && l.fromIndices[k] !== undefined) target = l.fromIndices[k]!;
  else if (typeof written === 'number') target = written < 0 ? l.index + written : written;
  if (target === null) return `**from ${pyRepr(written)}**: not a layer index`;
  const imageFromLayer0 = l.index === 0 && written === -1;
  const shown = imageFromLayer0 || target < 0 ? -1 : target;
  const rel = typeof written === 'number' && written < 0 && !imageFromLayer0 ? ` (${written} from layer ${l.index})` : '';
  const lines = [`**from ${pyRepr(written)}** → ${layerLine(model, shown)}${rel}`];
  if (shown >= 0 && !model.layers[shown]) lines.push('', '_no such layer_');
  return lines.join('\n');
}

// ---- n ------------------------------------------------------------------------------------------------------

function nHover(model: Model, l: ResolvedLayer): string {
  const scaled = depthScaled(model, l);
  const head = `**n** = ${pyRepr(l.nYaml)} (repeats)`;
  if (scaled === null) return head;
  const how =
    isNumeric(l.nYaml) && num(l.nYaml) > 1
      ? ` × depth_multiple ${model.depthMultiple} → **${scaled}** (max(round(n × ${model.depthMultiple}), 1))`
      : ' (n ≤ 1 is not depth-scaled)';
  const entry = l.entry;
  const where = !entry
    ? ''
    : entry.treat === 'repeats' || entry.treat === 'hgblock'
      ? `\n\n${entry.def.name} takes the repeats as its own \`n\` argument.`
      : scaled > 1
        ? `\n\nparse_model builds ${scaled} copies in an nn.Sequential.`
        : '';
  return `${head}${how}${where}`;
}

// ---- args ---------------------------------------------------------------------------------------------------

function argHover(model: Model, l: ResolvedLayer, k: number, item: SrcVal): string {
  const b = l.bindings.find((x) => x.yamlIndex === k);
  const entry = l.entry;
  const yp = entry ? yamlParamAt(entry, k) : undefined;
  const paramName = b?.param ?? yp?.param.name;
  const spec = entry && paramName ? entry.def.signature.find((p) => p.name === paramName) : undefined;
  const lines: string[] = [];
  if (paramName) lines.push(`**${paramName}**${spec ? ` — ${spec.doc}` : ''} · arg ${k} of ${l.moduleName ?? '?'}`);
  else if (entry?.treat === 'bn') lines.push(`${l.moduleName}: parse_model ignores this arg (it passes only the input's channels)`);
  else lines.push(`arg ${k} of ${l.moduleName ?? '?'}${entry ? ': beyond the constructor\u2019s parameters' : ''}`);
  if (b) {
    if (b.note) lines.push('', `\`${b.note}\``);
    else {
      const chain = [pyRepr(b.yamlValue)];
      if (pyRepr(b.evaluated) !== chain[chain.length - 1]) chain.push(pyRepr(b.evaluated));
      if (pyRepr(b.passed) !== chain[chain.length - 1]) chain.push(pyRepr(b.passed));
      lines.push('', chain.length > 1 ? `\`${chain.join(' → ')}\`` : `passed as \`${chain[0]}\``);
    }
  } else
    lines.push(
      '',
      `written \`${pyRepr(item.value)}\`${spec?.default !== undefined ? ` (default ${spec.defaultText ?? pyRepr(spec.default)})` : ''}`,
    );
  if (entry) {
    const filled = filledParams(entry).map((f) => `${entry.def.signature[f.argIndex]?.name ?? '?'}: ${f.why}`);
    if (filled.length && k === 0) lines.push('', `_parse_model fills ${filled.join('; ')}_`);
  }
  return lines.join('\n');
}

// ---- top-level keys -----------------------------------------------------------------------------------------

function keyHover(model: Model, key: string, value: SrcVal): string | null {
  const v = value.value;
  switch (key) {
    case 'depth_multiple': {
      const pairs = new Map<string, string>();
      for (const l of model.layers) {
        const s = depthScaled(model, l);
        if (s !== null && isNumeric(l.nYaml) && num(l.nYaml) > 1) pairs.set(pyRepr(l.nYaml), String(s));
      }
      const effect = [...pairs]
        .slice(0, 8)
        .map(([a, b]) => `${a} → ${b}`)
        .join(', ');
      const ignored =
        model.dialect === 'ultralytics' && model.doc.top.has('scales')
          ? '\n\n_This file has `scales:`; the chosen scale\u2019s depth is used instead._'
          : '';
      return (
        `**depth_multiple** ${pyRepr(v)} — scales the repeat count of every layer with n > 1: n → max(round(n × ${pyRepr(v)}), ` +
        `1).${effect ? `\n\nIn this file: ${effect}.` : ''}${ignored}`
      );
    }
    case 'width_multiple': {
      const pairs = new Map<string, string>();
      for (const l of model.layers)
        for (const b of l.bindings) if (b.note && b.note.includes('×')) pairs.set(pyRepr(b.yamlValue), pyRepr(b.passed));
      const effect = [...pairs]
        .slice(0, 8)
        .map(([a, b]) => `${a} → ${b}`)
        .join(', ');
      return (
        `**width_multiple** ${pyRepr(v)} — scales the output channels (first arg) of channel modules: c2 → ceil(c2 × ${pyRepr(v)} ` +
        `/ 8) × 8. \`nc\` and args passed verbatim are not scaled.${effect ? `\n\nIn this file: ${effect}.` : ''}`
      );
    }
    case 'nc': {
      const anchors = anchorCounts(model);
      const out =
        model.dialect === 'yolov5' && anchors && typeof v === 'number'
          ? ` The head outputs na × (nc + 5) = ${anchors.na} × ${v + 5} = ${anchors.na * (v + 5)} channels per level.`
          : '';
      return `**nc** ${pyRepr(v)} — the number of classes.${out}`;
    }
    case 'anchors': {
      const a = anchorCounts(model);
      const no = typeof model.nc === 'number' && a ? `, no = na × (nc + 5) = ${a.na * (model.nc + 5)}` : '';
      const counts = a ? `\n\n${a.levels} levels × ${a.na} anchors: na = ${a.na}${no}.` : '';
      return `**anchors** — anchor boxes (w, h pairs) per detection level (YOLOv5 dialect).${counts}`;
    }
    case 'scales':
      return (
        `**scales** — model scales: letter → [depth, width, ` +
        `max_channels].${model.scale ? `\n\nIn use: **${model.scale}** (${model.scaleReason ?? ''}).` : ''}`
      );
    case 'activation': {
      const act = model.framework.defaultActName;
      const ignored = model.framework.header.activation ? '' : `\n\n_${model.framework.label} ignores this key._`;
      return `**activation** ${pyRepr(v)} — the activation every Conv uses instead of the default (${act}).${ignored}`;
    }
    case 'ch':
      return `**ch** ${pyRepr(v)} — input channels (default 3).`;
    case 'backbone':
    case 'head': {
      const n = model.doc.layers.filter((l) => l.section === key).length;
      const first = model.doc.layers.find((l) => l.section === key)?.index;
      return (
        `**${key}** — ${n} layer${n === 1 ? '' : 's'}${first !== undefined ? `, ${first}–${first + n - 1}` : ''}. Each is [from, ` +
        `number, module, args]; indices count on across backbone and head.\n\nBuilt by ${frameworkLine(model)}.`
      );
    }
    case 'kpt_shape':
      return `**kpt_shape** ${pyRepr(v)} — keypoints per object and values per keypoint (Pose heads).`;
    case 'channel_multiple':
      return `**channel_multiple** ${pyRepr(v)} — the divisor scaled channels are rounded up to (YOLOv5 HEAD; default 8).`;
    default:
      return null;
  }
}

function anchorCounts(model: Model): { levels: number; na: number } | null {
  const a = model.doc.top.get('anchors')?.value.value;
  if (a === undefined || a === null) return null;
  if (typeof a === 'number') return { levels: 3, na: a };
  if (!isSeq(a)) return null;
  const rows = seqItems(a);
  const first = rows[0];
  return { levels: rows.length, na: first && isSeq(first) ? Math.floor(seqItems(first).length / 2) : 0 };
}

// ---- scales -------------------------------------------------------------------------------------------------

function scaleHover(model: Model, letter: string, value: SrcVal, opts: HoverOptions): string {
  const vals = value.items?.map((i) => i.value) ?? [];
  const [d, w, mc] = vals;
  const lines = [`**scale ${letter}** — depth ${pyRepr(d ?? null)} · width ${pyRepr(w ?? null)} · max_channels ${pyRepr(mc ?? null)}`];
  lines.push(
    '',
    `repeats n > 1 → max(round(n × ${pyRepr(d ?? null)}), 1); channels → ceil(min(c2, ${pyRepr(mc ?? null)}) × ${pyRepr(w ?? null)} / ` +
      `8) × 8`,
  );
  const conv = opts.convention ?? DEFAULT_FLOPS_CONVENTION;
  const at = model.scale === letter ? model : (opts.resolveAtScale?.(letter) ?? null);
  if (at?.totals) {
    const g = conv === 'thop' ? at.totals.gflops.printed : at.totals.gflopsUltralyticsThop.printed;
    const figures =
      g !== null ? `${modelFiguresText(at.totals.params, g, 640)} (${CONVENTION_NAME[conv]})` : `${compactCount(at.totals.params)} params`;
    lines.push('', figures);
  }
  if (model.scale === letter) lines.push('', `_in use: ${model.scaleReason ?? ''}_`);
  return lines.join('\n');
}
