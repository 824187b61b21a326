// Bundles with esbuild: client (VS Code extension host), server and CLI (Node), webview (browser), runtime worker.
// `tsc` only type-checks (npm run typecheck). Entries that do not exist yet are skipped.
import { build } from 'esbuild';
import { copyFileSync, existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const quiet = process.argv.includes('--quiet');
const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');

// ESM entry points first: some packages' UMD builds (jsonc-parser) use requires esbuild cannot follow
const node = {
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  bundle: true,
  sourcemap: !production,
  minify: production,
  logLevel: 'warning',
  mainFields: ['module', 'main'],
};
const entries = [
  { in: 'client/src/extension.ts', out: 'dist/client.js', opts: { ...node, external: ['vscode'] } },
  { in: 'server/src/server.ts', out: 'dist/server.js', opts: node },
  { in: 'server/src/cli.ts', out: 'dist/cli.js', opts: { ...node, banner: { js: '#!/usr/bin/env node' } } },
  { in: 'server/src/core/index.ts', out: 'dist/core.js', opts: node },
  { in: 'server/src/runtime/worker.ts', out: 'dist/runtime-worker.js', opts: { ...node, external: ['@tensorflow/tfjs-node'] } },
  {
    in: 'webview/src/main.ts',
    out: 'dist/webview.js',
    opts: {
      platform: 'browser',
      target: 'es2022',
      format: 'iife',
      bundle: true,
      sourcemap: !production,
      minify: production,
      logLevel: 'warning',
    },
  },
];

mkdirSync(join(root, 'dist'), { recursive: true });
const started = Date.now();
for (const e of entries) {
  const src = join(root, e.in);
  if (!existsSync(src)) continue;
  await build({ ...e.opts, entryPoints: [src], outfile: join(root, e.out), absWorkingDir: root });
  if (!quiet) console.log(`built ${e.out} (${(statSync(join(root, e.out)).size / 1024).toFixed(0)} KB)`);
}
// the runtime worker's WebAssembly backend loads its binaries from beside the bundle (dist/, and so the VSIX); the
// threaded build also needs its Emscripten glue and worker code (each pthread loads them) and our pthread starter
// (server/src/runtime/backend.ts says why)
const wasmPkg = join(root, 'node_modules/@tensorflow/tfjs-backend-wasm');
if (existsSync(join(root, 'dist/runtime-worker.js')) && existsSync(wasmPkg)) {
  const files = [
    'dist/tfjs-backend-wasm-simd.wasm',
    'dist/tfjs-backend-wasm.wasm',
    'dist/tfjs-backend-wasm-threaded-simd.wasm',
    'wasm-out/tfjs-backend-wasm-threaded-simd.js',
    'wasm-out/tfjs-backend-wasm-threaded-simd.worker.js',
  ];
  for (const f of files) copyFileSync(join(wasmPkg, f), join(root, 'dist', f.split('/').pop()));
  copyFileSync(join(root, 'server/src/runtime/wasm-pthread.cjs'), join(root, 'dist/wasm-pthread.cjs'));
}
if (!quiet) console.log(`build done in ${Date.now() - started} ms`);
if (watch) console.log('--watch is not supported; re-run the build');
