/**
 * The README's table of diagnostic codes is what CODES generates (run `npm run gen:diagnostics` when this fails), and
 * every code's example is true: each code is produced by the one diagnostics function the editor and `yolo-lens
 * check` share (documentDiagnostics), on a small model under test/fixtures/diagnostics-examples/ that holds its
 * example line, or through the entry point that owns it (the CLI's file reader, the workspace's code), or it is
 * named here with the test that covers it. Every key of CODES is in exactly one of those lists: none is skipped.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { CODES, type Code, type Diagnostic } from '../../server/src/core/diagnostics.ts';
import { parseModelDoc } from '../../server/src/core/document.ts';
import { documentDiagnostics } from '../../server/src/core/features/diagnostics.ts';
import type { ResolveOptions } from '../../server/src/core/resolve.ts';
import { settingsOptions } from '../../server/src/core/settings.ts';
import { workspaceFactsFor } from '../../server/src/workspace.ts';
import { README, isYamlExample, updateReadme } from '../../scripts/gen-diagnostics-table.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const EXAMPLES = join(ROOT, 'test', 'fixtures', 'diagnostics-examples');
const ALL = Object.keys(CODES).sort() as Code[];

/** Codes shown by a file of their own in EXAMPLES (`YOLO007.yaml`), through documentDiagnostics. */
const BY_FIXTURE = readdirSync(EXAMPLES)
  .filter((f) => f.endsWith('.yaml'))
  .map((f) => f.replace(/\.yaml$/, ''))
  .sort();
/** Codes driven here through the entry point that owns them (each has its own test below). */
const DRIVEN: readonly Code[] = ['YOLO030', 'YOLO033', 'YOLO046'];
/** Codes only the language server emits, from a pretrained checkpoint: the test that drives them over stdio. */
const COVERED_ELSEWHERE: Readonly<Partial<Record<Code, string>>> = {
  YOLO060: 'test/lsp/weights.test.ts',
  YOLO061: 'test/lsp/weights.test.ts',
};
/** Codes in the table that no code path emits (kept so that their numbers never get another meaning). */
const NEVER_EMITTED: readonly Code[] = ['YOLO031'];

/** 1-based line of an offset. */
const lineAt = (text: string, offset: number): number => text.slice(0, offset).split('\n').length;

/** The `code spans` of a sentence example: each must be text of the file the code is shown on. */
const fragments = (example: string): string[] => [...example.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);

/**
 * The example of `code` is true of `text`: a YAML example is a line of the file and the code is reported on that
 * line; a sentence's code spans are text of the file.
 */
function assertExampleShown(code: Code, text: string, got: readonly Diagnostic[]): void {
  const example = CODES[code].example;
  const ofCode = got.filter((d) => d.code === code);
  assert.ok(ofCode.length > 0, `${code} is not reported; got ${got.map((d) => d.code).join(', ') || 'nothing'}`);
  if (isYamlExample(example)) {
    const lines = text.split('\n');
    const at = lines.findIndex((l) => l.trim() === example) + 1;
    assert.ok(at > 0, `${code}: its example is no line of its file: ${example}`);
    assert.ok(
      ofCode.some((d) => lineAt(text, d.range.start) === at),
      `${code} is reported on line(s) ${ofCode.map((d) => lineAt(text, d.range.start)).join(', ')}, its example is line ${at}`,
    );
  } else {
    for (const f of fragments(example)) assert.ok(text.includes(f), `${code}: \`${f}\` of its example is not in its file`);
  }
}

/** What the editor and `yolo-lens check` report for a file's text (no workspace code, no .yolo-lens.json). */
function diagnose(text: string, fileName: string, extra: ResolveOptions = {}) {
  return documentDiagnostics(parseModelDoc(text), { fileName, ...extra, ...settingsOptions(text, {}) });
}

test('README.md has the table CODES generates (npm run gen:diagnostics), every code in it', () => {
  const readme = readFileSync(README, 'utf8');
  assert.ok(updateReadme(readme) === readme, 'README.md is stale: run npm run gen:diagnostics and commit it');
  for (const code of ALL) assert.match(readme, new RegExp(`^\\| ${code} \\| ${CODES[code].title} \\| ${CODES[code].severity} \\|`, 'm'));
});

test('every code has a one-line example of at most 110 characters', () => {
  for (const code of ALL) {
    const { example } = CODES[code];
    assert.ok(example.trim().length > 0 && !/\n/.test(example), `${code}: one line`);
    assert.ok(example.length <= 110, `${code}: ${example.length} characters`);
  }
});

test('every code is shown by a fixture, driven here, covered by a named test, or listed as never emitted', () => {
  const lists = [BY_FIXTURE, DRIVEN, Object.keys(COVERED_ELSEWHERE), NEVER_EMITTED].flat().sort();
  assert.deepEqual(lists, ALL, 'each code of CODES in exactly one list, and no fixture for a code CODES lacks');
  for (const [code, file] of Object.entries(COVERED_ELSEWHERE)) {
    assert.ok(existsSync(join(ROOT, file)), `${file} (covers ${code}) exists`);
    assert.ok(readFileSync(join(ROOT, file), 'utf8').includes(code), `${file} mentions ${code}`);
  }
});

for (const code of BY_FIXTURE as Code[]) {
  test(`${code} (${CODES[code]?.title}): its example file produces it, on its example line`, () => {
    const file = `${code}.yaml`;
    const text = readFileSync(join(EXAMPLES, file), 'utf8');
    const r = diagnose(text, file);
    assert.equal(r.internalError, undefined);
    assertExampleShown(code, text, r.diagnostics);
  });
}

test('YOLO030: a failure inside the analysis is one diagnostic, not a crash', () => {
  const text = readFileSync(join(EXAMPLES, 'YOLO010.yaml'), 'utf8').replace('Conx', 'Conv');
  // a resolver failure (a bug) stands in for by a module set that throws while the framework is assembled
  const userModules = {
    extend(): never {
      throw new Error('injected failure');
    },
  };
  const r = diagnose(text, 'model.yaml', { userModules });
  assert.match(r.internalError ?? '', /injected failure/);
  assert.deepEqual(
    r.diagnostics.map((d) => d.code),
    ['YOLO030'],
  );
  assertExampleShown('YOLO030', text, r.diagnostics);
});

test('YOLO033: yolo-lens check reads a file with a Latin-1 byte and says where it was dropped', () => {
  const [comment] = fragments(CODES.YOLO033.example);
  assert.equal(comment, '# café');
  const dir = mkdtempSync(join(tmpdir(), 'yolo-lens-example-'));
  try {
    const file = join(dir, 'latin1.yaml');
    const model = readFileSync(join(EXAMPLES, 'YOLO010.yaml'), 'utf8').replace('Conx', 'Conv');
    // the example's comment saved in Latin-1: é is the one byte 0xE9, no UTF-8 sequence
    writeFileSync(file, Buffer.concat([Buffer.from(`${comment}\n`, 'latin1'), Buffer.from(model, 'utf8')]));
    const r = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'server', 'src', 'cli.ts'), 'check', '--json', file], {
      encoding: 'utf8',
      cwd: ROOT,
    });
    assert.equal(r.stderr, '');
    const [entry] = JSON.parse(r.stdout) as { diagnostics: { code: string; message: string; range: { start: { line: number } } }[] }[];
    const d = entry!.diagnostics.find((x) => x.code === 'YOLO033');
    assert.ok(d, r.stdout);
    assert.match(d.message, /byte 0xE9 at byte 5/);
    assert.equal(d.range.start.line, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('YOLO046: a module the workspace code base does not define, found by walking up from the file', () => {
  const file = join(ROOT, 'test', 'fixtures', 'workspaces', 'yolov5-tree', 'models', 'slimneck-yolov5n.yaml');
  assert.ok(statSync(file).isFile());
  const workspace = workspaceFactsFor(file);
  assert.ok(workspace, 'the YOLOv5 tree is found');
  const text = readFileSync(file, 'utf8');
  const r = diagnose(text, basename(file), { workspace });
  assertExampleShown('YOLO046', text, r.diagnostics);
  const [fragment] = fragments(CODES.YOLO046.example);
  const d = r.diagnostics.find((x) => x.code === 'YOLO046' && text.split('\n')[lineAt(text, x.range.start) - 1]!.includes(fragment!));
  assert.ok(d, 'reported on the line of the example');
  assert.match(d.message, /GSConv is not defined in models\/common\.py/);
});

test('YOLO031 is emitted by no source: when one starts to, it needs an example file here', () => {
  const emitters: string[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.ts$/.test(e.name) && p !== join(ROOT, 'server', 'src', 'core', 'diagnostics.ts')) {
        for (const code of NEVER_EMITTED) if (readFileSync(p, 'utf8').includes(code)) emitters.push(`${p}: ${code}`);
      }
    }
  };
  for (const d of ['server', 'common', 'client']) if (existsSync(join(ROOT, d, 'src'))) walk(join(ROOT, d, 'src'));
  assert.deepEqual(emitters, []);
});
