import { ROUTES } from '../schemas/routes.ts';
import { call, closedError, revive, waitFor } from './calls.ts';
import type { Client } from './client.ts';
import type { Lease } from './lease.ts';

export interface VariableGetOptions {
  /** Give up after this long with a TimeoutError (default: wait until it is set; 0: do not wait). */
  timeoutMs?: number;
}

export interface VariableSetOptions {
  /** Write only while this lease is held (fencing): otherwise rejects with SLUICE_ERR_STALE_TOKEN and nothing is written. */
  fence?: Lease;
}

/**
 * A named value on the scheduler, shared by every client (Dask's Variable),
 * durable across restarts. The futures in a value are held while it is the
 * value; reading it, this client holds them too.
 *
 * `await get()` gives the value; if the value is a Future, that is its
 * result (a promise cannot resolve to an awaitable). `read()` gives
 * `{ value }` with Futures as Future objects.
 */
export class Variable<T = unknown> {
  readonly name: string;
  readonly client: Client;
  readonly #closer = new AbortController();
  #lastSet: Promise<unknown> = Promise.resolve();

  constructor(client: Client, name: string) {
    this.client = client;
    this.name = name;
  }

  /** Set the value. Sets through one Variable object are applied in the order they were made. */
  set(value: T, options: VariableSetOptions = {}): Promise<void> {
    const body = options.fence ? { value, fence: options.fence.fence } : { value };
    const send = async (): Promise<void> => {
      await this.client.flush(); // futures submitted just before must exist before the variable holds them
      await call(this.client, this.#closer.signal, ROUTES.variableSet, { params: { name: this.name }, body });
    };
    const set = this.#lastSet.then(send, send);
    this.#lastSet = set.catch(() => undefined);
    return set;
  }

  /** The value, waiting until the variable is set. See the class note on futures. */
  async get(options: VariableGetOptions = {}): Promise<Awaited<T>> {
    return (await this.read(options)).value as Awaited<T>;
  }

  /** The value as stored, Futures as Future objects, waiting until the variable is set. */
  async read(options: VariableGetOptions = {}): Promise<{ value: T }> {
    await this.#lastSet;
    const { value } = await waitFor(
      (timeoutS) => call(this.client, this.#closer.signal, ROUTES.variableGet, { params: { name: this.name }, query: { timeout: timeoutS } }),
      { timeoutMs: options.timeoutMs, failure: `variable ${this.name} was not set` },
    );
    return { value: revive<T>(value, this.client) };
  }

  /** Unset the variable; its futures are let go. */
  async delete(): Promise<void> {
    await this.#lastSet;
    await call(this.client, this.#closer.signal, ROUTES.variableDelete, { params: { name: this.name } });
  }

  /** Stop this object's waiting calls. */
  close(): void {
    this.#closer.abort(closedError());
  }
}
