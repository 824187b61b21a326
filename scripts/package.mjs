// `npm run package`: production bundles (minified, no source maps), then dist/yolo-lens-<version>.vsix with
// @vscode/vsce 3.x (the last major that runs on Node 20). The build runs in a staging copy of the sources, so the
// working tree's dist/ (which running tests and servers use) is never rewritten under them.
//   --target linux-x64[,win32-x64...]  platform-specific packages instead (dist/yolo-lens-<target>-<version>.vsix):
//                                      each carries onnxruntime-node for its platform (scripts/vsix-targets.mjs);
//                                      `universal` names the package without native code
//   --all-targets                      the universal package and one per platform onnxruntime-node ships for
//   --dry-run                          prints the runtime files each package would carry (JSON), builds nothing
// vsce is not a dependency (it pulls ~140 MB of Azure packages): the one installed by the e2e tools
// (../shared/e2e/install-tools.sh) is used when present, else `npm exec` fetches it once. VSCE=path overrides.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, copyFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ORT_DIR, ortRuntimeFiles, platformTargets } from './vsix-targets.mjs';

const root = join(import.meta.dirname, '..');
const nodeModules = join(root, 'node_modules');
const VSCE_VERSION = '3.9.2';
const run = (cmd, args, cwd) => {
  const r = spawnSync(cmd, args, { cwd, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
};
const fail = (message) => {
  console.error(`package: ${message}`);
  process.exit(2);
};

const args = process.argv.slice(2);
const targets = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--target' && args[i + 1]) targets.push(...args[++i].split(','));
  else if (args[i] === '--all-targets') targets.push('universal', ...platformTargets(nodeModules));
  else if (args[i] !== '--dry-run') fail(`unknown argument ${args[i]} (--target T, --all-targets, --dry-run)`);
}
if (!targets.length) targets.push('universal');
const known = platformTargets(nodeModules);
for (const t of targets)
  if (t !== 'universal' && !known.includes(t))
    fail(`no onnxruntime-node binaries for ${t} in node_modules (${known.join(', ') || 'onnxruntime-node is not installed'})`);
const runtime = Object.fromEntries(targets.map((t) => [t, t === 'universal' ? [] : ortRuntimeFiles(nodeModules, t)]));
if (args.includes('--dry-run')) {
  console.log(JSON.stringify(runtime, null, 2));
  process.exit(0);
}

const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const stage = mkdtempSync(join(tmpdir(), 'yolo-lens-package-'));
try {
  const sources = ['server', 'client', 'webview', 'common', 'scripts', 'schemas', 'docs', 'images', 'tsconfig.json', 'tsconfig.base.json'];
  for (const p of ['package.json', 'README.md', 'CHANGELOG.md', 'LICENSE', '.vscodeignore', ...sources]) {
    if (existsSync(join(root, p))) cpSync(join(root, p), join(stage, p), { recursive: true });
  }
  symlinkSync(nodeModules, join(stage, 'node_modules'), 'dir');
  run(process.execPath, ['scripts/build.mjs', '--production'], stage);
  for (const f of ['dist/client.js', 'dist/server.js', 'dist/webview.js', 'dist/webview.css']) {
    if (!existsSync(join(stage, f))) console.warn(`warning: ${f} is missing: the extension will not work without it`);
  }
  const candidates = [
    process.env.VSCE,
    join(process.env.E2E_CACHE || join(homedir(), '.cache/vscode-e2e'), 'tools/node_modules/.bin/vsce'),
    '/tmp/vscode-e2e/tools/node_modules/.bin/vsce',
    join(root, 'node_modules/.bin/vsce'),
  ].filter(Boolean);
  const vsce = candidates.find((p) => existsSync(p));
  mkdirSync(join(root, 'dist'), { recursive: true });
  // one build, one package per target: only the runtime folder differs between them
  for (const target of targets) {
    rmSync(join(stage, ORT_DIR), { recursive: true, force: true });
    for (const f of runtime[target]) {
      mkdirSync(join(stage, ORT_DIR, f, '..'), { recursive: true });
      copyFileSync(join(nodeModules, f), join(stage, ORT_DIR, f));
    }
    const name = target === 'universal' ? `${pkg.name}-${pkg.version}.vsix` : `${pkg.name}-${target}-${pkg.version}.vsix`;
    // --no-dependencies: everything is bundled (the runtime folder is a plain folder of dist/, allowlisted in
    // .vscodeignore); --no-rewrite-relative-links: the README's images stay relative (the .vsix carries docs/screenshot.png)
    const flags = ['package', '--no-dependencies', '--no-rewrite-relative-links', '-o', name];
    if (target !== 'universal') flags.push('--target', target);
    if (vsce) run(vsce, flags, stage);
    else run('npm', ['exec', '--yes', `--package=@vscode/vsce@${VSCE_VERSION}`, '--', 'vsce', ...flags], stage);
    copyFileSync(join(stage, name), join(root, 'dist', name));
    const size = statSync(join(root, 'dist', name)).size;
    console.log(`dist/${name}: ${(size / 1024).toFixed(0)} KB (${size} bytes)`);
  }
} finally {
  rmSync(stage, { recursive: true, force: true });
}
