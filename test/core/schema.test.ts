/**
 * The JSON Schemas in schemas/: generated from the catalog (this test fails when a checked-in file is stale: run
 * `npm run gen:schema`), valid draft-07, and right about real files. Every corpus YAML, read the way
 * yaml-language-server reads it, gets schema errors only on layers the resolver also rejects; a wrong module
 * name or too many args are caught; a YAML that is not a model is left alone; `.yolo-lens.json` files the loader
 * accepts the schema accepts, and the ones it rejects for their structure the schema rejects too.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import { generateSchemas, schemaText, SCHEMA_DIR } from '../../scripts/gen-schema.ts';
import { loadCases, needsCorpus } from '../support/reference.ts';
import { resolve } from '../../server/src/core/resolve.ts';
import { loadUserModules } from '../../server/src/core/declaredModules.ts';

const generated = generateSchemas();

test('the checked-in schemas are what the catalog generates (npm run gen:schema)', () => {
  assert.deepEqual(Object.keys(generated).sort(), [
    'yolo-lens.schema.json',
    'yolo-model.schema.json',
    'yolo-ultralytics.schema.json',
    'yolo-v5.schema.json',
  ]);
  for (const [name, schema] of Object.entries(generated)) {
    let onDisk = '';
    try {
      onDisk = readFileSync(join(SCHEMA_DIR, name), 'utf8');
    } catch {
      assert.fail(`schemas/${name} is missing: run npm run gen:schema`);
    }
    assert.ok(onDisk === schemaText(schema), `schemas/${name} is stale: run npm run gen:schema and commit it`);
  }
});

const ajv = new Ajv({ allErrors: true, strict: false });
const validators = new Map<string, ValidateFunction>();
const validator = (name: string): ValidateFunction => {
  let v = validators.get(name);
  if (!v) validators.set(name, (v = ajv.compile(generated[name]!)));
  return v;
};

test('every schema compiles as draft-07', () => {
  for (const name of Object.keys(generated)) assert.equal(typeof validator(name), 'function', name);
});

/** A YAML as yaml-language-server reads it (YAML 1.2 core schema), checked against the combined schema. */
function schemaErrors(text: string, schema = 'yolo-model.schema.json'): ErrorObject[] {
  const v = validator(schema);
  const data = parseYaml(text, { version: '1.2', uniqueKeys: false }) as unknown;
  // `if`/`then` failures are reported again at the root: the errors that say where are the others
  return v(data) ? [] : (v.errors ?? []).filter((e) => e.keyword !== 'if');
}

/** The global layer index an error is about, if it is about a layer. */
function layerOfError(e: ErrorObject, backboneLength: number): number | null {
  const m = /^\/(backbone|head)\/(\d+)(\/|$)/.exec(e.instancePath);
  if (!m) return null;
  return m[1] === 'backbone' ? Number(m[2]) : backboneLength + Number(m[2]);
}

test('corpus YAMLs: the schema flags only layers the resolver rejects too', needsCorpus, () => {
  const seen = new Set<string>();
  const cases = loadCases().filter((c) => !c.mutant && !seen.has(c.yamlPath) && seen.add(c.yamlPath));
  assert.ok(cases.length >= 50);
  let clean = 0;
  for (const c of cases) {
    const errors = schemaErrors(c.text);
    const model = resolve(c.text, { ...c.options, skipFused: true });
    const backbone = model.doc.layers.filter((l) => l.section === 'backbone').length;
    for (const e of errors) {
      const layer = layerOfError(e, backbone);
      assert.ok(layer !== null, `${c.name}: the schema rejects ${e.instancePath || 'the file'}: ${e.message}`);
      assert.ok(
        model.diagnostics.some((d) => d.layer === layer && d.severity === 'error'),
        `${c.name}: the schema rejects layer ${layer} (${e.instancePath} ${e.message}) but the resolver builds it`,
      );
    }
    // a file the resolver builds is a file the schema accepts
    if (model.ok) {
      assert.deepEqual(errors, [], c.name);
      clean++;
    }
  }
  assert.ok(clean >= 10, `only ${clean} corpus files resolve`);
});

const V5 = `nc: 80
depth_multiple: 0.33
width_multiple: 0.25
anchors:
  - [10,13, 16,30, 33,23]
backbone:
  - [-1, 1, Conv, [64, 6, 2, 2]]
  - [-1, 3, C3, [64]]
head:
  - [[0, 1], 1, Detect, [nc, anchors]]
`;

test('a valid file passes; a wrong module name, too many args, a missing key, a bad from are caught', () => {
  assert.deepEqual(schemaErrors(V5), []);
  const paths = (t: string) => schemaErrors(t).map((e) => `${e.instancePath} ${e.keyword}`);
  assert.ok(paths(V5.replace('C3,', 'C4,')).includes('/backbone/1/2 enum'));
  assert.ok(paths(V5.replace('[64, 6, 2, 2]', '[64, 6, 2, 2, None, 1, 1, True, 9]')).includes('/backbone/0/3 maxItems'));
  assert.ok(paths(V5.replace('nc: 80\n', '')).includes(' required'));
  assert.ok(paths(V5.replace('[[0, 1], 1', '[[0, zero], 1')).some((p) => p.startsWith('/head/0/0')));
  // the dialect follows `anchors:`: a YOLOv5 Detect in an ultralytics file takes [nc] only
  const ul =
    'nc: 80\nscales:\n  n: [0.33, 0.25, 1024]\nbackbone:\n  - [-1, 1, Conv, [64, 3, 2]]\n  - [-1, 3, C2f, [64, True]]\nhead:\n  - [[0, ' +
    '1], 1, Concat, [1]]\n';
  assert.deepEqual(schemaErrors(ul), []);
  assert.ok(resolve(ul).ok);
  assert.ok(paths(ul.replace('[64, True]', '[64, True, 1, 2, 3, 4]')).some((p) => p.startsWith('/backbone/1')));
  // the same C3 args are fine in a YOLOv5 file, and an ultralytics-only module is not
  assert.ok(paths(V5.replace('C3, [64]', 'C2f, [64]')).includes('/backbone/1/2 enum'));
});

test('a YAML that is not a model gets nothing from the combined schema', () => {
  assert.deepEqual(schemaErrors('apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n'), []);
  assert.deepEqual(schemaErrors('- a\n- b\n'), []);
});

test('.yolo-lens.json: the example validates; structure errors the loader reports, the schema reports too', () => {
  const example = readFileSync(join(SCHEMA_DIR, '..', 'examples', 'user-modules', '.yolo-lens.json'), 'utf8');
  assert.deepEqual(loadUserModules(example).diagnostics, []);
  const v = validator('yolo-lens.schema.json');
  assert.ok(v(JSON.parse(example)), JSON.stringify(v.errors));
  const bad = [
    '{ "modules": { "A": { "body": [{ "relu": "x" }] } } }',
    '{ "modules": { "A": { "treatment": "sideways", "body": [{ "relu": "x" }] } } }',
    '{ "modules": { "A": { "treatment": "plain", "body": [] } } }',
    '{ "modules": { "A": { "treatment": "plain", "body": [{ "relu": "x", "sigmoid": "x" }] } } }',
    '{ "modules": { "A": { "treatment": "plain", "params": [{ "doc": "no name" }], "body": [{ "relu": "x" }] } } }',
    '{ "modules": { "A": { "treatment": "plain", "dialects": ["yolov7"], "body": [{ "relu": "x" }] } } }',
  ];
  for (const text of bad) {
    assert.ok(
      loadUserModules(text).diagnostics.some((d) => d.severity === 'error'),
      `the loader accepts ${text}`,
    );
    assert.equal(v(JSON.parse(text)), false, `the schema accepts ${text}`);
  }
});

// ---- the real consumer: yaml-language-server ---------------------------------------------------------------

test(
  'yaml-language-server with the contributed schema: real files validate, a wrong module is flagged, a modeline works',
  needsCorpus,
  async () => {
    const { getLanguageService } = await import('yaml-language-server');
    const { TextDocument } = await import('vscode-languageserver-textdocument');
    const { pathToFileURL } = await import('node:url');
    const root = join(SCHEMA_DIR, '..');
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
      contributes: { yamlValidation: { fileMatch: string[]; url: string }[] };
    };
    const contributed = pkg.contributes.yamlValidation[0]!;
    const schemaUri = pathToFileURL(join(root, contributed.url)).href;
    const ls = getLanguageService({
      schemaRequestService: async (uri: string) => readFileSync(new URL(uri), 'utf8'),
      workspaceContext: { resolveRelativePath: (rel: string, res: string) => new URL(rel, res).href },
    });
    ls.configure({
      validate: true,
      hover: true,
      completion: true,
      schemas: [{ uri: schemaUri, fileMatch: contributed.fileMatch }],
      yamlVersion: '1.1',
    });
    // yaml-language-server caches documents by (uri, version): every call is a new version
    let version = 0;
    const validate = async (path: string, text: string) =>
      ls.doValidation(TextDocument.create(pathToFileURL(path).href, 'yaml', ++version, text), false);

    const seen = new Set<string>();
    const built = loadCases().filter(
      (c) => !c.mutant && !seen.has(c.yamlPath) && seen.add(c.yamlPath) && resolve(c.text, { ...c.options, skipFused: true }).ok,
    );
    assert.ok(built.length >= 10);
    for (const c of built)
      assert.deepEqual(
        (await validate(c.yamlPath, c.text)).map((d) => d.message),
        [],
        c.name,
      );

    const yolov5s = built.find((c) => c.yamlPath.endsWith('yolov5/models/yolov5s.yaml'))!;
    const wrong = yolov5s.text.replace('[-1, 1, SPPF, [1024, 5]]', '[-1, 1, SPPX, [1024, 5]]');
    const diags = await validate(yolov5s.yamlPath, wrong);
    assert.equal(diags.length, 1, JSON.stringify(diags));
    const lines = wrong.split('\n');
    assert.equal(lines[diags[0]!.range.start.line]!.slice(diags[0]!.range.start.character, diags[0]!.range.end.character), 'SPPX');

    // a file the patterns do not match, pointed at a dialect schema by a modeline
    const v5Uri = pathToFileURL(join(SCHEMA_DIR, 'yolo-v5.schema.json')).href;
    const modeline = `# yaml-language-server: $schema=${v5Uri}\n${V5.replace('C3,', 'C4,')}`;
    const viaModeline = await validate('/tmp/not-matched/net.yaml', modeline);
    assert.equal(viaModeline.length, 1, JSON.stringify(viaModeline));
    assert.equal(
      await validate('/tmp/not-matched/net.yaml', V5.replace('C3,', 'C4,')).then((d) => d.length),
      0,
      'no schema applies without the modeline',
    );
    // hover on a module name says what it is
    const original = yolov5s.text.split('\n');
    const hover = await ls.doHover(TextDocument.create(pathToFileURL(yolov5s.yamlPath).href, 'yaml', ++version, yolov5s.text), {
      line: original.findIndex((l) => l.includes('SPPF, [1024, 5]')),
      character: original.find((l) => l.includes('SPPF, [1024, 5]'))!.indexOf('SPPF') + 1,
    });
    assert.match(JSON.stringify(hover?.contents ?? ''), /SPPF/);
  },
);
