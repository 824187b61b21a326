/**
 * The status bar item of the active model YAML: its params and GFLOPs (as the framework prints them), from the
 * language server's `yolo/graph`; a click opens the graph panel.
 */
import * as vscode from 'vscode';
import { GraphRequestType, type GraphResult } from '../../server/src/protocol.ts';
import type { ServerConnection } from './languageClient.ts';
import { modelParams, settingsFor } from './settings.ts';
import { flopsOf, headlineGflops, modelFiguresText } from '../../common/src/format.ts';

/** The framework in a few characters for the status bar (`ultralytics 8.4.33`, `YOLOv5 5081342`); the tooltip says more. */
function shortFramework(g: GraphResult): string {
  const name = g.framework.startsWith('ultralytics')
    ? 'ultralytics'
    : g.framework === 'yolov5'
      ? 'YOLOv5'
      : g.framework === 'yolov5-gsconv'
        ? 'Slim-neck YOLOv5'
        : g.framework === 'scaled-yolov4'
          ? 'Slim-neck Scaled-YOLOv4'
          : g.framework;
  return `${name} ${g.frameworkVersion}`;
}

export class ModelStatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('yolo.model', vscode.StatusBarAlignment.Right, 100);
  private readonly subscriptions: vscode.Disposable[] = [];
  private timer: ReturnType<typeof setTimeout> | null = null;
  private generation = 0;

  constructor(private readonly server: ServerConnection) {
    this.item.name = 'YOLO Lens model';
    this.item.command = 'yolo.showGraph';
    this.subscriptions.push(
      vscode.window.onDidChangeActiveTextEditor(() => this.schedule(0)),
      server.onModelChanged((e) => {
        if (e.uri === vscode.window.activeTextEditor?.document.uri.toString()) this.schedule(settingsFor().graphDebounceMs);
      }),
      server.onRunningChanged(() => this.schedule(0)),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('yolo')) this.schedule(0);
      }),
    );
    this.schedule(0);
  }

  private schedule(ms: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.update(), ms);
  }

  private async update(): Promise<void> {
    const gen = ++this.generation;
    const doc = vscode.window.activeTextEditor?.document;
    if (!doc || doc.languageId !== 'yaml' || !this.server.running) {
      this.item.hide();
      return;
    }
    const r = await this.server.request<GraphResult | null>(GraphRequestType, modelParams(doc.uri));
    if (gen !== this.generation) return;
    if ('error' in r || !r.result || !Array.isArray(r.result.nodes)) {
      this.item.hide();
      return;
    }
    const g = r.result;
    const convention = settingsFor(doc.uri).convention;
    // the same figures as the code lens: at 640 the framework's GFLOPs, at another size the per-layer sum there
    const gflops = headlineGflops(flopsOf(g.totals.gflops, convention), flopsOf(g.totals.flopsAtImgsz, convention), g.imgsz);
    const problems = g.nodes.reduce((n, x) => n + x.diagnostics.filter((d) => d.severity === 'error').length, 0);
    this.item.text =
      `$(type-hierarchy) ${modelFiguresText(g.totals.params, gflops, g.imgsz)} · ${shortFramework(g)}` +
      `${problems ? ` $(error) ${problems}` : ''}`;
    this.item.tooltip = new vscode.MarkdownString(
      [
        `**${g.frameworkLabel}**${g.scale ? ` · scale ${g.scale}` : ''}`,
        '',
        `Checked against it because: ${g.frameworkReason}`,
        '',
        g.totals.summary ?? (g.ok ? '' : 'the framework would not build this model'),
        '',
        'Click to show the model graph',
      ].join('\n'),
    );
    this.item.accessibilityInformation = { label: `YOLO model: ${this.item.text.replace(/\$\([^)]*\)\s*/g, '')}` };
    this.item.show();
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    for (const s of this.subscriptions) s.dispose();
    this.item.dispose();
  }
}
