/**
 * The remap writer (core/weights/save.ts over pickleWriter.ts and zipWriter.ts): a remapped checkpoint reads back,
 * with our reader, to the planner's renamed state_dict (keys, shapes, dtypes), keeps everything else the file held
 * (top-level entries, the model's YAML with its floats, shared objects), and plans to the promised count. Whether
 * PyTorch and the frameworks' loaders take it is scripts/verify-remap.ts's job (real torch, not run here).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { crc32 as zlibCrc32 } from 'node:zlib';
import { resolve } from '../../server/src/core/resolve.ts';
import { frameworkByName } from '../../server/src/core/framework/index.ts';
import { modelStateDict } from '../../server/src/core/nn/stateDict.ts';
import {
  PyBytes,
  PyDict,
  PyFloat,
  PyGlobal,
  PyList,
  PyObject,
  PySet,
  PyTuple,
  checkpointInfo,
  readCheckpoint,
  stateDictOf,
  type PyValue,
} from '../../server/src/core/weights/index.ts';
import { PickleWriter } from '../../server/src/core/weights/pickleWriter.ts';
import { crc32, writeStoredZip } from '../../server/src/core/weights/zipWriter.ts';
import { readZip } from '../../server/src/core/weights/zip.ts';
import { writeRemappedCheckpoint } from '../../server/src/core/weights/save.ts';
import { planTransfer, remapCheckpoint } from '../../server/src/core/weights/transfer.ts';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures');
const bytesOf = (rel: string) => new Uint8Array(readFileSync(join(FIXTURES, rel)));
const sig = (e: { key: string; shape: readonly number[]; dtype?: string }) =>
  `${e.key} [${e.shape.join(',')}]${e.dtype ? ` ${e.dtype}` : ''}`;

/** Written, put in a torch.save zip and read by the checkpoint reader (its torch hooks make OrderedDicts and sets). */
function roundTrip(v: PyValue): PyValue {
  const zip = writeStoredZip([{ name: 'archive/data.pkl', data: PickleWriter.write(v) }]);
  const r = readCheckpoint(zip, {}, { exactFloats: true });
  assert.ok(r.ok, r.ok ? '' : r.error.message);
  return r.value.root;
}

describe('pickle writer', () => {
  it('writes every integer width, floats apart from ints, strings, bytes, None and booleans back as they were', () => {
    const ints = [0, 1, 255, 256, 65535, 65536, -1, -256, 2 ** 31 - 1, -(2 ** 31), 2 ** 31, -(2 ** 31) - 1, 2 ** 53 - 1, -(2 ** 53) + 1];
    const bigs = [2n ** 64n, -(2n ** 64n), 2n ** 2000n, -(2n ** 2000n) - 1n];
    const back = roundTrip(new PyList([...ints, ...bigs, new PyFloat(2), new PyFloat(-0.5), 'ünïcode ✓', '', null, true, false]));
    assert.ok(back instanceof PyList);
    assert.deepEqual(back.items.slice(0, ints.length), ints);
    assert.deepEqual(back.items.slice(ints.length, ints.length + bigs.length), bigs);
    const [two, half, text, empty, none, t, f] = back.items.slice(ints.length + bigs.length);
    assert.ok(two instanceof PyFloat && two.value === 2, '2.0 stays a float');
    assert.ok(half instanceof PyFloat && half.value === -0.5);
    assert.deepEqual([text, empty, none, t, f], ['ünïcode ✓', '', null, true, false]);
    const b = roundTrip(new PyBytes(Uint8Array.from([0, 1, 255])));
    assert.ok(b instanceof PyBytes);
    assert.deepEqual([...b.data], [0, 1, 255]);
  });

  it('keeps shared objects shared and cycles closed; OrderedDicts, sets and objects with their state', () => {
    const shared = new PyObject(new PyGlobal('torch.nn.modules.activation', 'SiLU'), [], 'newobj');
    shared.state = new PyDict();
    (shared.state as PyDict).set('inplace', true);
    const od = new PyDict('collections.OrderedDict');
    od.set('a', shared);
    od.set('b', shared);
    const cyclic = new PyList([]);
    cyclic.items.push(cyclic, new PySet(['x'], false), new PyTuple([1, 'x']));
    const root = new PyDict();
    root.set('od', od);
    root.set('cycle', cyclic);
    const back = roundTrip(root) as PyDict;
    const od2 = back.get('od') as PyDict;
    assert.equal(od2.className, 'collections.OrderedDict');
    assert.equal(od2.get('a'), od2.get('b'), 'one object, met twice, is one object again');
    const silu = od2.get('a') as PyObject;
    assert.equal(silu.cls.qualified, 'torch.nn.modules.activation.SiLU');
    assert.equal((silu.state as PyDict).get('inplace'), true);
    const c = back.get('cycle') as PyList;
    assert.equal(c.items[0], c, 'the list contains itself again');
    assert.ok(c.items[1] instanceof PySet && c.items[1].items[0] === 'x');
    assert.deepEqual((c.items[2] as PyTuple).items, [1, 'x']);
  });

  it('refuses what it cannot write, and a nesting past its depth, with a typed error', () => {
    let deep: PyValue = null;
    for (let i = 0; i < 5000; i++) deep = new PyList([deep]);
    assert.throws(() => PickleWriter.write(deep), { name: 'WeightsError', code: 'limit' });
    assert.throws(() => PickleWriter.write({ kind: 'tensor' }), { name: 'WeightsError', code: 'unsupported' });
  });
});

describe('zip writer', () => {
  it('stored records at 64-byte offsets with the CRC-32 zlib computes, read back by the reader', () => {
    const records = [
      { name: 'archive/data.pkl', data: Uint8Array.from([0x80, 2, 0x4e, 0x2e]) },
      { name: 'archive/data/0', data: new Uint8Array(1000).map((_, i) => i * 7) },
      { name: 'archive/version', data: new TextEncoder().encode('3\n') },
    ];
    const zip = writeStoredZip(records);
    const read = readZip(zip, { maxEntries: 10, maxInflatedBytes: 1 << 20 });
    assert.deepEqual(
      read.entries.map((e) => e.name),
      records.map((r) => r.name),
    );
    const dv = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
    let central = dv.getUint32(zip.length - 22 + 16, true);
    for (const [i, e] of read.entries.entries()) {
      assert.equal(e.dataOffset % 64, 0, `${e.name} aligned`);
      assert.deepEqual([...zip.subarray(e.dataOffset, e.dataOffset + e.size)], [...records[i]!.data]);
      // the CRC the central directory declares is zlib's for the data
      assert.equal(dv.getUint32(central + 16, true), zlibCrc32(records[i]!.data), `${e.name} CRC`);
      assert.equal(crc32(records[i]!.data), zlibCrc32(records[i]!.data));
      central += 46 + dv.getUint16(central + 28, true);
    }
  });
});

interface Case {
  framework: string;
  checkpoint: string;
  yaml: string;
  nc: number;
  ch: number;
}

function setup(name: string) {
  const dir = join(FIXTURES, 'transfer', name);
  const e = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as Case;
  const framework = frameworkByName(e.framework)!;
  const model = resolve(readFileSync(join(dir, e.yaml), 'utf8'), { framework: framework.id, nc: e.nc, ch: e.ch, fileName: e.yaml });
  const source = new Uint8Array(readFileSync(join(dir, e.checkpoint)));
  const read = readCheckpoint(source);
  assert.ok(read.ok);
  const sd = stateDictOf(read.value, { entry: framework.loader.entry });
  assert.ok(sd.ok);
  const state = modelStateDict(model).entries;
  const plan = planTransfer(state, sd.value.entries, framework.loader, e.checkpoint);
  return { framework, source, read: read.value, entries: sd.value.entries, state, plan };
}

describe('a remapped checkpoint', () => {
  for (const name of ['v5-insert-not-renumbered', 'u84-insert-renumbered', 'u84-delete-layer', 'u83-insert-renumbered']) {
    it(`${name}: reads back to the planned keys and shapes, and plans to the promised count`, () => {
      const { framework, source, read, entries, state, plan } = setup(name);
      assert.ok(plan.remap && plan.remap.transferred > plan.transferred, 'a remap helps here');
      const r = writeRemappedCheckpoint(source, plan.remap.moves, { entry: framework.loader.entry, archiveName: 'out' });
      assert.ok(r.ok, r.ok ? '' : r.error.message);
      const back = readCheckpoint(r.value.bytes);
      assert.ok(back.ok, back.ok ? '' : back.error.message);
      assert.equal(back.value.archiveName, 'out');
      const sd = stateDictOf(back.value, { entry: framework.loader.entry });
      assert.ok(sd.ok);
      // the planner's renaming of the original state_dict, dtypes included (fp16 weights, int64 counters)
      assert.deepEqual(sd.value.entries.map(sig).sort(), remapCheckpoint(entries, plan.remap.moves).map(sig).sort());
      const orig = stateDictOf(read, { entry: framework.loader.entry });
      assert.equal(sd.value.moduleClass, orig.ok ? orig.value.moduleClass : 'unread');
      const again = planTransfer(state, sd.value.entries, framework.loader, 'out.pt');
      assert.equal(again.transferred, plan.remap.transferred);
      // the tensor bytes moved with their keys
      const before = new Map(remapCheckpoint(entries, plan.remap.moves).map((e) => [e.key, e.tensor]));
      for (const e of sd.value.entries.slice(0, 60)) {
        const o = before.get(e.key)!;
        const n = e.tensor;
        const size = n.numel * n.storage.itemSize;
        const a = source.subarray(o.storage.dataOffset + o.storageOffset * o.storage.itemSize).subarray(0, size);
        const b = r.value.bytes.subarray(n.storage.dataOffset + n.storageOffset * n.storage.itemSize).subarray(0, size);
        assert.deepEqual(Buffer.from(b), Buffer.from(a), e.key);
      }
      // everything else the checkpoint held is still there
      const infoA = checkpointInfo(read);
      const infoB = checkpointInfo(back.value);
      assert.ok(infoA.ok && infoB.ok);
      assert.deepEqual(infoB.value.topKeys, infoA.value.topKeys);
      assert.deepEqual(infoB.value.model, infoA.value.model);
      assert.deepEqual(infoB.value.checkpoint, infoA.value.checkpoint);
    });
  }

  it('keeps floats floats: the model YAML’s multiples read back as floats', () => {
    const { framework, source, plan } = setup('v5-insert-not-renumbered');
    const r = writeRemappedCheckpoint(source, plan.remap!.moves, { entry: framework.loader.entry });
    assert.ok(r.ok);
    const back = readCheckpoint(r.value.bytes, {}, { exactFloats: true });
    assert.ok(back.ok);
    const model = (back.value.root as PyDict).get('model') as PyObject;
    const yaml = (model.state as PyDict).get('yaml') as PyDict;
    assert.ok(yaml.get('depth_multiple') instanceof PyFloat);
    assert.ok(yaml.get('width_multiple') instanceof PyFloat);
  });

  it('a plain state_dict, a legacy file and a mid-training last.pt (model and ema) are remapped too', () => {
    for (const file of ['yolov5t-state-dict.pt', 'yolov5t-legacy.pt', 'yolov5t-last.pt']) {
      const source = bytesOf(`checkpoints/${file}`);
      const read = readCheckpoint(source);
      assert.ok(read.ok);
      const moves = [{ from: 3, to: 4, tensors: 0 }];
      const r = writeRemappedCheckpoint(source, moves, { entry: 'model' });
      assert.ok(r.ok, r.ok ? '' : `${file}: ${r.error.message}`);
      const back = readCheckpoint(r.value.bytes);
      assert.ok(back.ok);
      for (const entry of ['model', 'ema-or-model'] as const) {
        const a = stateDictOf(read.value, { entry });
        const b = stateDictOf(back.value, { entry });
        assert.ok(a.ok && b.ok);
        assert.deepEqual(b.value.entries.map(sig).sort(), remapCheckpoint(a.value.entries, moves).map(sig).sort(), `${file} ${entry}`);
      }
      if (file === 'yolov5t-last.pt') assert.deepEqual(r.value.renamed, ['ckpt["model"].model', 'ckpt["ema"].model']);
    }
  });

  it('a checkpoint without a layer sequence is refused with a typed error, never a crash', () => {
    // a pickled dict of plain values: torch.save({'epoch': 3}) as a zip
    const pkl = PickleWriter.write(
      (() => {
        const d = new PyDict();
        d.set('epoch', 3);
        return d;
      })(),
    );
    const zip = writeStoredZip([
      { name: 'archive/data.pkl', data: pkl },
      { name: 'archive/version', data: new TextEncoder().encode('3\n') },
    ]);
    const r = writeRemappedCheckpoint(zip, [{ from: 1, to: 2, tensors: 1 }]);
    assert.equal(r.ok, false);
    assert.ok(!r.ok && r.error.code === 'no-state-dict', !r.ok ? r.error.message : '');
  });
});
