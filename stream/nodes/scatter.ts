// scatter: moving local items onto the cluster, one at a time or in batches.
import type { Client } from '../../client/client.ts';
import type { Future } from '../../client/future.ts';
import { abortable, SerialGate, Waiters } from '../gate.ts';
import { failMeta, type Meta, releaseMeta, retainMeta } from '../metadata.ts';
import { Node, type Maybe } from '../node.ts';
import { type ErrorOptions, FailureHandler } from '../policy.ts';
import { RemoteItem } from '../remote-item.ts';
import { ClusterNode } from './cluster.ts';
import { LateErrors } from './late-errors.ts';

export interface ScatterOptions extends ErrorOptions {
  /**
   * 1 (default): each item is stored on the scheduler before its emit
   * returns, so `await emit(x)` covers the whole pipeline, as in streamz.
   * n > 1: the emit returns once the item is queued; items that arrive while
   * a request is out go together in the next one (up to n per request, and
   * up to 2n held). Many times faster, but errors past this point reach the
   * next emit or end() rather than the item's own emit.
   */
  batch?: number;
}

/** Moves each item to the scheduler (POST /scatter) and emits its future; the emit returns once the value is stored and taken downstream. */
export class ScatterNode extends ClusterNode {
  readonly #client: Client;

  constructor(upstream: Node, client: Client, options?: ErrorOptions) {
    super('scatter', upstream, options);
    this.#client = client;
  }

  protected accept(x: unknown, _from: Node | undefined, meta: Meta): Maybe {
    return this.gate.run(() => {
      const scattered = this.#client.scatter([x]);
      return abortable(scattered, this.context.signal).then(
        ([future]) => this.push(new RemoteItem(future as Future), meta),
        (error: unknown) => {
          // Cancelled while the request was out: let go of what it stores.
          if (this.context.cancelled) void scattered.then(([f]) => f?.release(), () => undefined);
          return this.failed(error, x, meta);
        },
      );
    });
  }
}

/**
 * scatter(client, { batch: n }): takes items at once and stores them in
 * batches, one request out at a time, while the futures of the previous
 * batch are handed on in order. An emit waits only while 2n items are held.
 */
export class BatchScatterNode extends Node {
  readonly #client: Client;
  readonly #batch: number;
  readonly failures: FailureHandler;
  readonly #intake = new SerialGate();
  readonly #room = new Waiters();
  readonly #late: LateErrors;
  /** Taken, not yet sent (their metadata held until handed on). */
  #pending: unknown[] = [];
  #pendingMeta: Meta[] = [];
  /** Sent or stored, not yet handed on. */
  #held = 0;
  #pumping = false;
  #running: Promise<void> = Promise.resolve();

  constructor(upstream: Node, client: Client, options: ScatterOptions = {}) {
    const batch = options.batch ?? 1;
    if (!(Number.isInteger(batch) && batch > 1)) throw new RangeError(`scatter: batch must be an integer > 1, got ${batch}`);
    super(`scatter(batch ${batch})`, [upstream]);
    this.#client = client;
    this.#batch = batch;
    this.failures = new FailureHandler(this.operator, options);
    this.#late = new LateErrors(this.operator);
  }

  protected accept(x: unknown, _from: Node | undefined, meta: Meta): Maybe {
    return this.#intake.run(() => this.#admit(x, meta), x);
  }

  #admit(x: unknown, meta: Meta): Maybe {
    if (this.#pending.length + this.#held >= 2 * this.#batch) return this.#room.wait().then(() => this.#admit(x, meta));
    retainMeta(meta);
    this.#pending.push(x);
    this.#pendingMeta.push(meta);
    if (!this.#pumping) {
      this.#pumping = true;
      this.#running = this.#run();
    }
    this.#late.throwFirst();
  }

  #send(): { values: unknown[]; metas: Meta[]; stored: Promise<Future[]> } {
    const values = this.#pending.splice(0, this.#batch);
    const metas = this.#pendingMeta.splice(0, this.#batch);
    this.#held += values.length;
    const stored = this.#client.scatter(values) as Promise<Future[]>;
    stored.catch(() => undefined); // handled where it is awaited
    return { values, metas, stored };
  }

  async #run(): Promise<void> {
    const { signal } = this.context;
    try {
      let out = this.#send();
      for (;;) {
        let futures: Future[] | undefined;
        try {
          futures = await abortable(out.stored, signal);
        } catch (error) {
          if (signal.aborted) {
            void out.stored.then((fs) => fs.forEach((f) => f.release()), () => undefined);
            for (const meta of out.metas) failMeta(meta, error);
            return;
          }
          for (const [i, x] of out.values.entries()) await this.#failed(error, x, out.metas[i]);
        }
        // The next request goes out while this batch's futures are handed on.
        const next = this.#pending.length > 0 ? this.#send() : undefined;
        for (const [i, future] of (futures ?? []).entries()) {
          if (signal.aborted) {
            for (const f of (futures ?? []).slice(i)) f.release();
            for (const meta of out.metas.slice(i)) failMeta(meta, signal.reason);
            return;
          }
          const meta = out.metas[i];
          try {
            await this.push(new RemoteItem(future), meta);
            releaseMeta(meta);
          } catch (error) {
            failMeta(meta, error);
            if (!signal.aborted) this.#late.add(error, out.values[i]);
          }
          this.#held--;
          this.#room.wakeAll();
        }
        if (!futures) {
          this.#held -= out.values.length;
          this.#room.wakeAll();
        }
        if (next) out = next;
        else if (this.#pending.length > 0) out = this.#send();
        else return;
      }
    } finally {
      this.#pumping = false;
    }
  }

  /** A batch that could not be stored: each of its items goes through the error policy. */
  async #failed(error: unknown, x: unknown, meta: Meta): Promise<void> {
    try {
      await this.failures.fail(error, x, meta);
      releaseMeta(meta);
    } catch (failure) {
      failMeta(meta, failure);
      if (!this.context.cancelled) this.#late.add(failure, x);
    }
  }

  protected override async flush(): Promise<void> {
    while (this.#pumping && !this.context.cancelled) await this.#running;
  }

  protected override takeLateErrors(): unknown[] {
    return this.#late.takeAll();
  }

  protected override onAbort(reason: unknown): void {
    this.#pending = [];
    for (const meta of this.#pendingMeta.splice(0)) failMeta(meta, reason);
    this.#intake.rejectAll(reason);
    this.#room.rejectAll(reason);
  }
}
