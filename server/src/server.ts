/**
 * The YOLO Lens language server (stdio): thin wiring from LSP requests to the core's pure features. Every handler
 * is one `runSafe(...)` call (errors logged, an empty result returned, cancellation honoured); the analysis of a
 * document is cached by (uri, version, settings); diagnostics are debounced. Started by `node dist/server.js
 * --stdio`, by `yolo-lens lsp --stdio` (which calls `startServer()`), and by the VS Code client.
 */
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type CancellationToken,
  type ClientCapabilities,
  CodeActionKind,
  CodeActionTriggerKind,
  type Connection,
  createConnection,
  DidChangeConfigurationNotification,
  DidChangeWatchedFilesNotification,
  FileChangeType,
  type InitializeResult,
  LSPErrorCodes,
  NotificationType,
  ProposedFeatures,
  RequestType,
  ResponseError,
  TextDocuments,
  TextDocumentSyncKind,
  type WorkDoneProgressReporter,
} from 'vscode-languageserver/node';
import { StreamMessageReader, StreamMessageWriter } from 'vscode-languageserver/node';
import { TextDocument } from 'vscode-languageserver-textdocument';
import packageJson from '../../package.json';
import { parseModelDoc, type ModelDoc } from './core/document.ts';
import type { Diagnostic as CoreDiagnostic } from './core/diagnostics.ts';
import { LineIndex } from './core/lines.ts';
import type { Model } from './core/model.ts';
import { resolveDoc, type ResolveOptions } from './core/resolve.ts';
import { frameworkByName } from './core/framework/index.ts';
import { recordJson, summaryTable } from './core/summary.ts';
import { codeActions } from './core/features/codeActions.ts';
import { codeLenses } from './core/features/codeLens.ts';
import { completions } from './core/features/completion.ts';
import { internalDiagnostics, modelDiagnostics, type SeverityOverride } from './core/features/diagnostics.ts';
import { mergeSettings, settingsOptions, type LensSettings } from './core/settings.ts';
import type { WorkspaceFacts } from './core/framework/workspace.ts';
import { workspaceFactsFor } from './workspace.ts';
import { DEFAULT_FLOPS_CONVENTION, flopsConvention, type FlopsConvention } from '../../common/src/format.ts';
import { hover } from './core/features/hover.ts';
import { inlayHints } from './core/features/inlayHints.ts';
import { isModelDoc } from './core/features/modelFile.ts';
import { definition, highlights, references } from './core/features/references.ts';
import { signatureHelp } from './core/features/signatureHelp.ts';
import { submodules } from './core/features/submodules.ts';
import { documentSymbols } from './core/features/symbols.ts';
import { planWeights, weightsDiagnostics, weightsLens, type WeightsPlan } from './core/features/weights.ts';
import { modeline } from './core/framework/detect.ts';
import { CheckpointStore, weightsPath, type WeightsSource } from './weightsFile.ts';
import { profileModel } from './runtime/profile.ts';
import { isConfigUri, UserModuleStore } from './userModuleStore.ts';
import {
  GraphRequestType,
  type GraphResult,
  ModelChangedNotificationType,
  type ModelChangedParams,
  type ModelRequestParams,
  PROFILE_BACKENDS,
  type ProfileBackend,
  type ProfileParams,
  ProfileRequestType,
  type ProfileResult,
  type SubmoduleNode,
  type SubmodulesParams,
  SubmodulesRequestType,
  SummaryRequestType,
  type SummaryResult,
  WorkspaceTrustNotificationType,
  type WorkspaceTrustParams,
} from './protocol.ts';
import {
  fromLspDiagnostic,
  toLspBasicDiagnostic,
  toFlatSymbols,
  toGraphResult,
  withWeights,
  toLspCodeAction,
  toLspCodeLens,
  toLspCompletion,
  toLspDefinition,
  toLspDiagnostic,
  toLspHighlights,
  toLspHover,
  toLspInlayHint,
  toLspLocations,
  toLspRange,
  toLspSignatureHelp,
  toLspSymbols,
  toOffset,
  toOffsetRange,
} from './convert.ts';

// ---- settings (`yolo.*`, read through workspace/configuration) ---------------------------------------------

export interface ServerSettings {
  /** image size for shapes and FLOPs; null: the file's `# yolo-lens: imgsz=` or 640 */
  readonly imgsz: number | null;
  /** `scales:` entry; null: the file's modeline, its name, or the first entry */
  readonly scale: string | null;
  /** the framework id or alias that builds the file; 'auto' detects it from the file */
  readonly framework: string;
  readonly diagnostics: {
    /** per code: a severity or 'off' */
    readonly severity: Readonly<Record<string, SeverityOverride>>;
    /** quiet time after an edit before diagnostics are recomputed */
    readonly debounceMs: number;
  };
  /** the FLOPs convention shown first */
  readonly gflops: FlopsConvention;
  readonly profile: { readonly backend: ProfileBackend };
  /** the pretrained checkpoint to plan against (`yolo.weights`), null when none; the modeline's `weights=` wins */
  readonly weights: string | null;
}

export const DEFAULT_SETTINGS: ServerSettings = {
  imgsz: null,
  scale: null,
  framework: 'auto',
  diagnostics: { severity: {}, debounceMs: 200 },
  gflops: DEFAULT_FLOPS_CONVENTION,
  profile: { backend: 'auto' },
  weights: null,
};

const SEVERITIES = new Set(['error', 'warning', 'information', 'hint', 'off']);
const BACKENDS = new Set<string>(PROFILE_BACKENDS);

/** An image size as the resolver takes it (it falls back to 640 outside this range); undefined otherwise. */
const validImgsz = (v: unknown): number | undefined => (typeof v === 'number' && Number.isInteger(v) && v > 0 && v <= 8192 ? v : undefined);

/** Whatever the client sent (possibly null, partial or wrong) → valid settings; bad fields fall back to defaults. */
export function readSettings(raw: unknown): ServerSettings {
  const r = (raw && typeof raw === 'object' ? raw : {}) as Record<string, unknown>;
  const d = (r.diagnostics && typeof r.diagnostics === 'object' ? r.diagnostics : {}) as Record<string, unknown>;
  const p = (r.profile && typeof r.profile === 'object' ? r.profile : {}) as Record<string, unknown>;
  const severity: Record<string, SeverityOverride> = {};
  if (d.severity && typeof d.severity === 'object')
    for (const [code, s] of Object.entries(d.severity as Record<string, unknown>))
      if (typeof s === 'string' && SEVERITIES.has(s)) severity[code.toUpperCase()] = s as SeverityOverride;
  const imgsz = validImgsz(r.imgsz) ?? null;
  const debounce =
    typeof d.debounceMs === 'number' && Number.isFinite(d.debounceMs)
      ? Math.min(Math.max(0, d.debounceMs), 10_000)
      : DEFAULT_SETTINGS.diagnostics.debounceMs;
  return {
    imgsz,
    scale: typeof r.scale === 'string' && r.scale.trim() ? r.scale.trim() : null,
    framework:
      typeof r.framework === 'string' && (r.framework === 'auto' || frameworkByName(r.framework))
        ? (r.framework as ServerSettings['framework'])
        : 'auto',
    diagnostics: { severity, debounceMs: debounce },
    gflops: flopsConvention(r.gflops),
    profile: {
      backend: typeof p.backend === 'string' && BACKENDS.has(p.backend) ? (p.backend as ProfileBackend) : 'auto',
    },
    weights: typeof r.weights === 'string' && r.weights.trim() ? r.weights.trim() : null,
  };
}

/**
 * The editor's settings as the core's: a value left at its default is no setting (so `.yolo-lens.json` decides it),
 * and a file's `# yolo-lens:` comment wins over all of them (core/settings.ts).
 */
export function editorSettings(s: ServerSettings): LensSettings {
  return {
    ...(s.framework !== 'auto' ? { framework: s.framework } : {}),
    ...(s.scale !== null ? { scale: s.scale } : {}),
    ...(s.imgsz !== null && s.imgsz !== EDITOR_DEFAULT_IMGSZ ? { imgsz: s.imgsz } : {}),
    ...(Object.keys(s.diagnostics.severity).length ? { severity: s.diagnostics.severity } : {}),
  };
}

/** `yolo.imgsz`'s default in package.json: VS Code sends it when the user set nothing. */
const EDITOR_DEFAULT_IMGSZ = 640;

/** Python files that say which code base builds the models (watched: a change re-resolves every open model). */
const WORKSPACE_CODE_GLOBS = ['**/models/{yolo,common,experimental}.py', '**/ultralytics/{__init__,nn/tasks}.py'];

// ---- the analysis of one document version ------------------------------------------------------------------

interface Analysis {
  readonly uri: string;
  readonly version: number;
  readonly settings: ServerSettings;
  readonly settingsKey: string;
  readonly lines: LineIndex;
  readonly doc: ModelDoc;
  /** null: not a model YAML (the server leaves it alone) */
  readonly model: Model | null;
  readonly options: ResolveOptions;
  /** the settings it was resolved with: `.yolo-lens.json`'s, the editor's over them (the same rules as `check`) */
  readonly lensSettings: LensSettings;
  /** the resolver failed (a bug): reported as YOLO030 */
  readonly internalError?: string;
  /** per-feature results of this version */
  readonly memo: Map<string, unknown>;
}

type ModelAnalysis = Analysis & { readonly model: Model };

function memo<T>(a: Analysis, key: string, compute: () => T): T {
  if (a.memo.has(key)) return a.memo.get(key) as T;
  const v = compute();
  a.memo.set(key, v);
  return v;
}

/** An error for the log: its stack when it has one. */
const errorText = (e: unknown): string => (e instanceof Error ? (e.stack ?? e.message) : String(e));

/** The file name the resolver uses for the scale rule (`yolov8n.yaml` → n) and the summary line. */
export function fileNameOf(uri: string): string {
  try {
    if (uri.startsWith('file:')) return fileURLToPath(uri);
  } catch {
    // not a valid file URI: fall through to the last path segment
  }
  const tail = uri.split(/[/\\]/).pop() ?? uri;
  try {
    return decodeURIComponent(tail);
  } catch {
    return tail;
  }
}

// ---- custom requests (typed once in protocol.ts) -----------------------------------------------------------

const GraphRequest = new RequestType<ModelRequestParams, GraphResult | null, void>(GraphRequestType);
const SubmodulesRequest = new RequestType<SubmodulesParams, SubmoduleNode | null, void>(SubmodulesRequestType);
const SummaryRequest = new RequestType<ModelRequestParams, SummaryResult | null, void>(SummaryRequestType);
const ProfileRequest = new RequestType<ProfileParams, ProfileResult | null, void>(ProfileRequestType);
const ModelChangedNotification = new NotificationType<ModelChangedParams>(ModelChangedNotificationType);
/** From the VS Code client: the workspace was trusted (or not); `.yolo-lens.json` is only read in a trusted one. */
const WorkspaceTrustNotification = new NotificationType<WorkspaceTrustParams>(WorkspaceTrustNotificationType);

const SERVER_VERSION = packageJson.version;

function stdioConnection(): Connection {
  // `--node-ipc`, `--socket=` and `--pipe=` are read by createConnection itself; stdio is the default otherwise
  const argv = process.argv;
  if (argv.some((a) => a === '--node-ipc' || a.startsWith('--socket') || a.startsWith('--pipe')))
    return createConnection(ProposedFeatures.all);
  return createConnection(ProposedFeatures.all, new StreamMessageReader(process.stdin), new StreamMessageWriter(process.stdout));
}

/**
 * Test-only fault injection, documented in docs/security.md: `YOLO_LENS_FAULT=hover,resolve` makes those handlers
 * (by their runSafe name) or the resolver throw, and `exit:<name>` makes the process exit in that handler, so that
 * tests prove a crash inside a feature costs an empty answer and a log line (and a dead server, a restart). Unset in
 * normal use; it can only make things fail.
 */
const FAULTS = new Set(
  (process.env.YOLO_LENS_FAULT ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean),
);
function injectedFault(name: string): void {
  if (FAULTS.has(`exit:${name}`)) process.exit(86);
  if (FAULTS.has(name)) throw new Error(`fault injected into ${name} (YOLO_LENS_FAULT)`);
}

export function startServer(given?: Connection): Connection {
  const conn = given ?? stdioConnection();
  const documents = new TextDocuments(TextDocument);
  const analyses = new Map<string, Analysis>();
  const settingsCache = new Map<string, Promise<ServerSettings>>();
  const timers = new Map<string, ReturnType<typeof setTimeout>>();
  /** URIs that were models at their last analysis (their panel must hear when they stop being one) */
  const modelUris = new Set<string>();
  let caps: ClientCapabilities = {};
  /** settings from `workspace/didChangeConfiguration` (`{ settings: { yolo: {...} } }`), for clients that do not pull */
  let pushedSettings: ServerSettings = DEFAULT_SETTINGS;
  /** user-declared modules (`.yolo-lens.json`) of the workspace folders */
  const userModules = new UserModuleStore();

  const log = (msg: string) => {
    try {
      conn.console.error(msg);
    } catch {
      // the connection is gone: nothing to log to
    }
  };

  /** pretrained checkpoints, read once per file version; the workspace's folders and trust decide what may be read */
  const checkpoints = new CheckpointStore((path, ms, r) =>
    log(
      r.ok ? `read checkpoint ${path} (${r.checkpoint.tensorCount} tensors) in ${ms.toFixed(0)} ms` : `checkpoint not read: ${r.message}`,
    ),
  );
  let folderPaths: string[] = [];
  let trusted = true;

  /** Every handler is this one call: errors are logged and become `fallback`, cancellation answers as LSP asks. */
  async function runSafe<T>(
    name: string,
    token: CancellationToken | undefined,
    fallback: T,
    fn: () => T | Promise<T>,
  ): Promise<T | ResponseError<void>> {
    if (token?.isCancellationRequested) return cancelled();
    try {
      if (FAULTS.size) injectedFault(name);
      const result = await fn();
      if (token?.isCancellationRequested) return cancelled();
      return result;
    } catch (e) {
      log(`${name} failed: ${errorText(e)}`);
      return fallback;
    }
  }
  const cancelled = () => new ResponseError<void>(LSPErrorCodes.RequestCancelled, 'request cancelled');

  function settingsFor(uri: string): Promise<ServerSettings> {
    const hit = settingsCache.get(uri);
    if (hit) return hit;
    // pull when the client can answer workspace/configuration; else what it pushed (Neovim 0.7 pushes `settings`)
    const p = caps.workspace?.configuration
      ? conn.workspace.getConfiguration({ scopeUri: uri, section: 'yolo' }).then(readSettings, (e: unknown) => {
          log(`workspace/configuration failed: ${String(e)}`);
          return DEFAULT_SETTINGS;
        })
      : Promise.resolve(pushedSettings);
    settingsCache.set(uri, p);
    return p;
  }

  function analyse(doc: TextDocument, settings: ServerSettings): Analysis {
    // the config above the document first: finding it may bump the generation the cache key holds
    const config = userModules.configFor(doc.uri);
    // a change to `.yolo-lens.json` or to the workspace's Python code changes every model's resolution
    const settingsKey = JSON.stringify(settings) + '#' + userModules.generation + '#' + workspaceGeneration;
    const prev = analyses.get(doc.uri);
    if (prev && prev.version === doc.version && prev.settingsKey === settingsKey) return prev;
    const text = doc.getText();
    const lines = new LineIndex(text);
    const parsed = parseModelDoc(text);
    const lensSettings = mergeSettings(config?.settings, editorSettings(settings));
    const workspace = workspaceOf(doc.uri);
    const options: ResolveOptions = {
      fileName: fileNameOf(doc.uri),
      ...(config?.modules ? { userModules: config.modules } : {}),
      ...(workspace ? { workspace } : {}),
      ...settingsOptions(text, lensSettings),
    };
    let model: Model | null = null;
    let internalError: string | undefined;
    if (isModelDoc(parsed)) {
      try {
        if (FAULTS.size) injectedFault('resolve');
        model = resolveDoc(parsed, options);
      } catch (e) {
        internalError = e instanceof Error ? e.message : String(e);
        log(`resolve failed on ${doc.uri}: ${errorText(e)}`);
      }
    }
    const a: Analysis = {
      uri: doc.uri,
      version: doc.version,
      settings,
      settingsKey,
      lines,
      doc: parsed,
      model,
      options,
      lensSettings,
      ...(internalError ? { internalError } : {}),
      memo: new Map(),
    };
    analyses.set(doc.uri, a);
    return a;
  }

  /** The current analysis of an open model document; null for closed/unknown URIs and non-model YAML. */
  async function modelAnalysis(params: unknown): Promise<ModelAnalysis | null> {
    const uri = (params as { textDocument?: { uri?: unknown } } | null)?.textDocument?.uri;
    return modelAnalysisOf(uri);
  }

  async function modelAnalysisOf(uri: unknown): Promise<ModelAnalysis | null> {
    if (typeof uri !== 'string') return null;
    const doc = documents.get(uri);
    if (!doc) return null;
    const settings = await settingsFor(uri);
    const current = documents.get(uri);
    if (!current) return null;
    const a = analyse(current, settings);
    return a.model ? (a as ModelAnalysis) : null;
  }

  /**
   * The same text resolved with other options (another scale or image size): memoised per version. An
   * option equal to what the analysis resolved with is no variant (VS Code sends its image size with every request).
   */
  function variant(a: ModelAnalysis, over: { imgsz?: unknown; scale?: unknown }): Model {
    const given = validImgsz(over.imgsz);
    const imgsz = given !== a.model.imgsz ? given : undefined;
    const scale = typeof over.scale === 'string' && over.scale && over.scale !== a.options.scale ? over.scale : undefined;
    if (imgsz === undefined && scale === undefined) return a.model;
    return memo(a, `variant:${imgsz ?? ''}:${scale ?? ''}`, () =>
      resolveDoc(a.doc, { ...a.options, ...(imgsz !== undefined ? { imgsz } : {}), ...(scale !== undefined ? { scale } : {}) }),
    );
  }

  /** The status bar and the graph panel ask for the same graph of each version: built once per resolved model. */
  const graphs = new WeakMap<Model, GraphResult>();
  function graphOfVariant(a: ModelAnalysis, over: { imgsz?: unknown; scale?: unknown }): GraphResult {
    const m = variant(a, over);
    let g = graphs.get(m);
    if (!g) graphs.set(m, (g = toGraphResult(m, a.uri, a.version, a.lines)));
    return g;
  }

  /** The one diagnostics function of the core, with the settings the analysis resolved with (`check` does the same). */
  function coreDiagnostics(a: Analysis): CoreDiagnostic[] {
    return memo(a, 'diagnostics', () => {
      const severity = a.lensSettings.severity ?? {};
      if (a.internalError) return internalDiagnostics(a.internalError, { severity });
      return a.model ? modelDiagnostics(a.model, { severity }) : [];
    });
  }

  // ---- pretrained weights (weightsFile.ts reads; core/features/weights.ts plans) ----------------------------

  const plans = new WeakMap<Model, { read: unknown; plan: WeightsPlan }>();

  /**
   * The model against the checkpoint the modeline (`# yolo-lens: weights=`) or the `yolo.weights` setting names;
   * null when none is named. In Restricted Mode a modeline may only name a file inside the workspace (the setting
   * is a restricted one: VS Code passes only the user's own value there).
   */
  async function weightsOf(a: ModelAnalysis, model: Model = a.model): Promise<WeightsPlan | null> {
    const written = modeline(a.doc.text).weights;
    const source: WeightsSource | null = written
      ? { written, from: 'modeline' }
      : a.settings.weights
        ? { written: a.settings.weights, from: 'setting' }
        : null;
    if (!source) return null;
    const file = a.uri.startsWith('file:') ? fileNameOf(a.uri) : null;
    const path = weightsPath(source, file, folderPaths);
    if (!path)
      return { kind: 'unreadable', weights: source.written, message: `${source.written}: a relative path needs a saved file or a folder` };
    const within = !trusted && source.from === 'modeline' ? (folderPaths.length ? folderPaths : file ? [dirname(file)] : []) : null;
    const read = await checkpoints.get(path, within);
    if (!read.ok) return { kind: 'unreadable', weights: source.written, message: read.message };
    const hit = plans.get(model);
    if (hit && hit.read === read) return hit.plan;
    const tensors = checkpoints.tensorsOf(read.checkpoint, model.framework.loader.entry, source.written);
    const plan: WeightsPlan = tensors.ok
      ? planWeights(model, tensors.tensors, source.written)
      : { kind: 'unreadable', weights: source.written, message: tensors.message };
    plans.set(model, { read, plan });
    return plan;
  }

  // ---- the workspace's code (models/common.py, an ultralytics install): read as text, cached per folder ---------

  let workspaceGeneration = 0;
  const workspaceCache = new Map<string, WorkspaceFacts | null>();
  function workspaceOf(uri: string): WorkspaceFacts | null {
    let path: string;
    try {
      if (!uri.startsWith('file:')) return null;
      path = fileURLToPath(uri);
    } catch {
      return null;
    }
    const root = workspaceRoots.find((r) => path.startsWith(r));
    return workspaceFactsFor(path, root, workspaceCache);
  }
  let workspaceRoots: string[] = [];

  // ---- diagnostics: debounced, versioned ------------------------------------------------------------------

  function schedule(uri: string, delayMs: number): void {
    const t = timers.get(uri);
    if (t) clearTimeout(t);
    timers.set(
      uri,
      setTimeout(() => {
        timers.delete(uri);
        void publish(uri);
      }, delayMs),
    );
  }

  async function publish(uri: string): Promise<void> {
    try {
      const doc = documents.get(uri);
      if (!doc) return;
      const settings = await settingsFor(uri);
      const current = documents.get(uri);
      // a newer edit arrived while the settings were fetched: its own run publishes
      if (!current || current.version !== doc.version) return;
      const a = analyse(current, settings);
      const weights = a.model ? await weightsOf(a as ModelAnalysis) : null;
      // the checkpoint was read meanwhile and a newer edit arrived: its own run publishes
      if (weights && documents.get(uri)?.version !== a.version) return;
      const own = weights ? weightsDiagnostics(a.model!, weights, { severity: a.settings.diagnostics.severity }) : [];
      const diagnostics = [...coreDiagnostics(a), ...own].map((d) => toLspDiagnostic(a.lines, uri, d));
      await conn.sendDiagnostics({ uri, version: a.version, diagnostics });
      if (a.model || a.internalError || modelUris.has(uri)) {
        if (a.model) modelUris.add(uri);
        else modelUris.delete(uri);
        await conn.sendNotification(ModelChangedNotification, { uri, version: a.version });
      }
    } catch (e) {
      log(`diagnostics failed for ${uri}: ${errorText(e)}`);
    }
  }

  /** Diagnostics of a `.yolo-lens.json` on its own URI. */
  function publishConfig(uri: string): void {
    const c = userModules.configOf(uri);
    const lines = new LineIndex(c?.text ?? '');
    const diagnostics = (c?.diagnostics ?? []).map((d) => toLspBasicDiagnostic(lines, d));
    const version = documents.get(uri)?.version;
    void conn.sendDiagnostics({ uri, diagnostics, ...(version !== undefined ? { version } : {}) }).catch(() => undefined);
  }

  /**
   * Declared modules changed: every open model resolves again; the configs that changed (`touched`, perhaps gone
   * now) and the loaded ones publish their diagnostics, each once.
   */
  function userModulesChanged(touched: readonly string[]): void {
    for (const d of documents.all()) if (!isConfigUri(d.uri)) schedule(d.uri, 0);
    for (const uri of new Set([...touched, ...userModules.all().map((c) => c.uri)])) publishConfig(uri);
    refreshPullFeatures();
  }

  /** Clients redraw pull-based features (lenses, hints) when asked. */
  function refreshPullFeatures(): void {
    if (caps.workspace?.codeLens?.refreshSupport) void conn.sendRequest('workspace/codeLens/refresh').catch(() => undefined);
    if (caps.workspace?.inlayHint?.refreshSupport) void conn.sendRequest('workspace/inlayHint/refresh').catch(() => undefined);
  }

  documents.onDidChangeContent((e) => {
    const uri = e.document.uri;
    if (isConfigUri(uri)) {
      // the live text of an open config wins over the file on disk
      userModules.fromText(uri, e.document.getText());
      userModulesChanged([uri]);
      return;
    }
    // the first version publishes at once; edits wait for the user to pause
    const first = !analyses.has(uri);
    if (first) schedule(uri, 0);
    else
      void settingsFor(uri).then(
        (s) => schedule(uri, s.diagnostics.debounceMs),
        () => schedule(uri, DEFAULT_SETTINGS.diagnostics.debounceMs),
      );
  });

  documents.onDidClose((e) => {
    const uri = e.document.uri;
    if (isConfigUri(uri)) {
      // back to what is saved on disk
      userModules.changedOnDisk(uri, false);
      userModulesChanged([uri]);
      return;
    }
    const t = timers.get(uri);
    if (t) clearTimeout(t);
    timers.delete(uri);
    analyses.delete(uri);
    settingsCache.delete(uri);
    modelUris.delete(uri);
    void conn.sendDiagnostics({ uri, diagnostics: [] }).catch(() => undefined);
  });

  // ---- lifecycle ---------------------------------------------------------------------------------------------

  conn.onInitialize((params): InitializeResult => {
    caps = params?.capabilities ?? {};
    // editors without a notion of workspace trust (Neovim...) count as trusted; VS Code tells us
    const init = (params?.initializationOptions ?? {}) as { workspaceTrusted?: unknown };
    userModules.setTrusted(init.workspaceTrusted !== false);
    trusted = init.workspaceTrusted !== false;
    const folders = Array.isArray(params?.workspaceFolders)
      ? params.workspaceFolders.map((f) => f.uri)
      : params?.rootUri
        ? [params.rootUri]
        : [];
    userModules.setRoots(folders.filter((u): u is string => typeof u === 'string'));
    folderPaths = folders.filter((u): u is string => typeof u === 'string' && u.startsWith('file:')).map((u) => fileNameOf(u));

    workspaceRoots = folders
      .filter((u): u is string => typeof u === 'string' && u.startsWith('file:'))
      .map((u) => {
        try {
          return fileURLToPath(u);
        } catch {
          return '';
        }
      })
      .filter(Boolean);
    return {
      capabilities: {
        textDocumentSync: TextDocumentSyncKind.Incremental,
        completionProvider: { triggerCharacters: [' ', ',', '[', '=', '-'], resolveProvider: false },
        hoverProvider: true,
        signatureHelpProvider: { triggerCharacters: ['[', ','], retriggerCharacters: [' '] },
        definitionProvider: true,
        referencesProvider: true,
        documentHighlightProvider: true,
        documentSymbolProvider: true,
        codeLensProvider: { resolveProvider: false },
        inlayHintProvider: { resolveProvider: false },
        codeActionProvider: {
          codeActionKinds: [
            CodeActionKind.QuickFix,
            CodeActionKind.Refactor,
            CodeActionKind.RefactorRewrite,
            `${CodeActionKind.Refactor}.insert`,
            `${CodeActionKind.Refactor}.move`,
            `${CodeActionKind.Refactor}.delete`,
          ],
        },
      },
      serverInfo: { name: 'yolo-lens', version: SERVER_VERSION },
    };
  });

  conn.onInitialized(() => {
    if (caps.workspace?.didChangeConfiguration?.dynamicRegistration)
      void conn.client.register(DidChangeConfigurationNotification.type, { section: 'yolo' }).catch(() => undefined);
    if (caps.workspace?.didChangeWatchedFiles?.dynamicRegistration)
      void conn.client
        .register(DidChangeWatchedFilesNotification.type, {
          watchers: [{ globPattern: '**/.yolo-lens.json' }, ...WORKSPACE_CODE_GLOBS.map((globPattern) => ({ globPattern }))],
        })
        .catch(() => undefined);
    for (const c of userModules.all()) publishConfig(c.uri);
  });

  conn.onDidChangeWatchedFiles((params) => {
    const touched: string[] = [];
    // the workspace's Python code changed: which framework builds a file, and which modules exist, may have too
    if ((params?.changes ?? []).some((ch) => typeof ch?.uri === 'string' && /\.py$/.test(ch.uri))) {
      workspaceCache.clear();
      workspaceGeneration++;
      for (const d of documents.all()) if (!isConfigUri(d.uri)) schedule(d.uri, 0);
      refreshPullFeatures();
    }
    for (const ch of params?.changes ?? []) {
      if (typeof ch?.uri !== 'string' || !isConfigUri(ch.uri) || documents.get(ch.uri)) continue;
      userModules.changedOnDisk(ch.uri, ch.type === FileChangeType.Deleted);
      touched.push(ch.uri);
    }
    if (touched.length) userModulesChanged(touched);
  });

  conn.onNotification(WorkspaceTrustNotification, (params) => {
    const before = userModules.all().map((c) => c.uri);
    userModules.setTrusted(params?.trusted === true);
    trusted = params?.trusted === true;
    userModulesChanged(before);
  });

  conn.onDidChangeConfiguration((params) => {
    const pushed = (params?.settings as { yolo?: unknown } | null | undefined)?.yolo;
    if (pushed !== undefined) pushedSettings = readSettings(pushed);
    settingsCache.clear();
    for (const d of documents.all()) schedule(d.uri, 0);
    refreshPullFeatures();
  });

  // ---- features: one runSafe call each ----------------------------------------------------------------------

  conn.onCompletion((params, token) =>
    runSafe('completion', token, null, async () => {
      const a = await modelAnalysis(params);
      return a ? toLspCompletion(a.lines, completions(a.model, toOffset(a.lines, params.position))) : null;
    }),
  );

  conn.onHover((params, token) =>
    runSafe('hover', token, null, async () => {
      const a = await modelAnalysis(params);
      if (!a) return null;
      const h = hover(a.model, toOffset(a.lines, params.position), {
        convention: a.settings.gflops,
        resolveAtScale: (scale) => variant(a, { scale }),
      });
      return h ? toLspHover(a.lines, h) : null;
    }),
  );

  conn.onSignatureHelp((params, token) =>
    runSafe('signatureHelp', token, null, async () => {
      const a = await modelAnalysis(params);
      const s = a ? signatureHelp(a.model, toOffset(a.lines, params.position)) : null;
      return s ? toLspSignatureHelp(s) : null;
    }),
  );

  conn.onDefinition((params, token) =>
    runSafe('definition', token, null, async () => {
      const a = await modelAnalysis(params);
      const t = a ? definition(a.model, toOffset(a.lines, params.position)) : null;
      return a && t ? toLspDefinition(a.lines, a.uri, t, !!caps.textDocument?.definition?.linkSupport) : null;
    }),
  );

  conn.onReferences((params, token) =>
    runSafe('references', token, [], async () => {
      const a = await modelAnalysis(params);
      return a
        ? toLspLocations(
            a.lines,
            a.uri,
            references(a.model, toOffset(a.lines, params.position), params.context?.includeDeclaration !== false),
          )
        : [];
    }),
  );

  conn.onDocumentHighlight((params, token) =>
    runSafe('documentHighlight', token, [], async () => {
      const a = await modelAnalysis(params);
      return a ? toLspHighlights(a.lines, highlights(a.model, toOffset(a.lines, params.position))) : [];
    }),
  );

  conn.onDocumentSymbol((params, token) =>
    runSafe('documentSymbol', token, [], async () => {
      const a = await modelAnalysis(params);
      if (!a) return [];
      const syms = memo(a, 'symbols', () => documentSymbols(a.model));
      return caps.textDocument?.documentSymbol?.hierarchicalDocumentSymbolSupport
        ? toLspSymbols(a.lines, syms)
        : toFlatSymbols(a.lines, a.uri, syms);
    }),
  );

  conn.onCodeLens((params, token) =>
    runSafe('codeLens', token, [], async () => {
      const a = await modelAnalysis(params);
      if (!a) return [];
      // the lens shows built and fused figures: the fused ones need the full resolution (memoised per version)
      const lenses = memo(a, 'codeLens', () => codeLenses(a.model, a.uri, a.settings.gflops).map((l) => toLspCodeLens(a.lines, l)));
      const weights = await weightsOf(a);
      return weights ? [...lenses, toLspCodeLens(a.lines, weightsLens(weights))] : lenses;
    }),
  );

  conn.languages.inlayHint.on((params, token) =>
    runSafe('inlayHint', token, [], async () => {
      const a = await modelAnalysis(params);
      if (!a) return [];
      // editors ask for the visible range: computing just those layers keeps a 5,000-layer file cheap
      const range = params.range ? toOffsetRange(a.lines, params.range) : undefined;
      return inlayHints(a.model, range)
        .filter((h) => !range || (h.offset >= range.start && h.offset <= range.end))
        .map((h) => toLspInlayHint(a.lines, h));
    }),
  );

  conn.onCodeAction((params, token) =>
    runSafe('codeAction', token, [], async () => {
      const a = await modelAnalysis(params);
      if (!a) return [];
      const ours = coreDiagnostics(a);
      const sent = Array.isArray(params.context?.diagnostics) ? params.context.diagnostics : [];
      // prefer our own record of a diagnostic (it keeps every field); rebuild it from the wire otherwise
      const diagnostics = sent
        .map(
          (d) => ours.find((o) => o.code === d.code && sameRange(toLspRange(a.lines, o.range), d.range)) ?? fromLspDiagnostic(a.lines, d),
        )
        .filter((d): d is CoreDiagnostic => d !== null);
      const actions = codeActions(a.model, {
        range: toOffsetRange(a.lines, params.range),
        diagnostics,
        ...(params.context?.only ? { only: params.context.only } : {}),
        trigger: params.context?.triggerKind === CodeActionTriggerKind.Automatic ? 'automatic' : 'invoked',
      });
      // the edits are offsets into this version: refuse rather than send edits for text that moved on
      if (documents.get(a.uri)?.version !== a.version) return [];
      return actions.map((x) => toLspCodeAction(a.lines, a.uri, a.version, x));
    }),
  );

  conn.onRequest(GraphRequest, (params, token) =>
    runSafe('yolo/graph', token, null, async () => {
      const a = await modelAnalysisOf(params?.uri);
      return a ? withWeights(graphOfVariant(a, params), await weightsOf(a, variant(a, params))) : null;
    }),
  );

  conn.onRequest(SubmodulesRequest, (params, token) =>
    runSafe('yolo/submodules', token, null, async () => {
      const a = await modelAnalysisOf(params?.uri);
      return a && typeof params.index === 'number' ? submodules(variant(a, params), params.index) : null;
    }),
  );

  conn.onRequest(SummaryRequest, (params, token) =>
    runSafe('yolo/summary', token, null, async () => {
      const a = await modelAnalysisOf(params?.uri);
      if (!a) return null;
      const m = variant(a, params);
      return { uri: a.uri, table: summaryTable(m, a.settings.gflops), record: JSON.parse(recordJson(m, fileNameOf(a.uri))) as unknown };
    }),
  );

  conn.onRequest(ProfileRequest, (params, token) =>
    runSafe('yolo/profile', token, null, async () => {
      const a = await modelAnalysisOf(params?.uri);
      if (!a) return null;
      const model = variant(a, params);
      const progress = await progressReporter(params?.workDoneToken);
      const abort = new AbortController();
      token.onCancellationRequested(() => abort.abort());
      progress.token?.onCancellationRequested(() => abort.abort());
      progress.reporter.begin('YOLO Lens: profiling', 0, 'building the network', true);
      try {
        const result = await profileModel(model, {
          ...(typeof params.imgsz === 'number' ? { imgsz: params.imgsz } : {}),
          ...(typeof params.batch === 'number' ? { batch: params.batch } : {}),
          ...(typeof params.runs === 'number' ? { runs: params.runs } : {}),
          ...(typeof params.warmup === 'number' ? { warmup: params.warmup } : {}),
          backend: params.backend && typeof params.backend === 'string' ? params.backend : a.settings.profile.backend,
          signal: abort.signal,
          onProgress: (done, total, message) => progress.reporter.report(total > 0 ? Math.round((100 * done) / total) : 0, message),
        });
        return { ...result, uri: a.uri };
      } finally {
        progress.reporter.done();
      }
    }),
  );

  /** The client's progress token when it sent one, a server-created one when it can show them, else a no-op. */
  async function progressReporter(token: unknown): Promise<{ reporter: WorkDoneProgressReporter; token?: CancellationToken }> {
    if (typeof token === 'string' || typeof token === 'number') return { reporter: conn.window.attachWorkDoneProgress(token) };
    if (caps.window?.workDoneProgress) {
      try {
        const r = await conn.window.createWorkDoneProgress();
        return { reporter: r, token: r.token };
      } catch {
        // the client refused: profile without progress
      }
    }
    return { reporter: conn.window.attachWorkDoneProgress(undefined) };
  }

  documents.listen(conn);
  conn.listen();
  return conn;
}

function sameRange(a: { start: { line: number; character: number }; end: { line: number; character: number } }, b: unknown): boolean {
  const r = b as typeof a | null;
  return (
    !!r &&
    r.start?.line === a.start.line &&
    r.start?.character === a.start.character &&
    r.end?.line === a.end.line &&
    r.end?.character === a.end.character
  );
}

// Started as its own bundle (`node dist/server.js --stdio`); the CLI requires this file and calls startServer().
declare const require: { main?: unknown } | undefined;
declare const module: unknown;
if (typeof require !== 'undefined' && typeof module !== 'undefined' && require.main === module) {
  process.on('uncaughtException', (e) => process.stderr.write(`yolo-lens server: uncaught ${errorText(e)}\n`));
  process.on('unhandledRejection', (e) => process.stderr.write(`yolo-lens server: unhandled rejection ${errorText(e)}\n`));
  startServer();
}
