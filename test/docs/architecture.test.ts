/**
 * docs/architecture.md, the map of the source tree: its generated sections are what scripts/gen-architecture.ts makes
 * of the tree now (this test fails when one is stale: run `npm run gen:architecture` and commit the doc), and every
 * path it names in backticks or links to exists, so the map never sends a newcomer to a room that moved.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { DOC_FILE, ROOT, fillSections, generateSections, rooms, sectionNames } from '../../scripts/gen-architecture.ts';

const doc = readFileSync(join(ROOT, DOC_FILE), 'utf8');
const sections = generateSections(sectionNames(doc));

/** The first line where two texts differ, for a message that says where the doc is stale. */
function firstDifference(a: string, b: string): string {
  const x = a.split('\n');
  const y = b.split('\n');
  const i = x.findIndex((line, k) => line !== y[k]);
  const at = i < 0 ? x.length : i;
  return `line ${at + 1}:\n  in the doc: ${x[at] ?? '(end)'}\n  generated:  ${y[at] ?? '(end)'}`;
}

test('the generated sections of docs/architecture.md are current (npm run gen:architecture)', async () => {
  const fresh = fillSections(doc, await sections);
  assert.ok(fresh === doc, `${DOC_FILE} is stale at ${firstDifference(doc, fresh)}\nrun npm run gen:architecture and commit it`);
});

test('a stale table is caught, a missing section refused, and the prose kept', async () => {
  const generated = await sections;
  // a room's description edited by hand inside the generated table: the fill puts the generated one back
  const stale = doc.replace(/^(\| `common\/src\/` \| )/m, (head: string) => `${head}edited by hand: `);
  assert.notEqual(stale, doc, 'the rooms table has a common/src row');
  assert.equal(fillSections(stale, generated), fillSections(doc, generated));
  assert.notEqual(fillSections(stale, generated), stale);
  // a doc whose walls section lost its start marker is refused rather than silently left alone
  assert.throws(() => sectionNames(doc.replace('<!-- generated:walls:start -->', '')), /generated:walls/);
  // hand-written text outside the markers survives a fill
  const edited = doc.replace('## Walls\n', '## Walls\n\nA sentence a maintainer added.\n');
  assert.match(fillSections(edited, generated), /A sentence a maintainer added\./);
  // every room of the tree is a row of the rooms table
  const roomsTable = generated.get('rooms')!;
  for (const room of rooms()) assert.ok(roomsTable.includes(`| \`${room}/\` |`), `${room} is not in the rooms table`);
});

/** Backticked words with a slash that are not paths of this repository: eslint rule ids, the custom LSP requests. */
const NOT_PATHS = [/^import-x\//, /^@typescript-eslint\//, /^yolo\//];
/** File names a user has in their own workspace, not in this repository. */
const USER_FILES = new Set(['.yolo-lens.json']);
const PATH_LIKE = /^[\w.@-]+(\/[\w.@-]+)*\/?$/;
const FILE_NAME = /\.(ts|mts|mjs|cjs|js|json|md|css|yaml)$/;
const SKIP = new Set(['node_modules', '.git', 'dist', '.tsbuild', 'test-artifacts', '.bench-out']);

/** Every file name in the repository (for a bare `driver.ts`, which must exist somewhere). */
function fileNames(dir = ROOT, out = new Set<string>()): Set<string> {
  for (const e of readdirSync(dir)) {
    if (SKIP.has(e)) continue;
    const p = join(dir, e);
    if (statSync(p).isDirectory()) fileNames(p, out);
    else out.add(e);
  }
  return out;
}

test('every path docs/architecture.md names in backticks or links to exists', () => {
  const prose = doc.replace(/```[\s\S]*?```/g, '');
  const spans = [...prose.matchAll(/`([^`\n]+)`/g)].map((m) => m[1]!);
  const paths = spans.filter((s) => PATH_LIKE.test(s) && (s.includes('/') || FILE_NAME.test(s)));
  const names = fileNames();
  const missing: string[] = [];
  let checked = 0;
  for (const p of new Set(paths)) {
    if (NOT_PATHS.some((r) => r.test(p)) || USER_FILES.has(p)) continue;
    checked++;
    const ok = p.includes('/') ? existsSync(join(ROOT, p)) : names.has(p);
    if (!ok) missing.push(p);
  }
  const links = [...prose.matchAll(/\]\(([^)#\s]+)(#[^)]*)?\)/g)].map((m) => m[1]!).filter((l) => !/^[a-z]+:/.test(l));
  for (const l of links) {
    checked++;
    if (!existsSync(join(ROOT, dirname(DOC_FILE), l))) missing.push(`link ${l}`);
  }
  assert.deepEqual(missing, [], `${DOC_FILE} names paths that do not exist`);
  // the doc is a map of paths: a check that found few would prove nothing
  assert.ok(checked >= 60, `only ${checked} paths found in ${DOC_FILE}`);
});
