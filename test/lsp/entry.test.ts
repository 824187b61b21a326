/**
 * How editors start the server: `node dist/server.js --stdio` and `yolo-lens lsp --stdio` (the CLI requires the
 * server bundle and calls startServer); requiring the bundle alone must not start a server.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { LspClient, ROOT, SERVER, ensureBuilt } from './client.ts';
import { corpusText, SLIMNECK_V5N } from '../features/corpus.ts';
import { needsCorpus } from '../support/reference.ts';

test('yolo-lens lsp --stdio serves the same features as dist/server.js', needsCorpus, async () => {
  ensureBuilt();
  const c = await LspClient.start({ command: [join(ROOT, 'dist/cli.js'), 'lsp', '--stdio'] });
  try {
    assert.equal(c.initializeResult.serverInfo?.name, 'yolo-lens');
    assert.equal(
      c.initializeResult.serverInfo?.version,
      (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version,
    );
    const d = await c.open(
      'file:///cli/slimneck-yolov5n.yaml',
      corpusText(SLIMNECK_V5N).replace('[[-1, 6], 1, Concat', '[[-1, 66], 1, Concat'),
    );
    assert.deepEqual(
      d.diagnostics.map((x) => x.code),
      ['YOLO008'],
    );
  } finally {
    await c.stop();
  }
  assert.equal(c.exitCode, 0, 'shutdown + exit ends the process cleanly');
});

test('requiring dist/server.js exports startServer and starts nothing', { timeout: 20_000 }, async () => {
  ensureBuilt();
  const child = spawn(
    process.execPath,
    ['-e', `const s = require(${JSON.stringify(SERVER)}); process.stdout.write(typeof s.startServer)`],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  // stdin stays open: a server started by the require would keep the process alive and never exit
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  child.stdin.destroy();
  assert.equal(code, 0);
  assert.equal(out, 'function');
});
