/**
 * The CLI over the built bundle (dist/cli.js), as a user or CI runs it: `summary --json` gives the reference
 * record format, `check` reports many files in one process with the documented line format and exit codes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CORPUS_MISSING, loadCases, needsCorpus } from './support/reference.ts';

const CLI = join(import.meta.dirname, '..', 'dist', 'cli.js');
const run = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });

const EXAMPLE = join(import.meta.dirname, '..', 'examples', 'slimneck-yolov5n.yaml');
const cases = CORPUS_MISSING ? [] : loadCases();
const yolov5n = cases.find((c) => c.name === 'yolov5/models/yolov5n.json')!;
const broken = cases.find((c) => c.mutant && !c.record.ok)!;

test('summary --json prints the reference record of the model', needsCorpus, () => {
  const r = run('summary', yolov5n.yamlPath, '--json', '--framework', 'yolov5');
  assert.equal(r.status, 0, r.stderr);
  const got = JSON.parse(r.stdout);
  const want = yolov5n.record;
  for (const k of [
    'framework',
    'scale',
    'ch',
    'imgsz',
    'nc',
    'ok',
    'stage',
    'error',
    'params',
    'gflops',
    'gflops_imgsz',
    'summary',
    'params_fused',
    'gflops_fused',
    'summary_fused',
  ] as const)
    assert.deepEqual(got[k], (want as unknown as Record<string, unknown>)[k], k);
  assert.deepEqual(got.layers, want.layers);
  assert.equal(got.gflops_ultralytics_thop, want.gflops, 'ultralytics-thop figure present even when equal');
  assert.ok(r.stdout.includes('"args": [null, 2, "nearest"]'), 'args in JSON as the records have them');
});

test('summary prints the table with shapes and both GFLOPs conventions labelled', needsCorpus, () => {
  const r = run('summary', yolov5n.yamlPath);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^\s+from\s+n\s+params\s+module\s+arguments\s+output\s+GFLOPs/m);
  assert.match(r.stdout, /^\s*24\s+\[17, 20, 23\]\s+1\s+115005\s+Detect/m);
  assert.match(r.stdout, /1,872,157 parameters, 4\.6 GFLOPs @640 built, 1,867,405 parameters, 4\.5 GFLOPs @640 fused/);
  assert.match(r.stdout, /ultralytics-thop/);
  assert.match(r.stdout, /with thop 0\.1\.1: 4\.6 GFLOPs built, 4\.5 GFLOPs fused/);
});

test('check: many files in one run, file:line:col format, exit 1 on errors', needsCorpus, () => {
  const dir = mkdtempSync(join(tmpdir(), 'yolo-lens-cli-'));
  const bad = join(dir, 'bad.yaml');
  writeFileSync(
    bad,
    'nc: 80\ndepth_multiple: 1\nwidth_multiple: 1\nanchors: 3\nbackbone:\n  - [-1, 1, Conv, [16, 3, 2]]\n  - [5, 1, Conv, [16, 3, ' +
      '2]]\nhead: []\n',
  );
  const r = run('check', yolov5n.yamlPath, bad, broken.yamlPath);
  assert.equal(r.status, 1);
  const lines = r.stdout.trim().split('\n');
  assert.ok(
    lines.some(
      (l) => l === `${bad}:7:6: error YOLO008 from 5 points at layer 5, after this one (layer 1): IndexError: list index out of range`,
    ),
    r.stdout,
  );
  assert.ok(
    lines.some((l) => l.startsWith(broken.yamlPath + ':')),
    'the mutant is flagged',
  );
  assert.ok(!lines.some((l) => l.startsWith(yolov5n.yamlPath + ':') && / error /.test(l)), 'the healthy file has no error');
  const ok = run('check', yolov5n.yamlPath);
  assert.equal(ok.status, 0, ok.stdout);
});

test('check --json: one entry per file with LSP-style 0-based ranges', needsCorpus, () => {
  const r = run('check', yolov5n.yamlPath, broken.yamlPath, '--json');
  assert.equal(r.status, 1);
  const out = JSON.parse(r.stdout) as {
    file: string;
    diagnostics: { code: string; severity: string; range: { start: { line: number; character: number } } }[];
  }[];
  assert.equal(out.length, 2);
  assert.equal(out[0]!.file, yolov5n.yamlPath);
  assert.ok(out[1]!.diagnostics.some((d) => d.severity === 'error' && /^YOLO\d{3}$/.test(d.code)));
  for (const d of out[1]!.diagnostics) assert.ok(d.range.start.line >= 0 && d.range.start.character >= 0);
});

test('usage errors exit 2 with the usage text', () => {
  const r = run('summary');
  assert.equal(r.status, 2);
  assert.match(r.stderr, /usage:/);
  const r2 = run('summary', EXAMPLE, '--imgsz', 'big');
  assert.equal(r2.status, 2);
  assert.match(r2.stderr, /--imgsz must be an integer/);
});

test('check reads the .yolo-lens.json next to the file; --no-user-modules ignores it', () => {
  const file = join(import.meta.dirname, '..', 'examples', 'user-modules', 'yolov5n-se.yaml');
  const withModules = run('check', file);
  assert.equal(withModules.status, 0, withModules.stdout);
  const without = run('check', file, '--no-user-modules');
  assert.equal(without.status, 1);
  assert.match(without.stdout, /error YOLO010 unknown module 'C3SE'/);
});
