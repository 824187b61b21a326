/**
 * The per-record comparison of the parity tests: the static resolver against a record of what the real upstream
 * code built (per layer from, n, module, args, params, output shape(s), FLOPs within 1%; totals; the printed GFLOPs
 * and summary lines, built and fused).
 */
import assert from 'node:assert/strict';
import type { RefCase } from './reference.ts';
import { resolve } from '../../server/src/core/resolve.ts';
import { toPlain } from '../../server/src/core/py.ts';

export function checkLayers(c: RefCase): void {
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
