/**
 * The outline of a model YAML (Outline view, breadcrumbs, Go to Symbol): the top-level keys, and the backbone
 * and head as groups with one symbol per layer named `13 VoVGSCSP 128×40×40`.
 */
import type { Range } from '../range.ts';
import type { Model } from '../model.ts';
import { pyRepr } from '../py.ts';
import { outputText } from '../../../../common/src/format.ts';

export interface CoreSymbol {
  readonly name: string;
  readonly detail?: string;
  readonly kind: 'section' | 'layer' | 'key';
  readonly range: Range;
  readonly selectionRange: Range;
  readonly children?: readonly CoreSymbol[];
}

const span = (a: Range, b: Range): Range => ({ start: Math.min(a.start, b.start), end: Math.max(a.end, b.end) });

export function documentSymbols(model: Model): CoreSymbol[] {
  const doc = model.doc;
  const out: CoreSymbol[] = [];
  for (const t of doc.top.values()) {
    const section = t.key === 'backbone' || t.key === 'head' ? doc.sections[t.key] : undefined;
    if (section) {
      const children: CoreSymbol[] = doc.layers
        .filter((l) => l.section === t.key)
        .map((src) => {
          const l = model.layers[src.index];
          const module = l?.moduleName ?? (typeof src.module?.value === 'string' ? src.module.value : '?');
          return {
            name: `${src.index} ${module} ${l ? outputText(l.outShape, l.outShapes) : '?'}`,
            detail: l?.args ? pyRepr(l.args as never) : src.args ? pyRepr(src.args.value) : '',
            kind: 'layer' as const,
            range: src.range,
            selectionRange: src.module?.range ?? src.range,
          };
        });
      out.push({
        name: t.key,
        detail: `${children.length} layers`,
        kind: 'section',
        range: span(t.keyRange, section.range),
        selectionRange: t.keyRange,
        children,
      });
    } else {
      const v = t.value;
      const detail =
        v.kind === 'map' ? `${(v.items?.length ?? 0) / 2} entries` : v.kind === 'seq' ? `${v.items?.length ?? 0} items` : pyRepr(v.value);
      out.push({ name: t.key, detail, kind: 'key', range: span(t.keyRange, v.range), selectionRange: t.keyRange });
    }
  }
  return out;
}
