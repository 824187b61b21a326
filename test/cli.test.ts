/**
 * The CLI over the built bundle (dist/cli.js), as a user or CI runs it: `summary --json` gives the reference
 * record format, `check` reports many files in one process with the documented line format and exit codes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
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

const WORKSPACES = join(import.meta.dirname, 'fixtures', 'workspaces');

test('a missing or unreadable file is one line on stderr and exit 2, for every command', () => {
  const missing = join(tmpdir(), 'yolo-lens-no-such-file.yaml');
  for (const args of [
    ['summary', missing],
    ['check', missing],
    ['profile', missing],
    ['summary', missing, '--json'],
  ]) {
    const r = run(...args);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stderr, `yolo-lens: cannot read ${missing}: no such file\n`, args.join(' '));
    assert.doesNotMatch(r.stderr + r.stdout, /internal error|\n\s+at /);
  }
  const dir = mkdtempSync(join(tmpdir(), 'yolo-lens-cli-'));
  const r = run('summary', dir);
  assert.equal(r.status, 2);
  assert.equal(r.stderr, `yolo-lens: ${dir} is not a file\n`);
  // check goes on with the other files, and still exits 2
  const both = run('check', missing, EXAMPLE);
  assert.equal(both.status, 2);
  assert.match(both.stdout, /slimneck-yolov5n\.yaml: checked against/);
});

test('an unknown option or option value is refused before anything runs', () => {
  for (const [args, message] of [
    [['profile', EXAMPLE, '--backend', 'gpu'], /--backend must be one of auto, tfjs-node, wasm, cpu, onnxruntime-node, got 'gpu'/],
    [['check', EXAMPLE, '--severity', 'YOLO999=off'], /--severity: there is no diagnostic YOLO999/],
    [['check', EXAMPLE, '--severity', 'YOLO025=loud'], /--severity: the severity of YOLO025 must be one of error, warning/],
    [['check', EXAMPLE, '--framework', 'yolov9'], /--framework must be auto or one of yolov5, /],
    [['check', EXAMPLE, '--bogus'], /check takes no --bogus option/],
    [['summary', EXAMPLE, '--severity', 'YOLO025=off'], /summary takes no --severity option/],
  ] as const) {
    const r = run(...args);
    assert.equal(r.status, 2, args.join(' '));
    assert.match(r.stderr, message);
  }
});

test('check --severity CODE=LEVEL changes what is reported and the exit code, as the editor setting does', () => {
  const dir = mkdtempSync(join(tmpdir(), 'yolo-lens-cli-'));
  const file = join(dir, 'dead.yaml');
  writeFileSync(
    file,
    'nc: 80\ndepth_multiple: 1.0\nwidth_multiple: 1.0\nanchors: 3\nbackbone:\n  - [-1, 1, Conv, [16, 3, 2]]\n' +
      '  - [0, 1, Conv, [16, 3, 1]]\nhead:\n  - [0, 1, Conv, [16, 3, 2]]\n',
  );
  const plain = run('check', file);
  assert.equal(plain.status, 0, plain.stdout);
  assert.match(plain.stdout, /:7:5: warning YOLO025 layer 1 \(Conv\) is never used/);
  const strict = run('check', file, '--severity', 'YOLO025=error');
  assert.equal(strict.status, 1);
  assert.match(strict.stdout, /:7:5: error YOLO025 /);
  const quiet = run('check', file, '--severity=YOLO025=off', '--json');
  assert.equal(quiet.status, 0);
  const out = JSON.parse(quiet.stdout) as { diagnostics: { code: string }[]; framework: { id: string; source: string } }[];
  assert.deepEqual(
    out[0]!.diagnostics.map((d) => d.code),
    [],
  );
  assert.deepEqual([out[0]!.framework.id, out[0]!.framework.source], ['yolov5', 'file']);
});

test('check reads .yolo-lens.json settings (framework, severity); flags win over them, the file comment over both', () => {
  const dir = mkdtempSync(join(tmpdir(), 'yolo-lens-cli-'));
  const sub = join(dir, 'models', 'custom');
  mkdirSync(sub, { recursive: true });
  writeFileSync(
    join(dir, '.yolo-lens.json'),
    JSON.stringify({ settings: { framework: 'ultralytics-8.3', severity: { YOLO042: 'off', YOLO021: 'off' } } }),
  );
  const yaml =
    'nc: 80\nend2end: True\nscales:\n  n: [0.50, 0.25, 1024]\n  s: [0.50, 0.50, 1024]\nbackbone:\n  - [-1, 1, Conv, [64, 3, 2]]\n' +
    '  - [-1, 1, SPPF, [64, 5, 3, True]]\nhead:\n  - [[0, 1], 1, Concat, [1]]\n';
  const file = join(sub, 'model.yaml');
  writeFileSync(file, yaml);
  const r = run('check', file, '--json');
  const [entry] = JSON.parse(r.stdout) as { diagnostics: { code: string; severity: string }[]; framework: { id: string } }[];
  assert.equal(entry!.framework.id, 'ultralytics-8.3', 'the settings of the .yolo-lens.json above the file');
  assert.ok(
    entry!.diagnostics.some((d) => d.code === 'YOLO034' && d.severity === 'error'),
    'SPPF takes these args in 8.4',
  );
  assert.ok(!entry!.diagnostics.some((d) => d.code === 'YOLO042'), 'turned off by the settings');
  assert.equal(r.status, 1);
  const flag = run('check', file, '--framework', 'ultralytics-8.4', '--json');
  assert.equal((JSON.parse(flag.stdout) as { framework: { id: string } }[])[0]!.framework.id, 'ultralytics-8.4');
  assert.equal(flag.status, 0, flag.stdout);
  writeFileSync(file, `# yolo-lens: framework=ultralytics-8.4\n${yaml}`);
  const comment = run('check', file, '--framework', 'ultralytics-8.3', '--json');
  assert.equal((JSON.parse(comment.stdout) as { framework: { id: string } }[])[0]!.framework.id, 'ultralytics-8.4');
});

test('check walks up from the file to the workspace code: a YOLOv5 tree without GSConv, one with it, an ultralytics venv', () => {
  const plain = run('check', join(WORKSPACES, 'yolov5-tree', 'models', 'slimneck-yolov5n.yaml'));
  assert.equal(plain.status, 1);
  assert.match(plain.stdout, /checked against YOLOv5 \(ultralytics\/yolov5\).*the workspace's code: the YOLOv5 tree at /);
  assert.match(plain.stdout, /:30:13: error YOLO046 GSConv is not defined in models\/common\.py/);
  const slim = run('check', join(WORKSPACES, 'slimneck-tree', 'models', 'slimneck-yolov5n.yaml'));
  assert.equal(slim.status, 0, slim.stdout);
  assert.match(slim.stdout, /checked against YOLOv5 Slim-neck fork .*defines the Slim-neck blocks/);
  const venv = run('check', join(WORKSPACES, 'ultralytics-venv', 'models', 'yolov8n-custom.yaml'));
  assert.equal(venv.status, 1);
  assert.match(venv.stdout, /checked against ultralytics 8\.3 .*ultralytics 8\.3\.40, the installed package/);
  assert.match(
    venv.stdout,
    /error YOLO046 C3k2 is not imported or defined in .*\.venv\/lib\/python3\.11\/site-packages\/ultralytics\/nn\/tasks\.py/,
  );
  // a setting overrides the workspace: then the catalog decides which names exist
  const forced = run('check', join(WORKSPACES, 'yolov5-tree', 'models', 'slimneck-yolov5n.yaml'), '--framework', 'yolov5-gsconv');
  assert.equal(forced.status, 0, forced.stdout);
});
