/**
 * Layer refactors over the real language server (stdio): the client asks for the code actions on a layer, applies
 * the versioned WorkspaceEdit it gets to its own copy of the text and compares the whole result; then it sends
 * that text as the next version and asks for the inverse refactor, which must give back the original byte for
 * byte. A refactor that is not possible comes greyed out with its reason and no edit.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { CodeAction, Diagnostic, TextDocumentEdit } from 'vscode-languageserver-protocol';
import { LspClient, fileUri } from './client.ts';
import { corpusPath, corpusText, replaceOnce, YOLOV5N, YOLOV8 } from '../features/corpus.ts';
import { LineIndex } from '../../server/src/core/lines.ts';
import { needsCorpus } from '../support/reference.ts';

let client: LspClient;
before(async () => {
  client = await LspClient.start();
});
after(async () => {
  await client.stop();
});

/** The client's side of applying a code action: one versioned text edit of this document. */
function apply(text: string, uri: string, version: number, action: CodeAction): string {
  assert.ok(action.edit?.documentChanges?.length === 1, `${action.title}: one document change`);
  const change = action.edit.documentChanges[0] as TextDocumentEdit;
  assert.deepEqual(change.textDocument, { uri, version }, `${action.title}: versioned for the open text`);
  const lines = new LineIndex(text);
  const edits = change.edits.map((e) => ({
    start: lines.offset(e.range.start),
    end: lines.offset(e.range.end),
    newText: 'newText' in e ? e.newText : '',
  }));
  edits.sort((a, b) => b.start - a.start || b.end - a.end);
  let out = text;
  for (const e of edits) out = out.slice(0, e.start) + e.newText + out.slice(e.end);
  return out;
}

/** The code actions on the line holding `needle`, with the cursor on its first character. */
async function actionsAt(
  uri: string,
  text: string,
  needle: string,
  only?: string[],
  diagnostics: Diagnostic[] = [],
): Promise<CodeAction[]> {
  const at = text.indexOf(needle);
  assert.ok(at >= 0, `'${needle}' is in the text`);
  const position = new LineIndex(text).position(at + 1);
  return client.request<CodeAction[]>('textDocument/codeAction', {
    textDocument: { uri },
    range: { start: position, end: position },
    context: { diagnostics, ...(only ? { only } : {}) },
  });
}

function pick(actions: CodeAction[], title: string | RegExp): CodeAction {
  const a = actions.find((x) => (typeof title === 'string' ? x.title === title : title.test(x.title)));
  assert.ok(a, `no action ${title}; got ${actions.map((x) => x.title).join(' | ')}`);
  return a;
}

let n = 0;
const uriFor = (name: string) => `file:///refactor-fixtures/${++n}/${name}`;

describe('layer refactors over LSP', needsCorpus, () => {
  test('yolov5n (flow lists): insert below layer 13, then delete the new layer: every index and comment, then the original', async () => {
    const uri = uriFor('yolov5n.yaml');
    const text = corpusText(YOLOV5N);
    await client.open(uri, text);
    const actions = await actionsAt(uri, text, '[-1, 3, C3, [512, False]], # 13', ['refactor']);
    assert.deepEqual(
      actions.map((a) => [a.kind, a.title, a.disabled?.reason ?? null]),
      [
        ['refactor.insert', 'Insert a layer above 13', null],
        ['refactor.insert', 'Insert a layer below 13', null],
        ['refactor.insert', 'Insert a layer below 13 and feed layer 14 through it', null],
        ['refactor.insert', 'Insert a layer above 13 on its input (layer 12 \u2192 new layer \u2192 13)', null],
        ['refactor.delete', 'Delete layer 13 (C3) and route layer 14 to layer 12', null],
        [
          'refactor.move',
          'Move layer 13 (C3) up',
          'layer 13 reads layer 12, so the two can only swap places as a chain, and layer 12 does not read exactly one layer',
        ],
        ['refactor.move', 'Move layer 13 (C3) down: swap it with layer 14 (Conv) in the chain', null],
      ],
    );
    // the editor asking on its own as the cursor moves gets no refactors (no light bulb on every layer)
    const at = new LineIndex(text).position(text.indexOf('[-1, 3, C3, [512, False]], # 13') + 1);
    const automatic = await client.request<CodeAction[]>('textDocument/codeAction', {
      textDocument: { uri },
      range: { start: at, end: at },
      context: { diagnostics: [], triggerKind: 2 },
    });
    assert.deepEqual(automatic, []);
    const inserted = apply(text, uri, 1, pick(actions, 'Insert a layer below 13'));
    let want = replaceOnce(
      text,
      '    [-1, 3, C3, [512, False]], # 13\n',
      '    [-1, 3, C3, [512, False]], # 13\n    [-1, 1, Conv, [512, 3, 1]],\n',
    );
    want = replaceOnce(want, '\n    [-1, 1, Conv, [256, 1, 1]],', '\n    [-2, 1, Conv, [256, 1, 1]],');
    want = replaceOnce(want, '# 17 (P3/8-small)', '# 18 (P3/8-small)');
    want = replaceOnce(want, '[[-1, 14], 1, Concat', '[[-1, 15], 1, Concat');
    want = replaceOnce(want, '# 20 (P4/16-medium)', '# 21 (P4/16-medium)');
    want = replaceOnce(want, '# 23 (P5/32-large)', '# 24 (P5/32-large)');
    want = replaceOnce(want, '[[17, 20, 23], 1, Detect', '[[18, 21, 24], 1, Detect');
    assert.equal(inserted, want);
    // the client sends the edited text; the new layer resolves and nothing is wrong
    const v2 = await client.replace(uri, inserted);
    const d2 = await client.waitForDiagnostics(uri, (p) => p.version === v2);
    assert.deepEqual(
      d2.diagnostics.filter((d) => d.severity === 1),
      [],
    );
    assert.deepEqual(
      d2.diagnostics.map((d) => d.code),
      ['YOLO025'],
      'the new layer is unused until something reads it',
    );
    const del = pick(await actionsAt(uri, inserted, '[-1, 1, Conv, [512, 3, 1]]', ['refactor.delete']), 'Delete layer 14 (Conv)');
    assert.equal(apply(inserted, uri, v2, del), text);
    await client.closeDoc(uri);
  });

  test('yolov8 (block lists, CRLF): a chain swap up and back; a move that would rewire a branch is disabled with its reason', async () => {
    const uri = fileUri(corpusPath(YOLOV8).replace(/\.yaml$/, '-crlf.yaml'));
    const text = corpusText(YOLOV8).replace(/\r?\n/g, '\r\n');
    await client.open(uri, text);
    const actions = await actionsAt(uri, text, '[-1, 1, SPPF, [1024, 5]] # 9', ['refactor.move']);
    const down = pick(actions, 'Move layer 9 (SPPF) down');
    assert.equal(down.edit, undefined);
    assert.match(down.disabled?.reason ?? '', /layer 9 also feeds layer 20/);
    const up = pick(actions, 'Move layer 9 (SPPF) up: swap it with layer 8 (C2f) in the chain');
    const moved = apply(text, uri, 1, up);
    assert.equal(
      moved,
      replaceOnce(
        text,
        '  - [-1, 3, C2f, [1024, True]]\r\n  - [-1, 1, SPPF, [1024, 5]] # 9\r\n',
        '  - [-1, 1, SPPF, [1024, 5]] # 8\r\n  - [-1, 3, C2f, [1024, True]]\r\n',
      ),
    );
    // the chain's end is now C2f at 9, so the Concat that read 9 still reads 9: its text does not change
    const v2 = await client.replace(uri, moved);
    await client.waitForDiagnostics(uri, (p) => p.version === v2);
    const back = pick(
      await actionsAt(uri, moved, '[-1, 1, SPPF, [1024, 5]] # 8', ['refactor.move']),
      'Move layer 8 (SPPF) down: swap it with layer 9 (C2f) in the chain',
    );
    assert.equal(apply(moved, uri, v2, back), text);
    await client.closeDoc(uri);
  });

  test('a quick fix on a published diagnostic: a layer inserted below 9 is unused, removing it gives back the file', async () => {
    const uri = uriFor('yolov5n.yaml');
    const text = corpusText(YOLOV5N);
    await client.open(uri, text);
    const inserted = apply(
      text,
      uri,
      1,
      pick(await actionsAt(uri, text, '[-1, 1, SPPF, [1024, 5]], # 9', ['refactor.insert']), 'Insert a layer below 9'),
    );
    assert.ok(inserted.includes('    [-1, 1, SPPF, [1024, 5]], # 9\n    [-1, 1, Conv, [1024, 3, 1]],\n  ]'), inserted);
    const v2 = await client.replace(uri, inserted);
    const published = await client.waitForDiagnostics(uri, (p) => p.version === v2);
    const dead = published.diagnostics.find((d) => d.code === 'YOLO025');
    assert.ok(dead, JSON.stringify(published.diagnostics));
    const actions = await client.request<CodeAction[]>('textDocument/codeAction', {
      textDocument: { uri },
      range: dead.range,
      context: { diagnostics: [dead], only: ['quickfix'] },
    });
    const fix = pick(actions, /^Remove unused layer 10 \(Conv\)/);
    assert.equal(fix.kind, 'quickfix');
    assert.deepEqual(
      fix.diagnostics?.map((d) => d.code),
      ['YOLO025'],
    );
    assert.equal(apply(inserted, uri, v2, fix), text);
    await client.closeDoc(uri);
  });
});
