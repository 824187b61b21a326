/**
 * The language server survives what its robustness tests (test/lsp/robustness.test.ts) do not already throw at it:
 * a crash inside a feature or inside the resolver (injected with the test-only YOLO_LENS_FAULT variable the server
 * honours), edits racing with requests, hostile payloads on the wire (deep JSON, huge strings and documents, edits
 * and closes for documents never opened). A crash costs an empty answer and a log line; the server keeps serving.
 * All over stdio, with the real server bundle.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ResponseError } from 'vscode-languageserver-protocol/node';
import type { CodeAction, Hover, PublishDiagnosticsParams, TextDocumentEdit } from 'vscode-languageserver-protocol';
import { LspClient } from '../lsp/client.ts';
import { corpusText, replaceOnce, YOLOV5N } from '../features/corpus.ts';
import { CORPUS_MISSING, needsCorpus } from '../support/reference.ts';

const text = CORPUS_MISSING ? '' : corpusText(YOLOV5N);
/** 0-based position of the C3 on the `[-1, 3, C3, [128]]` line, and of a Conv (for hovers that have something to say) */
const lineOf = (t: string, needle: string) => t.slice(0, t.indexOf(needle)).split('\n').length - 1;
const convAt = {
  line: lineOf(text, '[-1, 1, Conv, [128, 3, 2]]'),
  character: text.split('\n')[lineOf(text, '[-1, 1, Conv, [128, 3, 2]]')]!.indexOf('Conv') + 1,
};

async function startWith(fault: string): Promise<LspClient> {
  const saved = process.env.YOLO_LENS_FAULT;
  process.env.YOLO_LENS_FAULT = fault;
  try {
    return await LspClient.start();
  } finally {
    if (saved === undefined) delete process.env.YOLO_LENS_FAULT;
    else process.env.YOLO_LENS_FAULT = saved;
  }
}

/** Waits until the server has logged a line matching `re` (logs come as window/logMessage; no sleeping). */
async function logged(c: LspClient, re: RegExp): Promise<void> {
  for (let k = 0; k < 200 && !re.test(c.stderr); k++)
    await c.request('textDocument/documentSymbol', { textDocument: { uri: 'file:///nothing.yaml' } });
  assert.match(c.stderr, re);
}

describe('a crash inside a feature', needsCorpus, () => {
  let c: LspClient;
  const uri = 'file:///survival/fault/yolov5n.yaml';
  before(async () => {
    c = await startWith('hover,codeAction,yolo/graph,completion');
    await c.open(uri, text);
  });
  after(async () => {
    assert.equal(c.exited, false, c.stderr);
    await c.stop();
  });

  test('answers empty, logs the failure, and every other feature goes on', async () => {
    assert.equal(await c.request('textDocument/hover', { textDocument: { uri }, position: convAt }), null);
    assert.deepEqual(
      await c.request('textDocument/codeAction', {
        textDocument: { uri },
        range: { start: convAt, end: convAt },
        context: { diagnostics: [] },
      }),
      [],
    );
    assert.equal(await c.request('yolo/graph', { uri }), null);
    assert.equal(await c.request('textDocument/completion', { textDocument: { uri }, position: convAt }), null);
    await logged(c, /hover failed: Error: fault injected into hover/);
    assert.match(c.stderr, /codeAction failed: Error: fault injected into codeAction/);
    assert.match(c.stderr, /yolo\/graph failed: Error: fault injected into yolo\/graph/);
    // the rest of the server is untouched
    const symbols = (await c.request('textDocument/documentSymbol', { textDocument: { uri } })) as unknown[];
    assert.ok(symbols.length > 0);
    const summary = (await c.request('yolo/summary', { uri })) as { table: string };
    assert.match(summary.table, /Detect/);
    const edited = replaceOnce(text, '[-1, 3, C3, [128]]', '[-1, 3, C33, [128]]');
    const version = await c.replace(uri, edited);
    const d = await c.waitForDiagnostics(uri, (p) => p.version === version);
    assert.ok(d.diagnostics.some((x) => x.code === 'YOLO010'));
    // and the failing feature fails the same way again, not worse
    assert.equal(await c.request('textDocument/hover', { textDocument: { uri }, position: convAt }), null);
    assert.equal(c.exited, false);
  });
});

describe('a crash inside the resolver', needsCorpus, () => {
  let c: LspClient;
  before(async () => {
    c = await startWith('resolve');
  });
  after(async () => {
    assert.equal(c.exited, false, c.stderr);
    await c.stop();
  });

  test('the file gets one YOLO030 diagnostic naming the bug, features answer empty, the server goes on', async () => {
    const uri = 'file:///survival/resolver/yolov5n.yaml';
    const d = await c.open(uri, text);
    assert.equal(d.diagnostics.length, 1);
    assert.equal(d.diagnostics[0]!.code, 'YOLO030');
    assert.match(String(d.diagnostics[0]!.message), /failed on this file \(a bug: please report it\): fault injected into resolve/);
    await logged(c, /resolve failed on file:\/\/\/survival\/resolver\/yolov5n\.yaml: Error: fault injected into resolve/);
    assert.equal(await c.request('textDocument/hover', { textDocument: { uri }, position: convAt }), null);
    assert.deepEqual(await c.request('textDocument/documentSymbol', { textDocument: { uri } }), []);
    assert.equal(await c.request('yolo/graph', { uri }), null);
    // a YAML that is not a model never reaches the resolver: no YOLO030 there
    const other = await c.open('file:///survival/resolver/other.yaml', 'name: not a model\nitems: [1, 2]\n');
    assert.deepEqual(other.diagnostics, []);
  });
});

describe('hostile traffic', needsCorpus, () => {
  let c: LspClient;
  const uri = 'file:///survival/race/yolov5n.yaml';
  before(async () => {
    c = await LspClient.start();
    await c.open(uri, text);
  });
  after(async () => {
    assert.equal(c.exited, false, c.stderr);
    await c.stop();
  });

  test('edits racing with requests: every request answers, from the text it was sent after, never from an older one', async () => {
    const variants = [
      text,
      replaceOnce(text, '[-1, 3, C3, [128]]', '[-1, 3, C33, [128]]'),
      replaceOnce(text, '[[-1, 6], 1, Concat', '[[-1, 60], 1, Concat'),
    ];
    const pending: Promise<void>[] = [];
    let version = 1;
    for (let k = 0; k < 30; k++) {
      // not awaited: the edit and the requests are on the wire together
      version = await c.replace(uri, variants[k % variants.length]!);
      const sentAt = version;
      pending.push(
        c
          .request<CodeAction[]>('textDocument/codeAction', {
            textDocument: { uri },
            range: { start: convAt, end: convAt },
            context: { diagnostics: [], triggerKind: 1 },
          })
          .then((actions) => {
            for (const a of actions) {
              if (!a.edit) continue;
              for (const change of a.edit.documentChanges ?? []) {
                const v = (change as TextDocumentEdit).textDocument.version;
                assert.ok(typeof v === 'number' && v >= sentAt, `an edit for version ${v} answered a request sent at version ${sentAt}`);
              }
            }
          }),
        c
          .request<{ version: number | null } | null>('yolo/graph', { uri })
          .then((g) =>
            assert.ok(g && g.version !== null && g.version >= sentAt, `graph of version ${g?.version} for a request at ${sentAt}`),
          ),
        c
          .request<Hover | null>('textDocument/hover', { textDocument: { uri }, position: convAt })
          .then((h) => assert.ok(h === null || typeof h.contents === 'object')),
      );
    }
    await Promise.all(pending);
    const final = await c.waitForDiagnostics(uri, (p) => p.version === version);
    const expected = variants[(30 - 1) % variants.length]!;
    assert.equal(
      final.diagnostics.some((d) => d.code === 'YOLO008'),
      expected.includes('[[-1, 60]'),
    );
    const versions = (c.diagnostics.get(uri) ?? []).map((p: PublishDiagnosticsParams) => p.version ?? 0);
    assert.deepEqual(
      versions,
      [...versions].sort((a, b) => a - b),
      'diagnostics never go back to an older version',
    );
  });

  test('deeply nested JSON, huge strings and unknown documents on the wire: answers or errors, never a crash', async () => {
    // 100,000 levels of JSON nesting, written raw (JSON.stringify itself cannot produce it): the server's parser
    // overflows on it and must drop the message, not die
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    const params = `{"textDocument":{"uri":"${uri}"},"position":${deep}}`;
    const body = `{"jsonrpc":"2.0","id":"deep","method":"textDocument/hover","params":${params}}`;
    c.child.stdin.write(`Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    const attempts: [string, unknown][] = [
      ['textDocument/hover', { textDocument: { uri: 'x'.repeat(5_000_000) }, position: { line: 0, character: 0 } }],
      ['yolo/graph', { uri, scale: 'n'.repeat(1_000_000), imgsz: 640 }],
      [
        'textDocument/codeAction',
        {
          textDocument: { uri },
          range: { start: convAt, end: convAt },
          context: {
            diagnostics: Array.from({ length: 20_000 }, (_, k) => ({
              range: { start: { line: k, character: 0 }, end: { line: k, character: 1 } },
              message: 'x',
              code: 'YOLO010',
            })),
          },
        },
      ],
      ['yolo/submodules', { uri, index: -1 }],
    ];
    for (const [method, params] of attempts) {
      try {
        await c.request(method, params);
      } catch (e) {
        assert.ok(e instanceof ResponseError, `${method}: ${String(e)}`);
      }
      assert.equal(c.exited, false, `${method} took the server down: ${c.stderr.slice(-2000)}`);
    }
    // notifications for documents never opened, edits beyond the end, closes of unknown URIs
    await c.conn.sendNotification('textDocument/didChange', {
      textDocument: { uri: 'file:///never/opened.yaml', version: 3 },
      contentChanges: [{ text: 'nc: 1\n' }],
    });
    await c.conn.sendNotification('textDocument/didClose', { textDocument: { uri: 'file:///never/opened.yaml' } });
    await c.conn.sendNotification('textDocument/didOpen', {
      textDocument: { uri: 'file:///bad/open.yaml', languageId: 'yaml', version: 'one', text: 42 },
    });
    const v = await c.edit(uri, [
      { range: { start: { line: 9_999, character: 5 }, end: { line: 99_999, character: 0 } }, text: '\n# appended past the end\n' },
    ]);
    const d = await c.waitForDiagnostics(uri, (p) => p.version === v);
    assert.ok(Array.isArray(d.diagnostics));
    const symbols = (await c.request('textDocument/documentSymbol', { textDocument: { uri } })) as unknown[];
    assert.ok(symbols.length > 0, 'the document still reads after an edit past its end');
  });

  test('a 10 MB document is refused with one diagnostic at once, and the server stays responsive', async () => {
    const big = 'file:///survival/big.yaml';
    const line = '  - [-1, 1, Conv, [64, 3, 1]]  # padding padding padding padding padding padding\n';
    const huge = text.replace('backbone:\n', 'backbone:\n' + line.repeat(Math.ceil(10_000_000 / line.length)));
    const started = performance.now();
    const d = await c.open(big, huge);
    assert.ok(
      d.diagnostics.some((x) => x.code === 'YOLO028'),
      JSON.stringify(d.diagnostics).slice(0, 300),
    );
    const h = (await c.request('textDocument/hover', { textDocument: { uri }, position: convAt })) as Hover | null;
    assert.ok(h, 'the other document still answers');
    assert.ok(performance.now() - started < 20_000, 'refused in seconds');
    await c.closeDoc(big);
  });

  test('a flood of 500 requests at once: all answered', async () => {
    const all = await Promise.all(
      Array.from({ length: 500 }, (_, k) =>
        c.request(k % 2 ? 'textDocument/hover' : 'textDocument/documentHighlight', {
          textDocument: { uri },
          position: { line: k % 60, character: k % 30 },
        }),
      ),
    );
    assert.equal(all.length, 500);
  });
});
