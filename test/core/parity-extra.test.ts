/**
 * Parity with the records made in this repository (test/fixtures/mutants-extra, test/fixtures/records): every
 * PyTorch-verdict mutant gets an error exactly when the real code rejected it (0/negative/float channels, bool and
 * float args, groups remainders, width floors, activations with arguments), and a mutant that builds, like a full
 * record (yolov5s-LeakyReLU), is reproduced number for number.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadExtraRecords } from '../support/extra-records.ts';
import { checkLayers } from '../support/parity.ts';
import { resolve } from '../../server/src/core/resolve.ts';

const cases = loadExtraRecords();

test('the extra records are there', () => {
  assert.ok(cases.filter((c) => c.mutant).length >= 70, 'mutants');
  assert.ok(
    cases.some((c) => !c.mutant && c.name.includes('LeakyReLU')),
    'the yolov5s-LeakyReLU record',
  );
});

for (const c of cases) {
  const verdict = c.record.ok ? 'builds' : `${c.record.stage}: ${c.record.error}`;
  test(`extra ${c.mutant ? 'mutant' : 'record'}: ${c.name} (${verdict})`, () => {
    const m = resolve(c.text, c.options);
    const errors = m.diagnostics.filter((d) => d.severity === 'error');
    if (!c.record.ok) {
      assert.ok(errors.length > 0, `the real code fails with ${c.record.error}; we report no error`);
      return;
    }
    assert.deepEqual(
      errors.map((d) => `${d.code} ${d.message}`),
      [],
      'the real code builds this file',
    );
    checkLayers(c);
  });
}
