/**
 * The walls of eslint.config.mjs hold: a file that breaks one, placed (as text) in each room, is refused by the rule
 * that guards it, and the allowed imports of that room pass. `npm run lint` applies the same config to the tree.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ESLint } from 'eslint';

const ROOT = join(import.meta.dirname, '../..');
const eslint = new ESLint({ cwd: ROOT });

/** The rules that refuse `code` as the file `path` (relative to the root): sorted rule ids, errors only. */
async function refusedBy(path: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: join(ROOT, path) });
  return [...new Set(result!.messages.filter((m) => m.severity === 2).map((m) => m.ruleId ?? m.message))].sort();
}

const PATHS = 'import-x/no-restricted-paths';
const IMPORTS = '@typescript-eslint/no-restricted-imports';

test('the core imports neither node, vscode, the protocol, the server, the webview nor the client', async () => {
  const core = 'server/src/core/probe.ts';
  assert.deepEqual(await refusedBy(core, "import { readFileSync } from 'node:fs';\nexport const f = readFileSync;\n"), [IMPORTS]);
  assert.deepEqual(await refusedBy(core, "import { join } from 'path';\nexport const f = join;\n"), [IMPORTS]);
  assert.deepEqual(await refusedBy(core, "import * as vscode from 'vscode';\nexport const v = vscode;\n"), [IMPORTS]);
  assert.deepEqual(await refusedBy(core, "import type { GraphResult } from '../protocol.ts';\nexport type G = GraphResult;\n"), [PATHS]);
  assert.deepEqual(await refusedBy(core, "import { toGraphResult } from '../convert.ts';\nexport const f = toGraphResult;\n"), [PATHS]);
  assert.deepEqual(await refusedBy(core, "import { total } from '../../../webview/src/totals.ts';\nexport const f = total;\n"), [PATHS]);
  // what it may import: itself and common/src
  const allowed =
    "import { pyRepr } from './py.ts';\nimport { shapeText } from '../../../common/src/format.ts';\n" +
    'export const f = [pyRepr, shapeText];\n';
  assert.deepEqual(await refusedBy(core, allowed), []);
});

test('the webview takes protocol types only, and no core code', async () => {
  const webview = 'webview/src/probe.ts';
  assert.deepEqual(await refusedBy(webview, "import { resolve } from '../../server/src/core/resolve.ts';\nexport const f = resolve;\n"), [
    PATHS,
  ]);
  assert.deepEqual(
    await refusedBy(webview, "import { GraphRequestType } from '../../server/src/protocol.ts';\nexport const r = GraphRequestType;\n"),
    [IMPORTS],
  );
  const allowed =
    "import type { GraphResult } from '../../server/src/protocol.ts';\nimport { compactCount } from '../../common/src/format.ts';\n";
  assert.deepEqual(await refusedBy(webview, `${allowed}export const f = (g: GraphResult) => compactCount(g.totals.params);\n`), []);
});

test('the client imports the protocol, common/src and the panel message contract, not the webview or the core', async () => {
  const client = 'client/src/probe.ts';
  assert.deepEqual(await refusedBy(client, "import { total } from '../../webview/src/totals.ts';\nexport const f = total;\n"), [PATHS]);
  assert.deepEqual(await refusedBy(client, "import { resolve } from '../../server/src/core/resolve.ts';\nexport const f = resolve;\n"), [
    PATHS,
  ]);
  const allowed =
    "import * as vscode from 'vscode';\nimport { GraphRequestType } from '../../server/src/protocol.ts';\n" +
    "import { parseWebviewMessage } from '../../webview/src/messages.ts';\n" +
    'export const f = [vscode, GraphRequestType, parseWebviewMessage];\n';
  assert.deepEqual(await refusedBy(client, allowed), []);
});

test('common/src is a leaf: no package, no other room', async () => {
  const common = 'common/src/probe.ts';
  assert.deepEqual(await refusedBy(common, "import * as z from 'zod';\nexport const s = z;\n"), [IMPORTS]);
  assert.deepEqual(await refusedBy(common, "import { pyRepr } from '../../server/src/core/py.ts';\nexport const f = pyRepr;\n"), [PATHS]);
});

test('no extension source runs code: eval, new Function, child processes, computed import/require, process.cwd/binding', async () => {
  const server = 'server/src/probe.ts';
  const cases: [string, string][] = [
    ["export const v = eval('1 + 1');\n", 'no-eval'],
    ["export const f = new Function('return 1');\n", 'no-new-func'],
    ["import { execSync } from 'node:child_process';\nexport const f = execSync;\n", IMPORTS],
    ["import { runInNewContext } from 'node:vm';\nexport const f = runInNewContext;\n", IMPORTS],
    ["export const load = (name: string) => import('./' + name);\n", 'no-restricted-syntax'],
    ['declare const require: (s: string) => unknown;\nexport const load = (name: string) => require(name);\n', 'no-restricted-syntax'],
    [
      "import { Worker } from 'node:worker_threads';\nexport const w = (code: string) => new Worker(code, { eval: true });\n",
      'no-restricted-syntax',
    ],
    ['export const here = process.cwd();\n', 'no-restricted-properties'],
    ["export const b = process.binding('fs');\n", 'no-restricted-properties'],
  ];
  for (const [code, rule] of cases) assert.deepEqual(await refusedBy(server, code), rule ? [rule] : [], code);
  // literal paths are fine: the bundles' own requires
  assert.deepEqual(await refusedBy(server, "import { join } from 'node:path';\nexport const f = join;\n"), []);
});
