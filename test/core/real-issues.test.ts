/**
 * The mistakes people really made (test/fixtures/real-issues: GitHub threads, each with a broken and a fixed YAML
 * and the real upstream code's verdict on both): the broken file gets a diagnostic of the expected severity on the
 * line a good diagnostic is on; the fixed file gets no error and no warning of that kind (the codes found there).
 * Each file is resolved as the editor would at the default image size, with the user's file name and framework.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadRealIssueCases, type RealIssueCase } from '../support/real-issues.ts';
import { resolve, type ResolveOptions } from '../../server/src/core/resolve.ts';
import { modelDiagnostics } from '../../server/src/core/features/diagnostics.ts';
import { LineIndex } from '../../server/src/core/lines.ts';
import type { Diagnostic } from '../../server/src/core/diagnostics.ts';

const cases = loadRealIssueCases();

/** The code that answers each kind of silent mistake (a warning case must get this one, not just any warning). */
const KIND_CODES: Readonly<Record<string, readonly string[]>> = {
  'repeats-ignored': ['YOLO039'],
  'gflops-uncountable': ['YOLO032'],
  'dead-layer': ['YOLO025'],
  'stale-comment': ['YOLO024'],
  'missing-scales': ['YOLO045', 'YOLO022'],
  'key-ignored': ['YOLO040'],
  'scale-key-ignored': ['YOLO040'],
  'scale-guess': ['YOLO042'],
  'shifted-indices': ['YOLO035', 'YOLO036', 'YOLO016', 'YOLO008'],
  'image-size-trap': ['YOLO038'],
  'anchor-order': ['YOLO037'],
  'head-stride-order': ['YOLO037'],
};

/** As the editor resolves the file: the user's file name and framework, the default image size. */
const editorOptions = (c: RealIssueCase): ResolveOptions => ({ framework: c.framework, ...(c.fileName ? { fileName: c.fileName } : {}) });

function diagnose(text: string, c: RealIssueCase): { all: Diagnostic[]; lines: LineIndex } {
  return { all: modelDiagnostics(resolve(text, editorOptions(c))), lines: new LineIndex(text) };
}

const onLine = (lines: LineIndex, d: Diagnostic, line: number): boolean =>
  lines.position(d.range.start).line + 1 <= line && lines.position(d.range.end).line + 1 >= line;

const describe = (ds: readonly Diagnostic[], lines: LineIndex) =>
  ds.map((d) => `${d.code} ${d.severity} line ${lines.position(d.range.start).line + 1}: ${d.message}`).join('\n');

test('every real-issue case is diagnosed on its line, with its severity, and its fixed file is clean of that kind', () => {
  assert.ok(cases.length >= 30);
  const missed: string[] = [];
  for (const c of cases) {
    const { all, lines } = diagnose(c.brokenText, c);
    if (!all.some((d) => d.severity === c.expect.severity && onLine(lines, d, c.expect.line))) missed.push(c.id);
  }
  assert.deepEqual(missed, [], `cases without a diagnostic of their severity on their line`);
});

for (const c of cases) {
  test(`real issue ${c.id} (${c.kind}): ${c.expect.severity} on line ${c.expect.line}`, () => {
    const { all, lines } = diagnose(c.brokenText, c);
    const hits = all.filter((d) => d.severity === c.expect.severity && onLine(lines, d, c.expect.line));
    assert.ok(hits.length > 0, `no ${c.expect.severity} on line ${c.expect.line}; got:\n${describe(all, lines)}`);
    // an error is what the real code rejects: the resolver's verdict agrees with the recorded one
    const errors = all.filter((d) => d.severity === 'error');
    if (c.expect.severity === 'warning' && c.imgsz === undefined) assert.deepEqual(describe(errors, lines), '', 'the real code builds it');

    const expected = KIND_CODES[c.kind];
    if (expected)
      assert.ok(
        hits.some((d) => expected.includes(d.code)),
        `${c.kind} is answered by ${expected.join('/')}; on line ${c.expect.line} got:\n${describe(hits, lines)}`,
      );
    const kinds = new Set(hits.map((d) => d.code).filter((code) => !expected || expected.includes(code)));
    const fixed = diagnose(c.fixedText, c);
    const bad = fixed.all.filter((d) => d.severity === 'error' || (d.severity === 'warning' && kinds.has(d.code)));
    assert.deepEqual(describe(bad, fixed.lines), '', `the fixed file still gets ${[...kinds].join(', ')} or an error`);
  });
}

test('an image-size trap names a size that fails, and it does fail there (as the real code failed at the case size)', () => {
  const traps = cases.filter((c) => c.kind === 'image-size-trap');
  assert.ok(traps.length >= 2);
  for (const c of traps) {
    const trap = diagnose(c.brokenText, c).all.find((d) => d.code === 'YOLO038');
    assert.ok(trap, c.id);
    const size = trap.data?.imgsz as number;
    assert.match(trap.message, new RegExp(`at ${size} this layer fails`), c.id);
    const there = resolve(c.brokenText, { ...editorOptions(c), imgsz: size });
    assert.ok(
      there.diagnostics.some((d) => d.severity === 'error' && d.range.start === trap.range.start),
      `${c.id}: at ${size} the same layer fails`,
    );
    // the size the real code failed at fails here too
    const real = resolve(c.brokenText, { ...editorOptions(c), imgsz: c.imgsz! });
    assert.ok(
      real.diagnostics.some((d) => d.severity === 'error'),
      `${c.id}: fails at ${c.imgsz}`,
    );
    assert.equal(resolve(c.fixedText, { ...editorOptions(c), imgsz: c.imgsz! }).ok, true, `${c.id}: the fixed file runs at ${c.imgsz}`);
  }
});
