/**
 * The custom requests between the language server and its clients (the VS Code extension, the graph panel
 * through the extension, the CLI's tests), typed once. Ranges are LSP ranges (0-based line/character, UTF-16).
 * This file has no runtime dependencies so the client and the webview can import it.
 */
import type { Category } from '../../common/src/category.ts';
import type { FlopsPair } from '../../common/src/format.ts';

export interface LspPosition {
  line: number;
  character: number;
}
export interface LspRange {
  start: LspPosition;
  end: LspPosition;
}

/** Options every model request accepts; absent fields fall back to the server settings / the file. */
export interface ModelRequestParams {
  uri: string;
  /** image size for shapes and per-layer FLOPs */
  imgsz?: number;
  /** ultralytics `scales:` key */
  scale?: string;
}

export interface NodeDiagnostic {
  code: string;
  severity: 'error' | 'warning' | 'information' | 'hint';
  message: string;
}

export interface GraphNode {
  /** layer index (the number `from` refers to) */
  index: number;
  section: 'backbone' | 'head';
  /** module name as written (`nn.Upsample`, `VoVGSCSP`) */
  module: string;
  category: Category;
  /** constructor args after parse_model, as Python prints them (`[64, 128, 3, 2]`) */
  args: string;
  /** `from` as written (`-1`, `[-1, 6]`) */
  from: string;
  /** absolute input indices (-1 is the image) */
  inputs: number[];
  /** repeats after the depth multiple */
  n: number | null;
  outShape: number[] | null;
  /** every output of a multi-output head */
  outShapes: number[][] | null;
  params: number | null;
  flops: FlopsPair | null;
  /** where the layer is in the YAML */
  range: LspRange;
  status: 'ok' | 'error' | 'unknown';
  diagnostics: NodeDiagnostic[];
  /** how the layer's tensors fare against the pretrained checkpoint, when one is set and the layer has tensors */
  weights?: NodeWeights | null;
}

/** A layer against the pretrained checkpoint (`yolo.weights`, `# yolo-lens: weights=`): what the graph colours by. */
export interface NodeWeights {
  /** all load; some load (or a partial copy); a shape differs; none is in the checkpoint */
  status: 'load' | 'partial' | 'mismatch' | 'new';
  /** tensors that load, of those the framework's loader considers */
  loaded: number;
  total: number;
  /** one line per tensor that does not load in full (a few, then a count) */
  details: string[];
}

/** The pretrained checkpoint against the whole model. */
export interface GraphWeights {
  /** the checkpoint as the setting or the modeline names it */
  name: string;
  /** the framework's own N/M; null when there is no plan (`message` says why) */
  transferred: number | null;
  total: number | null;
  /** the line the framework logs */
  log: string | null;
  message: string | null;
  /** the first layer where a tensor does not load */
  firstMiss: number | null;
  /** what moving the checkpoint's layers to their new indices would transfer (`yolo-lens transfer --remap`) */
  remapTransferred: number | null;
}

export interface GraphEdge {
  /** producing layer index, -1 for the input image */
  from: number;
  to: number;
  /** position in the consumer's input list */
  slot: number;
  /** tensor shape on the edge (the producer's output) */
  shape: number[] | null;
}

export interface ModelTotalsView {
  params: number | null;
  paramsFused: number | null;
  /** GFLOPs as the framework prints them at 640, both conventions, unfused and fused */
  gflops: FlopsPair<number | null>;
  gflopsFused: FlopsPair<number | null>;
  /** sum of per-layer FLOPs at the requested image size */
  flopsAtImgsz: FlopsPair | null;
  summary: string | null;
}

export interface GraphResult {
  uri: string;
  version: number | null;
  /** the framework that builds this YAML (`ultralytics-8.3`, `yolov5`, `yolov5-gsconv`, `scaled-yolov4`, ...) */
  framework: string;
  /** its name with its version (`ultralytics 8.4.33`) */
  frameworkLabel: string;
  frameworkVersion: string;
  /** how it was chosen: a setting, the `# yolo-lens:` comment, the workspace's code, the file itself */
  frameworkSource: 'setting' | 'modeline' | 'workspace' | 'file';
  /** why, in a sentence */
  frameworkReason: string;
  dialect: 'yolov5' | 'ultralytics';
  scale: string | null;
  imgsz: number;
  inputShape: number[];
  nodes: GraphNode[];
  edges: GraphEdge[];
  totals: ModelTotalsView;
  ok: boolean;
  /** the pretrained checkpoint, when one is set */
  weights?: GraphWeights | null;
}

export const GraphRequestType = 'yolo/graph';

/** One submodule of a layer (the graph's "expand"). */
export interface SubmoduleNode {
  /** attribute path inside the layer, e.g. `cv1.conv` */
  path: string;
  /** torch class name */
  type: string;
  params: number;
  outShape: number[] | null;
  flops: FlopsPair | null;
  children: SubmoduleNode[];
}

export interface SubmodulesParams extends ModelRequestParams {
  index: number;
}
/** Answer: the layer itself as the root `SubmoduleNode` (path ''), or null when the layer did not resolve. */
export type SubmodulesResult = SubmoduleNode | null;
export const SubmodulesRequestType = 'yolo/submodules';

export interface SummaryResult {
  uri: string;
  /** the parse_model-style table as the CLI prints it */
  table: string;
  /** the reference-record JSON (`../shared/reference/SCHEMA.md` format) */
  record: unknown;
}
export const SummaryRequestType = 'yolo/summary';

/** The runtimes a profile can run on (the `yolo.profile.backend` setting, the CLI's `--backend`), spelled once. */
export const PROFILE_BACKENDS = ['auto', 'tfjs-node', 'wasm', 'cpu', 'onnxruntime-node'] as const;
export type ProfileBackend = (typeof PROFILE_BACKENDS)[number];

export interface ProfileParams extends ModelRequestParams {
  batch?: number;
  runs?: number;
  warmup?: number;
  backend?: ProfileBackend;
  /** LSP work-done token for progress reports */
  workDoneToken?: string | number;
}

export interface ProfileLayer {
  index: number;
  module: string;
  /** median over the runs, milliseconds */
  ms: number;
  outShape: number[] | null;
  /** the static resolver's shape for the same layer; a mismatch is an internal error */
  staticShape: number[] | null;
  shapeMatches: boolean;
  /** every output of a multi-output layer (heads), measured and static, depth-first */
  outShapes?: number[][] | null;
  /**
   * the upstream model's estimated PyTorch ms for this layer (runtime/torch-cost.ts): its share of their sum ranks the
   * layers as PyTorch would, where the engine's own kernels rank some differently (max-pool, large activations)
   */
  torchMs?: number | null;
  staticShapes?: number[][] | null;
}

export interface ProfileResult {
  uri: string;
  backend: string;
  imgsz: number;
  batch: number;
  runs: number;
  layers: ProfileLayer[];
  totalMs: number;
  /** images per second at this batch size */
  throughput: number;
  peakMemoryMB: number | null;
  /** the pre-run estimate (weights + largest live activations) and the limit it was checked against */
  estimatedMemoryMB?: number | null;
  memoryLimitMB?: number | null;
  /** e.g. `wasm (SIMD, 2 threads)` */
  backendDetail?: string;
  /** threads the engine computed on (null: the engine's own pool, e.g. tfjs-node) */
  threads?: number | null;
  /** parameters of the network that ran (BatchNorm folded) */
  params?: number | null;
  /** what the layers' `torchMs` estimate rests on (PyTorch version, machine, thread setting) */
  torchEstimate?: string | null;
  /** e.g. the estimate that refused a run, or an internal shape mismatch */
  error: string | null;
  warnings: string[];
}
export const ProfileRequestType = 'yolo/profile';

/** Notification from the server when a model's resolution changed (the panel refreshes). */
export interface ModelChangedParams {
  uri: string;
  version: number;
}
export const ModelChangedNotificationType = 'yolo/modelChanged';

/**
 * Client → server: the workspace's trust (VS Code's Restricted Mode). Sent once trust is granted; the initial state
 * goes in `initializationOptions.workspaceTrusted`. `.yolo-lens.json` is read only in a trusted workspace.
 */
export const WorkspaceTrustNotificationType = 'yolo/workspaceTrust';

export interface WorkspaceTrustParams {
  readonly trusted: boolean;
}
