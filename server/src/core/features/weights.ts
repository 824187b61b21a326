/**
 * Pretrained weights against the model being edited: the code lens `weights: 355/355 load` (the framework's own
 * N/M), the YOLO060 note on the first layer where tensors stop loading, and per layer whether its tensors load,
 * partly load, mismatch in shape or are new (the graph colours its nodes by it). The checkpoint comes read
 * (core/weights: the server and the CLI read the file); this file only compares and words.
 */
import { diag, type Diagnostic } from '../diagnostics.ts';
import type { Model } from '../model.ts';
import type { Range } from '../range.ts';
import { modelStateDict } from '../nn/stateDict.ts';
import { planTransfer, type CheckpointTensor, type TransferItem, type TransferPlan } from '../weights/transfer.ts';
import type { CoreCodeLens } from './codeLens.ts';
import type { SeverityOverride } from './diagnostics.ts';

/** The transfer of a checkpoint into a model, or why there is none. */
export type WeightsPlan =
  | { readonly kind: 'plan'; readonly plan: TransferPlan; readonly weights: string }
  /** the model would not build: the framework raises before it loads anything */
  | { readonly kind: 'no-build'; readonly weights: string; readonly message: string }
  /** the checkpoint could not be read (missing, unreadable, refused, not allowed) */
  | { readonly kind: 'unreadable'; readonly weights: string; readonly message: string };

/**
 * Plans the transfer with the model's framework's loader; a model that does not build gets no plan (the trainer
 * would raise while building it, before any tensor is loaded).
 */
export function planWeights(model: Model, checkpoint: readonly CheckpointTensor[], weights: string): WeightsPlan {
  if (!model.ok) {
    const errors = model.diagnostics.filter((d) => d.severity === 'error').length;
    return { kind: 'no-build', weights, message: `the model does not build (${errors} error${errors === 1 ? '' : 's'}): nothing loads` };
  }
  const state = modelStateDict(model);
  if (!state.complete) return { kind: 'no-build', weights, message: 'some layers did not build: their tensors are unknown' };
  return { kind: 'plan', plan: planTransfer(state.entries, checkpoint, model.framework.loader, weights), weights };
}

/** How one layer fares: what the graph colours a node by. */
export type LayerLoad = 'load' | 'partial' | 'mismatch' | 'new';

export interface LayerWeights {
  readonly status: LayerLoad;
  /** tensors that load (a partial copy counts, as the framework counts it), of those the loader considers */
  readonly loaded: number;
  readonly total: number;
  /** tensors that do not load in full (partial copies included) */
  readonly misses: number;
  /** one line per tensor that does not load in full (at most MAX_DETAILS, then a count) */
  readonly details: readonly string[];
}

const MAX_DETAILS = 8;

/** A tensor's fate in words, its key relative to the layer (`cv1.conv.weight [32, 16, 1, 1] is new`). */
export function itemText(i: TransferItem, relative = true): string {
  const key = relative ? i.key.replace(/^model\.\d+\./, '') : i.key;
  const shape = `[${i.shape.join(', ')}]`;
  switch (i.status) {
    case 'shape-mismatch':
      return `${key} ${shape}: the checkpoint's is [${(i.checkpointShape ?? []).join(', ')}]`;
    case 'partial':
      return `${key} ${shape}: [:${(i.copied ?? []).join(', :')}] copied from the checkpoint's [${(i.checkpointShape ?? []).join(', ')}]`;
    case 'new':
      return `${key} ${shape} is not in the checkpoint`;
    case 'excluded':
      return `${key} ${shape} is never loaded (the loader excludes it)`;
    default:
      return `${key} ${shape} loads`;
  }
}

/** Per layer: its tensors' verdicts folded into one status (layers without tensors are absent). */
export function layerWeights(plan: TransferPlan): Map<number, LayerWeights> {
  const groups = new Map<number, TransferItem[]>();
  for (const i of plan.items) {
    // the loader's own exclusions (YOLOv5's anchors) are not the edit's doing: they do not colour a layer
    if (i.status === 'excluded') continue;
    const g = groups.get(i.layer);
    if (g) g.push(i);
    else groups.set(i.layer, [i]);
  }
  const out = new Map<number, LayerWeights>();
  for (const [layer, items] of groups) {
    const count = (s: TransferItem['status']) => items.filter((i) => i.status === s).length;
    const loaded = count('loaded') + count('partial');
    const status: LayerLoad =
      count('shape-mismatch') > 0 ? 'mismatch' : loaded === 0 ? 'new' : count('partial') > 0 || loaded < items.length ? 'partial' : 'load';
    const misses = items.filter((i) => i.status !== 'loaded');
    const details = misses.slice(0, MAX_DETAILS).map((i) => itemText(i));
    if (misses.length > MAX_DETAILS) details.push(`… and ${misses.length - MAX_DETAILS} more`);
    out.set(layer, { status, loaded, total: items.length, misses: misses.length, details });
  }
  return out;
}

/** The lens above the file: `weights: 355/355 load`, or why there is no count. */
export function weightsLens(w: WeightsPlan): CoreCodeLens {
  const range: Range = { start: 0, end: 0 };
  if (w.kind === 'unreadable') return { range, title: `weights: ${w.weights} not read`, command: '', tooltip: w.message };
  if (w.kind === 'no-build') return { range, title: 'weights: no transfer (the model does not build)', command: '', tooltip: w.message };
  const p = w.plan;
  const lines = [`${w.weights}: the framework would log "${p.log}"`];
  if (p.firstMiss !== null) lines.push(`loading stops at layer ${p.firstMiss} (see the note there)`);
  if (p.unused.length) lines.push(`${p.unused.length} checkpoint tensor${p.unused.length === 1 ? '' : 's'} unused`);
  if (p.remap) lines.push(remapAdvice(p));
  return { range, title: `weights: ${p.transferred}/${p.total} load`, command: '', tooltip: lines.join('\n') };
}

function remapAdvice(p: TransferPlan): string {
  const r = p.remap!;
  const moves = r.moves.length;
  return (
    `moving ${moves} layer${moves === 1 ? '' : 's'} of the checkpoint to their new indices would transfer ${r.transferred}/${p.total}: ` +
    '`yolo-lens transfer FILE --weights CKPT --remap out.pt` writes that checkpoint'
  );
}

/**
 * YOLO060 on the first layer where a tensor does not load, naming the tensors and their shapes; YOLO061 where the
 * checkpoint was named (the modeline, else the top of the file) when it could not be read. Severity overrides apply.
 */
export function weightsDiagnostics(
  model: Model,
  w: WeightsPlan,
  opts: { severity?: Readonly<Record<string, SeverityOverride>> } = {},
): Diagnostic[] {
  const out: Diagnostic[] = [];
  if (w.kind === 'unreadable') {
    out.push(diag('YOLO061', modelineValueRange(model.doc.text, 'weights') ?? { start: 0, end: 0 }, w.message));
  } else if (w.kind === 'plan' && w.plan.firstMiss !== null) {
    const p = w.plan;
    const at = w.plan.firstMiss;
    const layer = model.layers[at];
    const misses = p.items.filter((i) => i.layer === at && i.status !== 'loaded' && i.status !== 'excluded');
    const shown = misses.slice(0, 3).map((i) => itemText(i, false));
    const more = misses.length > 3 ? `, and ${misses.length - 3} more` : '';
    const own = p.items.filter((i) => i.layer === at && i.status !== 'excluded').length;
    const message =
      `pretrained weights stop loading here (${own - misses.length} of this layer's ${own} tensors load): ${shown.join('; ')}${more}. ` +
      `${w.weights} transfers ${p.transferred}/${p.total}` +
      (p.remap ? `; moving the checkpoint's layers would transfer ${p.remap.transferred} (yolo-lens transfer --remap)` : '');
    const range = layer?.src.module?.range ?? layer?.src.range ?? { start: 0, end: 0 };
    out.push(diag('YOLO060', range, message, undefined, { layer: at, data: { transferred: p.transferred, total: p.total } }));
  }
  const overrides = opts.severity ?? {};
  return out.flatMap((d) => {
    const o = overrides[d.code];
    if (o === 'off') return [];
    return o ? [{ ...d, severity: o }] : [d];
  });
}

/** Where `key=value` of the `# yolo-lens:` modeline has its value, or null. */
export function modelineValueRange(text: string, key: string): Range | null {
  if (!text.includes('yolo-lens:')) return null;
  const m = /#\s*yolo-lens:\s*([^\n\r]*)/.exec(text);
  if (!m) return null;
  const start = m.index + m[0].length - m[1]!.length;
  const re = /\S+/g;
  for (let t = re.exec(m[1]!); t; t = re.exec(m[1]!)) {
    if (t[0].startsWith(`${key}=`)) return { start: start + t.index + key.length + 1, end: start + t.index + t[0].length };
  }
  return null;
}

/** The per-layer table the CLI prints: index, module, tensors that load, status, and the first that does not. */
export function transferTable(model: Model, plan: TransferPlan): string {
  const perLayer = layerWeights(plan);
  const rows: string[][] = [['', 'module', 'load', 'status', 'first tensor that does not load']];
  for (const l of model.layers) {
    const w = perLayer.get(l.index);
    if (!w) continue;
    const misses = w.misses;
    const first = w.details[0] ?? '';
    rows.push([
      String(l.index),
      l.moduleName ?? '?',
      `${w.loaded}/${w.total}`,
      w.status,
      misses > 1 ? `${first} (+${misses - 1} more)` : first,
    ]);
  }
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  const lines = rows.map((r) =>
    r
      .map((cell, c) => (c === 0 || c === 2 ? cell.padStart(widths[c]!) : c === r.length - 1 ? cell : cell.padEnd(widths[c]!)))
      .join('  ')
      .trimEnd(),
  );
  return lines.join('\n');
}
