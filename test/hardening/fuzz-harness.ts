/**
 * The fuzzer shared by `test/hardening/fuzz.test.ts` (a bounded CI run) and `bench/fuzz.ts` (any number of cases):
 * fast-check arbitraries for random edits of every corpus and mutant YAML (text level: characters, lines,
 * brackets, numbers, module names, `from` indices, truncation, alias bombs), random models generated from the module
 * catalog (structure level: layers, `from`, args of random types, multiples, scales, options) and plausible models
 * built from shape-consistent templates (mostly healthy); and `checkCase`, which resolves a case, runs every feature
 * the server offers at random positions (through convert.ts, as the server does) and asserts: nothing throws, every
 * call stays within its CPU-time bound, results are well-formed (ranges in the document, LSP types valid by their own
 * guards, edits sorted and versioned), and a model without error diagnostics has every shape, parameter and FLOP
 * count defined, finite and non-negative.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { resolve, clearResolveCaches, MAX_MODULES, type ResolveOptions } from '../../server/src/core/resolve.ts';
import { parseModelDoc } from '../../server/src/core/document.ts';
import type { Range } from '../../server/src/core/range.ts';
import type { Model } from '../../server/src/core/model.ts';
import { countParams, type Mod } from '../../server/src/core/nn/module.ts';
import { CODES, MAX_MESSAGE } from '../../server/src/core/diagnostics.ts';
import { LineIndex } from '../../server/src/core/lines.ts';
import { FRAMEWORKS, frameworkByName } from '../../server/src/core/framework/index.ts';
import type { ParamKind } from '../../server/src/core/catalog/types.ts';
import type { TreatmentName } from '../../server/src/core/framework/types.ts';
import { toGraphResult } from '../../server/src/convert.ts';
import { codeActions, staleIndexCommentEdits } from '../../server/src/core/features/codeActions.ts';
import { applyEdits } from '../../server/src/core/features/textEdit.ts';
import { codeLenses } from '../../server/src/core/features/codeLens.ts';
import { completions } from '../../server/src/core/features/completion.ts';
import { modelDiagnostics } from '../../server/src/core/features/diagnostics.ts';
import { hover } from '../../server/src/core/features/hover.ts';
import { inlayHints } from '../../server/src/core/features/inlayHints.ts';
import { definition, highlights, references } from '../../server/src/core/features/references.ts';
import { signatureHelp } from '../../server/src/core/features/signatureHelp.ts';
import { submodules } from '../../server/src/core/features/submodules.ts';
import { documentSymbols } from '../../server/src/core/features/symbols.ts';
import {
  toLspCodeAction,
  toLspCodeLens,
  toLspCompletion,
  toLspDefinition,
  toLspDiagnostic,
  toLspHover,
  toLspInlayHint,
  toLspSignatureHelp,
  toLspSymbols,
  toOffset,
} from '../../server/src/convert.ts';
import {
  CodeAction,
  CodeLens,
  Diagnostic as LspDiagnostic,
  DocumentSymbol,
  Hover,
  InlayHint,
  LocationLink,
  Range as LspRange,
  TextEdit as LspTextEdit,
  WorkspaceEdit,
} from 'vscode-languageserver';
import { recordJson, summaryTable } from '../../server/src/core/summary.ts';
import { loadCases } from '../support/reference.ts';
import { planJob } from '../../server/src/runtime/engine.ts';
import { jobFor } from '../../server/src/runtime/profile.ts';

// ---- seeds: every corpus YAML and every reference mutant, resolved as the reference run resolved it -------------

export interface Seed {
  readonly name: string;
  readonly text: string;
  readonly options: ResolveOptions;
}

let seedCache: Seed[] | null = null;
export function loadSeeds(): Seed[] {
  seedCache ??= loadCases().map((c) => ({ name: c.name, text: c.text, options: c.options }));
  return seedCache;
}

// ---- vocabularies, from the catalog ---------------------------------------------------------------------------

const ALL_FRAMEWORKS = Object.values(FRAMEWORKS).filter((t) => t !== undefined);
/** every module name any framework resolves, with and without `nn.` */
export const MODULE_NAMES: readonly string[] = [
  ...new Set(ALL_FRAMEWORKS.flatMap((t) => [...t.modules.keys(), ...[...t.nn.keys()].map((k) => `nn.${k}`)])),
].sort();
const NOT_MODULES = [
  'NotAModule',
  'conv',
  'C3 ',
  'nn.',
  'torch.nn.Conv2d',
  'nn.nn.Conv2d',
  '__import__',
  'os.system',
  'eval',
  "__import__('os').system('true')",
  'Détect',
  '1',
  '',
];

/** numbers as YAML writes them, including the absurd */
const NUMBER_TEXTS = [
  '0',
  '1',
  '-1',
  '2',
  '3',
  '-2',
  '4',
  '8',
  '64',
  '255',
  '1024',
  '4096',
  '65536',
  '1e12',
  '1000000000000',
  '1.0e+9',
  '1.0e+308',
  '0.5',
  '-0.25',
  '0.0',
  '1.5',
  '.nan',
  '.inf',
  '-.inf',
  '1e-3',
  '999999999999999999999',
  '0x10',
  '010',
  '0b11',
  '1_000',
  '1:30',
  '3.0',
  '-0.0',
  'True',
  'False',
  'None',
  "'3'",
  '"-1"',
  '[]',
  '[1, 2]',
];

/** pieces typed or pasted at random places */
const PIECES = [
  '[',
  ']',
  '[[',
  ']]',
  ',',
  ' ',
  '\n',
  '  ',
  '- ',
  '-',
  '#',
  '# ',
  ': ',
  ':',
  "'",
  '"',
  '&a ',
  '*a',
  '*b',
  '<<: *a\n',
  '!!str ',
  '!!python/object/apply:os.system ["true"] ',
  '!!binary ',
  '!ruby ',
  '{',
  '}',
  '{}',
  '|',
  '>',
  '1',
  '-1',
  '0',
  'Conv',
  'nc',
  'anchors',
  '\t',
  '\r\n',
  '\r',
  '---\n',
  '...\n',
  'x:',
  '? ',
  '%YAML 1.1\n',
  '\ufeff',
  'é',
  '𝒳',
  '\u0000',
  '\ud800',
  '\u2028',
  'nc: 3\n',
  'backbone: []\n',
  'head:\n',
  '\n  - [-1, 1, Conv, [64, 3, 2]]',
  '\n  - [[-1, 0], 1, Concat, [1]]',
  'scales:\n  n: [0.33, 0.25, 1024]\n',
  '# yolo-lens: framework=ultralytics\n',
  '# yolo-lens: imgsz=33 scale=q\n',
  'None',
  'True',
  "'nearest'",
  '1.0e+9',
  '1e12',
  '.nan',
];

// ---- text-level edits -----------------------------------------------------------------------------------------

export type TextEdit =
  | { readonly op: 'delete'; readonly at: number; readonly len: number }
  | { readonly op: 'insert'; readonly at: number; readonly piece: string }
  | { readonly op: 'duplicate'; readonly at: number; readonly len: number }
  | { readonly op: 'deleteLine'; readonly line: number }
  | { readonly op: 'duplicateLine'; readonly line: number }
  | { readonly op: 'swapLines'; readonly a: number; readonly b: number }
  | { readonly op: 'bracket'; readonly k: number; readonly action: 'delete' | 'duplicate' | 'flip' }
  | { readonly op: 'number'; readonly k: number; readonly text: string }
  | { readonly op: 'module'; readonly k: number; readonly name: string }
  | { readonly op: 'fromIndex'; readonly k: number; readonly value: number }
  | { readonly op: 'truncate'; readonly at: number }
  /** billion laughs: anchors defined on top, one number replaced by an alias to level `level` */
  | { readonly op: 'aliasBomb'; readonly k: number; readonly level: number };

const textEditArb: fc.Arbitrary<TextEdit> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ op: fc.constant('delete' as const), at: fc.nat(), len: fc.integer({ min: 1, max: 40 }) }) },
  {
    weight: 4,
    arbitrary: fc.record({
      op: fc.constant('insert' as const),
      at: fc.nat(),
      piece: fc.oneof(
        { weight: 4, arbitrary: fc.constantFrom(...PIECES) },
        { weight: 1, arbitrary: fc.string({ maxLength: 6, unit: 'binary' }) },
      ),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('duplicate' as const), at: fc.nat(), len: fc.integer({ min: 1, max: 60 }) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('deleteLine' as const), line: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('duplicateLine' as const), line: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('swapLines' as const), a: fc.nat(), b: fc.nat() }) },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('bracket' as const),
      k: fc.nat(),
      action: fc.constantFrom('delete' as const, 'duplicate' as const, 'flip' as const),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      op: fc.constant('number' as const),
      k: fc.nat(),
      text: fc.oneof(
        fc.constantFrom(...NUMBER_TEXTS),
        fc.integer({ min: -100, max: 5000 }).map(String),
        fc.double({ noNaN: true, min: -1e6, max: 1e6 }).map((x) => x.toFixed(3)),
      ),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant('module' as const),
      k: fc.nat(),
      name: fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...MODULE_NAMES) }, { weight: 1, arbitrary: fc.constantFrom(...NOT_MODULES) }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant('fromIndex' as const),
      k: fc.nat(),
      value: fc.oneof(fc.integer({ min: -4, max: 40 }), fc.integer({ min: -100_000, max: 100_000 })),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('aliasBomb' as const), k: fc.nat(), level: fc.integer({ min: 0, max: 11 }) }) },
);

/** Nine times nine times ... 'lol': level 11 stands for 9^12 strings (PyYAML would build them all). */
const BOMB = Array.from({ length: 12 }, (_, i) => {
  const name = `lol${i}`;
  return i === 0
    ? `${name}: &${name} ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]`
    : `${name}: &${name} [${Array(9)
        .fill(`*lol${i - 1}`)
        .join(',')}]`;
}).join('\n');

const semanticEditArb: fc.Arbitrary<TextEdit> = fc.oneof(
  fc.record({
    op: fc.constant('number' as const),
    k: fc.nat(),
    text: fc.oneof(
      fc.constantFrom('1', '2', '3', '8', '16', '64', '128', '256', '512', '1024', '0.5', '1.0', '0.25'),
      fc.integer({ min: 1, max: 2048 }).map(String),
    ),
  }),
  fc.record({ op: fc.constant('module' as const), k: fc.nat(), name: fc.constantFrom(...MODULE_NAMES) }),
  fc.record({ op: fc.constant('fromIndex' as const), k: fc.nat(), value: fc.integer({ min: -4, max: 30 }) }),
  fc.record({ op: fc.constant('duplicateLine' as const), line: fc.nat() }),
  fc.record({ op: fc.constant('deleteLine' as const), line: fc.nat() }),
);

function lineSpans(text: string): Range[] {
  const spans: Range[] = [];
  let start = 0;
  for (let i = 0; i < text.length; i++)
    if (text[i] === '\n') {
      spans.push({ start, end: i + 1 });
      start = i + 1;
    }
  if (start < text.length) spans.push({ start, end: text.length });
  return spans;
}

const splice = (text: string, r: Range, insert: string): string => text.slice(0, r.start) + insert + text.slice(r.end);

/** Applies one edit; positions are taken modulo what the text has, so every edit applies to every text. */
export function applyEdit(text: string, e: TextEdit): string {
  const at = (x: number) => x % (text.length + 1);
  switch (e.op) {
    case 'delete':
      return splice(text, { start: at(e.at), end: Math.min(text.length, at(e.at) + e.len) }, '');
    case 'insert':
      return splice(text, { start: at(e.at), end: at(e.at) }, e.piece);
    case 'duplicate': {
      const s = at(e.at);
      const piece = text.slice(s, s + e.len);
      return splice(text, { start: s, end: s }, piece);
    }
    case 'truncate':
      return text.slice(0, at(e.at));
    case 'deleteLine':
    case 'duplicateLine': {
      const lines = lineSpans(text);
      if (!lines.length) return text;
      const l = lines[e.line % lines.length]!;
      return e.op === 'deleteLine'
        ? splice(text, l, '')
        : splice(text, { start: l.end, end: l.end }, text.slice(l.start, l.end).replace(/([^\n])$/, '$1\n'));
    }
    case 'swapLines': {
      const lines = text.split('\n');
      const a = e.a % lines.length;
      const b = e.b % lines.length;
      [lines[a], lines[b]] = [lines[b]!, lines[a]!];
      return lines.join('\n');
    }
    case 'bracket': {
      const spots = [...text.matchAll(/[[\]]/g)].map((m) => m.index);
      if (!spots.length) return text;
      const s = spots[e.k % spots.length]!;
      const r = { start: s, end: s + 1 };
      return e.action === 'delete'
        ? splice(text, r, '')
        : e.action === 'duplicate'
          ? splice(text, r, text[s]! + text[s]!)
          : splice(text, r, text[s] === '[' ? ']' : '[');
    }
    case 'aliasBomb': {
      const spots = [...text.matchAll(/(?<![\w.])-?\d+(?![\w.])/g)];
      const body = spots.length
        ? splice(
            text,
            { start: spots[e.k % spots.length]!.index, end: spots[e.k % spots.length]!.index + spots[e.k % spots.length]![0].length },
            `*lol${e.level}`,
          )
        : text;
      return `${BOMB}\n${body}`;
    }
    case 'number': {
      const spots = [...text.matchAll(/(?<![\w.])[-+]?(?:\d[\d_]*(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?(?![\w.])/g)];
      if (!spots.length) return text;
      const m = spots[e.k % spots.length]!;
      return splice(text, { start: m.index, end: m.index + m[0].length }, e.text);
    }
    case 'module':
    case 'fromIndex': {
      // the document reader knows where module names and `from` elements are
      const doc = parseModelDoc(text);
      const spots: Range[] = [];
      for (const l of doc.layers) {
        if (e.op === 'module' && l.module) spots.push(l.module.range);
        if (e.op === 'fromIndex' && l.from) for (const it of l.from.items ?? [l.from]) spots.push(it.range);
      }
      if (!spots.length) return text;
      return splice(text, spots[e.k % spots.length]!, e.op === 'module' ? e.name : String(e.value));
    }
  }
}

export interface TextCase {
  readonly kind: 'text';
  readonly seed: number;
  readonly edits: readonly TextEdit[];
  readonly options: ResolveOptions;
}

const optionsArb: fc.Arbitrary<Partial<ResolveOptions>> = fc.record(
  {
    imgsz: fc.oneof(
      fc.constantFrom(640, 320, 32, 64, 256, 1280, 8192),
      fc.integer({ min: -10, max: 2000 }),
      fc.constantFrom(0, 1.5, NaN, Infinity),
    ),
    scale: fc.constantFrom('n', 's', 'm', 'l', 'x', 'q', ''),
    ch: fc.constantFrom(1, 3, 4, 0, -1),
    fileName: fc.constantFrom(
      'model.yaml',
      'yolov8s-world.yaml',
      'yolo11x.yaml',
      'yolov5n.yaml',
      '',
      '../../etc/passwd',
      'C:\\models\\yolov8m-seg.yaml',
      '.yaml',
    ),
    framework: fc.constantFrom('yolov5' as const, 'yolov5-gsconv' as const, 'ultralytics' as const, 'scaled-yolov4' as const),
  },
  { requiredKeys: [] },
);

export function textCaseArb(seedCount: number): fc.Arbitrary<TextCase> {
  return fc.record({
    kind: fc.constant('text' as const),
    seed: fc.nat({ max: seedCount - 1 }),
    // half of the cases: edits a user makes to a working file (a number, a module, a `from`, a line); the other
    // half: anything, as typed or pasted mid-edit
    edits: fc.oneof(fc.array(semanticEditArb, { minLength: 1, maxLength: 3 }), fc.array(textEditArb, { minLength: 1, maxLength: 6 })),
    // mostly the options the reference run used; sometimes others
    options: fc.oneof({ weight: 4, arbitrary: fc.constant({}) }, { weight: 1, arbitrary: optionsArb }),
  });
}

export function textOf(c: TextCase, seeds: readonly Seed[]): { text: string; options: ResolveOptions; name: string } {
  const seed = seeds[c.seed]!;
  let text = seed.text;
  for (const e of c.edits) text = applyEdit(text, e);
  return { text, options: { ...seed.options, ...c.options }, name: seed.name };
}

// ---- structure-level models from the catalog -----------------------------------------------------------------

/** A YAML value as generated; rendered as flow YAML text. */
export type GenVal = number | { f: number } | boolean | null | string | { raw: string } | GenVal[];

export interface GenLayer {
  readonly from: number | number[];
  readonly n: GenVal;
  readonly module: string;
  readonly args: GenVal[];
}

export interface GenModel {
  readonly kind: 'structure';
  readonly dialect: 'yolov5' | 'ultralytics';
  readonly nc: GenVal;
  readonly depth: GenVal;
  readonly width: GenVal;
  readonly anchors: GenVal;
  readonly scales: readonly (readonly [string, GenVal])[] | null;
  readonly extra: readonly (readonly [string, GenVal])[];
  readonly backbone: readonly GenLayer[];
  readonly head: readonly GenLayer[];
  readonly flow: boolean;
  readonly options: Partial<ResolveOptions>;
}

const PLAIN_SAFE = /^[A-Za-z_][A-Za-z0-9_.]*$/;
const RESERVED = /^(?:y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF|null|Null|NULL|~)$/;

export function renderVal(v: GenVal): string {
  if (v === null) return 'None';
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'number') return String(v);
  if (typeof v === 'string') return PLAIN_SAFE.test(v) && !RESERVED.test(v) && v !== 'None' ? v : `'${v.replace(/'/g, "''")}'`;
  if (Array.isArray(v)) return `[${v.map(renderVal).join(', ')}]`;
  if ('raw' in v) return v.raw;
  // a float as PyYAML reads one: a dot, and a signed exponent
  const x = v.f;
  if (Number.isNaN(x)) return '.nan';
  if (!Number.isFinite(x)) return x > 0 ? '.inf' : '-.inf';
  const s = String(x);
  if (/e/.test(s))
    return s.replace(
      /^(-?\d+)(?:\.(\d+))?e([-+]?)(\d+)$/,
      (_, a: string, b: string | undefined, sg: string, d: string) => `${a}.${b ?? '0'}e${sg || '+'}${d}`,
    );
  return s.includes('.') ? s : `${s}.0`;
}

export function renderModel(m: GenModel): string {
  const out: string[] = ['# generated by the hardening fuzzer'];
  out.push(`nc: ${renderVal(m.nc)}`);
  if (m.dialect === 'yolov5') {
    out.push(`depth_multiple: ${renderVal(m.depth)}`, `width_multiple: ${renderVal(m.width)}`);
    if (Array.isArray(m.anchors)) {
      out.push('anchors:');
      for (const row of m.anchors) out.push(`  - ${renderVal(row)}`);
    } else out.push(`anchors: ${renderVal(m.anchors)}`);
  } else if (m.scales) {
    out.push('scales:');
    for (const [k, v] of m.scales) out.push(`  ${k}: ${renderVal(v)}`);
  }
  for (const [k, v] of m.extra) out.push(`${k}: ${renderVal(v)}`);
  const layer = (l: GenLayer) => `[${renderVal(l.from)}, ${renderVal(l.n)}, ${l.module === '' ? "''" : l.module}, ${renderVal(l.args)}]`;
  for (const [name, layers] of [
    ['backbone', m.backbone],
    ['head', m.head],
  ] as const) {
    if (m.flow) {
      out.push(`${name}:`, `  [${layers.map((l, k) => `${k ? '   ' : ''}${layer(l)},`).join('\n')}`, '  ]');
    } else {
      out.push(`${name}:`);
      for (const l of layers) out.push(`  - ${layer(l)}`);
      if (!layers.length) out[out.length - 1] += ' []';
    }
  }
  return out.join('\n') + '\n';
}

const floatArb = (min: number, max: number) => fc.double({ min, max, noNaN: true }).map((x) => ({ f: Math.round(x * 1000) / 1000 }));
const randomValArb: fc.Arbitrary<GenVal> = fc.letrec<{ v: GenVal }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.integer({ min: -3, max: 2048 }),
    fc.constantFrom(0, -1, 1_000_000_000_000, 2 ** 53, 3),
    floatArb(-4, 4),
    fc.constantFrom({ f: NaN }, { f: Infinity }, { f: -Infinity }, { f: 1e9 }, { f: 1e-9 }),
    fc.boolean(),
    fc.constant(null),
    fc.constantFrom(
      'nc',
      'anchors',
      'nearest',
      'bilinear',
      'nn.ReLU()',
      'nn.Hardswish()',
      'None',
      'x',
      'nc*2',
      'nc+1',
      '1/0',
      "__import__('os').system('true')",
      'open("/etc/passwd").read()',
      '[1]*10**9',
      '9**9**9',
      'lambda: 0',
      '(1,)*3',
      '',
    ),
    fc.array(tie('v'), { maxLength: 4 }),
  ),
})).v;

function kindValArb(kind: ParamKind): fc.Arbitrary<GenVal> {
  switch (kind) {
    case 'channels':
      return fc.oneof(fc.constantFrom(16, 32, 64, 128, 256, 512, 1024), fc.integer({ min: 1, max: 1024 }));
    case 'int':
      // now and then a count no model has (repeat counts written into args ran out of memory once)
      return fc.oneof(
        { weight: 30, arbitrary: fc.integer({ min: 0, max: 6 }) },
        { weight: 1, arbitrary: fc.constantFrom(5000, 1_000_000_000) },
      );
    case 'float':
      return floatArb(0, 2);
    case 'bool':
      return fc.boolean();
    case 'kernel':
      return fc.oneof(fc.constantFrom<GenVal>(1, 3, 5, 7), fc.constant<GenVal>([3, 3]), fc.constant<GenVal>([5, 9, 13]));
    case 'act':
      return fc.constantFrom<GenVal>(true, false, 'nn.ReLU()', 'nn.SiLU()');
    case 'str':
      return fc.constantFrom<GenVal>('nearest', 'bilinear', null);
    case 'list':
      return fc.constantFrom<GenVal>([5, 9, 13], [1, 2], [], [[10, 13, 16, 30, 33, 23]]);
    case 'any':
      return fc.constantFrom<GenVal>(null, 'nc', 'anchors', 1, 2);
  }
}

/** how many leading signature params parse_model supplies itself (c1, and n for repeat modules), by treatment */
function yamlSignatureStart(treat: TreatmentName): number {
  return treat === 'channels' ||
    treat === 'repeats' ||
    treat === 'aifi' ||
    treat === 'hgstem' ||
    treat === 'hgblock' ||
    treat === 'cblinear' ||
    treat === 'hardblock'
    ? 1
    : 0;
}

function argsArb(moduleName: string, dialect: 'yolov5' | 'ultralytics'): fc.Arbitrary<GenVal[]> {
  const framework = dialect === 'yolov5' ? FRAMEWORKS.yolov5! : frameworkByName('ultralytics')!;
  const entry = moduleName.startsWith('nn.') ? framework.nn.get(moduleName.slice(3)) : framework.modules.get(moduleName);
  if (!entry) return fc.array(randomValArb, { maxLength: 5 });
  let sig = entry.def.signature.slice(yamlSignatureStart(entry.treat));
  if (entry.treat === 'repeats') sig = sig.filter((p) => p.name !== 'n');
  if (entry.treat === 'head') sig = sig.slice(0, -1);
  const typed = sig.map((p) => fc.oneof({ weight: 6, arbitrary: kindValArb(p.kind) }, { weight: 1, arbitrary: randomValArb }));
  const required = sig.filter((p) => p.default === undefined).length;
  return fc
    .tuple(fc.tuple(...typed), fc.integer({ min: Math.max(0, required - 1), max: sig.length + 1 }), randomValArb)
    .map(([vals, len, extra]) => (len > vals.length ? [...vals, extra] : vals.slice(0, len)));
}

const V5_COMMON = [
  'Conv',
  'C3',
  'SPPF',
  'Concat',
  'nn.Upsample',
  'Bottleneck',
  'GSConv',
  'VoVGSCSP',
  'Focus',
  'DWConv',
  'GhostConv',
  'C3Ghost',
  'SPP',
  'BottleneckCSP',
  'nn.MaxPool2d',
  'nn.Identity',
];
const UL_COMMON = [
  'Conv',
  'C2f',
  'C3k2',
  'SPPF',
  'Concat',
  'nn.Upsample',
  'C2PSA',
  'GSConv',
  'VoVGSCSP',
  'ADown',
  'SCDown',
  'RepNCSPELAN4',
  'GhostConv',
  'C3',
  'PSA',
  'C2fCIB',
  'AIFI',
  'nn.MaxPool2d',
];
const V5_HEADS = ['Detect', 'Segment'];
const UL_HEADS = ['Detect', 'Segment', 'Pose', 'OBB', 'v10Detect', 'Classify', 'RTDETRDecoder', 'WorldDetect'];

function layerArb(
  dialect: 'yolov5' | 'ultralytics',
  head: boolean,
): fc.Arbitrary<Omit<GenLayer, 'from'> & { fromPick: [number, number[], number] }> {
  const framework = dialect === 'yolov5' ? FRAMEWORKS.yolov5! : frameworkByName('ultralytics')!;
  const moduleArb = head
    ? fc.constantFrom(...(dialect === 'yolov5' ? V5_HEADS : UL_HEADS))
    : fc.oneof(
        { weight: 8, arbitrary: fc.constantFrom(...(dialect === 'yolov5' ? V5_COMMON : UL_COMMON)) },
        { weight: 3, arbitrary: fc.constantFrom(...framework.modules.keys()) },
        { weight: 1, arbitrary: fc.constantFrom(...[...framework.nn.keys()].map((k) => `nn.${k}`)) },
        { weight: 1, arbitrary: fc.constantFrom(...MODULE_NAMES, ...NOT_MODULES) },
      );
  return moduleArb.chain((module) =>
    fc.record({
      module: fc.constant(module),
      n: fc.oneof(
        { weight: 8, arbitrary: fc.constant<GenVal>(1) },
        { weight: 3, arbitrary: fc.integer({ min: 1, max: 9 }) },
        { weight: 1, arbitrary: randomValArb },
      ),
      args: argsArb(module, dialect),
      // [kind of from, list picks, wild index]: resolved against the layer's position in genModelArb
      fromPick: fc.tuple(
        fc.integer({ min: 0, max: 19 }),
        fc.array(fc.nat(), { minLength: 1, maxLength: 4 }),
        fc.integer({ min: -60, max: 80 }),
      ),
    }),
  );
}

function placeFrom(index: number, pick: [number, number[], number], head: boolean): number | number[] {
  const [kind, picks, wild] = pick;
  const earlier = (x: number) => (index === 0 ? -1 : x % index);
  if (head || (kind >= 12 && kind < 17)) return picks.map((x, k) => (k === 0 && !head ? -1 : earlier(x)));
  if (kind >= 17 && kind < 19) return wild;
  if (kind === 19) return [wild, -1];
  return -1;
}

export function structureCaseArb(): fc.Arbitrary<GenModel> {
  return fc.constantFrom<'yolov5' | 'ultralytics'>('yolov5', 'ultralytics').chain((dialect) =>
    fc
      .record({
        nc: fc.oneof({ weight: 6, arbitrary: fc.constantFrom<GenVal>(80, 1, 20) }, { weight: 1, arbitrary: randomValArb }),
        depth: fc.oneof(
          { weight: 6, arbitrary: fc.constantFrom<GenVal>({ f: 0.33 }, { f: 0.67 }, { f: 1 }, 1) },
          { weight: 1, arbitrary: randomValArb },
        ),
        width: fc.oneof(
          { weight: 6, arbitrary: fc.constantFrom<GenVal>({ f: 0.25 }, { f: 0.5 }, { f: 1.25 }, 1) },
          { weight: 1, arbitrary: randomValArb },
        ),
        anchors: fc.oneof(
          {
            weight: 6,
            arbitrary: fc.constant<GenVal>([
              [10, 13, 16, 30, 33, 23],
              [30, 61, 62, 45, 59, 119],
              [116, 90, 156, 198, 373, 326],
            ]),
          },
          { weight: 1, arbitrary: fc.oneof(fc.integer({ min: 0, max: 5 }), fc.constantFrom(-3, 5000, 1_000_000_000)) },
          { weight: 1, arbitrary: randomValArb },
        ),
        scales: fc.option(
          fc.array(
            fc.tuple(
              fc.oneof(
                { weight: 5, arbitrary: fc.constantFrom('n', 's', 'm', 'l', 'x') },
                { weight: 1, arbitrary: fc.constantFrom('q', '0', 'nn', 'True') },
              ),
              fc.oneof(
                {
                  weight: 5,
                  arbitrary: fc.tuple(floatArb(0.1, 1.5), floatArb(0.1, 1.5), fc.constantFrom(256, 512, 1024, 2048)).map((t): GenVal => t),
                },
                { weight: 1, arbitrary: randomValArb },
              ),
            ),
            { minLength: 1, maxLength: 5 },
          ),
          { freq: 6 },
        ),
        extra: fc.array(
          fc.tuple(
            fc.constantFrom('ch', 'activation', 'kpt_shape', 'channel_multiple', 'nc', 'depth_multiple', 'width_multiple'),
            randomValArb,
          ),
          { maxLength: 2 },
        ),
        backbone: fc.array(layerArb(dialect, false), { minLength: 0, maxLength: 24 }),
        head: fc.array(layerArb(dialect, false), { maxLength: 16 }),
        last: fc.option(layerArb(dialect, true), { freq: 2 }),
        flow: fc.boolean(),
        options: fc.oneof({ weight: 4, arbitrary: fc.constant({}) }, { weight: 1, arbitrary: optionsArb }),
      })
      .map((r): GenModel => {
        const all = [...r.backbone, ...r.head, ...(r.last ? [r.last] : [])];
        const placed = all.map((l, i): GenLayer => ({
          module: l.module,
          n: l.n,
          args: l.args,
          from: placeFrom(i, l.fromPick, r.last !== null && i === all.length - 1),
        }));
        return {
          kind: 'structure',
          dialect,
          nc: r.nc,
          depth: r.depth,
          width: r.width,
          anchors: r.anchors,
          scales: dialect === 'ultralytics' ? r.scales : null,
          extra: r.extra,
          backbone: placed.slice(0, r.backbone.length),
          head: placed.slice(r.backbone.length),
          flow: r.flow,
          options: r.options,
        };
      }),
  );
}

// ---- plausible models: built from templates that keep shapes consistent, so most of them resolve cleanly and the
// "no error diagnostics ⇒ every figure defined" property is exercised on many different healthy models

interface Step {
  /** template index, channel pick, kernel pick, repeat count, partner pick */
  readonly t: number;
  readonly c: number;
  readonly k: number;
  readonly n: number;
  readonly j: number;
}

const stepArb: fc.Arbitrary<Step> = fc.record({ t: fc.nat(), c: fc.nat(), k: fc.nat(), n: fc.integer({ min: 1, max: 12 }), j: fc.nat() });
const CHANNELS = [8, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024, 1280, 3, 5, 17, 100];

/** One template layer: the module, args from picks, and what it does to the spatial size (−1 down, +1 up). */
function templateLayer(
  dialect: 'yolov5' | 'ultralytics',
  gs: boolean,
  s: Step,
  here: number,
  strides: readonly number[],
): { layer: GenLayer; stride: number } {
  const c = CHANNELS[s.c % CHANNELS.length]!;
  const k = [1, 3, 5][s.k % 3]!;
  const cur = strides[strides.length - 1] ?? 0;
  const v5 = dialect === 'yolov5';
  const seq = (module: string, args: GenVal[], n: GenVal = 1, d = 0) => ({ layer: { from: -1, n, module, args }, stride: cur + d });
  const templates = v5
    ? [
        () => seq('Conv', [c, k, 1]),
        () => seq('Conv', [c, 3, 2], 1, 1),
        () => seq('C3', s.k % 2 ? [c] : [c, false], s.n),
        () => seq('BottleneckCSP', [c], s.n),
        () => seq('SPPF', [c, k]),
        () => seq('SPP', [c, [5, 9, 13]]),
        () => seq('DWConv', [c, 3, s.k % 2 ? 2 : 1], 1, s.k % 2),
        () => seq('nn.Upsample', [null, 2, 'nearest'], 1, -1),
        () => seq(gs ? 'GSConv' : 'Conv', [c, k, s.k % 2 ? 2 : 1], 1, s.k % 2),
        () => seq(gs ? 'VoVGSCSP' : 'C3', [c], s.n),
        () => seq('nn.MaxPool2d', [2, 2], 1, 1),
        () => seq('Bottleneck', [c]),
      ]
    : [
        () => seq('Conv', [c, k, 1]),
        () => seq('Conv', [c, 3, 2], 1, 1),
        () => seq('C2f', [c, s.k % 2 === 0], s.n),
        () => seq('C3k2', [c, s.k % 2 === 0, { f: 0.25 }], s.n),
        () => seq('SPPF', [c, k]),
        () => seq('ADown', [c], 1, 1),
        () => seq('SCDown', [c, 3, 2], 1, 1),
        () => seq('RepNCSPELAN4', [c, Math.max(1, c >> 1), Math.max(1, c >> 2), 1]),
        () => seq('GhostConv', [c, 3, s.k % 2 ? 2 : 1], 1, s.k % 2),
        () => seq('nn.Upsample', [null, 2, 'nearest'], 1, -1),
        () => seq('GSConv', [c, k, s.k % 2 ? 2 : 1], 1, s.k % 2),
        () => seq('VoVGSCSP', [c], s.n),
        () => seq('C2PSA', [c], s.n),
        () => seq('C2fCIB', [c, true], s.n),
        () => seq('C3', [c], s.n),
      ];
  // a Concat with an earlier layer of the same size, when there is one
  const same = strides.map((x, j) => [x, j] as const).filter(([x, j]) => x === cur && j < here - 1);
  if (s.t % 5 === 0 && same.length) {
    const j = same[s.j % same.length]![1];
    return { layer: { from: [-1, j], n: 1, module: 'Concat', args: [1] }, stride: cur };
  }
  const layer = templates[s.t % templates.length]!();
  // never below a 1×1 map at 640 (stride 2^9 would be 1 pixel at 512): keep the model meaningful
  if (layer.stride > 6 || layer.stride < 0) return seq('Conv', [c, 1, 1]);
  return layer;
}

export function plausibleCaseArb(): fc.Arbitrary<GenModel> {
  return fc
    .record({
      dialect: fc.constantFrom<'yolov5' | 'ultralytics'>('yolov5', 'ultralytics'),
      gs: fc.boolean(),
      steps: fc.array(stepArb, { minLength: 1, maxLength: 40, size: 'max' }),
      head: fc.constantFrom('Detect', 'Segment', 'Pose', 'OBB', 'Classify', 'v10Detect', 'none'),
      levels: fc.integer({ min: 1, max: 4 }),
      depth: fc.constantFrom<GenVal>({ f: 0.33 }, { f: 0.67 }, { f: 1.0 }, { f: 1.33 }, { f: 0.1 }, 1),
      width: fc.constantFrom<GenVal>({ f: 0.25 }, { f: 0.5 }, { f: 0.75 }, { f: 1.0 }, { f: 1.25 }, { f: 0.0625 }, 2),
      scale: fc.constantFrom('n', 's', 'm', 'l', 'x'),
      maxChannels: fc.constantFrom(256, 512, 768, 1024, 2048),
      nc: fc.constantFrom<GenVal>(1, 2, 80, 1000),
      flow: fc.boolean(),
      imgsz: fc.constantFrom(640, 320, 1280, 224, 256, 96),
    })
    .map((r): GenModel => {
      const layers: GenLayer[] = [];
      const strides: number[] = [];
      r.steps.forEach((s, i) => {
        const { layer, stride } = templateLayer(r.dialect, r.gs, s, i, strides);
        layers.push(layer);
        strides.push(stride);
      });
      // the head takes the last layer of each of the deepest `levels` distinct sizes
      const byStride = new Map<number, number>();
      strides.forEach((x, j) => byStride.set(x, j));
      const picks = [...byStride.entries()]
        .sort((a, b) => a[0] - b[0])
        .slice(-r.levels)
        .map(([, j]) => j);
      const v5 = r.dialect === 'yolov5';
      const anchorRow = [10, 13, 16, 30, 33, 23];
      if (r.head !== 'none') {
        if (v5)
          layers.push({
            from: picks,
            n: 1,
            module: r.head === 'Segment' ? 'Segment' : 'Detect',
            args: r.head === 'Segment' ? ['nc', 'anchors', 32, 256] : ['nc', 'anchors'],
          });
        else if (r.head === 'Classify') layers.push({ from: -1, n: 1, module: 'Classify', args: ['nc'] });
        else
          layers.push({
            from: picks,
            n: 1,
            module: r.head,
            args: r.head === 'Segment' ? ['nc', 32, 256] : r.head === 'Pose' ? ['nc', [17, 3]] : r.head === 'OBB' ? ['nc', 1] : ['nc'],
          });
      }
      const split = Math.ceil(layers.length / 2);
      return {
        kind: 'structure',
        dialect: r.dialect,
        nc: r.nc,
        depth: r.depth,
        width: r.width,
        anchors: Array.from({ length: picks.length }, () => anchorRow),
        scales: v5 ? null : [[r.scale, [r.depth, r.width, r.maxChannels]]],
        extra: r.head === 'Pose' && !v5 ? [['kpt_shape', [17, 3]]] : [],
        backbone: layers.slice(0, split),
        head: layers.slice(split),
        flow: r.flow,
        options: { imgsz: r.imgsz, ...(r.gs && v5 ? { framework: 'yolov5-gsconv' as const } : {}) },
      };
    });
}

// ---- one case: every call, every property --------------------------------------------------------------------

export type FuzzCase = TextCase | GenModel;

export function caseArb(seeds: readonly Seed[]): fc.Arbitrary<FuzzCase> {
  return fc.oneof(
    { weight: 3, arbitrary: textCaseArb(seeds.length) },
    { weight: 1, arbitrary: structureCaseArb() },
    { weight: 1, arbitrary: plausibleCaseArb() },
  );
}

export function materialise(c: FuzzCase, seeds: readonly Seed[]): { text: string; options: ResolveOptions; name: string } {
  if (c.kind === 'text') return textOf(c, seeds);
  return { text: renderModel(c), options: c.options, name: `generated ${c.dialect}` };
}

/**
 * The time bound for one call: 100 ms for a corpus-sized model, scaled linearly for bigger ones. Size is measured
 * both ways: text (the largest corpus file is 2.6 KB; 8 KB and under count as corpus-sized) and modules built
 * (the largest corpus model builds 916; 1,000 and under count as corpus-sized). Linear scaling still catches
 * anything superlinear and every hang; resolve() itself refuses models beyond 50,000 modules.
 */
export function boundMs(text: string, modules: number): number {
  return 100 * Math.max(1, text.length / 8000, modules / 1000);
}

/**
 * Modules the model built, per layer as built (what resolve's budget counts). When the budget stopped the build,
 * the layer that crossed it was built and dropped: the work done was beyond MAX_MODULES.
 */
export function modulesOf(model: Model): number {
  if (model.diagnostics.some((d) => d.code === 'YOLO028' && d.layer !== undefined)) return MAX_MODULES;
  let total = 0;
  for (const l of model.layers) {
    if (!l.mod) continue;
    const seen = new Set<Mod>();
    countParams(l.mod, seen);
    total += seen.size;
  }
  return total;
}

export interface CaseResult {
  readonly name: string;
  readonly text: string;
  /** slowest single call, as first measured (CPU ms, and wall ms) and which call it was */
  readonly slowestMs: number;
  readonly slowestWallMs: number;
  readonly slowestCall: string;
  readonly layers: number;
  readonly modules: number;
  readonly boundMs: number;
  readonly ok: boolean;
  readonly errors: number;
}

interface Timing {
  /** CPU time of the slowest call (ms) and its wall time */
  ms: number;
  wallMs: number;
  call: string;
}

/** CPU time of a call (user + system, ms): other processes on a shared machine do not count, a slow input does. */
export function cpuMs<T>(call: () => T): { result: T; ms: number; wallMs: number } {
  const wall = performance.now();
  const cpu = process.cpuUsage();
  const result = call();
  const used = process.cpuUsage(cpu);
  return { result, ms: (used.user + used.system) / 1000, wallMs: performance.now() - wall };
}

function measure<T>(what: string, call: () => T, slow: Timing): { result: T; ms: number } {
  const { result, ms, wallMs } = cpuMs(call);
  if (ms > slow.ms) Object.assign(slow, { ms, wallMs, call: what });
  return { result, ms };
}

/**
 * The bound is on CPU time. A call that exceeded it is re-run twice with the build caches cleared (so the re-run
 * is no cheaper than the first), and fails only when every run exceeds it: a GC pause is not a failure, a slow
 * input is.
 */
function withinBound(what: string, ms: number, bound: number, call: () => unknown): void {
  for (let retry = 0; retry < 2 && ms > bound; retry++) {
    clearResolveCaches();
    ms = Math.min(ms, cpuMs(call).ms);
  }
  assert.ok(ms <= bound, `${what} took ${ms.toFixed(1)} ms of CPU (bound ${bound.toFixed(0)} ms) on every try`);
}

function timed<T>(what: string, bound: number, call: () => T, slow: Timing): T {
  const { result, ms } = measure(what, call, slow);
  withinBound(what, ms, bound, call);
  return result;
}

const within = (r: Range, len: number, what: string) => {
  assert.ok(
    Number.isInteger(r.start) && Number.isInteger(r.end) && 0 <= r.start && r.start <= r.end && r.end <= len,
    `${what}: range ${r.start}..${r.end} not inside the document (length ${len})`,
  );
};

const SEVERITIES = new Set(['error', 'warning', 'information', 'hint']);

/** Every number anywhere in a JSON-bound result is finite (JSON would turn NaN into null silently). */
export function assertFiniteTree(v: unknown, path: string, depth = 0): void {
  assert.ok(depth < 64, `${path}: nested deeper than 64`);
  if (typeof v === 'number') assert.ok(Number.isFinite(v), `${path} = ${v}`);
  else if (Array.isArray(v)) v.forEach((x, k) => assertFiniteTree(x, `${path}[${k}]`, depth + 1));
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) assertFiniteTree(x, `${path}.${k}`, depth + 1);
}

const countOk = (x: number | null | undefined, what: string) => {
  assert.ok(typeof x === 'number' && Number.isFinite(x) && x >= 0, `${what} = ${x}`);
};

/** The model is well-formed, and complete when it has no error diagnostics. */
export function checkModel(model: Model, text: string): void {
  const len = text.length;
  assert.equal(model.doc.text, text, 'the model is of the text given');
  for (const d of model.diagnostics) {
    assert.ok(d.code in CODES, `unknown diagnostic code ${d.code}`);
    assert.notEqual(d.code, 'YOLO030', `an internal error: ${d.message}`);
    assert.ok(SEVERITIES.has(d.severity), `bad severity ${d.severity}`);
    assert.ok(typeof d.message === 'string' && d.message.trim().length > 0, `${d.code}: empty message`);
    assert.ok(d.message.length <= MAX_MESSAGE, `${d.code}: message of ${d.message.length} characters`);
    within(d.range, len, `${d.code} ${d.message}`);
    for (const r of d.related ?? []) within(r.range, len, `${d.code} related`);
    if (d.layer !== undefined)
      assert.ok(
        Number.isInteger(d.layer) && d.layer >= 0 && d.layer < model.layers.length,
        `${d.code}: layer ${d.layer} of ${model.layers.length}`,
      );
  }
  const hasError = model.diagnostics.some((d) => d.severity === 'error');
  assert.equal(model.ok, !hasError, 'ok ⇔ no error diagnostics');
  model.layers.forEach((l, k) => {
    assert.equal(l.index, k, 'layer index');
    within(l.src.range, len, `layer ${k}`);
    for (const b of l.bindings) within(b.range, len, `layer ${k} arg binding`);
    for (const s of [l.src.from, l.src.n, l.src.module, l.src.args]) if (s) within(s.range, len, `layer ${k} element`);
    if (l.fromIndices) for (const j of l.fromIndices) assert.ok(Number.isInteger(j) && j >= -1 && j < k, `layer ${k}: input index ${j}`);
    if (l.status === 'ok') {
      const shapes = l.outShape ? [l.outShape] : (l.outShapes ?? []);
      assert.ok(shapes.length > 0, `layer ${k}: ok but no output shape`);
      for (const s of shapes) for (const d of s) assert.ok(Number.isInteger(d) && d >= 0, `layer ${k}: output shape ${s.join('×')}`);
    }
    if (l.params !== null) assert.ok(Number.isInteger(l.params) && l.params >= 0, `layer ${k}: params ${l.params}`);
    if (l.flops) {
      countOk(l.flops.thop, `layer ${k} flops.thop`);
      countOk(l.flops.ultralyticsThop, `layer ${k} flops.ultralyticsThop`);
    }
  });
  if (!hasError) {
    assert.ok(model.layers.length > 0, 'no error diagnostics but no layers');
    model.layers.forEach((l, k) => {
      const what = `no error diagnostics, but layer ${k} (${l.moduleName})`;
      assert.equal(l.status, 'ok', `${what} is ${l.status}`);
      assert.ok(l.outShape || l.outShapes, `${what} has no output shape`);
      countOk(l.params, `${what}: params`);
      assert.ok(l.flops, `${what} has no FLOPs`);
      countOk(l.flops.thop, `${what}: FLOPs`);
    });
    const t = model.totals;
    assert.ok(t, 'no error diagnostics but no totals');
    countOk(t.params, 'total params');
    // fused figures are null only where the framework's fuse() raises (and says so) or they were skipped
    if (t.paramsFused === null) assert.ok(t.fusedError, 'no fused params and no fuse error');
    else countOk(t.paramsFused, 'total fused params');
    countOk(t.flops.thop, 'total FLOPs');
    countOk(t.flops.ultralyticsThop, 'total FLOPs (ultralytics-thop)');
    for (const g of [t.gflops, t.gflopsUltralyticsThop, t.gflopsFused, t.gflopsFusedUltralyticsThop])
      if (g.exact !== null) countOk(g.exact, 'GFLOPs');
  }
}

const URI = 'file:///fuzz/model.yaml';

/** An LSP position the editor might send: anywhere, including past the last line or character. */
function lspPositions(lines: LineIndex, picks: readonly number[]): { line: number; character: number }[] {
  return picks.map((p) => ({ line: p % (lines.lineCount + 3), character: (p >> 4) % 160 }));
}

/**
 * Every feature the server offers, called as the server calls it (offsets from LSP positions through convert.ts,
 * results converted to LSP types), each within the bound, each result well-formed: ranges inside the document,
 * LSP types valid by vscode-languageserver-types' own guards, edits sorted and non-overlapping.
 */
function runFeatures(model: Model, text: string, options: ResolveOptions, picks: readonly number[], bound: number, slow: Timing): void {
  const lines = new LineIndex(text);
  const len = text.length;
  const lspRangeOk = (r: unknown, what: string) => {
    assert.ok(LspRange.is(r), `${what}: not an LSP range ${JSON.stringify(r)}`);
    const { start, end } = r as LspRange;
    for (const p of [start, end])
      assert.ok(
        p.line < lines.lineCount && lines.offset(p) === lines.offset({ line: p.line, character: p.character }) && p.character <= len,
        `${what}: position ${p.line}:${p.character} outside the document`,
      );
    assert.ok(
      start.line < end.line || (start.line === end.line && start.character <= end.character),
      `${what}: range ends before it starts`,
    );
  };
  // code actions promise sorted edits; a raw list (staleIndexCommentEdits) only non-overlapping ones
  const editsOk = (edits: readonly { range: Range; newText: string }[], what: string, sorted = true) => {
    let last = -1;
    for (const e of sorted ? edits : [...edits].sort((a, b) => a.range.start - b.range.start)) {
      within(e.range, len, what);
      assert.ok(e.range.start >= last, `${what}: edits overlap or are unsorted`);
      last = e.range.end;
      assert.equal(typeof e.newText, 'string');
    }
  };

  const diagnostics = timed('diagnostics', bound, () => modelDiagnostics(model), slow);
  for (const d of diagnostics) {
    within(d.range, len, `diagnostic ${d.code}`);
    const lsp = toLspDiagnostic(lines, URI, d);
    assert.ok(LspDiagnostic.is(lsp), `not an LSP diagnostic: ${JSON.stringify(lsp)}`);
    lspRangeOk(lsp.range, `diagnostic ${d.code}`);
  }
  const symbols = timed('symbols', bound, () => documentSymbols(model), slow);
  for (const sym of toLspSymbols(lines, symbols))
    assert.ok(DocumentSymbol.is(sym), `not an LSP symbol: ${JSON.stringify(sym).slice(0, 200)}`);
  const hints = timed('inlayHints', bound, () => inlayHints(model), slow);
  for (const h of hints) {
    assert.ok(Number.isInteger(h.offset) && h.offset >= 0 && h.offset <= len, `inlay hint at ${h.offset}`);
    assert.ok(InlayHint.is(toLspInlayHint(lines, h)), 'not an LSP inlay hint');
  }
  const lenses = timed('codeLens', bound, () => codeLenses(model, URI, 'ultralytics-thop'), slow);
  for (const l of lenses) assert.ok(CodeLens.is(toLspCodeLens(lines, l)), 'not an LSP code lens');
  editsOk(
    timed('staleIndexCommentEdits', bound, () => staleIndexCommentEdits(model), slow),
    'index comment edits',
    false,
  );
  const layerPick = model.layers.length ? (picks[0] ?? 0) % (model.layers.length + 1) : 0;
  const sub = timed('submodules', bound, () => submodules(model, layerPick), slow);
  if (sub) assert.doesNotThrow(() => JSON.stringify(sub));

  let applied = 0;
  for (const [k, pos] of [{ line: 0, character: 0 }, lines.position(len), ...lspPositions(lines, picks)].entries()) {
    const at = toOffset(lines, pos);
    assert.ok(at >= 0 && at <= len, `toOffset(${JSON.stringify(pos)}) = ${at}`);
    const completion = toLspCompletion(
      lines,
      timed('completion', bound, () => completions(model, at), slow),
    );
    for (const it of completion.items) {
      assert.ok(typeof it.label === 'string' && it.label.length > 0, 'completion label');
      assert.ok(it.textEdit && LspTextEdit.is(it.textEdit), `completion '${it.label}' edit`);
      lspRangeOk((it.textEdit as LspTextEdit).range, `completion '${it.label}'`);
    }
    // the scale hover resolves the model at another `scales:` entry, which may be far bigger (depth 256): the bound
    // is that of the biggest model the call resolved
    let variantModules = 0;
    const hoverCall = () =>
      hover(
        model,
        at,
        k === 2
          ? {
              resolveAtScale: (scale) => {
                const v = resolve(text, { ...options, scale });
                variantModules = Math.max(variantModules, modulesOf(v));
                return v;
              },
            }
          : {},
      );
    const { result: h, ms: hoverMs } = measure('hover', hoverCall, slow);
    withinBound('hover', hoverMs, Math.max(bound, boundMs(text, variantModules)), hoverCall);
    if (h) {
      within(h.range, len, 'hover');
      assert.ok(Hover.is(toLspHover(lines, h)), 'not an LSP hover');
      assert.ok(h.markdown.length < 100_000, `hover of ${h.markdown.length} characters`);
    }
    const sig = timed('signatureHelp', bound, () => signatureHelp(model, at), slow);
    if (sig) {
      const lsp = toLspSignatureHelp(sig);
      for (const p of lsp.signatures[0]!.parameters ?? []) {
        const [a, b] = p.label as [number, number];
        assert.ok(Number.isInteger(a) && a >= 0 && a <= b && b <= lsp.signatures[0]!.label.length, `signature parameter label ${a}..${b}`);
      }
      assert.ok(Number.isInteger(lsp.activeParameter) && lsp.activeParameter! >= 0, 'active parameter');
    }
    const def = timed('definition', bound, () => definition(model, at), slow);
    if (def)
      for (const link of toLspDefinition(lines, URI, def, true) as LocationLink[])
        assert.ok(LocationLink.is(link), 'not an LSP location link');
    for (const r of timed('references', bound, () => references(model, at), slow)) within(r, len, 'reference');
    for (const hl of timed('highlights', bound, () => highlights(model, at), slow)) within(hl.range, len, 'highlight');
    // the light bulb as the cursor moves, then the refactor menu on a selection
    const end = toOffset(lines, lspPositions(lines, [picks[k] ?? 0])[0]!);
    for (const [trigger, range] of [
      ['automatic', { start: at, end: at }],
      ['invoked', { start: Math.min(at, end), end: Math.max(at, end) }],
    ] as const) {
      const actions = timed(
        `codeActions (${trigger})`,
        bound,
        () => codeActions(model, { range, diagnostics: model.diagnostics, trigger }),
        slow,
      );
      for (const a of actions) {
        editsOk(a.edits, `code action '${a.title}'`);
        const lsp = toLspCodeAction(lines, URI, 7, a);
        // (the library's guard wants an edit or a command; a disabled action is shown greyed out and has neither)
        if (lsp.disabled)
          assert.ok(
            typeof lsp.title === 'string' && typeof lsp.disabled.reason === 'string' && lsp.disabled.reason.length > 0 && !lsp.edit,
            'a disabled action says why and edits nothing',
          );
        else assert.ok(CodeAction.is(lsp), `not an LSP code action: ${JSON.stringify(lsp).slice(0, 200)}`);
        if (lsp.edit)
          assert.ok(
            WorkspaceEdit.is(lsp.edit) && lsp.edit.documentChanges?.every((c) => 'textDocument' in c && c.textDocument.version === 7),
            'a code action edit is one versioned document edit',
          );
        // what the action produces is a text like any other: it resolves without throwing
        if (a.edits.length && applied < 2) {
          applied++;
          // (its own bound: a fix can make a broken model whole, and a whole model builds more)
          const after = applyEdits(text, a.edits);
          const resolveAfter = () => resolve(after, options);
          const { result: fixed, ms } = measure('resolve after a code action', resolveAfter, slow);
          checkModel(fixed, after);
          withinBound('resolve after a code action', ms, boundMs(after, modulesOf(fixed)), resolveAfter);
        }
      }
    }
  }
}

/**
 * Resolves one case, runs every feature, asserts every property; throws (an AssertionError or whatever a call
 * threw) on the first violation.
 */
export function checkCase(text: string, options: ResolveOptions, name: string, picks: readonly number[] = []): CaseResult {
  const slow: Timing = { ms: 0, wallMs: 0, call: '' };
  const resolveCall = () => resolve(text, options);
  const { result: model, ms: resolveMs } = measure('resolve', resolveCall, slow);
  checkModel(model, text);
  const modules = modulesOf(model);
  const bound = boundMs(text, modules);
  withinBound('resolve', resolveMs, bound, resolveCall);
  const lines = new LineIndex(text);
  const graph = timed('graph', bound, () => toGraphResult(model, 'file:///fuzz.yaml', 1), slow);
  assert.doesNotThrow(() => JSON.stringify(graph));
  assertFiniteTree(graph, 'graph');
  assert.equal(graph.nodes.length, model.layers.length);
  for (const node of graph.nodes) {
    for (const p of [node.range.start, node.range.end])
      assert.ok(p.line >= 0 && p.line < lines.lineCount && p.character >= 0, `graph node ${node.index}: position ${p.line}:${p.character}`);
  }
  for (const e of graph.edges)
    assert.ok(e.to >= 0 && e.to < graph.nodes.length && e.from >= -1 && e.from < e.to, `graph edge ${e.from}→${e.to}`);
  const table = timed('summaryTable', bound, () => summaryTable(model, 'ultralytics-thop') + summaryTable(model, 'thop'), slow);
  assert.equal(typeof table, 'string');
  const record = timed('recordJson', bound, () => recordJson(model, name), slow);
  assert.doesNotThrow(() => JSON.parse(record), 'recordJson is JSON');
  runFeatures(model, text, options, picks, bound, slow);
  if (model.ok) {
    // the profiler's plan and memory estimate (no tensor is made): the refusal compares this estimate with the limit,
    // so it must be a number for every model that can be profiled (NaN would slip past the comparison)
    const { plan, error } = timed('profile plan', bound * 2, () => planJob(jobFor(model)), slow);
    assert.ok(plan || error, 'planJob gives a plan or says why not');
    if (plan)
      assert.ok(Number.isFinite(plan.estimate.totalBytes) && plan.estimate.totalBytes >= 0, `memory estimate ${plan.estimate.totalBytes}`);
  }
  return {
    name,
    text,
    slowestMs: slow.ms,
    slowestWallMs: slow.wallMs,
    slowestCall: slow.call,
    layers: model.layers.length,
    modules,
    boundMs: bound,
    ok: model.ok,
    errors: model.diagnostics.filter((d) => d.severity === 'error').length,
  };
}

/** What a failure prints: the case, the text it produced (the reproducer), and the options. */
export function describeCase(c: FuzzCase, seeds: readonly Seed[]): string {
  const { text, options, name } = materialise(c, seeds);
  const head = c.kind === 'text' ? `seed ${name} with edits ${JSON.stringify(c.edits)}` : `generated ${c.dialect} model`;
  return (
    `${head}\noptions ${JSON.stringify(options)}\n--- YAML (${text.length} characters) ` +
    `---\n${text.length > 4000 ? text.slice(0, 4000) + '\n…' : text}\n--- end ---`
  );
}
