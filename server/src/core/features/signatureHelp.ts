/**
 * Signature help inside a layer's args list (the popup above the cursor while typing `[64, 3, 2]`): the module's
 * constructor with the parameter the arg under the cursor binds highlighted, and which parameters parse_model
 * fills itself.
 */
import type { Model } from '../model.ts';
import { argIndexOf, type ModuleEntry } from '../framework/types.ts';
import { lookupModule } from '../resolve.ts';
import { pyRepr } from '../py.ts';
import { layerCursor } from './cursor.ts';
import { filledParams, treatmentNote } from './yamlParams.ts';

export interface CoreSignatureHelp {
  readonly label: string;
  readonly documentation: string;
  readonly parameters: readonly { readonly label: readonly [number, number]; readonly documentation: string }[];
  /** null: the arg under the cursor binds no parameter (beyond the signature, or ignored) */
  readonly activeParameter: number | null;
}

export function signatureHelp(model: Model, offset: number): CoreSignatureHelp | null {
  const cur = layerCursor(model.doc, offset);
  if (!cur || cur.slot !== 'args' || cur.depth < 1) return null;
  const name = cur.layer ? cur.layer.module?.value : moduleNameBefore(model.doc.text, offset);
  if (typeof name !== 'string') return null;
  const found = lookupModule(model.framework, name);
  if (!('entry' in found)) return null;
  const entry = found.entry;
  // inside a nested list (anchors) the arg is still the args list's item
  const k = Math.max(0, cur.item);
  const a = argIndexOf(entry, k);
  return signatureOf(name, entry, a !== null && a < entry.def.signature.length ? a : null);
}

export function signatureOf(shownName: string, entry: ModuleEntry, active: number | null): CoreSignatureHelp {
  const def = entry.def;
  const filled = new Map(filledParams(entry).map((f) => [f.argIndex, f.why]));
  let label = `${shownName}(`;
  const parameters: { label: [number, number]; documentation: string }[] = [];
  def.signature.forEach((p, i) => {
    if (i) label += ', ';
    const text = p.default === undefined ? p.name : `${p.name}=${p.defaultText ?? pyRepr(p.default)}`;
    parameters.push({
      label: [label.length, label.length + text.length],
      documentation: filled.has(i) ? `${p.doc} — filled by parse_model: ${filled.get(i)}` : p.doc,
    });
    label += text;
  });
  label += ')';
  return { label, documentation: `${def.doc}\n\n${treatmentNote(entry)}`, parameters, activeParameter: active };
}

/** The module of a layer being typed that the YAML parser could not place: `[-1, 1, Conv, [64, |`. */
function moduleNameBefore(text: string, offset: number): string | null {
  let s = offset;
  while (s > 0 && text[s - 1] !== '\n') s--;
  const m = /\[\s*(?:\[[^\]]*\]|[^,[\]]+)\s*,\s*[^,[\]]+,\s*([A-Za-z_][\w.]*)\s*,\s*\[[^\]]*$/.exec(text.slice(s, offset));
  return m ? m[1]! : null;
}
