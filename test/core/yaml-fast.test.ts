/**
 * The fast YAML reader must give exactly the model document the `yaml` package gives (values, kinds, every
 * range, trailing comments, duplicate-key warnings) whenever it does not give up; it must give up, not guess,
 * outside its subset. Checked on every corpus and reference YAML and on thousands of random edits of them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { parseModelDoc, type ModelDoc, type SrcVal } from '../../server/src/core/document.ts';
import { fastYaml } from '../../server/src/core/yaml-fast.ts';
import { pyJson } from '../../server/src/core/py.ts';
import { CORPUS, REFERENCE, yamlFilesUnder, CORPUS_MISSING, needsCorpus } from '../support/reference.ts';

const sv = (v: SrcVal | undefined): unknown =>
  v ? { v: pyJson(v.value), r: [v.range.start, v.range.end], k: v.kind, items: v.items?.map(sv) } : undefined;

function snapshot(d: ModelDoc): unknown {
  return {
    top: [...d.top.entries()].map(([k, t]) => [k, [t.keyRange.start, t.keyRange.end], sv(t.value)]),
    layers: d.layers.map((l) => ({
      i: l.index,
      s: l.section,
      r: [l.range.start, l.range.end],
      flow: l.flow,
      from: sv(l.from),
      n: sv(l.n),
      m: sv(l.module),
      a: sv(l.args),
      c: l.comment,
      raw: sv((l as { raw?: SrcVal }).raw),
    })),
    sections: d.sections,
    diagnostics: d.diagnostics.map((x) => [x.code, x.severity, x.range.start, x.range.end, x.message]),
    loadable: d.loadable,
    nonAscii: !!d.nonAsciiScalars,
  };
}

function same(text: string): boolean {
  const fast = fastYaml(text) !== null;
  if (fast)
    assert.deepEqual(snapshot(parseModelDoc(text)), snapshot(parseModelDoc(text, { fullParser: true })), 'fast and full readers disagree');
  return fast;
}

const files = CORPUS_MISSING ? [] : [...yamlFilesUnder(CORPUS), ...yamlFilesUnder(REFERENCE)];
const texts = files.map((f) => readFileSync(f, 'utf8'));

test('identical model documents on every corpus and mutant YAML', needsCorpus, () => {
  let fast = 0;
  for (let k = 0; k < files.length; k++) {
    try {
      if (same(texts[k]!)) fast++;
    } catch (e) {
      throw new Error(`${files[k]}: ${(e as Error).message}`);
    }
  }
  // most real model files are in the subset (otherwise the reader is pointless)
  assert.ok(fast / files.length > 0.8, `fast reader used on only ${fast}/${files.length} files`);
});

test('identical model documents on random edits of them', needsCorpus, () => {
  const pieces = [
    '[',
    ']',
    ',',
    ' ',
    '\n',
    '  ',
    '- ',
    '#',
    ': ',
    "'",
    '"',
    '&a ',
    '*a',
    '!!str ',
    '{',
    '}',
    '|',
    '1',
    '-1',
    'Conv',
    '\t',
    '\r\n',
    '---\n',
    'x:',
    '? ',
    '...',
    '1.5e+3',
    'nc: 3\n',
    '\n  - ',
    '\n- ',
    ':',
    '-',
    "''",
    '\\',
    'é',
  ];
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: texts.length - 1 }),
      fc.array(fc.tuple(fc.nat(), fc.nat({ max: 6 }), fc.constantFrom(...pieces)), { minLength: 1, maxLength: 4 }),
      (k, edits) => {
        let text = texts[k]!;
        for (const [pos, del, ins] of edits) {
          const at = pos % (text.length + 1);
          text = text.slice(0, at) + ins + text.slice(at + del);
        }
        same(text);
      },
    ),
    { numRuns: Number(process.env.FUZZ_RUNS ?? 3000), seed: Number(process.env.FUZZ_SEED ?? 20261128) },
  );
});

test('gives up outside its subset', () => {
  for (const text of [
    'a: &x [1]\nb: *x\n',
    'a: !!str 1\n',
    'a: |\n  x\n',
    'a: {b: 1}\n',
    '- 1\n',
    'a: "x\\ty"\n',
    'a: b\n  c\n',
    '---\na: 1\n',
    'a:\n\t- 1\n',
  ])
    assert.equal(fastYaml(text), null, JSON.stringify(text));
});
