/**
 * `yolo-lens`, the command line over the core: `summary` (the parse_model table with shapes and GFLOPs, or the
 * reference-record JSON), `check` (diagnostics for many files in one process, exit 1 on errors: the same diagnostics
 * as the editor for the same text and settings), `profile` (a timed dummy forward pass), `transfer` (what a
 * pretrained checkpoint loads into the model; cliTransfer.ts) and `lsp --stdio` (the language server, for any editor).
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve as resolvePath } from 'node:path';
import { loadUserModules, USER_CONFIG_FILE, type UserModules } from './core/declaredModules.ts';
import { resolveDoc, type ResolveOptions } from './core/resolve.ts';
import { parseModelDoc } from './core/document.ts';
import { LineIndex } from './core/lines.ts';
import { recordJson, summaryTable } from './core/summary.ts';
import { FRAMEWORKS, FRAMEWORK_ALIASES, frameworkTitle } from './core/framework/index.ts';
import { diag, type Diagnostic, type SeverityOverride } from './core/diagnostics.ts';
import { documentDiagnostics, withOverrides } from './core/features/diagnostics.ts';
import {
  frameworkProblem,
  imgszProblem,
  mergeSettings,
  settingsOptions,
  severityProblem,
  SEVERITY_LEVELS,
  type LensSettings,
} from './core/settings.ts';
import type { Model } from './core/model.ts';
import type { WorkspaceFacts } from './core/framework/workspace.ts';
import { workspaceFactsFor } from './workspace.ts';
import { profileModel } from './runtime/profile.ts';
import { formatProfile } from './runtime/format.ts';
import { PROFILE_BACKENDS } from './protocol.ts';
import { FLOPS_CONVENTIONS } from '../../common/src/format.ts';
import { LineError, transferCommand } from './cliTransfer.ts';

const USAGE = `usage:
  yolo-lens summary FILE [--scale S] [--imgsz N] [--framework F] [--convention ${FLOPS_CONVENTIONS.join('|')}] [--json]
  yolo-lens check FILE... [--scale S] [--imgsz N] [--framework F] [--severity CODE=LEVEL[,CODE=LEVEL...]] [--json]
  yolo-lens profile FILE [--scale S] [--imgsz N] [--batch B] [--runs R] [--backend ${PROFILE_BACKENDS.join('|')}] [--json]
  yolo-lens transfer FILE --weights CKPT [--scale S] [--framework F] [--nc N] [--ch C] [--json] [--remap out.pt]
  yolo-lens lsp --stdio

A .yolo-lens.json next to a file (or in a folder above it) gives settings ("settings": framework, scale, imgsz,
severity) and declares extra modules ("modules"); --no-user-modules ignores it. The flags win over its settings, and
a file's own "# yolo-lens: framework=... scale=... imgsz=..." comment wins over both, as in the editor.
Which code builds a file is found in the workspace when no setting says: walking up from the file, a YOLOv5 tree
(models/yolo.py, models/common.py), an ultralytics source tree, or ultralytics installed in a .venv; else from the
file itself. LEVEL is one of ${SEVERITY_LEVELS.join(', ')}.
transfer: --nc/--ch are the dataset's class and channel counts (the trainers pass them over the YAML's); --remap
writes CKPT with the layers an edit shifted moved to their new indices, so that the framework's loader takes them.

--framework F: the code base and version that builds the file (default: detected)
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
  '--severity',
]);

/** The flags each command takes: any other is refused rather than silently ignored. */
const COMMAND_FLAGS: Readonly<Record<string, readonly string[]>> = {
  summary: ['--scale', '--imgsz', '--framework', '--convention', '--json', '--no-user-modules'],
  check: ['--scale', '--imgsz', '--framework', '--severity', '--json', '--no-user-modules'],
  profile: [
    '--scale',
    '--imgsz',
    '--framework',
    '--batch',
    '--runs',
    '--backend',
    '--warmup',
    '--memory-limit',
    '--json',
    '--no-user-modules',
  ],
  transfer: ['--weights', '--scale', '--framework', '--nc', '--ch', '--json', '--remap', '--no-user-modules'],
  lsp: ['--stdio', '--node-ipc', '--socket', '--pipe', '--clientProcessId'],
};

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
        // --severity may be given several times
        const prev = flags.get(k);
        flags.set(k, k === '--severity' && typeof prev === 'string' ? `${prev},${value}` : value);
      } else flags.set(k, v ?? true);
    } else files.push(a);
  }
  const allowed = COMMAND_FLAGS[command];
  if (allowed)
    for (const k of flags.keys())
      if (!allowed.includes(k)) throw new UsageError(`${command} takes no ${k} option (it takes ${allowed.join(', ')})`);
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
  settings: LensSettings;
  /** the config file's problems, as `check` prints them */
  problems: string[];
  hasErrors: boolean;
}
const configs = new Map<string, UserConfig | null>();
function userConfigFor(file: string, p: Parsed): UserConfig | null {
  if (p.flags.has('--no-user-modules')) return null;
  let dir = dirname(resolvePath(file));
  for (;;) {
    const path = join(dir, USER_CONFIG_FILE);
    if (configs.has(path)) return configs.get(path)!;
    if (existsSync(path)) {
      const text = readFileSync(path, 'utf8');
      const { modules, settings, diagnostics } = loadUserModules(text);
      const lines = new LineIndex(text);
      const problems = diagnostics.map((d) => formatDiagnostic(path, lines, d));
      const c = { modules, settings, problems, hasErrors: diagnostics.some((d) => d.severity === 'error') };
      configs.set(path, c);
      return c;
    }
    const up = dirname(dir);
    if (up === dir) return null;
    dir = up;
  }
}

/** The settings the flags give, each value checked: a bad one is refused, never ignored. */
function flagSettings(p: Parsed): LensSettings {
  const framework = p.flags.get('--framework');
  if (framework !== undefined) {
    const problem = framework === true ? 'framework needs a value' : frameworkProblem(framework);
    if (problem) throw new UsageError(`--${problem}`);
  }
  const scale = p.flags.get('--scale');
  if (scale === true || (typeof scale === 'string' && !scale.trim())) throw new UsageError('--scale needs a value');
  const imgsz = intFlag(p, '--imgsz', 32, 8192);
  const imgszBad = imgsz !== undefined ? imgszProblem(imgsz) : null;
  if (imgszBad) throw new UsageError(`--${imgszBad}`);
  const severity: Record<string, SeverityOverride> = {};
  const sev = p.flags.get('--severity');
  if (sev !== undefined) {
    if (sev === true) throw new UsageError('--severity needs CODE=LEVEL');
    for (const pair of sev.split(',').filter((x) => x.trim())) {
      const [code = '', level] = pair.trim().split('=');
      const problem = level === undefined ? `takes CODE=LEVEL, got '${pair}'` : severityProblem(code.toUpperCase(), level);
      if (problem) throw new UsageError(`--severity: ${problem}`);
      severity[code.toUpperCase()] = level as SeverityOverride;
    }
  }
  return {
    ...(typeof framework === 'string' ? { framework } : {}),
    ...(typeof scale === 'string' ? { scale: scale.trim() } : {}),
    ...(imgsz !== undefined ? { imgsz } : {}),
    ...(Object.keys(severity).length ? { severity } : {}),
  };
}

/** Which code base is around a file (cached per folder for a run over many files). */
const workspaces = new Map<string, WorkspaceFacts | null>();

/** Everything a file is resolved and diagnosed with: .yolo-lens.json's settings, the flags over them, the workspace. */
function fileSettings(p: Parsed, file: string, text: string): { options: ResolveOptions; settings: LensSettings } {
  const config = userConfigFor(file, p);
  const settings = mergeSettings(config?.settings, flagSettings(p));
  // eslint-disable-next-line no-restricted-properties -- the CLI names the paths it found relative to where it runs
  const workspace = workspaceFactsFor(resolvePath(file), process.cwd(), workspaces);
  const options: ResolveOptions = {
    fileName: file,
    ...(config ? { userModules: config.modules } : {}),
    ...(workspace ? { workspace } : {}),
    ...settingsOptions(text, settings),
  };
  return { options, settings };
}

/** A file that cannot be read: one line, and exit 2 (for every command). */
class FileError extends Error {}

/**
 * The file as the frameworks read it: bytes that are not UTF-8 are dropped (both open it with `errors='ignore'`),
 * and a YOLO033 warning says where the first one was. Node's own decoding would put U+FFFD in their place
 * (a module name `Co\xffnv` would become unknown where the framework reads `Conv`).
 */
function readText(file: string): { text: string; notes: Diagnostic[] } {
  let bytes: Buffer;
  try {
    const st = statSync(file);
    if (!st.isFile()) throw new FileError(`${file} is not a file`);
    // the resolver refuses anything over 2 MB anyway; a file of gigabytes would not even fit in a Node buffer
    if (st.size > 64 * 2 ** 20)
      throw new FileError(`${file} is ${(st.size / 2 ** 20).toFixed(0)} MB: not a model file (YOLO Lens analyses model files up to 2 MB)`);
    bytes = readFileSync(file);
  } catch (e) {
    if (e instanceof FileError) throw e;
    const err = e as NodeJS.ErrnoException;
    const why =
      err.code === 'ENOENT'
        ? 'no such file'
        : err.code === 'EACCES' || err.code === 'EPERM'
          ? 'permission denied'
          : (err.code ?? err.message);
    throw new FileError(`cannot read ${file}: ${why}`);
  }
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

/** Which code built the file and how it was chosen, as `check --json` gives it. */
function frameworkOf(model: Model) {
  return {
    id: model.framework.id,
    label: frameworkTitle(model.framework),
    version: model.framework.version,
    source: model.frameworkSource,
    reason: model.frameworkReason,
  };
}

/** A file's text resolved and diagnosed with its settings, as the editor would; a YAML that is not a model has no model. */
function analyse(p: Parsed, file: string) {
  const { text, notes } = readText(file);
  const { options, settings } = fileSettings(p, file, text);
  const doc = parseModelDoc(text);
  const severity = settings.severity ?? {};
  const r = documentDiagnostics(doc, options, { severity });
  return { text, doc, options, model: r.model, diagnostics: [...withOverrides(notes, { severity }), ...r.diagnostics] };
}

async function main(argv: string[]): Promise<number> {
  const p = parseArgs(argv);
  const out = (s: string) => process.stdout.write(s.endsWith('\n') ? s : s + '\n');
  switch (p.command) {
    case 'summary': {
      if (p.files.length !== 1) throw new UsageError('summary takes one FILE');
      const convention = choiceFlag(p, '--convention', FLOPS_CONVENTIONS);
      const file = p.files[0]!;
      const a = analyse(p, file);
      // `summary` shows any YAML as parse_model would take it, model-shaped or not
      const model = a.model ?? resolveDoc(a.doc, a.options);
      if (p.flags.has('--json')) out(recordJson(model, file));
      else {
        out(summaryTable(model, convention));
        const lines = new LineIndex(a.text);
        const all = a.model ? a.diagnostics : model.diagnostics;
        const problems = all.filter((d) => d.severity === 'error' || d.severity === 'warning');
        if (problems.length) out('\n' + problems.map((d) => formatDiagnostic(file, lines, d)).join('\n'));
      }
      return model.ok ? 0 : 1;
    }
    case 'check': {
      if (p.files.length === 0) throw new UsageError('check takes at least one FILE');
      const json = p.flags.has('--json');
      flagSettings(p); // a bad flag value is refused before any file is read
      let failed = false;
      let unreadable = false;
      const results: unknown[] = [];
      const reportedConfigs = new Set<unknown>();
      for (const file of p.files) {
        let a: ReturnType<typeof analyse>;
        try {
          a = analyse(p, file);
        } catch (e) {
          if (!(e instanceof FileError)) throw e;
          unreadable = true;
          process.stderr.write(`yolo-lens: ${e.message}\n`);
          if (json) results.push({ file, error: e.message, diagnostics: [] });
          continue;
        }
        const lines = new LineIndex(a.text);
        const config = userConfigFor(file, p);
        if (config && config.problems.length && !reportedConfigs.has(config)) {
          reportedConfigs.add(config);
          if (!json) for (const line of config.problems) out(line);
          if (config.hasErrors) failed = true;
        }
        if (a.diagnostics.some((d) => d.severity === 'error')) failed = true;
        if (!a.model && !a.diagnostics.some((d) => d.code === 'YOLO030'))
          process.stderr.write(`yolo-lens: ${file}: not a model YAML (no backbone and head): nothing to check\n`);
        if (json)
          results.push({
            file,
            ...(a.model ? { framework: frameworkOf(a.model) } : {}),
            diagnostics: a.diagnostics.map((d) => jsonDiagnostic(lines, d)),
          });
        else {
          if (a.model) out(`${file}: checked against ${frameworkTitle(a.model.framework)} (${a.model.frameworkReason})`);
          for (const d of a.diagnostics) if (d.severity !== 'information' && d.severity !== 'hint') out(formatDiagnostic(file, lines, d));
        }
      }
      if (json) out(JSON.stringify(results, null, 2));
      return unreadable ? 2 : failed ? 1 : 0;
    }
    case 'profile': {
      if (p.files.length !== 1) throw new UsageError('profile takes one FILE');
      // every option is checked before the (long) run, whatever the model turns out to be
      const backend = choiceFlag(p, '--backend', PROFILE_BACKENDS);
      const batch = intFlag(p, '--batch', 1, 256);
      const runs = intFlag(p, '--runs', 1, 1000);
      const warmup = intFlag(p, '--warmup', 0, 100);
      const memoryLimitMB = intFlag(p, '--memory-limit', 1, 1 << 20);
      flagSettings(p);
      const file = p.files[0]!;
      const a = analyse(p, file);
      const model = a.model ?? resolveDoc(a.doc, a.options);
      if (!model.ok) {
        const lines = new LineIndex(a.text);
        out(
          model.diagnostics
            .filter((d) => d.severity === 'error')
            .map((d) => formatDiagnostic(file, lines, d))
            .join('\n'),
        );
        out('the model does not build: nothing to profile');
        return 1;
      }
      const result = await profileModel(model, {
        ...(a.options.imgsz !== undefined ? { imgsz: a.options.imgsz } : {}),
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
        const { text } = readText(file);
        const { options } = fileSettings(p, file, text);
        const model = resolveDoc(parseModelDoc(text), {
          ...options,
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
    } else if (e instanceof FileError || e instanceof LineError || e instanceof UsageError) {
      process.stderr.write(`yolo-lens: ${e.message}\n`);
      process.exitCode = 2;
    } else {
      process.stderr.write(`yolo-lens: internal error: ${(e as Error).stack ?? e}\n`);
      process.exitCode = 70;
    }
  },
);
