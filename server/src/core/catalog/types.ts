/**
 * What a module definition is: a constructor signature (names, defaults, one line of doc each), a category for
 * the graph's colours, and a builder composing the module from the primitives of `nn/builder.ts`.
 * How parse_model treats a module (c1 prepended, width-scaled c2, repeats inserted...) depends on the upstream
 * code base as much as on the module, so it lives in that framework's profile (`framework/profiles/`, with the
 * treatments in `framework/treatments.ts`).
 */
import type { Category } from '../../../../common/src/category.ts';
import type { Builder } from '../nn/builder.ts';
import { asInt, asPair } from '../nn/builder.ts';
import { buildError, type Mod } from '../nn/module.ts';
import { PyFloat, type PyVal, isNumeric, num, pyRepr, truthy, isSeq, seqItems } from '../py.ts';

/** What kind of value a parameter takes: used for type diagnostics, completion snippets and the schema. */
export type ParamKind = 'channels' | 'int' | 'float' | 'bool' | 'kernel' | 'act' | 'str' | 'list' | 'any';

export interface ParamSpec {
  readonly name: string;
  readonly kind: ParamKind;
  readonly doc: string;
  /** absent = required */
  readonly default?: PyVal;
  /** how the default reads in a signature when it is not a plain value (e.g. `nn.ReLU()`). */
  readonly defaultText?: string;
}

export interface ModuleDef {
  /** the class name as a YAML names it (without `nn.`). */
  readonly name: string;
  readonly category: Category;
  /** one line: what the module is. */
  readonly doc: string;
  readonly signature: readonly ParamSpec[];
  /** `*args, **kwargs` after the named parameters (nn.Identity). */
  readonly varargs?: boolean;
  /** where the upstream class is defined, e.g. `models/common.py:Conv`. */
  readonly source: string;
  readonly build: (b: Builder, a: Args) => Mod;
  /** module returns several tensors (heads). */
  readonly multiOutput?: boolean;
  /**
   * WorldModel plumbing (ultralytics tasks.py WorldModel.predict): C2fAttn takes the current text features
   * (`consumer`), WorldDetect the original ones (`consumer-original`), ImagePoolingAttn returns new text
   * features while the layer's x stays its input (`producer`).
   */
  readonly guide?: 'consumer' | 'consumer-original' | 'producer';
  /**
   * ultralytics 8.4's YOLOE heads: YOLOEModel.predict appends the class prompt embeddings to their inputs
   * (tasks.py:1187-1196), whoever runs the head passes them as `ctx.guide`; without prompts get_cls_pe gives
   * zeros of [1, classes, width] (tasks.py:1157), expanded to the batch. Any other model class passes none.
   */
  readonly prompts?: { readonly classes: number; readonly width: number };
  /** a Detect-family head: a model ending in one runs the 256x256 stride probe when it is built. */
  readonly detectFamily?: boolean;
}

export const param = (name: string, kind: ParamKind, doc: string, dflt?: PyVal, defaultText?: string): ParamSpec => {
  const p: { name: string; kind: ParamKind; doc: string; default?: PyVal; defaultText?: string } = { name, kind, doc };
  if (dflt !== undefined) p.default = dflt;
  if (defaultText !== undefined) p.defaultText = defaultText;
  return p;
};

/** The bound arguments of one constructor call, with typed accessors that fail the way torch would. */
export class Args {
  /** the parameters the constructor read: one it never reads is one its YAML value cannot change (a repeat count) */
  readonly read = new Set<string>();
  constructor(
    readonly def: ModuleDef,
    private readonly bound: ReadonlyMap<string, PyVal>,
    readonly extra: readonly PyVal[] = [],
    /** class attributes parse_model set before the call (ultralytics 8.4 sets `Detect.legacy`) */
    readonly classAttrs: ReadonlyMap<string, PyVal> = NO_ATTRS,
  ) {}

  /** every bound value (a builder that takes them all counts as reading them all) */
  get values(): ReadonlyMap<string, PyVal> {
    for (const k of this.bound.keys()) this.read.add(k);
    return this.bound;
  }

  /** a class attribute parse_model set, or the class's own default */
  classAttr(name: string, dflt: PyVal): PyVal {
    return this.classAttrs.has(name) ? this.classAttrs.get(name)! : dflt;
  }

  raw(name: string): PyVal {
    if (!this.bound.has(name)) throw new Error(`internal: ${this.def.name} has no parameter ${name}`);
    this.read.add(name);
    return this.bound.get(name)!;
  }

  int(name: string): number {
    return asInt(this.raw(name), `${this.def.name}.${name}`, name);
  }

  /** a channel count: an int, never negative. */
  channels(name: string): number {
    const v = this.int(name);
    if (v < 0) throw buildError(`Trying to create tensor with negative dimension ${v}: ${this.def.name}.${name}`, name);
    return v;
  }

  float(name: string): number {
    const v = this.raw(name);
    if (!isNumeric(v)) throw buildError(`${this.def.name}.${name} must be a number, got ${pyRepr(v)}`, name);
    return num(v);
  }

  bool(name: string): boolean {
    return truthy(this.raw(name));
  }

  pair(name: string): [number, number] {
    return asPair(this.raw(name), `${this.def.name}.${name}`, name);
  }

  /**
   * A conv's stride, padding, dilation or groups as torch's `F.conv2d` takes them: nn.Conv2d keeps a Python bool
   * (`_pair(True)` is `(True, True)`), and the first forward refuses it (TypeError), unlike a bool kernel size.
   */
  convPair(name: string): [number, number] {
    const v = this.raw(name);
    if (typeof v === 'boolean' || (isSeq(v) && seqItems(v).some((x) => typeof x === 'boolean'))) throw convBool(this.def.name, name, v);
    return this.pair(name);
  }

  convInt(name: string): number {
    const v = this.raw(name);
    if (typeof v === 'boolean') throw convBool(this.def.name, name, v);
    return this.int(name);
  }

  /** an int or a tuple of ints (e.g. SPP's kernel list) as a list of ints. */
  intList(name: string): number[] {
    const v = this.raw(name);
    if (!isSeq(v))
      throw buildError(
        `object of type '${typeof v === 'number' ? 'int' : 'value'}' has no len() (${this.def.name}.${name} must be a tuple)`,
        name,
      );
    return seqItems(v).map((x) => asInt(x, `${this.def.name}.${name}`, name));
  }

  str(name: string): string {
    const v = this.raw(name);
    if (typeof v !== 'string') throw buildError(`${this.def.name}.${name} must be a string, got ${pyRepr(v)}`, name);
    return v;
  }
}

const NO_ATTRS: ReadonlyMap<string, PyVal> = new Map();

const convBool = (module: string, name: string, v: PyVal): Error =>
  buildError(
    `${module}.${name} = ${pyRepr(v)}: torch's conv2d takes ints here, not a bool (TypeError: conv2d() received an invalid ` +
      'combination of arguments, at the first forward)',
    name,
  );

/** Python's positional/keyword binding of a constructor call, with Python's error messages. */
export function bindArgs(
  def: ModuleDef,
  positional: readonly PyVal[],
  keywords: Readonly<Record<string, PyVal>> = {},
  classAttrs: ReadonlyMap<string, PyVal> = NO_ATTRS,
): Args {
  const sig = def.signature;
  const values = new Map<string, PyVal>();
  const required = sig.filter((p) => p.default === undefined).length;
  if (positional.length > sig.length && !def.varargs) {
    const range = required === sig.length ? `${sig.length + 1}` : `from ${required + 1} to ${sig.length + 1}`;
    throw buildError(`${def.name}.__init__() takes ${range} positional arguments but ${positional.length + 1} were given`);
  }
  sig.forEach((p, i) => {
    if (i < positional.length) values.set(p.name, positional[i]!);
  });
  for (const [k, v] of Object.entries(keywords)) {
    if (!sig.some((p) => p.name === k)) {
      if (def.varargs) continue;
      throw buildError(`${def.name}.__init__() got an unexpected keyword argument '${k}'`);
    }
    if (values.has(k)) throw buildError(`${def.name}.__init__() got multiple values for argument '${k}'`);
    values.set(k, v);
  }
  const missing = sig.filter((p) => !values.has(p.name) && p.default === undefined).map((p) => p.name);
  if (missing.length)
    throw buildError(
      `${def.name}.__init__() missing ${missing.length} required positional argument${missing.length > 1 ? 's' : ''}: ` +
        `${missing.map((m) => `'${m}'`).join(' and ')}`,
    );
  for (const p of sig) if (!values.has(p.name)) values.set(p.name, p.default!);
  return new Args(def, values, def.varargs ? positional.slice(sig.length) : [], classAttrs);
}

/** Build one module from a definition, as `Def(*positional, **keywords)` would. */
export function construct(b: Builder, def: ModuleDef, positional: readonly PyVal[], keywords?: Readonly<Record<string, PyVal>>): Mod {
  return def.build(b, bindArgs(def, positional, keywords));
}

/** A Python float literal for internal calls (e.g. `e=1.0`). */
export const f = (x: number): PyFloat => new PyFloat(x);

/** Signature as Python would print it: `(c1, c2, k=1, s=1, p=None, g=1, d=1, act=True)`. */
export function signatureText(def: ModuleDef): string {
  const parts = def.signature.map((p) => (p.default === undefined ? p.name : `${p.name}=${p.defaultText ?? pyRepr(p.default)}`));
  if (def.varargs) parts.push('*args', '**kwargs');
  return `(${parts.join(', ')})`;
}
