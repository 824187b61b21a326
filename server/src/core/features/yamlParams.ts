/**
 * Which constructor parameter each YAML arg of a module binds, given how its tree's parse_model treats it (c1
 * prepended, repeats inserted, channel list appended...): what signature help, completion snippets and arg
 * hovers show the user when the resolver could not bind the args itself.
 */
import { argIndexOf, type ModuleEntry } from '../catalog/framework.ts';
import type { ParamSpec } from '../catalog/types.ts';

export interface YamlParam {
  /** position in the YAML args list */
  readonly yamlIndex: number;
  /** position in the constructor's signature */
  readonly argIndex: number;
  readonly param: ParamSpec;
}

/** Constructor positions parse_model fills itself (not written in the YAML), with why. */
export interface FilledParam {
  readonly argIndex: number;
  readonly why: string;
}

/** Every YAML-writable parameter, in YAML order. */
export function yamlParams(entry: ModuleEntry): YamlParam[] {
  const sig = entry.def.signature;
  const filled = new Set(filledParams(entry).map((f) => f.argIndex));
  const out: YamlParam[] = [];
  for (let k = 0; k < sig.length + 1; k++) {
    const a = argIndexOf(entry, k);
    if (a === null || a >= sig.length) break;
    if (filled.has(a)) continue;
    out.push({ yamlIndex: k, argIndex: a, param: sig[a]! });
  }
  return out;
}

/** The constructor parameters parse_model supplies, so a signature can say so. */
export function filledParams(entry: ModuleEntry): FilledParam[] {
  const sig = entry.def.signature;
  switch (entry.treat) {
    case 'channels':
    case 'aifi':
    case 'hardblock':
    case 'hgstem':
    case 'cblinear':
      return [{ argIndex: 0, why: 'the input layer\u2019s channels' }];
    case 'repeats':
      return [
        { argIndex: 0, why: 'the input layer\u2019s channels' },
        { argIndex: 2, why: 'the repeat count after depth_multiple' },
      ];
    case 'hgblock':
      return [
        { argIndex: 0, why: 'the input layer\u2019s channels' },
        { argIndex: 4, why: 'the repeat count' },
      ];
    case 'head':
      return sig.length ? [{ argIndex: sig.length - 1, why: 'the channels of the `from` layers' }] : [];
    case 'head-e2e':
      return sig.length >= 3
        ? [
            { argIndex: sig.length - 3, why: 'the YAML\u2019s reg_max (16 when absent)' },
            { argIndex: sig.length - 2, why: 'the YAML\u2019s end2end (None when absent)' },
            { argIndex: sig.length - 1, why: 'the channels of the `from` layers' },
          ]
        : [];
    case 'rtdetr':
      return [{ argIndex: 1, why: 'the channels of the `from` layers' }];
    case 'bn':
      return [{ argIndex: 0, why: 'the input layer\u2019s channels (YAML args are ignored)' }];
    default:
      return [];
  }
}

/** The param bound by YAML arg `k`, when the signature has one. */
export function yamlParamAt(entry: ModuleEntry, k: number): YamlParam | undefined {
  return yamlParams(entry).find((p) => p.yamlIndex === k);
}

/** What parse_model does with a module's args, in one clause (completion docs, hovers). */
export function treatmentNote(entry: ModuleEntry): string {
  switch (entry.treat) {
    case 'channels':
      return 'parse_model prepends c1 (the input\u2019s channels) and scales c2 by width_multiple';
    case 'repeats':
      return 'parse_model prepends c1, scales c2 by width_multiple and inserts the repeat count n after it';
    case 'concat':
      return 'its output channels are the sum of its inputs\u2019';
    case 'bn':
      return 'parse_model passes only the input\u2019s channels';
    case 'head':
      return 'parse_model appends the channels of the `from` layers';
    case 'head-e2e':
      return 'parse_model appends reg_max, end2end and the channels of the `from` layers';
    case 'c2-first':
      return 'the first arg is the layer\u2019s output channels; parse_model passes the rest';
    case 'rtdetr':
      return 'parse_model inserts the channels of the `from` layers as the second arg';
    case 'aifi':
    case 'hardblock':
      return 'parse_model prepends c1 (the input\u2019s channels); args are not width-scaled';
    case 'hgstem':
      return 'parse_model prepends c1; cm and c2 are not width-scaled';
    case 'hgblock':
      return 'parse_model prepends c1 and inserts the repeat count n; not width-scaled';
    case 'resnet':
      return 'output channels: c2 when is_first, else c2 × 4 (args verbatim)';
    case 'cblinear':
      return 'parse_model prepends c1; the output is the list of channels';
    case 'cbfuse':
      return 'output channels: those of the last input';
    case 'contract':
      return 'output channels: c1 × gain²';
    case 'expand':
      return 'output channels: c1 / gain²';
    case 'plain':
      return 'parse_model passes the args verbatim (no width scaling)';
  }
}
