// The walls of the house, held by a tool (`npm run lint`). Each room of the source tree may import only what its
// row below says; the resolved path of every import is checked (import-x/no-restricted-paths), module names too
// (no-restricted-imports), import cycles are refused, and no extension source can run code it did not ship with.
//
//   common/src/          pure leaf modules every room shares (formatting, categories): imports nothing
//   server/src/core/     parse → resolve → features: itself and common; no node, no vscode, no LSP, no protocol
//   server/src/runtime/  the profile worker (tfjs): core, common, protocol, node
//   server/src/*.ts      the language server, CLI, protocol and LSP conversions: core, runtime, common, node
//   webview/src/         the graph panel (browser): common, protocol types, its npm packages (d3, d3-dag, zod, diff)
//   client/src/          the VS Code extension: vscode, node, common, the protocol and the panel's message
//                        contract (webview/src/messages.ts, itself only zod, protocol types and common)
import { builtinModules } from 'node:module';
import { defineConfig, globalIgnores } from 'eslint/config';
import tseslint from 'typescript-eslint';
import { createNodeResolver, importX } from 'eslint-plugin-import-x';

const NODE_BUILTINS = builtinModules.filter((m) => !m.startsWith('_'));
const node = { group: ['node:*', ...NODE_BUILTINS, ...NODE_BUILTINS.map((m) => `${m}/*`)], message: 'no node modules in this room' };
const vscode = { group: ['vscode', 'vscode-*', 'vscode-*/*'], message: 'no editor or LSP packages in this room' };
const tfjs = { group: ['@tensorflow/*'], message: 'tensors belong to server/src/runtime' };
const protocolTypesOnly = {
  group: ['**/protocol.ts'],
  allowTypeImports: true,
  message: 'the webview takes the protocol types only (`import type`)',
};

// code that runs other code: nowhere in the extension (nothing from a workspace is ever executed)
const runsCode = [
  { group: ['child_process', 'node:child_process'], message: 'spawns processes' },
  { group: ['vm', 'node:vm'], message: 'evaluates code' },
];
/** no-restricted-imports for a room: what runs code, plus the room's own walls. */
const restrictedImports = (...patterns) => ['error', { patterns: [...runsCode, ...patterns] }];

/** Folder walls by resolved path: `target` may not import from `from` (but for `except`, relative to `from`). */
const wall = (target, from, message, except) => ({ target, from, message, ...(except ? { except } : {}) });
const EXTENSION = ['./server/src', './client/src', './webview/src', './common/src'];
const OUTSIDE = ['./test', './bench', './scripts'];
const walls = [
  wall('./common/src', ['./server', './client', './webview', ...OUTSIDE], 'common/src is a leaf: it imports nothing'),
  wall('./server/src/core', './server/src', 'the core imports only itself and common/src', ['./core']),
  wall('./server/src/core', ['./client', './webview', ...OUTSIDE], 'the core imports only itself and common/src'),
  wall('./server/src/runtime', './server/src', 'the runtime imports core, common and protocol types', [
    './core',
    './runtime',
    './protocol.ts',
  ]),
  wall('./server/src', ['./client', './webview'], 'the server knows neither the client nor the webview'),
  wall('./webview/src', './server/src', 'the webview imports protocol types and common/src only', ['./protocol.ts']),
  wall('./webview/src', './client', 'the webview does not import the client'),
  wall('./webview/src/messages.ts', './webview/src', 'the message contract is shared with the client: zod, protocol and common only', [
    './messages.ts',
  ]),
  wall('./client/src', './server/src', 'the client imports the protocol and common/src only', ['./protocol.ts']),
  wall('./client/src', './webview/src', 'the client imports only the message contract of the webview', ['./messages.ts']),
  ...EXTENSION.map((target) => wall(target, OUTSIDE, 'extension sources do not import tests, benches or scripts')),
];

export default defineConfig([
  globalIgnores(['node_modules/', 'dist/', '.tsbuild/', 'test-artifacts/', '.bench-out/', 'test/fixtures/', '**/*.d.ts']),
  {
    files: ['**/*.ts', '**/*.mjs'],
    extends: [tseslint.configs.base],
    plugins: { 'import-x': importX },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    settings: {
      'import-x/extensions': ['.ts', '.mjs', '.js'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts', '.mjs', '.js'] },
      'import-x/resolver-next': [createNodeResolver({ extensions: ['.ts', '.mjs', '.js', '.json'] })],
    },
    rules: {
      'import-x/no-cycle': 'error',
      'import-x/no-restricted-paths': ['error', { zones: walls }],
      'import-x/no-self-import': 'error',
    },
  },
  {
    // everything the extension ships: nothing evaluates code or finds code relative to the working directory
    files: ['server/src/**/*.ts', 'client/src/**/*.ts', 'webview/src/**/*.ts', 'common/src/**/*.ts'],
    rules: {
      'no-eval': 'error',
      'no-implied-eval': 'error',
      'no-new-func': 'error',
      '@typescript-eslint/no-restricted-imports': restrictedImports(),
      'no-restricted-syntax': [
        'error',
        { selector: 'ImportExpression[source.type!="Literal"]', message: 'imports code by a computed path' },
        {
          selector: 'CallExpression[callee.name="require"][arguments.0.type!="Literal"]',
          message: 'loads code by a computed path',
        },
        {
          selector: 'NewExpression[callee.name="Worker"] Property[key.name="eval"][value.value=true]',
          message: 'runs a string as code in a worker',
        },
      ],
      'no-restricted-properties': [
        'error',
        { object: 'process', property: 'binding', message: 'reaches into native bindings' },
        { object: 'process', property: 'dlopen', message: 'loads native code' },
        {
          object: 'process',
          property: 'cwd',
          message: 'the working directory is the workspace folder in the editor: find files from the extension itself',
        },
      ],
    },
  },
  {
    files: ['common/src/**/*.ts'],
    rules: { '@typescript-eslint/no-restricted-imports': restrictedImports({ regex: '^[^.]', message: 'common/src imports no package' }) },
  },
  {
    files: ['server/src/core/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': restrictedImports(node, vscode, tfjs),
      // the core reads as phases and rules a newcomer can follow: a function that outgrows a screenful is split
      'max-lines-per-function': ['error', { max: 150 }],
    },
  },
  {
    files: ['webview/src/**/*.ts'],
    rules: { '@typescript-eslint/no-restricted-imports': restrictedImports(node, vscode, tfjs, protocolTypesOnly) },
  },
  { files: ['client/src/**/*.ts'], rules: { '@typescript-eslint/no-restricted-imports': restrictedImports(tfjs) } },
]);
