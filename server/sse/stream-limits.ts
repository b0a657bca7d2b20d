import type { FastifyReply, FastifyRequest } from 'fastify';
import { SluiceError } from '../errors.ts';
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
    const { clientId } = callerOf(request);
    const principal = request.principal || request.ip;
    const { maxPerSession, maxPerToken, maxTotal } = this.#options;
    const inSession = clientId === undefined ? 0 : (this.#perSession.get(clientId) ?? 0);
    if (clientId !== undefined && inSession >= maxPerSession) throw refused(reply, `${inSession} are open for this client session, the limit is ${maxPerSession}`, maxPerSession);
    const forToken = this.#perToken.get(principal) ?? 0;
    if (forToken >= maxPerToken) {
      const who = principal.startsWith('token:') || principal.startsWith('cookie:') ? 'token' : 'address';
      throw refused(reply, `${forToken} are open for this ${who}, the limit is ${maxPerToken}`, maxPerToken);
    }
    if (this.#total >= maxTotal) {
      reply.header('retry-after', '5');
      throw new SluiceError('SLUICE_ERR_OVERLOADED', `${this.#total} SSE streams are open, the most this scheduler serves (--max-sse); retry shortly`, { limit: maxTotal });
    }

    const stream = new SseStream(reply, { maxBufferedBytes: this.#options.maxBufferedBytes, kind, backlog: this.backlog });
    this.#total++;
    this.#perToken.set(principal, forToken + 1);
    if (clientId !== undefined) this.#perSession.set(clientId, inSession + 1);
    stream.onClose(() => {
      this.#total--;
      decrement(this.#perToken, principal);
      if (clientId !== undefined) decrement(this.#perSession, clientId);
    });
    return stream;
  }
}

function refused(reply: FastifyReply, what: string, limit: number): SluiceError {
  reply.header('retry-after', '5');
  return new SluiceError('SLUICE_ERR_RATE_LIMITED', `too many open streams: ${what}`, { limit });
}

function decrement(counts: Map<string, number>, key: string): void {
  const left = (counts.get(key) ?? 1) - 1;
  if (left > 0) counts.set(key, left);
  else counts.delete(key);
}
