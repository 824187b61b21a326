/**
 * Hosts the graph panel (`YOLO Lens: Show Model Graph`, `Compare With...`, `Profile Model`): creates and restores
 * the webviews, feeds them what the language server answers (`yolo/graph`, `yolo/submodules`, `yolo/profile`),
 * follows edits (debounced) and the editor cursor, reveals a clicked layer in the editor, saves exports.
 * Every message from a webview is validated before it is acted on.
 */
import * as vscode from 'vscode';
import { randomBytes } from 'node:crypto';
import {
  WorkDoneProgress,
  type WorkDoneProgressBegin,
  type WorkDoneProgressReport,
  type WorkDoneProgressEnd,
} from 'vscode-languageclient/node';
import {
  GraphRequestType,
  ProfileRequestType,
  SubmodulesRequestType,
  type GraphResult,
  type ProfileParams,
  type ProfileResult,
  type SubmodulesParams,
  type SubmodulesResult,
} from '../../server/src/protocol.ts';
import { parseWebviewMessage, type HostMessage, type RevealTarget, type WebviewMessage } from '../../webview/src/messages.ts';
import { panelHtml, newNonce } from './html.ts';
import type { ServerConnection } from './languageClient.ts';
import { modelParams, settingsFor } from './settings.ts';

export const VIEW_TYPE = 'yolo.graph';

/** What the webview saves (see `PanelState` in webview/src/panel.ts); only these fields matter to the host. */
interface SavedState {
  mode?: unknown;
  uri?: unknown;
  compareUris?: unknown;
}

const baseName = (uri: vscode.Uri) => uri.path.split('/').pop() || uri.toString();

export class GraphPanels implements vscode.Disposable {
  private readonly panels = new Set<GraphPanel>();
  private readonly subscriptions: vscode.Disposable[] = [];

  constructor(
    readonly context: vscode.ExtensionContext,
    readonly server: ServerConnection,
  ) {
    this.subscriptions.push(
      vscode.window.registerWebviewPanelSerializer(VIEW_TYPE, {
        deserializeWebviewPanel: async (panel: vscode.WebviewPanel, state: unknown) => {
          const s = (state ?? {}) as SavedState;
          const uri = typeof s.uri === 'string' ? s.uri : null;
          const cmp = Array.isArray(s.compareUris) && s.compareUris.length === 2 ? s.compareUris.map(String) : null;
          if (!uri) {
            panel.dispose();
            return;
          }
          const p = new GraphPanel(this, panel, vscode.Uri.parse(uri), s.mode === 'compare' && cmp ? vscode.Uri.parse(cmp[1]!) : null);
          this.panels.add(p);
        },
      }),
      server.onModelChanged((e) => {
        for (const p of this.panels) p.modelChanged(e.uri);
      }),
      server.onRunningChanged((running) => {
        for (const p of this.panels) if (running) p.refresh();
      }),
      vscode.window.onDidChangeTextEditorSelection((e) => {
        for (const p of this.panels) p.cursorMoved(e.textEditor);
      }),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('yolo')) for (const p of this.panels) p.refresh();
      }),
    );
  }

  /** Show the graph of a document (an existing panel for it is revealed). */
  show(uri: vscode.Uri): GraphPanel {
    for (const p of this.panels) {
      if (!p.compareUri && p.uri.toString() === uri.toString()) {
        p.panel.reveal(undefined, true);
        return p;
      }
    }
    const panel = vscode.window.createWebviewPanel(
      VIEW_TYPE,
      `Graph: ${baseName(uri)}`,
      { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true },
      this.webviewOptions(),
    );
    const p = new GraphPanel(this, panel, uri, null);
    this.panels.add(p);
    return p;
  }

  compare(left: vscode.Uri, right: vscode.Uri): GraphPanel {
    const panel = vscode.window.createWebviewPanel(
      VIEW_TYPE,
      `Compare: ${baseName(left)} ↔ ${baseName(right)}`,
      { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true },
      this.webviewOptions(),
    );
    const p = new GraphPanel(this, panel, left, right);
    this.panels.add(p);
    return p;
  }

  webviewOptions(): vscode.WebviewPanelOptions & vscode.WebviewOptions {
    return {
      enableScripts: true,
      enableFindWidget: false,
      // the webview saves its view with setState and redraws from it: no need to keep hidden panels alive
      retainContextWhenHidden: false,
      localResourceRoots: [vscode.Uri.joinPath(this.context.extensionUri, 'dist')],
    };
  }

  removed(p: GraphPanel): void {
    this.panels.delete(p);
  }

  dispose(): void {
    for (const p of [...this.panels]) p.panel.dispose();
    for (const s of this.subscriptions) s.dispose();
  }
}

export class GraphPanel {
  private ready = false;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private readonly subscriptions: vscode.Disposable[] = [];
  private profiling: vscode.CancellationTokenSource | null = null;

  constructor(
    private readonly owner: GraphPanels,
    readonly panel: vscode.WebviewPanel,
    readonly uri: vscode.Uri,
    readonly compareUri: vscode.Uri | null,
  ) {
    const webview = panel.webview;
    webview.options = owner.webviewOptions();
    const dist = vscode.Uri.joinPath(owner.context.extensionUri, 'dist');
    webview.html = panelHtml({
      cspSource: webview.cspSource,
      nonce: newNonce(),
      scriptUri: webview.asWebviewUri(vscode.Uri.joinPath(dist, 'webview.js')).toString(),
      styleUri: webview.asWebviewUri(vscode.Uri.joinPath(dist, 'webview.css')).toString(),
    });
    this.subscriptions.push(
      webview.onDidReceiveMessage((raw: unknown) => void this.receive(raw)),
      panel.onDidDispose(() => this.dispose()),
    );
  }

  private log(line: string): void {
    this.owner.server.log.appendLine(`[graph ${baseName(this.uri)}] ${line}`);
  }

  /** messages that must wait for the page (and its graph): a profile started with the panel, say */
  private queued: HostMessage[] = [];

  private post(m: HostMessage): void {
    if (this.ready) void this.panel.webview.postMessage(m);
    else if (m.type !== 'graph' && m.type !== 'compare' && m.type !== 'cursor') this.queued = [...this.queued.slice(-20), m];
  }

  /** What the host knows of a document a `reveal` may point into: one of this panel's documents. */
  private async revealTarget(uri: string): Promise<RevealTarget | undefined> {
    const own = [this.uri, this.compareUri].find((u) => u?.toString() === uri);
    if (!own) return undefined;
    // the range is checked against the document as it is now (opened, not shown, when it is not open)
    const doc = await vscode.workspace.openTextDocument(own).then(
      (d) => d,
      () => undefined,
    );
    if (!doc) return undefined;
    return { uri, lineCount: doc.lineCount, lineLength: (line) => doc.lineAt(line).text.length };
  }

  private async receive(raw: unknown): Promise<void> {
    const isReveal = !!raw && typeof raw === 'object' && (raw as { type?: unknown }).type === 'reveal';
    const uri = isReveal && typeof (raw as { uri?: unknown }).uri === 'string' ? (raw as { uri: string }).uri : '';
    const parsed = parseWebviewMessage(raw, isReveal ? await this.revealTarget(uri) : undefined);
    if (!parsed.ok) {
      this.log(`ignored a message from the panel: ${parsed.reason}`);
      return;
    }
    const m: WebviewMessage = parsed.message;
    switch (m.type) {
      case 'ready': {
        this.ready = true;
        await this.refresh();
        const queued = this.queued;
        this.queued = [];
        for (const q of queued) this.post(q);
        break;
      }
      case 'reveal':
        await this.reveal(vscode.Uri.parse(m.uri), m.range);
        break;
      case 'expand':
        await this.expand(m.index);
        break;
      case 'profile':
        await this.profile();
        break;
      case 'export':
        await this.export(m.format, m.data);
        break;
      case 'log':
        this.log(`${m.level}: ${m.message}`);
        break;
    }
  }

  /** Request the graph(s) again and push them. */
  async refresh(): Promise<void> {
    if (!this.ready) return;
    const convention = settingsFor(this.uri).convention;
    const left = await this.graphOf(this.uri);
    if (!left) return;
    if (this.compareUri) {
      const right = await this.graphOf(this.compareUri);
      if (!right) return;
      this.post({ type: 'compare', left, right, leftName: baseName(this.uri), rightName: baseName(this.compareUri), convention });
    } else {
      this.post({ type: 'graph', graph: left, convention, fileName: baseName(this.uri) });
      this.cursorMoved(vscode.window.activeTextEditor);
    }
  }

  private async graphOf(uri: vscode.Uri): Promise<GraphResult | null> {
    // the server analyses open documents: open it (without showing it) so a compared file is known too
    await vscode.workspace.openTextDocument(uri).then(undefined, () => undefined);
    const r = await this.owner.server.request<GraphResult | null>(GraphRequestType, modelParams(uri));
    if ('error' in r) {
      this.post({ type: 'status', level: 'error', message: `no graph for ${baseName(uri)}: ${r.error}` });
      return null;
    }
    if (!r.result || !Array.isArray(r.result.nodes)) {
      this.post({ type: 'status', level: 'warning', message: `${baseName(uri)} is not a YOLO model YAML (no backbone and head)` });
      return null;
    }
    return r.result;
  }

  /** The server re-resolved a document: redraw after the debounce. */
  modelChanged(uri: string): void {
    if (uri !== this.uri.toString() && uri !== this.compareUri?.toString()) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.refresh();
    }, settingsFor(this.uri).graphDebounceMs);
  }

  cursorMoved(editor: vscode.TextEditor | undefined): void {
    if (!editor) return;
    const uri = editor.document.uri.toString();
    if (uri !== this.uri.toString() && uri !== this.compareUri?.toString()) return;
    const p = editor.selection.active;
    this.post({ type: 'cursor', uri, position: { line: p.line, character: p.character } });
  }

  private async reveal(
    uri: vscode.Uri,
    range: { start: { line: number; character: number }; end: { line: number; character: number } },
  ): Promise<void> {
    const target = new vscode.Range(range.start.line, range.start.character, range.end.line, range.end.character);
    const visible = vscode.window.visibleTextEditors.find((e) => e.document.uri.toString() === uri.toString());
    const doc = visible?.document ?? (await vscode.workspace.openTextDocument(uri));
    const column = visible?.viewColumn ?? (this.panel.viewColumn === vscode.ViewColumn.One ? vscode.ViewColumn.Two : vscode.ViewColumn.One);
    const editor = await vscode.window.showTextDocument(doc, { viewColumn: column, preserveFocus: false, selection: target });
    editor.revealRange(target, vscode.TextEditorRevealType.InCenterIfOutsideViewport);
  }

  private async expand(index: number): Promise<void> {
    const params: SubmodulesParams = { ...modelParams(this.uri), index };
    // the server answers with the layer's own module, whose children are what the panel draws
    const r = await this.owner.server.request<SubmodulesResult>(SubmodulesRequestType, params);
    const uri = this.uri.toString();
    if ('error' in r) this.post({ type: 'submodules', uri, index, nodes: null, error: r.error });
    else if (!r.result)
      this.post({ type: 'submodules', uri, index, nodes: null, error: 'this layer has no module tree (it did not build)' });
    else this.post({ type: 'submodules', uri, index, nodes: r.result.children, error: null });
  }

  /** `YOLO Lens: Profile Model`: run the server's profiler with a progress notification the user can cancel. */
  async profile(): Promise<void> {
    if (!vscode.workspace.isTrusted) {
      this.post({ type: 'status', level: 'warning', message: 'profiling is disabled in untrusted workspaces' });
      return;
    }
    if (this.profiling) return;
    const uri = this.uri.toString();
    const s = settingsFor(this.uri);
    const token = `yolo-profile-${randomBytes(6).toString('hex')}`;
    const client = await this.owner.server.get();
    if (!client) {
      this.post({ type: 'status', level: 'error', message: 'the YOLO Lens language server is not running' });
      return;
    }
    this.profiling = new vscode.CancellationTokenSource();
    const cancel = this.profiling;
    try {
      await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `Profiling ${baseName(this.uri)}`, cancellable: true },
        async (progress, userCancel) => {
          userCancel.onCancellationRequested(() => cancel.cancel());
          let last = 0;
          const sub = client.onProgress(
            WorkDoneProgress.type,
            token,
            (v: WorkDoneProgressBegin | WorkDoneProgressReport | WorkDoneProgressEnd) => {
              const pct = 'percentage' in v && typeof v.percentage === 'number' ? v.percentage : last;
              const message = v.message ?? (v.kind === 'begin' ? v.title : '');
              progress.report({ message, increment: Math.max(0, pct - last) });
              last = pct;
              this.post({ type: 'profileProgress', uri, done: Math.round(pct), total: 100, message });
            },
          );
          try {
            const params: ProfileParams = { ...modelParams(this.uri), backend: s.profileBackend, workDoneToken: token };
            const r = await this.owner.server.request<ProfileResult>(ProfileRequestType, params, cancel.token);
            const failed = (error: string) =>
              this.post({
                type: 'profile',
                result: {
                  uri,
                  backend: s.profileBackend,
                  imgsz: 0,
                  batch: 0,
                  runs: 0,
                  layers: [],
                  totalMs: 0,
                  throughput: 0,
                  peakMemoryMB: null,
                  error,
                  warnings: [],
                },
              });
            if ('error' in r) failed(r.error === 'cancelled' ? 'cancelled' : r.error);
            else if (!r.result) failed('the server has no model for this document');
            else this.post({ type: 'profile', result: { ...r.result, uri } });
            this.log(
              `profile: ` +
                `${'error' in r ? r.error : (r.result?.error ?? `${r.result?.layers.length ?? 0} layers in ${r.result?.totalMs ?? 0} ms`)}`,
            );
          } finally {
            sub.dispose();
          }
        },
      );
    } finally {
      cancel.dispose();
      this.profiling = null;
    }
  }

  private async export(format: 'svg' | 'png', data: string): Promise<void> {
    const stem = baseName(this.uri).replace(/\.[^.]*$/, '');
    const folder = vscode.Uri.joinPath(this.uri, '..');
    const target = await vscode.window.showSaveDialog({
      defaultUri: vscode.Uri.joinPath(folder, `${stem}.graph.${format}`),
      filters: format === 'svg' ? { 'SVG image': ['svg'] } : { 'PNG image': ['png'] },
    });
    if (!target) return;
    let bytes: Uint8Array;
    if (format === 'svg') {
      if (!data.startsWith('<svg')) return this.log('ignored an SVG export that is not an <svg> document');
      bytes = new TextEncoder().encode(data);
    } else {
      const m = /^data:image\/png;base64,([A-Za-z0-9+/=]+)$/.exec(data);
      if (!m) return this.log('ignored a PNG export that is not a base64 PNG data URL');
      bytes = Buffer.from(m[1]!, 'base64');
    }
    await vscode.workspace.fs.writeFile(target, bytes);
    void vscode.window.showInformationMessage(`YOLO Lens: graph saved to ${target.fsPath || target.toString()}`);
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.profiling?.cancel();
    for (const s of this.subscriptions) s.dispose();
    this.owner.removed(this);
  }
}
