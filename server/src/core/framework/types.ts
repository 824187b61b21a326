/**
 * A framework is one upstream code base at one version that builds model YAMLs: which module names its parse_model
 * resolves, the branch of parse_model's `if m in {...}` chain each falls into (its treatment), the header keys it
 * reads, and how it prints its summary. Frameworks are data: the resolver looks the profile up and has no
 * per-version branches; a new version is a new profile that reuses what did not change.
 */
import type { ModuleDef } from '../catalog/types.ts';
import type { Code } from '../diagnostics.ts';
import type { Range } from '../range.ts';
import type { PyCall, PyVal } from '../py.ts';
import type { WorkspaceFacts } from './workspace-facts.ts';

export type FrameworkId = 'yolov5' | 'yolov5-gsconv' | 'scaled-yolov4' | 'ultralytics-8.3' | 'ultralytics-8.4';
/** The YAML family a framework reads: YOLOv5 files (`anchors:`, depth/width multiples) or ultralytics (`scales:`). */
export type Dialect = 'yolov5' | 'ultralytics';

/**
 * The parse_model branch a module falls into.
 *  channels     c1 = ch[f] prepended; args[0] width-scaled into c2 (unless it equals `no`/`nc`)
 *  repeats      like channels, and the scaled n inserted at args[2] (n = 1 afterwards)
 *  concat       c2 = sum(ch[x] for x in f)
 *  bn           args = [ch[f]]
 *  head         args.append([ch[x] for x in f]) (+ the framework's anchors / Segment / reg_max rules)
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
 *  headAppend   args.append([ch[x] for x in f]) where the framework's head branch does more (8.4's v10Detect)
 *  torchvision  (8.4 TorchVision, Index) c2 = args[0]; args = args[1:]
 *  plain        c2 = ch[f], args verbatim
 */
export type TreatmentName =
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
  | 'headAppend'
  | 'torchvision'
  | 'plain';

/** How one YAML arg reached the constructor. */
export interface ArgBinding {
  /** index in the YAML args list */
  readonly yamlIndex: number;
  readonly range: Range;
  /** the constructor parameter it binds, when known */
  readonly param?: string;
  /** index in the final constructor args */
  readonly argIndex?: number;
  /** the YAML value, the value after parse_model's eval of strings, and the value passed to the constructor */
  readonly yamlValue: PyVal;
  readonly evaluated: PyVal;
  readonly passed: PyVal;
  /** human-readable note of what parse_model did (`512 × 0.25 → 128`) */
  readonly note?: string;
}

/** What parse_model knows about the channels of a layer's output: a count, a list (CBLinear), or nothing. */
export type ChEntry = number | number[] | null;

/**
 * One layer as a treatment sees it while parse_model walks it: what the YAML gave (after depth gain and string
 * evaluation), the bookkeeping list, the header values; the treatment sets the constructor args and c2.
 */
export interface LayerContext {
  readonly framework: Framework;
  readonly header: Header;
  readonly index: number;
  readonly entry: ModuleEntry;
  readonly def: ModuleDef;
  /** the layer's source ranges: the whole layer, `from`, `n`, the module name, the args list and each arg */
  readonly ranges: {
    readonly layer: Range;
    readonly from: Range;
    readonly n: Range;
    readonly module: Range;
    readonly args: Range;
    readonly arg: readonly Range[];
  };
  /** the YAML args as written, and after parse_model's evaluation of strings */
  readonly yamlArgs: readonly PyVal[];
  readonly evaluated: readonly PyVal[];
  /** `from` as written, one per input (an int `from` is a list of one) */
  readonly rawFrom: readonly number[];
  /** state parse_model carries across layers */
  readonly state: ParseState;
  readonly fromIsList: boolean;
  /** the repeat count after the depth gain */
  readonly n: number;
  /** `ch[x]` exactly as parse_model indexes its bookkeeping list */
  chAt(x: number): ChEntry;
  /** the input channels of a single-input layer reading `x` (null when unknown or not a number) */
  chOf(x: number): number | null;
  /** report a problem on a range; stage is where upstream fails (parse by default) */
  fail(code: Code, range: Range, message: string, stage?: 'parse' | 'build' | 'forward'): void;
  /** the constructor args (starts as `evaluated`) */
  args: PyVal[];
  c1: number | null;
  /** what parse_model appends to its ch list (starts as the previous layer's c2) */
  c2: ChEntry;
  /** copies in an nn.Sequential (n > 1 for modules that do not take the repeats as an arg) */
  copies: number;
  /** the `n` parse_model prints */
  nPrinted: number;
  /**
   * class attributes parse_model sets before the constructor runs (8.4: `m.legacy = legacy` on the heads): the
   * builder reads them from `Args.classAttrs`
   */
  readonly classAttrs: Map<string, PyVal>;
  /** how YAML arg `k` reached the constructor */
  bind(yamlIndex: number, passed: PyVal, note?: string): void;
  readonly bindings: ArgBinding[];
}

/** A constructor position parse_model fills itself (not written in the YAML), with why. */
export interface FilledParam {
  readonly argIndex: number;
  readonly why: string;
}

/** One parse_model branch: how it rewrites a layer, and where a YAML arg lands in the constructor call. */
export interface Treatment {
  /** rewrite `t` as parse_model would; false when parse_model does not get through (a diagnostic says why) */
  apply(t: LayerContext): boolean;
  /** the constructor position YAML arg `k` takes (null: the YAML args are not passed) */
  argIndex(k: number): number | null;
  /** the constructor parameters parse_model supplies, so a signature can say so */
  filled(def: ModuleDef): readonly FilledParam[];
  /** what parse_model does with the args, in one clause (completion docs, hovers) */
  readonly note: string;
  /** where the YAML's args end in the signature (the heads: parse_model appends from there) */
  yamlEnd?(def: ModuleDef): number;
}

/**
 * A rule of one framework for one module (`if m is C2fAttn: ...`, `if m is C3k2: ...`): `before` runs on the
 * evaluated args before the treatment assembles the constructor args, `after` on the assembled ones. False: parse_model
 * does not get through (a diagnostic says why).
 */
export interface ModuleRule {
  readonly before?: (t: LayerContext) => boolean;
  readonly after?: (t: LayerContext) => boolean;
}

/** What parse_model carries from layer to layer besides the ch list (ultralytics 8.4's `legacy` flag). */
export interface ParseState {
  /** false once a C3k2, A2C2f or C2fCIB layer was parsed: the heads are built without their legacy branches */
  legacy: boolean;
}

export type ScaleSource = 'setting' | 'modeline' | 'file-name' | 'first';

/** The top-level values parse_model reads before the layers, as the framework reads them. */
export interface Header {
  readonly nc: PyVal;
  readonly depth: number | null;
  readonly width: number | null;
  readonly maxChannels: number;
  readonly scale: string | null;
  readonly scaleReason: string | null;
  /** who chose the `scales:` row: a setting, the yolo-lens comment, the file name, or nobody (the first row) */
  readonly scaleSource: ScaleSource | null;
  /**
   * parse_model's `scale` local, which module rules read (`if scale in "mlx"`): the chosen scale with `scales:`;
   * without them, unbound in 8.3 (null) and the file name's letter or '' in 8.4
   */
  readonly scaleVar: string | null;
  readonly ch: number;
  /** `Conv.default_act = eval(activation)` when the framework honours the key (null: the framework's default) */
  readonly defaultAct: PyCall | null;
  /** the divisor channel counts are rounded to (YOLOv5 HEAD: `channel_multiple`, else 8) */
  readonly channelMultiple: number;
  /** YOLOv5 dialect: `anchors:` as written, anchors per level and the head's output channels na·(nc+5) */
  readonly anchors: PyVal;
  readonly na: number | null;
  readonly no: number | null;
  /** ultralytics 8.4: `reg_max` (default 16) and `end2end` (default None) appended to the heads' args */
  readonly regMax: PyVal;
  readonly end2end: PyVal;
  /** ultralytics `kpt_shape` and `activation` as written (names a string arg may use) */
  readonly kptShape: PyVal;
  readonly activation: PyVal;
}

/** The summary line the framework prints when it builds a model, as data. */
export interface SummaryRules {
  /** its wording: ultralytics' `{name} summary: ...`, the Slim-neck fork's and Scaled-YOLOv4's `Model Summary: ...` */
  readonly format: 'ultralytics' | 'yolov5-fork' | 'scaled-yolov4';
  /**
   * what its layer count counts: `len(list(model.modules()))` (8.3, the fork), distinct leaf modules (YOLOv5 HEAD,
   * 8.4), parameter tensors (Scaled-YOLOv4)
   */
  readonly layers: 'modules' | 'leaves' | 'tensors';
  /** ` (fused)` after `summary` when `is_fused()` holds */
  readonly fusedMark: boolean;
  /** the model name carries the scale the file is loaded at (`yolov8.yaml` at n prints `YOLOv8n`) */
  readonly scaleInName: boolean;
}

/**
 * How the framework's summary computes the GFLOPs it prints.
 *  stride   thop at a `max(stride, 32)` input, scaled to 640 (YOLOv5 and ultralytics `get_flops`); `channels`: the
 *           input's channel count, the model's `ch` or the first parameter's dim 1; `retryAt640`: ultralytics
 *           retries at 640 when the small input fails
 *  fixed    thop at one fixed input (Scaled-YOLOv4: 64×64, 3 channels, ×100)
 */
export type GflopsRule =
  | { readonly kind: 'stride'; readonly channels: 'model' | 'first-param'; readonly retryAt640: boolean }
  | { readonly kind: 'fixed'; readonly size: number; readonly channels: number; readonly factor: number };

/** How parse_model reads a layer: the rules that differ between code bases, as data. */
export interface LayerRules {
  /** string args: YOLOv5 `eval`s them; ultralytics names a local or `ast.literal_eval`s */
  readonly argEval: 'eval' | 'literal';
  /** a string arg that does not evaluate: an error, or kept as the string (Scaled-YOLOv4 swallows the error) */
  readonly unevaluable: 'error' | 'keep';
  /** the ch list: emptied after layer 0 (most), or keeping the input at index 0 (Scaled-YOLOv4, list `from` + 1) */
  readonly chList: 'reset-after-first' | 'keeps-input';
  /** the `n` printed for a module that takes its repeats as an arg: 1 (Scaled-YOLOv4) or the scaled n */
  readonly repeatsPrinted: 'one' | 'scaled';
  /** width scaling of c2: YOLOv5 `make_divisible(c2 * gw, channel_multiple)` unless c2 == no; ultralytics
   * `make_divisible(min(c2, max_channels) * width, 8)` unless c2 == nc */
  readonly width: 'yolov5' | 'ultralytics';
}

/** The top-level keys and how the framework reads them. */
export interface HeaderRules {
  /** keys read as `d[key]` (a missing one is a KeyError) */
  readonly required: readonly string[];
  /** `scales:` with max_channels (ultralytics) */
  readonly scales: boolean;
  /** reads `anchors:`, na and no (YOLOv5 dialect) */
  readonly anchors: boolean;
  /**
   * the key the model class reads its input channels from (`ch:`; 8.4's ClassificationModel `channels:`), given
   * the head's module name (the model class follows it); null: none (Scaled-YOLOv4, 8.4's DetectionModel)
   */
  readonly chKey: (head: string | null) => string | null;
  /** honours `activation:` (YOLOv5 HEAD, ultralytics; the forks ignore it) */
  readonly activation: boolean;
  /** honours `channel_multiple:` (YOLOv5 HEAD) */
  readonly channelMultiple: boolean;
  /** `reg_max:` and `end2end:` (ultralytics 8.4) */
  readonly headKeys: boolean;
  /** the scale a file name selects (ultralytics `guess_model_scale`): the group named `scale` is the letter */
  readonly scaleFromFileName: RegExp | null;
  /** parse_model's `scale` without `scales:`: unbound (8.3), or the file name's letter, '' when it has none (8.4) */
  readonly scaleWithoutScales: 'unbound' | 'file-name';
  /**
   * top-level keys the model class or parse_model reads besides those the fields above name (nc, the multiples,
   * backbone, head, and scales, anchors, the ch key, activation, channel_multiple, reg_max/end2end where they apply):
   * `inplace`, `kpt_shape`...; ultralytics' `scale` is here too, its loader overwrites it
   */
  readonly otherKeys: readonly string[];
}

/** How the framework's trainer loads pretrained weights into a model built from a YAML. */
export interface LoaderRules {
  /** keys containing any of these are never loaded (YOLOv5 train.py: `anchor`, when a cfg is given) */
  readonly exclude: readonly string[];
  /** ultralytics 8.4 BaseModel.load: a first conv that did not load copies its `[:out, :in]` slice (same kernel) */
  readonly partialFirstConv: boolean;
  /** the checkpoint entry it reads: train.py's `ckpt["model"]`, or `ckpt.get("ema") or ckpt["model"]` */
  readonly entry: 'model' | 'ema-or-model';
  /** the line it logs */
  logLine(transferred: number, total: number, weights: string): string;
}

export interface ModuleEntry {
  readonly def: ModuleDef;
  readonly treat: TreatmentName;
  readonly treatment: Treatment;
  /** the framework's rule for this module after its treatment, if it has one */
  readonly rule?: ModuleRule;
}

export interface Framework {
  readonly id: FrameworkId;
  readonly dialect: Dialect;
  readonly label: string;
  /** the code base (repository lineage): versions of one code base share it (ultralytics 8.3 and 8.4) */
  readonly codeBase: 'yolov5' | 'yolov5-gsconv' | 'scaled-yolov4' | 'ultralytics';
  /** the upstream version this profile reproduces (`8.4.33`, a commit for the forks) */
  readonly version: string;
  /** where the code is (repo @ commit, directory) */
  readonly origin: string;
  /** module names parse_model resolves, without any `nn.` prefix */
  readonly modules: ReadonlyMap<string, ModuleEntry>;
  /** torch.nn classes, reached through `nn.X` */
  readonly nn: ReadonlyMap<string, ModuleEntry>;
  /**
   * definitions parse_model cannot reach by name but the framework's modules are built from (C3k, DFL, Proto...):
   * what a user module's body may call besides the namespace
   */
  readonly helpers: ReadonlyMap<string, ModuleDef>;
  /** the parse_model branches as this framework runs them (a user module's declared branch is looked up here) */
  readonly treatments: Readonly<Record<TreatmentName, Treatment>>;
  /** `torchvision.ops.X` names (8.4's parse_model reaches torchvision.ops) */
  readonly torchvisionOps: ReadonlyMap<string, ModuleEntry>;
  /** 8.4's fuse() freezes the convs it folds (fused gradients are what no fuse touched) */
  readonly fuseFreezes: boolean;
  /**
   * what the model class built for a file feeds its layers besides the image (ultralytics `YOLO(file)` chooses by
   * name): a WorldModel's text features (`-world`), a YOLOEModel's class prompts (`yoloe`, 8.4), or nothing
   */
  readonly modelInputs: (stem: string) => 'world' | 'prompts' | null;
  /** `Conv` shares one default activation instance (`Conv.default_act`) or makes its own */
  readonly conv: 'shared-default-act' | 'own-act';
  /**
   * the workspace's code, when the framework was chosen from it: only the module names that code defines exist
   * (framework/workspace.ts)
   */
  readonly workspace?: WorkspaceFacts;
  readonly summary: SummaryRules;
  readonly gflops: GflopsRule;
  /** what `Conv` applies when act=True and the YAML sets no `activation:` */
  readonly defaultActName: string;
  readonly header: HeaderRules;
  readonly layers: LayerRules;
  readonly loader: LoaderRules;
}

/** The constructor position parse_model gives YAML arg `k` (null: the YAML args are not passed). */
export function argIndexOf(entry: ModuleEntry, k: number): number | null {
  return entry.treatment.argIndex(k);
}
