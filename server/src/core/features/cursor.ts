/**
 * Where the cursor is in a model YAML: which layer, which of its four elements (`from`, `n`, module, args) and
 * which item of a nested list. Completion, signature help and hover all start here, so the user gets the same
 * answer while typing an unfinished layer as on a finished one.
 */
import type { LayerSrc, ModelDoc, Section } from '../document.ts';
import type { Range } from '../range.ts';
import { lineStartOf } from '../lines.ts';

export type Slot = 'from' | 'n' | 'module' | 'args';
const SLOTS: readonly Slot[] = ['from', 'n', 'module', 'args'];

export interface LayerCursor {
  /** the index the layer has (or will have once written) */
  readonly layerIndex: number;
  /** the parsed layer, when the document has one at the cursor */
  readonly layer?: LayerSrc;
  readonly section: Section | null;
  /** the element the cursor is in; null past the fourth */
  readonly slot: Slot | null;
  /** inside the element's own list (`[-1, 6]`, the args): which item; -1 when not inside one */
  readonly item: number;
  /** brackets open inside the element (0: at the element itself, 1: directly in its list) */
  readonly depth: number;
  /** the layer already has an element after the cursor's one (so a completion must not add the args) */
  readonly hasLaterElement: boolean;
  /** the token under the cursor */
  readonly word: { readonly range: Range; readonly text: string };
}

const WORD = /[A-Za-z0-9_.\-+']/;

/** The token around `offset` (identifier, number, `nn.X`, a quoted string). */
export function wordAt(text: string, offset: number): { range: Range; text: string } {
  let s = offset;
  while (s > 0 && WORD.test(text[s - 1]!)) s--;
  let e = offset;
  while (e < text.length && WORD.test(text[e]!)) e++;
  return { range: { start: s, end: e }, text: text.slice(s, e) };
}

interface Level {
  open: number;
  commas: number;
}

/**
 * Walks flow-style YAML from `start` to `end` keeping the bracket stack and the comma count per level; strings
 * and comments are skipped. Stops early when the stack gets shorter than `stopBelow` (the layer closed) or when
 * `onComma` returns true.
 */
function scan(
  text: string,
  start: number,
  end: number,
  stack: Level[],
  stopBelow = 0,
  onComma?: (depth: number) => boolean,
): { closed: boolean; stopped: boolean } {
  let i = start;
  while (i < end) {
    const c = text[i]!;
    if (c === '#' && (i === 0 || /\s/.test(text[i - 1]!))) {
      while (i < end && text[i] !== '\n' && text[i] !== '\r') i++;
      continue;
    }
    if ((c === "'" || c === '"') && atTokenStart(text, i, start)) {
      i++;
      while (i < end) {
        if (c === '"' && text[i] === '\\') i += 2;
        else if (text[i] === c) {
          if (c === "'" && text[i + 1] === "'") i += 2;
          else break;
        } else i++;
      }
      i++;
      continue;
    }
    if (c === '[') stack.push({ open: i, commas: 0 });
    else if (c === ']') {
      stack.pop();
      if (stack.length < stopBelow) return { closed: true, stopped: false };
    } else if (c === ',' && stack.length) {
      stack[stack.length - 1]!.commas++;
      if (onComma && onComma(stack.length)) return { closed: false, stopped: true };
    }
    i++;
  }
  return { closed: false, stopped: false };
}

function atTokenStart(text: string, i: number, floor: number): boolean {
  let j = i - 1;
  while (j >= floor && (text[j] === ' ' || text[j] === '\t')) j--;
  return j < floor || text[j] === '[' || text[j] === ',' || text[j] === ':' || text[j] === '\n';
}

/** Does the layer, from the cursor on, have another element at its own level (before it closes)? */
function laterElement(text: string, offset: number, stack: Level[], layerLevel: number, limit: number): boolean {
  const copy = stack.map((l) => ({ ...l }));
  const r = scan(text, offset, limit, copy, layerLevel + 1, (depth) => depth === layerLevel + 1);
  return r.stopped;
}

function nextBreak(text: string, i: number, limit: number): number {
  let j = i;
  while (j < limit && text[j] !== '\n') j++;
  return Math.min(limit, j + 1);
}

/** The top-level key whose value the cursor is in, read from the text (works on YAML that does not parse). */
export function topKeyAt(text: string, offset: number): string | null {
  let s = lineStartOf(text, offset);
  // the cursor's own line counts when it is itself a key line and the cursor is past the colon
  for (;;) {
    const e = text.indexOf('\n', s);
    const line = text.slice(s, e < 0 ? text.length : e);
    const m = /^([A-Za-z_][\w-]*)\s*:/.exec(line);
    if (m && (s + m[0].length <= offset || s < lineStartOf(text, offset))) return m[1]!;
    if (s === 0) return null;
    s = lineStartOf(text, s - 1);
  }
}

export function layerAt(doc: ModelDoc, offset: number): LayerSrc | undefined {
  const ls = doc.layers;
  let lo = 0;
  let hi = ls.length - 1;
  // layers are in document order: binary search the last one starting before the cursor
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (ls[mid]!.range.start < offset) lo = mid;
    else hi = mid - 1;
  }
  const l = ls[lo];
  return l && l.range.start < offset && offset < l.range.end ? l : undefined;
}

export function layerCursor(doc: ModelDoc, offset: number): LayerCursor | null {
  const text = doc.text;
  if (offset < 0 || offset > text.length) return null;
  const word = wordAt(text, offset);
  const layer = layerAt(doc, offset);
  if (layer && text[layer.range.start] === '[') {
    const stack: Level[] = [];
    const { closed } = scan(text, layer.range.start, offset, stack, 1);
    if (closed || stack.length === 0) return null;
    return fromStack(stack, 0, layer.index, layer, layer.section, word, laterElement(text, offset, stack, 0, layer.range.end));
  }
  if (layer) return blockLayerCursor(layer, offset, word);
  // not inside a parsed layer: read the line (a layer being typed that the YAML parser could not place)
  const key = topKeyAt(text, offset);
  if (key !== 'backbone' && key !== 'head') return null;
  const section = key as Section;
  const lineStart = lineStartOf(text, offset);
  const sec = doc.sections[section];
  const sectionBracketHere = !!sec?.flow && sec.range.start >= lineStart && sec.range.start < offset;
  const start = sectionBracketHere ? sec!.range.start : lineStart;
  const stack: Level[] = [];
  scan(text, start, offset, stack);
  const level = sectionBracketHere ? 1 : 0;
  if (stack.length <= level) return null;
  const layerIndex = doc.layers.filter((l) => l.range.end <= offset).length;
  const lineEnd = nextBreak(text, offset, text.length);
  return fromStack(stack, level, layerIndex, undefined, section, word, laterElement(text, offset, stack, level, lineEnd));
}

function fromStack(
  stack: Level[],
  level: number,
  layerIndex: number,
  layer: LayerSrc | undefined,
  section: Section | null,
  word: LayerCursor['word'],
  hasLaterElement: boolean,
): LayerCursor {
  const slotIndex = stack[level]!.commas;
  const inner = stack[level + 1];
  return {
    layerIndex,
    ...(layer ? { layer } : {}),
    section,
    slot: SLOTS[slotIndex] ?? null,
    item: inner ? inner.commas : -1,
    depth: stack.length - 1 - level,
    hasLaterElement,
    word,
  };
}

/** A layer written as a block sequence (`- - -1` ...): the element ranges say where the cursor is. */
function blockLayerCursor(layer: LayerSrc, offset: number, word: LayerCursor['word']): LayerCursor | null {
  const parts = [layer.from, layer.n, layer.module, layer.args];
  for (let k = 0; k < 4; k++) {
    const p = parts[k];
    if (!p || offset < p.range.start || offset > p.range.end) continue;
    const items = p.items ?? [];
    const item = items.findIndex((it) => offset >= it.range.start && offset <= it.range.end);
    const inList = p.kind === 'seq' && offset > p.range.start && offset < p.range.end;
    return {
      layerIndex: layer.index,
      layer,
      section: layer.section,
      slot: SLOTS[k]!,
      item: inList ? Math.max(0, item) : -1,
      depth: inList ? 1 : 0,
      hasLaterElement: k < 3 && !!parts[k + 1],
      word,
    };
  }
  return null;
}
