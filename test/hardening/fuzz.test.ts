/**
 * The CI-sized fuzz run (fixed seeds): random edits of every corpus and mutant YAML, random models generated from
 * the catalog, and plausible random models that mostly resolve cleanly. For every case resolve() and every feature
 * run, and must not throw, must stay within the time bound (CPU), must return well-formed results, and a model
 * without error diagnostics must have every shape, parameter and FLOP count defined (see fuzz-harness.ts).
 * More cases: `FUZZ_RUNS=20000 FUZZ_SEED=7 node scripts/run-tests.mjs fuzz`, or bench/fuzz.ts for any number
 * with figures and shrunk reproducers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import fc from 'fast-check';
import { clearResolveCaches } from '../../server/src/core/resolve.ts';
import {
  checkCase,
  describeCase,
  loadSeeds,
  materialise,
  plausibleCaseArb,
  structureCaseArb,
  textCaseArb,
  type FuzzCase,
} from './fuzz-harness.ts';
import { CORPUS_MISSING, needsCorpus } from '../support/reference.ts';

const RUNS = Number(process.env.FUZZ_RUNS ?? 2000);
const SEED = Number(process.env.FUZZ_SEED ?? 20261201);
const seeds = CORPUS_MISSING ? [] : loadSeeds();

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const heapMB = () => {
  gc();
  return process.memoryUsage().heapUsed / 2 ** 20;
};

function fuzz(arb: fc.Arbitrary<FuzzCase>, numRuns: number, seed: number): { healthy: number } {
  let healthy = 0;
  const details = fc.check(
    fc.property(arb, fc.array(fc.nat(), { maxLength: 3 }), (c, picks) => {
      const { text, options, name } = materialise(c, seeds);
      if (checkCase(text, options, name, picks).ok) healthy++;
    }),
    { numRuns, seed },
  );
  if (details.failed) {
    const err = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
    assert.fail(
      `fuzz failure (seed ${details.seed}, path ${details.counterexamplePath}): ${err}\n${describeCase(details.counterexample![0], seeds)}`,
    );
  }
  return { healthy };
}

const before = heapMB();

test('random edits of every corpus and mutant YAML', needsCorpus, () => {
  const { healthy } = fuzz(textCaseArb(seeds.length), Math.round(RUNS * 0.6), SEED);
  assert.ok(healthy > RUNS * 0.6 * 0.05, `only ${healthy} edited models resolved cleanly: the property on healthy models went untested`);
});

test('random models from the catalog: random layers, from, args of random types, multiples and scales', () => {
  fuzz(structureCaseArb(), Math.round(RUNS * 0.2), SEED + 1);
});

test('plausible random models (shape-consistent templates), most of them healthy', () => {
  const runs = Math.round(RUNS * 0.2);
  const { healthy } = fuzz(plausibleCaseArb(), runs, SEED + 2);
  assert.ok(healthy > runs * 0.4, `only ${healthy}/${runs} plausible models resolved cleanly`);
});

test('nothing leaks: after the run the heap holds only the bounded caches, and nothing once they are cleared', () => {
  const after = heapMB();
  assert.ok(after - before < 200, `heap grew by ${(after - before).toFixed(0)} MB over the fuzz run`);
  clearResolveCaches();
  const cleared = heapMB();
  assert.ok(cleared - before < 30, `heap ${(cleared - before).toFixed(0)} MB above the start once the caches are cleared`);
});
