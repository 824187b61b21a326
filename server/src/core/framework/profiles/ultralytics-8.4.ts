/**
 * ultralytics 8.4.33 (YOLO26, YOLO12, YOLOE...): parse_model `ultralytics/nn/tasks.py` 1539-1731. What differs from
 * 8.3.0 is data here (docs/ultralytics-8.4.md cites every line): the heads get `[reg_max, end2end, ch]` appended and
 * their class's `legacy` flag set by the layers before them, the scale comes from the file name even without
 * `scales:` (`yolo(e-)?` names included), a DetectionModel ignores `ch:` and `channels:`, fuse() freezes the convs
 * it folds, and the summary counts leaf modules.
 */
import type { ModuleDef } from '../../catalog/types.ts';
import {
  CHANNELS_84,
  DEFS_IN_TASKS_84,
  HEADS_E2E_84,
  HELPERS_84,
  LEGACY_HEADS_BY_NAME_84,
  REPEATS_84,
  SCALE_RULES_84,
  TORCHVISION_OPS_84,
} from '../../catalog/ultralytics/namespace-8.4.ts';
import { PyFloat } from '../../py.ts';
import { makeFramework } from '../profile.ts';
import { c2fAttnWidth, c3kAssign, segmentWidthUltralytics } from '../rules.ts';
import { HEAD_TREATMENTS } from '../treatments.ts';
import type { Framework, LayerContext, LoaderRules, ModuleRule, TreatmentName } from '../types.ts';
import { ULTRALYTICS_HEADER, ULTRALYTICS_LAYERS } from './ultralytics-8.3.ts';

/**
 * A head whose class branch depends on `Detect.legacy` (head.py:97-108): one definition that builds the legacy or
 * the default variant by the class attribute parse_model set (`m.legacy = legacy`, tasks.py:1699-1700).
 */
function withLegacyVariant(def: ModuleDef): ModuleDef {
  const legacy = LEGACY_HEADS_BY_NAME_84.get(def.name);
  if (!legacy) return def;
  return { ...def, build: (b, a) => (a.classAttr('legacy', false) === true ? legacy : def).build(b, a) };
}

/** `legacy = False` once a C3k2, A2C2f or C2fCIB layer is parsed (tasks.py:1657-1666) */
const breaksLegacy = (t: LayerContext): void => {
  t.state.legacy = false;
};

/** `scale in "mlx"` is a substring test: the empty scale (no letter, no scales:) passes it too */
const scaleIn = (t: LayerContext, letters: string): boolean => t.header.scaleVar !== null && letters.includes(t.header.scaleVar);

const c3k2: ModuleRule = {
  after(t) {
    breaksLegacy(t);
    if (scaleIn(t, SCALE_RULES_84.c3kScales)) return c3kAssign(t, t.header.scaleVar!);
    return true;
  },
};

const a2c2f: ModuleRule = {
  after(t) {
    breaksLegacy(t);
    if (scaleIn(t, SCALE_RULES_84.a2c2fScales)) t.args.push(true, new PyFloat(1.2));
    return true;
  },
};

/** every head but WorldDetect: `m.legacy = legacy` (tasks.py:1699-1700); the Segment heads scale npr first */
function headRule(name: string): ModuleRule {
  const segment = /Segment/.test(name);
  return {
    after(t) {
      if (segment && !segmentWidthUltralytics.after!(t)) return false;
      if (name !== 'WorldDetect') t.classAttrs.set('legacy', t.state.legacy);
      return true;
    },
  };
}

const special: Record<string, TreatmentName> = {
  AIFI: 'aifi',
  HGStem: 'hgstem',
  HGBlock: 'hgblock',
  ResNetLayer: 'resnet',
  Concat: 'concat',
  ...Object.fromEntries(HEADS_E2E_84.map((n) => [n, 'head' as const])),
  // v10Detect only gets the channel list appended (tasks.py:1701-1702)
  v10Detect: 'headAppend',
  // 8.4 inserts ImagePoolingAttn's channel list as its second arg, like RTDETRDecoder (8.3 appended it)
  ImagePoolingAttn: 'rtdetr',
  RTDETRDecoder: 'rtdetr',
  CBLinear: 'cblinear',
  CBFuse: 'cbfuse',
  TorchVision: 'torchvision',
  Index: 'torchvision',
};

/** BaseModel.load (tasks.py): intersect_dicts, then the partial first conv when its kernel matches */
export const ULTRALYTICS_8_4_LOADER: LoaderRules = {
  exclude: [],
  partialFirstConv: true,
  entry: 'ema-or-model',
  logLine: (n, m) => `Transferred ${n}/${m} items from pretrained weights`,
};

/** `guess_model_task`: the head's name decides the model class (tasks.py:1772-1797) */
const classifies = (head: string | null): boolean => !!head && ['classify', 'classifier', 'cls', 'fc'].includes(head.toLowerCase());

export const ULTRALYTICS_8_4: Framework = makeFramework({
  id: 'ultralytics-8.4',
  dialect: 'ultralytics',
  label: 'ultralytics 8.4.33',
  codeBase: 'ultralytics',
  version: '8.4.33',
  origin: '3dEYE/ultralytics@8d4e6e8 ultralytics (upstream 8.4.33)',
  namespace: {
    defs: DEFS_IN_TASKS_84.map(withLegacyVariant),
    channels: CHANNELS_84,
    repeats: REPEATS_84,
    special,
  },
  torchvisionOps: TORCHVISION_OPS_84,
  helpers: HELPERS_84,
  treatments: { head: HEAD_TREATMENTS.withRegMax },
  rules: {
    C2fAttn: c2fAttnWidth,
    C3k2: c3k2,
    A2C2f: a2c2f,
    C2fCIB: { after: (t) => (breaksLegacy(t), true) },
    ...Object.fromEntries(HEADS_E2E_84.map((n) => [n, headRule(n)])),
  },
  conv: 'shared-default-act',
  fuseFreezes: true,
  summary: { format: 'ultralytics', layers: 'leaves', fusedMark: true, scaleInName: true },
  gflops: { kind: 'stride', channels: 'first-param', retryAt640: true },
  defaultActName: 'SiLU',
  header: {
    ...ULTRALYTICS_HEADER,
    headKeys: true,
    // a DetectionModel overwrites yaml["channels"] with its ch; a ClassificationModel honours `channels:`
    chKey: (head) => (classifies(head) ? 'channels' : null),
    scaleFromFileName: /yolo(e-)?[v]?\d+(?<scale>[nslmx])/,
    scaleWithoutScales: 'file-name',
    otherKeys: ['kpt_shape', 'inplace', 'scale', 'text_model'],
  },
  layers: ULTRALYTICS_LAYERS,
  loader: ULTRALYTICS_8_4_LOADER,
  modelInputs: (stem) => (stem.includes('-world') ? 'world' : stem.includes('yoloe') ? 'prompts' : null),
});
