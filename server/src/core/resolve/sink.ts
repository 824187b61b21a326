/** Where a resolve's diagnostics go, remembering the first failure stage as the upstream code stops at its first. */
import type { Diagnostic } from '../diagnostics.ts';
import type { Model } from '../model.ts';

export type Stage = 'parse' | 'build' | 'forward';

export class Sink {
  readonly list: Diagnostic[] = [];
  failure: Model['failure'] = null;
  add(d: Diagnostic, stage?: Stage): void {
    this.list.push(d);
    if (stage && d.severity === 'error' && !this.failure) this.failure = { stage, message: d.message };
  }
  get hasError(): boolean {
    return this.list.some((d) => d.severity === 'error');
  }
}
