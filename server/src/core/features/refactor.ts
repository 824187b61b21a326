/**
 * Layer refactors: insert a layer above or below, delete a layer, move a layer up or down, as minimal text edits
 * that renumber every `from` index and `# N` index comment; the editor offers them in a layer's refactor menu.
 *
 * The rules (docs/refactors.md says the same for users):
 *  - Every `from` element keeps pointing at the same layer. Absolute indices that shift are renumbered, relative
 *    ones (`-2`) whose span crosses the edit are re-counted, and each keeps its written form (relative stays
 *    relative). `-1` of layer 0 is the image: whichever layer becomes layer 0 reads it.
 *  - An index comment (`# 13`, `# 0-P1/2`, `# 17 (P3/8-small)`) moves with its layer and its number shifts by as
 *    much as the layer's index does, so a stale comment stays exactly as stale (the YOLO024 quick fix is for that).
 *  - Nothing else changes: every other byte, comment, blank line, comma style and line break stays. Each result is
 *    parsed again and checked layer by layer before it is offered; a layout we cannot rewrite safely gets the
 *    action disabled with the reason, never a broken file.
 *  - Insert adds a layer nothing consumes yet (the model keeps computing the same thing); the "feed" variants
 *    splice it into a path with a template that keeps the channel count and size. A Detect-family head that ends
 *    the model stays last (nothing is inserted after it, it does not move up). Delete routes the deleted
 *    layer's consumers to its input when it has exactly one, and is disabled otherwise. Move swaps two neighbours
 *    and keeps every connection; when the moved layer reads the one it jumps over, it is a chain swap
 *    (P → A → B becomes P → B → A) and the title says so.
 */
import { parseModelDoc, type LayerSrc, type ModelDoc, type Section } from '../document.ts';
import type { Range } from '../range.ts';
import type { Model } from '../model.ts';
import { lineEndOf, lineStartOf } from '../lines.ts';
import { isNumeric, makeDivisible, num, type PyVal } from '../py.ts';
import { applyEdits, type TextEdit } from './textEdit.ts';

/** One refactor, ready to apply or disabled with the reason. */
export interface LayerRefactor {
  readonly kind: 'insert' | 'delete' | 'move';
  readonly title: string;
  /** edits on the original text, sorted and non-overlapping; empty when disabled */
  readonly edits: readonly TextEdit[];
  /** why the refactor is not possible here (the editor shows it greyed out) */
  readonly disabled?: string;
  /** index of the inserted or moved layer after the edit (where the cursor belongs) */
  readonly layer?: number;
}

// ---- index comments ---------------------------------------------------------------------------------------

/**
 * `# 13`, `# 0-P1/2`, `# 17 (P3/8-small)`, `# 9-P5/32`: a comment that opens with a layer index. Conservative on
 * purpose: `# 3 bottlenecks` or `# 1x1 conv` are not index comments. Offsets are within `comment`.
 */
export function parseIndexComment(comment: string): { index: number; start: number; end: number } | null {
  const m = /^#[ \t]*(\d{1,6})(?=[ \t]*$|[ \t]*\(|-[A-Za-z])/.exec(comment.replace(/[\r\n]+$/, ''));
  if (!m) return null;
  const start = m[0].length - m[1]!.length;
  return { index: Number(m[1]), start, end: m[0].length };
}

// ---- layout of the layer lists ----------------------------------------------------------------------------

/** Where one layer sits in the text, and what surrounds it on its line(s). */
interface Frame {
  readonly layer: LayerSrc;
  readonly section: Section;
  /** position within its section and the section's length */
  readonly pos: number;
  readonly count: number;
  readonly flow: boolean;
  readonly nodeStart: number;
  readonly nodeEnd: number;
  /** the block sequence's `-` */
  readonly indicator: number | null;
  /** start of the line of the layer's head (`-` or the node) */
  readonly lineStart: number;
  /** only whitespace before the head on its line */
  readonly startsLine: boolean;
  /** flow: the first item right after the list's `[` on the same line */
  readonly afterBracket: boolean;
  /** flow: the comma right after the node on the same line */
  readonly comma: number | null;
  /** flow: the list's `]` follows on the same line (the last item) */
  readonly closeOnLine: boolean;
  /** after the node, its comma or the list's `]`: where the tail (spaces and a comment) begins */
  readonly structEnd: number;
  /** end of the line's content */
  readonly tailEnd: number;
  /** nothing but spaces and a comment after structEnd on the line */
  readonly endsLine: boolean;
  /** after the line break that ends the line (text.length at the end of the file) */
  readonly lineEnd: number;
  /** that line break ('' at the end of the file) */
  readonly eol: string;
  /** why this layer's layout cannot be rewritten, if it cannot */
  readonly unsupported?: string;
}

const isBlank = (c: string | undefined) => c === ' ' || c === '\t';

function eolAt(text: string, pos: number): string {
  if (text[pos] === '\r') return text[pos + 1] === '\n' ? '\r\n' : '\r';
  if (text[pos] === '\n') return '\n';
  return '';
}

/** The document's line break: the first one it uses (CRLF files stay CRLF). */
export function documentEol(text: string): string {
  const i = text.search(/[\r\n]/);
  return i < 0 ? '\n' : eolAt(text, i);
}

/** The column of `pos` as whitespace (tabs kept), for aligning a new line under an item. */
function alignTo(text: string, pos: number): string {
  return text.slice(lineStartOf(text, pos), pos).replace(/[^\t]/g, ' ');
}

export interface Layout {
  readonly text: string;
  readonly eol: string;
  readonly frames: readonly Frame[];
  /** why nothing can be rewritten (YAML errors, aliases...) */
  readonly unsupported?: string;
}

export function layoutOf(doc: ModelDoc): Layout {
  const text = doc.text;
  const eol = documentEol(text);
  if (!doc.loadable) return { text, eol, frames: [], unsupported: 'the YAML has errors: fix them first' };
  const frames: Frame[] = [];
  for (const section of ['backbone', 'head'] as const) {
    const sec = doc.sections[section];
    if (!sec) continue;
    const layers = doc.layers.filter((l) => l.section === section);
    const seqStart = sec.range.start;
    const seqEnd = sec.range.end;
    if (sec.flow && text[seqStart] !== '[') continue;
    layers.forEach((layer, pos) => frames.push(frameOf(text, layer, section, pos, layers.length, sec.flow, seqStart, seqEnd)));
  }
  return { text, eol, frames };
}

function frameOf(
  text: string,
  layer: LayerSrc,
  section: Section,
  pos: number,
  count: number,
  flow: boolean,
  seqStart: number,
  seqEnd: number,
): Frame {
  const nodeStart = layer.range.start;
  const nodeEnd = layer.range.end;
  let unsupported: string | undefined;
  let indicator: number | null = null;
  let head = nodeStart;
  if (!flow) {
    let i = nodeStart - 1;
    while (i >= 0 && (isBlank(text[i]) || text[i] === '\n' || text[i] === '\r')) i--;
    if (text[i] === '-') {
      indicator = i;
      head = i;
    } else unsupported = 'the layer is not a `- ` item of its list';
  }
  const lineStart = lineStartOf(text, head);
  const startsLine = /^[ \t]*$/.test(text.slice(lineStart, head));
  const afterBracket = flow && pos === 0 && /^[ \t]*$/.test(text.slice(seqStart + 1, nodeStart));
  let comma: number | null = null;
  let closeOnLine = false;
  let p = nodeEnd;
  if (flow) {
    while (isBlank(text[p])) p++;
    if (text[p] === ',') {
      comma = p;
      p++;
      while (isBlank(text[p])) p++;
    }
    if (pos === count - 1 && p === seqEnd - 1 && text[p] === ']') {
      closeOnLine = true;
      p++;
    } else if (comma === null && pos < count - 1) unsupported = 'the comma after this layer is not on its line';
  }
  const structEnd = closeOnLine ? p : comma !== null ? comma + 1 : nodeEnd;
  const tailEnd = lineEndOf(text, structEnd);
  const endsLine = /^[ \t]*(#.*)?$/.test(text.slice(structEnd, tailEnd));
  const e = eolAt(text, tailEnd);
  if (!flow && !startsLine) unsupported ??= 'the layer does not start its line';
  if (!flow && !endsLine) unsupported ??= 'something follows the layer on its line';
  return {
    layer,
    section,
    pos,
    count,
    flow,
    nodeStart,
    nodeEnd,
    indicator,
    lineStart,
    startsLine,
    afterBracket,
    comma,
    closeOnLine,
    structEnd,
    tailEnd,
    endsLine,
    lineEnd: tailEnd + e.length,
    eol: e,
    ...(unsupported ? { unsupported } : {}),
  };
}

// ---- from elements and their targets ----------------------------------------------------------------------

/** What a `from` element reads: an old layer index, the image, or the layer being inserted. */
type Target = number | 'image' | 'new';

interface FromElem {
  readonly range: Range;
  readonly value: number;
  readonly relative: boolean;
  /** null: the element is invalid as written and is left alone */
  readonly target: Target | null;
}

function fromElems(layer: LayerSrc, layerCount: number): FromElem[] {
  const f = layer.from;
  if (!f) return [];
  const items = f.kind === 'seq' ? (f.items ?? []) : [f];
  return items.map((it) => {
    const v = it.value;
    if (typeof v !== 'number' || !Number.isInteger(v)) return { range: it.range, value: NaN, relative: false, target: null };
    const i = layer.index;
    let target: Target | null;
    if (v < 0) target = v === -1 && i === 0 ? 'image' : i + v >= 0 ? i + v : null;
    else target = v < layerCount ? v : null;
    return { range: it.range, value: v, relative: v < 0, target };
  });
}

/** The old layers each layer reads (image as -1), for consumer analysis. */
function inputsOf(layer: LayerSrc, layerCount: number): Target[] {
  return fromElems(layer, layerCount)
    .map((e) => e.target)
    .filter((t): t is Target => t !== null);
}

// ---- a plan: the new order and the retargeted elements ----------------------------------------------------

interface Plan {
  /** the new order of layers: old index, or 'new' */
  readonly order: readonly (number | 'new')[];
  /** per old layer, element index → new target (bypass on delete, splice, chain swap) */
  readonly retarget: ReadonlyMap<number, ReadonlyMap<number, Target>>;
}

class Rewriter {
  readonly newIndex = new Map<number, number>();
  readonly newPos: number;
  constructor(
    readonly doc: ModelDoc,
    readonly plan: Plan,
  ) {
    plan.order.forEach((o, k) => {
      if (o !== 'new') this.newIndex.set(o, k);
    });
    this.newPos = plan.order.indexOf('new');
  }

  private place(t: Target): number | 'image' | undefined {
    return t === 'image' ? 'image' : t === 'new' ? this.newPos : this.newIndex.get(t);
  }

  /** Element edits of one old layer, in document offsets; a string when the plan cannot be written. */
  fromEdits(old: number): TextEdit[] | string {
    const layer = this.doc.layers[old]!;
    const self = this.newIndex.get(old)!;
    const overrides = this.plan.retarget.get(old);
    const out: TextEdit[] = [];
    const elems = fromElems(layer, this.doc.layers.length);
    for (let k = 0; k < elems.length; k++) {
      const e = elems[k]!;
      const target = overrides?.get(k) ?? e.target;
      if (target === null) continue;
      const at = this.place(target);
      if (at === undefined) return `layer ${old} reads layer ${String(target)}, which would no longer exist`;
      let value: number;
      if (at === 'image') {
        if (self !== 0) return `layer ${old} reads the image, which only layer 0 can read`;
        value = -1;
      } else if (e.relative) {
        value = at - self;
        if (value >= 0) return `layer ${old} would read layer ${at}, which comes after it`;
      } else value = at;
      if (value !== e.value) out.push({ range: e.range, newText: String(value) });
    }
    return out;
  }

  /** The comment edit of one old layer: its index comment shifts with the layer. */
  commentEdit(old: number): TextEdit | null {
    const c = this.doc.layers[old]!.comment;
    if (!c) return null;
    const ic = parseIndexComment(c.text);
    if (!ic) return null;
    const shifted = ic.index + (this.newIndex.get(old)! - old);
    if (shifted < 0 || shifted === ic.index) return null;
    return { range: { start: c.range.start + ic.start, end: c.range.start + ic.end }, newText: String(shifted) };
  }
}

/** Edits inside [start, end) applied to that slice of the text. */
function rewriteSlice(text: string, start: number, end: number, edits: readonly TextEdit[]): string {
  const local = edits
    .filter((e) => e.range.start >= start && e.range.end <= end)
    .map((e) => ({ range: { start: e.range.start - start, end: e.range.end - start }, newText: e.newText }));
  return applyEdits(text.slice(start, end), local);
}

// ---- templates --------------------------------------------------------------------------------------------

/** The separator style of a node's items: `[-1, 1, Conv, [64]]` or `[-1,1,Conv,[64]]`. */
function commaStyle(text: string, f: Frame | undefined): string {
  if (!f) return ', ';
  const node = text.slice(f.nodeStart, f.nodeEnd);
  return /,[ \t]/.test(node) || !node.includes(',') ? ', ' : ',';
}

/** The YAML channel value whose width-scaled value is exactly `c` (parse_model's make_divisible), or null. */
export function yamlChannelsFor(model: Model, c: number): number | null {
  const w = model.widthMultiple;
  if (w === null || w <= 0) return c;
  const v5 = model.dialect === 'yolov5';
  const chMulV = v5 && model.framework.header.channelMultiple ? model.doc.top.get('channel_multiple')?.value.value : undefined;
  const div = chMulV !== undefined && isNumeric(chMulV as PyVal) && num(chMulV as PyVal) > 0 ? num(chMulV as PyVal) : 8;
  const scaled = (v: number) => makeDivisible((v5 ? v : Math.min(v, model.maxChannels)) * w, div);
  const hi = Math.floor(c / w + 1e-9);
  // prefer round values: the largest multiple of 64, 32, 16, 8, 1 that scales to c. The window of candidates is
  // div / w wide: with width_multiple 1e-9 that is billions (a hang the fuzzer found), so each step looks at no more
  // than 10,000 of them; a value that scales to c is among the first ones whenever there is one.
  for (const step of [64, 32, 16, 8, 1]) {
    let tries = 0;
    for (let v = hi - (hi % step); v > 0 && v * w > c - div - 1e-9 && tries < 10_000; v -= step, tries++) if (scaled(v) === c) return v;
  }
  return null;
}

/**
 * The new layer's text: `[-1, 1, Conv, [c, 3, 1]]` with `c` the YAML value that scales to the channel count it
 * reads, in the neighbours' comma style. `exact`: the layer is spliced into a path, so it must keep that count
 * exactly; when no Conv width can (e.g. 3 image channels under a width multiple) it is an `nn.Identity`.
 * Without `readPrevious` it reads the nearest earlier single 4-D output (not a head's list of outputs).
 */
function template(model: Model, layout: Layout, p: number, near: Frame | undefined, exact: boolean, readPrevious: boolean): string {
  const sep = commaStyle(layout.text, near);
  let src = p - 1;
  if (!readPrevious) {
    while (src >= 0) {
      const l = model.layers[src];
      const multi = !!l && !l.outShape && !!l.outShapes;
      const not4d = !!l?.outShape && l.outShape.length !== 4;
      if (!multi && !not4d) break;
      src--;
    }
    if (src < 0) src = p - 1;
  }
  const from = src < 0 ? -1 : src - p;
  const c = src < 0 ? model.ch : model.layers[src]?.outShape?.length === 4 ? model.layers[src]!.outShape![1]! : null;
  let yaml = c === null ? null : yamlChannelsFor(model, c);
  if (yaml === null && !exact) {
    // unknown channels (the model does not resolve there): the YAML width of the layer it reads, if it has one
    const prev = model.layers[src];
    const prevArg = prev?.entry?.treat === 'channels' || prev?.entry?.treat === 'repeats' ? prev.src.args?.items?.[0]?.value : undefined;
    yaml =
      c !== null && model.widthMultiple
        ? Math.max(8, Math.round(c / model.widthMultiple))
        : typeof prevArg === 'number' && prevArg > 0
          ? prevArg
          : 64;
  }
  if (yaml === null) return `[${from}${sep}1${sep}nn.Identity${sep}[]]`;
  return `[${from}${sep}1${sep}Conv${sep}[${yaml}${sep}3${sep}1]]`;
}

// ---- structural edits -------------------------------------------------------------------------------------

function insertAboveEdits(layout: Layout, f: Frame, frames: readonly Frame[], node: string): TextEdit[] | string {
  const t = layout.text;
  if (f.unsupported) return f.unsupported;
  const eol = f.eol || layout.eol;
  if (!f.flow) {
    const prefix = t.slice(f.lineStart, f.indicator!);
    const gapRaw = t.slice(f.indicator! + 1, f.nodeStart);
    const gap = /[\r\n]/.test(gapRaw) ? ' ' : gapRaw;
    return [{ range: { start: f.lineStart, end: f.lineStart }, newText: `${prefix}-${gap}${node}${eol}` }];
  }
  if (f.startsLine)
    return [{ range: { start: f.lineStart, end: f.lineStart }, newText: `${t.slice(f.lineStart, f.nodeStart)}${node},${eol}` }];
  const next = frames.find((x) => x.section === f.section && x.pos === f.pos + 1);
  if (f.afterBracket && ((next && next.startsLine) || (!next && !f.closeOnLine))) {
    const align = next && next.startsLine ? t.slice(next.lineStart, next.nodeStart) : alignTo(t, f.nodeStart);
    return [{ range: { start: f.nodeStart, end: f.nodeStart }, newText: `${node},${eol}${align}` }];
  }
  // inline: the same separator the list uses here
  const prev = frames.find((x) => x.section === f.section && x.pos === f.pos - 1);
  const gap =
    prev && prev.comma !== null
      ? t.slice(prev.comma + 1, f.nodeStart)
      : next && f.comma !== null
        ? t.slice(f.comma + 1, next.nodeStart)
        : ' ';
  return [{ range: { start: f.nodeStart, end: f.nodeStart }, newText: `${node},${/[\r\n]/.test(gap) ? ' ' : gap}` }];
}

function insertBelowEdits(layout: Layout, f: Frame, frames: readonly Frame[], node: string): TextEdit[] | string {
  const t = layout.text;
  if (f.unsupported) return f.unsupported;
  const eol = f.eol || layout.eol;
  const next = frames.find((x) => x.section === f.section && x.pos === f.pos + 1);
  if (!f.flow) {
    const prefix = t.slice(f.lineStart, f.indicator!);
    const gapRaw = t.slice(f.indicator! + 1, f.nodeStart);
    const gap = /[\r\n]/.test(gapRaw) ? ' ' : gapRaw;
    const line = `${prefix}-${gap}${node}`;
    return [{ range: { start: f.lineEnd, end: f.lineEnd }, newText: f.eol ? `${line}${eol}` : `${eol}${line}` }];
  }
  const indent = f.startsLine
    ? t.slice(f.lineStart, f.nodeStart)
    : next && next.startsLine
      ? t.slice(next.lineStart, next.nodeStart)
      : alignTo(t, f.nodeStart);
  if (f.closeOnLine) {
    if (!f.startsLine && !f.afterBracket) {
      const prev = frames.find((x) => x.section === f.section && x.pos === f.pos - 1);
      const gap = prev && prev.comma !== null ? t.slice(prev.comma + 1, f.nodeStart) : ' ';
      if (!/[\r\n]/.test(gap)) return [{ range: { start: f.nodeEnd, end: f.nodeEnd }, newText: `,${gap}${node}` }];
    }
    const commented = /#/.test(t.slice(f.structEnd, f.tailEnd));
    if (f.afterBracket && !f.startsLine && f.count === 1 && !commented)
      return [{ range: { start: f.nodeEnd, end: f.nodeEnd }, newText: `, ${node}` }];
    if (commented) {
      // `[..., NODE]  # comment`: the comment stays on its layer's line; the list's `]` moves to the new last line
      const bracket = f.structEnd - 1;
      return [
        { range: { start: bracket, end: bracket + 1 }, newText: f.comma === null ? ',' : '' },
        { range: { start: f.tailEnd, end: f.tailEnd }, newText: `${eol}${indent}${node}${f.comma === null ? '' : ','}]` },
      ];
    }
    return [{ range: { start: f.nodeEnd, end: f.nodeEnd }, newText: `,${eol}${indent}${node}` }];
  }
  if (!f.endsLine) {
    if (!next) return 'the list continues on this layer\u2019s line in a way YOLO Lens does not rewrite';
    // the next item follows on the same line: insert right before it, inline
    const gap = f.comma !== null ? t.slice(f.comma + 1, next.nodeStart) : ' ';
    return [{ range: { start: next.nodeStart, end: next.nodeStart }, newText: `${node},${gap}` }];
  }
  if (!f.eol) return 'the list ends the file without a closing bracket';
  if (f.comma !== null) return [{ range: { start: f.lineEnd, end: f.lineEnd }, newText: `${indent}${node},${eol}` }];
  // the last item without a trailing comma: it gets one, the new last item has none
  return [
    { range: { start: f.nodeEnd, end: f.nodeEnd }, newText: ',' },
    { range: { start: f.lineEnd, end: f.lineEnd }, newText: `${indent}${node}${eol}` },
  ];
}

const SIMPLE_LINE_GAP = /^[ \t]*,[ \t]*(#[^\r\n]*)?(\r\n|\n|\r)[ \t]*$/;
const SIMPLE_INLINE_GAP = /^[ \t]*,[ \t]*$/;

function deleteEdits(layout: Layout, f: Frame, frames: readonly Frame[]): TextEdit[] | string {
  const t = layout.text;
  if (f.unsupported) return f.unsupported;
  if (f.count <= 1) return `it is the only layer of the ${f.section}`;
  const prev = frames.find((x) => x.section === f.section && x.pos === f.pos - 1);
  const next = frames.find((x) => x.section === f.section && x.pos === f.pos + 1);
  if (!f.flow) {
    if (f.eol) return [{ range: { start: f.lineStart, end: f.lineEnd }, newText: '' }];
    // the last line of the file: take the line break before it instead
    const before = f.lineStart - (t[f.lineStart - 2] === '\r' && t[f.lineStart - 1] === '\n' ? 2 : 1);
    return [{ range: { start: Math.max(0, before), end: f.tailEnd }, newText: '' }];
  }
  if (f.startsLine && f.endsLine && !f.closeOnLine && f.eol) {
    const line: TextEdit = { range: { start: f.lineStart, end: f.lineEnd }, newText: '' };
    if (f.comma !== null || next) return [line];
    // the last item had no trailing comma: neither will the new last one
    if (!prev || prev.comma === null) return 'the layer before has no comma to remove';
    return [{ range: { start: prev.comma, end: prev.comma + 1 }, newText: '' }, line];
  }
  if (f.afterBracket && next) {
    const gap = t.slice(f.nodeEnd, next.nodeStart);
    if (SIMPLE_LINE_GAP.test(gap) || SIMPLE_INLINE_GAP.test(gap))
      return [{ range: { start: f.nodeStart, end: next.nodeStart }, newText: '' }];
    // blank lines or comments before the next layer stay; the list's `[` keeps its line
    return [{ range: { start: f.nodeStart, end: f.tailEnd }, newText: '' }];
  }
  if (!next) {
    if (!prev || prev.comma === null) return 'the layer before has no comma to remove';
    // the deleted layer's own comment (after the list's `]`) goes with it
    const ownTail =
      f.closeOnLine && f.startsLine && /#/.test(t.slice(f.structEnd, f.tailEnd))
        ? [{ range: { start: f.structEnd, end: f.tailEnd }, newText: '' }]
        : [];
    const gap = t.slice(prev.nodeEnd, f.nodeStart);
    if (/^[ \t]*,[ \t]*((\r\n|\n|\r)[ \t]*)?$/.test(gap))
      return [{ range: { start: prev.nodeEnd, end: f.nodeEnd }, newText: '' }, ...ownTail];
    if (
      f.closeOnLine &&
      f.startsLine &&
      prev.endsLine &&
      prev.eol &&
      /#/.test(t.slice(prev.structEnd, prev.tailEnd)) &&
      /^[ \t]*$/.test(t.slice(prev.lineEnd, f.nodeStart))
    )
      // `NODE,  # comment` / `LAST]`: the list's `]` comes back to the line before
      return [
        { range: { start: prev.comma, end: prev.comma + 1 }, newText: f.comma === null ? ']' : ',]' },
        { range: { start: prev.tailEnd, end: f.tailEnd }, newText: '' },
      ];
    return [
      { range: { start: prev.comma, end: prev.comma + 1 }, newText: '' },
      { range: { start: f.nodeStart, end: f.nodeEnd }, newText: '' },
      ...ownTail,
    ];
  }
  if (f.comma === null) return 'the comma after this layer is not on its line';
  if (prev && prev.comma !== null && !/[\r\n]/.test(t.slice(prev.comma + 1, f.nodeStart)))
    return [{ range: { start: prev.comma + 1, end: f.comma + 1 }, newText: '' }];
  const gap = t.slice(f.nodeEnd, next.nodeStart);
  if (SIMPLE_INLINE_GAP.test(gap)) return [{ range: { start: f.nodeStart, end: next.nodeStart }, newText: '' }];
  return 'YOLO Lens does not rewrite this list layout';
}

// ---- the refactors ----------------------------------------------------------------------------------------

const moduleLabel = (l: LayerSrc | undefined): string => {
  const v = l?.module?.value;
  return typeof v === 'string' ? v : '?';
};

const listIdx = (xs: readonly number[]) =>
  xs.length === 1 ? `layer ${xs[0]}` : `layers ${xs.slice(0, -1).join(', ')} and ${xs[xs.length - 1]}`;

/** Old layers that read layer `i` (by any element). */
function consumersOf(doc: ModelDoc, i: number): number[] {
  const n = doc.layers.length;
  return doc.layers.filter((l) => l.index !== i && inputsOf(l, n).includes(i)).map((l) => l.index);
}

/**
 * Everything a refactor needs, computed once per document. Given the resolved model, new layers get a template
 * with the channel count they read; given only the parsed document (delete and move need nothing more), an
 * inserted layer gets `[-1, 1, Conv, [64, 3, 1]]`-style defaults.
 */
export class Refactorer {
  readonly layout: Layout;
  readonly doc: ModelDoc;
  readonly model: Model | null;
  constructor(source: Model | ModelDoc) {
    this.model = 'framework' in source ? source : null;
    this.doc = 'framework' in source ? source.doc : source;
    this.layout = layoutOf(this.doc);
  }

  /** Why the last position is taken: a Detect-family head must stay last (strides, decoding: the framework looks at model[-1]). */
  private headStaysLast(): string | null {
    const n = this.doc.layers.length;
    const last = this.model?.layers[n - 1];
    if (!last?.entry?.def.detectFamily) return null;
    return (
      `layer ${n - 1} (${last.moduleName}) is the model’s head and must stay its last layer: the framework takes the strides and ` +
      `decodes from the last layer`
    );
  }

  private template(p: number, near: Frame, exact: boolean, readPrevious: boolean): string {
    if (this.model) return template(this.model, this.layout, p, near, exact, readPrevious);
    const sep = commaStyle(this.layout.text, near);
    return exact ? `[-1${sep}1${sep}nn.Identity${sep}[]]` : `[-1${sep}1${sep}Conv${sep}[64${sep}3${sep}1]]`;
  }

  private frameOf?: Map<number, Frame>;
  private frame(i: number): Frame | undefined {
    this.frameOf ??= new Map(this.layout.frames.map((f) => [f.layer.index, f]));
    return this.frameOf.get(i);
  }

  /** Turn a plan and its structural edits into checked edits. */
  private finish(
    kind: LayerRefactor['kind'],
    title: string,
    plan: Plan,
    structural: TextEdit[] | string,
    opts: { dropLayer?: number; newNode?: string; layer?: number; moved?: [number, number] } = {},
  ): LayerRefactor {
    const disabled = (reason: string): LayerRefactor => ({ kind, title, edits: [], disabled: reason });
    if (typeof structural === 'string') return disabled(structural);
    const rw = new Rewriter(this.doc, plan);
    const fromEdits: TextEdit[] = [];
    const fromEditsOf = new Map<number, TextEdit[]>();
    const commentEdits: TextEdit[] = [];
    for (const l of this.doc.layers) {
      if (l.index === opts.dropLayer) continue;
      const e = rw.fromEdits(l.index);
      if (typeof e === 'string') return disabled(e);
      fromEdits.push(...e);
      if (e.length) fromEditsOf.set(l.index, e);
      const c = rw.commentEdit(l.index);
      if (c) commentEdits.push(c);
    }
    let edits: TextEdit[];
    if (opts.moved) {
      // swap node texts and, when both lines can hold one, the tails (spaces + comment) of the two positions
      const [u, w] = opts.moved.map((i) => this.frame(i)!) as [Frame, Frame];
      const t = this.layout.text;
      const all = [...fromEdits, ...commentEdits];
      const nodeOf = (f: Frame) => rewriteSlice(t, f.nodeStart, f.nodeEnd, all);
      const tailOf = (f: Frame) => rewriteSlice(t, f.structEnd, f.tailEnd, all);
      const moveTails = u.endsLine && w.endsLine;
      const inside = (e: TextEdit, f: Frame) =>
        (e.range.start >= f.nodeStart && e.range.end <= f.nodeEnd) ||
        (moveTails && e.range.start >= f.structEnd && e.range.end <= f.tailEnd);
      const stays = (e: TextEdit) => !moveTails && [u, w].some((f) => e.range.start >= f.structEnd && e.range.end <= f.tailEnd);
      edits = all.filter((e) => !inside(e, u) && !inside(e, w) && !stays(e));
      edits.push(
        { range: { start: u.nodeStart, end: u.nodeEnd }, newText: nodeOf(w) },
        { range: { start: w.nodeStart, end: w.nodeEnd }, newText: nodeOf(u) },
      );
      if (moveTails) {
        const tu = tailOf(u);
        const tw = tailOf(w);
        if (tu !== t.slice(w.structEnd, w.tailEnd) || tw !== t.slice(u.structEnd, u.tailEnd))
          edits.push(
            { range: { start: u.structEnd, end: u.tailEnd }, newText: tw },
            { range: { start: w.structEnd, end: w.tailEnd }, newText: tu },
          );
      }
    } else {
      const removed = structural.filter((e) => e.newText === '');
      const survives = (e: TextEdit) =>
        !removed.some((r) => e.range.start >= r.range.start && e.range.end <= r.range.end && r.range.end > r.range.start);
      edits = [...structural, ...fromEdits.filter(survives), ...commentEdits.filter(survives)];
    }
    edits = edits
      .filter((e) => e.newText !== '' || e.range.end > e.range.start)
      .sort((a, b) => a.range.start - b.range.start || a.range.end - b.range.end);
    for (let k = 1; k < edits.length; k++)
      if (edits[k]!.range.start < edits[k - 1]!.range.end) return disabled('the edits would overlap (unexpected layout)');
    const check = this.verify(edits, plan, fromEditsOf, opts.newNode);
    if (check) return disabled(check);
    return { kind, title, edits, ...(opts.layer !== undefined ? { layer: opts.layer } : {}) };
  }

  /** Parse the result and compare every layer's node text with what the plan says it must be. */
  private verify(
    edits: readonly TextEdit[],
    plan: Plan,
    fromEditsOf: ReadonlyMap<number, readonly TextEdit[]>,
    newNode: string | undefined,
  ): string | null {
    const t = this.layout.text;
    let out: string;
    try {
      out = applyEdits(t, edits);
    } catch {
      return 'the edits would overlap (unexpected layout)';
    }
    const doc = parseModelDoc(out);
    if (!doc.loadable) return 'the rewritten YAML would not load (unexpected layout)';
    if (doc.layers.length !== plan.order.length) return 'the rewritten file would not have the expected layers (unexpected layout)';
    for (let k = 0; k < plan.order.length; k++) {
      const o = plan.order[k]!;
      const got = out.slice(doc.layers[k]!.range.start, doc.layers[k]!.range.end);
      const src = o === 'new' ? null : this.doc.layers[o]!;
      const want = src === null ? newNode! : rewriteSlice(t, src.range.start, src.range.end, fromEditsOf.get(o as number) ?? []);
      if (got !== want) return `layer ${k} would not read as intended after the rewrite (unexpected layout)`;
    }
    return null;
  }

  private shiftPlan(insertAt: number): (number | 'new')[] {
    const order: (number | 'new')[] = this.doc.layers.map((l) => l.index);
    order.splice(insertAt, 0, 'new');
    return order;
  }

  /**
   * Insert a template layer above or below layer `i`. `feed`: splice it into the path — below: every layer that
   * read `i` reads the new layer; above: layer `i` reads the new layer, which reads `i`'s input.
   */
  insert(i: number, where: 'above' | 'below', feed = false): LayerRefactor {
    const f = this.frame(i);
    const p = where === 'above' ? i : i + 1;
    const titleBase = `Insert a layer ${where} ${i}`;
    if (this.layout.unsupported || !f)
      return {
        kind: 'insert',
        title: titleBase,
        edits: [],
        disabled: this.layout.unsupported ?? 'this layer is not in a layer list YOLO Lens can rewrite',
      };
    const n = this.doc.layers.length;
    const head = p === n ? this.headStaysLast() : null;
    if (head)
      return { kind: 'insert', title: feed ? `${titleBase} and feed its consumers through it` : titleBase, edits: [], disabled: head };
    const retarget = new Map<number, Map<number, Target>>();
    let title = titleBase;
    let newNode: string;
    if (!feed) {
      newNode = this.template(p, f, p === 0, p === 0);
      if (p === 0) title = `${titleBase}; it reads the image and feeds layer 0`;
    } else if (where === 'below') {
      const consumers = consumersOf(this.doc, i).filter((c) => c > i);
      if (!consumers.length)
        return { kind: 'insert', title: `${titleBase} and feed its consumers through it`, edits: [], disabled: `nothing reads layer ${i}` };
      for (const c of consumers) {
        const m = new Map<number, Target>();
        fromElems(this.doc.layers[c]!, n).forEach((e, k) => {
          if (e.target === i) m.set(k, 'new');
        });
        retarget.set(c, m);
      }
      newNode = this.template(p, f, true, true);
      title = `${titleBase} and feed ${listIdx(consumers)} through it`;
    } else {
      const ins = fromElems(this.doc.layers[i]!, n);
      if (ins.length !== 1 || ins[0]!.target === null)
        return { kind: 'insert', title: `${titleBase} on its input`, edits: [], disabled: `layer ${i} does not read exactly one layer` };
      const input = ins[0]!.target;
      if (input !== i - 1 && input !== 'image')
        return {
          kind: 'insert',
          title: `${titleBase} on its input`,
          edits: [],
          disabled: `layer ${i} reads layer ${String(input)}, not the layer above it: insert below ${String(input)} instead`,
        };
      retarget.set(i, new Map([[0, 'new' as Target]]));
      newNode = this.template(p, f, true, true);
      title = `${titleBase} on its input (${input === 'image' ? 'the image' : `layer ${input}`} \u2192 new layer \u2192 ${i})`;
    }
    const order = this.shiftPlan(p);
    if (p === 0) retarget.set(0, new Map([[0, 'new' as Target]]));
    const structural =
      where === 'above'
        ? insertAboveEdits(this.layout, f, this.layout.frames, newNode)
        : insertBelowEdits(this.layout, f, this.layout.frames, newNode);
    return this.finish('insert', title, { order, retarget }, structural, { newNode, layer: p });
  }

  /**
   * Delete layer `i`. Its consumers are routed to its input when it has exactly one; a layer with several inputs
   * that others read cannot be deleted without deciding for the user, so that case is disabled with the reason.
   */
  delete(i: number): LayerRefactor {
    const f = this.frame(i);
    const label = `layer ${i} (${moduleLabel(this.doc.layers[i])})`;
    let title = `Delete ${label}`;
    if (this.layout.unsupported || !f)
      return {
        kind: 'delete',
        title,
        edits: [],
        disabled: this.layout.unsupported ?? 'this layer is not in a layer list YOLO Lens can rewrite',
      };
    const n = this.doc.layers.length;
    const consumers = consumersOf(this.doc, i);
    const retarget = new Map<number, Map<number, Target>>();
    if (consumers.length) {
      const ins = fromElems(this.doc.layers[i]!, n);
      if (ins.length !== 1 || ins[0]!.target === null)
        return {
          kind: 'delete',
          title,
          edits: [],
          disabled:
            `${listIdx(consumers)} read${consumers.length === 1 ? 's' : ''} it and it has ` +
            `${ins.length === 1 ? 'no valid input' : 'several inputs'}: point ${consumers.length === 1 ? 'that layer' : 'them'} ` +
            `elsewhere first`,
        };
      const input = ins[0]!.target;
      for (const c of consumers) {
        const m = new Map<number, Target>();
        fromElems(this.doc.layers[c]!, n).forEach((e, k) => {
          if (e.target === i) m.set(k, input);
        });
        retarget.set(c, m);
      }
      title = `Delete ${label} and route ${listIdx(consumers)} to ${input === 'image' ? 'the image' : `layer ${input}`}`;
    }
    const order: number[] = this.doc.layers.map((l) => l.index).filter((x) => x !== i);
    const structural = deleteEdits(this.layout, f, this.layout.frames);
    return this.finish('delete', title, { order, retarget }, structural, { dropLayer: i });
  }

  /** Move layer `i` up or down past its neighbour (across the backbone/head boundary too). */
  move(i: number, dir: 'up' | 'down'): LayerRefactor {
    const label = `layer ${i} (${moduleLabel(this.doc.layers[i])})`;
    const title = `Move ${label} ${dir}`;
    const j = dir === 'up' ? i - 1 : i + 1;
    const [u, w] = dir === 'up' ? [j, i] : [i, j];
    const fu = this.frame(u);
    const fw = this.frame(w);
    if (this.layout.unsupported || !fu || !fw)
      return {
        kind: 'move',
        title,
        edits: [],
        disabled:
          this.layout.unsupported ??
          (j < 0 || j >= this.doc.layers.length
            ? `it is the ${dir === 'up' ? 'first' : 'last'} layer`
            : 'this layer is not in a layer list YOLO Lens can rewrite'),
      };
    const n = this.doc.layers.length;
    const bad = fu.unsupported ?? fw.unsupported ?? (w === n - 1 ? this.headStaysLast() : null);
    if (bad) return { kind: 'move', title, edits: [], disabled: bad };
    const order: number[] = this.doc.layers.map((l) => l.index);
    order[u] = w;
    order[w] = u;
    const retarget = new Map<number, Map<number, Target>>();
    let t = title;
    const wIns = fromElems(this.doc.layers[w]!, n);
    if (wIns.some((e) => e.target === u)) {
      // w reads u: keeping that connection is impossible, so it is a chain swap P → u → w ⇒ P → w → u
      const uIns = fromElems(this.doc.layers[u]!, n);
      const uConsumers = consumersOf(this.doc, u);
      const why = !wIns.every((e) => e.target === u)
        ? `layer ${w} also reads other layers`
        : uIns.length !== 1 || uIns[0]!.target === null
          ? `layer ${u} does not read exactly one layer`
          : uConsumers.some((c) => c !== w)
            ? `layer ${u} also feeds ${listIdx(uConsumers.filter((c) => c !== w))}`
            : null;
      if (why)
        return {
          kind: 'move',
          title,
          edits: [],
          disabled: `layer ${w} reads layer ${u}, so the two can only swap places as a chain, and ${why}`,
        };
      const p = uIns[0]!.target!;
      // an absolute `0` cannot say "the image": the swap would have to write -1 and could not be undone exactly
      if (p === 'image' && wIns.some((e) => !e.relative))
        return {
          kind: 'move',
          title,
          edits: [],
          disabled: `layer ${w} reads layer 0 by its absolute index, which would have to become -1 (the image): write it as -1 first`,
        };
      retarget.set(w, new Map(wIns.map((_, k) => [k, p] as [number, Target])));
      retarget.set(u, new Map([[0, w as Target]]));
      for (const c of consumersOf(this.doc, w)) {
        const m = new Map<number, Target>();
        fromElems(this.doc.layers[c]!, n).forEach((e, k) => {
          if (e.target === w) m.set(k, u);
        });
        retarget.set(c, m);
      }
      t = `${title}: swap it with layer ${j} (${moduleLabel(this.doc.layers[j])}) in the chain`;
    }
    return this.finish('move', t, { order, retarget }, [], { moved: [u, w], layer: j });
  }
}

/** The layer whose line(s) contain `offset` (the cursor), if any. */
export function layerAt(layout: Layout, offset: number): number | null {
  for (const f of layout.frames) {
    const end = f.eol ? f.lineEnd - f.eol.length : f.lineEnd;
    if (offset >= f.lineStart && offset <= Math.max(end, f.nodeEnd)) return f.layer.index;
  }
  return null;
}
