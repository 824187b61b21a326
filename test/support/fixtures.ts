/**
 * Feature fixtures: a YAML string with `$0` where the cursor is and, under a line, comment lines such as
 * `# ^^^ YOLO012` whose carets mark the span (same columns, on the line above) where a diagnostic with that code
 * is expected; `^^^ YOLO003` without the `#` marks a span that starts in the first column. Marker lines and `$0`
 * are removed; the line breaks of the text are kept (CRLF fixtures stay CRLF).
 */
import type { Range } from '../../server/src/core/document.ts';

export interface Fixture {
  /** the YAML without markers */
  readonly text: string;
  /** offset of `$0`, if any */
  readonly cursor?: number;
  /** the marked spans, in text order */
  readonly marks: readonly { readonly code: string; readonly range: Range }[];
}

const MARKER = /^[ \t]*(?:#[ \t]*)?(\^+)[ \t]+([A-Z]+\d+)[ \t]*$/;

export function parseFixture(src: string): Fixture {
  const lines = src.split(/(?<=\r\n|\n|\r(?!\n))/);
  const kept: string[] = [];
  const pending: { line: number; col: number; len: number; code: string }[] = [];
  for (const raw of lines) {
    const body = raw.replace(/\r?\n$|\r$/, '');
    const m = MARKER.exec(body);
    if (m && kept.length > 0) {
      pending.push({ line: kept.length - 1, col: body.indexOf('^'), len: m[1]!.length, code: m[2]! });
      continue;
    }
    kept.push(raw);
  }
  let cursor: number | undefined;
  let offset = 0;
  const lineStarts: number[] = [];
  const out: string[] = [];
  for (let k = 0; k < kept.length; k++) {
    let line = kept[k]!;
    const at = line.indexOf('$0');
    lineStarts.push(offset);
    if (at >= 0) {
      cursor = offset + at;
      line = line.slice(0, at) + line.slice(at + 2);
      for (const p of pending) if (p.line === k && p.col > at) p.col -= 2;
    }
    out.push(line);
    offset += line.length;
  }
  const marks = pending.map((p) => ({ code: p.code, range: { start: lineStarts[p.line]! + p.col, end: lineStarts[p.line]! + p.col + p.len } }));
  marks.sort((a, b) => a.range.start - b.range.start);
  return { text: out.join(''), ...(cursor !== undefined ? { cursor } : {}), marks };
}
