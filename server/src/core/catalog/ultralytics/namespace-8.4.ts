/**
 * The namespace of ultralytics 8.4.33's parse_model (nn/tasks.py:1539-1731) as data, in the shape framework/profiles/ultralytics-8.3.ts
 * gives the 8.3 one: which names `globals()[m]` reaches (the classes tasks.py imports, tasks.py:14-75), which of them
 * fall into the channels branch (base_modules, tasks.py:1575-1612) and the repeats branch (repeat_modules,
 * tasks.py:1613-1631) and the heads; the special branches by name (tasks.py:1667-1718) are the profile's
 * (framework/profiles/ultralytics-8.4.ts). docs/ultralytics-8.4.md spells out every rule.
 * Definitions that did not change since 8.3 are the 8.3 ones; the changed and new ones come from the *-8.4.ts files.
 */
import type { ModuleDef } from '../types.ts';
import { TORCHVISION_OPS } from '../torchvision.ts';
import { ULTRALYTICS_CONV_MODULES } from './conv.ts';
import { ULTRALYTICS_BLOCK_MODULES } from './block.ts';
import { ULTRALYTICS_TRANSFORMER_MODULES } from './transformer.ts';
import { ULTRALYTICS_WORLD_MODULES } from './world.ts';
import { ULTRALYTICS_HEAD_MODULES } from './head.ts';
import { ULTRALYTICS_84_CONV_MODULES } from './conv-8.4.ts';
import { ULTRALYTICS_84_BLOCK_MODULES } from './block-8.4.ts';
import { ULTRALYTICS_84_TRANSFORMER_MODULES } from './transformer-8.4.ts';
import { HEADS_84, LEGACY_HEADS_84, ULTRALYTICS_84_HEAD_MODULES } from './head-8.4.ts';

/** tasks.py:14-75, the names imported from ultralytics.nn.modules: what a YAML's module name can reach. */
export const TASKS_NAMES_84: readonly string[] = [
  'AIFI',
  'C1',
  'C2',
  'C2PSA',
  'C3',
  'C3TR',
  'ELAN1',
  'OBB',
  'OBB26',
  'PSA',
  'SPP',
  'SPPELAN',
  'SPPF',
  'A2C2f',
  'AConv',
  'ADown',
  'Bottleneck',
  'BottleneckCSP',
  'C2f',
  'C2fAttn',
  'C2fCIB',
  'C2fPSA',
  'C3Ghost',
  'C3k2',
  'C3x',
  'CBFuse',
  'CBLinear',
  'Classify',
  'Concat',
  'Conv',
  'Conv2',
  'ConvTranspose',
  'Detect',
  'DWConv',
  'DWConvTranspose2d',
  'Focus',
  'GhostBottleneck',
  'GhostConv',
  'HGBlock',
  'HGStem',
  'ImagePoolingAttn',
  'Index',
  'LRPCHead',
  'Pose',
  'Pose26',
  'RepC3',
  'RepConv',
  'RepNCSPELAN4',
  'RepVGGDW',
  'ResNetLayer',
  'RTDETRDecoder',
  'SCDown',
  'Segment',
  'Segment26',
  'TorchVision',
  'WorldDetect',
  'YOLOEDetect',
  'YOLOESegment',
  'YOLOESegment26',
  'v10Detect',
];

/** base_modules (tasks.py:1575-1612) without torch.nn.ConvTranspose2d, which is reached as `nn.ConvTranspose2d`. */
export const CHANNELS_84: readonly string[] = [
  'Classify',
  'Conv',
  'ConvTranspose',
  'GhostConv',
  'Bottleneck',
  'GhostBottleneck',
  'SPP',
  'SPPF',
  'C2fPSA',
  'C2PSA',
  'DWConv',
  'Focus',
  'BottleneckCSP',
  'C1',
  'C2',
  'C2f',
  'C3k2',
  'RepNCSPELAN4',
  'ELAN1',
  'ADown',
  'AConv',
  'SPPELAN',
  'C2fAttn',
  'C3',
  'C3TR',
  'C3Ghost',
  'DWConvTranspose2d',
  'C3x',
  'RepC3',
  'PSA',
  'SCDown',
  'C2fCIB',
  'A2C2f',
];

/** repeat_modules (tasks.py:1613-1631): n inserted at args[2], n = 1 afterwards. */
export const REPEATS_84: readonly string[] = [
  'BottleneckCSP',
  'C1',
  'C2',
  'C2f',
  'C3k2',
  'C2fAttn',
  'C3',
  'C3TR',
  'C3Ghost',
  'C3x',
  'RepC3',
  'C2fPSA',
  'C2fCIB',
  'C2PSA',
  'A2C2f',
];

/**
 * The heads that get `[reg_max, end2end, ch]` appended (tasks.py:1681-1696); all but WorldDetect also get
 * `m.legacy = legacy` (1699-1700).
 */
export const HEADS_E2E_84: readonly string[] = [
  'Detect',
  'WorldDetect',
  'YOLOEDetect',
  'Segment',
  'Segment26',
  'YOLOESegment',
  'YOLOESegment26',
  'Pose',
  'Pose26',
  'OBB',
  'OBB26',
];

/** Layers whose parse sets `legacy = False` (tasks.py:1657-1666): any of them before a head gives the non-legacy head. */
export const LEGACY_BREAKERS_84: readonly string[] = ['C3k2', 'A2C2f', 'C2fCIB'];

/**
 * What parse_model adds to a channels-branch module's args by scale (tasks.py:1657-1664): C3k2 at scales m, l, x gets
 * args[3] = True (c3k); A2C2f at scales l, x gets (True, 1.2) appended (residual, mlp_ratio). `scale in "mlx"` is a
 * substring test: an empty scale ('' when guess_model_scale finds no letter and the YAML has no scales) passes it.
 */
export const SCALE_RULES_84 = {
  c3kScales: 'mlx',
  a2c2fScales: 'lx',
  a2c2fExtra: [true, 1.2] as const,
} as const;

const byName = (defs: readonly ModuleDef[]) => new Map(defs.map((d) => [d.name, d] as const));

/** 8.4's definitions by name: the 8.4 files' where a class changed or is new, 8.3's otherwise. */
const DEFS_84 = new Map<string, ModuleDef>([
  ...byName([
    ...ULTRALYTICS_CONV_MODULES,
    ...ULTRALYTICS_BLOCK_MODULES,
    ...ULTRALYTICS_TRANSFORMER_MODULES,
    ...ULTRALYTICS_WORLD_MODULES,
    ...ULTRALYTICS_HEAD_MODULES,
  ]),
  ...byName([
    ...ULTRALYTICS_84_CONV_MODULES,
    ...ULTRALYTICS_84_BLOCK_MODULES,
    ...ULTRALYTICS_84_TRANSFORMER_MODULES,
    ...ULTRALYTICS_84_HEAD_MODULES,
  ]),
]);

function def84(name: string): ModuleDef {
  const d = DEFS_84.get(name);
  if (!d) throw new Error(`internal: no 8.4 definition of ${name}`);
  return d;
}

/** The parse_model namespace: every name of TASKS_NAMES_84 with its 8.4 definition (non-legacy heads). */
export const DEFS_IN_TASKS_84: readonly ModuleDef[] = TASKS_NAMES_84.map(def84);

/** The legacy variants of the heads, by name: what the profile uses when no LEGACY_BREAKERS_84 layer precedes the head. */
export const LEGACY_HEADS_BY_NAME_84: ReadonlyMap<string, ModuleDef> = byName(LEGACY_HEADS_84);

/** The non-legacy heads (the class default), by name. */
export const HEADS_BY_NAME_84: ReadonlyMap<string, ModuleDef> = byName(HEADS_84);

/** Definitions 8.4 has that parse_model cannot reach (submodules: C3k, DFL, AAttn, Proto26...), for user modules. */
export const HELPERS_84: readonly ModuleDef[] = [...DEFS_84.values()].filter((d) => !TASKS_NAMES_84.includes(d.name));

/** `torchvision.ops.<name>` (tasks.py:1633-1639): plain branch, args verbatim. */
export const TORCHVISION_OPS_84: readonly ModuleDef[] = TORCHVISION_OPS;

/** Everything a framework profile for ultralytics 8.4.33 plugs in, in one place. */
export const ULTRALYTICS_84_NAMESPACE = {
  defs: DEFS_IN_TASKS_84,
  channels: CHANNELS_84,
  repeats: REPEATS_84,
  tasksNames: TASKS_NAMES_84,
  legacyHeads: LEGACY_HEADS_BY_NAME_84,
  legacyBreakers: LEGACY_BREAKERS_84,
  scaleRules: SCALE_RULES_84,
  torchvisionOps: TORCHVISION_OPS_84,
  helpers: HELPERS_84,
} as const;
