/**
 * One set of diagnostics: every corpus YAML and every fixture YAML, opened in the real language server (over stdio)
 * and checked by `yolo-lens check --json` (one process for all of them), gets the same diagnostics from both, codes,
 * severities, ranges and messages alike; and again with severity overrides (the editor's `yolo.diagnostics.severity`
 * against `check --severity`). A CI job and the editor cannot disagree about a file.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileUri, LspClient, ROOT } from './client.ts';
import { CORPUS, CORPUS_MISSING, yamlFilesUnder } from '../support/reference.ts';

const CLI = join(ROOT, 'dist', 'cli.js');
const SEVERITY_NAMES = ['', 'error', 'warning', 'information', 'hint'];

function yamlsUnder(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir).sort()) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) yamlsUnder(p, out);
    else if (/\.ya?ml$/.test(e)) out.push(p);
  }
  return out;
}

const FILES = [
  ...(CORPUS_MISSING ? [] : yamlFilesUnder(CORPUS)),
  ...yamlsUnder(join(ROOT, 'test', 'fixtures')),
  ...yamlsUnder(join(ROOT, 'examples')),
];

interface Seen {
  code: string;
  severity: string;
  range: { start: { line: number; character: number }; end: { line: number; character: number } };
  message: string;
}

const key = (d: Seen) =>
  `${d.range.start.line}:${d.range.start.character}-${d.range.end.line}:${d.range.end.character} ${d.severity} ${d.code} ${d.message}`;

function fromCli(args: string[]): Map<string, string[]> {
  // relative paths: the CLI names workspace trees relative to where it runs, the server to its workspace folder
  const r = spawnSync(process.execPath, [CLI, 'check', ...FILES.map((f) => relative(ROOT, f)), '--json', ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    maxBuffer: 256 * 2 ** 20,
  });
  assert.ok(r.status === 0 || r.status === 1, `check exited ${r.status}: ${r.stderr}`);
  const out = JSON.parse(r.stdout) as { file: string; diagnostics: Seen[] }[];
  return new Map(out.map((e) => [join(ROOT, e.file), e.diagnostics.map(key).sort()]));
}

async function fromServer(settings: Record<string, unknown>): Promise<Map<string, string[]>> {
  const client = await LspClient.start({ settings, workspaceFolders: [ROOT] });
  const out = new Map<string, string[]>();
  try {
    for (const f of FILES) {
      const uri = fileUri(f);
      const p = await client.open(uri, readFileSync(f, 'utf8'));
      out.set(
        f,
        p.diagnostics
          .map((d) =>
            key({
              code: String(d.code),
              severity: SEVERITY_NAMES[d.severity ?? 1]!,
              range: d.range,
              message: typeof d.message === 'string' ? d.message : d.message.value,
            }),
          )
          .sort(),
      );
      await client.closeDoc(uri);
    }
  } finally {
    await client.stop();
  }
  return out;
}

function compare(server: Map<string, string[]>, cli: Map<string, string[]>): { files: number; diagnostics: number } {
  const differ: string[] = [];
  let diagnostics = 0;
  for (const f of FILES) {
    const a = server.get(f) ?? [];
    const b = cli.get(f);
    assert.ok(b, `check --json has no entry for ${f}`);
    diagnostics += a.length;
    if (JSON.stringify(a) !== JSON.stringify(b))
      differ.push(
        `${relative(ROOT, f)}:\n  server only: ${a.filter((x) => !b.includes(x)).join('\n    ')}\n  ` +
          `check only: ${b.filter((x) => !a.includes(x)).join('\n    ')}`,
      );
  }
  assert.deepEqual(differ, [], 'the editor and check disagree');
  return { files: FILES.length, diagnostics };
}

test('the language server and check --json give every corpus and fixture YAML the same diagnostics', { timeout: 600_000 }, async (t) => {
  // the fixtures and examples alone are ~230 files with ~490 diagnostics; the corpus adds ~70 files
  assert.ok(FILES.length >= (CORPUS_MISSING ? 150 : 250), `${FILES.length} files`);
  const n = compare(await fromServer({ diagnostics: { debounceMs: 0 } }), fromCli([]));
  assert.ok(n.diagnostics > (CORPUS_MISSING ? 300 : 500), `${n.diagnostics} diagnostics compared over ${n.files} files`);
  t.diagnostic(`${n.files} files, ${n.diagnostics} diagnostics identical`);
});

test(
  'severity overrides: the editor setting and check --severity change the same diagnostics the same way',
  { timeout: 600_000 },
  async (t) => {
    const severity = { YOLO025: 'error', YOLO024: 'off', YOLO021: 'hint', YOLO042: 'off' };
    const cli = fromCli([
      '--severity',
      Object.entries(severity)
        .map(([c, l]) => `${c}=${l}`)
        .join(','),
    ]);
    const n = compare(await fromServer({ diagnostics: { debounceMs: 0, severity } }), cli);
    t.diagnostic(`${n.files} files, ${n.diagnostics} diagnostics identical with the overrides`);
    const all = [...cli.values()].flat();
    assert.ok(
      all.some((d) => / error YOLO025 /.test(d)),
      'YOLO025 raised to error somewhere',
    );
    assert.ok(!all.some((d) => / YOLO024 /.test(d)), 'YOLO024 off everywhere');
  },
);
