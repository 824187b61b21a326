/**
 * Go to definition, find references and document highlight on layer indices: from a `from` element (`-1`, `6`,
 * each item of `[-1, 6]`) to the layer it names, and from a layer's module name to every `from` that reads it —
 * what F12, Shift+F12 and the highlight under the cursor show.
 */
import type { LayerSrc } from '../document.ts';
import type { Range } from '../range.ts';
import type { Model } from '../model.ts';
import { isInt, isSeq } from '../py.ts';

export interface LayerTarget {
  /** the layer index named, -1 for the input image */
  readonly target: number;
  /** the token under the cursor */
  readonly origin: Range;
  readonly originKind: 'from' | 'layer';
}

export interface DefinitionTarget {
  readonly origin: Range;
  /** the whole layer */
  readonly targetRange: Range;
  /** its module name */
  readonly selectionRange: Range;
}

export interface Highlight {
  readonly range: Range;
  readonly kind: 'read' | 'write';
}

const within = (r: Range, o: number) => r.start <= o && o <= r.end;

/** `from` elements of a layer with the absolute index each names. */
export function fromElements(l: LayerSrc): { range: Range; target: number }[] {
  const f = l.from;
  if (!f) return [];
  const items = f.kind === 'seq' && isSeq(f.value) ? (f.items ?? []) : [f];
  const out: { range: Range; target: number }[] = [];
  for (const it of items) {
    if (!isInt(it.value)) continue;
    const x = it.value;
    // layer 0's -1 is the image; elsewhere negative indices count back from the layer
    out.push({ range: it.range, target: l.index === 0 && x === -1 ? -1 : x < 0 ? l.index + x : x });
  }
  return out;
}

export function layerTargetAt(model: Model, offset: number): LayerTarget | null {
  for (const l of model.doc.layers) {
    if (offset < l.range.start || offset > l.range.end) continue;
    for (const e of fromElements(l)) if (within(e.range, offset)) return { target: e.target, origin: e.range, originKind: 'from' };
    if (l.module && within(l.module.range, offset)) return { target: l.index, origin: l.module.range, originKind: 'layer' };
  }
  return null;
}

export function definition(model: Model, offset: number): DefinitionTarget | null {
  const t = layerTargetAt(model, offset);
  if (!t || t.target < 0) return null;
  const l = model.doc.layers[t.target];
  if (!l) return null;
  return { origin: t.origin, targetRange: l.range, selectionRange: l.module?.range ?? l.range };
}

/** Every `from` element naming the same layer (and the layer's module name when `includeDeclaration`). */
export function references(model: Model, offset: number, includeDeclaration = true): Range[] {
  const t = layerTargetAt(model, offset);
  if (!t || t.target < 0) return [];
  const out: Range[] = [];
  const decl = model.doc.layers[t.target];
  if (includeDeclaration && decl) out.push(decl.module?.range ?? decl.range);
  for (const l of model.doc.layers) for (const e of fromElements(l)) if (e.target === t.target) out.push(e.range);
  return out;
}

export function highlights(model: Model, offset: number): Highlight[] {
  const t = layerTargetAt(model, offset);
  if (!t) return [];
  const out: Highlight[] = [];
  const decl = t.target >= 0 ? model.doc.layers[t.target] : undefined;
  if (decl) out.push({ range: decl.module?.range ?? decl.range, kind: 'write' });
  for (const l of model.doc.layers) for (const e of fromElements(l)) if (e.target === t.target) out.push({ range: e.range, kind: 'read' });
  return out;
}
