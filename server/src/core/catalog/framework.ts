/**
 * An upstream code base that builds model YAMLs ("framework"): which module names its parse_model can resolve, how
 * its parse_model treats each (the branch of the big `if m in {...}` chain the module falls into), and how it
 * prints its summary. Four frameworks build the YAMLs users edit:
 *  - `yolov5`        ultralytics/yolov5 (HEAD), YOLOv5 dialect;
 *  - `yolov5-gsconv` the Slim-neck fork of YOLOv5 (GSConv, VoVGSCSP...), YOLOv5 dialect;
 *  - `scaled-yolov4` the Slim-neck fork of Scaled-YOLOv4, YOLOv5 dialect (its own `ch` bookkeeping);
 *  - `ultralytics`   the ultralytics package 8.3 with the Slim-neck modules, ultralytics dialect (`scales:`).
 */
import type { ModuleDef } from './types.ts';

export type FrameworkId = 'yolov5' | 'yolov5-gsconv' | 'scaled-yolov4' | 'ultralytics-8.3' | 'ultralytics-8.4';
export type Dialect = 'yolov5' | 'ultralytics';

/**
 * The parse_model branch a module falls into.
 *  channels     c1 = ch[f] prepended; args[0] width-scaled into c2 (unless it equals `no`/`nc`)
 *  repeats      like channels, and the scaled n inserted at args[2] (n = 1 afterwards)
 *  concat       c2 = sum(ch[x] for x in f)
 *  bn           args = [ch[f]]
 *  head         args.append([ch[x] for x in f]) (+ the framework's anchors / Segment rules)
 *  rtdetr       args.insert(1, [ch[x] for x in f])
 *  aifi         args = [ch[f], *args], c2 not assigned
 *  hgstem       c1, cm, c2 = ch[f], args[0], args[1]
 *  hgblock      as hgstem and n inserted at args[4]
 *  resnet       c2 = args[1] if args[3] else args[1] * 4
 *  cblinear     c2 = args[0] (a list); args = [ch[f], c2, *args[1:]]
 *  cbfuse       c2 = ch[f[-1]]
 *  contract     c2 = ch[f] * args[0] ** 2
 *  expand       c2 = ch[f] // args[0] ** 2
 *  hardblock    (scaled-yolov4) args = [ch[f], *args]; c2 from the built module
 *  head-e2e     (ultralytics 8.4) args.extend([reg_max, end2end, [ch[x] for x in f]]); args[2] width-scaled for the
 *               Segment heads; the class attribute `legacy` set (see namespace-8.4.ts)
 *  c2-first     (ultralytics 8.4 TorchVision, Index) c2 = args[0]; args = args[1:]
 *  plain        c2 = ch[f], args verbatim
 */
export type Treatment =
  | 'channels'
  | 'repeats'
  | 'concat'
  | 'bn'
  | 'head'
  | 'rtdetr'
  | 'aifi'
  | 'hgstem'
  | 'hgblock'
  | 'resnet'
  | 'cblinear'
  | 'cbfuse'
  | 'contract'
  | 'expand'
  | 'hardblock'
  | 'head-e2e'
  | 'c2-first'
  | 'plain';

export interface ModuleEntry {
  readonly def: ModuleDef;
  readonly treat: Treatment;
}

/**
 * The constructor position parse_model gives YAML arg `k` of a module it treats this way (null: the YAML args are
 * not passed). The resolver binds args with it; signature help, completion and hovers read it.
 */
export function argIndexOf(entry: ModuleEntry, k: number): number | null {
  switch (entry.treat) {
    case 'channels':
    case 'aifi':
    case 'hardblock':
    case 'hgstem':
    case 'cblinear':
      return k + 1;
    case 'repeats':
      return k === 0 ? 1 : k + 2;
    case 'hgblock':
      return k >= 3 ? k + 2 : k + 1;
    case 'rtdetr':
      return k === 0 ? 0 : k + 1;
    case 'bn':
      return null; // parse_model replaces the args with [ch[f]]
    case 'c2-first':
      return k === 0 ? null : k - 1; // args[0] is the layer's c2, the rest are the constructor's
    default:
      return k;
  }
}

export type SummaryStyle =
  /** `{stem} summary: {n:,} layers, {p:,} parameters, ...` counting model.modules() */
  | 'ultralytics'
  /** yolov5 HEAD through the current ultralytics package: layers = distinct leaf modules */
  | 'ultralytics-leaves'
  /** the Slim-neck YOLOv5 fork: `Model Summary: N layers, P parameters, G gradients, F GFLOPs` */
  | 'yolov5-fork'
  /** Scaled-YOLOv4: `Model Summary: %g layers (parameter tensors), %g parameters, %g gradients, %.1f GFLOPS` */
  | 'scaled-yolov4';

export interface Framework {
  readonly id: FrameworkId;
  readonly dialect: Dialect;
  readonly label: string;
  /** where the code is (repo @ commit, directory) */
  readonly origin: string;
  /** module names parse_model resolves, without any `nn.` prefix */
  readonly modules: ReadonlyMap<string, ModuleEntry>;
  /** torch.nn classes, reached through `nn.X` */
  readonly nn: ReadonlyMap<string, ModuleEntry>;
  /** names of the treatment sets as the framework prints them, for hover texts */
  readonly conv: 'shared-default-act' | 'own-act';
  readonly summary: SummaryStyle;
  /** what `Conv` applies when act=True and the YAML sets no `activation:` */
  readonly defaultActName: string;
  /** YOLOv5 HEAD and ultralytics honour `activation:`; the forks ignore it */
  readonly honoursActivationKey: boolean;
  /** HEAD honours `channel_multiple:` */
  readonly honoursChannelMultiple: boolean;
}

export function makeFramework(
  t: Omit<Framework, 'modules' | 'nn'> & {
    modules: readonly (readonly [ModuleDef, Treatment])[];
    nn: readonly (readonly [ModuleDef, Treatment])[];
  },
): Framework {
  const modules = new Map<string, ModuleEntry>();
  for (const [def, treat] of t.modules) modules.set(def.name, { def, treat });
  const nn = new Map<string, ModuleEntry>();
  for (const [def, treat] of t.nn) nn.set(def.name, { def, treat });
  return { ...t, modules, nn };
}
