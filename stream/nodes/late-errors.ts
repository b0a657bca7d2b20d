import { StreamError } from '../errors.ts';

/**
 * Errors a node's pump met after the emit that fed the item had returned.
 * The next emit that reaches the node takes the first of them (so a loop of
 * `await emit(x)` learns about it at most a buffer's length later); end()
 * takes the rest. None is dropped.
 */
export class LateErrors {
  readonly #operator: string;
  #errors: StreamError[] = [];

  constructor(operator: string) {
    this.#operator = operator;
  }

  add(error: unknown, item: unknown): void {
    this.#errors.push(new StreamError(this.#operator, item, error));
  }

  /** Throw the oldest error not yet delivered, if any. */
  throwFirst(): void {
    const first = this.#errors.shift();
    if (first) throw first;
  }

  takeAll(): StreamError[] {
    return this.#errors.splice(0);
  }
}
