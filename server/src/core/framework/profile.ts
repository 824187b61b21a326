/**
 * How a framework profile is written: its namespace as the upstream parse_model's sets (which names fall into the
 * channels branch, which also take their repeats, which have a branch of their own), a treatment table and module
 * rules, plus the header, layer and summary rules as data.
 */
import type { ModuleDef } from '../catalog/types.ts';
import { TORCH_NN } from '../catalog/torch.ts';
import { TREATMENTS } from './treatments.ts';
import type { Framework, ModuleEntry, ModuleRule, Treatment, TreatmentName } from './types.ts';

/** `'Conv C3 SPPF'` → `['Conv', 'C3', 'SPPF']`: the upstream sets read as they are printed there. */
export const names = (s: string): readonly string[] => s.split(/\s+/).filter(Boolean);

/** parse_model's sets: a name in `repeats` is also in `channels` upstream (the repeat set is a subset). */
export interface Namespace {
  readonly defs: readonly ModuleDef[];
  readonly channels: readonly string[];
  readonly repeats: readonly string[];
  /** names with a branch of their own */
  readonly special: Readonly<Record<string, TreatmentName>>;
  /** `nn.X` classes and their branch (default: plain; ConvTranspose2d channels, BatchNorm2d bn) */
  readonly nn?: (def: ModuleDef) => TreatmentName;
}

export type ProfileSpec = Omit<Framework, 'modules' | 'nn' | 'treatments' | 'helpers' | 'torchvisionOps'> & {
  readonly namespace: Namespace;
  /** `torchvision.ops.X` classes parse_model reaches (plain branch) */
  readonly torchvisionOps?: readonly ModuleDef[];
  /** definitions the modules are built from that parse_model cannot reach by name */
  readonly helpers?: readonly ModuleDef[];
  /** treatments this framework's parse_model does differently from `TREATMENTS` */
  readonly treatments?: Partial<Record<TreatmentName, Treatment>>;
  readonly rules?: Readonly<Record<string, ModuleRule>>;
};

const defaultNn = (def: ModuleDef): TreatmentName =>
  def.name === 'ConvTranspose2d' ? 'channels' : def.name === 'BatchNorm2d' ? 'bn' : 'plain';

export function makeFramework(spec: ProfileSpec): Framework {
  const { namespace: ns, treatments: own, rules, helpers, torchvisionOps, ...rest } = spec;
  const table: Record<TreatmentName, Treatment> = { ...TREATMENTS, ...own };
  const entry = (def: ModuleDef, treat: TreatmentName): ModuleEntry => {
    const rule = rules?.[def.name];
    return { def, treat, treatment: table[treat], ...(rule ? { rule } : {}) };
  };
  const treatOf = (name: string): TreatmentName =>
    ns.special[name] ?? (ns.repeats.includes(name) ? 'repeats' : ns.channels.includes(name) ? 'channels' : 'plain');
  const modules = new Map<string, ModuleEntry>();
  for (const def of ns.defs) modules.set(def.name, entry(def, treatOf(def.name)));
  const nn = new Map<string, ModuleEntry>();
  for (const def of TORCH_NN) nn.set(def.name, entry(def, (ns.nn ?? defaultNn)(def)));
  const ops = new Map((torchvisionOps ?? []).map((def) => [def.name, entry(def, 'plain')] as const));
  const helperMap = new Map((helpers ?? []).filter((d) => !modules.has(d.name)).map((d) => [d.name, d] as const));
  return { ...rest, modules, nn, treatments: table, helpers: helperMap, torchvisionOps: ops };
}
