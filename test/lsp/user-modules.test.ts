/**
 * `.yolo-lens.json` over the real server: declared modules resolve in the workspace's model files, problems in the
 * file are published on its own URI, edits to it (open in the editor, or on disk through the watcher) apply live,
 * and an untrusted workspace never reads it.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PublishDiagnosticsParams } from 'vscode-languageserver-protocol';
import { fileUri, LspClient, ROOT } from './client.ts';

const EXAMPLE = join(ROOT, 'examples/user-modules');

function workspace(): string {
  const dir = mkdtempSync(join(tmpdir(), 'yolo-lens-user-'));
  copyFileSync(join(EXAMPLE, '.yolo-lens.json'), join(dir, '.yolo-lens.json'));
  copyFileSync(join(EXAMPLE, 'yolov5n-se.yaml'), join(dir, 'yolov5n-se.yaml'));
  return dir;
}

const errorsOf = (p: PublishDiagnosticsParams) =>
  p.diagnostics
    .filter((d) => d.severity === 1)
    .map((d) => `${String(d.code)} ${typeof d.message === 'string' ? d.message : d.message.value}`);

describe('user-declared modules', () => {
  let dir: string;
  before(() => {
    dir = workspace();
  });

  test('a trusted workspace resolves the declared modules; edits to the file apply live', async () => {
    const c = await LspClient.start({ workspaceFolders: [dir], initializationOptions: { workspaceTrusted: true } });
    try {
      const yamlUri = fileUri(join(dir, 'yolov5n-se.yaml'));
      const d = await c.open(yamlUri, readFileSync(join(dir, 'yolov5n-se.yaml'), 'utf8'));
      assert.deepEqual(errorsOf(d), [], 'the declared SEConv/C3SE resolve');
      // break the declaration in the editor: the model loses the module, the config gets a diagnostic
      const cfgUri = fileUri(join(dir, '.yolo-lens.json'));
      const cfg = readFileSync(join(dir, '.yolo-lens.json'), 'utf8');
      await c.open(cfgUri, cfg.replace('"max(c2 // r, 8)"', '"max(c2 // , 8)"'), 'json');
      const cfgDiag = await c.waitForDiagnostics(cfgUri, (p) => p.diagnostics.length > 0);
      assert.ok(
        cfgDiag.diagnostics.some((x) => x.code === 'config-expression'),
        JSON.stringify(cfgDiag.diagnostics),
      );
      const broken = await c.waitForDiagnostics(yamlUri, (p) => errorsOf(p).length > 0);
      assert.ok(errorsOf(broken).length > 0);
      // fix it again
      await c.replace(cfgUri, cfg);
      await c.waitForDiagnostics(cfgUri, (p) => p.diagnostics.length === 0);
      await c.waitForDiagnostics(yamlUri, (p) => p.version === 1 && errorsOf(p).length === 0 && p !== broken);
    } finally {
      await c.stop();
    }
  });

  test('a change on disk reaches the server through the file watcher', async () => {
    const ws = workspace();
    const c = await LspClient.start({ workspaceFolders: [ws], initializationOptions: { workspaceTrusted: true } });
    try {
      const yamlUri = fileUri(join(ws, 'yolov5n-se.yaml'));
      const d = await c.open(yamlUri, readFileSync(join(ws, 'yolov5n-se.yaml'), 'utf8'));
      assert.deepEqual(errorsOf(d), []);
      const cfgPath = join(ws, '.yolo-lens.json');
      writeFileSync(cfgPath, readFileSync(cfgPath, 'utf8').replace('"SEConv"', '"SEConvRenamed"'));
      await c.conn.sendNotification('workspace/didChangeWatchedFiles', { changes: [{ uri: fileUri(cfgPath), type: 2 }] });
      const after = await c.waitForDiagnostics(yamlUri, (p) => errorsOf(p).some((e) => e.startsWith('YOLO010')));
      assert.ok(errorsOf(after).some((e) => /SEConv/.test(e)));
    } finally {
      await c.stop();
    }
  });

  test('an untrusted workspace does not read the file until it is trusted', async () => {
    const c = await LspClient.start({ workspaceFolders: [dir], initializationOptions: { workspaceTrusted: false } });
    try {
      const yamlUri = fileUri(join(dir, 'yolov5n-se.yaml'));
      const d = await c.open(yamlUri, readFileSync(join(dir, 'yolov5n-se.yaml'), 'utf8'));
      assert.ok(
        errorsOf(d).some((e) => e.startsWith('YOLO010')),
        'unknown module while untrusted',
      );
      await c.conn.sendNotification('yolo/workspaceTrust', { trusted: true });
      await c.waitForDiagnostics(yamlUri, (p) => errorsOf(p).length === 0);
    } finally {
      await c.stop();
    }
  });

  after(() => undefined);
});
