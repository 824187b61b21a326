/**
 * A JSON-RPC client for the real language server: builds `dist/server.js` when it is older than the sources,
 * spawns `node dist/server.js --stdio`, answers `workspace/configuration` with the test's settings, and lets a
 * test wait for `publishDiagnostics` / `yolo/modelChanged` notifications (never for time).
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  createProtocolConnection,
  type ProtocolConnection,
  StreamMessageReader,
  StreamMessageWriter,
  type PublishDiagnosticsParams,
  type InitializeResult,
  type ClientCapabilities,
} from 'vscode-languageserver-protocol/node';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');
export const SERVER = join(ROOT, 'dist/server.js');

function newestSource(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    const s = statSync(p);
    t = Math.max(t, s.isDirectory() ? newestSource(p) : s.mtimeMs);
  }
  return t;
}

/** `node scripts/build.mjs` when dist/server.js is missing or older than server/src (one builder at a time). */
export function ensureBuilt(): void {
  const fresh = () => existsSync(SERVER) && statSync(SERVER).mtimeMs >= newestSource(join(ROOT, 'server/src'));
  if (fresh()) return;
  const lock = join(ROOT, 'dist/.build-lock');
  mkdirSync(join(ROOT, 'dist'), { recursive: true });
  for (let attempt = 0; ; attempt++) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      // another test file is building: poll for its result (a crashed builder's lock goes stale after a minute)
      if (Date.now() - statSync(lock, { throwIfNoEntry: false })!.mtimeMs > 60_000) rmdirSync(lock);
      if (attempt > 1200) throw new Error('timed out waiting for another build');
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
      if (fresh()) return;
    }
  }
  try {
    if (fresh()) return;
    const r = spawnSync(process.execPath, [join(ROOT, 'scripts/build.mjs'), '--quiet'], { cwd: ROOT, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`build failed: ${r.stderr || r.stdout}`);
  } finally {
    rmdirSync(lock);
  }
}

export const fileUri = (path: string): string => pathToFileURL(path).href;

export interface ClientOptions {
  /** what `workspace/configuration` answers for section `yolo` */
  settings?: Record<string, unknown>;
  capabilities?: ClientCapabilities;
  /** the server command after `node` (default: dist/server.js --stdio) */
  command?: string[];
  /** workspace folder paths sent in `initialize` */
  workspaceFolders?: string[];
  initializationOptions?: unknown;
}

type Waiter<T> = { pred: (x: T) => boolean; resolve: (x: T) => void; reject: (e: Error) => void };

/** A wait that never comes true fails the test instead of hanging it (this bounds a failure, it paces nothing). */
const WAIT_LIMIT_MS = 60_000;

export class LspClient {
  readonly diagnostics = new Map<string, PublishDiagnosticsParams[]>();
  readonly modelChanged: { uri: string; version: number }[] = [];
  stderr = '';
  exitCode: number | null = null;
  exited = false;
  initializeResult!: InitializeResult;
  settings: Record<string, unknown>;
  private diagWaiters: Waiter<PublishDiagnosticsParams>[] = [];
  private changedWaiters: Waiter<{ uri: string; version: number }>[] = [];
  private exitWaiters: (() => void)[] = [];
  private readonly versions = new Map<string, number>();

  private constructor(
    readonly child: ChildProcessWithoutNullStreams,
    readonly conn: ProtocolConnection,
    settings: Record<string, unknown>,
  ) {
    this.settings = settings;
  }

  static async start(opts: ClientOptions = {}): Promise<LspClient> {
    ensureBuilt();
    const child = spawn(process.execPath, opts.command ?? [SERVER, '--stdio'], { cwd: ROOT, stdio: 'pipe' });
    const conn = createProtocolConnection(new StreamMessageReader(child.stdout), new StreamMessageWriter(child.stdin));
    const c = new LspClient(child, conn, { diagnostics: { debounceMs: 0 }, ...(opts.settings ?? {}) });
    child.stderr.on('data', (d: Buffer) => (c.stderr += d.toString()));
    child.on('exit', (code) => {
      c.exited = true;
      c.exitCode = code;
      for (const w of c.exitWaiters.splice(0)) w();
      const gone = new Error(`the server exited (code ${code}) while a test waited for it:\n${c.stderr}`);
      for (const w of [...c.diagWaiters.splice(0), ...c.changedWaiters.splice(0)]) w.reject(gone);
    });
    conn.onNotification('textDocument/publishDiagnostics', (p: PublishDiagnosticsParams) => {
      const list = c.diagnostics.get(p.uri) ?? [];
      list.push(p);
      c.diagnostics.set(p.uri, list);
      c.diagWaiters = c.diagWaiters.filter((w) => (w.pred(p) ? (w.resolve(p), false) : true));
    });
    conn.onNotification('yolo/modelChanged', (p: { uri: string; version: number }) => {
      c.modelChanged.push(p);
      c.changedWaiters = c.changedWaiters.filter((w) => (w.pred(p) ? (w.resolve(p), false) : true));
    });
    conn.onNotification('window/logMessage', (p: { message: string }) => {
      c.stderr += `[log] ${p.message}\n`;
    });
    conn.onRequest('workspace/configuration', (p: { items: { section?: string }[] }) =>
      p.items.map((i) => (i.section === 'yolo' ? c.settings : null)),
    );
    conn.onRequest('client/registerCapability', () => null);
    conn.onRequest('window/workDoneProgress/create', () => null);
    conn.onRequest('workspace/codeLens/refresh', () => null);
    conn.onRequest('workspace/inlayHint/refresh', () => null);
    conn.listen();
    c.initializeResult = await conn.sendRequest('initialize', {
      processId: process.pid,
      rootUri: opts.workspaceFolders?.[0] ? fileUri(opts.workspaceFolders[0]) : null,
      ...(opts.workspaceFolders
        ? { workspaceFolders: opts.workspaceFolders.map((p) => ({ uri: fileUri(p), name: p.split('/').pop() })) }
        : {}),
      ...(opts.initializationOptions !== undefined ? { initializationOptions: opts.initializationOptions } : {}),
      capabilities: opts.capabilities ?? {
        workspace: {
          configuration: true,
          didChangeConfiguration: { dynamicRegistration: true },
          didChangeWatchedFiles: { dynamicRegistration: true },
        },
        textDocument: {
          definition: { linkSupport: true },
          documentSymbol: { hierarchicalDocumentSymbolSupport: true },
          completion: { completionItem: { snippetSupport: true, labelDetailsSupport: true } },
          publishDiagnostics: { relatedInformation: true, versionSupport: true, tagSupport: { valueSet: [1, 2] } },
        },
        window: { workDoneProgress: true },
      },
    });
    await conn.sendNotification('initialized', {});
    return c;
  }

  /** Resolves with the first publishDiagnostics (now or later) that matches. */
  waitForDiagnostics(uri: string, pred: (p: PublishDiagnosticsParams) => boolean = () => true): Promise<PublishDiagnosticsParams> {
    const seen = (this.diagnostics.get(uri) ?? []).find(pred);
    if (seen) return Promise.resolve(seen);
    return this.wait(this.diagWaiters, (p) => p.uri === uri && pred(p), `diagnostics for ${uri}`);
  }

  waitForModelChanged(uri: string, version: number): Promise<{ uri: string; version: number }> {
    const seen = this.modelChanged.find((p) => p.uri === uri && p.version === version);
    if (seen) return Promise.resolve(seen);
    return this.wait(this.changedWaiters, (p) => p.uri === uri && p.version === version, `yolo/modelChanged for ${uri} v${version}`);
  }

  private wait<T>(list: Waiter<T>[], pred: (x: T) => boolean, what: string): Promise<T> {
    if (this.exited) return Promise.reject(new Error(`the server has exited: ${this.stderr}`));
    return new Promise<T>((resolve, reject) => {
      const limit = setTimeout(
        () => reject(new Error(`no ${what} within ${WAIT_LIMIT_MS / 1000} s; server log:\n${this.stderr}`)),
        WAIT_LIMIT_MS,
      );
      list.push({
        pred,
        resolve: (x) => {
          clearTimeout(limit);
          resolve(x);
        },
        reject: (e) => {
          clearTimeout(limit);
          reject(e);
        },
      });
    });
  }

  /** Opens a document and waits for its first diagnostics. */
  async open(uri: string, text: string, languageId = 'yaml'): Promise<PublishDiagnosticsParams> {
    this.versions.set(uri, 1);
    await this.conn.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId, version: 1, text } });
    return this.waitForDiagnostics(uri, (p) => p.version === 1);
  }

  /** Replaces the whole text (a new version); returns the version sent. */
  async replace(uri: string, text: string): Promise<number> {
    const version = (this.versions.get(uri) ?? 0) + 1;
    this.versions.set(uri, version);
    await this.conn.sendNotification('textDocument/didChange', { textDocument: { uri, version }, contentChanges: [{ text }] });
    return version;
  }

  /** Sends incremental edits; returns the version sent. */
  async edit(
    uri: string,
    changes: { range: { start: { line: number; character: number }; end: { line: number; character: number } }; text: string }[],
  ): Promise<number> {
    const version = (this.versions.get(uri) ?? 0) + 1;
    this.versions.set(uri, version);
    await this.conn.sendNotification('textDocument/didChange', { textDocument: { uri, version }, contentChanges: changes });
    return version;
  }

  async closeDoc(uri: string): Promise<void> {
    this.versions.delete(uri);
    await this.conn.sendNotification('textDocument/didClose', { textDocument: { uri } });
  }

  request<R = unknown>(method: string, params: unknown): Promise<R> {
    return this.conn.sendRequest(method, params) as Promise<R>;
  }

  /** shutdown + exit, then wait for the process to end. */
  async stop(): Promise<void> {
    if (this.exited) return;
    const ended = new Promise<void>((r) => (this.exited ? r() : this.exitWaiters.push(r)));
    try {
      await this.conn.sendRequest('shutdown');
      await this.conn.sendNotification('exit');
    } catch {
      this.child.kill();
    }
    await ended;
    this.conn.dispose();
  }
}
