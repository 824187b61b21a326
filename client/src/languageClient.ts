/**
 * Starts the YOLO Lens language server (the bundled `dist/server.js`, over stdio) for YAML documents, restarts it
 * on `YOLO Lens: Restart Server`, and relays its `yolo/modelChanged` notifications to the panels and status bar.
 */
import * as vscode from 'vscode';
import {
  CloseAction,
  LanguageClient,
  TransportKind,
  type ErrorHandler,
  type LanguageClientOptions,
  type ServerOptions,
} from 'vscode-languageclient/node';
import {
  ModelChangedNotificationType,
  type ModelChangedParams,
  WorkspaceTrustNotificationType,
  type WorkspaceTrustParams,
} from '../../server/src/protocol.ts';
import { SECTION } from './settings.ts';

export class ServerConnection implements vscode.Disposable {
  private client: LanguageClient | null = null;
  private starting: Promise<LanguageClient | null> | null = null;
  private readonly changed = new vscode.EventEmitter<ModelChangedParams>();
  private readonly stateChanged = new vscode.EventEmitter<boolean>();
  /** a model's resolution changed (the server says so after each edit it analysed) */
  readonly onModelChanged = this.changed.event;
  /** the server started (true) or stopped (false) */
  readonly onRunningChanged = this.stateChanged.event;
  private subscriptions: vscode.Disposable[] = [];
  /** the user has been told once that the server died and was restarted */
  private restartNoticeShown = false;

  constructor(
    private readonly context: vscode.ExtensionContext,
    readonly log: vscode.LogOutputChannel,
  ) {}

  get running(): boolean {
    return this.client?.isRunning() ?? false;
  }

  /** The running client, starting it when needed; null when the server cannot start (logged). */
  async get(): Promise<LanguageClient | null> {
    if (this.client?.isRunning()) return this.client;
    this.starting ??= this.start().finally(() => {
      this.starting = null;
    });
    return this.starting;
  }

  private async start(): Promise<LanguageClient | null> {
    const module = vscode.Uri.joinPath(this.context.extensionUri, 'dist', 'server.js').fsPath;
    const serverOptions: ServerOptions = {
      run: { module, transport: TransportKind.stdio },
      debug: { module, transport: TransportKind.stdio, options: { execArgv: ['--nolazy', '--inspect=6011'] } },
    };
    const clientOptions: LanguageClientOptions = {
      // every YAML: the server itself decides which ones are models (backbone + head) and ignores the others
      documentSelector: [
        { language: 'yaml', scheme: 'file' },
        { language: 'yaml', scheme: 'untitled' },
      ],
      synchronize: { configurationSection: SECTION },
      // Restricted Mode: the server must not read `.yolo-lens.json` until the user trusts the folder (a server that
      // hears nothing assumes an editor without workspace trust, i.e. trusted); settings come by workspace/configuration
      initializationOptions: { workspaceTrusted: vscode.workspace.isTrusted },
      outputChannel: this.log,
      errorHandler: this.errorHandler(() => defaultHandler),
    };
    const client = new LanguageClient('yolo', 'YOLO Lens', serverOptions, clientOptions);
    // the library's policy (restart up to 4 times in 3 minutes), created once the client exists
    const defaultHandler: ErrorHandler = client.createDefaultErrorHandler(4);
    try {
      await client.start();
    } catch (err) {
      this.log.appendLine(`[client] the language server did not start: ${(err as Error)?.message ?? err}`);
      void client.dispose().catch(() => undefined);
      return null;
    }
    this.client = client;
    this.subscriptions.push(
      client.onNotification(ModelChangedNotificationType, (p: ModelChangedParams) => this.changed.fire(p)),
      vscode.workspace.onDidGrantWorkspaceTrust(
        () => void client.sendNotification(WorkspaceTrustNotificationType, { trusted: true } satisfies WorkspaceTrustParams),
      ),
    );
    this.stateChanged.fire(true);
    return client;
  }

  /**
   * The library's error handling, plus one message the first time the server dies and is restarted (the library
   * restarts it silently, with a line in the output only): the user hears once, not on every crash.
   */
  private errorHandler(fallback: () => ErrorHandler): ErrorHandler {
    return {
      error: (error, message, count) => fallback().error(error, message, count),
      closed: async () => {
        const r = await fallback().closed();
        if (r.action === CloseAction.Restart && !this.restartNoticeShown) {
          this.restartNoticeShown = true;
          this.log.appendLine('[client] the language server stopped unexpectedly; restarting it');
          void vscode.window.showWarningMessage(
            'YOLO Lens: the language server stopped unexpectedly and was restarted (details in the YOLO Lens output).',
          );
        }
        return r;
      },
    };
  }

  async restart(): Promise<void> {
    await this.stop();
    const c = await this.get();
    void vscode.window.showInformationMessage(
      c ? 'YOLO Lens: language server restarted' : 'YOLO Lens: the language server could not start (see the YOLO Lens output)',
    );
  }

  async stop(): Promise<void> {
    const c = this.client;
    this.client = null;
    for (const s of this.subscriptions) s.dispose();
    this.subscriptions = [];
    if (c) {
      await c.stop().catch((err: unknown) => this.log.appendLine(`[client] stop: ${String(err)}`));
      this.stateChanged.fire(false);
    }
  }

  /**
   * A custom request; never throws: a failure is logged and returned as `{ error }`, a cancelled request as
   * `{ error: 'cancelled' }`.
   */
  async request<R>(method: string, params: unknown, token?: vscode.CancellationToken): Promise<{ result: R } | { error: string }> {
    const c = await this.get();
    if (!c) return { error: 'the YOLO Lens language server is not running (see the YOLO Lens output)' };
    try {
      const result = token ? await c.sendRequest<R>(method, params, token) : await c.sendRequest<R>(method, params);
      return { result };
    } catch (err) {
      if (token?.isCancellationRequested) return { error: 'cancelled' };
      const message = (err as Error)?.message ?? String(err);
      this.log.appendLine(`[client] ${method} failed: ${message}`);
      return { error: message };
    }
  }

  dispose(): void {
    void this.stop();
    this.changed.dispose();
    this.stateChanged.dispose();
  }
}
