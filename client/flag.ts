import { ROUTES } from '../schemas/routes.ts';
import { call, closedError, waitFor } from './calls.ts';
import type { Client } from './client.ts';
import { TimeoutError } from './errors.ts';

/**
 * Dask's Event, on the scheduler and durable: `set()` wakes every waiter in
 * every client, `clear()` makes later waits wait. Served under /flags (the
 * scheduler's /events is the dashboard's stream), hence the class name.
 */
export class Flag {
  readonly name: string;
  readonly client: Client;
  readonly #closer = new AbortController();

  constructor(client: Client, name: string) {
    this.client = client;
    this.name = name;
  }

  async set(): Promise<void> {
    await call(this.client, this.#closer.signal, ROUTES.flagSet, { params: { name: this.name } });
  }

  async clear(): Promise<void> {
    await call(this.client, this.#closer.signal, ROUTES.flagClear, { params: { name: this.name } });
  }

  async isSet(): Promise<boolean> {
    return (await call(this.client, this.#closer.signal, ROUTES.flagIsSet, { params: { name: this.name } })).set;
  }

  /** Wait until the flag is set: true once it is, false if timeoutMs passes first (as Dask's Event.wait). */
  async wait(options: { timeoutMs?: number } = {}): Promise<boolean> {
    try {
      await waitFor((timeoutS) => call(this.client, this.#closer.signal, ROUTES.flagIsSet, { params: { name: this.name }, query: { timeout: timeoutS } }), {
        timeoutMs: options.timeoutMs,
        failure: `flag ${this.name} was not set`,
      });
      return true;
    } catch (error) {
      if (error instanceof TimeoutError) return false;
      throw error;
    }
  }

  /** Stop this object's waiting calls. */
  close(): void {
    this.#closer.abort(closedError());
  }
}
