/**
 * User-declared modules: a `.yolo-lens.json` that writes C3, SPPF and GSConv out of the same primitives gives the
 * same shapes, params and FLOPs as the catalog's definitions on real corpus models; an SE-style block and a
 * concat-like block resolve; the file's problems are diagnostics on its exact tokens; a broken declaration makes
 * the layers using it fail with the declaration's error; the catalog wins over a declaration of the same name.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CORPUS, needsCorpus } from '../support/reference.ts';
import { resolve, type ResolveOptions } from '../../server/src/core/resolve.ts';
import { loadUserModules, type UserModuleDiagnostic } from '../../server/src/core/declaredModules.ts';
import type { Model } from '../../server/src/core/model.ts';
import { toPlain } from '../../server/src/core/py.ts';

const CONFIG = `{
  // comments are allowed (JSON with comments)
  "$schema": "./schemas/yolo-lens.schema.json",
  "modules": {
    "MyC3": {
      "doc": "C3 written out of Conv and Bottleneck",
      "category": "csp",
      "treatment": "repeats",
      "params": [
        { "name": "c1", "kind": "channels", "doc": "input channels" },
        { "name": "c2", "kind": "channels", "doc": "output channels" },
        { "name": "n", "kind": "int", "default": 1, "doc": "Bottlenecks" },
        { "name": "shortcut", "kind": "bool", "default": true, "doc": "residual adds" },
        { "name": "g", "kind": "int", "default": 1, "doc": "groups" },
        { "name": "e", "kind": "float", "default": 0.5, "doc": "hidden channels = int(c2 * e)" }
      ],
      "let": { "c_": "int(c2 * e)" },
      "body": [
        { "id": "cv1", "conv": ["c1", "c_", 1, 1] },
        { "id": "m", "call": "Bottleneck", "args": ["c_", "c_", "shortcut", "g"], "kwargs": { "e": 1.0 }, "repeat": "n" },
        { "id": "cv2", "conv": ["c1", "c_", 1, 1], "in": "x" },
        { "id": "y", "cat": ["m", "cv2"] },
        { "id": "cv3", "conv": ["2 * c_", "c2", 1] }
      ]
    },
    "MySPPF": {
      "category": "pooling",
      "treatment": "channels",
      "params": [{ "name": "c1", "kind": "channels" }, { "name": "c2", "kind": "channels" }, { "name": "k", "kind": "int", "default": 5 }],
      "let": { "c_": "c1 // 2" },
      "body": [
        { "id": "cv1", "conv": ["c1", "c_", 1, 1] },
        { "id": "m", "call": "nn.MaxPool2d", "args": ["k", 1, "k // 2"] },
        { "id": "y2", "apply": "m" },
        { "id": "y3", "apply": "m" },
        { "id": "y", "cat": ["cv1", "m", "y2", "y3"] },
        { "id": "cv2", "conv": ["c_ * 4", "c2", 1, 1] }
      ]
    },
    "MyGSConv": {
      "category": "slimneck",
      "treatment": "channels",
      "dialects": ["yolov5"],
      "params": [
        { "name": "c1", "kind": "channels" }, { "name": "c2", "kind": "channels" },
        { "name": "k", "kind": "kernel", "default": 1 }, { "name": "s", "kind": "kernel", "default": 1 },
        { "name": "g", "kind": "int", "default": 1 }, { "name": "act", "kind": "act", "default": true }
      ],
      "let": { "c_": "c2 // 2" },
      "body": [
        { "id": "cv1", "conv": ["c1", "c_", "k", "s", "None", "g", "act"] },
        { "id": "cv2", "conv": ["c_", "c_", 5, 1, "None", "c_", "act"] },
        { "id": "y", "cat": ["cv1", "cv2"] },
        { "id": "out", "gsshuffle": "y" }
      ]
    },
    "SEConv": {
      "doc": "Conv followed by squeeze-and-excitation",
      "category": "attention",
      "treatment": "channels",
      "params": [
        { "name": "c1", "kind": "channels" }, { "name": "c2", "kind": "channels" },
        { "name": "r", "kind": "int", "default": 16, "doc": "reduction" }
      ],
      "let": { "c_": "max(c2 // r, 8)" },
      "body": [
        { "id": "y", "conv": ["c1", "c2", 3, 1] },
        { "id": "s", "mean": "y" },
        { "id": "fc1", "call": "nn.Conv2d", "args": ["c2", "c_", 1] },
        { "id": "a", "relu": "fc1" },
        { "id": "fc2", "call": "nn.Conv2d", "args": ["c_", "c2", 1] },
        { "id": "w", "sigmoid": "fc2" },
        { "id": "out", "mul": ["y", "w"] }
      ]
    },
    "SplitCat": {
      "doc": "chunk in two, a Conv on one half, concatenated back; the residual add only when asked",
      "treatment": "plain",
      "params": [{ "name": "c", "kind": "channels" }, { "name": "residual", "kind": "bool", "default": false }],
      "body": [
        { "id": "parts", "chunk": "x", "chunks": 2 },
        { "id": "b", "conv": ["c // 2", "c // 2", 3, 1], "in": "parts.1" },
        { "id": "y", "cat": ["parts.0", "b"] },
        { "id": "out", "add": ["x", "y"], "if": "residual" }
      ]
    }
  }
}
`;

const corpusText = (p: string) => readFileSync(join(CORPUS, p), 'utf8');

function comparable(m: Model) {
  return m.layers.map((l) => ({
    n: l.n,
    args: l.args?.map(toPlain) ?? null,
    out: l.outShape,
    outs: l.outShapes,
    params: l.params,
    flops: l.flops,
    status: l.status,
  }));
}

test('the example declarations load without problems', () => {
  const { modules, diagnostics } = loadUserModules(CONFIG);
  assert.deepEqual(diagnostics, []);
  assert.deepEqual(modules.names, ['MyC3', 'MySPPF', 'MyGSConv', 'SEConv', 'SplitCat']);
});

test('C3 and SPPF declared by the user give the catalog\u2019s shapes, params and FLOPs on yolov5s', needsCorpus, () => {
  const { modules } = loadUserModules(CONFIG);
  const text = corpusText('yolov5/models/yolov5s.yaml');
  const opts: ResolveOptions = { framework: 'yolov5' };
  const mine = text.replace(/\bC3\b/g, 'MyC3').replace(/\bSPPF\b/g, 'MySPPF');
  assert.notEqual(mine, text);
  const a = resolve(text, opts);
  const b = resolve(mine, { ...opts, userModules: modules });
  assert.ok(a.ok && b.ok, b.diagnostics.map((d) => d.message).join('\n'));
  assert.deepEqual(comparable(b), comparable(a));
  assert.equal(b.totals!.params, a.totals!.params);
  assert.equal(b.totals!.gflops.printed, a.totals!.gflops.printed);
  assert.equal(b.totals!.paramsFused, a.totals!.paramsFused);
  // and they are known by name, with their signature and doc
  const entry = b.framework.modules.get('MyC3')!;
  assert.equal(entry.treat, 'repeats');
  assert.equal(entry.def.doc, 'C3 written out of Conv and Bottleneck');
  assert.deepEqual(
    entry.def.signature.map((p) => p.name),
    ['c1', 'c2', 'n', 'shortcut', 'g', 'e'],
  );
  assert.equal(b.layers.find((l) => l.moduleName === 'MyC3')!.bindings[0]!.param, 'c2');
});

test(
  'GSConv declared by the user gives the Slim-neck fork\u2019s figures; it is not offered to the ultralytics dialect',
  needsCorpus,
  () => {
    const { modules } = loadUserModules(CONFIG);
    const text = corpusText('slimneck/gsconv-yolov5/models/slimneck-yolov5n.yaml');
    const opts: ResolveOptions = { framework: 'yolov5-gsconv' };
    const mine = text.replace(/\bGSConv\b/g, 'MyGSConv');
    const a = resolve(text, opts);
    const b = resolve(mine, { ...opts, userModules: modules });
    assert.ok(a.ok && b.ok, b.diagnostics.map((d) => d.message).join('\n'));
    assert.deepEqual(comparable(b), comparable(a));
    const ul = resolve('nc: 80\nbackbone:\n  - [-1, 1, Conv, [64, 3, 2]]\nhead:\n  - [-1, 1, MyGSConv, [64, 3, 2]]\n', {
      userModules: modules,
    });
    assert.equal(ul.diagnostics.find((d) => d.layer === 1)?.code, 'YOLO010');
  },
);

test('an SE block and a chunk/cat block resolve with the shapes and parameter counts PyTorch would give', () => {
  const { modules } = loadUserModules(CONFIG);
  const m = resolve(
    `nc: 80
depth_multiple: 1.0
width_multiple: 1.0
anchors: 3
backbone:
  - [-1, 1, Conv, [64, 3, 2]]
  - [-1, 1, SEConv, [128]]
  - [-1, 1, SplitCat, [128]]
  - [-1, 1, SplitCat, [128, True]]
head:
  - [-1, 1, Conv, [64, 1, 1]]
`,
    { userModules: modules, imgsz: 64 },
  );
  assert.ok(m.ok, m.diagnostics.map((d) => d.message).join('\n'));
  // SEConv(64, 128): Conv 3x3 (64*128*9 + BN 2*128) + fc1 (128*8 + 8) + fc2 (8*128 + 128)
  assert.equal(m.layers[1]!.params, 64 * 128 * 9 + 2 * 128 + (128 * 8 + 8) + (8 * 128 + 128));
  assert.deepEqual(m.layers[1]!.outShape, [1, 128, 32, 32]);
  // SplitCat(128): one Conv 3x3 on 64 channels, plain treatment keeps the channel count
  assert.equal(m.layers[2]!.params, 64 * 64 * 9 + 2 * 64);
  assert.deepEqual(m.layers[3]!.outShape, [1, 128, 32, 32]);
  assert.equal(m.layers[4]!.c1, 128);
});

/** The text a diagnostic points at. */
const at = (text: string, d: UserModuleDiagnostic) => text.slice(d.range.start, d.range.end);

test('problems in the file are diagnostics on the exact tokens', () => {
  const text = `{
  "modules": {
    "Bad": {
      "treatment": "repeat",
      "params": [{ "name": "c1" }, { "name": "c2", "default": 64 }, { "name": "k" }],
      "let": { "c_": "c2 * ratio" },
      "body": [
        { "id": "a", "conv": ["c1", "c_", 3, 1] },
        { "id": "b", "call": "Bottlenek", "args": ["c_", "c_"] },
        { "id": "c", "cat": ["a", "zz"] },
        { "id": "d", "conv": ["c1", "c2 *", 1] },
        { "id": "a", "relu": "a" },
        { "id": "e", "relu": "a", "colour": "red" },
        { "id": "f", "add": ["a", "e"], "if": "eval('1')" }
      ]
    },
    "Conv": { "treatment": "channels", "params": [{ "name": "c1" }, { "name": "c2" }], "body": [{ "conv": ["c1", "c2"] }] }
  }
}
`;
  const { diagnostics } = loadUserModules(text);
  const got = diagnostics.map((d) => [d.code, d.severity, at(text, d)]);
  assert.deepEqual(got, [
    ['config-structure', 'error', '"repeat"'],
    ['config-structure', 'error', '"k"'],
    ['config-reference', 'error', '"c2 * ratio"'],
    ['config-reference', 'error', '"Bottlenek"'],
    ['config-reference', 'error', '"zz"'],
    ['config-expression', 'error', '"'],
    ['config-structure', 'error', '"a"'],
    ['config-structure', 'warning', '"colour"'],
    ['config-expression', 'error', `"eval('1')"`],
    ['config-shadowed', 'warning', '"Conv"'],
  ]);
  assert.match(diagnostics[0]!.message, /treatment must be one of channels, repeats, plain, concat/);
  assert.match(diagnostics[1]!.message, /non-default argument follows default argument/);
  assert.match(diagnostics[2]!.message, /name 'ratio' is not defined/);
  assert.match(diagnostics[5]!.message, /cannot read the expression 'c2 \*'/);
  assert.match(diagnostics[8]!.message, /'eval' is not a function expressions can call/);
  assert.ok(diagnostics.every((d) => d.module === 'Bad' || d.module === 'Conv'));
});

test('broken JSON: the syntax errors, and whatever declarations still read', () => {
  const text = '{ "modules": { "A": { "treatment": "plain", "params": [{ "name": "c" }], "body": [{ "relu": "x" }] }, } ';
  const { modules, diagnostics } = loadUserModules(text);
  assert.ok(diagnostics.some((d) => d.code === 'config-syntax'));
  assert.deepEqual(modules.names, ['A']);
  assert.deepEqual(loadUserModules('').modules.names, []);
  assert.equal(loadUserModules('[1, 2]').diagnostics[0]!.code, 'config-structure');
});

test('a layer using a declaration with errors says so (not "unknown module")', () => {
  const { modules } = loadUserModules(
    '{ "modules": { "Half": { "treatment": "channels", "params": [{ "name": "c1" }, { "name": "c2" }], "body": [{ "conv": ["c1", "c2 // ' +
      'two"] }] } } }',
  );
  const m = resolve('nc: 80\nbackbone:\n  - [-1, 1, Conv, [64, 3, 2]]\nhead:\n  - [-1, 1, Half, [64]]\n', { userModules: modules });
  const d = m.diagnostics.find((x) => x.layer === 1)!;
  assert.equal(d.code, 'YOLO029');
  assert.match(d.message, /the declaration of Half in \.yolo-lens\.json has errors: name 'two' is not defined/);
});

test('an expression that fails when the layer is built is a build error on that layer', () => {
  const { modules, diagnostics } = loadUserModules(
    '{ "modules": { "Div": { "treatment": "channels", "params": [{ "name": "c1" }, { "name": "c2" }, { "name": "d", "default": 0 }], ' +
      '"body": [{ "conv": ["c1", "c2 // d"] }] } } }',
  );
  assert.deepEqual(diagnostics, []);
  const m = resolve('nc: 80\nbackbone:\n  - [-1, 1, Conv, [64, 3, 2]]\nhead:\n  - [-1, 1, Div, [64]]\n', { userModules: modules });
  const d = m.diagnostics.find((x) => x.layer === 1)!;
  assert.equal(d.code, 'YOLO029');
  assert.match(d.message, /Div: .*integer division or modulo by zero/);
});

test("an expression's // and % round and sign as Python's do (floor, sign of the divisor)", () => {
  // python3: c2 = 64; -(c2 // -3) + c2 % -3 == 22 + -2 == 20 (truncating division would give 21 + 1)
  const { modules, diagnostics } = loadUserModules(
    '{ "modules": { "Odd": { "treatment": "plain", "params": [{ "name": "c" }], "body": [{ "conv": ["c", "-(c // -3) + c % -3", 1, 1] ' +
      '}] } } }',
  );
  assert.deepEqual(diagnostics, []);
  const m = resolve('nc: 80\nbackbone:\n  - [-1, 1, Conv, [64, 3, 2]]\nhead:\n  - [-1, 1, Odd, [64]]\n', { userModules: modules });
  assert.equal(m.layers[1]!.outShape?.[1], 20);
});

test('redeclaring a module under the same name is picked up (no stale cache)', () => {
  const decl = (c: number) =>
    `{ "modules": { "Wide": { "treatment": "plain", "params": [{ "name": "c" }], "body": [{ "conv": ["c", ${c}, 1, 1] }] } } }`;
  const yaml = 'nc: 80\nbackbone:\n  - [-1, 1, Conv, [64, 3, 2]]\nhead:\n  - [-1, 1, Wide, [64]]\n';
  const a = resolve(yaml, { userModules: loadUserModules(decl(32)).modules });
  const b = resolve(yaml, { userModules: loadUserModules(decl(48)).modules });
  assert.deepEqual(a.layers[1]!.outShape?.[1], 32);
  assert.deepEqual(b.layers[1]!.outShape?.[1], 48);
});

test('nothing in the file runs: expressions are only the arithmetic they say', () => {
  const { diagnostics } = loadUserModules(`{ "modules": { "X": { "treatment": "plain", "params": [{ "name": "c" }], "body": [
    { "id": "a", "conv": ["c", "constructor.constructor('return process')()", 1] },
    { "id": "b", "conv": ["c", "this.c", 1] },
    { "id": "d", "conv": ["c", "c.__class__", 1] }
  ] } } }`);
  assert.equal(diagnostics.length >= 3, true, JSON.stringify(diagnostics));
  assert.ok(diagnostics.every((d) => d.severity === 'error'));
});

test('a declared module gets completion (with its args snippet) and hover (signature, doc, shapes, params) like a built-in', async () => {
  const { completions } = await import('../../server/src/core/features/completion.ts');
  const { hover } = await import('../../server/src/core/features/hover.ts');
  const { modules } = loadUserModules(
    readFileSync(join(import.meta.dirname, '..', '..', 'examples', 'user-modules', '.yolo-lens.json'), 'utf8'),
  );
  const text = readFileSync(join(import.meta.dirname, '..', '..', 'examples', 'user-modules', 'yolov5n-se.yaml'), 'utf8');
  const model = resolve(text, { userModules: modules, fileName: 'yolov5n-se.yaml' });
  assert.ok(model.ok, model.diagnostics.map((d) => d.message).join('\n'));
  // completion where a module name goes
  const at = text.indexOf('C3SE, [128]');
  const items = completions(model, at + 2).items;
  const item = items.find((i) => i.label === 'C3SE');
  assert.ok(item, items.map((i) => i.label).join(' '));
  assert.ok(items.some((i) => i.label === 'SEConv'));
  // hover on the module name: its signature and doc, and what this layer resolved to
  const h = hover(model, at + 1)!;
  assert.ok(h, 'a hover');
  assert.match(h.markdown, /C3SE/);
  assert.match(h.markdown, /c1, c2, n=1, shortcut=True, e=0\.5/);
  assert.match(h.markdown, /C3 whose Bottlenecks are followed by an SEConv/);
  const layer = model.layers.find((l) => l.moduleName === 'C3SE')!;
  assert.ok(layer.params! > 0 && layer.flops!.thop > 0);
  assert.match(h.markdown, new RegExp(layer.params!.toLocaleString('en-US').replace(/,/g, '[,\u202f ]?')));
});
