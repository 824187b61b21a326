/**
 * The resolved model: what every feature (diagnostics, hover, graph, summary, profile) is a view of.
 */
import type { Diagnostic } from './diagnostics.ts';
import type { LayerSrc, ModelDoc } from './document.ts';
import type { Mod, Shape } from './nn/module.ts';
import type { GuideRole } from './nn/driver.ts';
import type { PyVal } from './py.ts';
import type { ArgBinding, Dialect, Framework, ModuleEntry, ScaleSource } from './framework/types.ts';
import type { FrameworkSource } from './framework/detect.ts';

export type { ArgBinding } from './framework/types.ts';

/** FLOPs (2 x thop MACs) in the two counting conventions. */
export interface Flops {
  /** Lyken17 thop 0.1.1: what the reference records and the frameworks' build summaries used */
  readonly thop: number;
  /** ultralytics-thop 2.x: what a current install prints */
  readonly ultralyticsThop: number;
}

export interface ResolvedLayer {
  readonly index: number;
  readonly src: LayerSrc;
  readonly section: LayerSrc['section'];
  /** `from` as written */
  readonly from: PyVal;
  /** absolute indices of the inputs (-1 = the image), null when `from` is invalid */
  readonly fromIndices: readonly number[] | null;
  /** whether `from` is a list (inputs passed as a list) */
  readonly fromIsList: boolean;
  /** repeats as written and after the depth multiple (the `n` parse_model prints) */
  readonly nYaml: PyVal;
  readonly n: number | null;
  /** copies built in an nn.Sequential (n > 1 for modules that do not take the repeats as an arg) */
  readonly copies: number;
  readonly moduleName: string | null;
  readonly entry?: ModuleEntry;
  /** constructor args after parse_model, null when parse_model could not get that far */
  readonly args: readonly PyVal[] | null;
  readonly bindings: readonly ArgBinding[];
  /** parse_model's bookkeeping: channels it believes come in and go out (`ch[f]`, `c2`) */
  readonly c1: number | null;
  readonly c2: number | null;
  /** real output, from running the module (null when unknown) */
  readonly outShape: Shape | null;
  /** every output tensor, depth-first, for multi-output heads */
  readonly outShapes: readonly Shape[] | null;
  readonly params: number | null;
  readonly gradients: number | null;
  readonly flops: Flops | null;
  readonly paramsFused: number | null;
  readonly flopsFused: Flops | null;
  /** did this layer resolve: ok, failed itself, or unknown because an input failed */
  readonly status: 'ok' | 'error' | 'unknown';
  /** the built module tree (unfused), for the graph's expansion and the runtime */
  readonly mod: Mod | null;
  /** the deployed form (`model.fuse()`: BatchNorm folded into the convs), what the runtime profiles; null until
   * the model resolves without errors */
  readonly modFused: Mod | null;
  readonly inShapes: readonly Shape[] | null;
  /** how the layer touches the model class's extra input (text features, prompts): null for most layers */
  readonly guideRole: GuideRole | null;
  /** constructor parameters the module never reads (VoVGSCSP's n), when it built */
  readonly unreadParams: readonly string[];
}

export interface GflopsFigure {
  /** the number the framework prints (one decimal), null when it prints none */
  readonly printed: number | null;
  /** the unrounded value behind it */
  readonly exact: number | null;
}

export interface ModelTotals {
  readonly params: number;
  readonly gradients: number;
  /** after the tree's model.fuse(); null when fused figures were skipped or fuse() raises */
  readonly paramsFused: number | null;
  /** what model.fuse() raises, when it does (Scaled-YOLOv4 cannot fuse grouped convs) */
  readonly fusedError: string | null;
  /** sum of per-layer FLOPs at imgsz */
  readonly flops: Flops;
  readonly flopsFused: Flops | null;
  /** GFLOPs as the framework prints them on build (thop 0.1.1) and with ultralytics-thop */
  readonly gflops: GflopsFigure;
  readonly gflopsUltralyticsThop: GflopsFigure;
  readonly gflopsFused: GflopsFigure;
  readonly gflopsFusedUltralyticsThop: GflopsFigure;
  readonly summary: string | null;
  readonly summaryFused: string | null;
  /** module count the summary line reports */
  readonly summaryLayers: number;
}

export interface Model {
  readonly doc: ModelDoc;
  readonly framework: Framework;
  readonly dialect: Dialect;
  /** why this tree was chosen */
  readonly frameworkReason: string;
  /** how: a setting (or flag), the `# yolo-lens:` comment, the workspace's code, or the file's own evidence */
  readonly frameworkSource: FrameworkSource;
  readonly nc: PyVal;
  readonly depthMultiple: number | null;
  readonly widthMultiple: number | null;
  readonly maxChannels: number;
  readonly scale: string | null;
  readonly scaleReason: string | null;
  /** who chose the `scales:` row: a setting, the yolo-lens comment, the file name, or nobody (the first row) */
  readonly scaleSource: ScaleSource | null;
  readonly imgsz: number;
  readonly ch: number;
  readonly layers: readonly ResolvedLayer[];
  readonly diagnostics: readonly Diagnostic[];
  /** strides of the detection levels (from the 256 probe), when the model ends in a Detect-family head */
  readonly strides: readonly number[] | null;
  /**
   * what the model class feeds its layers besides the image, at batch 1: a WorldModel's text features, a YOLOEModel's
   * class prompts; null when no layer reads them
   */
  readonly guideShape: Shape | null;
  readonly maxStride: number;
  /** null when the model does not resolve completely. Computed on first access (with the per-layer fused
   * figures `paramsFused`, `flopsFused`, `modFused`, which stay null until then). */
  readonly totals: ModelTotals | null;
  /** would the upstream code build and run it (no error diagnostics) */
  readonly ok: boolean;
  /** the stage where the upstream code would fail, when it would */
  readonly failure: { readonly stage: 'parse' | 'build' | 'forward'; readonly message: string } | null;
  /**
   * parse_model's `scale` local, which module rules read (`if scale in "mlx"`): the chosen `scales:` key, the file
   * name's letter ('' without one, ultralytics 8.4), or null where it does not exist
   */
  readonly scaleVar: string | null;
  /** the diagnostic a forward at another image size would fail with (the same builds), or null when it runs */
  forwardAt(imgsz: number): Diagnostic | null;
  readonly fileName?: string;
}
