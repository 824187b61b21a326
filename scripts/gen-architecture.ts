/**
 * Fills the generated sections of docs/architecture.md from the tree itself, so that the map a newcomer reads cannot
 * drift from the code: each section sits between `<!-- generated:NAME:start -->` and `<!-- generated:NAME:end -->`
 * and everything outside the markers is hand-written prose, kept as it is.
 *  - `rooms`       every folder of the shipped sources and one sentence (ROOM_NOTES below, else
 *                  the first sentence of its index.ts doc comment);
 *  - `walls`       what each room may not import, read from eslint.config.mjs as eslint itself resolves it;
 *  - `tsconfigs`   the per-room TypeScript projects `tsc -b` checks (their libs and ambient types);
 *  - `frameworks`  the framework profiles (FRAMEWORKS of server/src/core/framework/index.ts);
 *  - `checks`      the diagnostic-check families (one file each under server/src/core/features/checks/);
 *  - `files:DIR`   each file of DIR with the first sentence of its doc comment.
 * `npm run gen:architecture` writes the doc; test/docs/architecture.test.ts fails when a section is stale.
 */
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ESLint, type Linter } from 'eslint';
import ts from 'typescript';
import { FRAMEWORKS, FRAMEWORK_ALIASES } from '../server/src/core/framework/index.ts';
import { CODES } from '../server/src/core/diagnostics.ts';

export const ROOT = join(import.meta.dirname, '..');
export const DOC_FILE = 'docs/architecture.md';

/** The roots whose folders are the rooms of the shipped code (every folder below them is a room too). */
const ROOM_ROOTS = ['server/src', 'client/src', 'webview/src', 'common/src'];

/**
 * What a room holds, one line each: for the rooms without an index.ts doc comment to say it, and for the core,
 * whose index.ts speaks of its public surface rather than of the room.
 */
const ROOM_NOTES: Readonly<Record<string, string>> = {
  'server/src/core':
    'Parse → resolve → Model, and the features that read it: pure TypeScript, no IO, node, editor or LSP. ' +
    '`document.ts`, `model.ts`, `diagnostics.ts` (the code table) and `settings.ts` sit here; `index.ts` is its public surface.',
  'server/src':
    'The language server (`server.ts`), its LSP conversions (`convert.ts`), the typed `yolo/*` requests (`protocol.ts`), ' +
    'the CLI (`cli.ts`) and the IO the core leaves out: checkpoint files, `.yolo-lens.json`, the code base around a file.',
  'server/src/core/catalog':
    'Module definitions, one per upstream class: signature, category and a builder composing the module from ' +
    'the torch primitives of `server/src/core/nn/builder.ts`.',
  'server/src/core/catalog/ultralytics':
    "ultralytics' nn/modules files (8.3 vendored in the Slim-neck repo, and what 8.4.33 changes in the `*-8.4.ts` files).",
  'server/src/core/features': 'One file per editor feature, each a pure function of the Model and the text, in document offsets.',
  'server/src/core/framework/profiles': 'One framework profile per file: a code base at one version, as data.',
  'server/src/core/nn': 'The module tree (`Mod`), the torch primitives, the one layer driver and the static (shape) interpreter.',
  'server/src/runtime': 'The profile: the same module trees run on tfjs tensors (or exported to ONNX) in a worker thread, timed per layer.',
  'client/src': 'The VS Code extension: starts the server, registers commands, hosts the graph panel and the status bar.',
  'webview/src': 'The graph panel app (browser, d3): draws the Model the server sends, talks to the host through `messages.ts`.',
  'common/src': 'Pure leaf modules every room shares: number, shape and FLOPs formatting, module categories.',
};

/** Sections every doc must hold (the `files:DIR` sections are optional and any number). */
export const REQUIRED_SECTIONS = ['rooms', 'walls', 'tsconfigs', 'frameworks', 'checks'] as const;

const rel = (p: string): string => relative(ROOT, p).split(sep).join('/');
/** A table cell: no line breaks, no column separators. */
const cell = (s: string): string => s.replace(/\s+/g, ' ').replace(/\|/g, '\\|').trim();
const code = (s: string): string => `\`${s}\``;
const table = (head: readonly string[], rows: readonly (readonly string[])[]): string =>
  [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`)].join('\n');

/** The first sentence of a file's leading doc comment (`/** ... *\/` or `//` lines), or null when it has none. */
export function firstSentence(file: string): string | null {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const block = /^\s*\/\*\*([\s\S]*?)\*\//.exec(text);
  const lines = block
    ? block[1]!.split('\n').map((l) => l.replace(/^\s*\*?\s?/, ''))
    : (/^(\s*\/\/.*\n)+/
        .exec(text)?.[0]
        .split('\n')
        .map((l) => l.replace(/^\s*\/\/\s?/, '')) ?? []);
  // the first paragraph only: a blank line or an indented list ends it
  const para: string[] = [];
  for (const l of lines) {
    if (para.length && (!l.trim() || /^\s+-/.test(l))) break;
    if (l.trim()) para.push(l.trim());
  }
  const joined = para.join(' ');
  if (!joined) return null;
  const end = /\.(?=\s+[A-Z`(]|\s*$)/.exec(joined);
  return end ? joined.slice(0, end.index + 1) : joined;
}

const isDir = (p: string): boolean => statSync(p).isDirectory();
const filesOf = (dir: string): string[] =>
  readdirSync(join(ROOT, dir))
    .filter((e) => !isDir(join(ROOT, dir, e)))
    .sort();

/** Every room: the roots and every folder below them, depth first. */
export function rooms(): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    out.push(dir);
    for (const e of readdirSync(join(ROOT, dir)).sort()) if (isDir(join(ROOT, dir, e))) walk(`${dir}/${e}`);
  };
  for (const r of ROOM_ROOTS) walk(r);
  return out;
}

function roomsSection(): string {
  const all = rooms();
  for (const k of Object.keys(ROOM_NOTES)) if (!all.includes(k)) throw new Error(`ROOM_NOTES names ${k}, which is not a room any more`);
  const rows = all.map((dir) => {
    const index = `${dir}/index.ts`;
    const about = ROOM_NOTES[dir] ?? (existsSync(join(ROOT, index)) ? firstSentence(index) : null);
    if (!about) throw new Error(`${dir} is a new room: give its index.ts a doc comment or add it to ROOM_NOTES`);
    // no file count: the table changes when a room appears or goes, not with every file added
    return [code(`${dir}/`), about];
  });
  return table(['room', 'what it holds'], rows);
}

// ---- the walls, as eslint resolves eslint.config.mjs -------------------------------------------------------------

interface Zone {
  target: string;
  from: string | string[];
  except?: string[];
  message?: string;
}
interface ImportPattern {
  group?: string[];
  regex?: string;
  message?: string;
  allowTypeImports?: boolean;
}

const norm = (p: string): string => p.replace(/^\.\//, '').replace(/\/$/, '');
const inside = (file: string, folder: string): boolean => file === folder || file.startsWith(`${folder}/`);
const options = <T>(rule: Linter.RuleEntry | undefined): T | undefined => (Array.isArray(rule) ? (rule[1] as T) : undefined);

/** How a no-restricted-imports pattern reads in a table: a few of its names, or its regex, and why. */
function patternText(p: ImportPattern): string {
  const names = p.group ? (p.group.length <= 4 ? p.group : [p.group[0]!, '…']) : [`/${p.regex}/`];
  const types = p.allowTypeImports ? '; type imports pass' : '';
  return `${names.map((n) => (n === '…' ? n : code(n))).join(', ')} (${p.message ?? 'restricted'}${types})`;
}

/** `from` with its exceptions, all as paths from the repository root. */
function fromText(from: string, except: readonly string[]): string {
  const dir = (p: string): string => (/\.\w+$/.test(p) ? p : `${p}/`);
  const base = code(dir(from));
  return except.length ? `${base} except ${except.map((e) => code(dir(norm(`${from}/${norm(e)}`)))).join(', ')}` : base;
}

export async function wallsSection(): Promise<string> {
  const eslint = new ESLint({ cwd: ROOT });
  const configOf = async (file: string): Promise<Linter.Config> => {
    const config = (await eslint.calculateConfigForFile(join(ROOT, file))) as Linter.Config | undefined;
    if (!config) throw new Error(`eslint.config.mjs ignores ${file}: no walls to read`);
    return config;
  };
  // every folder or file a wall is built for, in the order eslint.config.mjs names them
  const probe = (target: string): string => (/\.\w+$/.test(target) ? target : `${target}/probe.ts`);
  const first = await configOf('server/src/probe.ts');
  const allZones = options<{ zones: Zone[] }>(first.rules?.['import-x/no-restricted-paths'])?.zones ?? [];
  if (!allZones.length) throw new Error('eslint.config.mjs has no import-x/no-restricted-paths zones for server/src');
  const targets = [...new Set(allZones.map((z) => norm(z.target)))];
  const rows: string[][] = [];
  for (const target of targets) {
    const config = await configOf(probe(target));
    const zones = (options<{ zones: Zone[] }>(config.rules?.['import-x/no-restricted-paths'])?.zones ?? []).filter((z) =>
      inside(target, norm(z.target)),
    );
    // one entry per forbidden folder: a folder two walls close keeps only the exceptions both make
    const closed = new Map<string, string[]>();
    for (const z of zones) {
      for (const from of [z.from].flat().map(norm)) {
        const except = z.except ?? [];
        const had = closed.get(from);
        closed.set(from, had ? had.filter((e) => except.includes(e)) : [...except]);
      }
    }
    const paths = [...closed].map(([from, except]) => fromText(from, except)).join('; ');
    const patterns = options<{ patterns: ImportPattern[] }>(config.rules?.['@typescript-eslint/no-restricted-imports'])?.patterns ?? [];
    const why = [...new Set(zones.filter((z) => norm(z.target) === target && z.message).map((z) => z.message!))].join('; ');
    rows.push([code(/\.\w+$/.test(target) ? target : `${target}/`), paths, patterns.map(patternText).join('; '), why]);
  }
  return table(['room', 'may not import from', 'may not import (modules)', 'why'], rows);
}

// ---- the TypeScript projects ----------------------------------------------------------------------------------------

/** The leading `//` comment of a tsconfig (what the project is for). */
const tsconfigNote = (text: string): string =>
  (/^\s*\{\s*((?:\/\/.*\n\s*)+)/.exec(text)?.[1] ?? '')
    .split('\n')
    .map((l) => l.replace(/^\s*\/\/\s?/, '').trim())
    .filter(Boolean)
    .join(' ');

function tsconfigsSection(): string {
  const rootConfig = ts.readConfigFile(join(ROOT, 'tsconfig.json'), ts.sys.readFile).config as { references: { path: string }[] };
  const rows = rootConfig.references.map(({ path }) => {
    const file = path.endsWith('.json') ? path : `${path}/tsconfig.json`;
    const full = join(ROOT, file);
    const text = readFileSync(full, 'utf8');
    const parsed = ts.parseJsonConfigFileContent(ts.parseConfigFileTextToJson(full, text).config, ts.sys, dirname(full));
    const raw = parsed.raw as { include?: string[]; exclude?: string[] };
    const at = (p: string): string => {
      const r = rel(resolve(dirname(full), p));
      return code(r || '.');
    };
    const covers = (raw.include ?? ['.']).map(at).join(', ') + (raw.exclude?.length ? ` except ${raw.exclude.map(at).join(', ')}` : '');
    const lib = (parsed.options.lib ?? ['lib.es2022.d.ts']).map((l) => l.replace(/^lib\./, '').replace(/\.d\.ts$/, '')).join(', ');
    const types = parsed.options.types?.length ? parsed.options.types.join(', ') : 'none';
    return [code(file), covers, lib, types, tsconfigNote(text)];
  });
  return table(['project', 'covers', 'lib', 'ambient types', 'why'], rows);
}

// ---- frameworks and checks ------------------------------------------------------------------------------------------

function frameworksSection(): string {
  const rows = Object.values(FRAMEWORKS).map((f) => {
    const profile = `server/src/core/framework/profiles/${f!.id}.ts`;
    if (!existsSync(join(ROOT, profile))) throw new Error(`framework ${f!.id}: no ${profile} (profiles are named by id)`);
    const aliases = Object.entries(FRAMEWORK_ALIASES)
      .filter(([, id]) => id === f!.id)
      .map(([a]) => code(a));
    return [code(f!.id), f!.label, f!.dialect, aliases.join(', ') || '—', code(profile)];
  });
  return table(['id', 'label', 'dialect', 'aliases', 'profile'], rows);
}

const CHECKS_DIR = 'server/src/core/features/checks';

/** The codes a file raises: the first argument of each `diag('YOLO0NN', ...)` call (not codes it only reads). */
function raisedCodes(file: string): string[] {
  const source = ts.createSourceFile(file, readFileSync(join(ROOT, file), 'utf8'), ts.ScriptTarget.Latest);
  const found = new Set<string>();
  const visit = (node: ts.Node): void => {
    if (ts.isCallExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === 'diag') {
      const first = node.arguments[0];
      if (first && ts.isStringLiteralLike(first)) found.add(first.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return [...found].sort();
}

function checksSection(): string {
  const rows = filesOf(CHECKS_DIR)
    .filter((f) => f !== 'index.ts')
    .map((f) => {
      const file = `${CHECKS_DIR}/${f}`;
      const codes = raisedCodes(file).map((c) => `${c} ${CODES[c as keyof typeof CODES]?.title ?? '(not in CODES)'}`);
      return [code(file), codes.join(', ') || '—', firstSentence(file) ?? '—'];
    });
  return table(['family', 'codes it raises', 'what it finds'], rows);
}

function filesSection(dir: string): string {
  if (!existsSync(join(ROOT, dir)) || !isDir(join(ROOT, dir))) throw new Error(`generated:files:${dir}: no such folder`);
  const rows = filesOf(dir)
    .filter((f) => /\.ts$/.test(f) && !f.endsWith('.d.ts'))
    .map((f) => [code(f), firstSentence(`${dir}/${f}`) ?? '—']);
  return table([`${code(`${dir}/`)} file`, 'what it does'], rows);
}

// ---- the doc ----------------------------------------------------------------------------------------------------------

const MARKER = /<!-- generated:([\w./:-]+?):start -->\n[\s\S]*?<!-- generated:\1:end -->/g;

async function section(name: string): Promise<string> {
  if (name === 'rooms') return roomsSection();
  if (name === 'walls') return wallsSection();
  if (name === 'tsconfigs') return tsconfigsSection();
  if (name === 'frameworks') return frameworksSection();
  if (name === 'checks') return checksSection();
  if (name.startsWith('files:')) return filesSection(name.slice('files:'.length));
  throw new Error(`${DOC_FILE}: unknown generated section "${name}"`);
}

/** The names of the generated sections a doc holds, in order; throws when a required one is missing. */
export function sectionNames(doc: string): string[] {
  const names = [...new Set([...doc.matchAll(MARKER)].map((m) => m[1]!))];
  for (const required of REQUIRED_SECTIONS)
    if (!names.includes(required)) throw new Error(`${DOC_FILE} has no <!-- generated:${required}:start/end --> section`);
  return names;
}

/** Each named section as the tree makes it now. */
export async function generateSections(names: readonly string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const name of names) out.set(name, await section(name));
  return out;
}

/** The doc with its generated sections replaced by `sections`; the text outside the markers is kept byte for byte. */
export function fillSections(doc: string, sections: ReadonlyMap<string, string>): string {
  sectionNames(doc);
  return doc.replace(MARKER, (_, name: string) => {
    const body = sections.get(name);
    if (body === undefined) throw new Error(`${DOC_FILE}: no content generated for section "${name}"`);
    return `<!-- generated:${name}:start -->\n${body}\n<!-- generated:${name}:end -->`;
  });
}

/** The doc with every generated section filled from the tree. */
export async function fillGenerated(doc: string): Promise<string> {
  return fillSections(doc, await generateSections(sectionNames(doc)));
}

async function main(): Promise<void> {
  const file = join(ROOT, DOC_FILE);
  const before = readFileSync(file, 'utf8');
  const after = await fillGenerated(before);
  if (after === before) console.log(`${DOC_FILE}: up to date`);
  else {
    writeFileSync(file, after);
    console.log(`${DOC_FILE}: generated sections rewritten`);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e: unknown) => {
    console.error(`gen-architecture: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  });
}
