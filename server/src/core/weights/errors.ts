/**
 * The one error type of the checkpoint reader: a stable code for programs, a one-line message for people.
 * Everything the reader refuses (a hostile or broken file, a limit reached) ends here; anything else escaping the
 * reader is a bug, and the entry points turn it into code `internal` rather than a stack trace.
 */

export type WeightsErrorCode =
  /** not a PyTorch file at all (wrong magic, an empty file) */
  | 'not-a-checkpoint'
  /** the file ends before a structure it declares */
  | 'truncated'
  /** the zip container is inconsistent (offsets, sizes, names, a missing record) */
  | 'zip'
  /** the pickle stream is malformed (stack underflow, an unknown memo key, a wrong operand) */
  | 'pickle'
  /** the pickle names something that runs code on torch.load (os.system, builtins.eval, subprocess, ...) */
  | 'unsafe'
  /** a valid construct this reader does not read (an opcode, a compression method, a storage type) */
  | 'unsupported'
  /** a size or depth past the reader's limits (a zip bomb, deep nesting, a huge declared size) */
  | 'limit'
  /** a tensor whose header does not fit its storage (shape, stride, offset) */
  | 'tensor'
  /** the checkpoint holds no module tree or state_dict to derive keys from */
  | 'no-state-dict'
  /** a bug of the reader: any other exception, caught at the entry points */
  | 'internal';

export class WeightsError extends Error {
  override readonly name = 'WeightsError';
  constructor(
    readonly code: WeightsErrorCode,
    message: string,
  ) {
    // one short line whatever the file put in it: names from a hostile file can hold newlines and control bytes
    const line = message.replace(/[\u0000-\u001f\u007f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
    super(line.length > 300 ? `${line.slice(0, 299)}…` : line);
  }
}

export type Result<T> = { ok: true; value: T } | { ok: false; error: WeightsError };

/** Runs a reader step and returns its value or its error; an exception that is not a WeightsError is a bug. */
export function attempt<T>(step: () => T): Result<T> {
  try {
    return { ok: true, value: step() };
  } catch (e) {
    if (e instanceof WeightsError) return { ok: false, error: e };
    // RangeError from a huge allocation or a stack overflow would be a reader bug: say so in one line
    const what = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    return { ok: false, error: new WeightsError('internal', `checkpoint reader failed unexpectedly (${what.slice(0, 200)})`) };
  }
}

/** A name from the file, as an error message shows it: quoted, control characters escaped, at most `max` characters. */
export function quote(text: string, max = 60): string {
  return JSON.stringify(text.length > max ? `${text.slice(0, max)}…` : text);
}
