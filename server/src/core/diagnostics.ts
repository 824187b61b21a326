/**
 * One table of stable diagnostic codes. Codes never change meaning; severities here are defaults a user may
 * override (`yolo.diagnostics.severity`). Ranges are UTF-16 offsets into the document text.
 */
import type { Range } from './range.ts';

export type Severity = 'error' | 'warning' | 'information' | 'hint';
/** A user's override of a code's severity: another severity, or 'off' to drop the code. */
export type SeverityOverride = Severity | 'off';

export const CODES = {
  YOLO001: { title: 'yaml-syntax', severity: 'error', doc: 'The YAML does not load (syntax, tags PyYAML refuses, several documents).' },
  YOLO002: { title: 'not-a-model', severity: 'error', doc: 'The document is empty or not a mapping.' },
  YOLO003: {
    title: 'missing-key',
    severity: 'error',
    doc: 'A key parse_model reads is missing (nc, depth/width multiples, anchors, backbone, head).',
  },
  YOLO004: { title: 'key-type', severity: 'error', doc: 'A top-level key has a value of the wrong type, or appears twice.' },
  YOLO005: { title: 'layer-shape', severity: 'error', doc: 'A layer is not a [from, number, module, args] list.' },
  YOLO006: {
    title: 'from-type',
    severity: 'error',
    doc: '`from` is not an int or a list of ints, or a list where the module takes one input (or the reverse).',
  },
  YOLO007: {
    title: 'from-out-of-range',
    severity: 'error',
    doc: '`from` points before the first layer (or at the input from a later layer).',
  },
  YOLO008: { title: 'from-forward', severity: 'error', doc: '`from` points at this layer or a later one.' },
  YOLO009: { title: 'number-type', severity: 'error', doc: 'The repeat count is not a number.' },
  YOLO010: { title: 'unknown-module', severity: 'error', doc: 'No module of that name exists in this framework.' },
  YOLO011: {
    title: 'module-not-in-framework',
    severity: 'error',
    doc: 'The module exists in another framework but this one cannot build it.',
  },
  YOLO012: { title: 'args-arity', severity: 'error', doc: 'Too many or too few arguments for the module\u2019s constructor.' },
  YOLO013: { title: 'arg-type', severity: 'error', doc: 'An argument has a type the module cannot take.' },
  YOLO014: { title: 'arg-eval', severity: 'error', doc: 'A string argument that parse_model evaluates raises (not a NameError).' },
  YOLO015: { title: 'channel-mismatch', severity: 'error', doc: 'A layer receives a number of channels its weights were not built for.' },
  YOLO016: { title: 'concat-size-mismatch', severity: 'error', doc: 'Concat inputs have different spatial sizes.' },
  YOLO017: { title: 'shape-error', severity: 'error', doc: 'The forward pass fails on shapes (sizes, ranks, an output too small).' },
  YOLO018: { title: 'head-inputs', severity: 'error', doc: 'A detection head\u2019s inputs do not match its anchors or levels.' },
  YOLO019: {
    title: 'channels-not-taken',
    severity: 'warning',
    doc: 'A module cannot take that channel count as written (e.g. odd channels into GSConv\u2019s shuffle).',
  },
  YOLO020: { title: 'imgsz-stride', severity: 'warning', doc: 'The image size is not a multiple of the model\u2019s largest stride.' },
  YOLO021: { title: 'scale-chosen', severity: 'information', doc: 'Which `scales:` entry was used, and why.' },
  YOLO022: { title: 'scales-invalid', severity: 'error', doc: 'The `scales:` mapping or the chosen scale is invalid.' },
  YOLO023: {
    title: 'value-out-of-range',
    severity: 'error',
    doc: 'A number is absurd for its role (NaN, infinite, negative, astronomically large).',
  },
  YOLO024: { title: 'stale-index-comment', severity: 'warning', doc: 'A `# N` comment no longer matches the layer\u2019s index.' },
  YOLO025: {
    title: 'unused-layer',
    severity: 'warning',
    doc: 'Nothing consumes this layer\u2019s output: its parameters and FLOPs are spent for nothing.',
  },
  YOLO026: {
    title: 'dialect-mismatch',
    severity: 'warning',
    doc: 'Arguments written for the other framework\u2019s version of this module.',
  },
  YOLO027: {
    title: 'raw-channel-arg',
    severity: 'warning',
    doc: 'A module whose args are passed verbatim has a channel argument that no longer matches its input after width scaling.',
  },
  YOLO028: { title: 'too-large', severity: 'error', doc: 'The file is too large or too deeply nested to analyse.' },
  YOLO029: { title: 'build-error', severity: 'error', doc: 'The module\u2019s constructor would raise with these arguments.' },
  YOLO030: { title: 'internal', severity: 'error', doc: 'YOLO Lens failed on this layer (a bug: please report it).' },
  YOLO031: {
    title: 'layer-not-analysed',
    severity: 'information',
    doc: 'A layer after an error cannot be analysed (its input is unknown).',
  },
  YOLO032: {
    title: 'gflops-unavailable',
    severity: 'warning',
    doc: 'The framework would print no GFLOPs for this model (YOLO Lens still shows its own count).',
  },
  YOLO033: {
    title: 'not-utf8',
    severity: 'warning',
    doc: "The file has bytes that are not UTF-8: they are dropped, as the frameworks\u2019 readers drop them (`errors='ignore'`).",
  },
  YOLO034: {
    title: 'module-in-other-version',
    severity: 'error',
    doc: 'The module or key exists in another version of this code base, not in the one the file is checked against.',
  },
  YOLO060: {
    title: 'weights-stop-loading',
    severity: 'information',
    doc: 'The first layer where tensors of the pretrained checkpoint (`yolo.weights`, `# yolo-lens: weights=`) no longer load.',
  },
  YOLO061: {
    title: 'weights-unreadable',
    severity: 'warning',
    doc: 'The pretrained checkpoint is missing, unreadable, refused (not a torch.save file, or one naming code to run) or not allowed.',
  },
  YOLO035: {
    title: 'input-shifted',
    severity: 'warning',
    doc: 'A head or Concat input is the layer just before one nobody reads, in the same stage: the index probably shifted.',
  },
  YOLO036: {
    title: 'input-mid-stage',
    severity: 'warning',
    doc: 'A head or Concat input is not the last layer of its stage (the layer after it continues at the same size).',
  },
  YOLO037: {
    title: 'head-stride-order',
    severity: 'warning',
    doc: 'Head inputs and anchor rows are in opposite stride orders: YOLOv5 silently reverses the anchors.',
  },
  YOLO038: {
    title: 'imgsz-trap',
    severity: 'warning',
    doc: 'The network downsamples more than the stride the framework checks image sizes against: some accepted sizes fail.',
  },
  YOLO039: {
    title: 'repeats-ignored',
    severity: 'warning',
    doc: 'A repeat count the module\u2019s constructor never uses (n > 1 builds the same block as n = 1).',
  },
  YOLO040: {
    title: 'key-ignored',
    severity: 'warning',
    doc: 'A top-level key this framework ignores or overwrites (`scale:`, `ch:`, multiples beside `scales:`).',
  },
  YOLO041: { title: 'unknown-key', severity: 'warning', doc: 'A top-level key no framework reads (a typo?).' },
  YOLO042: {
    title: 'scale-assumed',
    severity: 'warning',
    doc: 'No scale letter in the file name: ultralytics warns and builds the first `scales:` row.',
  },
  YOLO043: {
    title: 'multiple-floor',
    severity: 'warning',
    doc: 'A width or depth multiple so small that every channel count or repeat count floors to the minimum.',
  },
  YOLO044: {
    title: 'arg-kind',
    severity: 'warning',
    doc: 'A bool where the module takes an int, or a float where it takes a bool: Python accepts it, it means something else.',
  },
  YOLO045: {
    title: 'empty-scale-rule',
    severity: 'warning',
    doc: "A rule keyed on the scale fires because the scale is '' (no `scales:`, no letter in the file name).",
  },
  YOLO046: {
    title: 'module-not-in-workspace',
    severity: 'error',
    doc: 'The code base in the workspace (models/common.py, an ultralytics install) does not define this module.',
  },
} as const satisfies Record<string, { title: string; severity: Severity; doc: string }>;

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
