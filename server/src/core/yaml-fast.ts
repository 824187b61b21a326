/**
 * A fast reader for the YAML that model files are made of: a top-level block mapping whose values are scalars,
 * flow lists (`[[-1, 1, Conv, [64]], ...]`, over several lines, with comments), block lists of flow lists or
 * scalars (`- [-1, 1, Conv, [64]]`) and one level of block mapping (`scales:`). It gives the same nodes and the
 * same ranges as the `yaml` package, and gives up (returns null) on anything else: anchors, aliases, tags, block
 * scalars, flow mappings, multi-line plain scalars, escapes, documents markers, tabs in indentation, or anything it
 * does not recognise. The `yaml` package then parses the text. Why: the `yaml` parser costs ~40 µs per line
 * (a 5,000-layer model takes 200 ms before any analysis), this reader ~1 µs; a differential test checks that both
 * give identical model documents on the corpus and on random edits of it.
 */

import type { Range } from './range.ts';

/** The parts of a YAML node the model reader needs (the `yaml` package's nodes are mapped to this too). */
export interface YNode {
  readonly kind: 'scalar' | 'seq' | 'map' | 'alias';
  readonly range: Range;
  /** scalar: the content after quote processing */
  readonly text?: string;
  /** scalar: plain (resolved by the YAML 1.1 rules) or quoted/block (always a string) */
  readonly plain?: boolean;
  readonly tag?: string | null;
  readonly anchor?: string | null;
  /** alias: the anchor name it refers to */
  readonly alias?: string;
  readonly flow?: boolean;
  readonly items?: readonly (YNode | null)[];
  readonly pairs?: readonly (readonly [YNode | null, YNode | null])[];
}

class GiveUp {}
const GIVE_UP = new GiveUp();

const SP = 32;
const TAB = 9;
const LF = 10;
const CR = 13;
const HASH = 35;
const DASH = 45;
const COLON = 58;
const COMMA = 44;
const LBRACKET = 91;
const RBRACKET = 93;
const SQUOTE = 39;
const DQUOTE = 34;

/** characters that cannot start a plain scalar (or start something we leave to the full parser) */
function badPlainStart(c: number): boolean {
  // ? : , [ ] { } # & * ! | > ' " % @ `
  return (
    c === 63 ||
    c === COLON ||
    c === COMMA ||
    c === LBRACKET ||
    c === RBRACKET ||
    c === 123 ||
    c === 125 ||
    c === HASH ||
    c === 38 ||
    c === 42 ||
    c === 33 ||
    c === 124 ||
    c === 62 ||
    c === SQUOTE ||
    c === DQUOTE ||
    c === 37 ||
    c === 64 ||
    c === 96
  );
}

class Reader {
  i = 0;
  constructor(private readonly t: string) {}

  private at(k = this.i): number {
    return k < this.t.length ? this.t.charCodeAt(k) : -1;
  }

  private eol(c: number): boolean {
    return c === LF || c === CR || c === -1;
  }

  /** skip spaces on this line; tabs outside indentation are fine */
  private spaces(): void {
    while (this.at() === SP || this.at() === TAB) this.i++;
  }

  /** after a value: optional spaces, an optional comment (after at least one space), end of line */
  private endOfLine(): void {
    const before = this.i;
    this.spaces();
    if (this.at() === HASH) {
      if (this.i === before) throw GIVE_UP; // `#` right after a value would be part of a plain scalar
      while (!this.eol(this.at())) this.i++;
    }
    if (!this.eol(this.at())) throw GIVE_UP;
    this.newline();
  }

  private newline(): void {
    if (this.at() === CR) {
      this.i++;
      if (this.at() === LF) this.i++;
    } else if (this.at() === LF) this.i++;
  }

  /**
   * Move to the next line with content (skipping blank and comment-only lines) and return its indentation, or -1
   * at the end. Leaves `i` at the line's first character (its indentation included).
   */
  private nextContentLine(): number {
    for (;;) {
      if (this.i >= this.t.length) return -1;
      const start = this.i;
      let k = this.i;
      while (this.at(k) === SP) k++;
      if (this.at(k) === TAB) throw GIVE_UP;
      const c = this.at(k);
      if (c === -1) {
        this.i = k;
        return -1;
      }
      if (c === LF || c === CR) {
        this.i = k;
        this.newline();
        continue;
      }
      if (c === HASH) {
        while (!this.eol(this.at(k))) k++;
        this.i = k;
        this.newline();
        continue;
      }
      this.i = start;
      return k - start;
    }
  }

  parse(): YNode | null {
    if (this.at() === 0xfeff) this.i++;
    const pairs: [YNode, YNode][] = [];
    let first = -1;
    for (;;) {
      const indent = this.nextContentLine();
      if (indent < 0) break;
      if (indent !== 0) throw GIVE_UP;
      if (this.t.startsWith('---', this.i) || this.t.startsWith('...', this.i)) throw GIVE_UP;
      if (first < 0) first = this.i;
      const key = this.blockKey();
      const value = this.blockValue(0);
      pairs.push([key, value]);
    }
    if (first < 0) return null;
    return { kind: 'map', range: { start: first, end: this.t.length }, flow: false, pairs };
  }

  /** `key:` at the current position (a plain key of ordinary characters) */
  private blockKey(): YNode {
    const start = this.i;
    let k = this.i;
    for (;;) {
      const c = this.at(k);
      const ok = (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c === DASH || c === 46;
      if (!ok) break;
      k++;
    }
    if (k === start || this.at(k) !== COLON) throw GIVE_UP;
    const after = this.at(k + 1);
    if (after !== SP && !this.eol(after)) throw GIVE_UP;
    if (this.at(start) === DASH) throw GIVE_UP;
    this.i = k + 1;
    const text = this.t.slice(start, k);
    return { kind: 'scalar', range: { start, end: k }, text, plain: true };
  }

  /** the value after `key:` of a mapping entry at `indent` */
  private blockValue(indent: number): YNode {
    this.spaces();
    const c = this.at();
    if (c === HASH || this.eol(c)) {
      const colonEnd = this.i;
      if (c === HASH) {
        if (this.at(this.i - 1) !== SP && this.at(this.i - 1) !== TAB) throw GIVE_UP;
        while (!this.eol(this.at())) this.i++;
      }
      this.newline();
      const save = this.i;
      const inner = this.nextContentLine();
      const isSeqAtSame =
        inner === indent &&
        this.at(this.i + inner) === DASH &&
        (this.at(this.i + inner + 1) === SP || this.eol(this.at(this.i + inner + 1)));
      if (inner > indent && this.at(this.i + inner) === LBRACKET) {
        // `key:` then the flow list on the following lines
        this.i += inner;
        const node = this.flowSeq(indent);
        this.endOfLine();
        return node;
      }
      if (inner > indent || isSeqAtSame) {
        if (this.at(this.i + inner) === DASH && (this.at(this.i + inner + 1) === SP || this.eol(this.at(this.i + inner + 1))))
          return this.blockSeq(inner);
        if (indent > 0) throw GIVE_UP; // one level of nested mapping only
        return this.blockMap(inner);
      }
      // an empty value: the `yaml` package places its empty scalar where the next token starts
      this.i = save;
      return {
        kind: 'scalar',
        range: { start: this.emptyValueOffset(colonEnd), end: this.emptyValueOffset(colonEnd) },
        text: '',
        plain: true,
      };
    }
    const node = this.inlineValue(indent, true);
    this.endOfLine();
    return node;
  }

  private emptyValueOffset(colonEnd: number): number {
    void colonEnd;
    throw GIVE_UP;
  }

  /** a value written on the current line: a flow list, a quoted or a plain scalar */
  private inlineValue(parentIndent: number, block: boolean): YNode {
    const c = this.at();
    if (c === LBRACKET) return this.flowSeq(parentIndent);
    if (c === SQUOTE || c === DQUOTE) return this.quoted();
    if (badPlainStart(c) || c === -1) throw GIVE_UP;
    if (c === DASH && !this.plainSafeAfterDash(block)) throw GIVE_UP;
    return block ? this.blockPlain() : this.flowPlain();
  }

  /** a plain scalar may start with '-' only when a safe character follows (YAML ns-plain-first) */
  private plainSafeAfterDash(block: boolean): boolean {
    const n = this.at(this.i + 1);
    if (n === SP || n === TAB || this.eol(n)) return false;
    return block || !(n === COMMA || n === LBRACKET || n === RBRACKET || n === 123 || n === 125);
  }

  private blockPlain(): YNode {
    const start = this.i;
    let end = this.i;
    let k = this.i;
    for (;;) {
      const c = this.at(k);
      if (this.eol(c)) break;
      if (c === HASH && (this.at(k - 1) === SP || this.at(k - 1) === TAB)) break;
      if (c === COLON && (this.at(k + 1) === SP || this.eol(this.at(k + 1)))) throw GIVE_UP; // a mapping
      k++;
      if (c !== SP && c !== TAB) end = k;
    }
    this.i = end;
    return { kind: 'scalar', range: { start, end }, text: this.t.slice(start, end), plain: true };
  }

  private flowPlain(): YNode {
    const start = this.i;
    let end = this.i;
    let k = this.i;
    for (;;) {
      const c = this.at(k);
      if (this.eol(c) || c === COMMA || c === LBRACKET || c === RBRACKET || c === 123 || c === 125) break;
      if (c === HASH && (this.at(k - 1) === SP || this.at(k - 1) === TAB)) break;
      if (c === COLON && (this.at(k + 1) === SP || this.eol(this.at(k + 1)) || this.at(k + 1) === COMMA || this.at(k + 1) === RBRACKET))
        throw GIVE_UP;
      k++;
      if (c !== SP && c !== TAB) end = k;
    }
    if (this.at(k) === LBRACKET || this.at(k) === 123 || this.at(k) === 125) throw GIVE_UP;
    this.i = end;
    return { kind: 'scalar', range: { start, end }, text: this.t.slice(start, end), plain: true };
  }

  private quoted(): YNode {
    const q = this.at();
    const start = this.i;
    let k = this.i + 1;
    let text = '';
    for (;;) {
      const c = this.at(k);
      if (this.eol(c)) throw GIVE_UP; // multi-line quoted scalars fold lines: leave them to the full parser
      if (q === DQUOTE && c === 92) throw GIVE_UP; // escapes
      if (c === q) {
        if (q === SQUOTE && this.at(k + 1) === SQUOTE) {
          text += "'";
          k += 2;
          continue;
        }
        k++;
        break;
      }
      text += this.t[k];
      k++;
    }
    this.i = k;
    return { kind: 'scalar', range: { start, end: k }, text, plain: false };
  }

  /** skip whitespace, line breaks and comments inside a flow collection; lines must stay indented */
  private flowSpace(parentIndent: number): void {
    for (;;) {
      const c = this.at();
      if (c === SP || c === TAB) this.i++;
      else if (c === LF || c === CR) {
        this.newline();
        let k = this.i;
        while (this.at(k) === SP) k++;
        if (this.at(k) === TAB) throw GIVE_UP;
        const d = this.at(k);
        // a flow collection's continuation lines must be indented deeper than the block it sits in
        if (!this.eol(d) && d !== HASH && k - this.i <= parentIndent) throw GIVE_UP;
        this.i = k;
      } else if (c === HASH) {
        if (this.at(this.i - 1) !== SP && this.at(this.i - 1) !== TAB && this.at(this.i - 1) !== LF && this.at(this.i - 1) !== CR)
          throw GIVE_UP;
        while (!this.eol(this.at())) this.i++;
      } else return;
    }
  }

  private flowSeq(parentIndent: number, depth = 0): YNode {
    if (depth > 32) throw GIVE_UP;
    const start = this.i;
    this.i++; // [
    const items: YNode[] = [];
    let expectItem = true;
    for (;;) {
      this.flowSpace(parentIndent);
      const c = this.at();
      if (c === -1) throw GIVE_UP;
      if (c === RBRACKET) {
        this.i++;
        break;
      }
      if (c === COMMA) {
        if (expectItem) throw GIVE_UP;
        this.i++;
        expectItem = true;
        continue;
      }
      if (!expectItem) throw GIVE_UP;
      if (c === LBRACKET) items.push(this.flowSeq(parentIndent, depth + 1));
      else if (c === SQUOTE || c === DQUOTE) items.push(this.quoted());
      else if (badPlainStart(c)) throw GIVE_UP;
      else if (c === DASH && !this.plainSafeAfterDash(false)) throw GIVE_UP;
      else items.push(this.flowPlain());
      expectItem = false;
      // what may follow an item on its line: spaces then , ] or a comment
      const save = this.i;
      this.spaces();
      const d = this.at();
      if (!(d === COMMA || d === RBRACKET || d === HASH || this.eol(d))) throw GIVE_UP;
      if (d === HASH && this.i === save) throw GIVE_UP;
    }
    return { kind: 'seq', range: { start, end: this.i }, flow: true, items };
  }

  /** a block sequence whose `-` indicators sit at column `indent`; `i` is at the start of its first line */
  private blockSeq(indent: number): YNode {
    const items: YNode[] = [];
    const start = this.i + indent;
    for (;;) {
      const lineStart = this.i;
      const got = this.nextContentLine();
      if (got !== indent || this.at(this.i + indent) !== DASH) {
        if (got > indent) throw GIVE_UP;
        this.i = lineStart;
        break;
      }
      this.i += indent + 1; // past '-'
      const c = this.at();
      if (this.eol(c)) throw GIVE_UP; // the item continues on the next lines
      if (c !== SP) throw GIVE_UP;
      this.spaces();
      if (this.at() === HASH || this.eol(this.at())) throw GIVE_UP;
      items.push(this.inlineValue(indent, true));
      this.endOfLine();
      if (this.i >= this.t.length) break;
    }
    return { kind: 'seq', range: { start, end: this.i }, flow: false, items };
  }

  /** a block mapping of `key: inline value` lines at column `indent` */
  private blockMap(indent: number): YNode {
    const pairs: [YNode, YNode][] = [];
    const start = this.i + indent;
    for (;;) {
      const lineStart = this.i;
      const got = this.nextContentLine();
      if (got !== indent) {
        if (got > indent) throw GIVE_UP;
        this.i = lineStart;
        break;
      }
      this.i += indent;
      const key = this.blockKey();
      this.spaces();
      if (this.at() === HASH || this.eol(this.at())) throw GIVE_UP;
      const value = this.inlineValue(indent, true);
      this.endOfLine();
      pairs.push([key, value]);
      if (this.i >= this.t.length) break;
    }
    return { kind: 'map', range: { start, end: this.i }, flow: false, pairs };
  }
}

/** The model file's root mapping, or null when the text is outside the subset this reader handles. */
export function fastYaml(text: string): YNode | null {
  return fastYamlOrOffset(text).root;
}

/** As fastYaml, with the offset where it gave up (for tests and for tuning the subset). */
export function fastYamlOrOffset(text: string): { root: YNode | null; gaveUpAt: number | null } {
  const r = new Reader(text);
  try {
    return { root: r.parse(), gaveUpAt: null };
  } catch (e) {
    if (e === GIVE_UP) return { root: null, gaveUpAt: r.i };
    throw e;
  }
}
