/**
 * A bounded mutation fuzz of the checkpoint reader (1,200 cases, fixed seeds, a few seconds): every mutant of the
 * fixtures ends in a value or a typed error (never `internal`, never an exception), each case within 2 s. The
 * 10,000-case run with figures is bench/fuzz-checkpoints.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadSeeds, mutate, rng, runCase } from './fuzz-harness.ts';

describe('weights reader: mutation fuzz', () => {
  const seeds = loadSeeds(false);

  it('every seed reads unmutated', () => {
    for (const seed of seeds) assert.equal(runCase(seed.bytes).result, 'ok', seed.name);
  });

  for (const fixedSeed of [1, 2, 3]) {
    it(`400 mutants, seed ${fixedSeed}`, () => {
      const random = rng(fixedSeed);
      const counts = new Map<string, number>();
      let slowest = 0;
      for (let i = 0; i < 400; i++) {
        const mutant = mutate(seeds[i % seeds.length]!, random);
        let outcome;
        try {
          outcome = runCase(mutant.bytes);
        } catch (e) {
          assert.fail(`seed ${fixedSeed} case ${i} (${mutant.seed}: ${mutant.how}): ${e instanceof Error ? e.message : String(e)}`);
        }
        counts.set(outcome.result, (counts.get(outcome.result) ?? 0) + 1);
        slowest = Math.max(slowest, outcome.ms);
        assert.ok(outcome.ms < 2000, `case ${i} (${mutant.seed}: ${mutant.how}) took ${outcome.ms.toFixed(0)} ms`);
      }
      // the mutations reach past the first check: several kinds of outcome, not one
      assert.ok(counts.size >= 4, JSON.stringify([...counts]));
    });
  }
});
