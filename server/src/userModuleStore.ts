/**
 * The server's side of `.yolo-lens.json` (settings and user-declared modules): which file applies to which document
 * (the nearest one above it, as `yolo-lens check` finds it), reading it from disk or from the editor's live text, and
 * not reading it at all in an untrusted workspace. The file is only ever parsed and interpreted by
 * `core/declaredModules.ts`; nothing in it is executed.
 */
import { readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { loadUserModules, USER_CONFIG_FILE, type UserModuleDiagnostic, type UserModules } from './core/declaredModules.ts';
import type { LensSettings } from './core/settings.ts';

/** A config file larger than this is refused with a diagnostic (a real one is a few KB). */
const MAX_CONFIG_BYTES = 1_000_000;

export interface LoadedConfig {
  readonly uri: string;
  readonly dir: string;
  readonly text: string;
  readonly modules: UserModules | null;
  readonly settings: LensSettings;
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
  /** folders looked at for a config file that has none (cleared when a config appears anywhere) */
  private readonly absent = new Set<string>();
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
    this.absent.clear();
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
          settings: {},
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
    this.absent.delete(dirname(path));
    if (!deleted && this.trusted) this.readFromDisk(path);
  }

  /** The editor's live text of an open config file. */
  fromText(uri: string, text: string): LoadedConfig | null {
    const path = pathOf(uri);
    if (!path) return null;
    this.generation++;
    if (!this.trusted) return null;
    const { modules, settings, diagnostics } = loadUserModules(text);
    const c: LoadedConfig = { uri, dir: dirname(path), text, modules, settings, diagnostics };
    this.configs.set(c.dir, c);
    return c;
  }

  configOf(uri: string): LoadedConfig | undefined {
    const path = pathOf(uri);
    return path ? this.configs.get(dirname(path)) : undefined;
  }

  /**
   * The config that applies to a document: the one in the nearest folder above it (read from disk the first time a
   * folder is asked about, as `yolo-lens check` walks up from the file).
   */
  configFor(docUri: string): LoadedConfig | undefined {
    if (!this.trusted) return undefined;
    const path = pathOf(docUri);
    if (!path) return undefined;
    for (let dir = dirname(path); ;) {
      const loaded = this.configs.get(dir);
      if (loaded) return loaded;
      if (!this.absent.has(dir)) {
        this.readFromDisk(join(dir, USER_CONFIG_FILE));
        const read = this.configs.get(dir);
        if (read) {
          this.generation++;
          return read;
        }
        this.absent.add(dir);
      }
      const up = dirname(dir);
      if (up === dir) return undefined;
      dir = up;
    }
  }

  /** The modules that apply to a document: from the nearest folder above it that has a config. */
  modulesFor(docUri: string): UserModules | undefined {
    return this.configFor(docUri)?.modules ?? undefined;
  }

  /** The settings that apply to a document (its nearest config's `settings`). */
  settingsFor(docUri: string): LensSettings | undefined {
    return this.configFor(docUri)?.settings;
  }

  all(): readonly LoadedConfig[] {
    return [...this.configs.values()];
  }
}
