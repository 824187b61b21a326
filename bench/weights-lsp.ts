/**
 * bench/weights-lsp: what a pretrained checkpoint costs the language server per keystroke. Over stdio with the real
 * server (debounce 0, so that the figure is the work, not the wait), the same edit (a layer inserted, then removed)
 * alternated on a YOLOv5n YAML with and without `# yolo-lens: weights=` naming the yolov5n.pt fixture (3.9 MB):
 * didChange → publishDiagnostics (YOLO060 recomputed), then the code lens request (`weights: N/M load`). Rounds of
 * both are interleaved, so both see the same load on a shared machine. The checkpoint is read once, at open.
 * Usage: node scripts/build.mjs && node --import tsx bench/weights-lsp.ts [rounds]
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CodeLens } from 'vscode-languageserver-protocol';
import { LspClient, ROOT, fileUri } from '../test/lsp/client.ts';
import { median, quantile } from './stats.ts';

const ROUNDS = Number(process.argv[2] ?? 40);
const CASES = join(ROOT, 'test/fixtures/transfer');
const CHECKPOINT = join(ROOT, 'test/fixtures/checkpoints/yolov5n.pt');
const texts = ['v5-identical', 'v5-insert-not-renumbered'].map((c) =>
  readFileSync(join(CASES, c, 'model.yaml'), 'utf8').replace(/^# .*\n/, ''),
);

async function main(): Promise<void> {
  const c = await LspClient.start({ settings: { diagnostics: { debounceMs: 0 }, framework: 'yolov5' } });
  const subjects = [
    { name: 'with weights=yolov5n.pt', uri: fileUri(join(ROOT, 'bench-weights.yaml')), modeline: `# yolo-lens: weights=${CHECKPOINT}\n` },
    { name: 'without weights', uri: fileUri(join(ROOT, 'bench-plain.yaml')), modeline: '' },
  ];
  const figures = subjects.map(() => ({ publish: [] as number[], lens: [] as number[], lastLens: '' }));
  try {
    for (const s of subjects) await c.open(s.uri, s.modeline + texts[0]);
    for (let k = 0; k < ROUNDS + 2; k++) {
      for (const [i, s] of subjects.entries()) {
        const t0 = performance.now();
        const v = await c.replace(s.uri, s.modeline + texts[(k + 1) % 2]);
        await c.waitForDiagnostics(s.uri, (p) => p.version === v);
        const t1 = performance.now();
        const lenses = await c.request<CodeLens[]>('textDocument/codeLens', { textDocument: { uri: s.uri } });
        const t2 = performance.now();
        if (k < 2) continue; // warm-up rounds
        figures[i]!.publish.push(t1 - t0);
        figures[i]!.lens.push(t2 - t1);
        figures[i]!.lastLens = lenses.map((l) => l.command?.title ?? '').find((t) => t.startsWith('weights:')) ?? '(no weights lens)';
      }
    }
  } finally {
    await c.stop();
  }
  const fmt = (xs: number[]) => `median ${median(xs).toFixed(1)} ms, p95 ${quantile(xs, 0.95).toFixed(1)} ms`;
  console.log(`bench/weights-lsp: ${ROUNDS} rounds after 2 warm-up rounds, debounce 0`);
  for (const [i, s] of subjects.entries()) {
    const f = figures[i]!;
    console.log(`${s.name}: didChange → publishDiagnostics ${fmt(f.publish)}; then the code lens ${fmt(f.lens)}; ${f.lastLens}`);
  }
  console.log(`checkpoint reads: ${(c.stderr.match(/read checkpoint /g) ?? []).length}`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
