// `npm run package`: production bundles (minified, no source maps), then a .vsix with @vscode/vsce 3.x (the last
// major that runs on Node 20). vsce is not a dependency (it pulls ~140 MB of Azure packages): the one installed by
// the e2e tools (../shared/e2e/install-tools.sh) is used when present, else `npm exec` fetches it once.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const VSCE_VERSION = '3.9.2';
const run = (cmd, args) => {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
};

run(process.execPath, ['scripts/build.mjs', '--production']);
for (const f of ['dist/client.js', 'dist/server.js', 'dist/webview.js', 'dist/webview.css']) {
  if (!existsSync(join(root, f))) console.warn(`warning: ${f} is missing: the extension will not work without it`);
}

const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const out = `dist/${pkg.name}-${pkg.version}.vsix`;
const candidates = [
  process.env.VSCE,
  join(process.env.E2E_CACHE || join(homedir(), '.cache/vscode-e2e'), 'tools/node_modules/.bin/vsce'),
  '/tmp/vscode-e2e/tools/node_modules/.bin/vsce',
  join(root, 'node_modules/.bin/vsce'),
].filter(Boolean);
const vsce = candidates.find((p) => existsSync(p));
// --no-dependencies: everything is bundled; --no-rewrite-relative-links: the README's images stay relative
// (the .vsix carries docs/screenshot.png); no repository or LICENSE file yet.
const flags = ['package', '--no-dependencies', '--skip-license', '--allow-missing-repository', '--no-rewrite-relative-links', '-o', out];
if (vsce) run(vsce, flags);
else run('npm', ['exec', '--yes', `--package=@vscode/vsce@${VSCE_VERSION}`, '--', 'vsce', ...flags]);

const size = statSync(join(root, out)).size;
console.log(`${out}: ${(size / 1024).toFixed(0)} KB (${size} bytes)`);
