/**
 * The code base around a model file, for the core to choose its framework (core/framework/workspace.ts): walking up
 * from the file, the first folder holding a YOLOv5-style tree (`models/yolo.py` + `models/common.py`), an ultralytics
 * source tree, or a virtual environment with ultralytics installed. The Python files are read as text for their
 * class and import names and their `__version__`; nothing is ever run. The language server and the CLI share it.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, relative, sep } from 'node:path';
import type { UltralyticsTree, WorkspaceFacts, Yolov5Tree } from './core/framework/workspace.ts';

/** A Python file larger than this is not read (a real models/common.py is ~50 KB). */
const MAX_PY_BYTES = 4 * 2 ** 20;
/** Virtual environments looked for in each folder. */
const VENVS = ['.venv', 'venv', 'env', '.env'];

function readPy(path: string): string | null {
  try {
    const st = statSync(path);
    if (!st.isFile() || st.size > MAX_PY_BYTES) return null;
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

const isFile = (path: string): boolean => {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
};

/** `class X(` or `class X:` at the start of a line. */
export function classNames(py: string): string[] {
  return [...py.matchAll(/^class\s+([A-Za-z_]\w*)\s*[(:]/gm)].map((m) => m[1]!);
}

/**
 * The names a `from <module> import ...` statement brings in (`import *` → null), over every statement for that
 * module; undefined when the file has none.
 */
export function importedFrom(py: string, module: string): string[] | null | undefined {
  const esc = module.replace(/\./g, '\\.');
  const re = new RegExp(`^from\\s+${esc}\\s+import\\s+(\\([^)]*\\)|[^\\n]*)`, 'gm');
  let names: string[] | undefined;
  for (const m of py.matchAll(re)) {
    const body = m[1]!.replace(/#[^\n]*/g, '').replace(/[()\\]/g, ' ');
    if (/^\s*\*\s*$/.test(body)) return null;
    names ??= [];
    for (const part of body.split(/[,\s]+/)) {
      const name = part.trim();
      if (/^[A-Za-z_]\w*$/.test(name) && name !== 'as') names.push(name);
    }
  }
  return names;
}

/** Every name any `from ... import ...` statement of the file brings in (for ultralytics' tasks.py globals). */
function allImported(py: string): string[] {
  const out: string[] = [];
  for (const m of py.matchAll(/^from\s+[\w.]+\s+import\s+(\([^)]*\)|[^\n]*)/gm)) {
    const body = m[1]!.replace(/#[^\n]*/g, '').replace(/[()\\]/g, ' ');
    // `X as Y` binds Y
    for (const part of body.split(',')) {
      const words = part.trim().split(/\s+/);
      const name = words[words.length - 1] ?? '';
      if (/^[A-Za-z_]\w*$/.test(name)) out.push(name);
    }
  }
  return out;
}

/** How a folder is named to the user: relative to the workspace root when inside it. */
function shown(path: string, root?: string): string {
  if (root) {
    const rel = relative(root, path);
    if (!rel.startsWith('..') && rel !== '') return rel.split(sep).join('/');
    if (rel === '') return '.';
  }
  return path;
}

function yolov5Tree(dir: string, root?: string): Yolov5Tree | null {
  const yolo = readPy(join(dir, 'models', 'yolo.py'));
  const common = readPy(join(dir, 'models', 'common.py'));
  if (yolo === null || common === null) return null;
  const experimental = readPy(join(dir, 'models', 'experimental.py')) ?? '';
  const fromCommon = importedFrom(yolo, 'models.common');
  const fromExperimental = importedFrom(yolo, 'models.experimental');
  const experimentalNames = fromExperimental === null ? classNames(experimental) : (fromExperimental ?? []);
  return {
    kind: 'yolov5',
    root: shown(dir, root),
    moduleFile: 'models/common.py',
    defined: classNames(common),
    // no import of models.common at all: yolo.py sees none of its classes
    imported: fromCommon === undefined ? [] : fromCommon,
    own: [...classNames(yolo), ...experimentalNames],
  };
}

function version(initPy: string | null): string | null {
  return initPy ? (/^__version__\s*=\s*["']([^"']+)["']/m.exec(initPy)?.[1] ?? null) : null;
}

function ultralyticsPackage(pkg: string, source: UltralyticsTree['source'], root?: string): UltralyticsTree | null {
  const init = join(pkg, '__init__.py');
  if (!isFile(init)) return null;
  const tasks = readPy(join(pkg, 'nn', 'tasks.py'));
  const names = tasks === null ? null : [...new Set([...allImported(tasks), ...classNames(tasks)])];
  return {
    kind: 'ultralytics',
    root: shown(pkg, root),
    source,
    version: version(readPy(init)),
    tasksFile: `${shown(pkg, root)}/nn/tasks.py`,
    names,
  };
}

/** ultralytics installed in a virtual environment of this folder (`lib/python3.X/site-packages` or `Lib/site-packages`). */
function installedUltralytics(dir: string, root?: string): UltralyticsTree | null {
  for (const venv of VENVS) {
    const base = join(dir, venv);
    const candidates: string[] = [join(base, 'Lib', 'site-packages', 'ultralytics')];
    try {
      for (const py of readdirSync(join(base, 'lib')))
        if (/^python\d/.test(py)) candidates.push(join(base, 'lib', py, 'site-packages', 'ultralytics'));
    } catch {
      // no lib/ in this environment
    }
    for (const pkg of candidates) {
      const t = ultralyticsPackage(pkg, 'installed package', root);
      if (t) return t;
    }
  }
  return null;
}

/** What one folder holds, or null. */
function factsAt(dir: string, root?: string): WorkspaceFacts | null {
  if (existsSync(join(dir, 'models'))) {
    const t = yolov5Tree(dir, root);
    if (t) return t;
  }
  // the package folder itself (a file under ultralytics/cfg/models), or a checkout holding it
  if (basename(dir) === 'ultralytics' && isFile(join(dir, 'nn', 'tasks.py'))) return ultralyticsPackage(dir, 'source tree', root);
  if (isFile(join(dir, 'ultralytics', 'nn', 'tasks.py'))) return ultralyticsPackage(join(dir, 'ultralytics'), 'source tree', root);
  return installedUltralytics(dir, root);
}

/**
 * The code base nearest above `file` (its own folder first), up to the filesystem root; `root` names the folder paths
 * are shown relative to (the workspace folder). Cached per folder in `cache` when given.
 */
export function workspaceFactsFor(file: string, root?: string, cache?: Map<string, WorkspaceFacts | null>): WorkspaceFacts | null {
  const visited: string[] = [];
  let found: WorkspaceFacts | null = null;
  for (let dir = dirname(file); ;) {
    const hit = cache?.get(dir);
    if (hit !== undefined) {
      found = hit;
      break;
    }
    visited.push(dir);
    found = factsAt(dir, root);
    if (found) break;
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  if (cache) for (const d of visited) cache.set(d, found);
  return found;
}
