/**
 * YAML text → ModelDoc: the top-level keys and every layer, with every `from` element, the module name and
 * every arg keeping its source range. Scalars are resolved the way PyYAML's `safe_load` resolves them (YAML
 * 1.1: `yes`/`on` are booleans, `None` and `1e-3` are strings, `010` is octal), because that is what the
 * upstream parse_model receives.
 */
import {
  Alias,
  isAlias,
  isMap,
  isScalar,
  isSeq,
  parseAllDocuments,
  Scalar,
  type Document,
  type Node,
  type YAMLMap,
  type YAMLSeq,
} from 'yaml';
import { fastYaml, type YNode } from './yaml-fast.ts';
import { PyFloat, pyBrief, type PyVal } from './py.ts';
import { type Diagnostic, diag } from './diagnostics.ts';
import type { Range } from './range.ts';

/** A value with where it came from. */
export interface SrcVal {
  readonly value: PyVal;
  readonly range: Range;
  /** list items with their own ranges (for `from` lists and args). */
  readonly items?: readonly SrcVal[];
  /** the YAML node kind, for diagnostics that care (a quoted '2' is a string). */
  readonly kind: 'scalar' | 'quoted' | 'seq' | 'map' | 'null';
}

export type Section = 'backbone' | 'head';

export interface LayerSrc {
  readonly index: number;
  readonly section: Section;
  readonly range: Range;
  readonly from?: SrcVal;
  readonly n?: SrcVal;
  readonly module?: SrcVal;
  readonly args?: SrcVal;
  /** a trailing `# ...` comment on the layer's last line */
  readonly comment?: { readonly text: string; readonly range: Range };
  /** true when the layer is written in flow style inside a flow list (`[[...], [...]]`) */
  readonly flow: boolean;
}

export interface TopKey {
  readonly key: string;
  readonly keyRange: Range;
  readonly value: SrcVal;
}

export interface ModelDoc {
  readonly text: string;
  readonly top: ReadonlyMap<string, TopKey>;
  readonly layers: readonly LayerSrc[];
  readonly sections: Partial<Record<Section, { range: Range; flow: boolean; keyRange: Range }>>;
  /** YAML-level problems (syntax, duplicate keys, multi-document, too deep...). */
  readonly diagnostics: readonly Diagnostic[];
  /** false when PyYAML would refuse to load the text: the model cannot be built at all. */
  readonly loadable: boolean;
  /** some scalar (not a comment) holds non-ASCII characters: YOLOv5 trees would see it without them */
  readonly nonAsciiScalars?: boolean;
  readonly document?: Document.Parsed;
}

/** Beyond this, the text is not a model YAML anyone edits by hand; we refuse rather than stall the editor. */
export const MAX_TEXT_LENGTH = 2_000_000;
const MAX_DEPTH = 64;
const MAX_NODES = 2_000_000;

// PyYAML's implicit resolvers (resolver.py, YAML 1.1)
const RE_BOOL = /^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$/;
const RE_NULL = /^(?:~|null|Null|NULL|)$/;
const RE_INT = /^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$/;
const RE_FLOAT = new RegExp(
  [
    '^(?:[-+]?(?:[0-9][0-9_]*)\\.[0-9_]*(?:[eE][-+][0-9]+)?',
    '\\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?',
    '[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\\.[0-9_]*',
    '[-+]?\\.(?:inf|Inf|INF)',
    '\\.(?:nan|NaN|NAN))$',
  ].join('|'),
);

/** PyYAML's constructors for a plain scalar. */
export function resolvePlain(s: string): PyVal {
  // every implicit type starts with one of these characters; anything else is a string (the common case)
  const c = s.charCodeAt(0);
  if (!(s.length === 0 || (c >= 48 && c <= 57) || c === 45 || c === 43 || c === 46 || c === 126 || 'yYnNtTfFoO'.includes(s[0]!))) return s;
  if (RE_NULL.test(s)) return null;
  if (RE_BOOL.test(s)) return /^(?:yes|true|on)$/i.test(s);
  if (RE_INT.test(s)) return constructInt(s);
  if (RE_FLOAT.test(s)) return new PyFloat(constructFloat(s));
  return s;
}

function constructInt(text: string): number {
  let s = text.replace(/_/g, '');
  let sign = 1;
  if (s[0] === '-') sign = -1;
  if (s[0] === '-' || s[0] === '+') s = s.slice(1);
  if (s === '0') return 0;
  if (s.startsWith('0b')) return sign * parseInt(s.slice(2), 2);
  if (s.startsWith('0x')) return sign * parseInt(s.slice(2), 16);
  if (s[0] === '0') return sign * parseInt(s, 8);
  if (s.includes(':')) {
    let v = 0;
    for (const part of s.split(':')) v = v * 60 + Number(part);
    return sign * v;
  }
  return sign * Number(s);
}

function constructFloat(text: string): number {
  let s = text.replace(/_/g, '').toLowerCase();
  let sign = 1;
  if (s[0] === '-') sign = -1;
  if (s[0] === '-' || s[0] === '+') s = s.slice(1);
  if (s === '.inf') return sign * Infinity;
  if (s === '.nan') return NaN;
  if (s.includes(':')) {
    let v = 0;
    for (const part of s.split(':')) v = v * 60 + Number(part);
    return sign * v;
  }
  return sign * Number(s);
}

const rangeOf = (n: { range?: [number, number, number] | null } | null | undefined, fallback: Range): Range =>
  n?.range ? { start: n.range[0], end: n.range[1] } : fallback;

/** The `yaml` package's node tree as the neutral nodes both readers produce (depth-limited). */
function fromYaml(node: Node | null | undefined, fallback: Range, depth = 0): YNode | null {
  if (node == null) return null;
  if (depth > MAX_DEPTH) throw new TooBig(`the document nests deeper than ${MAX_DEPTH} levels`);
  const range = rangeOf(node as never, fallback);
  const anchor = (node as { anchor?: string }).anchor ?? null;
  if (isAlias(node)) return { kind: 'alias', range, alias: (node as Alias).source };
  if (isScalar(node)) {
    const sc = node as Scalar;
    return {
      kind: 'scalar',
      range,
      text: sc.source ?? String(sc.value ?? ''),
      plain: sc.type === Scalar.PLAIN,
      tag: sc.tag ?? null,
      anchor,
    };
  }
  // collections keep their tag too: `!!python/object/apply:os.system [...]` is a sequence PyYAML's safe_load refuses
  const tag = (node as { tag?: string }).tag ?? null;
  if (isSeq(node))
    return {
      kind: 'seq',
      range,
      flow: !!(node as YAMLSeq).flow,
      anchor,
      tag,
      items: (node as YAMLSeq).items.map((it) => fromYaml(it as Node, range, depth + 1)),
    };
  if (isMap(node))
    return {
      kind: 'map',
      range,
      flow: !!(node as YAMLMap).flow,
      anchor,
      tag,
      pairs: (node as YAMLMap).items.map(
        (p) => [fromYaml(p.key as Node, range, depth + 1), fromYaml(p.value as Node, range, depth + 1)] as const,
      ),
    };
  return null;
}

/** Collection tags `safe_load` constructs (SafeConstructor); `!` is the non-specific tag. */
const STANDARD_COLLECTION_TAGS = new Set([
  '!',
  'tag:yaml.org,2002:seq',
  'tag:yaml.org,2002:map',
  'tag:yaml.org,2002:omap',
  'tag:yaml.org,2002:pairs',
  'tag:yaml.org,2002:set',
]);

class Converter {
  private nodes = 0;
  private readonly memo = new Map<YNode, SrcVal>();
  private readonly anchors = new Map<string, YNode>();
  nonAscii = false;
  readonly problems: Diagnostic[] = [];

  constructor(
    private readonly stripNonAscii: boolean,
    /** the whole text is ASCII: no scalar needs checking */
    private readonly asciiText: boolean,
  ) {}

  convert(node: YNode | null | undefined, fallback: Range, depth = 0): SrcVal {
    if (++this.nodes > MAX_NODES) throw new TooBig('the document has too many nodes to analyse');
    if (depth > MAX_DEPTH) throw new TooBig(`the document nests deeper than ${MAX_DEPTH} levels`);
    if (node == null) return { value: null, range: fallback, kind: 'null' };
    if (node.kind === 'alias') {
      const target = this.anchorTarget(node);
      if (!target) return { value: null, range: node.range, kind: 'null' };
      const v = this.memo.get(target) ?? this.convert(target, fallback, depth + 1);
      return { ...v, range: node.range };
    }
    const cached = this.memo.get(node);
    if (cached) return cached;
    const range = node.range;
    let out: SrcVal;
    this.checkCollectionTag(node);
    if (node.kind === 'scalar') out = this.scalar(node, range);
    else if (node.kind === 'seq') {
      const items = (node.items ?? []).map((it) => this.convert(it, range, depth + 1));
      out = { value: items.map((i) => i.value), range, items, kind: 'seq' };
    } else {
      const items: SrcVal[] = [];
      for (const [k, v] of node.pairs ?? []) {
        const key = this.convert(k, range, depth + 1);
        this.checkKey(key);
        items.push(key);
        items.push(this.convert(v, range, depth + 1));
      }
      // Mappings inside a model (e.g. a `scales:` entry that is a map) are kept as their key/value list; the
      // resolver only reads the top-level mapping and `scales`, through `mapEntries`.
      out = { value: `<mapping>`, range, items, kind: 'map' };
    }
    if (node.anchor) this.memo.set(node, out);
    return out;
  }

  /** A list or mapping as a key: PyYAML's constructor refuses it (unhashable). Returns whether it is one. */
  checkKey(key: SrcVal): boolean {
    const unhashable = key.kind === 'seq' || key.kind === 'map';
    if (unhashable)
      this.problems.push(
        diag(
          'YOLO001',
          key.range,
          `found unhashable key ${pyBrief(key.value)}: PyYAML cannot use a ${key.kind === 'seq' ? 'list' : 'mapping'} as a key`,
        ),
      );
    return unhashable;
  }

  checkCollectionTag(node: YNode | null | undefined): void {
    if (node && node.kind !== 'scalar' && node.tag && !STANDARD_COLLECTION_TAGS.has(node.tag))
      this.problems.push(
        diag('YOLO001', node.range, `could not determine a constructor for the tag '${node.tag}' (PyYAML safe_load refuses it)`),
      );
  }

  registerAnchors(root: YNode | null): void {
    // aliases refer to the closest preceding anchor of that name; walking in document order and overwriting
    // gives exactly that for every alias we meet afterwards
    const walk = (n: YNode | null, depth: number): void => {
      if (depth > MAX_DEPTH || !n) return;
      if (n.anchor) this.anchors.set(n.anchor, n);
      if (n.items) for (const it of n.items) walk(it, depth + 1);
      if (n.pairs)
        for (const [k, v] of n.pairs) {
          walk(k, depth + 1);
          walk(v, depth + 1);
        }
    };
    walk(root, 0);
  }

  anchorTarget(a: YNode): YNode | undefined {
    return a.alias !== undefined ? this.anchors.get(a.alias) : undefined;
  }

  private scalar(node: YNode, range: Range): SrcVal {
    let raw = node.text ?? '';
    if (!this.asciiText && /[^\x00-\x7f]/.test(raw)) {
      this.nonAscii = true;
      if (this.stripNonAscii) raw = raw.replace(/[^\x00-\x7f]/g, '');
    }
    const tag = node.tag;
    if (tag && tag !== '!' && !tag.startsWith('tag:yaml.org,2002:')) {
      this.problems.push(diag('YOLO001', range, `could not determine a constructor for the tag '${tag}' (PyYAML safe_load refuses it)`));
      return { value: raw, range, kind: 'quoted' };
    }
    const quoted = !node.plain;
    if (tag) {
      const t = tag.slice('tag:yaml.org,2002:'.length);
      if (t === 'str') return { value: raw, range, kind: 'quoted' };
      const v = resolvePlain(raw);
      const ok =
        (t === 'int' && typeof v === 'number') ||
        (t === 'float' && (v instanceof PyFloat || typeof v === 'number')) ||
        (t === 'bool' && typeof v === 'boolean') ||
        (t === 'null' && v === null);
      if (!ok) this.problems.push(diag('YOLO001', range, `'${raw}' cannot be read as !!${t}`));
      const value = t === 'float' && typeof v === 'number' ? new PyFloat(v) : v;
      return { value, range, kind: 'scalar' };
    }
    if (quoted) return { value: raw, range, kind: 'quoted' };
    const value = resolvePlain(raw);
    return { value, range, kind: value === null ? 'null' : 'scalar' };
  }
}

class TooBig extends Error {}

/**
 * A mapping key as text. A list key (unhashable: already a YOLO001) is written as its bounded repr: String() of one
 * behind YAML aliases spells out every element, billions of them (the scale hover and completion did, found by the
 * fuzzer).
 */
export function keyText(k: SrcVal): string {
  return k.kind === 'seq' || k.kind === 'map' ? pyBrief(k.value) : String(k.value);
}

/** Key/value pairs of a map node, as converted SrcVals (the last duplicate wins, as in PyYAML). */
export function mapEntries(v: SrcVal): { key: SrcVal; value: SrcVal }[] {
  if (v.kind !== 'map' || !v.items) return [];
  const out: { key: SrcVal; value: SrcVal }[] = [];
  for (let i = 0; i + 1 < v.items.length; i += 2) out.push({ key: v.items[i]!, value: v.items[i + 1]! });
  return out;
}

function trailingComment(text: string, from: number): { text: string; range: Range } | undefined {
  let i = from;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '\n' || c === '\r') return undefined;
    if (c === '#') {
      let j = i;
      while (j < text.length && text[j] !== '\n' && text[j] !== '\r') j++;
      return { text: text.slice(i, j), range: { start: i, end: j } };
    }
    if (c !== ' ' && c !== '\t' && c !== ',' && c !== ']') return undefined;
    i++;
  }
  return undefined;
}

export interface ParseOptions {
  /** YOLOv5 trees read the file as ASCII and drop every other byte (`open(cfg, encoding='ascii', errors='ignore')`). */
  readonly stripNonAscii?: boolean;
  /** skip the fast reader (tests compare both) */
  readonly fullParser?: boolean;
}

export function parseModelDoc(text: string, opts: ParseOptions = {}): ModelDoc {
  const diagnostics: Diagnostic[] = [];
  const empty = (loadable: boolean): ModelDoc => ({ text, top: new Map(), layers: [], sections: {}, diagnostics, loadable });
  if (text.length > MAX_TEXT_LENGTH) {
    diagnostics.push(
      diag(
        'YOLO028',
        { start: 0, end: 0 },
        `the file is ${(text.length / 1e6).toFixed(1)} MB; YOLO Lens analyses model files up to ${MAX_TEXT_LENGTH / 1e6} MB`,
      ),
    );
    return empty(false);
  }
  const deep = deepNesting(text);
  if (deep !== null) {
    diagnostics.push(
      diag(
        'YOLO028',
        { start: deep, end: deep + 1 },
        `the document nests deeper than ${MAX_DEPTH} levels here: YOLO Lens does not analyse it`,
      ),
    );
    return empty(false);
  }
  const fast = opts.fullParser ? null : fastYaml(text);
  if (fast) return assemble(text, fast, diagnostics, true, opts, () => parseFull(text).docs[0]);
  const { docs, error } = parseFull(text);
  if (error) {
    diagnostics.push(diag('YOLO028', { start: 0, end: 0 }, error));
    return empty(false);
  }
  if (docs.length === 0 || (docs.length === 1 && docs[0]!.contents == null)) {
    diagnostics.push(diag('YOLO002', { start: 0, end: 0 }, 'the file is empty: a model YAML is a mapping with backbone and head'));
    return empty(false);
  }
  let loadable = true;
  // the yaml package reports an error at the end of the input one past the last character
  const clamp = (s: number, e: number): Range => ({ start: Math.min(s, text.length), end: Math.min(Math.max(e, s), text.length) });
  for (let i = 1; i < docs.length; i++) {
    const r = docs[i]!.range;
    diagnostics.push(
      diag(
        'YOLO001',
        clamp(r[0], r[1]),
        'expected a single document in the stream, but found another document (PyYAML refuses multi-document model files)',
      ),
    );
    loadable = false;
  }
  const doc = docs[0]!;
  for (const err of doc.errors) {
    diagnostics.push(diag('YOLO001', clamp(err.pos[0], err.pos[1]), err.message.split('\n')[0]!));
    loadable = false;
  }
  let root: YNode | null;
  try {
    root = fromYaml(doc.contents as Node | null, { start: 0, end: text.length });
  } catch (e) {
    if (e instanceof TooBig || e instanceof RangeError) {
      diagnostics.push(diag('YOLO028', { start: 0, end: 0 }, e instanceof TooBig ? e.message : 'the document nests too deeply to analyse'));
      return { ...empty(false), document: doc };
    }
    throw e;
  }
  return assemble(text, root, diagnostics, loadable, opts, () => doc);
}

/**
 * Where the text nests beyond any model (flow brackets, or `- - - ...` on one line), found by a scan before parsing:
 * the yaml parser takes seconds to give up on 100,000 levels. Quoted strings and comments are skipped; the
 * threshold is well above MAX_DEPTH so that brackets the scan misreads (in a block scalar) never refuse a file
 * the parser would read. Returns the offset, or null.
 */
function deepNesting(text: string): number | null {
  const limit = 4 * MAX_DEPTH;
  let depth = 0;
  let dashes = 0;
  let lineStart = true;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 10 || c === 13) {
      lineStart = true;
      dashes = 0;
      continue;
    }
    if (c === 32 || c === 9) continue;
    if (lineStart && c === 45 /* - */ && (text.charCodeAt(i + 1) === 32 || text.charCodeAt(i + 1) === 9)) {
      if (++dashes > limit) return i;
      continue;
    }
    lineStart = false;
    if (c === 35 /* # */ && (i === 0 || /\s/.test(text[i - 1]!))) {
      while (i < text.length && text.charCodeAt(i) !== 10 && text.charCodeAt(i) !== 13) i++;
      i--;
    } else if (c === 34 /* " */ || c === 39 /* ' */) {
      for (i++; i < text.length && text.charCodeAt(i) !== c; i++) if (c === 34 && text.charCodeAt(i) === 92) i++;
    } else if (c === 91 || c === 123) {
      if (++depth > limit) return i;
    } else if ((c === 93 || c === 125) && depth > 0) depth--;
  }
  return null;
}

function parseFull(text: string): { docs: Document.Parsed[]; error?: string } {
  try {
    const docs = parseAllDocuments(text, {
      schema: 'failsafe',
      uniqueKeys: false,
      version: '1.1',
      prettyErrors: false,
      strict: false,
    }) as Document.Parsed[];
    return { docs: Array.isArray(docs) ? docs : [] };
  } catch (e) {
    return {
      docs: [],
      error: e instanceof RangeError ? 'the document nests too deeply to parse' : `YAML could not be parsed: ${(e as Error).message}`,
    };
  }
}

/** Top-level keys and layers from the root node, whichever reader produced it. */
function assemble(
  text: string,
  root: YNode | null,
  diagnostics: Diagnostic[],
  loadable: boolean,
  opts: ParseOptions,
  document: () => Document.Parsed | undefined,
): ModelDoc {
  const whole: Range = { start: 0, end: text.length };
  const conv = new Converter(!!opts.stripNonAscii, !/[^\x00-\x7f]/.test(text));
  const top = new Map<string, TopKey>();
  const layers: LayerSrc[] = [];
  const sections: ModelDoc['sections'] = {};
  const result = (r: Omit<ModelDoc, 'document'>): ModelDoc => {
    let cached: Document.Parsed | undefined | null = null;
    // the yaml Document is only needed for edits: built on first use when the fast reader was used
    return Object.defineProperty(r as ModelDoc, 'document', {
      enumerable: false,
      get: () => (cached === null ? (cached = document()) : cached),
    });
  };
  if (root == null) {
    diagnostics.push(diag('YOLO002', { start: 0, end: 0 }, 'the file is empty: a model YAML is a mapping with backbone and head'));
    return result({ text, top, layers, sections, diagnostics, loadable: false });
  }
  try {
    conv.registerAnchors(root);
    conv.checkCollectionTag(root);
    if (root.kind !== 'map') {
      diagnostics.push(
        diag(
          'YOLO002',
          root.range,
          'a model YAML must be a mapping (nc, backbone, head, ...), not a ' + (root.kind === 'seq' ? 'list' : 'scalar'),
        ),
      );
      return result({ text, top, layers, sections, diagnostics, loadable: false });
    }
    const layerLists: Partial<Record<Section, YNode | null>> = {};
    for (const [keyNode, valueNode] of root.pairs ?? []) {
      const key = conv.convert(keyNode, whole);
      // a list or mapping as a key is unhashable to PyYAML; never String() it: behind aliases it can stand for
      // billions of elements (String() of a bomb key took seconds and hundreds of MB)
      const unhashable = conv.checkKey(key);
      const keyName = typeof key.value === 'string' ? key.value : unhashable ? pyBrief(key.value) : String(key.value);
      if (top.has(keyName)) diagnostics.push(diag('YOLO004', key.range, `duplicate key '${keyName}': the last one wins`, 'warning'));
      const isLayerList = keyName === 'backbone' || keyName === 'head';
      // Layer lists are converted layer by layer below; everything else whole.
      const value = isLayerList
        ? { value: null, range: valueNode ? valueNode.range : key.range, kind: 'seq' as const }
        : conv.convert(valueNode, key.range);
      top.set(keyName, { key: keyName, keyRange: key.range, value });
      if (isLayerList) {
        const section = keyName as Section;
        // an alias stands for its anchored node (PyYAML shares the object; we read it once, never expand)
        const target = valueNode?.kind === 'alias' ? (conv.anchorTarget(valueNode) ?? null) : valueNode;
        layerLists[section] = target;
        if (target?.kind === 'seq') sections[section] = { range: value.range, flow: !!target.flow, keyRange: key.range };
        else delete sections[section];
      }
    }
    for (const section of ['backbone', 'head'] as const) {
      const listNode = layerLists[section];
      if (!listNode || listNode.kind !== 'seq') continue;
      conv.checkCollectionTag(listNode);
      for (const node of listNode.items ?? []) {
        const lrange = node ? node.range : listNode.range;
        const layer: { -readonly [K in keyof LayerSrc]: LayerSrc[K] } = {
          index: layers.length,
          section,
          range: lrange,
          flow: !!listNode.flow,
        };
        if (node?.kind === 'seq') {
          conv.checkCollectionTag(node);
          const parts = node.items ?? [];
          if (parts.length > 0) layer.from = conv.convert(parts[0], lrange, 2);
          if (parts.length > 1) layer.n = conv.convert(parts[1], lrange, 2);
          if (parts.length > 2) layer.module = conv.convert(parts[2], lrange, 2);
          if (parts.length > 3) layer.args = conv.convert(parts[3], lrange, 2);
        } else {
          // keep the raw value so the resolver can say what it is
          (layer as { raw?: SrcVal }).raw = conv.convert(node, lrange, 2);
        }
        const c = trailingComment(text, lrange.end);
        if (c) layer.comment = c;
        layers.push(layer);
      }
    }
  } catch (e) {
    if (e instanceof TooBig || e instanceof RangeError) {
      diagnostics.push(diag('YOLO028', { start: 0, end: 0 }, e instanceof TooBig ? e.message : 'the document nests too deeply to analyse'));
      return result({ text, top: new Map(), layers: [], sections: {}, diagnostics, loadable: false });
    }
    throw e;
  }
  diagnostics.push(...conv.problems);
  return result({ text, top, layers, sections, diagnostics, loadable, nonAsciiScalars: conv.nonAscii });
}

/** The raw node of a layer that is not a list (kept for diagnostics). */
export const layerRaw = (l: LayerSrc): SrcVal | undefined => (l as { raw?: SrcVal }).raw;
