import type { RouteReply } from '../schemas/http-api.ts';
import { replaceDependencies } from '../schemas/keys.ts';
import type { Route, RouteId } from '../schemas/routes.ts';
import type { Client } from './client.ts';
import { errors, SluiceError, TimeoutError } from './errors.ts';
import { Future } from './future.ts';
import type { CallArgs } from './http.ts';
import { kCall } from './symbols.ts';

/**
 * What the coordination objects (Queue, Variable, Topic, Flag, Lock,
 * Semaphore) share: requests that are retried while the scheduler restarts
 * and that end when the object is closed, waits done in chunks, and futures
 * brought back to life.
 */

/** A wait done server-side is cut into requests of at most this long, well inside fetch's and proxies' limits. */
export const LONG_POLL_MS = 20_000;

/**
 * A call of a route through the client's retries, with the route's params,
 * query and body (args); closing the object (signal) ends it with
 * SLUICE_ERR_CLOSED.
 */
export async function call<R extends Route<RouteId>>(client: Client, signal: AbortSignal, route: R, ...[args]: CallArgs<R['operationId']>): Promise<RouteReply<R['operationId']>> {
  if (signal.aborted) throw closedError();
  try {
    return await client[kCall](route, ...([args, signal] as CallArgs<R['operationId']>));
  } catch (error) {
    if (signal.aborted) throw closedError();
    throw error;
  }
}

/**
 * Call a route that waits on the scheduler (?timeout=<seconds>), in chunks of
 * at most chunkMs, until timeoutMs has passed (undefined: for ever). Each
 * chunk that times out (408) is followed by the next; when the time is up,
 * rejects with TimeoutError: "<failure> within <timeoutMs> ms" ("variable
 * cfg was not set within 1000 ms").
 */
export async function waitFor<T>(
  request: (timeoutS: number) => Promise<T>,
  options: { timeoutMs?: number; chunkMs?: number; failure: string },
): Promise<T> {
  const deadline = options.timeoutMs === undefined ? Number.POSITIVE_INFINITY : Date.now() + options.timeoutMs;
  const chunkMs = options.chunkMs ?? LONG_POLL_MS;
  for (;;) {
    const left = Math.max(0, Math.min(deadline - Date.now(), chunkMs));
    try {
      return await request(left / 1000);
    } catch (error) {
      if (!(error instanceof SluiceError && error.code === 'SLUICE_ERR_TIMEOUT')) throw error;
      if (Date.now() >= deadline) throw new TimeoutError(`${options.failure} within ${options.timeoutMs} ms`);
    }
  }
}

/** A stored value with each {"$future": key} replaced by a Future the client holds. */
export function revive<T>(value: unknown, client: Client): T {
  return replaceDependencies(value, (key) => new Future(key, client)) as T;
}

export function closedError(): SluiceError {
  return errors.closed();
}
