import type { RouteArgs, RouteReply } from '../schemas/http-api.ts';
import { pathOf, type QueryValue, type Route, type RouteId } from '../schemas/routes.ts';
import { decodeError, errors, SluiceError } from './errors.ts';
import { Schedulers } from './schedulers.ts';
import { fetchTransport, type Transport } from './transport.ts';

/** A call's arguments (left out when the route needs none), and the signal that ends it. */
export type CallArgs<Id extends RouteId> = object extends RouteArgs<Id> ? [args?: RouteArgs<Id>, signal?: AbortSignal] : [args: RouteArgs<Id>, signal?: AbortSignal];

export interface HttpOptions {
  transport?: Transport;
  headers?: Record<string, string>;
  /**
   * With several schedulers: a request not answered within this long (ms)
   * counts as unreachable, and the next goes to another scheduler (a leader
   * cut off by the network answers nothing, not even a refusal). Default
   * 30 s, above the 20 s the clients' waits take at most per request. With
   * one scheduler, requests wait as long as the transport lets them.
   */
  requestTimeoutMs?: number;
}

/**
 * JSON requests over a transport (fetch by default). Error bodies become
 * SluiceErrors. Given several schedulers (a list, or 'http://a,http://b'),
 * it sends to one and moves to another when that one does not serve
 * (Schedulers); the request that found out fails as before, for the
 * caller's retry to go to the next.
 */
export class Http {
  readonly schedulers: Schedulers;
  readonly transport: Transport;
  readonly headers: Record<string, string>;
  readonly #timeoutMs: number | undefined;

  constructor(base: string | readonly string[] | Schedulers, options: HttpOptions = {}) {
    this.schedulers = base instanceof Schedulers ? base : new Schedulers(base);
    this.transport = options.transport ?? fetchTransport();
    this.headers = { ...options.headers };
    this.#timeoutMs = this.schedulers.several ? (options.requestTimeoutMs ?? 30_000) : undefined;
  }

  /** The scheduler requests go to now. */
  get base(): string {
    return this.schedulers.current;
  }

  /**
   * A call of a route of the table (schemas/routes.ts): its path from the
   * params and query, its body as JSON. Resolves with the reply, typed by
   * the route's reply schema (schemas/http-api.ts); it is not checked here,
   * which would carry zod into browsers and cost every call: the scheduler
   * replies by those schemas, and the tests check that it does.
   */
  call<R extends Route<RouteId>>(route: R, ...[args, signal]: CallArgs<R['operationId']>): Promise<RouteReply<R['operationId']>> {
    const { params, query, body } = (args ?? {}) as { params?: Record<string, string>; query?: Record<string, QueryValue | undefined>; body?: unknown };
    return this.request(route.method, pathOf(route, params, query), body, signal) as Promise<RouteReply<R['operationId']>>;
  }

  /**
   * A request to any path: resolves with the reply's JSON, undefined for an
   * empty one. With several schedulers, one that does not serve (cannot be
   * reached, stands by, shuts down) sends the request on to the next, once
   * round the list; nothing was done where it was refused.
   */
  async request(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<unknown> {
    // Outside the try: a body JSON cannot carry (a BigInt, a cycle) is the caller's error, not an unreachable scheduler to retry.
    const json = body === undefined ? undefined : JSON.stringify(body);
    const headers = body === undefined ? this.headers : { ...this.headers, 'content-type': 'application/json' };
    for (let tried = 1; ; tried++) {
      const base = this.schedulers.current;
      try {
        return await this.#send(method, base, path, headers, json, signal);
      } catch (error) {
        if (signal?.aborted || !this.schedulers.several) throw error;
        if (!this.schedulers.failed(base, error) || tried >= this.schedulers.all.length) throw error;
      }
    }
  }

  async #send(method: string, base: string, path: string, headers: Record<string, string>, json: string | undefined, signal: AbortSignal | undefined): Promise<unknown> {
    let response: { status: number; text: string };
    const deadline = this.#timeoutMs === undefined ? undefined : AbortSignal.timeout(this.#timeoutMs);
    try {
      response = await this.transport.request(method, base + path, headers, json, deadline ? (signal ? AbortSignal.any([signal, deadline]) : deadline) : signal);
    } catch (error) {
      if (signal?.aborted) throw error;
      const reason = deadline?.aborted ? `no answer within ${this.#timeoutMs} ms` : (error as Error).message;
      throw errors.unreachable(base, reason, String((error as Error & { cause?: unknown }).cause ?? ''));
    }
    const { status, text } = response;
    if (status < 200 || status >= 300) throw decodeError(status, text);
    return text ? (JSON.parse(text) as unknown) : undefined;
  }
}

export { decodeError };

/**
 * Errors worth retrying: the scheduler is restarting or overloaded, the
 * network failed, or its store cannot take writes for now (507: nothing was
 * stored, and writes resume by themselves once it can).
 */
export function isTransient(error: unknown): boolean {
  return (
    error instanceof SluiceError &&
    (error.code === 'SLUICE_ERR_UNREACHABLE' || error.status === 503 || error.status === 507 || error.status === 429 || error.status === 502 || error.status === 504)
  );
}
