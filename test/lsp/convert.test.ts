/** The offset ⇄ LSP conversions of server/src/convert.ts, on their own (the server tests exercise them end to end). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LineIndex } from '../../server/src/core/lines.ts';
import { diag } from '../../server/src/core/diagnostics.ts';
import { fromLspDiagnostic, toLspCodeAction, toLspDiagnostic, toOffset, toOffsetRange, toVersionedEdit } from '../../server/src/convert.ts';

const text = 'nc: 80\r\nbackbone:\n  - [-1, 1, Conv, [64, 3, 2]]  # 😀 0\nhead: []\n';
const lines = new LineIndex(text);

test('positions clamp to the document; malformed ones read as 0', () => {
  assert.equal(toOffset(lines, { line: 0, character: 2 }), 2);
  assert.equal(toOffset(lines, { line: 0, character: 99 }), 6, 'past the end of a CRLF line: its end, before \\r\\n');
  assert.equal(toOffset(lines, { line: 99, character: 0 }), text.length);
  assert.equal(toOffset(lines, { line: -1, character: -1 }), 0);
  assert.equal(toOffset(lines, { line: 'x', character: null }), 0);
  assert.equal(toOffset(lines, undefined), 0);
  assert.equal(toOffset(lines, { line: 1.7, character: 3.2 }), text.indexOf('backbone') + 3);
  // UTF-16: the emoji is two code units, as LSP counts them
  const zero = text.indexOf(' 0\n') + 1;
  assert.deepEqual(lines.position(zero), { line: 2, character: 36 });
  assert.equal(toOffset(lines, { line: 2, character: 36 }), zero);
  assert.deepEqual(
    toOffsetRange(lines, { start: { line: 1, character: 4 }, end: { line: 1, character: 0 } }),
    { start: 8, end: 12 },
    'a reversed range is put in order',
  );
});

test('a diagnostic round-trips through its LSP form with code, severity, tags, layer and data', () => {
  const start = text.indexOf('Conv');
  const d = diag('YOLO010', { start, end: start + 4 }, 'unknown module', undefined, {
    layer: 0,
    data: { suggestion: 'Conv' },
    tags: [1],
    related: [{ range: { start: 0, end: 2 }, message: 'here' }],
  });
  const lsp = toLspDiagnostic(lines, 'file:///m.yaml', d);
  assert.deepEqual(lsp.range, { start: { line: 2, character: 12 }, end: { line: 2, character: 16 } });
  assert.equal(lsp.severity, 1);
  assert.equal(lsp.source, 'yolo-lens');
  assert.deepEqual(lsp.relatedInformation, [
    { location: { uri: 'file:///m.yaml', range: { start: { line: 0, character: 0 }, end: { line: 0, character: 2 } } }, message: 'here' },
  ]);
  const back = fromLspDiagnostic(lines, JSON.parse(JSON.stringify(lsp)))!;
  assert.deepEqual(back, {
    code: 'YOLO010',
    severity: 'error',
    range: d.range,
    message: 'unknown module',
    tags: [1],
    layer: 0,
    data: { suggestion: 'Conv' },
  });
  assert.equal(fromLspDiagnostic(lines, { ...lsp, source: 'yaml-schema' }), null, 'other servers\u2019 diagnostics are not ours');
  assert.equal(fromLspDiagnostic(lines, { ...lsp, code: 'E501' }), null);
  assert.equal(fromLspDiagnostic(lines, 'nonsense'), null);
});

test('offset edits become one versioned document edit; a code action keeps its kind and diagnostics', () => {
  const at = text.indexOf('# 😀 0');
  const edit = toVersionedEdit(lines, 'file:///m.yaml', 7, [{ range: { start: at, end: at + 6 }, newText: '# 0' }]);
  assert.deepEqual(edit, {
    documentChanges: [
      {
        textDocument: { uri: 'file:///m.yaml', version: 7 },
        edits: [{ range: { start: { line: 2, character: 31 }, end: { line: 2, character: 37 } }, newText: '# 0' }],
      },
    ],
  });
  const d = diag('YOLO024', { start: at + 5, end: at + 6 }, 'stale');
  const action = toLspCodeAction(lines, 'file:///m.yaml', 7, {
    title: 'Update the index comment',
    kind: 'quickfix',
    edits: [{ range: { start: at, end: at + 6 }, newText: '# 0' }],
    diagnostics: [d],
    isPreferred: true,
  });
  assert.equal(action.kind, 'quickfix');
  assert.equal(action.isPreferred, true);
  assert.equal(action.diagnostics![0]!.code, 'YOLO024');
  assert.deepEqual(action.edit, edit);
  assert.equal(toLspCodeAction(lines, 'u', 1, { title: 'Move layer up', kind: 'refactor.move', edits: [] }).kind, 'refactor.move');
});
