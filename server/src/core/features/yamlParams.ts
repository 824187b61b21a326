/**
 * Which constructor parameter each YAML arg of a module binds, given how its tree's parse_model treats it (c1
 * prepended, repeats inserted, channel list appended...): what signature help, completion snippets and arg
 * hovers show the user when the resolver could not bind the args itself.
 */
import { argIndexOf, type FilledParam, type ModuleEntry } from '../framework/types.ts';
import type { ParamSpec } from '../catalog/types.ts';

export interface YamlParam {
  /** position in the YAML args list */
  readonly yamlIndex: number;
  /** position in the constructor's signature */
  readonly argIndex: number;
  readonly param: ParamSpec;
}

/** Every YAML-writable parameter, in YAML order. */
export function yamlParams(entry: ModuleEntry): YamlParam[] {
  const sig = entry.def.signature;
  const filled = new Set(filledParams(entry).map((f) => f.argIndex));
  const end = entry.treatment.yamlEnd?.(entry.def) ?? sig.length;
  const out: YamlParam[] = [];
  for (let k = 0; k < sig.length + 1; k++) {
    const a = argIndexOf(entry, k);
    if (a === null || a >= end) break;
    if (filled.has(a)) continue;
    out.push({ yamlIndex: k, argIndex: a, param: sig[a]! });
  }
  return out;
}

/** The constructor parameters parse_model supplies, so a signature can say so. */
export function filledParams(entry: ModuleEntry): readonly FilledParam[] {
  return entry.treatment.filled(entry.def);
}

/** The param bound by YAML arg `k`, when the signature has one. */
export function yamlParamAt(entry: ModuleEntry, k: number): YamlParam | undefined {
  return yamlParams(entry).find((p) => p.yamlIndex === k);
}

/** What parse_model does with a module's args, in one clause (completion docs, hovers). */
export function treatmentNote(entry: ModuleEntry): string {
  return entry.treatment.note;
}
