/**
 * The checkpoint reader against the truth (every fixture of test/fixtures/checkpoints: keys, shapes, dtypes, the
 * YAML and metadata torch.load gives) and against hostile files made here byte by byte: each one a typed error with
 * a clear message, in bounded time and memory.
 */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  checkpointInfo,
  readCheckpoint,
  stateDictOf,
  toPlain,
  WeightsError,
  type Checkpoint,
  type WeightsErrorCode,
} from '../../server/src/core/weights/index.ts';
import { Pickle, concat, deflateAll, stateDictCheckpoint, torchZip, zeroBomb, zip } from './craft.ts';

const dir = join(import.meta.dirname, '..', 'fixtures', 'checkpoints');
const fixtures = readdirSync(dir).filter((f) => f.endsWith('.pt'));

function load(file: string): Checkpoint {
  const r = readCheckpoint(new Uint8Array(readFileSync(join(dir, file))));
  if (!r.ok) assert.fail(`${file}: ${r.error.code}: ${r.error.message}`);
  return r.value;
}

describe('weights reader: fixtures equal torch.load', () => {
  it('has the fixtures', () => assert.ok(fixtures.length >= 10, `${fixtures.length} fixtures`));
  for (const file of fixtures) {
    it(file, () => {
      const expected = JSON.parse(readFileSync(join(dir, file.replace(/\.pt$/, '.expected.json')), 'utf8'));
      const ckpt = load(file);
      assert.equal(ckpt.format, expected.format);
      const sd = stateDictOf(ckpt);
      assert.ok(sd.ok, sd.ok ? '' : sd.error.message);
      assert.deepEqual(
        sd.value.entries.map((e) => [e.key, e.shape, e.dtype]),
        expected.state_dict,
      );
      assert.equal(sd.value.source, expected.state_dict_source === 'root' ? 'ckpt' : `ckpt["${expected.state_dict_source}"]`);
      assert.equal(sd.value.moduleClass, expected.model_class ?? null);
      // each module entry the file holds, as its own loader would take it
      for (const [entry, keys] of Object.entries(expected.state_dicts ?? {})) {
        const rule = entry === 'model' ? 'model' : 'ema-or-model';
        const r = stateDictOf(ckpt, { entry: rule });
        assert.ok(r.ok);
        assert.equal(r.value.source, `ckpt["${entry}"]`);
        assert.deepEqual(
          r.value.entries.map((e) => [e.key, e.shape, e.dtype]),
          keys,
        );
      }
      const info = checkpointInfo(ckpt);
      assert.ok(info.ok);
      assert.deepEqual(info.value.topKeys, expected.top_keys);
      assert.equal(info.value.topType, expected.top_type);
      assert.equal(info.value.moduleClass, expected.model_class ?? null);
      // the YAML the model was built from, nc, names, args, stride; date, version, train args, ...: JSON-equal
      assert.deepEqual(JSON.parse(JSON.stringify(info.value.model)), expected.model_info ?? {});
      assert.deepEqual(JSON.parse(JSON.stringify(info.value.checkpoint)), expected.checkpoint_info ?? {});
    });
  }

  it('yolov5 train.py reads ckpt["model"]: a mid-training ultralytics file has none', () => {
    const r = stateDictOf(load('yolov8t-last.pt'), { entry: 'model' });
    assert.ok(!r.ok);
    assert.equal(r.error.code, 'no-state-dict');
    assert.match(r.error.message, /ckpt\["model"\] is None/);
  });

  it('gives each storage its bytes in the file', () => {
    const bytes = new Uint8Array(readFileSync(join(dir, 'yolov5t-legacy.pt')));
    const ckpt = load('yolov5t-legacy.pt');
    for (const s of ckpt.storages) {
      assert.ok(s.dataOffset > 0 && s.dataOffset + s.byteLength <= bytes.length, `${s.key} at ${s.dataOffset}`);
    }
    // the running_var of a fresh BatchNorm is ones: 0x3c00 in fp16, wherever the reader says it is
    const sd = stateDictOf(ckpt);
    assert.ok(sd.ok);
    const bn = sd.value.entries.find((e) => e.key === 'model.0.bn.running_var')!;
    const at = bn.tensor.storage.dataOffset + bn.tensor.storageOffset * 2;
    assert.equal(new DataView(bytes.buffer, bytes.byteOffset).getUint16(at, true) !== 0, true);
  });
});

/** Runs the reader and its derivations on hostile bytes: must be a typed error, fast, with bounded memory. */
function refuse(bytes: Uint8Array, code: WeightsErrorCode, message: RegExp, stage: 'read' | 'derive' = 'read'): WeightsError {
  const before = process.memoryUsage();
  const t0 = performance.now();
  const r = readCheckpoint(bytes);
  let error: WeightsError | undefined;
  if (!r.ok) error = r.error;
  else {
    assert.equal(stage, 'derive', `read succeeded where ${code} was expected`);
    const sd = stateDictOf(r.value);
    if (!sd.ok) error = sd.error;
  }
  const ms = performance.now() - t0;
  const after = process.memoryUsage();
  assert.ok(error, `no error where ${code} was expected`);
  assert.ok(error instanceof WeightsError);
  assert.equal(error.code, code, `${error.code}: ${error.message}`);
  assert.match(error.message, message);
  assert.ok(!error.message.includes('\n'), 'one line');
  assert.ok(ms < 3000, `${ms.toFixed(0)} ms`);
  const grown = after.heapUsed + after.arrayBuffers - (before.heapUsed + before.arrayBuffers);
  assert.ok(grown < 256 * 2 ** 20, `${(grown / 2 ** 20).toFixed(0)} MB`);
  return error;
}

describe('weights reader: hostile files', () => {
  it('the hand-made deflate stream inflates (the bomb builder is right)', () => {
    const pkl = new Pickle().proto().none().stop().bytes();
    const honest = zipWithRaw('archive/data.pkl', deflateAll([pkl]), pkl.length);
    assert.equal(readCheckpoint(honest).ok, true);
    const small = zipWithRaw('archive/data.pkl', zeroBomb(1000), 1000);
    // 1000 zero bytes are not a pickle (0x00 is no opcode): the inflated data reached the unpickler
    refuse(small, 'unsupported', /unknown opcode 0x00/);
  });

  it('a crafted plain state_dict reads (the builders are right)', () => {
    const r = readCheckpoint(stateDictCheckpoint({ 'conv.weight': [4, 3, 3, 3], 'bn.bias': [4] }));
    assert.ok(r.ok, r.ok ? '' : r.error.message);
    const sd = stateDictOf(r.value);
    assert.ok(sd.ok);
    assert.deepEqual(
      sd.value.entries.map((e) => [e.key, e.shape, e.dtype]),
      [
        ['conv.weight', [4, 3, 3, 3], 'float16'],
        ['bn.bias', [4], 'float16'],
      ],
    );
  });

  it('zip bomb: data.pkl deflated from 200 MB of zeros', () => {
    const bomb = zeroBomb(200 << 20);
    assert.ok(bomb.length < 2 << 20, `${bomb.length} bytes of deflate`);
    // declared honestly and as a small lie: never allocated by the declaration, inflation stopped at 32 MB
    refuse(zipWithRaw('archive/data.pkl', bomb, 200 << 20), 'limit', /declares 209715200 bytes, more than/);
    refuse(zipWithRaw('archive/data.pkl', bomb, 1024), 'limit', /inflates past 33554432 bytes/);
  });

  it('a stored record declaring more bytes than the file holds', () => {
    const f = zipWithRaw('archive/data.pkl', new Uint8Array(10), 0xfffffff0, 0);
    refuse(f, 'zip', /declares 4294967280 bytes but holds 10/);
  });

  it('a central directory claiming 65535 records', () => {
    const f = zip([{ name: 'archive/data.pkl', data: new Pickle().proto().none().stop().bytes() }], { claimEntries: 65535 });
    refuse(f, 'zip', /65535 records cannot fit/);
  });

  const unsafe: [string, string][] = [
    ['os', 'system'],
    ['posix', 'system'],
    ['nt', 'system'],
    ['subprocess', 'Popen'],
    ['subprocess', 'check_output'],
    ['builtins', 'eval'],
    ['builtins', 'exec'],
    ['builtins', '__import__'],
    ['builtins', 'getattr'],
    ['runpy', '_run_code'],
  ];
  for (const [module, name] of unsafe) {
    it(`a pickle naming ${module}.${name}`, () => {
      const pkl = new Pickle().proto().global(module, name).mark().str('echo pwned').tuple().reduce().stop().bytes();
      refuse(torchZip(pkl), 'unsafe', new RegExp(`names ${module}\\.${name.replace(/_/g, '_')}, which would run code`));
      // the same through STACK_GLOBAL (protocol 4) and in a legacy-format file
      const stacked = new Pickle().proto(4).stackGlobal(module, name).mark().str('id').tuple().reduce().stop().bytes();
      refuse(torchZip(stacked), 'unsafe', /would run code/);
    });
  }

  it('a 2^40-element tensor header', () => {
    const big = 2n ** 40n;
    const pkl = new Pickle().proto().emptyDict().str('w').tensor('0', 16, [big], [1]).setitem().stop().bytes();
    refuse(torchZip(pkl, { '0': new Uint8Array(32) }), 'limit', /1099511627776 elements, more than/);
    // a storage that claims 2^40 elements in a 32-byte record
    const pkl2 = new Pickle().proto().emptyDict().str('w').tensor('0', big, [4], [1]).setitem().stop().bytes();
    refuse(torchZip(pkl2, { '0': new Uint8Array(32) }), 'tensor', /declares 1099511627776 float16 elements/);
    // a shape the storage cannot hold
    const pkl3 = new Pickle().proto().emptyDict().str('w').tensor('0', 16, [1024, 1024], [1024, 1]).setitem().stop().bytes();
    refuse(torchZip(pkl3, { '0': new Uint8Array(32) }), 'tensor', /needs 1048576 elements, its storage holds 16/);
  });

  it('a storage with no record', () => {
    const pkl = new Pickle().proto().emptyDict().str('w').tensor('7', 4, [4], [1]).setitem().stop().bytes();
    refuse(torchZip(pkl), 'zip', /storage "7", which has no data\/… record/);
  });

  it('deep MARK nesting', () => {
    const p = new Pickle().proto();
    for (let i = 0; i < 100_000; i++) p.mark();
    refuse(torchZip(p.stop().bytes()), 'limit', /MARKs nested more than 1000 deep/);
  });

  it('deeply nested lists read, and derive nothing without recursion trouble', () => {
    const p = new Pickle().proto();
    for (let i = 0; i < 200_000; i++) p.emptyList();
    for (let i = 0; i < 199_999; i++) p.append();
    const r = readCheckpoint(torchZip(p.stop().bytes()));
    assert.ok(r.ok);
    assert.equal(JSON.stringify(toPlain(r.value.root)).includes('<too deep>'), true);
    refuse(torchZip(p.bytes()), 'no-state-dict', /a list, not a module or a dict/, 'derive');
  });

  it('a million-fold shared list (billion laughs) prints in bounded time', () => {
    const p = new Pickle().proto().emptyList().binput(0);
    for (let level = 1; level < 30; level++) {
      p.emptyList().mark();
      for (let i = 0; i < 10; i++) p.binget(level - 1);
      p.op(0x65).binput(level); // APPENDS
    }
    const r = readCheckpoint(torchZip(p.stop().bytes()));
    assert.ok(r.ok);
    const t0 = performance.now();
    const plain = JSON.stringify(toPlain(r.value.root));
    assert.ok(performance.now() - t0 < 2000);
    assert.match(plain, /<too large>/);
  });

  it('a DUP flood stops at the value budget', () => {
    const p = new Pickle().proto().none();
    const flood = new Uint8Array(5_000_000).fill(0x32);
    refuse(torchZip(concat([p.bytes(), flood, new Pickle().stop().bytes()])), 'limit', /more than 4000000 values/);
  });

  it('a module tree that loops back on itself', () => {
    // m = Module(); m._modules['child'] = m
    const p = new Pickle()
      .proto()
      .global('torch.nn.modules.container', 'Sequential')
      .emptyTuple()
      .newobj()
      .binput(0)
      .emptyDict()
      .str('_parameters')
      .emptyDict()
      .setitem()
      .str('_modules')
      .emptyDict()
      .str('child')
      .binget(0)
      .setitem()
      .setitem()
      .build()
      .stop();
    refuse(torchZip(p.bytes()), 'no-state-dict', /loops back on itself at "child"/, 'derive');
  });

  it('modules nested 10,000 deep', () => {
    const p = new Pickle().proto();
    const n = 10_000;
    for (let i = 0; i < n; i++) p.global('torch.nn', 'Module').emptyTuple().newobj().emptyDict().str('_modules').emptyDict().str('m');
    p.global('torch.nn', 'Module').emptyTuple().newobj().emptyDict().str('_parameters').emptyDict().setitem().build();
    for (let i = 0; i < n; i++) p.setitem().setitem().build();
    refuse(torchZip(p.stop().bytes()), 'limit', /modules nested more than 256 deep/, 'derive');
  });

  it('truncated files', () => {
    const whole = new Uint8Array(readFileSync(join(dir, 'gsconv-yolov5t.pt')));
    for (const keep of [10, 100, 1000, whole.length >> 1, whole.length - 30, whole.length - 1]) {
      const e = refuse(whole.subarray(0, keep), 'truncated', /./);
      assert.match(e.message, /end|past/);
    }
    const legacy = new Uint8Array(readFileSync(join(dir, 'yolov5t-legacy.pt')));
    for (const keep of [3, 40, 5000, legacy.length - 1]) refuse(legacy.subarray(0, keep), 'truncated', /ends|past the end/);
  });

  it('wrong magic', () => {
    refuse(new Uint8Array(0), 'not-a-checkpoint', /empty/);
    refuse(new TextEncoder().encode('nc: 80\nbackbone: []\n'), 'not-a-checkpoint', /not a PyTorch checkpoint/);
    refuse(Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0]), 'not-a-checkpoint', /starts 89 50 4e 47/);
    // a pickle that is not torch's legacy format
    refuse(new Pickle().proto().int(7).stop().bytes(), 'not-a-checkpoint', /legacy torch.save magic/);
    const tar = new Uint8Array(1024);
    tar.set(new TextEncoder().encode('ustar'), 257);
    refuse(tar, 'unsupported', /tar checkpoint/);
  });

  it('unknown opcodes and protocols', () => {
    refuse(torchZip(Uint8Array.from([0x80, 2, 0xff, 0x2e])), 'unsupported', /unknown opcode 0xff/);
    refuse(torchZip(Uint8Array.from([0x80, 9, 0x4e, 0x2e])), 'unsupported', /protocol 9/);
    refuse(torchZip(Uint8Array.from([0x80, 2, 0x82, 1, 0x2e])), 'unsupported', /extension registry/);
    refuse(torchZip(Uint8Array.from([0x80, 2, 0x52, 0x2e])), 'pickle', /stack underflow/);
    refuse(torchZip(Uint8Array.from([0x80, 2, 0x68, 5, 0x2e])), 'pickle', /memo key 5 was never stored/);
  });

  it('a dict keyed by a dict (no Python would, a mutant did) still describes itself', () => {
    // {{}: 1, 'epoch': 3}: checkpointInfo prints keys; a key that is a container once threw a TypeError
    const pkl = new Pickle().proto().emptyDict().mark().emptyDict().int(1).str('epoch').int(3).setitems().stop().bytes();
    const r = readCheckpoint(torchZip(pkl));
    assert.ok(r.ok);
    const info = checkpointInfo(r.value);
    assert.ok(info.ok, info.ok ? '' : info.error.message);
    assert.deepEqual(info.value.topKeys, ['a dict', 'epoch']);
    assert.equal(info.value.checkpoint.epoch, 3);
  });

  it('a TorchScript archive', () => {
    const f = zip([
      { name: 'm/constants.pkl', data: new Pickle().proto().none().stop().bytes() },
      { name: 'm/code/__torch__.py', data: new Uint8Array(4) },
    ]);
    refuse(f, 'unsupported', /TorchScript/);
  });
});

/** A one-record zip whose record bytes are `raw` as given (e.g. a deflate stream), with a declared size. */
function zipWithRaw(name: string, raw: Uint8Array, declaredSize: number, method = 8): Uint8Array {
  const enc = new TextEncoder().encode(name);
  const local = new Uint8Array(30 + enc.length);
  const lv = new DataView(local.buffer);
  lv.setUint32(0, 0x04034b50, true);
  lv.setUint16(8, method, true);
  lv.setUint16(26, enc.length, true);
  local.set(enc, 30);
  const c = new Uint8Array(46 + enc.length);
  const cv = new DataView(c.buffer);
  cv.setUint32(0, 0x02014b50, true);
  cv.setUint16(10, method, true);
  cv.setUint32(20, raw.length, true);
  cv.setUint32(24, declaredSize, true);
  cv.setUint16(28, enc.length, true);
  c.set(enc, 46);
  const eocd = new Uint8Array(22);
  const ev = new DataView(eocd.buffer);
  ev.setUint32(0, 0x06054b50, true);
  ev.setUint16(8, 1, true);
  ev.setUint16(10, 1, true);
  ev.setUint32(12, c.length, true);
  ev.setUint32(16, local.length + raw.length, true);
  return concat([local, raw, c, eocd]);
}
