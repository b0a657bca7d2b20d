import type { FastifyReply, FastifyRequest } from 'fastify';
import { CLIENT_HEADER } from '../../schemas/constants.ts';
import { SluiceError } from '../errors.ts';
import { SseStream } from './sse-stream.ts';

/**
 * Opens SSE streams, at most `maxPerCaller` at once per caller: the client
 * session when the request names one, else the token (or address). A caller
 * over the limit gets 429 before the stream opens.
 */
export class StreamLimits {
  readonly #open = new Map<string, number>();
  readonly #maxPerCaller: number;
  readonly #maxBufferedBytes: number;

  constructor(options: { maxPerCaller: number; maxBufferedBytes: number }) {
    this.#maxPerCaller = options.maxPerCaller;
    this.#maxBufferedBytes = options.maxBufferedBytes;
  }

  open(request: FastifyRequest, reply: FastifyReply, kind: string): SseStream {
    const session = request.headers[CLIENT_HEADER];
    const caller = typeof session === 'string' ? `client:${session}` : request.principal || request.ip;
    const count = this.#open.get(caller) ?? 0;
    if (count >= this.#maxPerCaller) {
      reply.header('retry-after', '5');
      throw new SluiceError('SLUICE_ERR_RATE_LIMITED', `too many open streams: ${count} are open for this caller, the limit is ${this.#maxPerCaller}`, {
        limit: this.#maxPerCaller,
      });
    }
    const stream = new SseStream(reply, { maxBufferedBytes: this.#maxBufferedBytes, kind });
    this.#open.set(caller, count + 1);
    stream.onClose(() => {
      const left = (this.#open.get(caller) ?? 1) - 1;
      if (left > 0) this.#open.set(caller, left);
      else this.#open.delete(caller);
    });
    return stream;
  }
}
