/**
 * Does a remapped checkpoint load in real PyTorch with the count we predict? For every transfer case
 * (test/fixtures/transfer) where a layer remap would transfer more than the plain load, this runs our CLI
 * (`yolo-lens transfer model.yaml --weights CKPT --remap out.pt --json`), then scripts/truth/check_remap.py, which
 * loads out.pt into the same YAML with the framework's own loading code (Debian's python3-torch and the upstream
 * trees, see scripts/truth/weightslib.py) and fails unless it transfers exactly the count the CLI predicted.
 *
 *   YOLOV5_TREE=... GSCONV_TREE=... ULTRALYTICS_TREE=... node --import tsx scripts/verify-remap.ts [--only CASE ...]
 *
 * Prints one row per case (the plain load: ours and the recorded truth; the remap: predicted and what PyTorch
 * transferred) and exits 1 when any remapped file loads differently from the prediction.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..');
const CASES = join(ROOT, 'test/fixtures/transfer');
const CLI = join(ROOT, 'dist/cli.js');
const CHECK = join(ROOT, 'scripts/truth/check_remap.py');
const PYTHON = process.env.PYTHON ?? '/usr/bin/python3';

interface Expected {
  framework: string;
  checkpoint: string;
  yaml: string;
  nc: number;
  ch: number;
  error: string | null;
  transferred: number;
  total: number;
}

const only = process.argv.slice(2).filter((a) => a !== '--only');
for (const v of ['YOLOV5_TREE', 'GSCONV_TREE', 'ULTRALYTICS_TREE'])
  if (!process.env[v]) console.log(`note: ${v} is not set: cases of its framework will fail in check_remap.py`);
if (!existsSync(CLI) || statSync(CLI).mtimeMs < statSync(join(ROOT, 'server/src/cliTransfer.ts')).mtimeMs) {
  const b = spawnSync(process.execPath, [join(ROOT, 'scripts/build.mjs'), '--quiet'], { cwd: ROOT, stdio: 'inherit' });
  if (b.status !== 0) process.exit(2);
}

const scratch = mkdtempSync(join(tmpdir(), 'yolo-lens-remap-'));
const rows: string[][] = [['case', 'framework', 'plain (ours / torch)', 'remap predicted', 'remap in torch', '']];
let failed = 0;
let verified = 0;
try {
  for (const name of readdirSync(CASES).sort()) {
    const dir = join(CASES, name);
    if (!statSync(dir).isDirectory() || (only.length && !only.includes(name))) continue;
    const e = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as Expected;
    if (e.error) continue;
    const out = join(scratch, `${name}.pt`);
    const args = [
      CLI,
      'transfer',
      e.yaml,
      '--weights',
      e.checkpoint,
      '--framework',
      e.framework,
      '--nc',
      String(e.nc),
      '--ch',
      String(e.ch),
    ];
    const plain = spawnSync(process.execPath, [...args, '--json'], { cwd: dir, encoding: 'utf8' });
    if (plain.status !== 0) {
      rows.push([name, e.framework, `CLI failed: ${plain.stderr.trim()}`, '', '', 'FAIL']);
      failed++;
      continue;
    }
    const plan = JSON.parse(plain.stdout) as { transferred: number; total: number; remap_transferred: number | null };
    const plainText = `${plan.transferred}/${plan.total} / ${e.transferred}/${e.total}`;
    if (plan.remap_transferred === null) {
      rows.push([name, e.framework, plainText, 'no remap', '', '']);
      continue;
    }
    const remap = spawnSync(process.execPath, [...args, '--remap', out], { cwd: dir, encoding: 'utf8' });
    if (remap.status !== 0) {
      rows.push([name, e.framework, plainText, String(plan.remap_transferred), `CLI --remap failed: ${remap.stderr.trim()}`, 'FAIL']);
      failed++;
      continue;
    }
    const check = spawnSync(
      PYTHON,
      [
        CHECK,
        out,
        e.yaml,
        '--framework',
        e.framework,
        '--nc',
        String(e.nc),
        '--ch',
        String(e.ch),
        '--expect',
        String(plan.remap_transferred),
      ],
      { cwd: dir, encoding: 'utf8', env: process.env },
    );
    const last = check.stdout
      .trim()
      .split('\n')
      .reverse()
      .find((l) => l.startsWith('{'));
    const got = last ? (JSON.parse(last) as { transferred: number; total: number }) : null;
    const ok = check.status === 0 && got?.transferred === plan.remap_transferred;
    if (ok) verified++;
    else failed++;
    rows.push([
      name,
      e.framework,
      plainText,
      `${plan.remap_transferred}/${plan.total}`,
      got ? `${got.transferred}/${got.total}` : `check_remap.py exited ${check.status}: ${check.stdout.trim().split('\n').pop() ?? ''}`,
      ok ? 'ok' : 'FAIL',
    ]);
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
for (const r of rows)
  console.log(
    r
      .map((cell, c) => cell.padEnd(widths[c]!))
      .join('  ')
      .trimEnd(),
  );
console.log(`\n${verified} remapped checkpoint(s) loaded by the real framework with the predicted count, ${failed} failed`);
process.exit(failed ? 1 : 0);
