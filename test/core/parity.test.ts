/**
 * Parity with the real upstream code: every record in ../shared/reference (what PyTorch built for each corpus
 * YAML) must be reproduced exactly by the static resolver: per layer from, n, module, args, params and output
 * shape(s); total params; GFLOPs at the framework's printed precision (both thop conventions, unfused and
 * fused); per-layer FLOPs within 1%. Mutants: exactly the ones the real code rejected get an error.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CORPUS_MISSING, loadCases, needsCorpus, requireCorpus } from '../support/reference.ts';
import { checkLayers } from '../support/parity.ts';
import { resolve } from '../../server/src/core/resolve.ts';

const cases = CORPUS_MISSING ? [] : loadCases();
const real = cases.filter((c) => !c.mutant);
const mutants = cases.filter((c) => c.mutant);

test('the reference manifest is there and non-trivial', needsCorpus, () => {
  requireCorpus();
  assert.ok(real.length >= 100, `expected the real records, found ${real.length}`);
  assert.ok(mutants.length >= 100, `expected the mutants, found ${mutants.length}`);
});

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
    } else {
      assert.ok(errors.length > 0, `the real code fails with ${c.record.error}; we report no error`);
      // parse_model prints each row as it builds it: with fewer rows than layers, the real code failed on the first
      // row it did not print, and an error must be on that layer (or, with no row printed, on the file's header);
      // with every row printed it failed in the model's first forward, where any layer may be at fault
      const failedAt = c.record.layers.length;
      if (failedAt < m.doc.layers.length)
        assert.ok(
          errors.some((d) => d.layer === failedAt || (failedAt === 0 && d.layer === undefined)),
          `the real code failed at layer ${failedAt} (${c.record.stage}: ${c.record.error}); our errors are on ` +
            errors.map((d) => `${d.code} at layer ${d.layer ?? '(file)'}`).join(', '),
        );
    }
  });
}
