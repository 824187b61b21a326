/**
 * Checkpoint files for the language server and the CLI: the IO the core leaves out (stat, read, the size and
 * file-kind checks), one clear sentence for every way a file can fail, and the server's cache by path, mtime and
 * size, so that typing in a model YAML re-plans against the checkpoint without reading it again.
 */
import { readFileSync, statSync, type Stats } from 'node:fs';
import { readFile, realpath, stat } from 'node:fs/promises';
import { basename, isAbsolute, join, relative, resolve as resolvePath, sep } from 'node:path';
import { readCheckpoint, stateDictOf, type Checkpoint, type CheckpointEntryRule } from './core/weights/index.ts';
import type { CheckpointTensor } from './core/weights/transfer.ts';

/** Larger files are not read: the largest released YOLO checkpoints are ~150 MB. */
export const MAX_CHECKPOINT_BYTES = 2 ** 30;

export type CheckpointRead = { ok: true; checkpoint: Checkpoint; bytes: Uint8Array } | { ok: false; message: string };

const sizeText = (n: number) => (n >= 2 ** 30 ? `${(n / 2 ** 30).toFixed(1)} GB` : `${(n / 2 ** 20).toFixed(0)} MB`);

/** Why a file of these stats is not read, or null. */
function refusal(name: string, st: Stats): string | null {
  if (st.isDirectory()) return `${name} is a folder, not a checkpoint`;
  if (!st.isFile()) return `${name} is not a regular file (a device or a pipe is never read)`;
  if (st.size > MAX_CHECKPOINT_BYTES) return `${name} is ${sizeText(st.size)}: larger than the ${sizeText(MAX_CHECKPOINT_BYTES)} read`;
  return null;
}

function ioMessage(name: string, e: unknown): string {
  const code = (e as { code?: unknown })?.code;
  if (code === 'ENOENT' || code === 'ENOTDIR') return `${name}: no such file`;
  if (code === 'EACCES' || code === 'EPERM') return `${name}: permission denied`;
  return `cannot read ${name} (${e instanceof Error ? e.message : String(e)})`;
}

function parsed(name: string, bytes: Uint8Array): CheckpointRead {
  const r = readCheckpoint(bytes);
  return r.ok ? { ok: true, checkpoint: r.value, bytes } : { ok: false, message: `${name}: ${r.error.message}` };
}

/** The CLI's read: the whole file, checked first. */
export function readCheckpointFileSync(path: string): CheckpointRead {
  const name = basename(path);
  let st: Stats;
  try {
    st = statSync(path);
  } catch (e) {
    return { ok: false, message: ioMessage(path, e) };
  }
  const no = refusal(path, st);
  if (no) return { ok: false, message: no };
  try {
    return parsed(name, new Uint8Array(readFileSync(path)));
  } catch (e) {
    return { ok: false, message: ioMessage(path, e) };
  }
}

/** The checkpoint's state_dict as the framework's loader takes it (`ckpt["model"]` or `ckpt.get("ema") or ...`). */
export function checkpointTensors(
  checkpoint: Checkpoint,
  entry: CheckpointEntryRule,
  name: string,
): { ok: true; tensors: CheckpointTensor[] } | { ok: false; message: string } {
  const sd = stateDictOf(checkpoint, { entry });
  return sd.ok
    ? { ok: true, tensors: sd.value.entries.map((e) => ({ key: e.key, shape: e.shape })) }
    : { ok: false, message: `${name}: ${sd.error.message}` };
}

export interface WeightsSource {
  /** the path as written (the modeline's value, the setting's) */
  readonly written: string;
  readonly from: 'modeline' | 'setting';
}

/**
 * Where a written path points: absolute as is; the modeline's relative to the model file's folder; the setting's
 * relative to the workspace folder holding the file (else the first folder, else the file's folder).
 */
export function weightsPath(source: WeightsSource, filePath: string | null, folders: readonly string[]): string | null {
  if (isAbsolute(source.written)) return resolvePath(source.written);
  const own = filePath ? resolvePath(filePath, '..') : null;
  if (source.from === 'modeline') return own ? join(own, source.written) : folders[0] ? join(folders[0], source.written) : null;
  const holder = filePath ? folders.find((f) => isInside(filePath, f)) : undefined;
  const base = holder ?? folders[0] ?? own;
  return base ? join(base, source.written) : null;
}

export function isInside(path: string, folder: string): boolean {
  const r = relative(folder, path);
  return r === '' || (!r.startsWith('..') && !isAbsolute(r) && !r.startsWith(`..${sep}`));
}

type Entry = { key: string; read: Promise<CheckpointRead> };

/** The server's cache: one read per path and version of the file on disk; planning never reads the file again. */
export class CheckpointStore {
  private readonly entries = new Map<string, Entry>();
  private readonly tensors = new WeakMap<Checkpoint, Map<CheckpointEntryRule, ReturnType<typeof checkpointTensors>>>();
  /** `onRead`: told of each read the cache could not spare (the server logs it) */
  constructor(private readonly onRead?: (path: string, ms: number, result: CheckpointRead) => void) {}

  /**
   * The checkpoint at `path`, from the cache when the file's mtime and size are unchanged. `within`: folders the
   * file must lie in once links are followed (Restricted Mode); null lets it lie anywhere.
   */
  async get(path: string, within: readonly string[] | null): Promise<CheckpointRead> {
    const name = basename(path);
    let st: Stats;
    try {
      st = await stat(path);
    } catch (e) {
      return { ok: false, message: ioMessage(name, e) };
    }
    if (within) {
      const real = await realpath(path).catch(() => path);
      const folders = await Promise.all(within.map((f) => realpath(f).catch(() => f)));
      if (!folders.some((f) => isInside(real, f)))
        return {
          ok: false,
          message:
            `${name} is outside the workspace: in Restricted Mode a \`weights=\` comment may only name a checkpoint inside ` +
            'the workspace (trust the workspace, or set yolo.weights in your user settings)',
        };
    }
    const no = refusal(name, st);
    if (no) return { ok: false, message: no };
    const key = `${st.mtimeMs}:${st.size}:${st.ino}`;
    const hit = this.entries.get(path);
    if (hit && hit.key === key) return hit.read;
    const read = (async (): Promise<CheckpointRead> => {
      const t0 = performance.now();
      let r: CheckpointRead;
      try {
        r = parsed(name, new Uint8Array(await readFile(path)));
      } catch (e) {
        r = { ok: false, message: ioMessage(name, e) };
      }
      this.onRead?.(path, performance.now() - t0, r);
      // the bytes are not kept: planning needs the tree only
      return r.ok ? { ...r, bytes: new Uint8Array(0) } : r;
    })();
    this.entries.set(path, { key, read });
    // a handful of checkpoints at most are in use at once
    if (this.entries.size > 8) this.entries.delete(this.entries.keys().next().value!);
    return read;
  }

  /** The loader's entry of a cached checkpoint, derived once per rule. */
  tensorsOf(checkpoint: Checkpoint, entry: CheckpointEntryRule, name: string): ReturnType<typeof checkpointTensors> {
    let m = this.tensors.get(checkpoint);
    if (!m) this.tensors.set(checkpoint, (m = new Map()));
    let t = m.get(entry);
    if (!t) m.set(entry, (t = checkpointTensors(checkpoint, entry, name)));
    return t;
  }
}
