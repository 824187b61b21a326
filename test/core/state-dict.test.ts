/**
 * The static state_dict against PyTorch's: for every real reference record that builds, test/data/state-dicts holds
 * the keys, shapes and dtypes of `model.state_dict()` as the upstream code gives them (scripts/truth/state_dicts.py,
 * run with Debian's python3-torch). Resolving the record's YAML the way the parity test does must give the same
 * entries, in the same order. The same holds for the models of test/data/state-dicts/zoo/<framework>/, written to build
 * the modules no corpus YAML builds (their child names are part of the state_dict too).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { loadCases, type RefCase, CORPUS_MISSING, needsCorpus } from '../support/reference.ts';
import { resolve } from '../../server/src/core/resolve.ts';
import { modelStateDict, moduleStateDict } from '../../server/src/core/nn/stateDict.ts';
import { Builder } from '../../server/src/core/nn/builder.ts';
import type { FrameworkId } from '../../server/src/core/framework/types.ts';

const DATA = join(import.meta.dirname, '../data/state-dicts');

interface TruthFile {
  /** a reference record (path under reference/), or a zoo YAML (path under test/data/state-dicts/) and its framework */
  record?: string;
  yaml?: string;
  framework?: FrameworkId;
  params: number;
  keys: [string, number[], string][];
}

function dataFiles(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) dataFiles(p, out);
    else if (e.endsWith('.json')) out.push(p);
  }
  return out.sort();
}

const files = dataFiles(DATA);
const cases = new Map<string, RefCase>((CORPUS_MISSING ? [] : loadCases()).map((c) => [c.name, c]));

test('there is a state_dict for every real record that builds', needsCorpus, () => {
  const covered = new Set(files.map((f) => relative(DATA, f)).filter((f) => !f.startsWith('zoo/')));
  const expected = [...cases.values()].filter((c) => !c.mutant && c.record.ok).map((c) => c.name);
  assert.ok(expected.length >= 150, `expected the real records, found ${expected.length}`);
  assert.deepEqual(
    expected.filter((n) => !covered.has(n)),
    [],
    'records without generated state_dict data (run scripts/truth/state_dicts.py)',
  );
});

const fmt = (e: readonly [string, readonly number[], string] | undefined): string =>
  e ? `${e[0]} [${e[1].join(', ')}] ${e[2]}` : '(nothing)';

for (const file of files) {
  const truth = JSON.parse(readFileSync(file, 'utf8')) as TruthFile;
  const name = truth.record ?? truth.yaml!;
  test(`state_dict: ${name}`, truth.record ? needsCorpus : {}, () => {
    let model;
    if (truth.record) {
      const c = cases.get(truth.record);
      assert.ok(c, `no reference record ${truth.record}`);
      assert.equal(c.record.params, truth.params, 'the data was generated from a model with the record parameter count');
      model = resolve(c.text, c.options);
    } else {
      const text = readFileSync(join(DATA, truth.yaml!), 'utf8');
      model = resolve(text, { framework: truth.framework!, ch: 3, imgsz: 640, fileName: basename(truth.yaml!) });
    }
    const { entries, complete } = modelStateDict(model);
    assert.ok(complete, `some layers did not build: ${model.diagnostics.map((d) => `${d.code} ${d.message}`).join('; ')}`);
    const ours = entries.map((e) => [e.key, [...e.shape], e.dtype] as [string, number[], string]);
    const first = ours.findIndex((e, i) => JSON.stringify(e) !== JSON.stringify(truth.keys[i]));
    const at = first >= 0 ? first : ours.length !== truth.keys.length ? Math.min(ours.length, truth.keys.length) : -1;
    if (at >= 0) {
      const around = (xs: [string, number[], string][]) =>
        xs
          .slice(Math.max(0, at - 2), at + 3)
          .map((e, k) => `${Math.max(0, at - 2) + k === at ? '>' : ' '} ${fmt(e)}`)
          .join('\n');
      assert.fail(
        `${name}: first difference at entry ${at} of ${truth.keys.length} (ours: ${ours.length})\n` +
          `  PyTorch: ${fmt(truth.keys[at])}\n  ours:    ${fmt(ours[at])}\n` +
          `PyTorch around it:\n${around(truth.keys)}\nours around it:\n${around(ours)}`,
      );
    }
    // the parameters among them are the model's parameters, each counted once
    const params = entries.filter((e) => e.kind === 'param').reduce((a, e) => a + e.shape.reduce((x, y) => x * y, 1), 0);
    assert.equal(params, truth.params, 'parameters in the state_dict');
  });
}

test('a buffer registered with persistent=False is not in the state_dict; own parameters come before buffers and children', () => {
  const b = new Builder({ fused: false, convDefaultAct: null });
  const m = b.mod('Head', { m: b.conv2d(4, 8, 1) }, () => null, {
    params: { scale: { shape: [1] } },
    buffers: { anchors: { shape: [3, 2] }, grid: { shape: [1, 2], persistent: false }, index: { shape: [5], dtype: 'int64' } },
  });
  assert.deepEqual(
    moduleStateDict(m, 'model.7.').map((e) => `${e.key} [${e.shape.join(', ')}] ${e.dtype} ${e.kind}`),
    [
      'model.7.scale [1] float32 param',
      'model.7.anchors [3, 2] float32 buffer',
      'model.7.index [5] int64 buffer',
      'model.7.m.weight [8, 4, 1, 1] float32 param',
      'model.7.m.bias [8] float32 param',
    ],
  );
});

test('a layer that does not build contributes no entries, and the state_dict says it is incomplete', () => {
  const yaml = [
    'nc: 4',
    'backbone:',
    '  - [-1, 1, Conv, [16, 3, 2]]',
    '  - [-1, 1, NoSuchModule, [32]]',
    '  - [0, 1, Conv, [32, 3, 2]]',
    'head: []',
    '',
  ];
  const model = resolve(yaml.join('\n'), { framework: 'ultralytics-8.3', fileName: 'broken.yaml' });
  const { entries, complete } = modelStateDict(model);
  assert.equal(complete, false);
  assert.deepEqual([...new Set(entries.map((e) => e.layer))], [0, 2]);
  assert.deepEqual(
    entries.filter((e) => e.layer === 2).map((e) => e.key),
    [
      'model.2.conv.weight',
      'model.2.bn.weight',
      'model.2.bn.bias',
      'model.2.bn.running_mean',
      'model.2.bn.running_var',
      'model.2.bn.num_batches_tracked',
    ],
  );
});
