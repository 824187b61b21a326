/**
 * The ONNX export is a file other tools read: ONNX's own checker (Debian's python3-onnx, full check) must accept it,
 * and ONNX's strict shape inference must give every layer output the static resolver's shape.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { planJob } from '../../server/src/runtime/engine.ts';
import type { ProfileJob } from '../../server/src/runtime/job.ts';
import { exportOnnx } from '../../server/src/runtime/onnx.ts';
import { traceNetwork } from '../../server/src/runtime/trace.ts';
import { CORPUS_MISSING, loadCases } from '../support/reference.ts';

const job: ProfileJob = {
  text: readFileSync(join(__dirname, '../../examples/slimneck-yolov5n.yaml'), 'utf8'),
  fileName: 'slimneck-yolov5n.yaml',
  imgsz: 96,
  batch: 1,
  runs: 1,
  warmup: 0,
  backend: 'wasm',
  memoryLimitMB: 2048,
};
const samples: [string, ProfileJob][] = [['the example', job]];
const cases = CORPUS_MISSING ? [] : loadCases();
// a decode head of each family, attention, text features, an unfused network, Scaled-YOLOv4, plain YOLOv5 (from the
// reference corpus: without it, the repository's example alone)
for (const n of CORPUS_MISSING
  ? []
  : [
      'v8/yolov8-world@n.json',
      'v8/yolov8-obb@n.json',
      'v8/yolov8-sn@n.json',
      'models/GSConv-yolov4-p5.json',
      'yolov5/models/yolov5n.json',
    ]) {
  const c = cases.find((x) => x.name.endsWith(n));
  assert.ok(c, `reference record ${n}`);
  samples.push([
    c.name,
    {
      ...job,
      text: c.text,
      fileName: c.options.fileName!,
      ...(c.options.framework ? { framework: c.options.framework } : {}),
      ...(c.options.scale ? { scale: c.options.scale } : {}),
    },
  ]);
}

const CHECK = `
import json, sys
import onnx
for item in json.load(open(sys.argv[1])):
    m = onnx.load(item["file"])
    onnx.checker.check_model(m, full_check=True)
    inferred = onnx.shape_inference.infer_shapes(m, strict_mode=True)
    values = list(inferred.graph.value_info) + list(inferred.graph.output)
    shapes = {v.name: [d.dim_value for d in v.type.tensor_type.shape.dim] for v in values}
    print(json.dumps({"name": item["name"], "shapes": {n: shapes.get(n) for n in item["names"]}, "opset": m.opset_import[0].version}))
`;

test('the ONNX export passes onnx.checker (full check) and strict shape inference gives the static shapes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'yolo-lens-onnx-'));
  try {
    const expected = new Map<string, Map<string, number[]>>();
    const items = samples.map(([name, j], k) => {
      const { plan, error } = planJob(j);
      assert.ok(plan, `${name}: ${error}`);
      const m = exportOnnx(traceNetwork(plan), 'layers');
      const file = join(dir, `${k}.onnx`);
      writeFileSync(file, m.bytes);
      const want = new Map<string, number[]>();
      m.layerOutputNames.forEach((names, layer) => names.forEach((n, i) => want.set(n, [...plan.layers[layer]!.staticShapes[i]!])));
      expected.set(name, want);
      return { name, file, names: [...want.keys()] };
    });
    writeFileSync(join(dir, 'items.json'), JSON.stringify(items));
    writeFileSync(join(dir, 'check.py'), CHECK);
    const r = spawnSync('/usr/bin/python3', [join(dir, 'check.py'), join(dir, 'items.json')], { encoding: 'utf8', maxBuffer: 1 << 26 });
    assert.equal(r.status, 0, `onnx rejected an export (python3-onnx: apt-get install -y python3-onnx):\n${r.stderr.slice(-2000)}`);
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { name: string; shapes: Record<string, number[] | null>; opset: number });
    assert.equal(lines.length, samples.length);
    for (const l of lines) {
      assert.equal(l.opset, 17);
      for (const [n, shape] of expected.get(l.name)!) assert.deepEqual(l.shapes[n], shape, `${l.name}: ${n}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
