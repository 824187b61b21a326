/**
 * Generates the JSON Schemas in schemas/ from the module catalog (and the user-module vocabulary):
 *  - yolo-v5.schema.json          the YOLOv5 dialect (ultralytics/yolov5, the Slim-neck YOLOv5 and Scaled-YOLOv4 forks)
 *  - yolo-ultralytics.schema.json the ultralytics dialect (8.3 with the Slim-neck modules)
 *  - yolo-model.schema.json       either, chosen as YOLO Lens chooses (an `anchors:` key means YOLOv5); a YAML
 *                                 without backbone and head is not a model and gets no errors from it
 *  - yolo-lens.schema.json        the workspace file `.yolo-lens.json` (settings and user-declared modules)
 * `npm run gen:schema` writes them; test/core/schema.test.ts fails when a checked-in file is stale. Draft-07, the
 * draft yaml-language-server and VS Code validate best.
 */
import { writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { FRAMEWORKS, frameworkNames } from '../server/src/core/framework/index.ts';
import { CODES } from '../server/src/core/diagnostics.ts';
import { MAX_IMGSZ, MIN_IMGSZ, SEVERITY_LEVELS } from '../server/src/core/settings.ts';
import type { Dialect, Framework, ModuleEntry } from '../server/src/core/framework/types.ts';
import { yamlParams } from '../server/src/core/features/yamlParams.ts';
import { signatureText, type ParamKind, type ParamSpec } from '../server/src/core/catalog/types.ts';
import { pyRepr } from '../server/src/core/py.ts';
import { CATEGORIES } from '../common/src/category.ts';
import { NODE_OPS, PARAM_KINDS, USER_CONFIG_FILE, USER_TREATMENTS } from '../server/src/core/declaredModules.ts';
import { EXPR_FUNCTIONS } from '../server/src/core/pyeval.ts';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Schema = { [k: string]: Json };

const DRAFT = 'http://json-schema.org/draft-07/schema#';

/** The constructor parameters a YAML args list writes, in order; `free` when parse_model ignores the args. */
function writable(entry: ModuleEntry): { params: readonly ParamSpec[]; free: boolean } {
  if (entry.treatment.argIndex(0) === null) return { params: [], free: true };
  return { params: yamlParams(entry).map((p) => p.param), free: false };
}

const KIND_TYPES: Readonly<Record<ParamKind, string[]>> = {
  channels: ['integer', 'string'],
  int: ['integer', 'boolean', 'string'],
  float: ['number', 'string'],
  bool: ['boolean', 'integer', 'string'],
  kernel: ['integer', 'array', 'string', 'null'],
  act: ['boolean', 'string', 'null'],
  str: ['string', 'null'],
  list: ['array', 'integer', 'string', 'null'],
  any: [],
};

function paramSchema(p: ParamSpec): Schema {
  const dflt = p.default === undefined ? '' : ` (default ${p.defaultText ?? pyRepr(p.default)})`;
  // strings are always allowed: parse_model evaluates them (`nc`, `anchors`, 'nn.ReLU()')
  const types = KIND_TYPES[p.kind];
  return { title: p.name, description: `${p.name}: ${p.doc}${dflt}`, ...(types.length ? { type: types } : {}) };
}

interface Known {
  entry: ModuleEntry;
  frameworks: string[];
}

/** Every module name a dialect's YAML can use, with its definition (the first framework's when several have one). */
function namespace(dialect: Dialect): Map<string, Known> {
  const out = new Map<string, Known>();
  const frameworks = Object.values(FRAMEWORKS).filter((t): t is Framework => !!t && t.dialect === dialect);
  for (const t of frameworks) {
    for (const [name, e] of t.modules) add(out, name, e, t);
    for (const [name, e] of t.nn) add(out, `nn.${name}`, e, t);
  }
  return new Map([...out.entries()].sort(([a], [b]) => a.localeCompare(b)));
}

function add(out: Map<string, Known>, name: string, entry: ModuleEntry, t: Framework): void {
  const k = out.get(name);
  if (!k) out.set(name, { entry, frameworks: [t.id] });
  else {
    k.frameworks.push(t.id);
    // the widest signature wins: a schema must not reject what one of the frameworks accepts
    if (writable(entry).params.length > writable(k.entry).params.length) k.entry = entry;
  }
}

function argsSchema(k: Known): Schema {
  const { params, free } = writable(k.entry);
  if (free) return { type: 'array', description: 'parse_model replaces these args with the input channels' };
  const required = params.reduce((n, p, i) => (p.default === undefined ? i + 1 : n), 0);
  const s: Schema = {
    type: 'array',
    description:
      `${k.entry.def.name}${signatureText(k.entry.def)}: the YAML writes ` +
      `${params.length ? params.map((p) => p.name).join(', ') : 'no args'}`,
  };
  if (params.length) s.items = params.map(paramSchema);
  if (!k.entry.def.varargs) {
    if (params.length) s.additionalItems = false;
    s.maxItems = params.length;
  }
  if (required) s.minItems = required;
  return s;
}

function dialectSchema(dialect: Dialect): Schema {
  const ns = namespace(dialect);
  const names = [...ns.keys()];
  const docs = names.map((n) => {
    const k = ns.get(n)!;
    return `${k.entry.def.name}${signatureText(k.entry.def)}: ${k.entry.def.doc}`;
  });
  const definitions: Schema = {
    from: {
      description:
        'from: the input layer (-1 = the previous layer, a negative number counts back, 0.. is an absolute index), or a list of them',
      anyOf: [{ type: 'integer' }, { type: 'array', items: { type: 'integer' }, minItems: 1 }],
    },
    repeats: { description: 'number: repeats, scaled by the depth multiple when greater than 1', type: 'integer', minimum: 1 },
    module: {
      description: 'module: a class the framework\u2019s parse_model resolves',
      type: 'string',
      enum: names,
      enumDescriptions: docs,
      markdownEnumDescriptions: docs.map((d) => d.replace(/^([^(]+)(\(.*?\)):/, '`$1$2`:')),
    },
  };
  const clauses: Json[] = [];
  for (const [name, k] of ns) {
    const key = `args:${name}`;
    definitions[key] = argsSchema(k);
    clauses.push({ if: { items: [true, true, { const: name }] }, then: { items: [true, true, true, { $ref: `#/definitions/${key}` }] } });
  }
  definitions.layer = {
    description: 'a layer: [from, number, module, args]',
    type: 'array',
    minItems: 4,
    maxItems: 4,
    items: [
      { $ref: '#/definitions/from' },
      { $ref: '#/definitions/repeats' },
      { $ref: '#/definitions/module' },
      { description: 'args: the constructor arguments as the YAML writes them', type: 'array' },
    ],
    allOf: clauses,
  };
  definitions.layers = { type: 'array', items: { $ref: '#/definitions/layer' }, minItems: 1 };
  const common: Schema = {
    nc: { description: 'nc: number of classes', type: 'integer', minimum: 1 },
    depth_multiple: {
      description: 'depth_multiple: scales every repeat count greater than 1 (round(n * depth), at least 1)',
      type: 'number',
      exclusiveMinimum: 0,
    },
    width_multiple: {
      description: 'width_multiple: scales every output channel count (make_divisible(c * width, 8))',
      type: 'number',
      exclusiveMinimum: 0,
    },
    activation: { description: "activation: the default activation of Conv, e.g. 'nn.ReLU()'", type: 'string' },
    ch: { description: 'ch: input channels (default 3)', type: 'integer', minimum: 1 },
    backbone: { description: 'backbone: the first layers, indexed from 0', $ref: '#/definitions/layers' },
    head: { description: 'head: the layers after the backbone, indexed on from the backbone\u2019s last', $ref: '#/definitions/layers' },
  };
  if (dialect === 'yolov5')
    return {
      $schema: DRAFT,
      title: 'YOLOv5 model YAML (ultralytics/yolov5, the Slim-neck YOLOv5 and Scaled-YOLOv4 forks)',
      description:
        `Generated from the YOLO Lens module catalog ` + `(${[...new Set([...ns.values()].flatMap((k) => k.frameworks))].join(', ')}).`,
      type: 'object',
      properties: {
        ...common,
        anchors: {
          description: 'anchors: one row of w,h pairs per detection level, or the number of anchors per level (AutoAnchor computes them)',
          anyOf: [
            { type: 'integer', minimum: 1 },
            { type: 'array', minItems: 1, items: { type: 'array', minItems: 2, items: { type: 'number' } } },
          ],
        },
        channel_multiple: {
          description: 'channel_multiple: the divisor of make_divisible for channel counts (default 8)',
          type: 'integer',
          minimum: 1,
        },
      },
      required: ['nc', 'depth_multiple', 'width_multiple', 'anchors', 'backbone', 'head'],
      definitions,
    };
  return {
    $schema: DRAFT,
    title: 'ultralytics model YAML (YOLOv8/11, RT-DETR, the Slim-neck modules)',
    description: `Generated from the YOLO Lens module catalog (${[...new Set([...ns.values()].flatMap((k) => k.frameworks))].join(', ')}).`,
    type: 'object',
    properties: {
      ...common,
      scales: {
        description: 'scales: model compound scaling constants per scale letter: [depth, width, max_channels]',
        type: 'object',
        additionalProperties: {
          type: 'array',
          minItems: 3,
          maxItems: 3,
          items: [
            { type: 'number', minimum: 0 },
            { type: 'number', minimum: 0 },
            { type: 'number', minimum: 0 },
          ],
        },
      },
      kpt_shape: {
        description: 'kpt_shape: keypoints per object and values per keypoint, e.g. [17, 3]',
        type: 'array',
        items: { type: 'integer' },
        minItems: 2,
        maxItems: 2,
      },
    },
    required: ['backbone', 'head'],
    definitions,
  };
}

/** Move a schema's definitions under a prefix (for the combined file). */
function prefixed(s: Schema, prefix: string): { root: Schema; definitions: Schema } {
  const rewrite = (v: Json): Json => {
    if (Array.isArray(v)) return v.map(rewrite);
    if (v && typeof v === 'object') {
      const out: { [k: string]: Json } = {};
      for (const [k, x] of Object.entries(v))
        out[k] = k === '$ref' && typeof x === 'string' ? x.replace('#/definitions/', `#/definitions/${prefix}`) : rewrite(x);
      return out;
    }
    return v;
  };
  const { definitions, $schema, ...root } = s;
  void $schema;
  const defs: Schema = {};
  for (const [k, v] of Object.entries(definitions as Schema)) defs[`${prefix}${k}`] = rewrite(v);
  return { root: rewrite(root) as Schema, definitions: defs };
}

function combinedSchema(v5: Schema, ul: Schema): Schema {
  const a = prefixed(v5, 'yolov5:');
  const b = prefixed(ul, 'ultralytics:');
  const props: Schema = { ...(ul.properties as Schema), ...(v5.properties as Schema) };
  // descriptions only at the top (hover, completion); the dialect's schema validates
  const described: Schema = {};
  for (const [k, v] of Object.entries(props)) described[k] = { description: (v as Schema).description! };
  return {
    $schema: DRAFT,
    title: 'YOLO model YAML (YOLOv5 or ultralytics dialect)',
    description:
      'An `anchors:` key makes it a YOLOv5-dialect file, as YOLO Lens and the frameworks read it; a YAML without backbone and head is ' +
      'not a model and is not checked.',
    properties: described,
    if: { type: 'object', anyOf: [{ required: ['backbone'] }, { required: ['head'] }] },
    then: { if: { required: ['anchors'] }, then: { $ref: '#/definitions/yolov5' }, else: { $ref: '#/definitions/ultralytics' } },
    definitions: { yolov5: a.root, ultralytics: b.root, ...a.definitions, ...b.definitions },
  };
}

/** `.yolo-lens.json`: the same vocabulary the loader checks (server/src/core/declaredModules.ts). */
function userConfigSchema(): Schema {
  const expr = {
    description:
      'an expression over the params and "let" names (Python arithmetic, comparisons, and/or/not, x ? a : b, ' +
      EXPR_FUNCTIONS.join(', ') +
      '), or a number',
    type: ['string', 'number', 'boolean', 'null'],
  };
  const value: Schema = {
    description: 'a number, true/false/null, a list, or an expression string (a string literal is quoted inside: "\'nearest\'")',
    anyOf: [{ type: ['string', 'number', 'boolean', 'null'] }, { type: 'array', items: { $ref: '#/definitions/value' } }],
  };
  const ref = {
    description: 'x (the module\u2019s input), the id of an earlier node, or id.0 for an item of a list',
    type: 'string',
    pattern: '^[A-Za-z_][A-Za-z0-9_]*(\\.[0-9]+)?$',
  };
  const opNodes: Json[] = Object.entries(NODE_OPS).map(([op, doc]) => {
    const multi = op === 'cat' || op === 'add' || op === 'mul';
    const opValue: Json =
      op === 'call'
        ? { description: doc, type: 'string' }
        : op === 'conv'
          ? { description: doc, type: 'array', items: { $ref: '#/definitions/value' } }
          : op === 'apply'
            ? { description: doc, type: 'string' }
            : multi
              ? { description: doc, type: 'array', items: { $ref: '#/definitions/ref' }, minItems: op === 'cat' ? 1 : 2 }
              : { description: doc, $ref: '#/definitions/ref' };
    return { required: [op], properties: { [op]: opValue } };
  });
  return {
    $schema: DRAFT,
    title: `${USER_CONFIG_FILE}: settings and modules declared for YOLO Lens`,
    description:
      'Settings the editor and `yolo-lens check` resolve the files below this folder with, and modules the catalog lacks, ' +
      'declared by their signature, parse_model treatment and a body of catalog modules and tensor ops. ' +
      'Nothing here is executed: expressions are interpreted.',
    type: 'object',
    properties: {
      $schema: { type: 'string' },
      settings: {
        description:
          'What the files below this folder are checked with, in the editor and by `yolo-lens check` alike. A file\u2019s own ' +
          '`# yolo-lens:` comment wins over these; the editor\u2019s settings win where they differ from their defaults, and ' +
          'check\u2019s flags always.',
        type: 'object',
        properties: {
          framework: {
            description: 'The code base and version that builds the files (auto: from the workspace\u2019s code or the file).',
            enum: ['auto', ...frameworkNames()],
          },
          scale: { description: 'The `scales:` row ultralytics files are built at (n, s, m, l, x...).', type: 'string', minLength: 1 },
          imgsz: {
            description: 'Image size for shapes, per-layer FLOPs and the image-size checks.',
            type: 'integer',
            minimum: MIN_IMGSZ,
            maximum: MAX_IMGSZ,
          },
          severity: {
            description: 'Severity overrides per diagnostic code (the README lists them).',
            type: 'object',
            propertyNames: { enum: Object.keys(CODES) },
            additionalProperties: { enum: [...SEVERITY_LEVELS] },
          },
        },
        additionalProperties: false,
      },
      modules: {
        description: 'module name (as the YAML writes it) → declaration',
        type: 'object',
        propertyNames: { pattern: '^[A-Za-z_][A-Za-z0-9_]*$' },
        additionalProperties: { $ref: '#/definitions/module' },
      },
    },
    additionalProperties: false,
    definitions: {
      value,
      ref,
      expr,
      module: {
        type: 'object',
        required: ['treatment', 'body'],
        additionalProperties: false,
        properties: {
          doc: { description: 'one line: what the module is (shown on hover and in completion)', type: 'string' },
          category: { description: 'the colour family in the graph', enum: [...CATEGORIES] },
          treatment: {
            description: 'which parse_model branch the module joins',
            enum: Object.keys(USER_TREATMENTS),
            enumDescriptions: Object.values(USER_TREATMENTS),
          },
          dialects: {
            description: 'the dialects that know the module (default both)',
            type: 'array',
            items: { enum: ['yolov5', 'ultralytics'] },
            minItems: 1,
            uniqueItems: true,
          },
          params: {
            description: 'the constructor signature, in order (c1 and c2 first for channels/repeats, n third for repeats)',
            type: 'array',
            items: {
              type: 'object',
              required: ['name'],
              additionalProperties: false,
              properties: {
                name: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]*$' },
                kind: { description: 'what the parameter takes (for completion, hover and checks)', enum: [...PARAM_KINDS] },
                doc: { type: 'string' },
                default: { description: 'absent: the parameter is required', $ref: '#/definitions/value' },
              },
            },
          },
          let: {
            description: 'name → expression, evaluated in order after the params',
            type: 'object',
            additionalProperties: { $ref: '#/definitions/expr' },
          },
          body: {
            description: 'the forward, node by node: each node has an id and one operation',
            type: 'array',
            minItems: 1,
            items: {
              type: 'object',
              properties: {
                id: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]*$' },
                if: { description: 'when false the node is skipped and its id names its (last) input', $ref: '#/definitions/expr' },
                in: {
                  description: 'the input (default: the node before, or x)',
                  anyOf: [{ $ref: '#/definitions/ref' }, { type: 'array', items: { $ref: '#/definitions/ref' } }],
                },
                args: { type: 'array', items: { $ref: '#/definitions/value' } },
                kwargs: { type: 'object', additionalProperties: { $ref: '#/definitions/value' } },
                repeat: { description: 'build an nn.Sequential of this many copies', $ref: '#/definitions/expr' },
              },
              oneOf: opNodes,
            },
          },
          output: { description: 'the node whose value the module returns (default: the last)', $ref: '#/definitions/ref' },
        },
      },
    },
  };
}

export function generateSchemas(): Record<string, Schema> {
  const v5 = dialectSchema('yolov5');
  const ul = dialectSchema('ultralytics');
  return {
    'yolo-v5.schema.json': v5,
    'yolo-ultralytics.schema.json': ul,
    'yolo-model.schema.json': combinedSchema(v5, ul),
    'yolo-lens.schema.json': userConfigSchema(),
  };
}

/** The exact text written for a schema (the stale check compares it byte for byte). */
export const schemaText = (s: Schema): string => `${JSON.stringify(s, null, 2)}\n`;

export const SCHEMA_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'schemas');

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  mkdirSync(SCHEMA_DIR, { recursive: true });
  for (const [name, s] of Object.entries(generateSchemas())) {
    const text = schemaText(s);
    writeFileSync(join(SCHEMA_DIR, name), text);
    console.log(`schemas/${name} (${(text.length / 1024).toFixed(0)} KB)`);
  }
}
