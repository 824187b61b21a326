/**
 * `yolo-lens`, the command line over the core: `summary` (the parse_model table with shapes and GFLOPs, or the
 * reference-record JSON), `check` (diagnostics for many files in one process, exit 1 on errors), `profile` (a timed
 * dummy forward pass), `transfer` (what a pretrained checkpoint loads into the model; cliTransfer.ts) and
 * `lsp --stdio` (the language server, for any editor).
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve as resolvePath } from 'node:path';
import { loadUserModules, USER_CONFIG_FILE, type UserModules } from './core/declaredModules.ts';
import { resolve, type ResolveOptions } from './core/resolve.ts';
import { LineIndex } from './core/lines.ts';
import { recordJson, summaryTable } from './core/summary.ts';
import { FRAMEWORKS, FRAMEWORK_ALIASES, frameworkByName, frameworkNames } from './core/framework/index.ts';
import { diag, type Diagnostic } from './core/diagnostics.ts';
import { profileModel } from './runtime/profile.ts';
import { formatProfile } from './runtime/format.ts';
import { PROFILE_BACKENDS } from './protocol.ts';
import { FLOPS_CONVENTIONS } from '../../common/src/format.ts';
import { LineError, transferCommand } from './cliTransfer.ts';

const USAGE = `usage:
  yolo-lens summary FILE [--scale S] [--imgsz N] [--framework F] [--convention ${FLOPS_CONVENTIONS.join('|')}] [--json]
  yolo-lens check FILE... [--scale S] [--imgsz N] [--framework F] [--json]
  yolo-lens profile FILE [--scale S] [--imgsz N] [--batch B] [--runs R] [--backend ${PROFILE_BACKENDS.join('|')}] [--json]
  yolo-lens transfer FILE --weights CKPT [--scale S] [--framework F] [--nc N] [--ch C] [--json] [--remap out.pt]
  yolo-lens lsp --stdio

A .yolo-lens.json next to a file (or in a folder above it) declares extra modules; --no-user-modules ignores it.
transfer: --nc/--ch are the dataset's class and channel counts (the trainers pass them over the YAML's); --remap
writes CKPT with the layers an edit shifted moved to their new indices, so that the framework's loader takes them.

--framework F: the code base and version that builds the file (default: detected from the file)
${Object.values(FRAMEWORKS)
  .map((f) => `  ${f!.id.padEnd(16)} ${f!.label}`)
  .join('\n')}
  ultralytics      the newest ultralytics (${FRAMEWORK_ALIASES.ultralytics})`;

interface Parsed {
  command: string;
  files: string[];
  flags: Map<string, string | true>;
}

const VALUE_FLAGS = new Set([
  '--scale',
  '--imgsz',
  '--framework',
  '--convention',
  '--batch',
  '--runs',
  '--backend',
  '--warmup',
  '--memory-limit',
  '--weights',
  '--nc',
  '--ch',
  '--remap',
]);

function parseArgs(argv: string[]): Parsed {
  const [command = '', ...rest] = argv;
  const files: string[] = [];
  const flags = new Map<string, string | true>();
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i]!;
    if (a.startsWith('--')) {
      const [k, v] = a.includes('=') ? (a.split(/=(.*)/s) as [string, string]) : [a, undefined];
      if (VALUE_FLAGS.has(k)) {
        const value = v ?? rest[++i];
        if (value === undefined) throw new UsageError(`${k} needs a value`);
        flags.set(k, value);
      } else flags.set(k, true);
    } else files.push(a);
  }
  return { command, files, flags };
}

class UsageError extends Error {}

function intFlag(p: Parsed, name: string, min: number, max: number): number | undefined {
  const v = p.flags.get(name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`${name} must be an integer from ${min} to ${max}, got '${v}'`);
  return n;
}

/** A flag that takes one of a few words; absent: undefined. */
function choiceFlag<T extends string>(p: Parsed, name: string, choices: readonly T[]): T | undefined {
  const v = p.flags.get(name);
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !(choices as readonly string[]).includes(v))
    throw new UsageError(`${name} must be one of ${choices.join(', ')}, got '${v === true ? '' : v}'`);
  return v as T;
}

/** `.yolo-lens.json` in the file's folder or the nearest folder above it (read, never executed); cached per path. */
interface UserConfig {
  modules: UserModules;
  /** the config file's problems, as `check` prints them */
  problems: string[];
  hasErrors: boolean;
}
const configs = new Map<string, UserConfig | null>();
function userModulesFor(file: string, p: Parsed): UserConfig | null {
  if (p.flags.has('--no-user-modules')) return null;
  let dir = dirname(resolvePath(file));
  for (;;) {
    const path = join(dir, USER_CONFIG_FILE);
    if (configs.has(path)) return configs.get(path)!;
    if (existsSync(path)) {
      const text = readFileSync(path, 'utf8');
      const { modules, diagnostics } = loadUserModules(text);
      const lines = new LineIndex(text);
      const problems = diagnostics.map((d) => formatDiagnostic(path, lines, d));
      const c = { modules, problems, hasErrors: diagnostics.some((d) => d.severity === 'error') };
      configs.set(path, c);
      return c;
    }
    const up = dirname(dir);
    if (up === dir) return null;
    dir = up;
  }
}

function resolveOptions(p: Parsed, file: string): ResolveOptions {
  const framework = p.flags.get('--framework');
  if (framework !== undefined && (framework === true || !frameworkByName(framework)))
    throw new UsageError(`--framework must be one of ${frameworkNames().join(', ')}`);
  const scale = p.flags.get('--scale');
  const imgsz = intFlag(p, '--imgsz', 32, 8192);
  const declared = userModulesFor(file, p);
  return {
    fileName: file,
    ...(declared ? { userModules: declared.modules } : {}),
    ...(typeof framework === 'string' ? { framework } : {}),
    ...(typeof scale === 'string' ? { scale } : {}),
    ...(imgsz !== undefined ? { imgsz } : {}),
  };
}

/**
 * The file as the frameworks read it: bytes that are not UTF-8 are dropped (both open it with `errors='ignore'`),
 * and a YOLO033 warning says where the first one was. Node's own decoding would put U+FFFD in their place
 * (a module name `Co\xffnv` would become unknown where the framework reads `Conv`).
 */
function readText(file: string): { text: string; notes: Diagnostic[] } {
  const st = statSync(file);
  if (!st.isFile()) throw new UsageError(`${file} is not a file`);
  // the resolver refuses anything over 2 MB anyway; a file of gigabytes would not even fit in a Node buffer
  if (st.size > 64 * 2 ** 20)
    throw new UsageError(`${file} is ${(st.size / 2 ** 20).toFixed(0)} MB: not a model file (YOLO Lens analyses model files up to 2 MB)`);
  const bytes = readFileSync(file);
  try {
    return { text: new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes), notes: [] };
  } catch {
    // not UTF-8: decoded below
  }
  const lossy = new TextDecoder('utf-8', { ignoreBOM: true }).decode(bytes);
  const at = lossy.indexOf('\ufffd');
  const badByte = bytes[Buffer.byteLength(lossy.slice(0, at))] ?? 0;
  // a U+FFFD the file really holds (EF BF BD) is text: then only the decoder's replacements cannot be told apart
  const text = bytes.includes(Buffer.from([0xef, 0xbf, 0xbd])) ? lossy : lossy.replace(/\ufffd/g, '');
  const message =
    `the file is not valid UTF-8 (byte 0x${badByte.toString(16).toUpperCase().padStart(2, '0')} at byte ` +
    `${Buffer.byteLength(lossy.slice(0, at))}): such bytes are dropped, as the frameworks drop them when they read the file`;
  return { text, notes: [diag('YOLO033', { start: at, end: at }, message)] };
}

function formatDiagnostic(
  file: string,
  lines: LineIndex,
  d: Pick<Diagnostic, 'range' | 'severity' | 'message'> & { code: string },
): string {
  const p = lines.position(d.range.start);
  return `${file}:${p.line + 1}:${p.character + 1}: ${d.severity} ${d.code} ${d.message}`;
}

function jsonDiagnostic(lines: LineIndex, d: Diagnostic) {
  return {
    code: d.code,
    severity: d.severity,
    message: d.message,
    range: { start: lines.position(d.range.start), end: lines.position(d.range.end) },
  };
}

async function main(argv: string[]): Promise<number> {
  const p = parseArgs(argv);
  const out = (s: string) => process.stdout.write(s.endsWith('\n') ? s : s + '\n');
  switch (p.command) {
    case 'summary': {
      if (p.files.length !== 1) throw new UsageError('summary takes one FILE');
      const file = p.files[0]!;
      const { text, notes } = readText(file);
      const model = resolve(text, resolveOptions(p, file));
      if (p.flags.has('--json')) out(recordJson(model, file));
      else {
        out(summaryTable(model, choiceFlag(p, '--convention', FLOPS_CONVENTIONS)));
        const lines = new LineIndex(model.doc.text);
        const problems = [...notes, ...model.diagnostics].filter((d) => d.severity === 'error' || d.severity === 'warning');
        if (problems.length) out('\n' + problems.map((d) => formatDiagnostic(file, lines, d)).join('\n'));
      }
      return model.ok ? 0 : 1;
    }
    case 'check': {
      if (p.files.length === 0) throw new UsageError('check takes at least one FILE');
      let failed = false;
      const results: unknown[] = [];
      const reportedConfigs = new Set<unknown>();
      for (const file of p.files) {
        let text: string;
        let notes: Diagnostic[];
        try {
          ({ text, notes } = readText(file));
        } catch (e) {
          failed = true;
          const message = e instanceof UsageError ? e.message : `cannot read ${file}: ${(e as Error).message}`;
          if (p.flags.has('--json'))
            results.push({
              file,
              diagnostics: [
                {
                  code: 'YOLO000',
                  severity: 'error',
                  message,
                  range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } },
                },
              ],
            });
          else out(`${file}:1:1: error YOLO000 ${message}`);
          continue;
        }
        const model = resolve(text, resolveOptions(p, file));
        const lines = new LineIndex(text);
        const diagnostics = [...notes, ...model.diagnostics];
        const config = userModulesFor(file, p);
        if (config && config.problems.length && !reportedConfigs.has(config)) {
          reportedConfigs.add(config);
          if (!p.flags.has('--json')) for (const line of config.problems) out(line);
          if (config.hasErrors) failed = true;
        }
        if (model.diagnostics.some((d) => d.severity === 'error')) failed = true;
        if (p.flags.has('--json')) results.push({ file, diagnostics: diagnostics.map((d) => jsonDiagnostic(lines, d)) });
        else for (const d of diagnostics) if (d.severity !== 'information' && d.severity !== 'hint') out(formatDiagnostic(file, lines, d));
      }
      if (p.flags.has('--json')) out(JSON.stringify(results, null, 2));
      return failed ? 1 : 0;
    }
    case 'profile': {
      if (p.files.length !== 1) throw new UsageError('profile takes one FILE');
      const file = p.files[0]!;
      const opts = resolveOptions(p, file);
      const model = resolve(readText(file).text, opts);
      if (!model.ok) {
        const lines = new LineIndex(model.doc.text);
        out(
          model.diagnostics
            .filter((d) => d.severity === 'error')
            .map((d) => formatDiagnostic(file, lines, d))
            .join('\n'),
        );
        out('the model does not build: nothing to profile');
        return 1;
      }
      const backend = choiceFlag(p, '--backend', PROFILE_BACKENDS);
      const batch = intFlag(p, '--batch', 1, 256);
      const runs = intFlag(p, '--runs', 1, 1000);
      const warmup = intFlag(p, '--warmup', 0, 100);
      const memoryLimitMB = intFlag(p, '--memory-limit', 1, 1 << 20);
      const result = await profileModel(model, {
        ...(opts.imgsz !== undefined ? { imgsz: opts.imgsz } : {}),
        ...(batch !== undefined ? { batch } : {}),
        ...(runs !== undefined ? { runs } : {}),
        ...(warmup !== undefined ? { warmup } : {}),
        ...(memoryLimitMB !== undefined ? { memoryLimitMB } : {}),
        ...(backend !== undefined ? { backend } : {}),
        onProgress:
          p.flags.has('--json') || !process.stderr.isTTY
            ? undefined
            : (done, total, message) => process.stderr.write(`\r${message} ${done}/${total}   `),
      });
      if (!p.flags.has('--json') && process.stderr.isTTY) process.stderr.write('\r\x1b[K');
      out(p.flags.has('--json') ? JSON.stringify(result, null, 2) : formatProfile(result));
      return result.error ? 1 : 0;
    }
    case 'transfer':
      try {
        if (p.files.length !== 1) throw new LineError('transfer takes one FILE');
        const file = p.files[0]!;
        const weights = p.flags.get('--weights');
        if (typeof weights !== 'string' || !weights) throw new LineError('transfer needs --weights CKPT');
        const remap = p.flags.get('--remap');
        if (remap === true || remap === '') throw new LineError('--remap needs an output file');
        const nc = intFlag(p, '--nc', 1, 100_000);
        const ch = intFlag(p, '--ch', 1, 4096);
        let text: string;
        try {
          text = readText(file).text;
        } catch (e) {
          throw new LineError(e instanceof UsageError ? e.message : `cannot read ${file} (${(e as Error).message})`);
        }
        const model = resolve(text, {
          ...resolveOptions(p, file),
          ...(nc !== undefined ? { nc } : {}),
          ...(ch !== undefined ? { ch } : {}),
        });
        return transferCommand(model, file, { weights, json: p.flags.has('--json'), remap: remap ?? null }, out);
      } catch (e) {
        // every failure of transfer is one line
        throw e instanceof UsageError ? new LineError(e.message) : e;
      }
    case 'lsp': {
      // The server is its own bundle next to this one; it reads stdin/stdout itself.
      // eslint-disable-next-line no-restricted-syntax -- `lsp` loads the extension's own server bundle beside the CLI
      const server = require(join(__dirname, 'server.js')) as { startServer?: () => void };
      if (typeof server.startServer === 'function') server.startServer();
      return -1;
    }
    case '':
    case 'help':
    case '--help':
    case '-h':
      out(USAGE);
      return p.command === '' ? 2 : 0;
    default:
      throw new UsageError(`unknown command '${p.command}'`);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (e: unknown) => {
    if (e instanceof UsageError && process.argv[2] !== 'transfer') {
      process.stderr.write(`yolo-lens: ${e.message}\n\n${USAGE}\n`);
      process.exitCode = 2;
    } else if (e instanceof LineError || e instanceof UsageError) {
      process.stderr.write(`yolo-lens: ${e.message}\n`);
      process.exitCode = 2;
    } else {
      process.stderr.write(`yolo-lens: internal error: ${(e as Error).stack ?? e}\n`);
      process.exitCode = 70;
    }
  },
);
