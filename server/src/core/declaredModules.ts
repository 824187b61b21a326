/**
 * User-declared modules: a workspace file `.yolo-lens.json` declares modules the catalog lacks (signature,
 * parse_model treatment, a body composed of catalog modules and tensor ops), so a custom block gets completion,
 * hover, shapes, params and FLOPs like any other; the editor shows the file's own problems on it.
 *
 * Nothing in the file is ever executed: JSON is parsed with jsonc-parser, expressions (`"int(c2 * e)"`) by pyeval.ts,
 * and both are interpreted here over Python values, with a fixed set of functions. docs/user-modules.md is the
 * user's guide; `loadUserModules(text)` → `{ modules, diagnostics }`, and `resolve(text, { userModules: modules })`.
 */
import { getNodeValue, parseTree, printParseErrorCode, type Node as JsonNode, type ParseError } from 'jsonc-parser';
import type { Range } from './range.ts';
import { EvalSignal, evaluate, EXPR_FUNCTIONS, isExprFunction, namesIn, parseExpression, type PyExpr } from './pyeval.ts';
import type { Severity } from './diagnostics.ts';
import { parseLensSettings, type LensSettings } from './settings.ts';
import { buildError, type Flow, type In, type Mod, type Out } from './nn/module.ts';
import type { Builder } from './nn/builder.ts';
import { PyFloat, type PyVal, isNumeric, isSeq, num, pyRepr, seqItems, truthy } from './py.ts';
import { CATEGORIES, isCategory, type Category } from '../../../common/src/category.ts';
import { construct, param, type Args, type ModuleDef, type ParamKind } from './catalog/types.ts';
import type { Dialect, Framework, ModuleEntry, TreatmentName } from './framework/types.ts';
import { gsShuffle } from './catalog/gsconv-yolov5.ts';
import { FRAMEWORKS } from './framework/index.ts';

// ---- the vocabulary (the JSON Schema in schemas/ is generated from these) --------------------------------

export const USER_CONFIG_FILE = '.yolo-lens.json';

export const PARAM_KINDS: readonly ParamKind[] = ['channels', 'int', 'float', 'bool', 'kernel', 'act', 'str', 'list', 'any'];
/** parse_model branches a user module may join (the set the user added it to in their fork). */
export const USER_TREATMENTS = {
  channels: 'c1 = ch[f] is prepended and the first YAML arg (c2) is width-scaled: Conv, C2f, GSConv...',
  repeats: 'as channels, and the scaled repeat count is inserted as the third constructor arg (n): C3, C2f, VoVGSCSP...',
  plain: 'args are passed as written and the output keeps the input\u2019s channel count in parse_model\u2019s bookkeeping',
  concat: 'from is a list and parse_model counts the sum of the inputs\u2019 channels: Concat-like modules',
} as const satisfies Partial<Record<TreatmentName, string>>;
export type UserTreatment = keyof typeof USER_TREATMENTS;

/** Body operations, with what each takes. `in`/refs name `x` (the module's input), a node id or `id.k`. */
export const NODE_OPS = {
  call:
    'a module from the catalog (or nn.X, or an earlier user module): {"call": "Bottleneck", "args": [...], "kwargs": {...}, ' +
    '"repeat": "n", "in": ref}',
  conv: 'the framework\'s Conv: {"conv": [c1, c2, k, s], "in": ref}',
  apply: 'apply an already built module node again: {"apply": "m", "in": ref}',
  cat: 'torch.cat of refs along dim (default 1): {"cat": ["a", "b"], "dim": 1}',
  add: 'sum of refs: {"add": ["x", "b"]}',
  mul: 'product of refs: {"mul": ["y", "w"]}',
  chunk: 'x.chunk(chunks, dim) — refer to the parts as id.0, id.1: {"chunk": "a", "chunks": 2, "dim": 1}',
  split: 'x.split(sizes, dim): {"split": "a", "sizes": ["c_", "c_"], "dim": 1}',
  shuffle: 'channel shuffle in groups (ShuffleNet): {"shuffle": "y", "groups": 2}',
  gsshuffle: 'GSConv\'s channel shuffle: {"gsshuffle": "y"}',
  upsample: 'F.interpolate: {"upsample": "y", "scale": 2, "mode": "nearest"}',
  maxpool: 'F.max_pool2d: {"maxpool": "y", "k": 5, "s": 1, "p": 2}',
  sigmoid: 'torch.sigmoid: {"sigmoid": "y"}',
  relu: 'torch.relu: {"relu": "y"}',
  mean: 'mean over dims (default [2, 3], keepdim true): {"mean": "y", "dims": [2, 3]}',
} as const;
export type NodeOp = keyof typeof NODE_OPS;

// ---- diagnostics of the config file -----------------------------------------------------------------------

export type UserModuleProblem = 'config-syntax' | 'config-structure' | 'config-expression' | 'config-reference' | 'config-shadowed';

/** A problem in `.yolo-lens.json`, on the exact token (offsets into that file). */
export interface UserModuleDiagnostic {
  readonly code: UserModuleProblem;
  readonly severity: Severity;
  readonly range: Range;
  readonly message: string;
  /** the module the problem belongs to */
  readonly module?: string;
}

// ---- expressions: read and evaluated by pyeval.ts, the one Python-expression reader ---------------------------

/** A parsed expression and where its text is (for diagnostics). */
interface Expr {
  readonly ast: PyExpr;
  readonly text: string;
  readonly range: Range;
}

function parseExpr(text: string, range: Range): Expr | { error: string; range: Range } {
  const parsed = parseExpression(text, 'config');
  if ('expr' in parsed) return { ast: parsed.expr, text, range };
  // the range is the JSON string's, quotes included: the character the reader stopped at is one further
  const at = Math.min(range.end - 1, range.start + 1 + parsed.at);
  return { error: `cannot read the expression '${text}': ${parsed.error}`, range: { start: at, end: Math.min(range.end, at + 1) } };
}

type Scope = ReadonlyMap<string, PyVal>;

/** Where a body evaluates: the params and the `let` names so far, with the functions of EXPR_FUNCTIONS. */
const evaluateIn = (ast: PyExpr, scope: Scope): PyVal => evaluate(ast, { names: scope, mode: 'config' });

const isPyInt = (v: PyVal): v is number => typeof v === 'number';

// ---- values in the JSON: literals, expressions (strings) and lists of them --------------------------------

type ArgSpec = { kind: 'lit'; value: PyVal } | { kind: 'expr'; expr: Expr } | { kind: 'list'; items: ArgSpec[] };

function evalArg(a: ArgSpec, scope: Scope): PyVal {
  if (a.kind === 'lit') return a.value;
  if (a.kind === 'list') return a.items.map((x) => evalArg(x, scope));
  return evaluateIn(a.expr.ast, scope);
}

// ---- declarations -----------------------------------------------------------------------------------------

/** One input of a node: `x`, a node id, or `id.k` (an item of a node that gives a list). */
interface Ref {
  readonly node: string;
  readonly item?: number;
  readonly range: Range;
}

interface BodyNode {
  readonly id: string;
  readonly op: NodeOp;
  readonly range: Range;
  /** inputs, in order (`in` for module calls; the op's refs otherwise) */
  readonly inputs: readonly Ref[];
  /** `in` was a list: the module gets a list of tensors */
  readonly inputList: boolean;
  readonly moduleName?: string;
  readonly args: readonly ArgSpec[];
  readonly kwargs: ReadonlyMap<string, ArgSpec>;
  /** op options: dim, chunks, sizes, groups, scale, mode, k, s, p, dims, keepdim */
  readonly options: ReadonlyMap<string, ArgSpec>;
  readonly repeat?: Expr;
  readonly cond?: Expr;
}

export interface UserParam {
  readonly name: string;
  readonly kind: ParamKind;
  readonly doc: string;
  readonly default?: PyVal;
}

/** A checked declaration from `.yolo-lens.json`. */
export interface UserModuleDecl {
  readonly name: string;
  readonly doc: string;
  readonly category: Category;
  readonly treatment: UserTreatment;
  readonly dialects: readonly Dialect[];
  readonly params: readonly UserParam[];
  readonly lets: readonly { readonly name: string; readonly expr: Expr }[];
  readonly body: readonly BodyNode[];
  readonly output: Ref;
  /** where the declaration is (its name in the file) */
  readonly range: Range;
  /** problems that make it unusable: a layer using it gets this as its build error */
  readonly errors: readonly string[];
}

/** how a declaration reports a problem on one of its tokens */
type Fail = (code: UserModuleProblem, r: Range, message: string) => void;

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;
const REF = /^([A-Za-z_][A-Za-z0-9_]*)(?:\.(\d+))?$/;
const rangeOf = (n: JsonNode): Range => ({ start: n.offset, end: n.offset + n.length });
const prop = (obj: JsonNode | undefined, key: string): JsonNode | undefined =>
  obj?.children?.find((p) => p.children?.[0]?.value === key)?.children?.[1];
const props = (obj: JsonNode): { key: string; keyNode: JsonNode; value: JsonNode }[] =>
  (obj.children ?? [])
    .filter((p) => p.children?.length === 2)
    .map((p) => ({ key: String(p.children![0]!.value), keyNode: p.children![0]!, value: p.children![1]! }));

const KNOWN_MODULE_KEYS = new Set(['doc', 'category', 'treatment', 'dialects', 'params', 'let', 'body', 'output']);
const KNOWN_PARAM_KEYS = new Set(['name', 'kind', 'doc', 'default']);
const NODE_OPTION_KEYS: Readonly<Record<NodeOp, readonly string[]>> = {
  call: ['args', 'kwargs', 'repeat', 'in'],
  conv: ['kwargs', 'in'],
  apply: ['in'],
  cat: ['dim'],
  add: [],
  mul: [],
  chunk: ['chunks', 'dim'],
  split: ['sizes', 'dim'],
  shuffle: ['groups'],
  gsshuffle: [],
  upsample: ['scale', 'mode'],
  maxpool: ['k', 's', 'p'],
  sigmoid: [],
  relu: [],
  mean: ['dims', 'keepdim'],
};
const LIST_OUTPUT_OPS = new Set<NodeOp>(['chunk', 'split']);

/** Every module name a body may call in a dialect, besides user modules: what the frameworks and the catalog define. */
export interface CatalogView {
  has(dialect: Dialect, name: string): boolean;
}

class Loader {
  readonly diagnostics: UserModuleDiagnostic[] = [];
  /** the `settings` part: what the editor and `check` resolve the workspace's files with */
  settings: LensSettings = {};
  constructor(
    readonly text: string,
    private readonly catalog: CatalogView,
  ) {}

  problem(code: UserModuleProblem, range: Range, message: string, module?: string, severity: Severity = 'error'): void {
    this.diagnostics.push({ code, severity, range, message, ...(module ? { module } : {}) });
  }

  load(): UserModuleDecl[] {
    const errors: ParseError[] = [];
    const root = parseTree(this.text, errors, { allowTrailingComma: true, disallowComments: false });
    for (const e of errors)
      this.problem('config-syntax', { start: e.offset, end: e.offset + Math.max(1, e.length) }, `JSON: ${printParseErrorCode(e.error)}`);
    if (!root) return [];
    if (root.type !== 'object') {
      this.problem('config-structure', rangeOf(root), `${USER_CONFIG_FILE} must be an object with a "modules" object`);
      return [];
    }
    for (const p of props(root))
      if (p.key !== 'modules' && p.key !== '$schema' && p.key !== 'settings')
        this.problem(
          'config-structure',
          rangeOf(p.keyNode),
          `unknown key '${p.key}' (ignored): the file has "modules" and "settings"`,
          undefined,
          'warning',
        );
    const settings = prop(root, 'settings');
    if (settings) this.readSettings(settings);
    const modules = prop(root, 'modules');
    if (!modules) return [];
    if (modules.type !== 'object') {
      this.problem('config-structure', rangeOf(modules), '"modules" must be an object: module name → declaration');
      return [];
    }
    const out: UserModuleDecl[] = [];
    const seen = new Set<string>();
    for (const { key, keyNode, value } of props(modules)) {
      if (seen.has(key)) {
        this.problem('config-structure', rangeOf(keyNode), `'${key}' is declared twice: the first declaration is used`);
        continue;
      }
      seen.add(key);
      const decl = this.module(key, keyNode, value, out);
      if (decl) out.push(decl);
    }
    return out;
  }

  /** `"settings": { framework, scale, imgsz, severity }`, each bad field a problem on its own token. */
  private readSettings(node: JsonNode): void {
    const { settings, problems } = parseLensSettings(getNodeValue(node));
    this.settings = settings;
    for (const p of problems) {
      const [key, code] = p.key.split('.');
      const field = key ? props(node).find((x) => x.key === key) : undefined;
      const sub = code && field ? props(field.value).find((x) => x.key === code) : undefined;
      const at = sub ? rangeOf(sub.keyNode) : field ? rangeOf(field.value) : rangeOf(node);
      this.problem('config-structure', at, p.message, undefined, p.severity);
    }
  }

  private module(name: string, keyNode: JsonNode, node: JsonNode, earlier: readonly UserModuleDecl[]): UserModuleDecl | null {
    const range = rangeOf(keyNode);
    const errors: string[] = [];
    const fail = (code: UserModuleProblem, r: Range, message: string) => {
      this.problem(code, r, message, name);
      errors.push(message);
    };
    if (!IDENT.test(name)) {
      this.problem('config-structure', range, `'${name}' is not a Python class name`, name);
      return null;
    }
    if (node.type !== 'object') {
      this.problem('config-structure', rangeOf(node), `the declaration of ${name} must be an object`, name);
      return null;
    }
    const { doc, category, treatment, dialects } = this.declHeader(name, node, range, fail);
    const params = this.declParams(name, node, keyNode, treatment, fail);
    const { lets, scopeNames } = this.declLets(name, node, params, fail);
    const { body, output } = this.declBody(name, node, keyNode, range, scopeNames, earlier, dialects, fail);
    return { name, doc, category, treatment, dialects, params, lets, body, output, range, errors };
  }

  /** doc, category, treatment and dialects of a declaration; unknown keys warned about */
  private declHeader(name: string, node: JsonNode, range: Range, fail: Fail) {
    for (const p of props(node))
      if (!KNOWN_MODULE_KEYS.has(p.key))
        this.problem(
          'config-structure',
          rangeOf(p.keyNode),
          `unknown key '${p.key}' (ignored); a module has ${[...KNOWN_MODULE_KEYS].join(', ')}`,
          name,
          'warning',
        );
    const str = (key: string, dflt: string): string => {
      const v = prop(node, key);
      if (!v) return dflt;
      if (v.type !== 'string') {
        fail('config-structure', rangeOf(v), `"${key}" must be a string`);
        return dflt;
      }
      return String(v.value);
    };
    const doc = str('doc', `${name} (declared in ${USER_CONFIG_FILE})`);
    const categoryText = str('category', 'misc');
    const category = isCategory(categoryText) ? categoryText : 'misc';
    if (categoryText !== category)
      fail('config-structure', rangeOf(prop(node, 'category')!), `category must be one of ${CATEGORIES.join(', ')}`);
    const treatmentNode = prop(node, 'treatment');
    let treatment: UserTreatment = 'plain';
    if (!treatmentNode)
      fail(
        'config-structure',
        range,
        `${name} needs a "treatment": how parse_model treats it (${Object.keys(USER_TREATMENTS).join(', ')})`,
      );
    else if (treatmentNode.type !== 'string' || !(String(treatmentNode.value) in USER_TREATMENTS))
      fail('config-structure', rangeOf(treatmentNode), `treatment must be one of ${Object.keys(USER_TREATMENTS).join(', ')}`);
    else treatment = String(treatmentNode.value) as UserTreatment;
    let dialects: Dialect[] = ['yolov5', 'ultralytics'];
    const dn = prop(node, 'dialects');
    if (dn) {
      const items = dn.type === 'array' ? (dn.children ?? []) : [];
      if (dn.type !== 'array' || !items.length || items.some((i) => i.value !== 'yolov5' && i.value !== 'ultralytics'))
        fail('config-structure', rangeOf(dn), '"dialects" must be a non-empty list of "yolov5" and "ultralytics"');
      else dialects = [...new Set(items.map((i) => i.value as Dialect))];
    }
    // the catalog wins over a declaration of the same name, where it has one
    const shadowed = dialects.filter((d) => this.catalog.has(d, name));
    if (shadowed.length)
      this.problem(
        'config-shadowed',
        range,
        `${name} is a ${shadowed.join(' and ')} catalog module: the catalog\u2019s definition is ` +
          `used${shadowed.length < dialects.length ? ` there, this one elsewhere` : ''}`,
        name,
        'warning',
      );

    return { doc, category, treatment, dialects };
  }

  /** the constructor signature: names, kinds, docs, defaults in Python's order */
  private declParams(name: string, node: JsonNode, keyNode: JsonNode, treatment: UserTreatment, fail: Fail): UserParam[] {
    const params: UserParam[] = [];
    const pn = prop(node, 'params');
    if (pn && pn.type !== 'array') fail('config-structure', rangeOf(pn), '"params" must be a list of {"name", "kind", "doc", "default"}');
    let sawDefault = false;
    for (const p of pn?.type === 'array' ? (pn.children ?? []) : []) {
      if (p.type !== 'object') {
        fail('config-structure', rangeOf(p), 'a param is an object: {"name": "c2", "kind": "channels", "doc": "output channels"}');
        continue;
      }
      for (const q of props(p))
        if (!KNOWN_PARAM_KEYS.has(q.key))
          this.problem(
            'config-structure',
            rangeOf(q.keyNode),
            `unknown key '${q.key}' (ignored); a param has name, kind, doc, default`,
            name,
            'warning',
          );
      const nn = prop(p, 'name');
      const pname = nn?.type === 'string' ? String(nn.value) : '';
      if (!IDENT.test(pname)) {
        fail('config-structure', rangeOf(nn ?? p), 'a param needs a "name" that is a Python identifier');
        continue;
      }
      if (params.some((x) => x.name === pname)) {
        fail('config-structure', rangeOf(nn!), `duplicate argument '${pname}' in the signature`);
        continue;
      }
      const kn = prop(p, 'kind');
      const kind =
        kn?.type === 'string' && (PARAM_KINDS as readonly string[]).includes(String(kn.value)) ? (String(kn.value) as ParamKind) : 'any';
      if (kn && kind === 'any' && kn.value !== 'any')
        fail('config-structure', rangeOf(kn), `kind must be one of ${PARAM_KINDS.join(', ')}`);
      const docNode = prop(p, 'doc');
      const dv = prop(p, 'default');
      const param: { name: string; kind: ParamKind; doc: string; default?: PyVal } = {
        name: pname,
        kind,
        doc: docNode?.type === 'string' ? String(docNode.value) : '',
      };
      if (dv) {
        param.default = this.literal(dv);
        sawDefault = true;
      } else if (sawDefault)
        fail(
          'config-structure',
          rangeOf(nn!),
          `'${pname}' has no default but comes after a parameter with one (Python: non-default argument follows default argument)`,
        );
      params.push(param);
    }
    const need = treatment === 'repeats' ? 3 : treatment === 'channels' ? 2 : 0;
    if (params.length < need)
      fail(
        'config-structure',
        rangeOf(pn ?? keyNode),
        `a ${treatment} module takes (c1, c2${treatment === 'repeats' ? ', n' : ''}, ...) first: parse_model passes the input channels ` +
          `as c1${treatment === 'repeats' ? ' and the repeats as n' : ''}`,
      );

    return params;
  }

  /** `let`: names computed from the params, in order */
  private declLets(name: string, node: JsonNode, params: readonly UserParam[], fail: Fail) {
    const scopeNames = new Set<string>(params.map((p) => p.name));
    const lets: { name: string; expr: Expr }[] = [];
    const ln = prop(node, 'let');
    if (ln && ln.type !== 'object') fail('config-structure', rangeOf(ln), '"let" must be an object: name → expression');
    for (const { key, keyNode: k, value } of ln?.type === 'object' ? props(ln) : []) {
      if (!IDENT.test(key)) {
        fail('config-structure', rangeOf(k), `'${key}' is not a name an expression can use`);
        continue;
      }
      const e = this.expression(value, scopeNames, name, fail);
      if (e) lets.push({ name: key, expr: e });
      scopeNames.add(key);
    }

    return { lets, scopeNames };
  }

  /** the body nodes and the output */
  private declBody(
    name: string,
    node: JsonNode,
    keyNode: JsonNode,
    range: Range,
    scopeNames: Set<string>,
    earlier: readonly UserModuleDecl[],
    dialects: Dialect[],
    fail: Fail,
  ) {
    const body: BodyNode[] = [];
    const bn = prop(node, 'body');
    const ids = new Map<string, NodeOp>([['x', 'call']]);
    if (!bn || bn.type !== 'array' || !(bn.children ?? []).length)
      fail(
        'config-structure',
        rangeOf(bn ?? keyNode),
        `${name} needs a "body": a list of nodes such as {"id": "y", "conv": ["c1", "c2", 3, 1]}`,
      );
    for (const n of bn?.type === 'array' ? (bn.children ?? []) : []) {
      const b = this.bodyNode(n, ids, scopeNames, name, fail, earlier, dialects);
      if (b) {
        body.push(b);
        ids.set(b.id, b.op);
      }
    }
    const on = prop(node, 'output');
    let output: Ref = body.length ? { node: body[body.length - 1]!.id, range } : { node: 'x', range };
    if (on) {
      const r = this.ref(on, ids, name, fail);
      if (r) output = r;
    }
    if (LIST_OUTPUT_OPS.has(ids.get(output.node)!) && output.item === undefined)
      fail('config-reference', output.range, `the output '${output.node}' is a list of tensors: name one item (${output.node}.0)`);
    return { body, output };
  }

  /** A JSON value as a Python literal (a number with a dot or an exponent is a float). */
  private literal(n: JsonNode): PyVal {
    switch (n.type) {
      case 'number': {
        const raw = this.text.slice(n.offset, n.offset + n.length);
        return /[.eE]/.test(raw) ? new PyFloat(Number(n.value)) : Number(n.value);
      }
      case 'boolean':
        return Boolean(n.value);
      case 'null':
        return null;
      case 'string':
        return String(n.value);
      case 'array':
        return (n.children ?? []).map((c) => this.literal(c));
      default:
        return null;
    }
  }

  private expression(
    n: JsonNode,
    scope: ReadonlySet<string>,
    module: string,
    fail: (c: UserModuleProblem, r: Range, m: string) => void,
  ): Expr | null {
    if (n.type === 'number' || n.type === 'boolean' || n.type === 'null') {
      const text = this.text.slice(n.offset, n.offset + n.length);
      const number = n.type === 'number' ? parseExpression(text) : null;
      const ast: PyExpr = number && 'expr' in number ? number.expr : { kind: 'const', value: (n.value as boolean | null) ?? null };
      return { ast, text, range: rangeOf(n) };
    }
    if (n.type !== 'string') {
      fail('config-expression', rangeOf(n), 'an expression is a string such as "int(c2 * e)" or a number');
      return null;
    }
    const parsed = parseExpr(String(n.value), rangeOf(n));
    if ('error' in parsed) {
      fail('config-expression', parsed.range, parsed.error);
      return null;
    }
    const seen = namesIn(parsed.ast);
    if (seen.attributes) fail('config-expression', rangeOf(n), 'attribute access (a.b) is not supported; index lists with a[0]');
    if (seen.otherCalls) fail('config-expression', rangeOf(n), `only the functions ${EXPR_FUNCTIONS.join(', ')} can be called`);
    for (const c of seen.calls)
      if (!isExprFunction(c))
        fail('config-expression', rangeOf(n), `'${c}' is not a function expressions can call (${EXPR_FUNCTIONS.join(', ')})`);
    for (const x of seen.names)
      if (!scope.has(x))
        fail('config-reference', rangeOf(n), `name '${x}' is not defined: expressions read the params and the "let" names before them`);
    void module;
    return parsed;
  }

  private arg(
    n: JsonNode,
    scope: ReadonlySet<string>,
    module: string,
    fail: (c: UserModuleProblem, r: Range, m: string) => void,
  ): ArgSpec | null {
    if (n.type === 'array') {
      const items = (n.children ?? []).map((c) => this.arg(c, scope, module, fail));
      return items.every(Boolean) ? { kind: 'list', items: items as ArgSpec[] } : null;
    }
    if (n.type === 'string') {
      const e = this.expression(n, scope, module, fail);
      return e ? { kind: 'expr', expr: e } : null;
    }
    if (n.type === 'object') {
      fail('config-structure', rangeOf(n), 'an argument is a number, a list, true/false/null or an expression string');
      return null;
    }
    return { kind: 'lit', value: this.literal(n) };
  }

  private ref(
    n: JsonNode,
    ids: ReadonlyMap<string, NodeOp>,
    module: string,
    fail: (c: UserModuleProblem, r: Range, m: string) => void,
  ): Ref | null {
    const m = n.type === 'string' ? REF.exec(String(n.value)) : null;
    if (!m) {
      fail(
        'config-structure',
        rangeOf(n),
        'an input is "x" (the module\u2019s input), the id of an earlier node, or "id.0" for an item of a list',
      );
      return null;
    }
    if (!ids.has(m[1]!)) {
      fail('config-reference', rangeOf(n), `'${m[1]}' is not an earlier node (nodes read "x" and the nodes before them)`);
      return null;
    }
    void module;
    return { node: m[1]!, ...(m[2] !== undefined ? { item: Number(m[2]) } : {}), range: rangeOf(n) };
  }

  private bodyNode(
    n: JsonNode,
    ids: ReadonlyMap<string, NodeOp>,
    scope: ReadonlySet<string>,
    module: string,
    fail: (c: UserModuleProblem, r: Range, m: string) => void,
    earlier: readonly UserModuleDecl[],
    dialects: readonly Dialect[],
  ): BodyNode | null {
    if (n.type !== 'object') {
      fail('config-structure', rangeOf(n), 'a body node is an object such as {"id": "y", "conv": ["c1", "c2", 3, 1]}');
      return null;
    }
    const entries = props(n);
    const ops = entries.filter((e) => e.key in NODE_OPS);
    if (ops.length !== 1) {
      fail(
        'config-structure',
        rangeOf(n),
        ops.length
          ? `a node has one operation, this one has ${ops.map((o) => o.key).join(' and ')}`
          : `a node needs one operation: ${Object.keys(NODE_OPS).join(', ')}`,
      );
      return null;
    }
    const op = ops[0]!.key as NodeOp;
    const opNode = ops[0]!.value;
    const idNode = prop(n, 'id');
    const id = idNode?.type === 'string' ? String(idNode.value) : `_${ids.size}`;
    if (idNode && (!IDENT.test(id) || id === 'x')) {
      fail('config-structure', rangeOf(idNode), `"id" must be a name other than x`);
      return null;
    }
    if (ids.has(id)) {
      fail('config-structure', rangeOf(idNode ?? n), `the id '${id}' is already used`);
      return null;
    }
    for (const e of entries)
      if (!(e.key in NODE_OPS) && e.key !== 'id' && e.key !== 'if' && !NODE_OPTION_KEYS[op].includes(e.key))
        this.problem(
          'config-structure',
          rangeOf(e.keyNode),
          `unknown key '${e.key}' for a ${op} node (ignored); it takes ${['id', 'if', ...NODE_OPTION_KEYS[op]].join(', ')}`,
          module,
          'warning',
        );
    const refs = (v: JsonNode | undefined): Ref[] | null => {
      if (!v) return [];
      const list = v.type === 'array' ? (v.children ?? []) : [v];
      const out = list.map((x) => this.ref(x, ids, module, fail));
      return out.every(Boolean) ? (out as Ref[]) : null;
    };
    const options = new Map<string, ArgSpec>();
    for (const key of NODE_OPTION_KEYS[op]) {
      if (key === 'in' || key === 'args' || key === 'kwargs' || key === 'repeat') continue;
      const v = prop(n, key);
      if (!v) continue;
      const a =
        key === 'mode' && v.type === 'string' ? ({ kind: 'lit', value: String(v.value) } as ArgSpec) : this.arg(v, scope, module, fail);
      if (a) options.set(key, a);
    }
    let cond: Expr | undefined;
    const ifNode = prop(n, 'if');
    if (ifNode) cond = this.expression(ifNode, scope, module, fail) ?? undefined;
    const base = { id, op, range: rangeOf(n), options, ...(cond ? { cond } : {}) };
    if (op === 'call' || op === 'conv' || op === 'apply') {
      const inNode = prop(n, 'in');
      const inputs = inNode ? refs(inNode) : [{ node: [...ids.keys()].pop()!, range: rangeOf(n) }];
      if (!inputs) return null;
      let moduleName: string;
      let argNodes: JsonNode[] = [];
      if (op === 'conv') {
        moduleName = 'Conv';
        if (opNode.type !== 'array') fail('config-structure', rangeOf(opNode), '"conv" takes the Conv args: ["c1", "c2", 3, 1]');
        else argNodes = opNode.children ?? [];
      } else if (op === 'call') {
        moduleName = opNode.type === 'string' ? String(opNode.value) : '';
        const known = earlier.some((d) => d.name === moduleName) || dialects.some((d) => this.catalog.has(d, moduleName));
        if (!moduleName) fail('config-structure', rangeOf(opNode), '"call" names a module: "Bottleneck", "nn.Conv2d"...');
        else if (!known)
          fail(
            'config-reference',
            rangeOf(opNode),
            `'${moduleName}' is not a module of ${dialects.join(' or ')} (nor a user module declared before ${module})`,
          );
        const an = prop(n, 'args');
        if (an && an.type !== 'array') fail('config-structure', rangeOf(an), '"args" is a list');
        argNodes = an?.type === 'array' ? (an.children ?? []) : [];
      } else {
        moduleName = opNode.type === 'string' ? String(opNode.value) : '';
        const target = ids.get(moduleName);
        if (target !== 'call' && target !== 'conv') {
          fail('config-reference', rangeOf(opNode), `"apply" names an earlier call or conv node, not '${moduleName}'`);
          return null;
        }
      }
      const args = argNodes.map((a) => this.arg(a, scope, module, fail));
      if (!args.every(Boolean)) return null;
      const kwargs = new Map<string, ArgSpec>();
      const kn = prop(n, 'kwargs');
      if (kn && kn.type !== 'object') fail('config-structure', rangeOf(kn), '"kwargs" is an object: name → value');
      for (const { key, value } of kn?.type === 'object' ? props(kn) : []) {
        const a = this.arg(value, scope, module, fail);
        if (a) kwargs.set(key, a);
      }
      const rn = prop(n, 'repeat');
      const repeat = rn ? (this.expression(rn, scope, module, fail) ?? undefined) : undefined;
      return {
        ...base,
        inputs,
        inputList: inNode?.type === 'array',
        moduleName,
        args: args as ArgSpec[],
        kwargs,
        ...(repeat ? { repeat } : {}),
      };
    }
    const inputs = refs(opNode);
    if (!inputs) return null;
    const multi = op === 'cat' || op === 'add' || op === 'mul';
    if (multi && (opNode.type !== 'array' || inputs.length < (op === 'cat' ? 1 : 2)))
      fail('config-structure', rangeOf(opNode), `"${op}" takes a list of ${op === 'cat' ? 'one or more' : 'two or more'} inputs`);
    if (!multi && inputs.length !== 1) fail('config-structure', rangeOf(opNode), `"${op}" takes one input`);
    return { ...base, inputs, inputList: multi, args: [], kwargs: new Map() };
  }
}

// ---- the builder that interprets a declaration ------------------------------------------------------------

type Value<T> = T | readonly T[];

/** The ModuleDef of a declaration in one framework; `framework` gives the namespace its calls resolve in. */
function defOf(decl: UserModuleDecl, framework: () => Framework, fallback: (name: string) => ModuleDef | undefined): ModuleDef {
  return {
    name: decl.name,
    category: decl.category,
    doc: decl.doc,
    source: `${USER_CONFIG_FILE}:${decl.name}`,
    signature: decl.params.map((p) => param(p.name, p.kind, p.doc, p.default)),
    build: (b, a) => {
      if (decl.errors.length) throw buildError(`the declaration of ${decl.name} in ${USER_CONFIG_FILE} has errors: ${decl.errors[0]}`);
      return interpret(decl, b, a, framework(), fallback);
    },
  };
}

/** One body node as built: its node, the module it calls or the ref it stands for (an `if` that is false), its options. */
type Step = { node: BodyNode; alias?: Ref; mod?: Mod; opts: Map<string, PyVal> };

function interpret(
  decl: UserModuleDecl,
  b: Builder,
  a: Args,
  framework: Framework,
  fallback: (name: string) => ModuleDef | undefined,
): Mod {
  const scope = new Map<string, PyVal>(a.values);
  const at = (what: string, f: () => PyVal): PyVal => {
    try {
      return f();
    } catch (e) {
      if (e instanceof EvalSignal) throw buildError(`${decl.name}: ${what}: ${e.message}`);
      throw e;
    }
  };
  for (const l of decl.lets)
    scope.set(
      l.name,
      at(`let ${l.name} = ${l.expr.text}`, () => evaluateIn(l.expr.ast, scope)),
    );
  const children: [string, Mod][] = [];
  const mods = new Map<string, Mod>();
  const steps: Step[] = [];
  for (const node of decl.body) {
    const opts = new Map<string, PyVal>();
    for (const [k, v] of node.options)
      opts.set(
        k,
        at(`${node.id}.${k}`, () => evalArg(v, scope)),
      );
    if (node.cond && !truthy(at(`${node.id}.if`, () => evaluateIn(node.cond!.ast, scope)))) {
      steps.push({ node, alias: node.inputs[node.inputs.length - 1]!, opts });
      continue;
    }
    if (node.op === 'call' || node.op === 'conv') {
      const name = node.moduleName!;
      const def = lookup(framework, name) ?? fallback(name);
      if (!def) throw buildError(`${decl.name}: '${name}' is not a module ${framework.label} has`);
      const args = node.args.map((x, k) => at(`${node.id} arg ${k + 1}`, () => evalArg(x, scope)));
      const kwargs: Record<string, PyVal> = {};
      for (const [k, v] of node.kwargs) kwargs[k] = at(`${node.id} ${k}=`, () => evalArg(v, scope));
      let mod: Mod;
      if (node.repeat) {
        const n = at(`${node.id}.repeat`, () => evaluateIn(node.repeat!.ast, scope));
        if (!isPyInt(n) || n < 0 || n > 4096)
          throw buildError(`${decl.name}: ${node.id}.repeat must be an int between 0 and 4096, got ${pyRepr(n)}`);
        mod = b.seq(Array.from({ length: n }, () => construct(b, def, args, kwargs)));
      } else mod = construct(b, def, args, kwargs);
      children.push([node.id, mod]);
      mods.set(node.id, mod);
      steps.push({ node, mod, opts });
    } else if (node.op === 'apply') steps.push({ node, mod: mods.get(node.moduleName!)!, opts });
    else steps.push({ node, opts });
  }
  const forward = <T>(fl: Flow<T>, x: In<T>): Out<T> => {
    const values = new Map<string, Value<T>>([['x', x as Value<T>]]);
    const read = (r: Ref): Value<T> => {
      const v = values.get(r.node);
      if (v === undefined) throw buildError(`${decl.name}: '${r.node}' has no value`);
      if (r.item === undefined) return v;
      if (!isTensorList(v)) throw buildError(`${decl.name}: '${r.node}' is one tensor, not a list (${r.node}.${r.item})`);
      const item = (v as readonly T[])[r.item];
      if (item === undefined) throw buildError(`${decl.name}: ${r.node}.${r.item}: list index out of range`);
      return item;
    };
    const one = (r: Ref): T => {
      const v = read(r);
      if (isTensorList(v)) throw buildError(`${decl.name}: '${r.node}' is a list of tensors; name one item (${r.node}.0)`);
      return v as T;
    };
    const int = (s: Step, k: string, dflt: number): number => {
      const v = s.opts.get(k);
      if (v === undefined) return dflt;
      if (!isPyInt(v)) throw buildError(`${decl.name}: ${s.node.id}.${k} must be an int, got ${pyRepr(v)}`);
      return v;
    };
    for (const s of steps) {
      const n = s.node;
      let out: Value<T>;
      if (s.alias) out = read(s.alias);
      else out = nodeForward(fl, s, one, int, decl.name);
      values.set(n.id, out);
    }
    return read(decl.output) as Out<T>;
  };
  return b.mod(decl.name, children, forward as never);
}

/** One body node's forward (cat, add, split, shuffle...) on the values it reads. */
function nodeForward<T>(
  fl: Flow<T>,
  s: Step,
  one: (r: Ref) => T,
  int: (s: Step, k: string, dflt: number) => number,
  declName: string,
): Value<T> {
  const n = s.node;
  switch (n.op) {
    case 'call':
    case 'conv':
    case 'apply': {
      const input: In<T> = n.inputList ? n.inputs.map(one) : one(n.inputs[0]!);
      return fl.callMulti(s.mod!, input) as Value<T>;
    }
    case 'cat':
      return fl.cat(n.inputs.map(one), int(s, 'dim', 1));
    case 'add':
      return n.inputs.map(one).reduce((p, q) => fl.add(p, q));
    case 'mul':
      return n.inputs.map(one).reduce((p, q) => fl.mul(p, q));
    case 'chunk':
      return fl.chunk(one(n.inputs[0]!), int(s, 'chunks', 2), int(s, 'dim', 1));
    case 'split': {
      const sizes = s.opts.get('sizes');
      if (sizes === undefined) throw buildError(`${declName}: ${n.id} needs "sizes"`);
      const sz = isSeq(sizes) ? seqItems(sizes).map((v) => toIntOrThrow(v, declName, n.id)) : toIntOrThrow(sizes, declName, n.id);
      return fl.split(one(n.inputs[0]!), sz, int(s, 'dim', 1));
    }
    case 'shuffle': {
      const t = one(n.inputs[0]!);
      const [bs, c, h, w] = fl.shape(t) as [number, number, number, number];
      const g = int(s, 'groups', 2);
      if (g <= 0 || c % g !== 0) throw buildError(`${declName}: ${n.id}: ${c} channels cannot be shuffled in ${g} groups`);
      return fl.view(fl.transpose(fl.view(t, [bs, g, c / g, h, w]), 1, 2), [bs, c, h, w]);
    }
    case 'gsshuffle':
      return gsShuffle(fl, one(n.inputs[0]!));
    case 'upsample': {
      const scale = s.opts.get('scale') ?? 2;
      const mode = s.opts.get('mode') ?? 'nearest';
      return fl.interpolate(one(n.inputs[0]!), null, toNumberOrThrow(scale, declName, n.id), String(mode) as never);
    }
    case 'maxpool': {
      const k = int(s, 'k', 2);
      return fl.maxPool(one(n.inputs[0]!), k, int(s, 's', k), int(s, 'p', 0));
    }
    case 'sigmoid':
      return fl.sigmoid(one(n.inputs[0]!));
    case 'relu':
      return fl.relu(one(n.inputs[0]!));
    case 'mean': {
      const dims = s.opts.get('dims') ?? [2, 3];
      const keep = s.opts.get('keepdim');
      return fl.mean(
        one(n.inputs[0]!),
        isSeq(dims) ? seqItems(dims).map((v) => toIntOrThrow(v, declName, n.id)) : [toIntOrThrow(dims, declName, n.id)],
        keep === undefined ? true : truthy(keep),
      );
      break;
    }
  }
}

/** A list of tensors, not one tensor (a shape is a list of numbers; a runtime tensor is not an array). */
function isTensorList(v: unknown): boolean {
  return Array.isArray(v) && (v.length === 0 || typeof v[0] !== 'number');
}

function toIntOrThrow(v: PyVal, module: string, id: string): number {
  if (!isPyInt(v)) throw buildError(`${module}: ${id} needs ints, got ${pyRepr(v)}`);
  return v;
}

function toNumberOrThrow(v: PyVal, module: string, id: string): number {
  if (!isNumeric(v)) throw buildError(`${module}: ${id} needs a number, got ${pyRepr(v)}`);
  return num(v);
}

function lookup(framework: Framework, name: string): ModuleDef | undefined {
  const nn = /^(?:torch\.)?nn\.(.+)$/.exec(name);
  if (nn) return framework.nn.get(nn[1]!)?.def;
  return framework.modules.get(name)?.def;
}

/** Modules the ultralytics catalog defines but tasks.py does not import (C3k, DFL...): a user's block may use them. */

// ---- the loaded set ---------------------------------------------------------------------------------------

/** The user's modules, ready for `resolve(text, { userModules })`: `extend(framework)` adds them to a framework's namespace. */
export class UserModules {
  private readonly memo = new Map<string, Framework>();
  constructor(readonly declarations: readonly UserModuleDecl[]) {}

  get names(): readonly string[] {
    return this.declarations.map((d) => d.name);
  }

  /** The framework with the user's modules added (not replacing catalog modules of the same name). */
  extend(framework: Framework): Framework {
    const hit = this.memo.get(framework.id);
    if (hit && hit !== framework) return hit;
    const decls = this.declarations.filter((d) => d.dialects.includes(framework.dialect) && !framework.modules.has(d.name));
    if (!decls.length) return framework;
    const modules = new Map<string, ModuleEntry>(framework.modules);
    const extended: Framework = { ...framework, modules };
    const fallback = (name: string) => framework.helpers.get(name);
    for (const d of decls)
      modules.set(d.name, { def: defOf(d, () => extended, fallback), treat: d.treatment, treatment: framework.treatments[d.treatment] });
    this.memo.set(framework.id, extended);
    return extended;
  }
}

export const NO_USER_MODULES = new UserModules([]);

/** What the catalog has, per dialect, for the loader's reference checks. */
export function catalogView(frameworks: readonly (Framework | undefined)[]): CatalogView {
  return {
    has(dialect, name) {
      for (const t of frameworks) {
        if (!t || t.dialect !== dialect) continue;
        if (lookup(t, name)) return true;
      }
      return frameworks.some((t) => t?.dialect === dialect && t.helpers.has(name));
    },
  };
}

/**
 * Read `.yolo-lens.json`. Never throws: problems are diagnostics on the file's own tokens, and a declaration with
 * errors is still registered, so a layer using it says why it cannot be built instead of "unknown module".
 */
export function loadUserModules(
  text: string,
  catalog: CatalogView = catalogView(Object.values(FRAMEWORKS)),
): { modules: UserModules; settings: LensSettings; diagnostics: readonly UserModuleDiagnostic[] } {
  const loader = new Loader(text, catalog);
  let decls: UserModuleDecl[] = [];
  try {
    decls = loader.load();
  } catch (e) {
    loader.problem('config-structure', { start: 0, end: 0 }, `YOLO Lens could not read ${USER_CONFIG_FILE}: ${(e as Error).message}`);
  }
  return { modules: new UserModules(decls), settings: loader.settings, diagnostics: loader.diagnostics };
}
