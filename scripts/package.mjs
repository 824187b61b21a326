// `npm run package`: production bundles (minified, no source maps), then dist/yolo-lens-<version>.vsix with
// @vscode/vsce 3.x (the last major that runs on Node 20). The build runs in a staging copy of the sources, so the
// working tree's dist/ (which running tests and servers use) is never rewritten under them.
// vsce is not a dependency (it pulls ~140 MB of Azure packages): the one installed by the e2e tools
// (../shared/e2e/install-tools.sh) is used when present, else `npm exec` fetches it once. VSCE=path overrides.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, copyFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const VSCE_VERSION = '3.9.2';
const run = (cmd, args, cwd) => {
  const r = spawnSync(cmd, args, { cwd, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
};

const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const stage = mkdtempSync(join(tmpdir(), 'yolo-lens-package-'));
try {
  const sources = ['server', 'client', 'webview', 'common', 'scripts', 'schemas', 'docs', 'images', 'tsconfig.json', 'tsconfig.base.json'];
  for (const p of ['package.json', 'README.md', 'CHANGELOG.md', 'LICENSE', '.vscodeignore', ...sources]) {
    if (existsSync(join(root, p))) cpSync(join(root, p), join(stage, p), { recursive: true });
  }
  symlinkSync(join(root, 'node_modules'), join(stage, 'node_modules'), 'dir');
  run(process.execPath, ['scripts/build.mjs', '--production'], stage);
  for (const f of ['dist/client.js', 'dist/server.js', 'dist/webview.js', 'dist/webview.css']) {
    if (!existsSync(join(stage, f))) console.warn(`warning: ${f} is missing: the extension will not work without it`);
  }
  const name = `${pkg.name}-${pkg.version}.vsix`;
  const candidates = [
    process.env.VSCE,
    join(process.env.E2E_CACHE || join(homedir(), '.cache/vscode-e2e'), 'tools/node_modules/.bin/vsce'),
    '/tmp/vscode-e2e/tools/node_modules/.bin/vsce',
    join(root, 'node_modules/.bin/vsce'),
  ].filter(Boolean);
  const vsce = candidates.find((p) => existsSync(p));
  // --no-dependencies: everything is bundled; --no-rewrite-relative-links: the README's images stay relative
  // (the .vsix carries docs/screenshot.png).
  const flags = ['package', '--no-dependencies', '--no-rewrite-relative-links', '-o', name];
  if (vsce) run(vsce, flags, stage);
  else run('npm', ['exec', '--yes', `--package=@vscode/vsce@${VSCE_VERSION}`, '--', 'vsce', ...flags], stage);
  mkdirSync(join(root, 'dist'), { recursive: true });
  copyFileSync(join(stage, name), join(root, 'dist', name));
  const size = statSync(join(root, 'dist', name)).size;
  console.log(`dist/${name}: ${(size / 1024).toFixed(0)} KB (${size} bytes)`);
} finally {
  rmSync(stage, { recursive: true, force: true });
}
