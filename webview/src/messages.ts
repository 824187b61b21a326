/**
 * The messages between the graph panel (webview) and the extension host, typed once and validated on receipt on
 * both sides: an unknown type, a malformed field, an out-of-range `reveal` or a giant payload is ignored and logged.
 * No DOM and no `vscode` import: the client, the webview and the tests all use this file.
 */
import * as z from 'zod';
import type { GraphResult, LspPosition, LspRange, ProfileResult, SubmoduleNode } from '../../server/src/protocol.ts';
import { CATEGORIES } from '../../common/src/category.ts';
import { FLOPS_CONVENTIONS, type FlopsConvention } from '../../common/src/format.ts';

// zod would otherwise probe `new Function` once, which a strict CSP reports as a violation.
z.config({ jitless: true });

/** Limits of what either side accepts: far beyond any real model, small enough that a hostile payload cannot hang the panel. */
export const LIMITS = {
  nodes: 20_000,
  edges: 200_000,
  /** characters in any one string (module names, args as printed, messages) */
  string: 200_000,
  diagnosticsPerNode: 500,
  shapeRank: 16,
  submodules: 50_000,
  submoduleDepth: 64,
  profileLayers: 20_000,
  /** an exported SVG or PNG data URL (the PNG is at most 8192² pixels) */
  exportChars: 200_000_000,
  /**
   * a rough size of the whole message (sum of string lengths and element counts): a 2,000-layer graph is
   * about 0.6 M, the largest graph the limits above allow about 8 M
   */
  payload: 16_000_000,
} as const;

// ---- host → webview -------------------------------------------------------------------------------------------

export type HostMessage =
  /** a (re)resolved model: the panel draws it, keeping zoom, pan and selection when the uri is the same */
  | { type: 'graph'; graph: GraphResult; convention: FlopsConvention; fileName: string }
  /** two models side by side */
  | { type: 'compare'; left: GraphResult; right: GraphResult; leftName: string; rightName: string; convention: FlopsConvention }
  /** the editor's cursor moved in the panel's document */
  | { type: 'cursor'; uri: string; position: LspPosition }
  /** the answer to an `expand` request (null nodes: the layer has no module tree) */
  | { type: 'submodules'; uri: string; index: number; nodes: SubmoduleNode[] | null; error: string | null }
  | { type: 'profileProgress'; uri: string; done: number; total: number; message: string }
  | { type: 'profile'; result: ProfileResult }
  /** a line for the panel's status area (server not running, not a model file, request failed) */
  | { type: 'status'; level: 'info' | 'warning' | 'error'; message: string };

// ---- webview → host -------------------------------------------------------------------------------------------

export type WebviewMessage =
  /** the panel is listening: the host pushes its data only after this */
  | { type: 'ready' }
  /** reveal and select a layer's source in the editor */
  | { type: 'reveal'; uri: string; index: number; range: LspRange }
  /** ask for a layer's submodules */
  | { type: 'expand'; uri: string; index: number }
  | { type: 'profile'; uri: string }
  /** export the drawn graph: SVG text, or a PNG as a `data:image/png;base64,` URL */
  | { type: 'export'; format: 'svg' | 'png'; data: string }
  | { type: 'log'; level: 'info' | 'warning' | 'error'; message: string };

// ---- schemas --------------------------------------------------------------------------------------------------

const str = z.string().max(LIMITS.string);
const count = z.number().int().nonnegative();
const finite = z.number().refine(Number.isFinite, 'not finite');
const shape = z.array(z.number().int()).max(LIMITS.shapeRank);
const position = z.object({ line: count, character: count });
const range = z.object({ start: position, end: position });
const flopsPair = z.object({ ultralyticsThop: finite, thop: finite });
const flopsPairNullable = z.object({ ultralyticsThop: finite.nullable(), thop: finite.nullable() });
const category = z.enum(CATEGORIES);
const severity = z.enum(['error', 'warning', 'information', 'hint']);

const graphNode = z.object({
  index: count,
  section: z.enum(['backbone', 'head']),
  module: str,
  category,
  args: str,
  from: str,
  inputs: z.array(z.number().int().min(-1)).max(LIMITS.nodes),
  n: z.number().int().nullable(),
  outShape: shape.nullable(),
  outShapes: z.array(shape).max(1024).nullable(),
  params: count.nullable(),
  flops: flopsPair.nullable(),
  range,
  status: z.enum(['ok', 'error', 'unknown']),
  diagnostics: z.array(z.object({ code: str, severity, message: str })).max(LIMITS.diagnosticsPerNode),
  weights: z
    .object({
      status: z.enum(['load', 'partial', 'mismatch', 'new']),
      loaded: count,
      total: count,
      details: z.array(str).max(LIMITS.diagnosticsPerNode),
    })
    .nullable()
    .optional(),
});

const graphWeights = z.object({
  name: str,
  transferred: count.nullable(),
  total: count.nullable(),
  log: str.nullable(),
  message: str.nullable(),
  firstMiss: count.nullable(),
  remapTransferred: count.nullable(),
});

const graphEdge = z.object({ from: z.number().int().min(-1), to: count, slot: count, shape: shape.nullable() });

const graphResult = z
  .object({
    uri: str,
    version: z.number().int().nullable(),
    framework: str,
    frameworkLabel: str,
    frameworkVersion: str,
    frameworkSource: z.enum(['setting', 'modeline', 'workspace', 'file']),
    frameworkReason: str,
    dialect: z.enum(['yolov5', 'ultralytics']),
    scale: str.nullable(),
    imgsz: count,
    inputShape: shape,
    nodes: z.array(graphNode).max(LIMITS.nodes),
    edges: z.array(graphEdge).max(LIMITS.edges),
    totals: z.object({
      params: count.nullable(),
      paramsFused: count.nullable(),
      gflops: flopsPairNullable,
      gflopsFused: flopsPairNullable,
      flopsAtImgsz: flopsPair.nullable(),
      summary: str.nullable(),
    }),
    ok: z.boolean(),
    weights: graphWeights.nullable().optional(),
  })
  .superRefine((g, ctx) => {
    // nodes are the layers in order; edges join existing layers, forward only (what `from` can express)
    g.nodes.forEach((n, i) => {
      if (n.index !== i) ctx.addIssue({ code: 'custom', message: `node ${i} has index ${n.index}` });
    });
    for (const e of g.edges) {
      if (e.to >= g.nodes.length || e.from >= e.to)
        ctx.addIssue({ code: 'custom', message: `edge ${e.from}→${e.to} does not join two layers in order` });
    }
  });

const submoduleNode: z.ZodType<SubmoduleNode> = z.lazy(() =>
  z.object({
    path: str,
    type: str,
    params: count,
    outShape: shape.nullable(),
    flops: flopsPair.nullable(),
    children: z.array(submoduleNode).max(LIMITS.submodules),
  }),
);

const profileResult = z.object({
  uri: str,
  backend: str,
  /** the engine and the threads it computed on, e.g. `wasm (SIMD, 2 threads)` */
  backendDetail: str.optional(),
  /** threads the engine computed on (null: the engine's own pool), which the panel names beside the engine */
  threads: count.nullable().optional(),
  imgsz: count,
  batch: count,
  runs: count,
  layers: z
    .array(
      z.object({
        index: count,
        module: str,
        ms: finite,
        outShape: shape.nullable(),
        staticShape: shape.nullable(),
        shapeMatches: z.boolean(),
        /** the upstream model's estimated PyTorch ms (what the panel's PyTorch≈ shares and time bars rank by) */
        torchMs: finite.nonnegative().nullable().optional(),
      }),
    )
    .max(LIMITS.profileLayers),
  totalMs: finite,
  throughput: finite,
  peakMemoryMB: finite.nullable(),
  /** what the estimate rests on */
  torchEstimate: str.nullable().optional(),
  error: str.nullable(),
  warnings: z.array(str).max(1000),
});

const convention = z.enum(FLOPS_CONVENTIONS);
const level = z.enum(['info', 'warning', 'error']);

const hostMessage = z.discriminatedUnion('type', [
  z.object({ type: z.literal('graph'), graph: graphResult, convention, fileName: str }),
  z.object({ type: z.literal('compare'), left: graphResult, right: graphResult, leftName: str, rightName: str, convention }),
  z.object({ type: z.literal('cursor'), uri: str, position }),
  z.object({
    type: z.literal('submodules'),
    uri: str,
    index: count,
    nodes: z.array(submoduleNode).max(LIMITS.submodules).nullable(),
    error: str.nullable(),
  }),
  z.object({ type: z.literal('profileProgress'), uri: str, done: count, total: count, message: str }),
  z.object({ type: z.literal('profile'), result: profileResult }),
  z.object({ type: z.literal('status'), level, message: str }),
]);

const webviewMessage = z.discriminatedUnion('type', [
  z.object({ type: z.literal('ready') }),
  z.object({ type: z.literal('reveal'), uri: str, index: count, range }),
  z.object({ type: z.literal('expand'), uri: str, index: count }),
  z.object({ type: z.literal('profile'), uri: str }),
  // a PNG of a 2,000-layer graph is a few MB of base64
  z.object({ type: z.literal('export'), format: z.enum(['svg', 'png']), data: z.string().max(LIMITS.exportChars) }),
  z.object({ type: z.literal('log'), level, message: str }),
]);

// ---- parsing --------------------------------------------------------------------------------------------------

export type Parsed<T> = { ok: true; message: T } | { ok: false; reason: string };

/**
 * A rough size of a structured-cloned value, stopping as soon as it exceeds `limit` (so a giant payload costs
 * no more than the limit to reject), and refusing cycles or absurd nesting.
 */
export function payloadSize(value: unknown, limit: number = LIMITS.payload): number {
  let size = 0;
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length) {
    const [v, depth] = stack.pop()!;
    if (depth > LIMITS.submoduleDepth + 16) return Infinity;
    size += typeof v === 'string' ? v.length : 1;
    if (size > limit) return size;
    if (v && typeof v === 'object') {
      const values = Array.isArray(v) ? v : Object.values(v as Record<string, unknown>);
      size += values.length;
      for (const x of values) stack.push([x, depth + 1]);
    }
  }
  return size;
}

function describe(error: z.ZodError): string {
  const first = error.issues[0];
  if (!first) return 'invalid';
  const more = error.issues.length > 1 ? ` (+${error.issues.length - 1} more)` : '';
  return `${first.path.join('.') || '(root)'}: ${first.message}${more}`;
}

function typeOf(raw: unknown): string {
  if (raw && typeof raw === 'object' && 'type' in raw) return String((raw as { type: unknown }).type).slice(0, 40);
  return typeof raw;
}

/** Validate a message from the host (in the webview). */
export function parseHostMessage(raw: unknown): Parsed<HostMessage> {
  if (payloadSize(raw) > LIMITS.payload) return { ok: false, reason: `message '${typeOf(raw)}' is larger than ${LIMITS.payload} units` };
  const r = hostMessage.safeParse(raw);
  if (!r.success) return { ok: false, reason: `message '${typeOf(raw)}': ${describe(r.error)}` };
  // zod's output is structurally the protocol types; the casts only widen readonly-ness differences
  return { ok: true, message: r.data as HostMessage };
}

/** What the host knows of the document a `reveal` points into. */
export interface RevealTarget {
  uri: string;
  lineCount: number;
  /** length of a line (UTF-16 units) */
  lineLength(line: number): number;
}

/** Validate a message from the webview (in the host); a `reveal` must name the panel's document and lie inside it. */
export function parseWebviewMessage(raw: unknown, target?: RevealTarget): Parsed<WebviewMessage> {
  if (payloadSize(raw, LIMITS.exportChars + 1000) > LIMITS.exportChars + 1000)
    return { ok: false, reason: `message '${typeOf(raw)}' is larger than ${LIMITS.exportChars} units` };
  const r = webviewMessage.safeParse(raw);
  if (!r.success) return { ok: false, reason: `message '${typeOf(raw)}': ${describe(r.error)}` };
  const m = r.data as WebviewMessage;
  if (m.type === 'reveal') {
    if (!target || m.uri !== target.uri) return { ok: false, reason: `reveal: not the panel's document (${m.uri.slice(0, 200)})` };
    const inside = (p: LspPosition) => p.line < target.lineCount && p.character <= target.lineLength(p.line);
    const { start, end } = m.range;
    if (!inside(start) || !inside(end) || end.line < start.line || (end.line === start.line && end.character < start.character))
      return {
        ok: false,
        reason:
          `reveal: range ${start.line}:${start.character}-${end.line}:${end.character} is outside the document ` +
          `(${target.lineCount} lines)`,
      };
  }
  return { ok: true, message: m };
}

/** Does a range contain a position (inclusive end, so a cursor just after a layer's text still selects it)? */
export function rangeContains(r: LspRange, p: LspPosition): boolean {
  const before = (a: LspPosition, b: LspPosition) => a.line < b.line || (a.line === b.line && a.character <= b.character);
  return before(r.start, p) && before(p, r.end);
}
