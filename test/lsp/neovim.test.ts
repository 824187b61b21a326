/**
 * Neovim as the client (headless, `../shared/e2e/nvim/`): it starts `node dist/server.js --stdio`, opens a YAML
 * with a broken `from` and must receive the YOLO008 diagnostic on that token. Skipped, loudly, only when `nvim`
 * is not installed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SHARED } from '../support/reference.ts';
import { SERVER, ensureBuilt } from './client.ts';
import { fixture, marked } from '../support/fixtures.ts';
import { corpusText, replaceOnce, YOLOV5N } from '../features/corpus.ts';

const HARNESS = join(SHARED, 'e2e/nvim/run-nvim-lsp.sh');
const nvimMissing = spawnSync('sh', ['-c', 'command -v nvim'], { encoding: 'utf8' }).status !== 0;
const skip = nvimMissing
  ? 'nvim is not installed (apt-get install -y neovim): the Neovim client test cannot run'
  : !existsSync(HARNESS)
    ? `the Neovim harness is missing at ${HARNESS}`
    : false;
if (skip) console.warn(`SKIP neovim.test.ts: ${skip}`);

test('Neovim opens a YAML with a broken from and receives the diagnostic on the token', { skip, timeout: 60_000 }, () => {
  ensureBuilt();
  const line = '    [[-1, 6], 1, Concat, [1]], # cat backbone P4';
  const f = fixture(replaceOnce(corpusText(YOLOV5N), line, marked(line.replace('6]', '60]'), '60', 'YOLO008')), { dedent: false });
  const dir = mkdtempSync(join(tmpdir(), 'yolo-lens-nvim-'));
  try {
    const file = join(dir, 'yolov5n.yaml');
    writeFileSync(file, f.text);
    const r = spawnSync('bash', [HARNESS, file, process.execPath, SERVER, '--stdio'], {
      encoding: 'utf8',
      env: { ...process.env, LSP_TIMEOUT_MS: '30000' },
      timeout: 55_000,
    });
    assert.notEqual(r.status, 77, 'nvim disappeared between the check and the run');
    assert.equal(r.status, 0, `harness failed: ${r.stdout}\n${r.stderr}`);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as {
      diagnostics: { line: number; col: number; source: string; message: string; severity: string }[];
      timed_out: boolean;
      server_exited: unknown;
    };
    assert.equal(out.timed_out, false);
    const at = f.lines.position(f.expected[0]!.range.start);
    assert.deepEqual(
      out.diagnostics.map((d) => [d.line, d.col, d.source, d.severity]),
      [[at.line + 1, at.character + 1, 'yolo-lens', 'ERROR']],
    );
    assert.match(out.diagnostics[0]!.message, /^from 60 points at layer 60, after this one \(layer 12\)/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
