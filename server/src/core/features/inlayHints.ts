/**
 * Inlay hints in a model YAML (grey text the editor draws in the line): each layer's index and output shape at
 * its end (`#13 → 128×40×40`), the resolved value after a channel arg that width_multiple changes (`→128`) and
 * after an `n` that depth_multiple changes (`→1`).
 */
import type { Range } from '../range.ts';
import type { Model } from '../model.ts';
import { lineEndOf } from '../lines.ts';
import { isNumeric, num, pyRepr } from '../py.ts';
import { exactCount, outputText } from '../../../../common/src/format.ts';
import { depthScaled } from './hover.ts';

export interface CoreInlayHint {
  readonly offset: number;
  readonly label: string;
  /** `type`: a value the editor computed (shapes, resolved args); `parameter`: a name */
  readonly kind: 'type' | 'parameter';
  readonly paddingLeft?: boolean;
  readonly paddingRight?: boolean;
  readonly tooltip?: string;
}

const overlaps = (a: Range, b: Range): boolean => a.start <= b.end && b.start <= a.end;

/** Hints for the layers overlapping `range` (all of them when absent). */
export function inlayHints(model: Model, range?: Range): CoreInlayHint[] {
  const text = model.doc.text;
  const out: CoreInlayHint[] = [];
  const srcs = model.doc.layers;
  for (let k = 0; k < srcs.length; k++) {
    const src = srcs[k]!;
    if (range && !overlaps(src.range, range)) continue;
    const l = model.layers[src.index];
    if (!l) continue;
    // args first, then n, then the end of the line: hints at one offset keep document order
    if (src.n && isNumeric(l.nYaml)) {
      const scaled = depthScaled(model, l);
      if (scaled !== null && scaled !== num(l.nYaml))
        out.push({
          offset: src.n.range.end,
          label: `→${scaled}`,
          kind: 'type',
          paddingLeft: false,
          tooltip: `${pyRepr(l.nYaml)} repeats × depth_multiple ${model.depthMultiple} → ${scaled}`,
        });
    }
    for (const b of l.bindings) {
      if (!b.note || !b.note.includes('×')) continue;
      if (pyRepr(b.passed) === pyRepr(b.yamlValue)) continue;
      out.push({ offset: b.range.end, label: `→${pyRepr(b.passed)}`, kind: 'type', tooltip: `${b.param ?? 'arg'}: ${b.note}` });
    }
    const next = srcs[k + 1];
    const lineEnd = endOfLine(text, src.range.end);
    // two layers on one line: the hint goes right after the layer's `]`, else at the end of the line (past a comment)
    const at = next && next.range.start < lineEnd ? src.range.end : lineEnd;
    const label = `#${l.index} → ${l.status === 'error' && !l.outShape && !l.outShapes ? '✗' : outputText(l.outShape, l.outShapes)}`;
    out.push({
      offset: at,
      label,
      kind: 'type',
      paddingLeft: true,
      tooltip: `layer ${l.index}: ${l.moduleName ?? '?'}${l.params !== null ? `, ${exactCount(l.params)} params` : ''}`,
    });
  }
  return out;
}

function endOfLine(text: string, from: number): number {
  let i = lineEndOf(text, from);
  // keep the hint off trailing whitespace
  while (i > from && (text[i - 1] === ' ' || text[i - 1] === '\t')) i--;
  return i;
}
