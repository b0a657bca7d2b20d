// One-in, one-or-none-out operators that run a user function: map, filter,
// scan, sink; and the plain ones: pass-through, pluck, unique, flatten.
import { abortable, isPromiseLike, SerialGate } from '../gate.ts';
import { disposeItem } from '../item.ts';
import type { Meta } from '../metadata.ts';
import { Node, type Maybe } from '../node.ts';
import { type ErrorOptions, FailureHandler } from '../policy.ts';

/**
 * A node that runs a user function on each item, one item at a time and in
 * arrival order (a later item waits until the earlier one is taken
 * downstream), and applies its error policy to what the function throws.
 */
abstract class FunctionNode extends Node {
  readonly #gate = new SerialGate();
  readonly failures: FailureHandler;

  constructor(operator: string, upstream: Node, options: ErrorOptions = {}) {
    super(operator, [upstream]);
    this.failures = new FailureHandler(operator, options);
  }

  protected accept(x: unknown, _from: Node | undefined, meta: Meta): Maybe {
    return this.#gate.run(() => this.apply(x, meta), x);
  }

  protected abstract apply(x: unknown, meta: Meta): Maybe;

  /** Run fn(x); then(result) for its (awaited) result, or the error policy for its failure. */
  protected call<R>(fn: () => R, x: unknown, meta: Meta, then: (result: Awaited<R>) => Maybe): Maybe {
    let result: R;
    try {
      result = fn();
    } catch (error) {
      return this.failed(error, x, meta);
    }
    if (!isPromiseLike(result)) return then(result as Awaited<R>);
    return abortable(result, this.context.signal).then(
      (value) => then(value as Awaited<R>),
      (error: unknown) => this.failed(error, x, meta),
    );
  }

  protected failed(error: unknown, x: unknown, meta: Meta): Maybe {
    if (this.context.cancelled) throw this.context.reason;
    return this.failures.fail(error, x, meta);
  }

  protected override onAbort(reason: unknown): void {
    this.#gate.rejectAll(reason);
  }
}

/** Emits fn(x); an async fn is awaited. (starmap is a MapNode whose fn spreads x.) */
export class MapNode extends FunctionNode {
  readonly #fn: (x: unknown) => unknown;

  constructor(upstream: Node, fn: (x: unknown) => unknown, options?: ErrorOptions, operator = 'map') {
    super(operator, upstream, options);
    this.#fn = fn;
  }

  protected apply(x: unknown, meta: Meta): Maybe {
    return this.call(() => this.#fn(x), x, meta, (y) => this.push(y, meta));
  }
}

/** Emits x when predicate(x) holds (the predicate may be async); with `negate` (remove), when it does not. */
export class FilterNode extends FunctionNode {
  readonly #predicate: (x: unknown) => unknown;
  readonly #negate: boolean;

  constructor(upstream: Node, predicate: (x: unknown) => unknown, options?: ErrorOptions, negate = false) {
    super(negate ? 'remove' : 'filter', upstream, options);
    this.#predicate = predicate;
    this.#negate = negate;
  }

  protected apply(x: unknown, meta: Meta): Maybe {
    return this.call(() => this.#predicate(x), x, meta, (keep) => (!keep === this.#negate ? this.push(x, meta) : undefined));
  }
}

export interface ScanOptions<S> extends ErrorOptions {
  /** The first state. Without it, the first item becomes the state and is emitted as it is (streamz). */
  start?: S;
  /** fn returns [nextState, valueToEmit] instead of the state itself. */
  returnsState?: boolean;
  /** Emit [state, value] rather than the value alone (streamz's with_state). */
  withState?: boolean;
}

/** Running reduction (streamz's accumulate): state = fn(state, x), emitting the state (or what fn says, with returnsState). */
export class ScanNode extends FunctionNode {
  readonly #fn: (state: unknown, x: unknown) => unknown;
  readonly #returnsState: boolean;
  readonly #withState: boolean;
  #state: unknown;
  #hasState: boolean;

  constructor(upstream: Node, fn: (state: unknown, x: unknown) => unknown, options: ScanOptions<unknown> = {}, operator = 'scan') {
    super(operator, upstream, options);
    this.#fn = fn;
    this.#returnsState = options.returnsState ?? false;
    this.#withState = options.withState ?? false;
    this.#hasState = 'start' in options;
    this.#state = options.start;
  }

  protected apply(x: unknown, meta: Meta): Maybe {
    if (!this.#hasState) {
      this.#hasState = true;
      this.#state = x;
      return this.push(this.#withState ? [x, x] : x, meta);
    }
    return this.call(
      () => this.#fn(this.#state, x),
      x,
      meta,
      (result) => {
        let out = result;
        if (this.#returnsState) {
          if (!Array.isArray(result) || result.length !== 2) throw new TypeError('scan with returnsState: the function must return [state, value]');
          [this.#state, out] = result as [unknown, unknown];
        } else {
          this.#state = result;
        }
        return this.push(this.#withState ? [this.#state, out] : out, meta);
      },
    );
  }
}

/** Calls fn(x) for each item; an async fn is awaited, so the emit waits for it (backpressure). Emits nothing. */
export class SinkNode extends FunctionNode {
  readonly #fn: (x: unknown) => unknown;

  constructor(upstream: Node, fn: (x: unknown) => unknown, options?: ErrorOptions, operator = 'sink') {
    super(operator, upstream, options);
    this.#fn = fn;
  }

  protected apply(x: unknown, meta: Meta): Maybe {
    return this.call(() => this.#fn(x), x, meta, () => undefined);
  }
}

/** Emits what it receives: a plain Stream you emit into, union, and the point where branches join. */
export class PassNode extends Node {
  constructor(operator: string, upstreams: readonly Node[] = [], context?: Node['context']) {
    super(operator, upstreams, context);
  }

  protected accept(x: unknown, _from: Node | undefined, meta: Meta): Maybe {
    return this.push(x, meta);
  }
}

/** Emits x with its metadata list: { value: x, metadata } (the list, [] if none). */
export class WithMetadataNode extends Node {
  constructor(upstream: Node) {
    super('withMetadata', [upstream]);
  }

  protected accept(x: unknown, _from: Node | undefined, meta: Meta): Maybe {
    return this.push({ value: x, metadata: meta ?? [] }, meta);
  }
}

/** Emits x[key], or a tuple of x[k] for a list of keys. */
export class PluckNode extends Node {
  readonly #pick: PropertyKey | readonly PropertyKey[];

  constructor(upstream: Node, pick: PropertyKey | readonly PropertyKey[]) {
    super('pluck', [upstream]);
    this.#pick = pick;
  }

  protected accept(x: unknown, _from: Node | undefined, meta: Meta): Maybe {
    const pick = this.#pick;
    const record = x as Record<PropertyKey, unknown>;
    return this.push(Array.isArray(pick) ? pick.map((k: PropertyKey) => record[k]) : record[pick as PropertyKey], meta);
  }
}

export interface UniqueOptions<T> {
  /** Remember only the last `history` distinct keys (an LRU); by default, every key ever seen. */
  history?: number;
  /** What makes two items the same; by default the item itself (compared as a Map key). */
  key?: (x: T) => unknown;
}

/** Emits an item only if its key has not been seen (within the history: the `history` keys seen most recently, an LRU). */
export class UniqueNode extends Node {
  readonly #seen = new Map<unknown, true>();
  readonly #history: number;
  readonly #key: (x: unknown) => unknown;

  constructor(upstream: Node, options: UniqueOptions<unknown> = {}) {
    super('unique', [upstream]);
    if (options.history !== undefined && !(Number.isInteger(options.history) && options.history > 0)) {
      throw new RangeError(`unique: history must be a positive integer, got ${options.history}`);
    }
    this.#history = options.history ?? Number.POSITIVE_INFINITY;
    this.#key = options.key ?? ((x) => x);
  }

  protected accept(x: unknown, _from: Node | undefined, meta: Meta): Maybe {
    const key = this.#key(x);
    const seen = this.#seen;
    if (seen.has(key)) {
      // Seen again: it becomes the most recently used (a bounded history only; an unbounded one never evicts).
      if (this.#history !== Number.POSITIVE_INFINITY) {
        seen.delete(key);
        seen.set(key, true);
      }
      return;
    }
    seen.set(key, true);
    // A Map iterates in insertion order: its first key is the least recently used.
    if (seen.size > this.#history) seen.delete(seen.keys().next().value);
    return this.push(x, meta);
  }
}

/**
 * The items at positions start, start + step, ... up to end (excluded),
 * counting from 0 for the first item, as list[start:end:step]. Items past
 * end are dropped.
 */
export class SliceNode extends Node {
  readonly #start: number;
  readonly #end: number;
  readonly #step: number;
  #index = 0;

  constructor(upstream: Node, start = 0, end?: number, step = 1) {
    for (const [name, value] of [['start', start], ['end', end], ['step', step]] as const) {
      if (value !== undefined && !(Number.isInteger(value) && value >= 0)) throw new RangeError(`slice: ${name} must be an integer >= 0 (negative positions are not supported), got ${value}`);
    }
    if (step === 0) throw new RangeError('slice: step must be >= 1');
    super(`slice(${start}, ${end ?? ''}, ${step})`, [upstream]);
    this.#start = start;
    this.#end = end ?? Number.POSITIVE_INFINITY;
    this.#step = step;
  }

  protected accept(x: unknown, _from: Node | undefined, meta: Meta): Maybe {
    const i = this.#index++;
    if (i >= this.#start && i < this.#end && (i - this.#start) % this.#step === 0) return this.push(x, meta);
    disposeItem(x);
  }
}

/** Emits each element of each (iterable) item, one after another. */
export class FlattenNode extends Node {
  readonly #gate = new SerialGate();

  constructor(upstream: Node) {
    super('flatten', [upstream]);
  }

  protected accept(x: unknown, _from: Node | undefined, meta: Meta): Maybe {
    return this.#gate.run(() => this.#each((x as Iterable<unknown>)[Symbol.iterator](), meta));
  }

  /** Every element carries the list's metadata (streamz gives it to the last element only). */
  #each(iterator: Iterator<unknown>, meta: Meta): Maybe {
    for (;;) {
      const step = iterator.next();
      if (step.done) return;
      const pending = this.push(step.value, meta);
      if (pending) return pending.then(() => this.#each(iterator, meta));
    }
  }

  protected override onAbort(reason: unknown): void {
    this.#gate.rejectAll(reason);
  }
}
