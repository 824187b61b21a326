// Runs every test/**/*.test.ts with node:test (TypeScript through tsx). Extra args are passed to node --test,
// e.g. `node scripts/run-tests.mjs --test-name-pattern parity` or a file filter: `node scripts/run-tests.mjs lsp`.
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = join(import.meta.dirname, '..');
const files = [];
(function walk(dir) {
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) walk(p);
    else if (e.endsWith('.test.ts')) files.push(relative(root, p));
  }
})(join(root, 'test'));
const args = process.argv.slice(2);
const filters = args.filter((a) => !a.startsWith('--'));
const flags = args.filter((a) => a.startsWith('--'));
const selected = files.filter((f) => filters.length === 0 || filters.some((x) => f.includes(x))).sort();
if (!selected.length) {
  console.error('no test files match', filters);
  process.exit(1);
}
// The real-VS-Code tests (code-server driven by Chromium) run after the others, alone: their UI waits starve when
// they share the 2 cores with the fuzzer and the Chromium panel tests (clean-clone runs timed out that way).
const alone = selected.filter((f) => /vscode[^/]*\.test\.ts$/.test(f));
const shared = selected.filter((f) => !alone.includes(f));
let status = 0;
for (const [group, concurrency] of [
  [shared, 2],
  [alone, 1],
]) {
  if (!group.length) continue;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, ...flags, ...group], {
    stdio: 'inherit',
    cwd: root,
  });
  if (r.status !== 0) status = r.status ?? 1;
  console.log(`# run-tests: ${group.length} file(s) at concurrency ${concurrency}: ${r.status === 0 ? 'passed' : 'FAILED'}`);
}
process.exit(status);
