/**
 * Completion while typing a model YAML (the suggestion list): module names of the file's framework with their
 * signature, doc and an args snippet; `from` values labelled with the layer's index, module and output shape;
 * top-level keys; `scales:` letters; the names parse_model evaluates inside args (`nc`, `anchors`); and the
 * `# yolo-lens:` modeline's keys and values.
 */
import { keyText } from '../document.ts';
import type { Range } from '../range.ts';
import type { Model } from '../model.ts';
import { lineStartOf } from '../lines.ts';
import type { ModuleEntry } from '../framework/types.ts';
import { signatureText } from '../catalog/types.ts';
import { FRAMEWORKS, FRAMEWORK_ALIASES } from '../framework/index.ts';
import { isSeq, pyRepr, seqItems } from '../py.ts';
import { layerCursor, topKeyAt, wordAt, type LayerCursor } from './cursor.ts';
import { outputText, shapeText } from '../../../../common/src/format.ts';
import { treatmentNote, yamlParams, yamlParamAt } from './yamlParams.ts';

export type CompletionKind = 'module' | 'layer' | 'key' | 'scale' | 'name' | 'value' | 'setting';

export interface CoreCompletionItem {
  readonly label: string;
  readonly kind: CompletionKind;
  /** one line after the label in the list (e.g. the signature) */
  readonly detail?: string;
  /** right after the label, dimmed (`  Conv`) */
  readonly labelDetail?: string;
  /** right-aligned (`128×40×40`) */
  readonly labelDescription?: string;
  /** markdown */
  readonly documentation?: string;
  readonly insertText: string;
  readonly snippet: boolean;
  /** the text the item replaces */
  readonly range: Range;
  readonly sortText?: string;
  readonly filterText?: string;
  readonly preselect?: boolean;
}

export interface CompletionResult {
  readonly items: CoreCompletionItem[];
  /** more items exist than were sent: ask again as the user types */
  readonly isIncomplete: boolean;
}

const NONE: CompletionResult = { items: [], isIncomplete: false };
/** `from` suggestions list the most recent layers first; far-back layers come as the user types digits. */
const MAX_FROM_ITEMS = 100;

export function completions(model: Model, offset: number): CompletionResult {
  const text = model.doc.text;
  if (!(offset >= 0 && offset <= text.length)) return NONE;
  const lineStart = lineStartOf(text, offset);
  const before = text.slice(lineStart, offset);
  const modeline = /#\s*yolo-lens:\s*(.*)$/.exec(before);
  if (modeline) return modelineCompletions(model, offset, modeline[1]!);
  if (inComment(before)) return NONE;
  const cursor = layerCursor(model.doc, offset);
  if (cursor) return layerCompletions(model, cursor);
  const key = topKeyAt(text, offset);
  if (key === 'scales' && /^\s+[A-Za-z]*$/.test(before)) return scaleCompletions(model, offset);
  if (/^[A-Za-z_]*$/.test(before)) return keyCompletions(model, offset);
  return NONE;
}

/** A `#` that starts a comment (after whitespace, outside quotes) before the cursor on this line. */
function inComment(before: string): boolean {
  let quote: string | null = null;
  for (let i = 0; i < before.length; i++) {
    const c = before[i]!;
    if (quote) {
      if (c === quote) quote = null;
    } else if (c === "'" || c === '"') quote = c;
    else if (c === '#' && (i === 0 || /\s/.test(before[i - 1]!))) return true;
  }
  return false;
}

function layerCompletions(model: Model, cur: LayerCursor): CompletionResult {
  switch (cur.slot) {
    case 'module':
      return cur.depth === 0 ? moduleCompletions(model, cur) : NONE;
    case 'from':
      return cur.depth <= 1 ? fromCompletions(model, cur) : NONE;
    case 'args':
      return cur.depth === 1 ? argCompletions(model, cur) : NONE;
    default:
      return NONE;
  }
}

// ---- modules ----------------------------------------------------------------------------------------------

/** Args people conventionally write, where the signature's defaults would not say it (`nn.Upsample`). */
const CONVENTIONAL_ARGS: Readonly<Record<string, string>> = {
  Upsample: "None, ${1:2}, ${2:'nearest'}",
  Concat: '${1:1}',
  MaxPool2d: '${1:2}, ${2:2}',
  AvgPool2d: '${1:2}, ${2:2}',
};

/**
 * The args snippet for a module: required parameters by name, then the kernel/stride that follow by their default (up to a None default
 * such as autopad's p).
 */
export function argsSnippet(entry: ModuleEntry, dialect: Model['dialect']): string {
  const conventional = CONVENTIONAL_ARGS[entry.def.name];
  if (conventional !== undefined) return conventional;
  const params = yamlParams(entry);
  const parts: string[] = [];
  let tab = 1;
  let takingKernels = false;
  for (const p of params) {
    const spec = p.param;
    if (spec.name === 'nc') parts.push(`\${${tab++}:nc}`);
    else if (spec.name === 'anchors' && dialect === 'yolov5') parts.push(`\${${tab++}:anchors}`);
    else if (spec.default === undefined) {
      parts.push(`\${${tab++}:${spec.name}}`);
      takingKernels = true;
      continue;
    } else if (takingKernels && spec.kind === 'kernel' && spec.default !== null)
      parts.push(`\${${tab++}:${snippetEscape(spec.defaultText ?? pyRepr(spec.default))}}`);
    else break;
  }
  return parts.join(', ');
}

const snippetEscape = (s: string): string => s.replace(/[$}\\]/g, (c) => `\\${c}`);

function moduleDoc(entry: ModuleEntry, frameworkLabel: string, shownName: string): string {
  const d = entry.def;
  const yp = yamlParams(entry).map((p) => p.param.name);
  return [
    `**${shownName}**\`${signatureText(d)}\``,
    '',
    d.doc,
    '',
    `YAML args: \`[${yp.join(', ')}]\`${treatmentNote(entry) ? ` — ${treatmentNote(entry)}` : ''}`,
    '',
    `\`${d.source}\` · ${frameworkLabel}`,
  ].join('\n');
}

function moduleCompletions(model: Model, cur: LayerCursor): CompletionResult {
  const framework = model.framework;
  const range = cur.word.range;
  const withArgs = !cur.hasLaterElement;
  const items: CoreCompletionItem[] = [];
  const add = (shownName: string, entry: ModuleEntry, rank: string) => {
    const snippet = withArgs ? `${shownName}, [${argsSnippet(entry, model.dialect)}]` : shownName;
    items.push({
      label: shownName,
      kind: 'module',
      detail: `${shownName}${signatureText(entry.def)}`,
      labelDescription: entry.def.category,
      documentation: moduleDoc(entry, framework.label, shownName),
      insertText: snippet,
      snippet: withArgs,
      range,
      sortText: `${rank}${shownName.toLowerCase()}`,
    });
  };
  for (const [name, entry] of framework.modules) add(name, entry, '0');
  for (const [name, entry] of framework.nn) add(`nn.${name}`, entry, '1');
  return { items, isIncomplete: false };
}

// ---- from ---------------------------------------------------------------------------------------------------

function fromCompletions(model: Model, cur: LayerCursor): CompletionResult {
  const i = cur.layerIndex;
  const range = cur.word.range;
  const items: CoreCompletionItem[] = [];
  const inputShape = [1, model.ch, model.imgsz, model.imgsz];
  const describe = (j: number) => {
    if (j < 0) return { module: 'input image', shape: shapeText(inputShape), doc: `the input image, ${shapeText(inputShape)}` };
    const l = model.layers[j];
    if (!l) return { module: '?', shape: '?', doc: `layer ${j}` };
    const module = l.moduleName ?? '?';
    return {
      module,
      shape: outputText(l.outShape, l.outShapes),
      doc:
        `layer ${j} (${l.section}): \`${pyRepr(l.from)}, ${pyRepr(l.nYaml)}, ${module}, ${l.args ? pyRepr(l.args as never) : '…'}\` ` +
        `→ ${outputText(l.outShape, l.outShapes)}`,
    };
  };
  const prev = describe(i - 1);
  items.push({
    label: '-1',
    kind: 'layer',
    labelDetail: i === 0 ? '  input image' : `  previous: ${i - 1} ${prev.module}`,
    labelDescription: prev.shape,
    documentation: `\`-1\`: ${prev.doc}`,
    insertText: '-1',
    snippet: false,
    range,
    sortText: '0000000',
    preselect: true,
  });
  let count = 0;
  for (let j = Math.min(i, model.doc.layers.length) - 1; j >= 0; j--) {
    if (count++ >= MAX_FROM_ITEMS) return { items, isIncomplete: true };
    const d = describe(j);
    items.push({
      label: String(j),
      kind: 'layer',
      labelDetail: `  ${d.module}`,
      labelDescription: d.shape,
      documentation: d.doc,
      insertText: String(j),
      snippet: false,
      range,
      sortText: String(1 + i - j).padStart(7, '0'),
    });
  }
  return { items, isIncomplete: false };
}

// ---- args ---------------------------------------------------------------------------------------------------

function argCompletions(model: Model, cur: LayerCursor): CompletionResult {
  const range = cur.word.range;
  const items: CoreCompletionItem[] = [];
  const nc = model.nc;
  items.push({
    label: 'nc',
    kind: 'name',
    labelDescription: `= ${pyRepr(nc)}`,
    detail: `nc = ${pyRepr(nc)}`,
    documentation: 'The number of classes (the `nc:` key); parse_model replaces the name by its value.',
    insertText: 'nc',
    snippet: false,
    range,
    sortText: '0nc',
  });
  if (model.dialect === 'yolov5') {
    const anchors = model.doc.top.get('anchors')?.value.value ?? null;
    const desc = isSeq(anchors)
      ? `${seqItems(anchors).length} levels × ` +
        `${Math.floor((isSeq(seqItems(anchors)[0] ?? null) ? seqItems(seqItems(anchors)[0] as never).length : 0) / 2)} anchors`
      : pyRepr(anchors);
    items.push({
      label: 'anchors',
      kind: 'name',
      labelDescription: desc,
      detail: `anchors = ${desc}`,
      documentation: 'The `anchors:` key (YOLOv5 dialect); parse_model evaluates the name to its value.',
      insertText: 'anchors',
      snippet: false,
      range,
      sortText: '0anchors',
    });
  }
  const entry = cur.layer ? model.layers[cur.layer.index]?.entry : undefined;
  const p = entry && cur.item >= 0 ? yamlParamAt(entry, cur.item) : undefined;
  if (p && (p.param.kind === 'bool' || p.param.kind === 'act')) {
    for (const v of ['True', 'False'])
      items.push({
        label: v,
        kind: 'value',
        detail: `${p.param.name}: ${p.param.doc}`,
        insertText: v,
        snippet: false,
        range,
        sortText: `1${v}`,
      });
  }
  if (p && p.param.default === null)
    items.push({
      label: 'None',
      kind: 'value',
      detail: `${p.param.name}: ${p.param.doc}`,
      insertText: 'None',
      snippet: false,
      range,
      sortText: '1None',
    });
  return { items, isIncomplete: false };
}

// ---- top-level keys -----------------------------------------------------------------------------------------

const KEYS: readonly { key: string; dialects: readonly Model['dialect'][]; value: string; doc: string }[] = [
  { key: 'nc', dialects: ['yolov5', 'ultralytics'], value: '${1:80}', doc: 'Number of classes.' },
  {
    key: 'depth_multiple',
    dialects: ['yolov5', 'ultralytics'],
    value: '${1:0.33}',
    doc: 'Scales every repeat count n > 1: max(round(n × depth_multiple), 1).',
  },
  {
    key: 'width_multiple',
    dialects: ['yolov5', 'ultralytics'],
    value: '${1:0.25}',
    doc: 'Scales the output channels of channel modules: ceil(c2 × width_multiple / 8) × 8.',
  },
  {
    key: 'anchors',
    dialects: ['yolov5'],
    value: '\n  - [10,13, 16,30, 33,23] # P3/8\n  - [30,61, 62,45, 59,119] # P4/16\n  - [116,90, 156,198, 373,326] # P5/32',
    doc: 'Anchor boxes per detection level (YOLOv5 dialect); or an int: that many anchors per level.',
  },
  {
    key: 'scales',
    dialects: ['ultralytics'],
    value: '\n  ${1:n}: [${2:0.33}, ${3:0.25}, ${4:1024}]',
    doc: 'Model scales: letter → [depth, width, max_channels]; the file name (yolov8n.yaml) picks one.',
  },
  {
    key: 'backbone',
    dialects: ['yolov5', 'ultralytics'],
    value: '\n  - [-1, 1, ${1:Conv}, [${2:64}, ${3:3}, ${4:2}]] # 0',
    doc: 'The backbone layers: [from, number, module, args].',
  },
  {
    key: 'head',
    dialects: ['yolov5', 'ultralytics'],
    value: '\n  - [-1, 1, ${1:Conv}, [${2:256}, ${3:1}, ${4:1}]]',
    doc: 'The head layers, numbered after the backbone\u2019s.',
  },
  {
    key: 'activation',
    dialects: ['yolov5', 'ultralytics'],
    value: '${1:nn.ReLU()}',
    doc: 'The activation every Conv uses instead of the default (YOLOv5 HEAD and ultralytics honour it).',
  },
  { key: 'ch', dialects: ['yolov5', 'ultralytics'], value: '${1:3}', doc: 'Input channels (default 3).' },
  {
    key: 'kpt_shape',
    dialects: ['ultralytics'],
    value: '[${1:17}, ${2:3}]',
    doc: 'Keypoints per object and values per keypoint (Pose models).',
  },
  {
    key: 'channel_multiple',
    dialects: ['yolov5'],
    value: '${1:8}',
    doc: 'The divisor channels are rounded up to (YOLOv5 HEAD; default 8).',
  },
];

function keyCompletions(model: Model, offset: number): CompletionResult {
  const w = wordAt(model.doc.text, offset);
  const items: CoreCompletionItem[] = [];
  KEYS.forEach((k, rank) => {
    if (!k.dialects.includes(model.dialect) || (model.doc.top.has(k.key) && k.key !== w.text)) return;
    items.push({
      label: k.key,
      kind: 'key',
      documentation: k.doc,
      insertText: `${k.key}: ${k.value}`,
      snippet: true,
      range: w.range,
      sortText: String(rank).padStart(2, '0'),
    });
  });
  return { items, isIncomplete: false };
}

// ---- scales -------------------------------------------------------------------------------------------------

/** ultralytics' own YAMLs use these scales (yolov8.yaml). */
const SCALES: readonly [string, number, number, number][] = [
  ['n', 0.33, 0.25, 1024],
  ['s', 0.33, 0.5, 1024],
  ['m', 0.67, 0.75, 768],
  ['l', 1.0, 1.0, 512],
  ['x', 1.0, 1.25, 512],
];

function scaleCompletions(model: Model, offset: number): CompletionResult {
  const w = wordAt(model.doc.text, offset);
  const present = new Set(scaleLetters(model));
  const items = SCALES.filter(([s]) => !present.has(s) || s === w.text).map(([s, d, wd, mc], k): CoreCompletionItem => ({
    label: s,
    kind: 'scale',
    detail: `[depth, width, max_channels] = [${d}, ${wd}, ${mc}]`,
    documentation:
      `Scale \`${s}\`: repeats × ${d}, channels × ${wd}, capped at ${mc}. ultralytics loads \`yolov8${s}.yaml\` with this ` + `scale.`,
    insertText: `${s}: [\${1:${d.toFixed(2)}}, \${2:${wd.toFixed(2)}}, \${3:${mc}}]`,
    snippet: true,
    range: w.range,
    sortText: String(k),
  }));
  return { items, isIncomplete: false };
}

export function scaleLetters(model: Model): string[] {
  const s = model.doc.top.get('scales')?.value;
  if (!s || s.kind !== 'map' || !s.items) return [];
  const out: string[] = [];
  for (let i = 0; i < s.items.length; i += 2) out.push(keyText(s.items[i]!));
  return out;
}

// ---- modeline -----------------------------------------------------------------------------------------------

function modelineCompletions(model: Model, offset: number, typed: string): CompletionResult {
  const w = wordAt(model.doc.text, offset);
  const m = /(\w+)=([\w.-]*)$/.exec(typed);
  const items: CoreCompletionItem[] = [];
  const value = (label: string, doc: string, k: number) => {
    const start = offset - (m ? m[2]!.length : 0);
    items.push({
      label,
      kind: 'setting',
      documentation: doc,
      insertText: label,
      snippet: false,
      range: { start, end: offset },
      sortText: String(k).padStart(2, '0'),
    });
  };
  if (m) {
    if (m[1] === 'framework') {
      const frameworks = Object.values(FRAMEWORKS).filter((t) => t !== undefined);
      frameworks.forEach((t, k) => value(t.id, t.label, k));
      Object.entries(FRAMEWORK_ALIASES).forEach(([alias, id], k) => value(alias, `the newest: ${id}`, frameworks.length + k));
    } else if (m[1] === 'scale') scaleLetters(model).forEach((s, k) => value(s, `use the \`${s}\` entry of scales:`, k));
    else if (m[1] === 'imgsz') [640, 320, 416, 512, 1280].forEach((s, k) => value(String(s), `shapes and FLOPs at ${s}×${s}`, k));
    return { items, isIncomplete: false };
  }
  const keys: [string, string][] = [
    ['framework', 'which upstream code builds this file (overrides detection)'],
    ['scale', 'which `scales:` entry to use'],
    ['imgsz', 'image size for shapes and FLOPs'],
    ['weights', 'a pretrained checkpoint (.pt) to check what still loads, relative to this file'],
  ];
  keys.forEach(([k, doc], n) =>
    items.push({ label: k, kind: 'setting', documentation: doc, insertText: `${k}=`, snippet: false, range: w.range, sortText: String(n) }),
  );
  return { items, isIncomplete: false };
}
