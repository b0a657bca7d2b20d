import type { Meta, Metadata } from './metadata.ts';
import type { Maybe } from './node.ts';

/** What an error policy hands on: the error, the item that caused it, and the operator it happened in. */
export interface StreamFailure {
  error: unknown;
  /** The item the operator was given (for cluster operators, the key(s) of its future). */
  item: unknown;
  /** The operator, as `map`, `gather`, `sink`... */
  operator: string;
}

/** Something that takes failures: the façade of an error branch (a Stream of StreamFailure). */
export interface FailureTarget {
  emit(failure: StreamFailure, options?: { metadata?: readonly Metadata[] }): Promise<void>;
}

/**
 * What a node does when its function throws (or its task fails):
 * - `'propagate'` (default): the error rejects the emit that fed the item; past a
 *   buffer or window, which had already taken the item, the next emit that
 *   reaches that node (and end()) rejects with a StreamError whose cause it is.
 * - `'skip'`: drop the item and go on; `report` (if given) is told, and the
 *   node's `skipped` count goes up.
 * - a Stream of StreamFailure: drop the item here and emit the failure into
 *   that stream instead (an error branch); its emit's backpressure applies.
 *   The failure carries the item's metadata: the item is done once the error
 *   branch is done with the failure.
 */
export type ErrorPolicy = 'propagate' | 'skip' | FailureTarget;

export interface ErrorOptions {
  /** What to do when this operator fails on an item. Default 'propagate'. */
  onError?: ErrorPolicy;
  /** With onError 'skip': called with each failure skipped (a logger, a metric). */
  report?: (failure: StreamFailure) => void;
}

/** Applies one node's error policy. */
export class FailureHandler {
  readonly #policy: ErrorPolicy;
  readonly #report: ((failure: StreamFailure) => void) | undefined;
  readonly #operator: string;
  /** How many failures this node skipped (onError 'skip'). */
  skipped = 0;

  constructor(operator: string, options: ErrorOptions = {}) {
    this.#operator = operator;
    this.#policy = options.onError ?? 'propagate';
    this.#report = options.report;
  }

  /** Handle a failure on `item`: rethrows (propagate), swallows (skip), or sends it (with the item's metadata) to the error branch. */
  fail(error: unknown, item: unknown, meta?: Meta): Maybe {
    const policy = this.#policy;
    if (policy === 'propagate') throw error;
    const failure: StreamFailure = { error, item, operator: this.#operator };
    if (policy === 'skip') {
      this.skipped++;
      this.#report?.(failure);
      return;
    }
    return meta === undefined ? policy.emit(failure) : policy.emit(failure, { metadata: meta });
  }
}
