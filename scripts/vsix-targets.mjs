// The platform-specific packages (`npm run package -- --target linux-x64`): each carries onnxruntime-node for its
// own platform, the profile's fastest engine, which the universal package (no native code) cannot. The files go to
// dist/onnxruntime/node_modules/ in the package, where server/src/runtime/ort.ts looks first; the layout inside each
// package is npm's, so onnxruntime-node's own `require('onnxruntime-common')` and its binding path resolve there.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Where the runtime goes inside the extension (the .vscodeignore allowlist names it). */
export const ORT_DIR = 'dist/onnxruntime/node_modules';

/** onnxruntime-node's binaries by platform: bin/napi-v6/<os>/<arch>/, each with its own libonnxruntime. */
const binDir = (nodeModules) => join(nodeModules, 'onnxruntime-node/bin/napi-v6');

/** The VS Code targets onnxruntime-node ships binaries for (`linux-x64`, `darwin-arm64`, `win32-x64`...). */
export function platformTargets(nodeModules) {
  const bin = binDir(nodeModules);
  if (!existsSync(bin)) return [];
  return readdirSync(bin)
    .flatMap((os) => readdirSync(join(bin, os)).map((arch) => `${os}-${arch}`))
    .sort();
}

function filesUnder(dir, rel = '') {
  return readdirSync(join(dir, rel)).flatMap((e) =>
    statSync(join(dir, rel, e)).isDirectory() ? filesUnder(dir, join(rel, e)) : [join(rel, e).split('\\').join('/')],
  );
}

// what runs: the JavaScript and manifests, not the typings or source maps. Of the binaries: the binding and the one
// library it links (by that name: macOS's libonnxruntime.1.31.1.dylib is a byte copy of libonnxruntime.1.dylib),
// which holds the CPU provider the profile asks for. Not what only other providers load when asked for: DirectML and
// dxcompiler on Windows (loaded on demand, not imported), the CUDA and TensorRT libraries the install script may fetch.
const isCode = (f) => /\.(js|json)$/.test(f);
const isCpuBinary = (f) => /^(onnxruntime_binding\.node|libonnxruntime\.so\.\d+|libonnxruntime\.\d+\.dylib|onnxruntime\.dll)$/.test(f);

/**
 * The files a target's package carries, as paths relative to node_modules (the same under ORT_DIR): onnxruntime-node's
 * JavaScript and this platform's binaries only, and the CommonJS build of onnxruntime-common it requires.
 */
export function ortRuntimeFiles(nodeModules, target) {
  const [os, arch] = target.split('-');
  const platform = join(binDir(nodeModules), os, arch);
  if (!existsSync(platform)) throw new Error(`onnxruntime-node has no binaries for ${target} (${platform})`);
  const parts = [
    ['onnxruntime-node', 'dist', isCode],
    ['onnxruntime-node', `bin/napi-v6/${os}/${arch}`, isCpuBinary],
    ['onnxruntime-common', 'dist/cjs', isCode],
  ];
  const files = ['onnxruntime-node/package.json', 'onnxruntime-common/package.json'];
  for (const [pkg, sub, keep] of parts)
    files.push(
      ...filesUnder(join(nodeModules, pkg, sub))
        .filter(keep)
        .map((f) => `${pkg}/${sub}/${f}`),
    );
  return files;
}
