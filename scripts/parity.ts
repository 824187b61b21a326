// Developer tool: resolve every reference record and print where we differ (the test asserts the same).
import { loadCases } from '../test/support/reference.ts';
import { resolve } from '../server/src/core/resolve.ts';
import { toPlain } from '../server/src/core/py.ts';

const filter = process.argv[2];
const verbose = process.argv.includes('-v');
let okCount = 0;
let total = 0;
const missing = new Map<string, number>();
for (const c of loadCases()) {
  if (filter && !c.name.includes(filter)) continue;
  const r = c.record;
  const m = resolve(c.text, c.options);
  total++;
  const problems: string[] = [];
  if (c.mutant || !r.ok) {
    const errs = m.diagnostics.filter((d) => d.severity === 'error');
    if (r.ok && errs.length) problems.push(`flagged but builds: ${errs[0]!.code} ${errs[0]!.message}`);
    if (!r.ok && !errs.length) problems.push(`not flagged; upstream: ${r.stage} ${r.error}`);
  }
  if (r.ok) {
    for (const rl of r.layers) {
      const l = m.layers[rl.i];
      if (!l) {
        problems.push(`layer ${rl.i} missing`);
        continue;
      }
      const got = {
        from: toPlain(l.from),
        n: l.n,
        module: l.moduleName,
        args: l.args ? l.args.map(toPlain) : null,
        params: l.params,
        out_shape: l.outShape,
        out_shapes: l.outShapes,
      };
      const want = {
        from: rl.from,
        n: rl.n,
        module: rl.module,
        args: rl.args,
        params: rl.params,
        out_shape: rl.out_shape,
        out_shapes: rl.out_shapes,
      };
      for (const k of Object.keys(want) as (keyof typeof want)[]) {
        if (JSON.stringify(got[k]) !== JSON.stringify(want[k])) {
          problems.push(`L${rl.i} ${rl.module} ${k}: got ${JSON.stringify(got[k])} want ${JSON.stringify(want[k])}`);
          if (l.moduleName && !l.entry) missing.set(l.moduleName, (missing.get(l.moduleName) ?? 0) + 1);
        }
      }
      if (rl.flops !== null && l.flops && Math.abs(l.flops.thop - rl.flops) > 0.01 * Math.max(1, rl.flops))
        problems.push(`L${rl.i} ${rl.module} flops: got ${l.flops.thop} want ${rl.flops}`);
    }
    if (m.totals?.params !== r.params) problems.push(`params ${m.totals?.params} want ${r.params}`);
    if ((m.totals?.gflops.printed ?? null) !== r.gflops)
      problems.push(`gflops ${m.totals?.gflops.printed} (${m.totals?.gflops.exact}) want ${r.gflops}`);
    if (m.totals && m.totals.summary !== r.summary) problems.push(`summary '${m.totals.summary}' want '${r.summary}'`);
    if (!c.mutant && r.params_fused != null && m.totals?.paramsFused !== r.params_fused)
      problems.push(`params_fused ${m.totals?.paramsFused} want ${r.params_fused}`);
    if (!c.mutant && r.gflops_fused !== undefined && (m.totals?.gflopsFused.printed ?? null) !== r.gflops_fused)
      problems.push(`gflops_fused ${m.totals?.gflopsFused.printed} want ${r.gflops_fused}`);
    if (r.gflops_ultralytics_thop !== undefined && (m.totals?.gflopsUltralyticsThop.printed ?? null) !== r.gflops_ultralytics_thop)
      problems.push(`gflops_ultralytics_thop ${m.totals?.gflopsUltralyticsThop.printed} want ${r.gflops_ultralytics_thop}`);
    if (!c.mutant && r.summary_fused && m.totals && m.totals.summaryFused !== r.summary_fused)
      problems.push(`summary_fused '${m.totals.summaryFused}' want '${r.summary_fused}'`);
  }
  if (problems.length === 0) okCount++;
  else {
    console.log(`✗ ${c.name}: ${problems.length} problem(s)`);
    for (const p of problems.slice(0, verbose ? 100 : 3)) console.log('    ' + p);
    if (m.diagnostics.length && verbose)
      for (const d of m.diagnostics.slice(0, 5)) console.log(`    diag ${d.code} ${d.severity} ${d.message}`);
  }
}
console.log(`\n${okCount}/${total} records match`);
if (missing.size)
  console.log(
    'modules not in the catalog:',
    [...missing.entries()]
      .sort((a, b) => b[1] - a[1])
      .map(([k, v]) => `${k}(${v})`)
      .join(' '),
  );
