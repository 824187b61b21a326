/**
 * One table of stable diagnostic codes. Codes never change meaning; severities here are defaults a user may
 * override (`yolo.diagnostics.severity`). Ranges are UTF-16 offsets into the document text.
 */
import type { Range } from './range.ts';

export type Severity = 'error' | 'warning' | 'information' | 'hint';
/** A user's override of a code's severity: another severity, or 'off' to drop the code. */
export type SeverityOverride = Severity | 'off';

export const CODES = {
  YOLO001: {
    title: 'yaml-syntax',
    severity: 'error',
    doc: 'The YAML does not load (syntax, tags PyYAML refuses, several documents).',
    example: 'A layer whose bracket is never closed: `- [-1, 1, Conv, [64, 3, 2]`',
  },
  YOLO002: {
    title: 'not-a-model',
    severity: 'error',
    doc: 'The document is empty or not a mapping.',
    example: 'The whole model pasted inside one quoted string: YAML reads a scalar, not a mapping',
  },
  YOLO003: {
    title: 'missing-key',
    severity: 'error',
    doc: 'A key parse_model reads is missing (nc, depth/width multiples, anchors, backbone, head).',
    example: 'backbone: []  # no layers: the framework fails on model[-1]',
  },
  YOLO004: {
    title: 'key-type',
    severity: 'error',
    doc: 'A top-level key has a value of the wrong type, or appears twice.',
    example: 'depth_multiple: deep  # a string where parse_model multiplies by a number',
  },
  YOLO005: {
    title: 'layer-shape',
    severity: 'error',
    doc: 'A layer is not a [from, number, module, args] list.',
    example: '- [-1, 1, Conv]  # three items: the args list is missing',
  },
  YOLO006: {
    title: 'from-type',
    severity: 'error',
    doc: '`from` is not an int or a list of ints, or a list where the module takes one input (or the reverse).',
    example: '- [last, 1, Conv, [128, 3, 2]]  # from must be an int such as -1, or a list of ints',
  },
  YOLO007: {
    title: 'from-out-of-range',
    severity: 'error',
    doc: '`from` points before the first layer (or at the input from a later layer).',
    example: '- [-9, 1, Conv, [64, 3, 2]]  # layer 0: from -9 points before the input',
  },
  YOLO008: {
    title: 'from-forward',
    severity: 'error',
    doc: '`from` points at this layer or a later one.',
    example: '- [3, 1, Conv, [128, 3, 2]]  # layer 1 reads layer 3, which is built later',
  },
  YOLO009: {
    title: 'number-type',
    severity: 'error',
    doc: 'The repeat count is not a number.',
    example: '- [-1, three, C2f, [64, True]]  # the repeat count must be a number',
  },
  YOLO010: {
    title: 'unknown-module',
    severity: 'error',
    doc: 'No module of that name exists in this framework.',
    example: '- [-1, 1, Conx, [128, 3, 2]]  # did you mean Conv?',
  },
  YOLO011: {
    title: 'module-not-in-framework',
    severity: 'error',
    doc: 'The module exists in another framework but this one cannot build it.',
    example: '- [-1, 3, C2f, [128]]  # in a YOLOv5 file: C2f is an ultralytics block',
  },
  YOLO012: {
    title: 'args-arity',
    severity: 'error',
    doc: 'Too many or too few arguments for the module\u2019s constructor.',
    example: '- [-1, 1, Conv, []]  # Conv needs its output channels first',
  },
  YOLO013: {
    title: 'arg-type',
    severity: 'error',
    doc: 'An argument has a type the module cannot take.',
    example: '- [-1, 1, Conv, [wide, 3, 2]]  # output channels must be a number',
  },
  YOLO014: {
    title: 'arg-eval',
    severity: 'error',
    doc: 'A string argument that parse_model evaluates raises (not a NameError).',
    example: '- [-1, 1, Conv, [128, 3, "1/0"]]  # parse_model evals the string: ZeroDivisionError',
  },
  YOLO015: {
    title: 'channel-mismatch',
    severity: 'error',
    doc: 'A layer receives a number of channels its weights were not built for.',
    example: '- [-1, 1, nn.Conv2d, [64, 32, 1]]  # built for 64 input channels, receives 16',
  },
  YOLO016: {
    title: 'concat-size-mismatch',
    severity: 'error',
    doc: 'Concat inputs have different spatial sizes.',
    example: '- [[-1, 0], 1, Concat, [1]]  # P2/4 with P1/2: 160×160 and 320×320',
  },
  YOLO017: {
    title: 'shape-error',
    severity: 'error',
    doc: 'The forward pass fails on shapes (sizes, ranks, an output too small).',
    example: '- [-1, 1, nn.MaxPool2d, [1000]]  # a 1000-pixel window on a 320-pixel map',
  },
  YOLO018: {
    title: 'head-inputs',
    severity: 'error',
    doc: 'A detection head\u2019s inputs do not match its anchors or levels.',
    example: '- [[1, 2], 1, Detect, [nc, anchors]]  # two inputs, one row of anchors',
  },
  YOLO019: {
    title: 'channels-not-taken',
    severity: 'warning',
    doc: 'A module cannot take that channel count as written (e.g. odd channels into GSConv\u2019s shuffle).',
    example: '- [-1, 1, GSConv, [255, 1, 1]]  # 255 = na * (nc + 5) is never width-scaled: odd',
  },
  YOLO020: {
    title: 'imgsz-stride',
    severity: 'warning',
    doc: 'The image size is not a multiple of the model\u2019s largest stride.',
    example: '`# yolo-lens: imgsz=100` on a model of stride 32: training would round it to 128',
  },
  YOLO021: {
    title: 'scale-chosen',
    severity: 'information',
    doc: 'Which `scales:` entry was used, and why.',
    example: 'n: [0.33, 0.25, 1024]  # no scale in the file name or settings: the first row is built',
  },
  YOLO022: {
    title: 'scales-invalid',
    severity: 'error',
    doc: 'The `scales:` mapping or the chosen scale is invalid.',
    example: 'n: [0.33, 0.25]  # a row is [depth, width, max_channels]',
  },
  YOLO023: {
    title: 'value-out-of-range',
    severity: 'error',
    doc: 'A number is absurd for its role (NaN, infinite, negative, astronomically large).',
    example: 'depth_multiple: .nan  # NaN: no usable depth multiple',
  },
  YOLO024: {
    title: 'stale-index-comment',
    severity: 'warning',
    doc: 'A `# N` comment no longer matches the layer\u2019s index.',
    example: '- [-1, 1, Conv, [128, 3, 2]]  # 3',
  },
  YOLO025: {
    title: 'unused-layer',
    severity: 'warning',
    doc: 'Nothing consumes this layer\u2019s output: its parameters and FLOPs are spent for nothing.',
    example: '- [-1, 1, Conv, [128, 3, 2]]  # 1: never read, layer 2 takes layer 0',
  },
  YOLO026: {
    title: 'dialect-mismatch',
    severity: 'warning',
    doc: 'Arguments written for the other framework\u2019s version of this module.',
    example: "- [[1], 1, Detect, [nc]]  # YOLOv5's Detect takes [nc, anchors]",
  },
  YOLO027: {
    title: 'raw-channel-arg',
    severity: 'warning',
    doc: 'A module whose args are passed verbatim has a channel argument that no longer matches its input after width scaling.',
    example: '- [-1, 1, nn.Conv2d, [64, 32, 1]]  # in_channels 64, but the Conv before it has 16 at width 0.25',
  },
  YOLO028: {
    title: 'too-large',
    severity: 'error',
    doc: 'The file is too large or too deeply nested to analyse.',
    example: 'A file over 2 MB, over 20,000 layers, or nested more than 64 levels deep',
  },
  YOLO029: {
    title: 'build-error',
    severity: 'error',
    doc: 'The module\u2019s constructor would raise with these arguments.',
    example: '- [-1, 1, Conv, [64, 3, 2, 1, 1, 1, True, 0]]  # Conv takes at most 7 YAML args: TypeError',
  },
  YOLO030: {
    title: 'internal',
    severity: 'error',
    doc: 'YOLO Lens failed on this layer (a bug: please report it).',
    example: 'Only on a YOLO Lens bug: the analysis itself failed on this file or layer (please report it)',
  },
  YOLO031: {
    title: 'layer-not-analysed',
    severity: 'information',
    doc: 'A layer after an error cannot be analysed (its input is unknown).',
    example: 'Reserved: not emitted by this version of YOLO Lens',
  },
  YOLO032: {
    title: 'gflops-unavailable',
    severity: 'warning',
    doc: 'The framework would print no GFLOPs for this model (YOLO Lens still shows its own count).',
    example: "- [-1, 1, Focus, [64, 3]]  # get_flops probes with 12 channels, the first weight's, and fails",
  },
  YOLO033: {
    title: 'not-utf8',
    severity: 'warning',
    doc: "The file has bytes that are not UTF-8: they are dropped, as the frameworks\u2019 readers drop them (`errors='ignore'`).",
    example: 'A comment saved in Latin-1: `# café` with é as the byte 0xE9',
  },
  YOLO034: {
    title: 'module-in-other-version',
    severity: 'error',
    doc: 'The module or key exists in another version of this code base, not in the one the file is checked against.',
    example: 'reg_max: 16  # read by ultralytics 8.4, not by 8.3',
  },
  YOLO060: {
    title: 'weights-stop-loading',
    severity: 'information',
    doc: 'The first layer where tensors of the pretrained checkpoint (`yolo.weights`, `# yolo-lens: weights=`) no longer load.',
    example: 'With `# yolo-lens: weights=yolov8n.pt`, a layer inserted at 3: its tensors stop loading there',
  },
  YOLO061: {
    title: 'weights-unreadable',
    severity: 'warning',
    doc: 'The pretrained checkpoint is missing, unreadable, refused (not a torch.save file, or one naming code to run) or not allowed.',
    example: '`# yolo-lens: weights=yolov8n.pt` with no yolov8n.pt next to the YAML',
  },
  YOLO035: {
    title: 'input-shifted',
    severity: 'warning',
    doc: 'A head or Concat input is the layer just before one nobody reads, in the same stage: the index probably shifted.',
    example: '- [[2], 1, Detect, [nc]]  # reads layer 2; layer 3 after it (same stage) is read by no one',
  },
  YOLO036: {
    title: 'input-mid-stage',
    severity: 'warning',
    doc: 'A head or Concat input is not the last layer of its stage (the layer after it continues at the same size).',
    example: '- [[-1, 2], 1, Concat, [1]]  # layer 2 is mid-stage: layer 3 continues at its size',
  },
  YOLO037: {
    title: 'head-stride-order',
    severity: 'warning',
    doc: 'Head inputs and anchor rows are in opposite stride orders: YOLOv5 silently reverses the anchors.',
    example: '- [116,90, 156,198, 373,326]  # P5-sized anchors on the P3/8 input',
  },
  YOLO038: {
    title: 'imgsz-trap',
    severity: 'warning',
    doc: 'The network downsamples more than the stride the framework checks image sizes against: some accepted sizes fail.',
    example: '- [[-1, 4], 1, Concat, [1]]  # P6 upsampled meets P5: at 672 they are 22×22 and 21×21',
  },
  YOLO039: {
    title: 'repeats-ignored',
    severity: 'warning',
    doc: 'A repeat count the module\u2019s constructor never uses (n > 1 builds the same block as n = 1).',
    example: '- [-1, 3, VoVGSCSPC, [64]]  # VoVGSCSPC builds one block whatever n is',
  },
  YOLO040: {
    title: 'key-ignored',
    severity: 'warning',
    doc: 'A top-level key this framework ignores or overwrites (`scale:`, `ch:`, multiples beside `scales:`).',
    example: 'depth_multiple: 0.5  # ignored beside scales:, which sets the multiples',
  },
  YOLO041: {
    title: 'unknown-key',
    severity: 'warning',
    doc: 'A top-level key no framework reads (a typo?).',
    example: 'widht_multiple: 0.5  # a typo: width_multiple stays 0.25',
  },
  YOLO042: {
    title: 'scale-assumed',
    severity: 'warning',
    doc: 'No scale letter in the file name: ultralytics warns and builds the first `scales:` row.',
    example: 'n: [0.33, 0.25, 1024]  # several rows and no letter in the file name: n is built',
  },
  YOLO043: {
    title: 'multiple-floor',
    severity: 'warning',
    doc: 'A width or depth multiple so small that every channel count or repeat count floors to the minimum.',
    example: 'width_multiple: 0.01  # 64, 128 and 256 channels all become 8',
  },
  YOLO044: {
    title: 'arg-kind',
    severity: 'warning',
    doc: 'A bool where the module takes an int, or a float where it takes a bool: Python accepts it, it means something else.',
    example: '- [-1, 1, Conv, [64, True, 2]]  # kernel True: Python reads it as k=1',
  },
  YOLO045: {
    title: 'empty-scale-rule',
    severity: 'warning',
    doc: "A rule keyed on the scale fires because the scale is '' (no `scales:`, no letter in the file name).",
    example: '- [-1, 2, C3k2, [128, False, 0.25]]  # no scales: and no letter: scale \'\' is in "mlx", so c3k=True',
  },
  YOLO046: {
    title: 'module-not-in-workspace',
    severity: 'error',
    doc: 'The code base in the workspace (models/common.py, an ultralytics install) does not define this module.',
    example: '`- [-1, 1, GSConv, [512, 1, 1]]` in a YOLOv5 tree whose models/common.py has no GSConv',
  },
} as const satisfies Record<string, { title: string; severity: Severity; doc: string; example: string }>;

export type Code = keyof typeof CODES;

export interface RelatedInfo {
  readonly range: Range;
  readonly message: string;
}

export interface Diagnostic {
  readonly code: Code;
  readonly severity: Severity;
  readonly range: Range;
  readonly message: string;
  readonly related?: readonly RelatedInfo[];
  /** LSP tags: 1 = Unnecessary, 2 = Deprecated */
  readonly tags?: readonly number[];
  /** machine-readable details for quick fixes (e.g. the suggested module name) */
  readonly data?: Readonly<Record<string, unknown>>;
  /** the layer this diagnostic belongs to, when it belongs to one */
  readonly layer?: number;
}

export function diag(
  code: Code,
  range: Range,
  message: string,
  severity: Severity = CODES[code].severity,
  extra: { related?: RelatedInfo[]; tags?: number[]; data?: Record<string, unknown>; layer?: number } = {},
): Diagnostic {
  // a message quotes values from the file; a value behind an alias bomb would make it megabytes
  const text = message.length > MAX_MESSAGE ? message.slice(0, MAX_MESSAGE - 1) + '…' : message;
  return { code, severity, range, message: text, ...extra };
}

/** Longest diagnostic message: a paragraph, whatever the file quotes into it. */
export const MAX_MESSAGE = 1000;
