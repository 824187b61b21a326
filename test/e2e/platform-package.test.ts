/**
 * The platform-specific packages (scripts/package.mjs --target, scripts/vsix-targets.mjs): each carries
 * onnxruntime-node for its own platform only, with every module its JavaScript requires, and the universal package
 * carries none. On a platform onnxruntime-node ships for (linux-x64 here), the package is built, unpacked away from
 * the repo's node_modules, and its CLI profiles on the onnxruntime-node it carries; without its library the same
 * profile falls back to tfjs and says why.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { extractZip, readZip } from '../support/zip.ts';

const ROOT = join(import.meta.dirname, '../..');
const ORT = join(ROOT, 'node_modules/onnxruntime-node');
const RUNTIME = 'extension/dist/onnxruntime/node_modules/';
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { name: string; version: string };
const here = `${process.platform}-${process.arch}`;

function packageScript(...args: string[]): string {
  const r = spawnSync(process.execPath, ['scripts/package.mjs', ...args], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(r.status, 0, `package.mjs ${args.join(' ')} failed:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

test('each platform package lists its own binaries and every module its JavaScript requires; the universal one none', (t) => {
  if (!existsSync(ORT)) return t.skip('onnxruntime-node is not installed (an optional dependency)');
  const runtime = JSON.parse(packageScript('--all-targets', '--dry-run')) as Record<string, string[]>;
  assert.deepEqual(runtime.universal, []);
  const targets = Object.keys(runtime).filter((k) => k !== 'universal');
  for (const t of ['linux-x64', 'linux-arm64', 'darwin-arm64', 'win32-x64', 'win32-arm64']) assert.ok(targets.includes(t), t);
  for (const target of targets) {
    const files = runtime[target]!;
    const [os, arch] = target.split('-');
    const binaries = files.filter((f) => f.includes('/bin/'));
    // the binding and the library it links, of this platform, and nothing else (no other platform, no CUDA)
    assert.equal(binaries.length, 2, `${target}: ${binaries.join(', ')}`);
    for (const b of binaries) assert.match(b, new RegExp(`^onnxruntime-node/bin/napi-v6/${os}/${arch}/[^/]+$`), target);
    assert.ok(binaries.some((b) => b.endsWith('/onnxruntime_binding.node')));
    assert.ok(!files.some((f) => /\.(map|ts)$|providers_/.test(f)), `${target}: typings, maps or providers`);
    // every require of the shipped JavaScript resolves inside the package (or is node's own)
    for (const f of files.filter((x) => x.endsWith('.js'))) {
      const source = readFileSync(join(ROOT, 'node_modules', f), 'utf8');
      for (const [, spec] of source.matchAll(/require\("([^"]+)"\)/g)) {
        if (builtinModules.includes(spec!)) continue;
        if (spec!.startsWith('.')) {
          const base = join(f, '..', spec!);
          assert.ok(
            [`${base}.js`, base, join(base, 'index.js')].some((c) => files.includes(c)),
            `${f} requires ${spec}, not shipped`,
          );
        } else assert.equal(spec, 'onnxruntime-common', `${f} requires ${spec}`);
      }
    }
    for (const main of ['onnxruntime-node/dist/index.js', 'onnxruntime-common/dist/cjs/index.js']) assert.ok(files.includes(main), main);
  }
});

const vsce = [
  process.env.VSCE,
  join(process.env.E2E_CACHE || join(homedir(), '.cache/vscode-e2e'), 'tools/node_modules/.bin/vsce'),
  '/tmp/vscode-e2e/tools/node_modules/.bin/vsce',
].find((p): p is string => !!p && existsSync(p));

test(`the ${here} package profiles on the onnxruntime-node it carries, unpacked away from the repo`, { timeout: 240_000 }, (t) => {
  if (!existsSync(join(ORT, 'bin/napi-v6', process.platform, process.arch)))
    return t.skip(`onnxruntime-node ships no binaries for ${here} (or is not installed)`);
  if (!vsce) return t.skip('vsce is not installed (../shared/e2e/install-tools.sh)');
  packageScript('--target', `universal,${here}`);
  const universal = readZip(join(ROOT, `dist/${pkg.name}-${pkg.version}.vsix`)).map((e) => e.name);
  assert.ok(universal.includes('extension/dist/runtime-worker.js'));
  assert.ok(!universal.some((f) => f.startsWith(RUNTIME)), 'the universal package carries no onnxruntime');
  const vsix = join(ROOT, `dist/${pkg.name}-${here}-${pkg.version}.vsix`);
  const entries = readZip(vsix);
  const manifest = entries
    .find((e) => e.name === 'extension.vsixmanifest')!
    .data()
    .toString('utf8');
  assert.match(manifest, new RegExp(`TargetPlatform="${here}"`));
  const shipped = entries.map((e) => e.name).filter((f) => f.startsWith(RUNTIME));
  assert.ok(shipped.some((f) => f.endsWith(`/bin/napi-v6/${process.platform}/${process.arch}/onnxruntime_binding.node`)));

  // a folder of its own in the temp dir, run from another folder: no node_modules above either
  const dir = mkdtempSync(join(tmpdir(), 'yolo-lens-platform-package-'));
  try {
    extractZip(vsix, dir);
    const model = join(dir, 'slimneck-yolov5n.yaml');
    cpSync(join(ROOT, 'examples/slimneck-yolov5n.yaml'), model);
    const profile = () => {
      const args = [join(dir, 'extension/dist/cli.js'), 'profile', model, '--imgsz', '128', '--runs', '1', '--json'];
      const r = spawnSync(process.execPath, args, { cwd: tmpdir(), encoding: 'utf8', env: { ...process.env, NODE_PATH: '' } });
      assert.equal(r.status, 0, r.stderr);
      return JSON.parse(r.stdout) as { backend: string; backendDetail: string; warnings: string[]; layers: unknown[] };
    };
    const onOrt = profile();
    assert.equal(onOrt.backend, 'onnxruntime-node', onOrt.warnings.join('\n'));
    assert.match(onOrt.backendDetail, /^onnxruntime-node \d+\.\d+\.\d+ \(CPU/);
    assert.deepEqual(onOrt.warnings, []);
    assert.equal(onOrt.layers.length, 32);

    // the library gone (as a libc or system library the binary cannot load): tfjs runs it, and the warning says why
    const lib = shipped.find((f) => /\/(lib)?onnxruntime(\.so\.\d+|\.\d+\.dylib|\.dll)$/.test(f))!;
    rmSync(join(dir, lib));
    const fallback = profile();
    assert.equal(fallback.backend, 'wasm');
    assert.equal(fallback.warnings.length, 1, fallback.warnings.join('\n'));
    assert.match(
      fallback.warnings[0]!,
      /^the onnxruntime-node this package carries did not load \(.*onnxruntime.*\); the tfjs runtime ran it$/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
