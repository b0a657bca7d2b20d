import { type Clock, systemClock } from './clock.ts';
import { abortError } from './errors.ts';

/** What a node does when its pipeline is cancelled. */
export interface Abortable {
  abort(reason: unknown): void;
}

/**
 * What every node of one connected pipeline shares: its clock and its
 * cancellation. Joining two pipelines (union, zip, connect) merges their
 * contexts; two different clocks cannot be merged.
 */
export class GraphContext {
  clock: Clock;
  /** Whether the clock was chosen by the caller (a default clock gives way to a chosen one on merge). */
  clockGiven: boolean;
  readonly #controller = new AbortController();
  readonly #nodes = new Set<Abortable>();

  constructor(options: { clock?: Clock; signal?: AbortSignal } = {}) {
    this.clock = options.clock ?? systemClock;
    this.clockGiven = options.clock !== undefined;
    if (options.signal) this.follow(options.signal);
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  get cancelled(): boolean {
    return this.#controller.signal.aborted;
  }

  get reason(): unknown {
    return this.#controller.signal.reason;
  }

  add(node: Abortable): void {
    // A node made in a cancelled pipeline needs no abort call: it refuses items by itself.
    this.#nodes.add(node);
  }

  /** Cancel the pipeline when `signal` aborts. */
  follow(signal: AbortSignal): void {
    if (signal.aborted) this.cancel(signal.reason);
    else signal.addEventListener('abort', () => this.cancel(signal.reason), { once: true });
  }

  /** Cancel every node: pending emits and end() reject with `reason`, queued items are let go. */
  cancel(reason: unknown = abortError()): void {
    if (this.cancelled) return;
    this.#controller.abort(reason);
    for (const node of this.#nodes) node.abort(reason);
  }

  /**
   * Merge `other` into this context; every node of `other` now belongs here.
   * Returns the nodes moved, so their owners can repoint them.
   */
  absorb(other: GraphContext): Abortable[] {
    if (other === this) return [];
    if (this.clockGiven && other.clockGiven && this.clock !== other.clock) {
      throw new Error('cannot join two streams that run on different clocks');
    }
    if (!this.clockGiven && other.clockGiven) {
      this.clock = other.clock;
      this.clockGiven = true;
    }
    if (other.cancelled) this.cancel(other.reason);
    else other.signal.addEventListener('abort', () => this.cancel(other.reason), { once: true });
    const moved = [...other.#nodes];
    for (const node of moved) {
      this.#nodes.add(node);
      if (this.cancelled) node.abort(this.reason);
    }
    other.#nodes.clear();
    return moved;
  }
}
