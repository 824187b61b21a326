/**
 * `yolo-lens transfer` over the built bundle (dist/cli.js), as a user runs it: the framework's own line and the
 * per-layer table, the JSON the issue specifies (compared with the recorded truth of a transfer case), `--remap`
 * writing a checkpoint that plans to the promised count, and every failure as one line with exit status 2.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureBuilt } from '../lsp/client.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const CLI = join(ROOT, 'dist', 'cli.js');
const CASES = join(ROOT, 'test', 'fixtures', 'transfer');

function run(cwd: string, ...args: string[]) {
  ensureBuilt();
  return spawnSync(process.execPath, [CLI, 'transfer', ...args], { cwd, encoding: 'utf8' });
}

interface Expected {
  framework: string;
  checkpoint: string;
  nc: number;
  ch: number;
  log: string;
  transferred: number;
  total: number;
  items: { key: string; shape: number[]; status: string; checkpoint_shape?: number[] }[];
  unused: { key: string; shape: number[]; reason: string }[];
}

function caseArgs(name: string) {
  const dir = join(CASES, name);
  const e = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as Expected;
  const args = ['model.yaml', '--weights', e.checkpoint, '--framework', e.framework, '--nc', String(e.nc), '--ch', String(e.ch)];
  return { dir, e, args };
}

test('prints the framework’s line, then one row per layer with tensors: what loads and the first tensor that does not', () => {
  const { dir, e, args } = caseArgs('v5-insert-not-renumbered');
  const r = run(dir, ...args);
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.split('\n');
  assert.equal(lines[0], e.log, 'the line train.py logs, with the weights path as given');
  assert.match(r.stdout, /^\s*4\s+C3\s+42\/42\s+load\s*$/m);
  assert.match(
    r.stdout,
    /^\s*5\s+Conv\s+1\/6\s+mismatch\s+conv\.weight \[64, 64, 3, 3\]: the checkpoint's is \[128, 64, 3, 3\] \(\+4 more\)$/m,
  );
  assert.match(r.stdout, /^\s*6\s+Conv\s+0\/6\s+new\s+conv\.weight \[128, 64, 3, 3\] is not in the checkpoint/m);
  assert.doesNotMatch(r.stdout, /^\s*12\s+nn\.Upsample/m, 'layers without tensors have no row');
  assert.match(r.stdout, /moving the checkpoint's layers 5→6, 6→7.* would transfer 341\/355/);
});

test('--json: transferred, total, every item with its status and the checkpoint’s shape, unused, the remap', () => {
  const { dir, e, args } = caseArgs('u84-ch-4');
  const r = run(dir, ...args, '--json');
  assert.equal(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout) as Expected & { remap: unknown[]; remap_transferred: number | null; framework: string };
  assert.equal(j.framework, 'ultralytics-8.4');
  assert.equal(`${j.transferred}/${j.total}`, `${e.transferred}/${e.total}`);
  assert.equal(j.log, e.log);
  assert.deepEqual(
    j.items.map((i) => ({
      key: i.key,
      shape: i.shape,
      status: i.status,
      ...(i.checkpoint_shape ? { checkpoint_shape: i.checkpoint_shape } : {}),
    })),
    e.items.map((i) => ({
      key: i.key,
      shape: i.shape,
      status: i.status,
      ...(i.checkpoint_shape ? { checkpoint_shape: i.checkpoint_shape } : {}),
    })),
  );
  assert.deepEqual(j.unused, e.unused);
  assert.deepEqual(j.remap, []);
  assert.equal(j.remap_transferred, null);
});

test('--remap writes a checkpoint that transfers what was promised (planned again from the written file)', () => {
  const { dir, args } = caseArgs('u84-delete-layer');
  const out = join(mkdtempSync(join(tmpdir(), 'yolo-lens-remap-')), 'remapped.pt');
  const plain = JSON.parse(run(dir, ...args, '--json').stdout) as { transferred: number; remap_transferred: number; remap: unknown[] };
  assert.ok(plain.remap_transferred > plain.transferred);
  const r = run(dir, ...args, '--remap', out);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`wrote ${out.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
  const again = JSON.parse(run(dir, ...args.map((a, i) => (args[i - 1] === '--weights' ? out : a)), '--json').stdout) as {
    transferred: number;
    remap: unknown[];
  };
  assert.equal(again.transferred, plain.remap_transferred);
  assert.deepEqual(again.remap, [], 'nothing left to move');
  // asking again for a remap when nothing would gain is an error, and writes nothing
  const none = run(dir, ...args.map((a, i) => (args[i - 1] === '--weights' ? out : a)), '--remap', join(dir, 'never.pt'));
  assert.equal(none.status, 2);
  assert.match(none.stderr, /^yolo-lens: --remap: no layer move would transfer more than \d+\/\d+; nothing written\n$/);
});

test('every failure is one line on stderr with exit status 2', () => {
  const dir = mkdtempSync(join(tmpdir(), 'yolo-lens-transfer-'));
  const yaml = readFileSync(join(CASES, 'v5-identical', 'model.yaml'), 'utf8');
  writeFileSync(join(dir, 'model.yaml'), yaml);
  writeFileSync(join(dir, 'broken.yaml'), yaml.replace('[-1, 1, Conv, [64, 6, 2, 2]]', '[-1, 1, Convv, [64, 6, 2, 2]]'));
  writeFileSync(join(dir, 'notes.pt'), 'just text, not a checkpoint\n');
  // a pickle that names os.system: refused, never run
  writeFileSync(join(dir, 'evil.pt'), Buffer.from('\x80\x02cos\nsystem\nX\x05\x00\x00\x00echo!\x85R.', 'latin1'));
  const ckpt = join(ROOT, 'test/fixtures/checkpoints/yolov5n.pt');
  const cases: [string[], RegExp][] = [
    [['model.yaml'], /^yolo-lens: transfer needs --weights CKPT$/],
    [['model.yaml', '--weights'], /^yolo-lens: --weights needs a value$/],
    [['model.yaml', '--weights', 'missing.pt'], /^yolo-lens: missing\.pt: no such file$/],
    [['model.yaml', '--weights', '.'], /^yolo-lens: \. is a folder, not a checkpoint$/],
    [['model.yaml', '--weights', 'notes.pt'], /^yolo-lens: notes\.pt: not a PyTorch checkpoint/],
    [['model.yaml', '--weights', 'evil.pt'], /^yolo-lens: evil\.pt: .*refused: the file names os\.system/],
    [['missing.yaml', '--weights', ckpt], /^yolo-lens: cannot read missing\.yaml/],
    [['broken.yaml', '--weights', ckpt], /^yolo-lens: broken\.yaml does not build, so nothing would load \(broken\.yaml:\d+:\d+: YOLO010 /],
    [['model.yaml', '--weights', ckpt, '--nc', 'many'], /^yolo-lens: --nc must be an integer/],
    [['model.yaml', '--weights', ckpt, '--framework', 'yolov99'], /^yolo-lens: --framework must be auto or one of/],
  ];
  for (const [args, want] of cases) {
    const r = run(dir, ...args);
    assert.equal(r.status, 2, `${args.join(' ')}: exit ${r.status}\n${r.stdout}${r.stderr}`);
    assert.equal(r.stdout, '', args.join(' '));
    assert.equal(r.stderr.split('\n').length, 2, `one line: ${JSON.stringify(r.stderr)}`);
    assert.match(r.stderr.trimEnd(), want, args.join(' '));
  }
});
