/**
 * Nothing from a workspace is ever executed, and nothing is written that the user did not invoke: the language server
 * never asks the editor to apply an edit on its own, and the edits it offers are single versioned document edits that
 * a client refuses once the document has moved on. That no source of the extension can run code (no eval, no child
 * processes, no code loaded by a computed path) is held by eslint (`npm run lint`; test/lint/walls.test.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CodeAction, TextDocumentEdit } from 'vscode-languageserver-protocol';
import { LspClient, ROOT } from '../lsp/client.ts';
import { corpusText, replaceOnce, YOLOV5N } from '../features/corpus.ts';
import { needsCorpus } from '../support/reference.ts';

test('what keeps the process.cwd() fallbacks that eslint allows unreachable: the node bundles are CommonJS', () => {
  // eslint (eslint.config.mjs) refuses eval, child processes, code loaded by a computed path and process.cwd() in every
  // extension source; the few disable comments say why, and two of them rest on __filename being defined
  assert.match(readFileSync(join(ROOT, 'scripts/build.mjs'), 'utf8'), /const node = \{[^}]*format: 'cjs'/, 'the node bundles are CommonJS');
});

test(
  'the server never applies an edit itself; a code action is one versioned edit that a stale document refuses',
  needsCorpus,
  async () => {
    const applyEdits: unknown[] = [];
    const c = await LspClient.start();
    c.conn.onRequest('workspace/applyEdit', (p: unknown) => {
      applyEdits.push(p);
      return { applied: false };
    });
    try {
      const uri = 'file:///untrusted/nothing-lost/yolov5n.yaml';
      const text = replaceOnce(corpusText(YOLOV5N), '[-1, 3, C3, [128]]', '[-1, 3, C33, [128]]');
      const opened = await c.open(uri, text);
      const d = opened.diagnostics.find((x) => x.code === 'YOLO010')!;
      assert.ok(d, 'the misspelled module is flagged');
      const actions = await c.request<CodeAction[]>('textDocument/codeAction', {
        textDocument: { uri },
        range: d.range,
        context: { diagnostics: [d], triggerKind: 1 },
      });
      const fixes = actions.filter((a) => a.edit);
      assert.ok(
        fixes.some((a) => /C3/.test(a.title)),
        `a quick fix is offered: ${actions.map((a) => a.title).join('; ')}`,
      );
      for (const a of fixes) {
        // one document edit, with the version it was computed on: applied as one undo step, or not at all
        assert.equal(a.edit!.changes, undefined, 'no unversioned `changes`');
        assert.equal(a.edit!.documentChanges?.length, 1);
        const change = a.edit!.documentChanges![0] as TextDocumentEdit;
        assert.equal(change.textDocument.uri, uri);
        assert.equal(change.textDocument.version, 1);
      }
      // the user types on: the document is at version 2, and the offered edit names version 1, so an editor that
      // honours versioned edits (VS Code does) refuses it; asked again, the server offers edits for version 2
      const v2 = await c.replace(uri, text.replace('# YOLOv5', '# YOLOv5 (edited)'));
      await c.waitForDiagnostics(uri, (p) => p.version === v2);
      const again = await c.request<CodeAction[]>('textDocument/codeAction', {
        textDocument: { uri },
        range: d.range,
        context: { diagnostics: [d], triggerKind: 1 },
      });
      for (const a of again.filter((x) => x.edit)) assert.equal((a.edit!.documentChanges![0] as TextDocumentEdit).textDocument.version, v2);
      // refactors asked for from the menu are the same: versioned, never applied by the server
      const refactors = await c.request<CodeAction[]>('textDocument/codeAction', {
        textDocument: { uri },
        range: d.range,
        context: { diagnostics: [], only: ['refactor'], triggerKind: 1 },
      });
      assert.ok(refactors.length > 0);
      for (const a of refactors.filter((x) => x.edit))
        assert.equal((a.edit!.documentChanges![0] as TextDocumentEdit).textDocument.version, v2);
      await c.request('textDocument/hover', { textDocument: { uri }, position: { line: 0, character: 0 } });
      assert.deepEqual(applyEdits, [], 'the server asked the editor to apply an edit on its own');
    } finally {
      await c.stop();
    }
  },
);
