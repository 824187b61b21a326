/** The per-layer times the CLI table and the panel both show: measured ms, the PyTorch≈ estimate, and what bars rank by. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { barTimes, profileTimes, torchShareTip } from '../../common/src/profileTimes.ts';
import { formatProfile } from '../../server/src/runtime/format.ts';
import { emptyProfileResult } from '../../server/src/runtime/job.ts';

const layers = (ms: number[], torchMs?: (number | null)[]) =>
  ms.map((v, index) => ({ index, ms: v, ...(torchMs ? { torchMs: torchMs[index] ?? null } : {}) }));

test('with an estimate the bars rank by it; the measured ms stay as measured', () => {
  const t = profileTimes({ layers: layers([6, 2, 2], [1, 3, 0]), torchEstimate: 'PyTorch 1.13 on this machine' });
  assert.equal(t.msSum, 10);
  assert.equal(t.torchSum, 4);
  assert.deepEqual(
    [...barTimes(t)],
    [
      [0, 1],
      [1, 3],
      [2, 0],
    ],
  );
  assert.equal(t.ms.get(0), 6);
  assert.equal(torchShareTip(t), "PyTorch≈: the layer's share of the PyTorch 1.13 on this machine");
});

test('without an estimate, or one that sums to nothing, the bars rank by the measured ms and no basis is claimed', () => {
  for (const run of [
    { layers: layers([6, 2, 2]) },
    { layers: layers([6, 2, 2], [0, 0, 0]), torchEstimate: 'PyTorch 1.13' },
    { layers: layers([6, 2, 2], [null, null, null]), torchEstimate: 'PyTorch 1.13' },
  ]) {
    const t = profileTimes(run);
    assert.equal(t.torchSum, 0);
    assert.equal(t.torchMs.size, 0);
    assert.equal(t.torchEstimate, null);
    assert.deepEqual([...barTimes(t).values()], [6, 2, 2]);
  }
});

test('the CLI table takes its shares and bars from the same times: PyTorch≈ column, bars by the estimate', () => {
  const base = emptyProfileResult(
    { text: '', fileName: 'm.yaml', imgsz: 64, batch: 1, runs: 1, warmup: 0, backend: 'wasm', memoryLimitMB: 64 },
    null,
  );
  const row = (index: number, ms: number, torchMs: number) => ({
    index,
    module: 'Conv',
    ms,
    torchMs,
    outShape: [1, 8, 32, 32],
    staticShape: [1, 8, 32, 32],
    shapeMatches: true,
  });
  const text = formatProfile({ ...base, layers: [row(0, 3, 1), row(1, 1, 3)], torchEstimate: 'estimated PyTorch time' });
  const lines = text.split('\n');
  assert.match(lines[0]!, /PyTorch≈/);
  // layer 0: 75% of the measured time, 25% of the estimate, a third of the longest bar; layer 1 the other way round
  assert.match(lines[1]!, /^\s*0\s+Conv\s+3\.00\s+75\.0%\s+25\.0%\s+█{7}\s/);
  assert.match(lines[2]!, /^\s*1\s+Conv\s+1\.00\s+25\.0%\s+75\.0%\s+█{20}\s/);
  assert.match(text, /PyTorch≈: estimated PyTorch time/);
});
