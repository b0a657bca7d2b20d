// Operators that act on when items move: rateLimit(ms) and delay(ms).
import { SerialGate, Waiters } from '../gate.ts';
import { disposeItem } from '../item.ts';
import { failMeta, type Meta, releaseMeta, retainMeta } from '../metadata.ts';
import { Node, type Maybe } from '../node.ts';
import { LateErrors } from './late-errors.ts';

function checkInterval(operator: string, ms: number): void {
  if (!(Number.isFinite(ms) && ms >= 0)) throw new RangeError(`${operator}: the interval must be a finite number of milliseconds >= 0, got ${ms}`);
}

/**
 * At most one item per interval, none dropped: an item is handed on no
 * sooner than `ms` after the previous one was, and only once the previous
 * one has been taken. Its emit returns when it has been handed on and taken,
 * so a loop of `await emit(x)` runs at the limited rate (streamz's
 * rate_limit, whose emits wait the same way). Items keep their order.
 */
export class RateLimitNode extends Node {
  readonly #interval: number;
  readonly #gate = new SerialGate();
  #next = Number.NEGATIVE_INFINITY;

  constructor(upstream: Node, ms: number) {
    checkInterval('rateLimit', ms);
    super(`rateLimit(${ms})`, [upstream]);
    this.#interval = ms;
  }

  protected accept(x: unknown, _from: Node | undefined, meta: Meta): Maybe {
    return this.#gate.run(() => {
      const wait = this.#next - this.context.clock.now();
      if (wait <= 0) return this.#release(x, meta);
      return this.context.clock.sleep(wait, this.context.signal).then(
        () => this.#release(x, meta),
        (error: unknown) => {
          disposeItem(x);
          throw error;
        },
      );
    }, x);
  }

  #release(x: unknown, meta: Meta): Maybe {
    this.#next = this.context.clock.now() + this.#interval;
    return this.push(x, meta);
  }

  protected override onAbort(reason: unknown): void {
    this.#gate.rejectAll(reason);
  }
}

/**
 * Each item is handed on `ms` after it arrived, in order. An emit returns
 * once its item is scheduled, so delay does not slow an emitter down —
 * unless the downstream side falls behind: while an item is overdue (its
 * time has come but the previous one is still being taken), emits wait.
 * That passes backpressure through and keeps the queue bounded by what
 * arrives within `ms`.
 */
export class DelayNode extends Node {
  readonly #ms: number;
  readonly #queue: Array<{ x: unknown; meta: Meta; due: number }> = [];
  readonly #intake = new SerialGate();
  readonly #progress = new Waiters();
  readonly #late: LateErrors;
  #pumping = false;
  #running: Promise<void> = Promise.resolve();

  constructor(upstream: Node, ms: number) {
    checkInterval('delay', ms);
    super(`delay(${ms})`, [upstream]);
    this.#ms = ms;
    this.#late = new LateErrors(this.operator);
  }

  protected accept(x: unknown, _from: Node | undefined, meta: Meta): Maybe {
    return this.#intake.run(() => this.#admit(x, meta), x);
  }

  #admit(x: unknown, meta: Meta): Maybe {
    const head = this.#queue[0];
    if (head && head.due <= this.context.clock.now()) {
      return this.#progress.wait().then(
        () => this.#admit(x, meta),
        (error: unknown) => {
          disposeItem(x);
          throw error;
        },
      );
    }
    retainMeta(meta); // held here until handed on
    this.#queue.push({ x, meta, due: this.context.clock.now() + this.#ms });
    if (!this.#pumping) {
      this.#pumping = true;
      this.#running = this.#run();
    }
    this.#late.throwFirst();
  }

  /** The pump: one item at a time, each at its time. `#pumping` turns false in the same turn the queue is seen empty. */
  async #run(): Promise<void> {
    const { clock, signal } = this.context;
    try {
      while (this.#queue.length > 0 && !signal.aborted) {
        const wait = this.#queue[0].due - clock.now();
        if (wait > 0) {
          try {
            await clock.sleep(wait, signal);
          } catch {
            return; // cancelled
          }
        }
        const { x, meta } = this.#queue.shift() as { x: unknown; meta: Meta };
        this.#progress.wakeAll();
        try {
          await this.push(x, meta);
          releaseMeta(meta);
        } catch (error) {
          failMeta(meta, error);
          if (!signal.aborted) this.#late.add(error, x);
        }
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
    for (const { x, meta } of this.#queue.splice(0)) {
      disposeItem(x);
      failMeta(meta, reason);
    }
    this.#intake.rejectAll(reason);
    this.#progress.rejectAll(reason);
  }
}
