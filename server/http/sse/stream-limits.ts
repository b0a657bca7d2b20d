import type { FastifyReply, FastifyRequest } from 'fastify';
import { errors, type SluiceError } from '../../errors.ts';
import { callerOf } from '../routes/caller.ts';
import { SseBacklog } from './sse-backlog.ts';
import { SseStream } from './sse-stream.ts';

export interface StreamLimitsOptions {
  /** Open streams per client session (a verified sluice-client credential). */
  maxPerSession: number;
  /** Open streams per token (per address without authentication), sessions included. */
  maxPerToken: number;
  /** Open streams in all. */
  maxTotal: number;
  /** A reader with more than this many bytes unsent is cut off. */
  maxBufferedBytes: number;
  /** All readers' unsent bytes together; past it the ones furthest behind are cut off. */
  maxBufferedBytesTotal: number;
}

/**
 * What an open stream counts against, besides the total: the client session
 * it acts as, if any (a credential the scheduler issued, never what a caller
 * says of itself), and the principal that authenticated it. The limiter's
 * own keys, each counted in a map of its own: they share no namespace with
 * holders (a client session's holder is another thing) nor with the request
 * rate limiter.
 */
export interface StreamQuota {
  /** The client session's id, when the stream acts as one. */
  readonly session: string | undefined;
  /** Who authenticated: a token's fingerprint, a browser session's scope, or the address without authentication. */
  readonly principal: string;
  /** What the principal is, for the refusal to say. */
  readonly principalKind: 'token' | 'address';
}

/** Whom a stream opened by this request counts against. Throws 401 or 403 for a bad session credential. */
export function streamQuotaOf(request: FastifyRequest): StreamQuota {
  const principal = request.principal || request.ip;
  return {
    session: callerOf(request).clientId,
    principal,
    principalKind: principal.startsWith('token:') || principal.startsWith('cookie:') ? 'token' : 'address',
  };
}

/**
 * Opens SSE streams within limits keyed on who authenticated, never on what
 * a caller says of itself: per client session (a credential the scheduler
 * issued), per token (the principal auth derived: a token's fingerprint, or
 * the address without authentication), and in all. A stream over a caller's
 * limit gets 429, over the ceiling 503, both with Retry-After, before it
 * opens. Every stream shares one budget of unsent bytes (SseBacklog).
 */
export class StreamLimits {
  readonly #perSession = new Map<string, number>();
  readonly #perToken = new Map<string, number>();
  #total = 0;
  readonly #options: StreamLimitsOptions;
  readonly backlog: SseBacklog;

  constructor(options: StreamLimitsOptions) {
    this.#options = options;
    this.backlog = new SseBacklog(options.maxBufferedBytesTotal);
  }

  /** Open streams in all. */
  get count(): number {
    return this.#total;
  }

  open(request: FastifyRequest, reply: FastifyReply, kind: string): SseStream {
    const { session, principal, principalKind } = streamQuotaOf(request);
    const { maxPerSession, maxPerToken, maxTotal } = this.#options;
    const inSession = session === undefined ? 0 : (this.#perSession.get(session) ?? 0);
    if (session !== undefined && inSession >= maxPerSession) throw refused(reply, `${inSession} are open for this client session, the limit is ${maxPerSession}`, maxPerSession);
    const forToken = this.#perToken.get(principal) ?? 0;
    if (forToken >= maxPerToken) throw refused(reply, `${forToken} are open for this ${principalKind}, the limit is ${maxPerToken}`, maxPerToken);
    if (this.#total >= maxTotal) {
      reply.header('retry-after', '5');
      throw errors.tooManyStreams(this.#total, maxTotal);
    }

    const stream = new SseStream(reply, { maxBufferedBytes: this.#options.maxBufferedBytes, kind, backlog: this.backlog });
    this.#total++;
    this.#perToken.set(principal, forToken + 1);
    if (session !== undefined) this.#perSession.set(session, inSession + 1);
    stream.onClose(() => {
      this.#total--;
      decrement(this.#perToken, principal);
      if (session !== undefined) decrement(this.#perSession, session);
    });
    return stream;
  }
}

function refused(reply: FastifyReply, what: string, limit: number): SluiceError {
  reply.header('retry-after', '5');
  return errors.streamsLimited(what, limit);
}

function decrement(counts: Map<string, number>, key: string): void {
  const left = (counts.get(key) ?? 1) - 1;
  if (left > 0) counts.set(key, left);
  else counts.delete(key);
}
