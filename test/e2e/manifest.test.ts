/**
 * The extension manifest and package: activation on YAML only, the four commands contributed and registered,
 * every `yolo.*` setting described and scoped, untrusted workspaces declared, and a .vsix that holds only the
 * allowlisted bundles (checked with `vsce ls` when vsce is installed).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { PROFILE_COMMAND, SHOW_GRAPH_COMMAND } from '../../server/src/core/features/codeLens.ts';
import { DEFAULT_FLOPS_CONVENTION, FLOPS_CONVENTIONS } from '../../common/src/format.ts';
import { PROFILE_BACKENDS } from '../../server/src/protocol.ts';

const ROOT = join(import.meta.dirname, '../..');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  activationEvents: string[];
  main: string;
  capabilities: { untrustedWorkspaces: { supported: boolean | string; description?: string; restrictedConfigurations?: string[] } };
  contributes: {
    commands: { command: string; title: string; category: string }[];
    menus: Record<string, { command: string; when?: string }[]>;
    configuration: {
      properties: Record<
        string,
        { type: string; default: unknown; enum?: unknown[]; scope?: string; description?: string; markdownDescription?: string }
      >;
    };
  };
};

test('activates on YAML only, never on *', () => {
  assert.ok(pkg.activationEvents.includes('onLanguage:yaml'));
  assert.ok(!pkg.activationEvents.some((e) => e === '*' || e === 'onStartupFinished'));
  assert.equal(pkg.main, './dist/client.js');
});

test('the four commands are contributed, titled, in the palette and editor title, and registered by the client', () => {
  const titles: Record<string, string> = Object.fromEntries(pkg.contributes.commands.map((c) => [c.command, `${c.category}: ${c.title}`]));
  assert.deepEqual(titles, {
    'yolo.showGraph': 'YOLO Lens: Show Model Graph',
    'yolo.profile': 'YOLO Lens: Profile Model',
    'yolo.compareWith': 'YOLO Lens: Compare With...',
    'yolo.restartServer': 'YOLO Lens: Restart Server',
  });
  const source = readFileSync(join(ROOT, 'client/src/extension.ts'), 'utf8');
  for (const id of Object.keys(titles)) assert.ok(source.includes(`registerCommand('${id}'`), `${id} is registered`);
  assert.ok(pkg.contributes.menus['editor/title']!.some((m) => m.command === 'yolo.showGraph'));
  // the commands the server's code lens sends (with the document's URI) are ones the manifest contributes
  for (const id of [SHOW_GRAPH_COMMAND, PROFILE_COMMAND]) assert.ok(id in titles, `the code lens runs ${id}, which is not contributed`);
});

test('setting values are spelled as the code spells them: one list each', () => {
  const props = pkg.contributes.configuration.properties;
  assert.deepEqual(props['yolo.gflops']!.enum, [...FLOPS_CONVENTIONS]);
  assert.equal(props['yolo.gflops']!.default, DEFAULT_FLOPS_CONVENTION);
  assert.deepEqual(props['yolo.profile.backend']!.enum, [...PROFILE_BACKENDS]);
});

test('every yolo.* setting has a type, a default, a description and a scope', () => {
  const props = pkg.contributes.configuration.properties;
  for (const key of [
    'yolo.imgsz',
    'yolo.scale',
    'yolo.framework',
    'yolo.diagnostics.severity',
    'yolo.diagnostics.debounceMs',
    'yolo.gflops',
    'yolo.graph.debounceMs',
    'yolo.profile.backend',
    'yolo.profile.memoryLimitMB',
    'yolo.weights',
  ])
    assert.ok(props[key], `${key} is contributed`);
  for (const [key, p] of Object.entries(props)) {
    assert.match(key, /^yolo\./);
    assert.ok(p.type, `${key} type`);
    assert.notEqual(p.default, undefined, `${key} default`);
    assert.ok((p.description ?? p.markdownDescription ?? '').length > 20, `${key} description`);
    assert.ok(
      ['application', 'machine', 'machine-overridable', 'window', 'resource', 'language-overridable'].includes(p.scope ?? ''),
      `${key} scope`,
    );
  }
});

test('untrusted workspaces are declared', () => {
  const u = pkg.capabilities.untrustedWorkspaces;
  assert.equal(u.supported, 'limited');
  assert.ok((u.description ?? '').length > 20);
  for (const c of u.restrictedConfigurations ?? []) assert.ok(pkg.contributes.configuration.properties[c], c);
});

test('a finished package for the Marketplace and Open VSX: icon, links, keywords, a changelog entry for this version', () => {
  const manifest = pkg as unknown as {
    version: string;
    icon: string;
    repository: { url: string };
    bugs: { url: string };
    homepage: string;
    keywords: string[];
  };
  const icon = readFileSync(join(ROOT, manifest.icon));
  assert.equal(icon.subarray(1, 4).toString('latin1'), 'PNG', 'the icon is a PNG');
  // IHDR width and height: the Marketplace wants at least 128×128
  assert.ok(icon.readUInt32BE(16) >= 128 && icon.readUInt32BE(20) >= 128, `icon ${icon.readUInt32BE(16)}×${icon.readUInt32BE(20)}`);
  for (const url of [manifest.repository.url, manifest.bugs.url, manifest.homepage]) assert.match(url, /^https:\/\/github\.com\//);
  assert.ok(manifest.keywords.length >= 3 && manifest.keywords.length <= 30);
  const changelog = readFileSync(join(ROOT, 'CHANGELOG.md'), 'utf8');
  assert.ok(changelog.includes(`## ${manifest.version}`), `CHANGELOG.md has no entry for ${manifest.version}`);
});

test('the .vsix allowlist: bundles, manifest and docs only', (t) => {
  const vsce = [
    process.env.VSCE,
    join(process.env.E2E_CACHE || join(homedir(), '.cache/vscode-e2e'), 'tools/node_modules/.bin/vsce'),
    '/tmp/vscode-e2e/tools/node_modules/.bin/vsce',
  ].find((p): p is string => !!p && existsSync(p));
  if (!vsce) return t.skip('vsce is not installed (../shared/e2e/install-tools.sh)');
  const r = spawnSync(vsce, ['ls', '--no-dependencies'], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const files = r.stdout
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  assert.ok(files.includes('package.json'));
  const allowed = [
    /^(package\.json|README\.md|CHANGELOG\.md|LICENSE)$/,
    /^dist\/(client|server|cli|runtime-worker|webview)\.(js|css)$/,
    /^dist\/tfjs-backend-wasm(-simd|-threaded-simd)?\.wasm$/,
    /^dist\/tfjs-backend-wasm-threaded-simd(\.worker)?\.js$/,
    /^dist\/wasm-pthread\.cjs$/,
    /^schemas\/[\w.-]+\.json$/,
    /^docs\/(screenshot\.png|weights\.png|install\.md)$/,
    /^images\/icon\.png$/,
  ];
  for (const f of files)
    assert.ok(
      allowed.some((re) => re.test(f)),
      `${f} is not on the allowlist`,
    );
  assert.ok(!files.some((f) => f.startsWith('node_modules/') || f.endsWith('.map') || f.endsWith('.ts')));
});
