/**
 * The real server over stdio: corpus YAMLs and fixtures opened by a JSON-RPC client; diagnostics (codes, ranges),
 * completion, hover, inlay hints, signature help, definitions, references, symbols, code lens and the custom
 * `yolo/*` requests asserted as the client receives them.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type {
  CodeLens,
  CompletionList,
  Diagnostic,
  DocumentHighlight,
  DocumentSymbol,
  Hover,
  InlayHint,
  Location,
  LocationLink,
  SignatureHelp,
} from 'vscode-languageserver-protocol';
import { LspClient, fileUri } from './client.ts';
import { fixture, marked, type Fixture } from '../support/fixtures.ts';
import { corpusPath, corpusText, replaceOnce, SLIMNECK_V5N, VOVGSCSP_NECK, YOLOV5N } from '../features/corpus.ts';
import type { GraphResult, SubmoduleNode, SummaryResult, ProfileResult } from '../../server/src/protocol.ts';
import { loadCases, needsCorpus } from '../support/reference.ts';

let client: LspClient;
before(async () => {
  client = await LspClient.start();
});
after(async () => {
  await client.stop();
});

const pos = (f: Fixture, offset = f.cursor) => f.lines.position(offset);
const lspRange = (f: Fixture, r: { start: number; end: number }) => ({ start: f.lines.position(r.start), end: f.lines.position(r.end) });
let n = 0;
/** A fresh URI per fixture (a real path name, so the scale rule sees `yolov5n`). */
const uriFor = (name: string) => `file:///fixtures/${++n}/${name}`;

describe('diagnostics', () => {
  test('a corpus YOLOv5 YAML resolves clean; the Slim-neck YOLOv5n too; each announces yolo/modelChanged', needsCorpus, async () => {
    for (const rel of [YOLOV5N, SLIMNECK_V5N]) {
      const uri = fileUri(corpusPath(rel));
      const d = await client.open(uri, corpusText(rel));
      assert.deepEqual(d.diagnostics, [], rel);
      assert.equal(d.version, 1);
      await client.waitForModelChanged(uri, 1);
    }
  });

  test('codes and exact ranges of a fixture with a broken from, a stale comment and a dead layer', async () => {
    const f = fixture(`
      nc: 80
      depth_multiple: 1.0
      width_multiple: 1.0
      anchors: 3
      backbone:
        [[-1, 1, Conv, [16, 3, 2]],  # 0
         [-1, 1, Conv, [32, 3, 2]],  # 1
         [-1, 1, Conv, [64, 3, 2]],  # 3
      #                                ^ YOLO024
        ]
      head:
        [[-1, 1, Conv, [64, 1, 1]],
      #  ^^^^^^^^^^^^^^^^^^^^^^^^^ YOLO025
         [[1, 2, 7], 1, Detect, [nc, anchors]],
      #       ^ YOLO035
      #          ^ YOLO008
        ]
    `);
    const uri = uriFor('small.yaml');
    const d = await client.open(uri, f.text);
    const got = d.diagnostics.map((x) => ({ code: String(x.code), range: x.range }));
    const want = f.expected.map((x) => ({ code: x.code, range: lspRange(f, x.range) }));
    const key = (x: { code: string; range: unknown }) => JSON.stringify(x);
    assert.deepEqual(got.map(key).sort(), want.map(key).sort());
    const dead = d.diagnostics.find((x) => x.code === 'YOLO025')!;
    assert.deepEqual(dead.tags, [1]);
    assert.equal(dead.severity, 2, 'a dead layer is a warning (it names what it costs)');
    const broken = d.diagnostics.find((x) => x.code === 'YOLO008')!;
    assert.equal(broken.severity, 1);
    assert.equal(broken.source, 'yolo-lens');
    assert.deepEqual(broken.data, { layer: 4 });
  });

  test('a Concat mismatch carries related information on both producing layers', needsCorpus, async () => {
    const line = '    [[-1, 6], 1, Concat, [1]], # cat backbone P4';
    const f = fixture(replaceOnce(corpusText(YOLOV5N), line, marked(line.replace('6]', '4]'), '4', 'YOLO016')), { dedent: false });
    const uri = uriFor('yolov5n.yaml');
    const d = await client.open(uri, f.text);
    const concat = d.diagnostics.find((x) => x.code === 'YOLO016')!;
    assert.deepEqual(concat.range, lspRange(f, f.expected[0]!.range));
    const lineOf = (s: string) => f.lines.position(f.text.indexOf(s)).line;
    // the sizes depend on which forward pass meets the mismatch first (the build's 256×256 stride probe, or 640)
    assert.deepEqual(
      concat.relatedInformation!.map((r) => [r.location.uri, r.location.range.start.line, r.message.replace(/\d+×\d+$/, 'H×W')]),
      [
        [uri, lineOf('[-1, 1, nn.Upsample, [None, 2, "nearest"]]'), 'layer 11 outputs 128×H×W'],
        [uri, lineOf('[-1, 6, C3, [256]]'), 'layer 4 outputs 64×H×W'],
      ],
    );
  });

  test('typing publishes diagnostics for each new version; fixing the text clears them', needsCorpus, async () => {
    const text = corpusText(YOLOV5N);
    const uri = uriFor('yolov5n.yaml');
    await client.open(uri, text);
    const at = text.indexOf('[[-1, 6], 1, Concat') + 6;
    const p = fixture(text, { dedent: false }).lines.position(at);
    const v2 = await client.edit(uri, [{ range: { start: p, end: { line: p.line, character: p.character + 1 } }, text: '66' }]);
    const broken = await client.waitForDiagnostics(uri, (x) => x.version === v2);
    assert.deepEqual(
      broken.diagnostics.map((x) => x.code),
      ['YOLO008'],
    );
    const v3 = await client.replace(uri, text);
    assert.deepEqual((await client.waitForDiagnostics(uri, (x) => x.version === v3)).diagnostics, []);
  });

  test('YAML that is not a model gets no diagnostics and no features', async () => {
    const uri = uriFor('workflow.yaml');
    const d = await client.open(uri, 'name: ci\non:\n  push: {}\njobs:\n  build:\n    runs-on: [ubuntu\n');
    assert.deepEqual(d.diagnostics, []);
    const position = { line: 0, character: 2 };
    assert.equal(await client.request('textDocument/completion', { textDocument: { uri }, position }), null);
    assert.equal(await client.request('textDocument/hover', { textDocument: { uri }, position }), null);
    assert.deepEqual(await client.request('textDocument/documentSymbol', { textDocument: { uri } }), []);
    assert.deepEqual(await client.request('textDocument/codeLens', { textDocument: { uri } }), []);
    assert.deepEqual(
      await client.request('textDocument/inlayHint', { textDocument: { uri }, range: { start: position, end: { line: 9, character: 0 } } }),
      [],
    );
    assert.equal(await client.request('yolo/graph', { uri }), null);
    assert.equal(
      client.modelChanged.some((m) => m.uri === uri),
      false,
    );
  });
});

describe('editor features over the wire', needsCorpus, () => {
  const neck = corpusText(VOVGSCSP_NECK);
  const neckUri = uriFor('yolov5n-vovgscsp-neck.yaml');
  before(async () => {
    await client.open(neckUri, neck);
  });
  const neckAt = (needle: string, delta: number) => fixture(neck, { dedent: false }).lines.position(neck.indexOf(needle) + delta);

  test('completion: module names with snippets, from values with index, module and shape', async () => {
    const f = fixture(replaceOnce(neck, '   [-1, 1, SPPF, [1024, 5]], # 9', '   [-1, 1, SPPF, [1024, 5]], # 9\n   [-1, 1, VoV$0'), {
      dedent: false,
    });
    const uri = uriFor('yolov5n-vovgscsp-neck.yaml');
    await client.open(uri, f.text);
    const list = await client.request<CompletionList>('textDocument/completion', { textDocument: { uri }, position: pos(f) });
    const vov = list.items.find((i) => i.label === 'VoVGSCSP')!;
    assert.equal(vov.insertTextFormat, 2);
    assert.deepEqual(vov.textEdit, {
      range: { start: { line: pos(f).line, character: pos(f).character - 3 }, end: pos(f) },
      newText: 'VoVGSCSP, [${1:c2}]',
    });
    assert.equal(vov.detail, 'VoVGSCSP(c1, c2, n=1, shortcut=True, g=1, e=0.5)');
    assert.equal((vov.documentation as { kind: string }).kind, 'markdown');
    const from = await client.request<CompletionList>('textDocument/completion', {
      textDocument: { uri: neckUri },
      position: neckAt('[[-1, 14], 1, Concat', 6),
    });
    assert.deepEqual(
      from.items.slice(0, 3).map((i) => [i.label, i.labelDetails?.detail, i.labelDetails?.description]),
      [
        ['-1', '  previous: 18 Conv', '64×40×40'],
        ['18', '  Conv', '64×40×40'],
        ['17', '  VoVGSCSP', '64×80×80'],
      ],
    );
  });

  test('hover on a module, an arg and a from element', async () => {
    const h = await client.request<Hover>('textDocument/hover', {
      textDocument: { uri: neckUri },
      position: neckAt('VoVGSCSP, [512, False]], # 13', 3),
    });
    const md = (h.contents as { value: string }).value;
    assert.match(md, /\| output \| 128×40×40 \|/);
    assert.match(md, /\| FLOPs @640 \| 0\.247 GFLOPs \(ultralytics-thop\) · 0\.247 GFLOPs \(thop 0\.1\.1\) \|/);
    assert.deepEqual(h.range, { start: neckAt('VoVGSCSP, [512, False]], # 13', 0), end: neckAt('VoVGSCSP, [512, False]], # 13', 8) });
    const arg = await client.request<Hover>('textDocument/hover', {
      textDocument: { uri: neckUri },
      position: neckAt('VoVGSCSP, [512, False]], # 13', 11),
    });
    assert.match((arg.contents as { value: string }).value, /`512 × 0\.25 → 128`/);
    const from = await client.request<Hover>('textDocument/hover', {
      textDocument: { uri: neckUri },
      position: neckAt('[[-1, 6], 1, Concat', 6),
    });
    assert.equal((from.contents as { value: string }).value, '**from 6** → layer 6 · C3 · 128×40×40');
  });

  test('inlay hints in a range: layer index and shape at the line end, resolved channels and repeats', async () => {
    const start = neckAt('[-1, 3, VoVGSCSP, [512, False]], # 13', 0);
    const hints = await client.request<InlayHint[]>('textDocument/inlayHint', {
      textDocument: { uri: neckUri },
      range: { start, end: { line: start.line, character: 40 } },
    });
    const lineText = neck.split('\n')[start.line]!;
    assert.deepEqual(
      hints.map((h) => [h.label, h.position.line, lineText.slice(0, h.position.character).trimStart()]),
      [
        ['→1', start.line, '[-1, 3'],
        ['→128', start.line, '[-1, 3, VoVGSCSP, [512'],
        ['#13 → 128×40×40', start.line, '[-1, 3, VoVGSCSP, [512, False]], # 13'],
      ],
    );
    assert.equal(hints[2]!.paddingLeft, true);
  });

  test('signature help with the bound parameter active', async () => {
    const s = await client.request<SignatureHelp>('textDocument/signatureHelp', {
      textDocument: { uri: neckUri },
      position: neckAt('VoVGSCSP, [512, False]], # 13', 16),
    });
    assert.equal(s.signatures[0]!.label, 'VoVGSCSP(c1, c2, n=1, shortcut=True, g=1, e=0.5)');
    assert.equal(s.activeParameter, 3);
  });

  test('definition, references and highlights of a from element', async () => {
    const at = neckAt('[[-1, 6], 1, Concat', 6);
    const links = await client.request<LocationLink[]>('textDocument/definition', { textDocument: { uri: neckUri }, position: at });
    const target = neckAt('[-1, 9, C3, [512]]', 0);
    assert.equal(links.length, 1);
    assert.equal(links[0]!.targetUri, neckUri);
    assert.deepEqual(links[0]!.targetRange, {
      start: target,
      end: { line: target.line, character: target.character + '[-1, 9, C3, [512]]'.length },
    });
    assert.deepEqual(links[0]!.targetSelectionRange.start, neckAt('[-1, 9, C3, [512]]', 8));
    const refs = await client.request<Location[]>('textDocument/references', {
      textDocument: { uri: neckUri },
      position: at,
      context: { includeDeclaration: true },
    });
    assert.deepEqual(
      refs.map((r) => r.range.start),
      [neckAt('[-1, 9, C3, [512]]', 8), neckAt('[-1, 1, Conv, [1024, 3, 2]]', 1), at],
    );
    const hl = await client.request<DocumentHighlight[]>('textDocument/documentHighlight', {
      textDocument: { uri: neckUri },
      position: at,
    });
    assert.deepEqual(
      hl.map((h) => h.kind),
      [3, 2, 2],
    );
  });

  test('document symbols: groups and one symbol per layer', async () => {
    const syms = await client.request<DocumentSymbol[]>('textDocument/documentSymbol', { textDocument: { uri: neckUri } });
    const head = syms.find((s) => s.name === 'head')!;
    assert.equal(head.kind, 3);
    assert.deepEqual(
      head.children!.slice(3, 5).map((c) => c.name),
      ['13 VoVGSCSP 128×40×40', '14 Conv 64×40×40'],
    );
    assert.equal(syms.find((s) => s.name === 'backbone')!.children!.length, 10);
  });

  test('code lens at the top: figures, Show graph, Profile with the document URI', async () => {
    const lenses = await client.request<CodeLens[]>('textDocument/codeLens', { textDocument: { uri: neckUri } });
    assert.deepEqual(
      lenses.map((l) => [l.range.start.line, l.command!.title, l.command!.command, l.command!.arguments]),
      [
        [0, '2.01M params · 4.4 GFLOPs @640 (4.3 fused)', '', undefined],
        [0, 'Show graph', 'yolo.showGraph', [neckUri]],
        [0, 'Profile', 'yolo.profile', [neckUri]],
      ],
    );
  });
});

describe('custom requests', needsCorpus, () => {
  const uri = fileUri(corpusPath(YOLOV5N));
  before(async () => {
    await client.open(uri, corpusText(YOLOV5N));
  });

  test('yolo/graph: one node per layer, one edge per from element, totals', async () => {
    const g = await client.request<GraphResult>('yolo/graph', { uri });
    assert.equal(g.nodes.length, 25);
    assert.equal(g.edges.length, 25 + 4 + 2, 'one per from element: four Concats take 2, Detect takes 3');
    assert.equal(g.framework, 'yolov5');
    assert.equal(g.totals.params, 1872157);
    assert.deepEqual(g.nodes[13]!.outShape, [1, 128, 40, 40]);
    const small = await client.request<GraphResult>('yolo/graph', { uri, imgsz: 320 });
    assert.deepEqual(small.nodes[13]!.outShape, [1, 128, 20, 20]);
  });

  test('yolo/submodules: a layer\u2019s module tree', async () => {
    const s = await client.request<SubmoduleNode>('yolo/submodules', { uri, index: 2 });
    assert.equal(s.type, 'C3');
    assert.deepEqual(
      s.children.map((c) => c.path),
      ['cv1', 'cv2', 'cv3', 'm'],
    );
  });

  test('yolo/summary: the table and the reference record, equal to the upstream record', async () => {
    const s = await client.request<SummaryResult>('yolo/summary', { uri });
    assert.match(s.table, /^\s+from\s+n\s+params\s+module/);
    const ref = loadCases().find((c) => c.name === 'yolov5/models/yolov5n.json')!.record;
    const rec = s.record as { params: number; gflops: number; params_fused: number; summary: string };
    assert.equal(rec.params, ref.params);
    assert.equal(rec.gflops, ref.gflops);
    assert.equal(rec.params_fused, ref.params_fused);
    assert.equal(rec.summary, ref.summary);
  });

  test('yolo/profile: answers with a result and reports work-done progress on the client\u2019s token', async () => {
    const seen: { kind: string }[] = [];
    const token = 'profile-1';
    const d = client.conn.onNotification('$/progress', (p: { token: string; value: { kind: string } }) => {
      if (p.token === token) seen.push(p.value);
    });
    const r = await client.request<ProfileResult>('yolo/profile', { uri, workDoneToken: token });
    d.dispose();
    assert.equal(r.uri, uri);
    assert.equal(typeof r.backend, 'string');
    assert.ok(Array.isArray(r.layers));
    assert.equal(seen[0]?.kind, 'begin');
    assert.equal(seen[seen.length - 1]?.kind, 'end');
  });
});

describe('settings', () => {
  test('imgsz, framework and severity overrides apply; a configuration change re-publishes', needsCorpus, async () => {
    const line = '    [-1, 3, C3, [512, False]], # 13';
    const text = replaceOnce(corpusText(YOLOV5N), line, line.replace('# 13', '# 12'));
    const c = await LspClient.start({
      settings: { imgsz: 320, gflops: 'thop', diagnostics: { debounceMs: 0, severity: { YOLO024: 'error' } } },
    });
    try {
      const uri = uriFor('yolov5n.yaml');
      const d = await c.open(uri, text);
      assert.deepEqual(
        d.diagnostics.map((x) => [x.code, x.severity]),
        [['YOLO024', 1]],
      );
      const lenses = await c.request<CodeLens[]>('textDocument/codeLens', { textDocument: { uri } });
      assert.equal(lenses[0]!.command!.title, '1.87M params · 1.1 GFLOPs @320 (1.1 fused)');
      c.settings = { diagnostics: { debounceMs: 0, severity: { YOLO024: 'off' } }, framework: 'yolov5-gsconv' };
      const before = (c.diagnostics.get(uri) ?? []).length;
      await c.conn.sendNotification('workspace/didChangeConfiguration', { settings: null });
      const again = await c.waitForDiagnostics(uri, () => (c.diagnostics.get(uri) ?? []).length > before);
      assert.deepEqual(again.diagnostics, []);
      const g = await c.request<GraphResult>('yolo/graph', { uri });
      assert.equal(g.framework, 'yolov5-gsconv');
      assert.equal(g.imgsz, 640);
    } finally {
      await c.stop();
    }
  });
});

describe('settings pushed by a client that cannot answer workspace/configuration (Neovim 0.7)', () => {
  test('didChangeConfiguration { settings: { yolo } } applies and re-publishes', needsCorpus, async () => {
    const c = await LspClient.start({ capabilities: { textDocument: { publishDiagnostics: { versionSupport: true } } } });
    try {
      const uri = uriFor('yolov5n.yaml');
      const d = await c.open(uri, corpusText(YOLOV5N).replace('[[-1, 6], 1, Concat', '[[-1, 60], 1, Concat'));
      assert.deepEqual(
        d.diagnostics.map((x) => [x.code, x.severity]),
        [['YOLO008', 1]],
      );
      const count = (c.diagnostics.get(uri) ?? []).length;
      await c.conn.sendNotification('workspace/didChangeConfiguration', {
        settings: { yolo: { diagnostics: { severity: { YOLO008: 'warning' } } } },
      });
      const again = await c.waitForDiagnostics(uri, () => (c.diagnostics.get(uri) ?? []).length > count);
      assert.deepEqual(
        again.diagnostics.map((x) => [x.code, x.severity]),
        [['YOLO008', 2]],
      );
    } finally {
      await c.stop();
    }
  });
});

describe('code actions', () => {
  test('a quick fix comes back as a versioned WorkspaceEdit that applies to the open text', needsCorpus, async () => {
    const line = '    [-1, 3, C3, [512, False]], # 13';
    const text = replaceOnce(corpusText(YOLOV5N), line, line.replace('# 13', '# 12'));
    const uri = uriFor('yolov5n.yaml');
    const d = await client.open(uri, text);
    const stale = d.diagnostics.find((x) => x.code === 'YOLO024') as Diagnostic;
    assert.ok(stale, `the stale index comment is flagged: ${d.diagnostics.map((x) => x.code).join(', ')}`);
    const actions = await client.request<
      {
        title: string;
        edit?: {
          documentChanges?: {
            textDocument: { uri: string; version: number };
            edits: { range: { start: { line: number; character: number }; end: { line: number; character: number } }; newText: string }[];
          }[];
        };
      }[]
    >('textDocument/codeAction', { textDocument: { uri }, range: stale.range, context: { diagnostics: [stale] } });
    const fix = actions.find((a) => a.edit?.documentChanges?.length);
    assert.ok(fix, `a quick fix with an edit is offered for YOLO024; got ${JSON.stringify(actions.map((a) => a.title))}`);
    assert.match(fix.title, /13/, 'the fix renumbers the comment to the layer index');
    const change = fix.edit!.documentChanges![0]!;
    assert.deepEqual(change.textDocument, { uri, version: 1 });
    const f = fixture(text, { dedent: false });
    let out = text;
    for (const e of [...change.edits].sort((a, b) => f.lines.offset(b.range.start) - f.lines.offset(a.range.start)))
      out = out.slice(0, f.lines.offset(e.range.start)) + e.newText + out.slice(f.lines.offset(e.range.end));
    assert.equal(out, corpusText(YOLOV5N));
  });
});
