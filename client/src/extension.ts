/**
 * The VS Code extension's entry: starts the language server, registers the commands (palette, editor title,
 * the server's code lenses), the graph panels and the status bar item. All model knowledge comes from the server.
 */
import * as vscode from 'vscode';
import { ServerConnection } from './languageClient.ts';
import { GraphPanels } from './graphPanel.ts';
import { ModelStatusBar } from './statusBar.ts';

let connection: ServerConnection | null = null;

/** A command's document: the code lens passes its uri (a string), the editor title a Uri, the palette nothing. */
function targetUri(arg: unknown): vscode.Uri | undefined {
  if (arg instanceof vscode.Uri) return arg;
  if (typeof arg === 'string' && arg) {
    try {
      return vscode.Uri.parse(arg, true);
    } catch {
      return undefined;
    }
  }
  const doc = vscode.window.activeTextEditor?.document;
  return doc && doc.languageId === 'yaml' ? doc.uri : undefined;
}

async function pickSecondModel(first: vscode.Uri): Promise<vscode.Uri | undefined> {
  const files = await vscode.workspace.findFiles('**/*.{yaml,yml}', '**/node_modules/**', 2000);
  const items: (vscode.QuickPickItem & { uri?: vscode.Uri })[] = files
    .filter((f) => f.toString() !== first.toString())
    .sort((a, b) => a.path.localeCompare(b.path))
    .map((uri) => ({ label: uri.path.split('/').pop() ?? uri.path, description: vscode.workspace.asRelativePath(uri), uri }));
  items.push({ label: '$(folder-opened) Browse…', description: 'pick a YAML file anywhere' });
  const picked = await vscode.window.showQuickPick(items, {
    title: `Compare ${first.path.split('/').pop()} with…`,
    matchOnDescription: true,
  });
  if (!picked) return undefined;
  if (picked.uri) return picked.uri;
  const chosen = await vscode.window.showOpenDialog({ canSelectMany: false, filters: { 'YOLO model YAML': ['yaml', 'yml'] } });
  return chosen?.[0];
}

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const log = vscode.window.createOutputChannel('YOLO Lens', { log: true });
  connection = new ServerConnection(context, log);
  const panels = new GraphPanels(context, connection);
  const status = new ModelStatusBar(connection);
  context.subscriptions.push(log, connection, panels, status);

  const needModel = (uri: vscode.Uri | undefined): uri is vscode.Uri => {
    if (!uri) void vscode.window.showWarningMessage('YOLO Lens: open a model YAML first');
    return !!uri;
  };
  context.subscriptions.push(
    vscode.commands.registerCommand('yolo.showGraph', (arg?: unknown) => {
      const uri = targetUri(arg);
      if (needModel(uri)) panels.show(uri);
    }),
    vscode.commands.registerCommand('yolo.profile', async (arg?: unknown) => {
      const uri = targetUri(arg);
      if (!needModel(uri)) return;
      const p = panels.show(uri);
      await p.profile();
    }),
    vscode.commands.registerCommand('yolo.compareWith', async (arg?: unknown) => {
      const uri = targetUri(arg);
      if (!needModel(uri)) return;
      const other = await pickSecondModel(uri);
      if (other) panels.compare(uri, other);
    }),
    vscode.commands.registerCommand('yolo.restartServer', () => connection?.restart()),
  );
  // start now: diagnostics appear without any command
  await connection.get();
  log.appendLine(`[client] activated; language server ${connection.running ? 'running' : 'not running'}`);
}

export async function deactivate(): Promise<void> {
  await connection?.stop();
  connection = null;
}
