/**
 * Every model YAML ultralytics 8.4.33 ships, at every scale it lists, resolves with no error diagnostic, and where the
 * real 8.4.33 code's figures exist (the reference records, and test/catalog/data/ultralytics-8.4.33-more.json, both
 * recorded with PyTorch) our totals equal them. The YAMLs are upstream files and stay out of the repo:
 * scripts/gen-ultralytics-8.4-models.ts resolves them from a checkout and commits our figures; with
 * YOLO_LENS_ULTRALYTICS_84 pointing at a checkout's `ultralytics/cfg/models`, this test resolves them again and the
 * committed figures must still hold.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { resolve84, type Resolved84 } from '../../scripts/gen-ultralytics-8.4-models.ts';
import { loadCases, needsCorpus } from '../support/reference.ts';

const data = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'data', 'ultralytics-8.4-models.json'), 'utf8')) as {
  models: Resolved84[];
};
const key = (yaml: string, scale: string | null) => `${yaml.replace(/^.*cfg\/models\//, '')}@${scale ?? ''}`;

interface Truth {
  params: number;
  paramsFused: number | null;
}

function truthOf(): Map<string, Truth> {
  const out = new Map<string, Truth>();
  const more = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'catalog', 'data', 'ultralytics-8.4.33-more.json'), 'utf8')) as {
    models: { yaml: string; scale: string | null; ok: boolean; summary: { params: number }; fused: { params: number } | null }[];
  };
  for (const m of more.models) if (m.ok) out.set(key(m.yaml, m.scale), { params: m.summary.params, paramsFused: m.fused?.params ?? null });
  return out;
}

test('every 8.4.33 model YAML, at every scale, resolves without an error', () => {
  assert.ok(new Set(data.models.map((m) => m.yaml)).size >= 64, 'the 64 YAMLs of 8.4.33 cfg/models');
  const bad = data.models.filter((m) => m.errors.length || m.params === null);
  assert.deepEqual(
    bad.map((m) => `${key(m.yaml, m.scale)}: ${m.errors[0] ?? 'no totals'}`),
    [],
  );
});

test('our totals equal what the real 8.4.33 code built, wherever it was recorded', () => {
  const truth = truthOf();
  let compared = 0;
  for (const m of data.models) {
    const t = truth.get(key(m.yaml, m.scale));
    if (!t) continue;
    compared++;
    assert.equal(m.params, t.params, `${key(m.yaml, m.scale)} params`);
    if (t.paramsFused !== null) assert.equal(m.paramsFused, t.paramsFused, `${key(m.yaml, m.scale)} fused params`);
  }
  assert.ok(compared >= 90, `${compared} models compared`);
});

test('the reference records of 8.4.33 agree with the committed figures', needsCorpus, () => {
  let compared = 0;
  for (const c of loadCases()) {
    if (c.mutant || !c.name.startsWith('ultralytics-8.4.33/') || !c.record.ok) continue;
    const m = data.models.find((x) => key(x.yaml, x.scale) === key(c.record.yaml, c.record.scale));
    assert.ok(m, `${c.name} is in the committed list`);
    assert.equal(m.params, c.record.params, c.name);
    compared++;
  }
  assert.ok(compared > 0);
});

const live = process.env.YOLO_LENS_ULTRALYTICS_84;
test(
  'resolved again from an 8.4.33 checkout, the committed figures still hold',
  { skip: live && existsSync(live) ? false : 'set YOLO_LENS_ULTRALYTICS_84 to an 8.4.33 checkout\u2019s ultralytics/cfg/models to run it' },
  () => {
    for (const yaml of new Set(data.models.map((m) => m.yaml))) {
      const again = resolve84(yaml, readFileSync(join(live!, yaml), 'utf8'));
      assert.deepEqual(
        again,
        data.models.filter((m) => m.yaml === yaml),
        yaml,
      );
    }
  },
);
