/**
 * Nothing from a workspace is ever executed, and nothing is written that the user did not invoke: no source of the
 * extension can run code (no eval, no child processes, no code loaded by a computed path); the language server never
 * asks the editor to apply an edit on its own, and the edits it offers are single versioned document edits that a
 * client refuses once the document has moved on.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { CodeAction, TextDocumentEdit } from 'vscode-languageserver-protocol';
import { LspClient, ROOT } from '../lsp/client.ts';
import { corpusText, replaceOnce, YOLOV5N } from '../features/corpus.ts';

function sources(dir: string, out: string[] = []): string[] {
  if (!existsSync(dir)) return out;
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) sources(p, out);
    else if (/\.(ts|mts|js|mjs)$/.test(e)) out.push(p);
  }
  return out;
}

/** Code without its comments (a comment may well say "eval()"). */
const stripComments = (s: string) => s.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:\\'"`])\/\/.*$/gm, '$1');

const FORBIDDEN: [RegExp, string][] = [
  [/\bchild_process\b/, 'spawns processes'],
  [/\b(?:execSync|execFile|execFileSync|spawnSync)\s*\(/, 'runs commands'],
  [/(?<![\w.])eval\s*\(/, 'evaluates code'],
  [/\bnew\s+Function\s*\(/, 'compiles code'],
  [/\bvm\.(?:run|compile|Script)/, 'evaluates code'],
  [/(?<![\w.])import\s*\(\s*(?!['"])/, 'imports code by a computed path'],
  [/(?<![\w.])require\s*\(\s*(?!['"])/, 'loads code by a computed path'],
  [/\bprocess\.binding\b/, 'reaches into native bindings'],
  // the language client starts the server in the workspace folder: code must never be found relative to it
  [/\bprocess\.cwd\(\)/, 'locates files from the working directory (the workspace folder, in the editor)'],
];

/** Known uses, each with why it is safe. Anything new must be looked at and added here. */
const ALLOWED: { file: string; code: string; why: string }[] = [
  {
    file: 'server/src/cli.ts',
    code: "require(join(__dirname, 'server.js'))",
    why: "the CLI's `lsp` command loads the extension's own server bundle next to itself",
  },
  {
    file: 'server/src/runtime/profile.ts',
    code: 'return new Worker(`require(${JSON.stringify(tsx)}); require(${JSON.stringify(script)});`',
    why: "run from source (tests, benches) the profiler's worker is the extension's own worker.ts, loaded through the tsx it ships with; both paths are computed from the extension's own folder, never from a document",
  },
  // fallbacks for a module system without __dirname/__filename; the bundles are CommonJS, where both are defined,
  // so these never run in the extension (were the bundles ever ESM, they would look in the workspace folder)
  {
    file: 'server/src/runtime/profile.ts',
    code: "typeof __dirname === 'string' ? __dirname : process.cwd()",
    why: 'unreachable in the CommonJS bundle',
  },
  {
    file: 'server/src/runtime/ort.ts',
    code: "typeof __filename === 'string' ? __filename : join(process.cwd(), 'index.js')",
    why: 'unreachable in the CommonJS bundle',
  },
  {
    file: 'server/src/runtime/backend.ts',
    code: "typeof __filename === 'string' ? __filename : join(process.cwd(), 'index.js')",
    why: 'unreachable in the CommonJS bundle',
  },
];

test('no extension source can run code: no eval, no child processes, nothing loaded by a computed path', () => {
  const files = ['server/src', 'client/src', 'webview/src'].flatMap((d) => sources(join(ROOT, d)));
  assert.ok(files.length > 20, 'the sources were found');
  const found: string[] = [];
  for (const file of files) {
    const rel = relative(ROOT, file);
    const code = stripComments(readFileSync(file, 'utf8'));
    for (const line of code.split('\n')) {
      for (const [re, what] of FORBIDDEN) {
        if (!re.test(line)) continue;
        if (ALLOWED.some((a) => a.file === rel && line.includes(a.code))) continue;
        found.push(`${rel}: ${what}: ${line.trim()}`);
      }
    }
  }
  assert.deepEqual(found, []);
  // what keeps the process.cwd() fallbacks above unreachable
  assert.match(readFileSync(join(ROOT, 'scripts/build.mjs'), 'utf8'), /const node = \{[^}]*format: 'cjs'/, 'the node bundles are CommonJS');
  for (const a of ALLOWED)
    assert.ok(readFileSync(join(ROOT, a.file), 'utf8').includes(a.code), `stale allowance: ${a.file} no longer has ${a.code}`);
});

test('the server never applies an edit itself; a code action is one versioned edit that a stale document refuses', async () => {
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
});
