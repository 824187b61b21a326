/**
 * The server never exits and always answers: positions outside the document, closed and unknown URIs, malformed
 * params, unknown methods, a burst of edits, cancellation and a garbled message all get a well-formed reply.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { CancellationTokenSource, LSPErrorCodes, ResponseError } from 'vscode-languageserver-protocol/node';
import type { Hover, PublishDiagnosticsParams } from 'vscode-languageserver-protocol';
import { LspClient } from './client.ts';
import { corpusText, replaceOnce, YOLOV5N } from '../features/corpus.ts';
import { LineIndex } from '../../server/src/core/lines.ts';
import { CORPUS_MISSING, needsCorpus } from '../support/reference.ts';

let client: LspClient;
const uri = 'file:///robust/yolov5n.yaml';
const text = CORPUS_MISSING ? '' : corpusText(YOLOV5N);

before(async () => {
  client = await LspClient.start();
  await client.open(uri, text);
});
after(async () => {
  assert.equal(client.exited, false, `the server exited: ${client.stderr}`);
  await client.stop();
});

/** A reply: a result (anything, null included) or a JSON-RPC error with a numeric code; never a hang or a crash. */
async function reply(method: string, params: unknown): Promise<{ result?: unknown; error?: ResponseError<unknown> }> {
  try {
    return { result: await client.request(method, params) };
  } catch (e) {
    assert.ok(e instanceof ResponseError, `${method}: ${String(e)}`);
    assert.equal(typeof e.code, 'number');
    return { error: e };
  }
}

const POSITION_METHODS = [
  'textDocument/hover',
  'textDocument/completion',
  'textDocument/signatureHelp',
  'textDocument/definition',
  'textDocument/references',
  'textDocument/documentHighlight',
];
const DOCUMENT_METHODS = ['textDocument/documentSymbol', 'textDocument/codeLens'];

test('positions outside the document are clamped, never an error', async () => {
  const lastLine = new LineIndex(text).lineCount;
  for (const position of [
    { line: 1_000_000, character: 0 },
    { line: 0, character: 1_000_000 },
    { line: -3, character: -7 },
    { line: lastLine, character: 5 },
    { line: 2 ** 31, character: 2 ** 31 },
  ]) {
    for (const method of POSITION_METHODS) {
      const r = await reply(method, { textDocument: { uri }, position, context: { includeDeclaration: true } });
      assert.equal(r.error, undefined, `${method} at ${JSON.stringify(position)}: ${r.error?.message}`);
    }
    const hints = await reply('textDocument/inlayHint', {
      textDocument: { uri },
      range: { start: position, end: { line: position.line + 5, character: 0 } },
    });
    assert.ok(Array.isArray(hints.result));
    const actions = await reply('textDocument/codeAction', {
      textDocument: { uri },
      range: { start: position, end: position },
      context: { diagnostics: [] },
    });
    assert.ok(Array.isArray(actions.result));
  }
});

test('closed and unknown URIs get empty results', async () => {
  const other = 'file:///robust/closed.yaml';
  await client.open(other, text);
  await client.closeDoc(other);
  const cleared = await client.waitForDiagnostics(other, (p) => p.diagnostics.length === 0 && p.version === undefined);
  assert.deepEqual(cleared.diagnostics, []);
  for (const u of [other, 'file:///nowhere/x.yaml', 'untitled:Untitled-1', 'not a uri at all']) {
    for (const method of POSITION_METHODS) {
      const r = await reply(method, {
        textDocument: { uri: u },
        position: { line: 3, character: 3 },
        context: { includeDeclaration: true },
      });
      assert.equal(r.error, undefined, method);
      assert.ok(r.result === null || (Array.isArray(r.result) && r.result.length === 0), `${method} on ${u}: ${JSON.stringify(r.result)}`);
    }
    for (const method of DOCUMENT_METHODS) assert.deepEqual((await reply(method, { textDocument: { uri: u } })).result, []);
    for (const method of ['yolo/graph', 'yolo/summary', 'yolo/profile']) assert.equal((await reply(method, { uri: u })).result, null);
    assert.equal((await reply('yolo/submodules', { uri: u, index: 0 })).result, null);
  }
});

test('malformed params and unknown methods get an answer (a result or an error response)', needsCorpus, async () => {
  const garbage: unknown[] = [
    {},
    { textDocument: 42 },
    { textDocument: { uri: 7 }, position: 'here' },
    { textDocument: { uri }, position: { line: 'x', character: null } },
    { textDocument: { uri }, position: { line: 1.5, character: NaN } },
    [1, 2, 3],
    'string',
  ];
  for (const params of garbage) {
    for (const method of [...POSITION_METHODS, ...DOCUMENT_METHODS, 'textDocument/inlayHint', 'textDocument/codeAction'])
      await reply(method, params);
    for (const method of ['yolo/graph', 'yolo/submodules', 'yolo/summary']) await reply(method, params);
  }
  await reply('yolo/submodules', { uri, index: 'seven' });
  await reply('yolo/submodules', { uri, index: 1e12 });
  await reply('yolo/graph', { uri, imgsz: -5, scale: { nested: true } });
  const unknown = await reply('yolo/nonsense', { uri });
  assert.equal(unknown.error?.code, -32601, 'MethodNotFound');
  // a hover at a sane position still works afterwards
  const h = (await reply('textDocument/hover', { textDocument: { uri }, position: { line: 20, character: 14 } })).result as Hover;
  assert.match((h.contents as { value: string }).value, /\*\*Conv\*\*/);
});

test('a burst of edits: diagnostics arrive for the last version, never older ones after it', needsCorpus, async () => {
  const burst = 'file:///robust/burst/yolov5n.yaml';
  await client.open(burst, text);
  let current = text;
  let last = 1;
  for (let k = 0; k < 40; k++) {
    // alternate between a broken and a fixed `from`, with incremental and full-text edits
    current = k % 2 === 0 ? replaceOnce(text, '[[-1, 6], 1, Concat', `[[-1, ${60 + k}], 1, Concat`) : text;
    last =
      k % 3 === 0
        ? await client.replace(burst, current)
        : await client.edit(burst, [{ range: { start: { line: 0, character: 0 }, end: { line: 100_000, character: 0 } }, text: current }]);
  }
  const final = await client.waitForDiagnostics(burst, (p) => p.version === last);
  assert.deepEqual(final.diagnostics, [], 'the last text is the fixed one');
  // any diagnostics published for this URI come in version order
  const versions = (client.diagnostics.get(burst) ?? []).map((p: PublishDiagnosticsParams) => p.version ?? 0);
  assert.deepEqual(
    versions,
    [...versions].sort((a, b) => a - b),
  );
  // and requests against the new text answer from it
  const h = (await reply('textDocument/hover', { textDocument: { uri: burst }, position: { line: 36, character: 11 } })).result as Hover;
  assert.match((h.contents as { value: string }).value, /from 6/);
});

test('a cancelled request gets a cancellation error or its result, and the server goes on', needsCorpus, async () => {
  const source = new CancellationTokenSource();
  const pending = client.conn.sendRequest('yolo/summary', { uri }, source.token);
  source.cancel();
  try {
    const r = (await pending) as { table: string } | null;
    assert.ok(r && typeof r.table === 'string');
  } catch (e) {
    assert.ok(e instanceof ResponseError);
    assert.equal(e.code, LSPErrorCodes.RequestCancelled);
  }
  assert.ok((await reply('textDocument/documentSymbol', { textDocument: { uri } })).result);
});

test('a garbled message on stdin does not take the server down', needsCorpus, async () => {
  client.child.stdin.write('Content-Length: 9\r\n\r\n{garbage}');
  const r = await reply('textDocument/documentSymbol', { textDocument: { uri } });
  assert.ok(Array.isArray(r.result) && r.result.length > 0);
  assert.equal(client.exited, false);
});
