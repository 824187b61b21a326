/**
 * Parity with the real upstream code: every record in ../shared/reference (what PyTorch built for each corpus
 * YAML) must be reproduced exactly by the static resolver: per layer from, n, module, args, params and output
 * shape(s); total params; GFLOPs at the framework's printed precision (both thop conventions, unfused and
 * fused); per-layer FLOPs within 1%. Mutants: exactly the ones the real code rejected get an error.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CORPUS_MISSING, loadCases, needsCorpus, requireCorpus, type RefCase } from '../support/reference.ts';
import { resolve } from '../../server/src/core/resolve.ts';
import { toPlain } from '../../server/src/core/py.ts';

const cases = CORPUS_MISSING ? [] : loadCases();
const real = cases.filter((c) => !c.mutant);
const mutants = cases.filter((c) => c.mutant);

test('the reference manifest is there and non-trivial', needsCorpus, () => {
  requireCorpus();
  assert.ok(real.length >= 100, `expected the real records, found ${real.length}`);
  assert.ok(mutants.length >= 100, `expected the mutants, found ${mutants.length}`);
});

function checkLayers(c: RefCase): void {
  const r = c.record;
  const m = resolve(c.text, c.options);
  assert.equal(m.layers.length, r.layers.length, 'layer count');
  for (const rl of r.layers) {
    const l = m.layers[rl.i]!;
    const where = `${c.name} layer ${rl.i} (${rl.module})`;
    assert.deepEqual(toPlain(l.from), rl.from, `${where}: from`);
    assert.equal(l.n, rl.n, `${where}: n`);
    assert.equal(l.moduleName, rl.module, `${where}: module`);
    assert.deepEqual(l.args?.map(toPlain) ?? null, rl.args, `${where}: args`);
    assert.equal(l.params, rl.params, `${where}: params`);
    assert.deepEqual(l.outShape, rl.out_shape, `${where}: out_shape`);
    assert.deepEqual(l.outShapes, rl.out_shapes, `${where}: out_shapes`);
    if (rl.flops !== null) {
      assert.ok(l.flops, `${where}: flops missing`);
      const rel = Math.abs(l.flops.thop - rl.flops) / Math.max(1, rl.flops);
      assert.ok(rel <= 0.01, `${where}: flops ${l.flops.thop} vs ${rl.flops}`);
    }
  }
  assert.ok(m.totals, `${c.name}: no totals (diagnostics: ${m.diagnostics.map((d) => d.code + ' ' + d.message).join('; ')})`);
  assert.equal(m.totals.params, r.params, `${c.name}: total params`);
  assert.equal(m.totals.gflops.printed, r.gflops, `${c.name}: GFLOPs as printed (exact ${m.totals.gflops.exact})`);
  // SCHEMA: real ultralytics records carry gflops_ultralytics_thop where it differs (absent = equal to gflops);
  // mutants and YOLOv5-dialect records never carry it, so there is nothing to compare them with
  if (r.framework === 'ultralytics' && !c.mutant)
    assert.equal(m.totals.gflopsUltralyticsThop.printed, r.gflops_ultralytics_thop ?? r.gflops, `${c.name}: GFLOPs under ultralytics-thop`);
  assert.equal(m.totals.summary, r.summary, `${c.name}: summary line`);
  if (!c.mutant && r.fused_error === undefined && r.params_fused !== undefined && r.params_fused !== null) {
    assert.equal(m.totals.paramsFused, r.params_fused, `${c.name}: fused params`);
    assert.equal(m.totals.gflopsFused.printed, r.gflops_fused ?? null, `${c.name}: fused GFLOPs`);
    if (r.summary_fused) assert.equal(m.totals.summaryFused, r.summary_fused, `${c.name}: fused summary line`);
  }
}

for (const c of real) {
  test(`parity: ${c.name}`, () => {
    if (!c.record.ok) {
      const m = resolve(c.text, c.options);
      assert.ok(
        m.diagnostics.some((d) => d.severity === 'error'),
        `${c.name}: the real code fails (${c.record.error}) but we report no error`,
      );
      return;
    }
    checkLayers(c);
    const m = resolve(c.text, c.options);
    const errors = m.diagnostics.filter((d) => d.severity === 'error');
    assert.deepEqual(
      errors.map((d) => `${d.code} ${d.message}`),
      [],
      `${c.name}: builds upstream but we report errors`,
    );
  });
}

for (const c of mutants) {
  test(`mutant: ${c.name} (${c.record.ok ? 'builds' : `${c.record.stage}: ${c.record.error}`})`, () => {
    const m = resolve(c.text, c.options);
    const errors = m.diagnostics.filter((d) => d.severity === 'error');
    if (c.record.ok) {
      assert.deepEqual(
        errors.map((d) => `${d.code} ${d.message}`),
        [],
        'the real code builds this mutant',
      );
      checkLayers(c);
    } else assert.ok(errors.length > 0, `the real code fails with ${c.record.error}; we report no error`);
  });
}
