/**
 * Feature fixtures: a YAML string with `$0` where the cursor is and comment lines `# ^^^ YOLO012` under the span a
 * diagnostic with that code is expected on. Marker lines are removed from the text (they only annotate the line
 * above); the carets' columns are the columns of that line.
 */
import type { Range } from '../../server/src/core/range.ts';
import { LineIndex } from '../../server/src/core/lines.ts';

export interface ExpectedDiagnostic {
  readonly code: string;
  readonly range: Range;
}

export interface Fixture {
  /** the YAML, markers removed */
  readonly text: string;
  /** every `$0`, in order */
  readonly cursors: readonly number[];
  /** the first `$0` (-1 when there is none) */
  readonly cursor: number;
  readonly expected: readonly ExpectedDiagnostic[];
  readonly lines: LineIndex;
}

const MARKER = /^(\s*)#(\s*)(\^+)\s+((?:[A-Z]+\d+\s*)+)$/;

/** Strips the indentation common to every non-blank line and a leading blank line (template literals). */
export function dedent(s: string): string {
  const body = s.replace(/^[ \t]*\r?\n/, '').replace(/\r?\n[ \t]*$/, '\n');
  const indents = body
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => /^[ \t]*/.exec(l)![0].length);
  const cut = indents.length ? Math.min(...indents) : 0;
  return body
    .split('\n')
    .map((l) => l.slice(Math.min(cut, /^[ \t]*/.exec(l)![0].length)))
    .join('\n');
}

export function fixture(source: string, opts: { dedent?: boolean } = {}): Fixture {
  const src = opts.dedent === false ? source : dedent(source);
  const out: string[] = [];
  const cursors: number[] = [];
  const expected: ExpectedDiagnostic[] = [];
  let offset = 0;
  let prevLineStart = -1;
  const rawLines = src.split('\n');
  rawLines.forEach((line, k) => {
    const m = MARKER.exec(line);
    if (m && prevLineStart >= 0) {
      const col = m[1]!.length + 1 + m[2]!.length;
      const width = m[3]!.length;
      for (const code of m[4]!.trim().split(/\s+/))
        expected.push({ code, range: { start: prevLineStart + col, end: prevLineStart + col + width } });
      return;
    }
    let clean = '';
    for (let i = 0; i < line.length; i++) {
      if (line[i] === '$' && line[i + 1] === '0') {
        cursors.push(offset + clean.length);
        i++;
      } else clean += line[i];
    }
    prevLineStart = offset;
    const last = k === rawLines.length - 1;
    out.push(clean);
    offset += clean.length + (last ? 0 : 1);
  });
  const text = out.join('\n');
  return { text, cursors, cursor: cursors[0] ?? -1, expected, lines: new LineIndex(text) };
}

/** `line:col-line:col` (1-based) of a range: readable in assertion messages. */
export function showRange(lines: LineIndex, r: Range): string {
  const a = lines.position(r.start);
  const b = lines.position(r.end);
  return `${a.line + 1}:${a.character + 1}-${b.line + 1}:${b.character + 1}`;
}

/** The text a range covers. */
export const textOf = (f: { text: string }, r: Range): string => f.text.slice(r.start, r.end);

/**
 * The differences between a fixture's `# ^^^ CODE` markers and the diagnostics a feature produced, readable:
 * `missing YOLO008 at 12:10-12:12 "60"`, `unexpected YOLO025 at ...`. Only codes in `only` are compared when given;
 * codes in `ignore` never are.
 */
export function diagnosticMismatches(
  f: Fixture,
  got: readonly { code: string; range: Range }[],
  opts: { only?: readonly string[]; ignore?: readonly string[] } = {},
): string[] {
  const considered = (code: string) => (!opts.only || opts.only.includes(code)) && !(opts.ignore ?? []).includes(code);
  const key = (d: { code: string; range: Range }) =>
    `${d.code} at ${showRange(f.lines, d.range)} ${JSON.stringify(f.text.slice(d.range.start, d.range.end)).slice(0, 60)}`;
  const want = f.expected.filter((d) => considered(d.code)).map(key);
  const have = got.filter((d) => considered(d.code)).map(key);
  const out: string[] = [];
  const pool = [...have];
  for (const w of want) {
    const k = pool.indexOf(w);
    if (k >= 0) pool.splice(k, 1);
    else out.push(`missing ${w}`);
  }
  for (const h of pool) out.push(`unexpected ${h}`);
  return out;
}

/** `line` followed by a marker line with carets under the first `token` in it (for edits of corpus files). */
export function marked(line: string, token: string, code: string): string {
  const col = line.indexOf(token);
  if (col < 1) throw new Error(`'${token}' not found past column 0 in '${line}'`);
  return `${line}\n${'#'.padEnd(col)}${'^'.repeat(token.length)} ${code}`;
}

/** The header and layers of a small healthy YOLOv5-dialect model, for tests that break one part of it. */
export const V5_HEADER = `nc: 80
depth_multiple: 0.33
width_multiple: 0.25
anchors:
  - [10,13, 16,30, 33,23]
  - [30,61, 62,45, 59,119]
  - [116,90, 156,198, 373,326]
`;
export const V5_BODY = `backbone:
  - [-1, 1, Conv, [64, 6, 2, 2]]
  - [-1, 1, Conv, [128, 3, 2]]
  - [-1, 3, C3, [128]]
head:
  - [-1, 1, Conv, [256, 3, 2]]
  - [-1, 1, Conv, [256, 3, 2]]
  - [-1, 1, Conv, [256, 3, 2]]
  - [[3, 4, 5], 1, Detect, [nc, anchors]]
`;
