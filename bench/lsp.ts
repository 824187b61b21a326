/**
 * Language-server latency, printed (tests never assert timings). For the corpus yolov8.yaml, the corpus yolov5n.yaml
 * (which resolves fully today) and a synthetic 5,000-layer YAML:
 *  - our server over stdio (debounce 0): didChange → publishDiagnostics, then completion, hover and inlay hints
 *    on that version (the first request of a version, as an editor makes it);
 *  - our check in-process (parse + resolve + diagnostics), no IPC;
 *  - yaml-language-server 1.x with a JSON schema: over stdio (its fixed 200 ms validation delay subtracted) and as a
 *    library (`doValidation`, no delay).
 * The schema is the one YOLO Lens contributes to yaml-language-server users (`schemas/yolo-model.schema.json`,
 * generated from the catalog).
 * Run: node scripts/build.mjs && node --import tsx bench/lsp.ts [rounds]
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  createProtocolConnection,
  StreamMessageReader,
  StreamMessageWriter,
  type ProtocolConnection,
  type PublishDiagnosticsParams,
} from 'vscode-languageserver-protocol/node';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { getLanguageService } from 'yaml-language-server';
import { LineIndex } from '../server/src/core/lines.ts';
import { parseModelDoc } from '../server/src/core/document.ts';
import { resolveDoc } from '../server/src/core/resolve.ts';
import { modelDiagnostics } from '../server/src/core/features/diagnostics.ts';
import { syntheticYaml } from './synthetic.ts';
import { CORPUS } from '../test/support/reference.ts';
import { ensureBuilt, SERVER, ROOT } from '../test/lsp/client.ts';
import { median, quantile } from './stats.ts';

const ROUNDS = Number(process.argv[2] ?? process.env.BENCH_ROUNDS ?? 40);
const YAML_LS_DELAY_MS = 200; // yaml-language-server's validationDelayMs, not configurable

// ---- inputs ---------------------------------------------------------------------------------------------------

interface Subject {
  readonly name: string;
  readonly uri: string;
  readonly text: string;
  /** the same text with one edit, alternated with the original to make each version real work */
  readonly edited: string;
  /** where to ask: a module name (hover), a module slot (completion) */
  readonly hoverAt: { line: number; character: number };
  readonly completeAt: { line: number; character: number };
  readonly viewport: { start: { line: number; character: number }; end: { line: number; character: number } };
}

function subject(name: string, fileName: string, text: string, layerLine: string, edit: [string, string]): Subject {
  const lines = new LineIndex(text);
  const at = text.indexOf(layerLine);
  if (at < 0 || text.indexOf(edit[0]) < 0) throw new Error(`${name}: anchor text not found`);
  const moduleCol = layerLine.search(/[A-Za-z]/);
  const hoverAt = lines.position(at + moduleCol + 1);
  const completeAt = lines.position(at + moduleCol + 2);
  const top = Math.max(0, hoverAt.line - 30);
  return {
    name,
    uri: pathToFileURL(join('/bench', fileName)).href,
    text,
    edited: text.replace(edit[0], edit[1]),
    hoverAt,
    completeAt,
    viewport: { start: { line: top, character: 0 }, end: { line: top + 60, character: 0 } },
  };
}

// ---- statistics -----------------------------------------------------------------------------------------------

const fmt = (x: number) => (Number.isFinite(x) ? (x < 10 ? x.toFixed(2) : x.toFixed(1)) : '—');
const row = (what: string, xs: number[], failed?: string) =>
  failed && xs.length === 0
    ? `  ${what.padEnd(58)} failed: ${failed}`
    : `  ${what.padEnd(58)} ${fmt(median(xs)).padStart(8)} ` +
      `${fmt(quantile(xs, 0.95)).padStart(8)}${failed ? ` (some requests failed: ${failed})` : ''}`;

// ---- a stdio LSP session --------------------------------------------------------------------------------------

interface Session {
  conn: ProtocolConnection;
  stop(): Promise<void>;
  waitDiagnostics(uri: string, version: number): Promise<PublishDiagnosticsParams>;
}

async function session(command: string[], configuration: (section: string | undefined) => unknown): Promise<Session> {
  const child = spawn(process.execPath, command, { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] });
  const conn = createProtocolConnection(new StreamMessageReader(child.stdout), new StreamMessageWriter(child.stdin));
  const waiters: { uri: string; version: number; resolve: (p: PublishDiagnosticsParams) => void }[] = [];
  conn.onNotification('textDocument/publishDiagnostics', (p: PublishDiagnosticsParams) => {
    for (let k = waiters.length - 1; k >= 0; k--) {
      const w = waiters[k]!;
      // yaml-language-server publishes without a version: the first publish after the change is the one
      if (w.uri === p.uri && (p.version === undefined || p.version === w.version)) {
        waiters.splice(k, 1);
        w.resolve(p);
      }
    }
  });
  conn.onRequest('workspace/configuration', (p: { items: { section?: string }[] }) => p.items.map((i) => configuration(i.section)));
  conn.onRequest('client/registerCapability', () => null);
  conn.onRequest('window/workDoneProgress/create', () => null);
  conn.onNotification('window/logMessage', () => undefined);
  conn.onNotification('telemetry/event', () => undefined);
  conn.listen();
  await conn.sendRequest('initialize', {
    processId: process.pid,
    rootUri: null,
    capabilities: {
      workspace: { configuration: true, didChangeConfiguration: { dynamicRegistration: false } },
      textDocument: {
        publishDiagnostics: { versionSupport: true },
        completion: { completionItem: { snippetSupport: true } },
        hover: { contentFormat: ['markdown'] },
      },
    },
  });
  await conn.sendNotification('initialized', {});
  return {
    conn,
    waitDiagnostics: (uri, version) => new Promise((resolve) => waiters.push({ uri, version, resolve })),
    async stop() {
      const ended = new Promise<void>((r) => child.on('exit', () => r()));
      await conn.sendRequest('shutdown').catch(() => undefined);
      await conn.sendNotification('exit').catch(() => undefined);
      await ended;
      conn.dispose();
    },
  };
}

interface Figures {
  change: number[];
  completion: number[];
  hover: number[];
  inlay: number[];
  completionItems: number;
  diagnostics: number;
  /** a request the server answered with an error (yaml-language-server's hover overflows its stack at 5,000 layers) */
  failed: Record<string, string>;
}

async function measure(s: Session, sub: Subject, opts: { inlay: boolean; changeOffset: number }): Promise<Figures> {
  const f: Figures = { change: [], completion: [], hover: [], inlay: [], completionItems: 0, diagnostics: 0, failed: {} };
  const doc = { uri: sub.uri };
  const opened = s.waitDiagnostics(sub.uri, 1);
  await s.conn.sendNotification('textDocument/didOpen', { textDocument: { ...doc, languageId: 'yaml', version: 1, text: sub.text } });
  await opened;
  const time = async <T>(fn: () => Promise<T>): Promise<[number, T]> => {
    const t0 = performance.now();
    const r = await fn();
    return [performance.now() - t0, r];
  };
  // a request answered with an error is reported as such, not timed
  const request = async <T>(what: keyof Figures, fn: () => Promise<T>): Promise<[number, T | null]> => {
    try {
      return await time(fn);
    } catch (e) {
      f.failed[what] = e instanceof Error ? e.message : String(e);
      return [NaN, null];
    }
  };
  for (let k = 0; k < ROUNDS + 2; k++) {
    const version = k + 2;
    const text = k % 2 === 0 ? sub.edited : sub.text;
    const [dt, diags] = await time(async () => {
      const published = s.waitDiagnostics(sub.uri, version);
      await s.conn.sendNotification('textDocument/didChange', { textDocument: { ...doc, version }, contentChanges: [{ text }] });
      return published;
    });
    const [dc, list] = await request(
      'completion',
      () =>
        s.conn.sendRequest('textDocument/completion', { textDocument: doc, position: sub.completeAt }) as Promise<
          { items?: unknown[] } | unknown[] | null
        >,
    );
    const [dh] = await request('hover', () => s.conn.sendRequest('textDocument/hover', { textDocument: doc, position: sub.hoverAt }));
    const [di] = opts.inlay
      ? await request('inlay', () => s.conn.sendRequest('textDocument/inlayHint', { textDocument: doc, range: sub.viewport }))
      : [NaN];
    // the first two rounds warm both servers' caches and the JIT
    if (k < 2) continue;
    f.change.push(dt - opts.changeOffset);
    if (!Number.isNaN(dc)) f.completion.push(dc);
    if (!Number.isNaN(dh)) f.hover.push(dh);
    if (!Number.isNaN(di)) f.inlay.push(di);
    f.completionItems = Array.isArray(list) ? list.length : (list?.items?.length ?? 0);
    f.diagnostics = diags.diagnostics.length;
  }
  await s.conn.sendNotification('textDocument/didClose', { textDocument: doc });
  return f;
}

// ---- main -----------------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  ensureBuilt();
  const yolov8 = readFileSync(join(CORPUS, 'slimneck/gsconv-yolov8_9_10_11/ultralytics/cfg/models/v8/yolov8.yaml'), 'utf8');
  const yolov5n = readFileSync(join(CORPUS, 'yolov5/models/yolov5n.yaml'), 'utf8');
  const synth = syntheticYaml(5000, 'flow');
  const subjects = [
    subject('yolov8.yaml (corpus, 23 layers)', 'yolov8.yaml', yolov8, '  - [-1, 3, C2f, [512]] # 12', [
      '[-1, 3, C2f, [512]] # 12',
      '[-1, 6, C2f, [512]] # 12',
    ]),
    subject('yolov5n.yaml (corpus, 25 layers, resolves fully)', 'yolov5n.yaml', yolov5n, '    [-1, 3, C3, [512, False]], # 13', [
      '[-1, 3, C3, [512, False]], # 13',
      '[-1, 6, C3, [512, False]], # 13',
    ]),
    subject('synthetic 5,000 layers (200 KB)', 'synthetic-5000.yaml', synth, '   [-1, 3, C3, [256, False]],  # 2502', [
      '[-1, 3, C3, [256, False]],  # 2502',
      '[-1, 6, C3, [256, False]],  # 2502',
    ]),
  ];

  const schemaPath = join(ROOT, 'schemas', 'yolo-model.schema.json');
  const schema = JSON.parse(readFileSync(schemaPath, 'utf8')) as object;
  const schemaUri = pathToFileURL(schemaPath).href;

  console.log(`bench/lsp: ${ROUNDS} rounds per figure after 2 warm-up rounds; milliseconds; node ${process.version}, ${process.platform}`);
  console.log('yaml-language-server schema: schemas/yolo-model.schema.json (the one YOLO Lens contributes)\n');

  for (const sub of subjects) {
    console.log(`${sub.name}`);
    console.log(`  ${''.padEnd(58)} ${'median'.padStart(8)} ${'p95'.padStart(8)}`);

    const ours = await session([SERVER, '--stdio'], (section) => (section === 'yolo' ? { diagnostics: { debounceMs: 0 } } : null));
    const o = await measure(ours, sub, { inlay: true, changeOffset: 0 });
    await ours.stop();
    console.log(row(`yolo-lens  didChange → publishDiagnostics (${o.diagnostics} diags)`, o.change));
    console.log(row(`yolo-lens  completion (${o.completionItems} items)`, o.completion, o.failed.completion));
    console.log(row('yolo-lens  hover', o.hover, o.failed.hover));
    console.log(row('yolo-lens  inlay hints (60-line viewport)', o.inlay, o.failed.inlay));

    const inProcess: number[] = [];
    for (let k = 0; k < ROUNDS + 2; k++) {
      const text = k % 2 === 0 ? sub.edited : sub.text;
      const t0 = performance.now();
      const m = resolveDoc(parseModelDoc(text), { fileName: sub.uri.split('/').pop()!, skipFused: true });
      modelDiagnostics(m);
      if (k >= 2) inProcess.push(performance.now() - t0);
    }
    console.log(row('yolo-lens  in-process parse + resolve + diagnostics', inProcess));

    const yamlSettings = {
      yaml: {
        validate: true,
        hover: true,
        completion: true,
        schemaStore: { enable: false },
        schemas: { [schemaUri]: [sub.uri] },
        yamlVersion: '1.1',
      },
    };
    const yls = await session([join(ROOT, 'node_modules/yaml-language-server/bin/yaml-language-server'), '--stdio'], (section) =>
      section === 'yaml'
        ? yamlSettings.yaml
        : section === '[yaml]'
          ? {}
          : section === 'http'
            ? { proxy: '', proxyStrictSSL: false }
            : section === 'editor'
              ? { tabSize: 2 }
              : null,
    );
    await yls.conn.sendNotification('workspace/didChangeConfiguration', { settings: yamlSettings });
    const y = await measure(yls, sub, { inlay: false, changeOffset: YAML_LS_DELAY_MS });
    await yls.stop();
    console.log(row(`yaml-ls    didChange → publishDiagnostics − ${YAML_LS_DELAY_MS} ms delay (${y.diagnostics} diags)`, y.change));
    console.log(row(`yaml-ls    completion (${y.completionItems} items)`, y.completion, y.failed.completion));
    console.log(row('yaml-ls    hover', y.hover, y.failed.hover));

    const ls = getLanguageService({
      schemaRequestService: async (uri: string) =>
        uri === schemaUri ? JSON.stringify(schema) : Promise.reject(new Error(`no schema ${uri}`)),
      workspaceContext: { resolveRelativePath: (rel: string, res: string) => new URL(rel, res).href },
    });
    ls.configure({ validate: true, schemas: [{ uri: schemaUri, fileMatch: [sub.uri], schema }], yamlVersion: '1.1' });
    const lib: number[] = [];
    let libDiags = 0;
    for (let k = 0; k < ROUNDS + 2; k++) {
      const text = k % 2 === 0 ? sub.edited : sub.text;
      const t0 = performance.now();
      const d = await ls.doValidation(TextDocument.create(sub.uri, 'yaml', k + 1, text), false);
      if (k >= 2) lib.push(performance.now() - t0);
      libDiags = d.length;
    }
    console.log(row(`yaml-ls    in-process doValidation (${libDiags} diags)`, lib));
    const compare = (ours: number, theirs: number) =>
      theirs >= ours ? `${(theirs / ours).toFixed(1)}× faster than` : `${(ours / theirs).toFixed(1)}× slower than`;
    console.log(
      `  → our full semantic check is ${compare(median(o.change), median(y.change))} yaml-language-server's schema-only validation over ` +
        `stdio, ${compare(median(inProcess), median(lib))} it in-process (medians)\n`,
    );
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
