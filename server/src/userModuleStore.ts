/**
 * The server's side of `.yolo-lens.json` (user-declared modules): which file applies to which document, reading
 * it from disk or from the editor's live text, and not reading it at all in an untrusted workspace. The file is
 * only ever parsed and interpreted by `core/declaredModules.ts`; nothing in it is executed.
 */
import { readFileSync, statSync } from 'node:fs';
import { dirname, join, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { loadUserModules, USER_CONFIG_FILE, type UserModuleDiagnostic, type UserModules } from './core/declaredModules.ts';

/** A config file larger than this is refused with a diagnostic (a real one is a few KB). */
const MAX_CONFIG_BYTES = 1_000_000;

export interface LoadedConfig {
  readonly uri: string;
  readonly dir: string;
  readonly text: string;
  readonly modules: UserModules | null;
  readonly diagnostics: readonly UserModuleDiagnostic[];
}

export const isConfigUri = (uri: string): boolean => uri.endsWith('/' + USER_CONFIG_FILE) || uri.endsWith('\\' + USER_CONFIG_FILE);

function pathOf(uri: string): string | null {
  try {
    return uri.startsWith('file:') ? fileURLToPath(uri) : null;
  } catch {
    return null;
  }
}

export class UserModuleStore {
  private readonly configs = new Map<string, LoadedConfig>();
  /** bumped on every change: part of the analysis cache key */
  generation = 0;
  private trusted = true;
  private roots: string[] = [];

  /** In an untrusted workspace nothing is read, and what was loaded is dropped. */
  setTrusted(trusted: boolean): void {
    if (this.trusted === trusted) return;
    this.trusted = trusted;
    this.reloadAll();
  }

  /** Read `<root>/.yolo-lens.json` of each workspace folder. */
  setRoots(rootUris: readonly string[]): void {
    this.roots = rootUris.map(pathOf).filter((p): p is string => p !== null);
    this.reloadAll();
  }

  private reloadAll(): void {
    const open = [...this.configs.values()];
    this.configs.clear();
    this.generation++;
    if (!this.trusted) return;
    for (const root of this.roots) this.readFromDisk(join(root, USER_CONFIG_FILE));
    // files the editor had open keep their live text
    for (const c of open) if (!this.configs.has(c.dir)) this.fromText(c.uri, c.text);
  }

  private readFromDisk(path: string): void {
    try {
      const st = statSync(path);
      if (!st.isFile()) return;
      const uri = pathToFileURL(path).toString();
      if (st.size > MAX_CONFIG_BYTES) {
        this.configs.set(dirname(path), {
          uri,
          dir: dirname(path),
          text: '',
          modules: null,
          diagnostics: [
            {
              code: 'config-structure',
              severity: 'error',
              range: { start: 0, end: 0 },
              message: `${USER_CONFIG_FILE} is ${(st.size / 1e6).toFixed(1)} MB: YOLO Lens reads it up to 1 MB`,
            },
          ],
        });
        return;
      }
      this.fromText(uri, readFileSync(path, 'utf8'));
    } catch {
      // no file there
    }
  }

  /** The file changed on disk (watcher) or was deleted. */
  changedOnDisk(uri: string, deleted: boolean): void {
    const path = pathOf(uri);
    if (!path) return;
    this.generation++;
    this.configs.delete(dirname(path));
    if (!deleted && this.trusted) this.readFromDisk(path);
  }

  /** The editor's live text of an open config file. */
  fromText(uri: string, text: string): LoadedConfig | null {
    const path = pathOf(uri);
    if (!path) return null;
    this.generation++;
    if (!this.trusted) return null;
    const { modules, diagnostics } = loadUserModules(text);
    const c: LoadedConfig = { uri, dir: dirname(path), text, modules, diagnostics };
    this.configs.set(c.dir, c);
    return c;
  }

  configOf(uri: string): LoadedConfig | undefined {
    const path = pathOf(uri);
    return path ? this.configs.get(dirname(path)) : undefined;
  }

  /** The modules that apply to a document: from the nearest folder above it that has a config. */
  modulesFor(docUri: string): UserModules | undefined {
    if (!this.trusted || this.configs.size === 0) return undefined;
    const path = pathOf(docUri);
    if (!path) return undefined;
    let best: LoadedConfig | undefined;
    for (const c of this.configs.values())
      if ((path.startsWith(c.dir + sep) || path.startsWith(c.dir + '/')) && (!best || c.dir.length > best.dir.length)) best = c;
    return best?.modules ?? undefined;
  }

  all(): readonly LoadedConfig[] {
    return [...this.configs.values()];
  }
}
