import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolve } from '../../server/src/core/resolve.ts';
import { hover } from '../../server/src/core/features/hover.ts';
import { inlayHints } from '../../server/src/core/features/inlayHints.ts';
import { signatureHelp } from '../../server/src/core/features/signatureHelp.ts';
import { definition, highlights, references } from '../../server/src/core/features/references.ts';
import { documentSymbols } from '../../server/src/core/features/symbols.ts';
import { codeLenses } from '../../server/src/core/features/codeLens.ts';
import { submodules } from '../../server/src/core/features/submodules.ts';
import { fixture, textOf } from '../support/fixtures.ts';
import { corpusText, replaceOnce, VOVGSCSP_NECK, YOLOV5N, YOLOV8 } from './corpus.ts';
import { needsCorpus } from '../support/reference.ts';

/** The corpus file with one `$0` placed by replacing `from` with `to` (which contains `$0`). */
function cursorIn(rel: string, from: string, to: string, fileName: string) {
  const f = fixture(replaceOnce(corpusText(rel), from, to), { dedent: false });
  return { f, m: resolve(f.text, { fileName }) };
}

const NECK = 'yolov5n-vovgscsp-neck.yaml';

test(
  'hover on a module: signature, doc, args as parse_model passes them, channels, shape, params, FLOPs in both conventions',
  needsCorpus,
  () => {
    const { f, m } = cursorIn(VOVGSCSP_NECK, '[-1, 3, VoVGSCSP, [512, False]], # 13', '[-1, 3, VoV$0GSCSP, [512, False]], # 13', NECK);
    const h = hover(m, f.cursor)!;
    assert.equal(textOf(f, h.range), 'VoVGSCSP');
    const md = h.markdown;
    assert.match(md, /^\*\*VoVGSCSP\*\*`\(c1, c2, n=1, shortcut=True, g=1, e=0\.5\)`/);
    assert.match(md, /VoVGSCSP\(256, 128, 1, False\)/);
    assert.match(md, /\| channels \| 256 → 128 \|/);
    assert.match(md, /\| output \| 128×40×40 \|/);
    assert.match(md, /\| repeats \| 3 × 0\.33 → 1 \|/);
    assert.match(md, /\| params \| 113,216 \|/);
    assert.match(md, /\| FLOPs @640 \| 0\.247 GFLOPs \(ultralytics-thop\) · 0\.247 GFLOPs \(thop 0\.1\.1\) \|/);
    // the user's convention comes first
    assert.match(
      hover(m, f.cursor, { convention: 'thop' })!.markdown,
      /0\.247 GFLOPs \(thop 0\.1\.1\) · 0\.247 GFLOPs \(ultralytics-thop\)/,
    );
  },
);

test('hover on a width-scaled arg: the parameter it binds and `512 × 0.25 → 128`', needsCorpus, () => {
  const { f, m } = cursorIn(VOVGSCSP_NECK, '[-1, 3, VoVGSCSP, [512, False]], # 13', '[-1, 3, VoVGSCSP, [5$012, False]], # 13', NECK);
  const h = hover(m, f.cursor)!;
  assert.equal(textOf(f, h.range), '512');
  assert.match(h.markdown, /^\*\*c2\*\* — output channels/);
  assert.match(h.markdown, /`512 × 0\.25 → 128`/);
  const s = cursorIn(VOVGSCSP_NECK, '[-1, 3, VoVGSCSP, [512, False]], # 13', '[-1, 3, VoVGSCSP, [512, Fa$0lse]], # 13', NECK);
  assert.match(hover(s.m, s.f.cursor)!.markdown, /^\*\*shortcut\*\*/);
});

test('hover on a string arg parse_model evaluates: `nc` → 80', needsCorpus, () => {
  const { f, m } = cursorIn(YOLOV5N, 'Detect, [nc, anchors]]', 'Detect, [n$0c, anchors]]', 'yolov5n.yaml');
  const h = hover(m, f.cursor)!;
  assert.match(h.markdown, /^\*\*nc\*\*/);
  assert.match(h.markdown, /`'nc' → 80`/);
});

test('hover on a from element: the layer it points to and its shape', needsCorpus, () => {
  const { f, m } = cursorIn(
    YOLOV5N,
    '[[-1, 6], 1, Concat, [1]], # cat backbone P4',
    '[[-1, $06], 1, Concat, [1]], # cat backbone P4',
    'yolov5n.yaml',
  );
  assert.equal(hover(m, f.cursor)!.markdown, '**from 6** → layer 6 · C3 · 128×40×40');
  const prev = cursorIn(
    YOLOV5N,
    '[[-1, 6], 1, Concat, [1]], # cat backbone P4',
    '[[-$01, 6], 1, Concat, [1]], # cat backbone P4',
    'yolov5n.yaml',
  );
  assert.equal(hover(prev.m, prev.f.cursor)!.markdown, '**from -1** → layer 11 · nn.Upsample · 128×40×40 (-1 from layer 12)');
  const first = cursorIn(YOLOV5N, '[-1, 1, Conv, [64, 6, 2, 2]], # 0-P1/2', '[-$01, 1, Conv, [64, 6, 2, 2]], # 0-P1/2', 'yolov5n.yaml');
  assert.equal(hover(first.m, first.f.cursor)!.markdown, '**from -1** → the input image · 3×640×640');
});

test('hover on n, depth_multiple, width_multiple and a scale: what they do and their effect here', needsCorpus, () => {
  const n = cursorIn(YOLOV5N, '[-1, 9, C3, [512]],', '[-1, $09, C3, [512]],', 'yolov5n.yaml');
  assert.match(hover(n.m, n.f.cursor)!.markdown, /^\*\*n\*\* = 9 \(repeats\) × depth_multiple 0\.33 → \*\*3\*\*/);
  const d = cursorIn(YOLOV5N, 'depth_multiple: 0.33', 'depth_mul$0tiple: 0.33', 'yolov5n.yaml');
  assert.match(hover(d.m, d.f.cursor)!.markdown, /In this file: 3 → 1, 6 → 2, 9 → 3\./);
  const w = cursorIn(YOLOV5N, 'width_multiple: 0.25', 'width_multiple: 0.2$05', 'yolov5n.yaml');
  assert.match(hover(w.m, w.f.cursor)!.markdown, /In this file: 64 → 16, 128 → 32, 256 → 64, 512 → 128, 1024 → 256\./);
  const s = cursorIn(YOLOV8, '  s: [0.33, 0.50, 1024]', '  $0s: [0.33, 0.50, 1024]', 'yolov8n.yaml');
  const sh = hover(s.m, s.f.cursor, { resolveAtScale: (scale) => resolve(s.f.text, { fileName: 'yolov8n.yaml', scale }) })!;
  assert.match(sh.markdown, /^\*\*scale s\*\* — depth 0\.33 · width 0\.5 · max_channels 1024/);
});

test('inlay hints: `#13 → 128×40×40` at each layer end, `→128` after a scaled channel arg, `→1` after a scaled n', needsCorpus, () => {
  const f = fixture(corpusText(VOVGSCSP_NECK), { dedent: false });
  const m = resolve(f.text, { fileName: NECK });
  const hints = inlayHints(m);
  const lineOf = (h: { offset: number }) => f.text.slice(f.lines.lineStart(f.lines.position(h.offset).line), h.offset);
  const ends = hints.filter((h) => h.label.startsWith('#'));
  assert.equal(ends.length, 25);
  const h13 = ends[13]!;
  assert.equal(h13.label, '#13 → 128×40×40');
  assert.equal(lineOf(h13), '   [-1, 3, VoVGSCSP, [512, False]], # 13', 'at the end of the line, past the comment');
  assert.equal(ends[24]!.label, '#24 → 25200×85 (+3)');
  const scaled = hints.filter((h) => h.label === '→128');
  assert.ok(scaled.some((h) => lineOf(h) === '   [-1, 3, VoVGSCSP, [512'));
  const n = hints.find((h) => h.label === '→3')!;
  assert.equal(lineOf(n), '   [-1, 9');
  // restricted to a range: only the layers in it
  const line13 = f.text.indexOf('[-1, 3, VoVGSCSP, [512, False]], # 13');
  assert.deepEqual(
    inlayHints(m, { start: line13, end: line13 + 10 }).map((h) => h.label),
    ['→1', '→128', '#13 → 128×40×40'],
  );
});

test('signature help in args: the bound parameter is active; parse_model\u2019s own parameters say so', needsCorpus, () => {
  const { f, m } = cursorIn(VOVGSCSP_NECK, '[-1, 3, VoVGSCSP, [512, False]], # 13', '[-1, 3, VoVGSCSP, [512, $0False]], # 13', NECK);
  const s = signatureHelp(m, f.cursor)!;
  assert.equal(s.label, 'VoVGSCSP(c1, c2, n=1, shortcut=True, g=1, e=0.5)');
  assert.equal(s.activeParameter, 3);
  const [a, b] = s.parameters[s.activeParameter!]!.label;
  assert.equal(s.label.slice(a, b), 'shortcut=True');
  assert.match(s.parameters[0]!.documentation, /filled by parse_model: the input layer’s channels/);
  const first = cursorIn(YOLOV5N, '[-1, 1, Conv, [256, 3, 2]], # 3-P3/8', '[-1, 1, Conv, [$0256, 3, 2]], # 3-P3/8', 'yolov5n.yaml');
  assert.equal(signatureHelp(first.m, first.f.cursor)!.activeParameter, 1);
  const outside = cursorIn(YOLOV5N, '[-1, 1, Conv, [256, 3, 2]], # 3-P3/8', '[-1, 1, Co$0nv, [256, 3, 2]], # 3-P3/8', 'yolov5n.yaml');
  assert.equal(signatureHelp(outside.m, outside.f.cursor), null);
});

test('definition, references and highlights on from elements and -1', needsCorpus, () => {
  const { f, m } = cursorIn(
    YOLOV5N,
    '[[-1, 6], 1, Concat, [1]], # cat backbone P4',
    '[[-1, $06], 1, Concat, [1]], # cat backbone P4',
    'yolov5n.yaml',
  );
  const d = definition(m, f.cursor)!;
  assert.equal(textOf(f, d.targetRange), '[-1, 9, C3, [512]]');
  assert.equal(textOf(f, d.selectionRange), 'C3');
  assert.equal(textOf(f, d.origin), '6');
  // layer 6 is read by layer 7 (-1) and layer 12 (6)
  const refs = references(m, f.cursor, true).map((r) => `${f.lines.position(r.start).line}:${textOf(f, r)}`);
  const line = (s: string) => f.lines.position(f.text.indexOf(s)).line;
  assert.deepEqual(refs, [
    `${line('[-1, 9, C3, [512]]')}:C3`,
    `${line('[-1, 1, Conv, [1024, 3, 2]]')}:-1`,
    `${line('[[-1, 6], 1, Concat')}:6`,
  ]);
  assert.equal(references(m, f.cursor, false).length, 2);
  const hl = highlights(m, f.cursor);
  assert.deepEqual(
    hl.map((h) => h.kind),
    ['write', 'read', 'read'],
  );
  const minus = cursorIn(YOLOV5N, '[-1, 3, C3, [1024]],', '[-$01, 3, C3, [1024]],', 'yolov5n.yaml');
  assert.equal(textOf(minus.f, definition(minus.m, minus.f.cursor)!.targetRange), '[-1, 1, Conv, [1024, 3, 2]]');
  const image = cursorIn(YOLOV5N, '[-1, 1, Conv, [64, 6, 2, 2]], # 0-P1/2', '[-$01, 1, Conv, [64, 6, 2, 2]], # 0-P1/2', 'yolov5n.yaml');
  assert.equal(definition(image.m, image.f.cursor), null, 'layer 0\u2019s -1 is the image');
});

test('document symbols: top-level keys, backbone and head groups with one symbol per layer', needsCorpus, () => {
  const text = corpusText(VOVGSCSP_NECK);
  const syms = documentSymbols(resolve(text, { fileName: NECK }));
  assert.deepEqual(
    syms.map((s) => s.name),
    ['nc', 'depth_multiple', 'width_multiple', 'anchors', 'backbone', 'head'],
  );
  const head = syms.find((s) => s.name === 'head')!;
  assert.equal(head.children!.length, 15);
  assert.equal(head.children![3]!.name, '13 VoVGSCSP 128×40×40');
  assert.equal(head.children![3]!.detail, '[256, 128, 1, False]');
  for (const s of syms)
    for (const c of s.children ?? [])
      assert.ok(c.range.start >= s.range.start && c.range.end <= s.range.end, 'children inside their group');
});

test('code lens: params and GFLOPs in the chosen convention, then the two client commands', needsCorpus, () => {
  const m = resolve(corpusText(YOLOV5N), { fileName: 'yolov5n.yaml' });
  const lenses = codeLenses(m, 'file:///m/yolov5n.yaml', 'ultralytics-thop');
  // unfused, as the framework prints when it builds the model (the reference: 4.6; fused it prints 4.5)
  assert.deepEqual(
    lenses.map((l) => l.title),
    ['1.87M params · 4.6 GFLOPs @640 (4.5 fused)', 'Show graph', 'Profile'],
  );
  assert.deepEqual(
    lenses.slice(1).map((l) => [l.command, l.arguments]),
    [
      ['yolo.showGraph', ['file:///m/yolov5n.yaml']],
      ['yolo.profile', ['file:///m/yolov5n.yaml']],
    ],
  );
  assert.equal(codeLenses(m, 'u', 'thop')[0]!.title, '1.87M params · 4.6 GFLOPs @640 (4.5 fused)');
  assert.match(codeLenses(m, 'u', 'thop')[0]!.tooltip!, /thop 0\.1\.1/);
  const at320 = resolve(corpusText(YOLOV5N), { fileName: 'yolov5n.yaml', imgsz: 320 });
  assert.match(codeLenses(at320, 'u', 'ultralytics-thop')[0]!.title, /^1\.87M params · 1\.1 GFLOPs @320 \(1\.1 fused\)$/);
  const broken = resolve(corpusText(YOLOV5N).replace('[[-1, 6], 1, Concat', '[[-1, 60], 1, Concat'), { fileName: 'yolov5n.yaml' });
  assert.equal(codeLenses(broken, 'u', 'thop')[0]!.title, '✗ 1 error: the model does not build');
});

test('submodules of a layer: the module tree with params, shapes and FLOPs that add up to the layer\u2019s', needsCorpus, () => {
  const m = resolve(corpusText(VOVGSCSP_NECK), { fileName: NECK });
  const root = submodules(m, 13)!;
  assert.equal(root.type, 'VoVGSCSP');
  assert.equal(root.params, m.layers[13]!.params);
  assert.deepEqual(
    root.children.map((c) => c.path),
    ['cv1', 'cv2', 'gsb', 'res', 'cv3'],
  );
  const sum = root.children.reduce((a, c) => a + c.params, 0);
  assert.equal(sum, root.params);
  const cv1 = root.children[0]!;
  assert.deepEqual(cv1.outShape, [1, 64, 40, 40]);
  assert.deepEqual(
    cv1.children.map((c) => `${c.path}:${c.type}`),
    ['cv1.conv:Conv2d', 'cv1.bn:BatchNorm2d', 'cv1.act:Mish'],
  );
  assert.equal(submodules(m, 99), null);
  assert.equal(submodules(m, -1), null);
});
