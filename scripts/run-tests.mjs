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
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', ...flags, ...selected], { stdio: 'inherit', cwd: root });
process.exit(r.status ?? 1);
