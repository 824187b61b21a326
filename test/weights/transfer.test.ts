/**
 * The transfer plan against what each framework's own loading code reported for the same edit (test/fixtures/transfer:
 * made by scripts/truth/transfer.py with the upstream trees and real PyTorch): the N/M line, every tensor's status
 * in the new model's order, and the checkpoint tensors left unused.
 */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { resolve } from '../../server/src/core/resolve.ts';
import { frameworkByName } from '../../server/src/core/framework/index.ts';
import { modelStateDict } from '../../server/src/core/nn/stateDict.ts';
import { readCheckpoint, stateDictOf } from '../../server/src/core/weights/index.ts';
import { planTransfer, remapCheckpoint } from '../../server/src/core/weights/transfer.ts';

const dir = join(import.meta.dirname, '..', 'fixtures', 'transfer');
const cases = readdirSync(dir).filter((c) => statSync(join(dir, c)).isDirectory());

interface Expected {
  case: string;
  framework: string;
  checkpoint: string;
  checkpoint_entry: 'model' | 'ema-or-model';
  yaml: string;
  nc: number;
  ch: number;
  error: string | null;
  log: string;
  transferred: number;
  total: number;
  items: { key: string; shape: number[]; status: string; checkpoint_shape?: number[]; copied?: number[] }[];
  unused: { key: string; shape: number[]; reason: string }[];
}

function setup(name: string) {
  const caseDir = join(dir, name);
  const expected = JSON.parse(readFileSync(join(caseDir, 'expected.json'), 'utf8')) as Expected;
  const framework = frameworkByName(expected.framework)!;
  assert.ok(framework, `framework ${expected.framework}`);
  const model = resolve(readFileSync(join(caseDir, expected.yaml), 'utf8'), {
    framework: framework.id,
    nc: expected.nc,
    ch: expected.ch,
    fileName: expected.yaml,
  });
  const read = readCheckpoint(new Uint8Array(readFileSync(join(caseDir, expected.checkpoint))));
  assert.ok(read.ok, read.ok ? '' : read.error.message);
  const sd = stateDictOf(read.value, { entry: framework.loader.entry });
  assert.ok(sd.ok, sd.ok ? '' : sd.error.message);
  return { expected, framework, model, checkpoint: sd.value.entries };
}

describe('transfer plan equals the framework loader', () => {
  it('has the cases', () => assert.ok(cases.length >= 15, `${cases.length} cases`));
  for (const name of cases) {
    it(name, () => {
      const { expected, framework, model, checkpoint } = setup(name);
      if (expected.error) {
        // the real code raised: the model does not build, and we say so instead of planning
        assert.equal(model.ok, false, `${name}: upstream raised ${expected.error} but the model resolves`);
        return;
      }
      assert.deepEqual(
        model.diagnostics.filter((d) => d.severity === 'error').map((d) => d.message),
        [],
      );
      const state = modelStateDict(model);
      assert.ok(state.complete);
      const plan = planTransfer(state.entries, checkpoint, framework.loader, expected.checkpoint);
      assert.equal(plan.log, expected.log);
      assert.equal(`${plan.transferred}/${plan.total}`, `${expected.transferred}/${expected.total}`);
      assert.deepEqual(
        plan.items.map((i) => ({
          key: i.key,
          shape: [...i.shape],
          status: i.status,
          ...(i.checkpointShape ? { checkpoint_shape: [...i.checkpointShape] } : {}),
          ...(i.copied ? { copied: [...i.copied] } : {}),
        })),
        expected.items,
      );
      assert.deepEqual(
        plan.unused.map((u) => ({ key: u.key, shape: [...u.shape], reason: u.reason })),
        expected.unused,
      );
    });
  }
});

describe('remap: a layer inserted without renumbering', () => {
  it('the alignment moves every layer after the insert one index on, and loads more', () => {
    const { framework, model, checkpoint, expected } = setup('v5-insert-not-renumbered');
    const state = modelStateDict(model);
    const plan = planTransfer(state.entries, checkpoint, framework.loader, expected.checkpoint);
    assert.ok(plan.remap, 'a remap is offered');
    assert.ok(plan.remap.transferred > plan.transferred, `${plan.remap.transferred} > ${plan.transferred}`);
    // the renamed checkpoint gives the count the remap promises, under the same loader rules
    const moved = remapCheckpoint(checkpoint, plan.remap.moves);
    const again = planTransfer(state.entries, moved, framework.loader, expected.checkpoint);
    assert.equal(again.transferred, plan.remap.transferred);
    assert.ok(plan.remap.moves.every((m) => m.to === m.from + 1));
  });
  it('an identical YAML needs no remap', () => {
    const { framework, model, checkpoint, expected } = setup('v5-identical');
    const plan = planTransfer(modelStateDict(model).entries, checkpoint, framework.loader, expected.checkpoint);
    assert.equal(plan.remap, null);
    assert.equal(plan.firstMiss, null);
  });
});
