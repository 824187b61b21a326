/** The benchmarks' synthetic models must resolve completely: a model that stops at an error measures nothing. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolve } from '../../server/src/core/resolve.ts';
import { syntheticYaml } from '../../bench/synthetic.ts';

for (const style of ['block', 'flow'] as const)
  for (const n of [10, 100, 1000]) {
    test(`synthetic ${n}-layer model (${style}) resolves with no diagnostics`, () => {
      const m = resolve(syntheticYaml(n, style), { fileName: 'synthetic.yaml' });
      assert.deepEqual(
        m.diagnostics.map((d) => `${d.code} ${d.message}`),
        [],
      );
      assert.equal(m.layers.length, n);
      assert.ok(m.layers.every((l) => l.status === 'ok'));
      assert.ok(m.totals);
    });
  }
