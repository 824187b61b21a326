/**
 * The truth data other tests are written against is well-formed: every real-issue case has its two YAMLs, a thread,
 * an expected line inside broken.yaml, and the upstream verdicts (the fixed file builds); every extra record
 * (mutants-extra, records) is a consistent SCHEMA record beside its YAML and agrees with its folder's MANIFEST.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join, basename } from 'node:path';
import { loadRealIssueCases, FRAMEWORK_IDS, REAL_ISSUES_DIR, type Verdict } from '../support/real-issues.ts';
import { loadExtraRecords, MUTANTS_EXTRA_DIR } from '../support/extra-records.ts';

const cases = loadRealIssueCases();
const extra = loadExtraRecords();
const THREAD =
  /^https:\/\/github\.com\/(ultralytics\/ultralytics|ultralytics\/yolov5|alanli1997\/slim-neck-by-gsconv)\/(issues|pull|blob)\//i;

function checkVerdict(v: Verdict | undefined, where: string): void {
  assert.ok(v, `${where}: no verdict`);
  if (v.ok) {
    assert.equal(v.stage, null, `${where}: ok with a stage`);
    assert.equal(v.error, null, `${where}: ok with an error`);
    assert.ok(Number.isInteger(v.params) && v.params! > 0, `${where}: params ${v.params}`);
    assert.ok(v.gflops === null || typeof v.gflops === 'number', `${where}: gflops ${v.gflops}`);
  } else {
    assert.ok(v.stage === 'parse' || v.stage === 'build' || v.stage === 'forward', `${where}: stage ${v.stage}`);
    assert.match(v.error ?? '', /^\w+(Error|Exception)?:/, `${where}: error ${v.error}`);
  }
}

test('there are at least 30 real-issue cases, every folder has a case.json', () => {
  assert.ok(cases.length >= 30, `${cases.length} cases`);
  const folders = readdirSync(REAL_ISSUES_DIR).filter((e) => !e.includes('.'));
  assert.deepEqual(folders.sort(), cases.map((c) => c.id).sort());
});

for (const c of cases) {
  test(`real issue ${c.id}: well-formed`, () => {
    assert.equal(basename(c.dir), c.id);
    assert.match(c.url, THREAD, 'a thread or file of ultralytics/ultralytics, ultralytics/yolov5 or the Slim-neck repo');
    assert.ok(c.title.trim() && c.summary.trim() && c.kind.trim(), 'title, summary and kind');
    assert.ok((FRAMEWORK_IDS as readonly string[]).includes(c.framework), `framework ${c.framework}`);
    if (c.fileName !== undefined) assert.match(c.fileName, /^[\w.-]+\.ya?ml$/);
    if (c.imgsz !== undefined) assert.ok(Number.isInteger(c.imgsz) && c.imgsz > 0);
    assert.ok(c.brokenText.trim() && c.fixedText.trim(), 'both YAMLs have content');
    assert.notEqual(c.brokenText, c.fixedText, 'broken and fixed differ');

    const lines = c.brokenText.split('\n');
    assert.ok(Number.isInteger(c.expect.line) && c.expect.line >= 1 && c.expect.line <= lines.length, `line ${c.expect.line}`);
    assert.ok(lines[c.expect.line - 1]!.trim(), `line ${c.expect.line} is blank`);
    assert.ok(c.expect.severity === 'error' || c.expect.severity === 'warning', `severity ${c.expect.severity}`);
    assert.ok(c.expect.what.trim().length > 20, 'what a good message says');

    checkVerdict(c.verdict?.broken, 'broken');
    checkVerdict(c.verdict?.fixed, 'fixed');
    if (!c.fixedFails) assert.ok(c.verdict.fixed.ok, `the fixed file must build: ${c.verdict.fixed.error}`);
    // an error is something the real code rejects; a warning is a file it builds (an image-size trap builds at 640
    // and fails only at the case's imgsz, which is what the verdict records)
    if (c.expect.severity === 'error') assert.equal(c.verdict.broken.ok, false, 'an error case the real code accepts');
    else if (c.imgsz === undefined)
      assert.equal(c.verdict.broken.ok, true, `a warning case the real code rejects: ${c.verdict.broken.error}`);
    else assert.equal(c.verdict.broken.ok, false, 'an image-size trap that does not fail at its imgsz');
    if (c.framework.startsWith('ultralytics')) assert.match(c.scale ?? '', /^[nslmx]$/, 'the scale the framework used');
  });
}

test('the kinds cover the issue: shifted indices, image-size traps, unknown modules, ignored keys, arg types', () => {
  const kinds = new Set(cases.map((c) => c.kind));
  for (const k of ['shifted-indices', 'image-size-trap', 'unknown-module', 'key-ignored', 'arg-type', 'dead-layer', 'repeats-ignored'])
    assert.ok(kinds.has(k), `no ${k} case`);
  assert.ok(cases.filter((c) => c.expect.severity === 'warning').length >= 8, 'warnings (silent mistakes)');
  assert.ok(cases.filter((c) => c.expect.severity === 'error').length >= 8, 'errors');
  for (const f of ['yolov5', 'yolov5-gsconv', 'ultralytics-8.3', 'ultralytics-8.4'])
    assert.ok(
      cases.some((c) => c.framework === f),
      `no ${f} case`,
    );
});

test('at least 40 extra mutants over yolov5, ultralytics 8.3 and 8.4, with the kinds the shared mutants lack', () => {
  const mutants = extra.filter((e) => e.mutant);
  assert.ok(mutants.length >= 40, `${mutants.length} mutants`);
  for (const f of ['yolov5', 'ultralytics-8.3', 'ultralytics-8.4'])
    assert.ok(mutants.filter((m) => m.framework === f).length >= 10, `mutants for ${f}`);
  const kinds = new Set(mutants.map((m) => m.record.mutation?.kind));
  for (const k of ['channel_zero', 'channel_negative', 'bool_groups', 'bool_stride', 'float_kernel', 'activation_args'])
    assert.ok(kinds.has(k), `no ${k} mutant`);
  assert.ok(mutants.some((m) => m.record.ok) && mutants.some((m) => !m.record.ok), 'both verdicts occur');
});

for (const e of extra) {
  test(`extra record ${e.name}: consistent`, () => {
    const r = e.record;
    assert.equal(r.schema, 1);
    assert.ok(existsSync(e.yamlPath));
    if (r.ok) {
      assert.equal(r.stage, null);
      assert.equal(r.error, null);
      assert.ok(r.layers.length > 0, 'layers');
      // a module shared by several layers (activation: nn.PReLU() is one instance in every Conv) is counted in each
      // layer's row but once in the total
      const sum = r.layers.reduce((s, l) => s + (l.params ?? 0), 0);
      assert.ok(r.params !== null && r.params <= sum && r.params > 0, `total params ${r.params} vs the layers' ${sum}`);
      for (const l of r.layers) {
        assert.ok((l.out_shape === null) !== (l.out_shapes === null), `layer ${l.i}: exactly one of out_shape/out_shapes`);
        assert.ok(Number.isInteger(l.flops), `layer ${l.i}: flops`);
      }
      assert.ok(typeof r.summary === 'string' && r.summary.includes('summary'), 'summary line');
    } else {
      assert.ok(r.stage === 'parse' || r.stage === 'build' || r.stage === 'forward', `stage ${r.stage}`);
      assert.equal(r.params, null);
    }
    if (e.mutant) {
      const m = r.mutation;
      assert.ok(m, 'mutation');
      const line = e.text.split('\n')[m.line - 1];
      assert.equal(line, m.after, 'the edited line is where the mutation says');
    } else {
      assert.ok(r.ok && r.params_fused && r.summary_fused, 'a full record has the fused figures');
    }
  });
}

test('every mutants-extra MANIFEST agrees with the records beside it', () => {
  for (const framework of readdirSync(MUTANTS_EXTRA_DIR)) {
    const manifest = JSON.parse(readFileSync(join(MUTANTS_EXTRA_DIR, framework, 'MANIFEST.json'), 'utf8')) as {
      count: number;
      failing: number;
      mutants: { name: string; ok: boolean; stage: string | null; error: string | null }[];
    };
    const records = extra.filter((e) => e.mutant && e.framework === framework);
    assert.equal(manifest.count, records.length, framework);
    assert.equal(manifest.failing, records.filter((r) => !r.record.ok).length, framework);
    for (const m of manifest.mutants) {
      const r = records.find((x) => x.record.mutation?.id === m.name);
      assert.ok(r, `${framework}: ${m.name} has no record`);
      assert.deepEqual([m.ok, m.stage, m.error], [r.record.ok, r.record.stage, r.record.error], m.name);
    }
  }
});
