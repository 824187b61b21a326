/**
 * The panel's message validation (webview/src/messages.ts), on both sides: every graph the core produces for the
 * corpus passes; a reveal outside the document, for another document, an unknown type or a giant payload does not.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadCases, CORPUS, needsCorpus } from '../support/reference.ts';
import { resolve } from '../../server/src/core/resolve.ts';
import { toGraphResult } from '../../server/src/convert.ts';
import { parseHostMessage, parseWebviewMessage, payloadSize, LIMITS, type RevealTarget } from '../../webview/src/messages.ts';
import { panelCsp, panelHtml, newNonce } from '../../client/src/html.ts';
import { syntheticYaml } from '../../bench/synthetic.ts';

test('every corpus and mutant graph the core produces is a valid graph message', needsCorpus, () => {
  const cases = loadCases();
  assert.ok(cases.length > 50);
  for (const c of cases) {
    const graph = toGraphResult(resolve(c.text, c.options), `file:///${c.name}`, 3);
    const r = parseHostMessage({ type: 'graph', graph, convention: 'thop', fileName: c.name });
    assert.ok(r.ok, `${c.name}: ${r.ok ? '' : r.reason}`);
  }
  const big = toGraphResult(resolve(syntheticYaml(2000), { imgsz: 64 }), 'file:///synthetic.yaml', 1);
  assert.ok(parseHostMessage({ type: 'graph', graph: big, convention: 'ultralytics-thop', fileName: 'synthetic.yaml' }).ok);
  assert.ok(payloadSize(big) < LIMITS.payload / 10, `a 2,000-layer graph is far below the limit (${payloadSize(big)})`);
});

test('host messages: unknown types, bad fields and giant payloads are refused with a reason', needsCorpus, () => {
  const graph = toGraphResult(resolve(readFileSync(join(CORPUS, 'yolov5/models/yolov5n.yaml'), 'utf8')), 'file:///a.yaml', 1);
  const refused = (m: unknown, why: RegExp) => {
    const r = parseHostMessage(m);
    assert.equal(r.ok, false);
    if (!r.ok) assert.match(r.reason, why);
  };
  refused({ type: 'exec', code: 'x' }, /exec/);
  refused(undefined, /undefined/);
  refused({ type: 'graph', graph: { ...graph, nodes: 'many' }, convention: 'thop', fileName: 'a' }, /graph\.nodes/);
  refused(
    { type: 'graph', graph: { ...graph, edges: [{ from: 3, to: 3, slot: 0, shape: null }] }, convention: 'thop', fileName: 'a' },
    /does not join/,
  );
  refused({ type: 'graph', graph: { ...graph, imgsz: Number.NaN }, convention: 'thop', fileName: 'a' }, /imgsz/);
  refused({ type: 'cursor', uri: 'a', position: { line: 1.5, character: 0 } }, /position\.line/);
  refused({ type: 'status', level: 'info', message: 'x'.repeat(LIMITS.string + 1) }, /message/);
  refused(
    {
      type: 'submodules',
      uri: 'a',
      index: 0,
      nodes: Array.from({ length: 10_000 }, () => ({
        path: 'p'.repeat(2000),
        type: 'T',
        params: 0,
        outShape: null,
        flops: null,
        children: [],
      })),
      error: null,
    },
    /larger than/,
  );
  // cyclic or absurdly deep objects cannot come through postMessage's structured clone as valid messages
  const deep: Record<string, unknown> = {};
  let cur = deep;
  for (let i = 0; i < 200; i++) cur = cur.c = {};
  refused({ type: 'status', level: 'info', message: 'a', deep }, /larger than/);
});

test('webview messages: a reveal must name the panel document and lie inside it', () => {
  const lines = ['nc: 80', 'backbone:', '  - [-1, 1, Conv, [64, 6, 2, 2]]'];
  const target: RevealTarget = { uri: 'file:///m.yaml', lineCount: lines.length, lineLength: (l) => lines[l]!.length };
  const reveal = (range: unknown, uri = 'file:///m.yaml') => parseWebviewMessage({ type: 'reveal', uri, index: 0, range }, target);
  const r = (a: number, b: number, c: number, d: number) => ({ start: { line: a, character: b }, end: { line: c, character: d } });
  assert.ok(reveal(r(2, 4, 2, 32)).ok);
  assert.ok(reveal(r(2, 0, 2, 32)).ok);
  const refused = (x: ReturnType<typeof reveal>, why: RegExp) => {
    assert.equal(x.ok, false);
    if (!x.ok) assert.match(x.reason, why);
  };
  refused(reveal(r(2, 4, 2, 33)), /outside the document/);
  refused(reveal(r(3, 0, 3, 1)), /outside the document/);
  refused(reveal(r(2, 10, 2, 4)), /outside the document/);
  refused(reveal(r(-1, 0, 0, 1)), /range/);
  refused(reveal(r(2, 4, 2, 32), 'file:///other.yaml'), /not the panel's document/);
  refused(parseWebviewMessage({ type: 'reveal', uri: 'file:///m.yaml', index: 0, range: r(0, 0, 0, 1) }), /not the panel's document/);
  refused(parseWebviewMessage({ type: 'openExternal', url: 'https://example.com' }, target), /openExternal/);
  refused(parseWebviewMessage({ type: 'export', format: 'exe', data: 'MZ' }, target), /format/);
  assert.ok(parseWebviewMessage({ type: 'ready' }, target).ok);
  assert.ok(parseWebviewMessage({ type: 'expand', uri: 'file:///m.yaml', index: 3 }).ok);
});

test('the panel shell: a fresh random nonce, nothing inline, document text never in the HTML', () => {
  const a = newNonce();
  const b = newNonce();
  assert.notEqual(a, b);
  assert.equal(Buffer.from(a, 'base64').length, 18);
  const csp = panelCsp({ cspSource: 'https://file+.vscode-resource.vscode-cdn.net', nonce: a });
  assert.match(csp, /^default-src 'none'; script-src 'nonce-[^']+'; style-src https:\/\/file\+\.vscode-resource\.vscode-cdn\.net;/);
  assert.doesNotMatch(csp, /unsafe/);
  const html = panelHtml({
    cspSource: 'vscode-resource:',
    nonce: a,
    scriptUri: 'vscode-resource:/dist/webview.js?"><script>',
    styleUri: 'vscode-resource:/dist/webview.css',
  });
  assert.equal((html.match(/<script/g) ?? []).length, 1, 'one script element, and a hostile URI stays inside its attribute');
  assert.ok(html.includes(`nonce="${a}"`));
  assert.doesNotMatch(html, /\sstyle=|\son[a-z]+=/);
});
