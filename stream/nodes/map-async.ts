// mapAsync: an async function applied to several items at once, results in order.
import { SerialGate, Waiters } from '../gate.ts';
import { disposeItem } from '../item.ts';
import { failMeta, type Meta, releaseMeta, retainMeta } from '../metadata.ts';
import { Node, type Maybe } from '../node.ts';
import { type ErrorOptions, FailureHandler } from '../policy.ts';
import { LateErrors } from './late-errors.ts';

export interface MapAsyncOptions extends ErrorOptions {
  /** How many calls may be in flight at once (streamz's parallelism). Default 1. */
  parallelism?: number;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

interface Call {
  readonly x: unknown;
  readonly meta: Meta;
  readonly outcome: Promise<Outcome>;
}

/**
 * Calls fn(x) for up to `parallelism` items at once and emits the results in
 * the order the items came (a result that is ready early waits for the ones
 * before it). An emit returns once its call has started: it waits only while
 * `parallelism` calls are in flight (a call counts until its result has been
 * handed on). Since the emit has returned by then, an error of fn goes to the
 * error policy as a buffer's does: with 'propagate', the next emit that
 * reaches this node (or end()) rejects with a StreamError.
 */
export class MapAsyncNode extends Node {
  readonly #fn: (x: unknown) => unknown;
  readonly #parallelism: number;
  readonly failures: FailureHandler;
  readonly #calls: Call[] = [];
  readonly #intake = new SerialGate();
  readonly #room = new Waiters();
  readonly #late: LateErrors;
  #pumping = false;
  #running: Promise<void> = Promise.resolve();

  constructor(upstream: Node, fn: (x: unknown) => unknown, options: MapAsyncOptions = {}) {
    const parallelism = options.parallelism ?? 1;
    if (!(Number.isInteger(parallelism) && parallelism > 0)) throw new RangeError(`mapAsync: parallelism must be a positive integer, got ${parallelism}`);
    super(`mapAsync(${parallelism})`, [upstream]);
    this.#fn = fn;
    this.#parallelism = parallelism;
    this.failures = new FailureHandler(this.operator, options);
    this.#late = new LateErrors(this.operator);
  }

  protected accept(x: unknown, _from: Node | undefined, meta: Meta): Maybe {
    return this.#intake.run(() => this.#admit(x, meta), x);
  }

  #admit(x: unknown, meta: Meta): Maybe {
    if (this.#calls.length >= this.#parallelism) {
      return this.#room.wait().then(
        () => this.#admit(x, meta),
        (error: unknown) => {
          disposeItem(x);
          throw error;
        },
      );
    }
    retainMeta(meta); // held until its result is handed on
    this.#calls.push({ x, meta, outcome: this.#call(x) });
    if (!this.#pumping) {
      this.#pumping = true;
      this.#running = this.#run();
    }
    this.#late.throwFirst();
  }

  #call(x: unknown): Promise<Outcome> {
    try {
      return Promise.resolve(this.#fn(x)).then(
        (value) => ({ ok: true, value }),
        (error: unknown) => ({ ok: false, error }),
      );
    } catch (error) {
      return Promise.resolve({ ok: false, error });
    }
  }

  /** The pump: hands results on in order, one at a time. */
  async #run(): Promise<void> {
    const { signal } = this.context;
    try {
      while (this.#calls.length > 0 && !signal.aborted) {
        const call = this.#calls[0];
        const outcome = await call.outcome;
        if (signal.aborted) return;
        try {
          if (outcome.ok) await this.push(outcome.value, call.meta);
          else await this.failures.fail(outcome.error, call.x, call.meta);
          releaseMeta(call.meta);
        } catch (error) {
          failMeta(call.meta, error);
          if (!signal.aborted) this.#late.add(error, call.x);
        }
        this.#calls.shift();
        this.#room.wakeAll();
      }
    } finally {
      this.#pumping = false;
    }
  }

  protected override async flush(): Promise<void> {
    while (this.#pumping && !this.context.cancelled) await this.#running;
  }

  protected override takeLateErrors(): unknown[] {
    return this.#late.takeAll();
  }

  protected override onAbort(reason: unknown): void {
    for (const call of this.#calls.splice(0)) {
      disposeItem(call.x);
      failMeta(call.meta, reason);
    }
    this.#intake.rejectAll(reason);
    this.#room.rejectAll(reason);
  }
}
