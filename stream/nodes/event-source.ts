// A source that reads Server-Sent Events.
import type { EventSourceMessage } from 'eventsource-parser';
import { openEventStream } from '../../client/event-stream.ts';
import { type FetchLike, fetchTransport, type Transport } from '../../client/transport.ts';
import type { GraphContext } from '../context.ts';
import { Waiters } from '../gate.ts';
import type { ErrorOptions } from '../policy.ts';
import { DoneTracker } from './done-tracker.ts';
import { SourceNode } from './source.ts';

/** One Server-Sent Event: its `event` name (undefined for the default 'message'), `data` and `id`. */
export interface ServerSentEvent {
  event: string | undefined;
  data: string;
  id: string | undefined;
}

export interface EventSourceOptions extends ErrorOptions {
  /** Only these event names (the default event is 'message'). Default: every event. */
  events?: readonly string[];
  headers?: Record<string, string>;
  /** How to make the request (the client's transports); or a fetch for the default one. */
  transport?: Transport;
  fetch?: FetchLike;
  /** Resume after this id (sent as Last-Event-ID). */
  lastEventId?: string;
  /** Reconnection backoff, first and longest (ms). */
  minDelayMs?: number;
  maxDelayMs?: number;
}

/**
 * The events of an SSE endpoint. The client's openEventStream reads them
 * over fetch and reconnects with Last-Event-ID when the connection drops, so
 * no event is missed or repeated across a reconnection (given a server that
 * honours Last-Event-ID, as sluice's does). Reading pauses while the
 * pipeline has not taken the events already read (backpressure). A refusal
 * (a 4xx answer) stops the source with that error. Each event with an id
 * carries metadata `{ ref, id }`: `doneEventId` is the id of the last event
 * such that it and every event before it are done with (every branch
 * finished with them), the one to resume from after a crash.
 */
export class EventSourceSource extends SourceNode {
  readonly #url: string;
  readonly #options: EventSourceOptions;
  /** The id of the last event the pipeline took. */
  lastEventId: string | undefined;
  /** The id of the last event such that it and every event before it are done with: resume from here after a crash. */
  readonly #done: DoneTracker<string>;

  constructor(url: string, context: GraphContext | undefined, options: EventSourceOptions = {}) {
    super(`fromEventSource('${url}')`, context, options);
    this.#url = url;
    this.#options = options;
    this.lastEventId = options.lastEventId;
    this.#done = new DoneTracker<string>(undefined, options.lastEventId);
  }

  get doneEventId(): string | undefined {
    return this.#done.last;
  }

  protected async produce(signal: AbortSignal): Promise<void> {
    const queue: ServerSentEvent[] = [];
    const arrived = new Waiters();
    const drained = new Waiters();
    let fatal: { error: unknown } | undefined;
    const wanted = this.#options.events ? new Set(this.#options.events) : undefined;
    const stream = openEventStream({
      url: this.#url,
      transport: this.#options.transport ?? fetchTransport(this.#options.fetch),
      headers: this.#options.headers,
      lastEventId: this.#options.lastEventId,
      minDelayMs: this.#options.minDelayMs,
      maxDelayMs: this.#options.maxDelayMs,
      onEvent: (message: EventSourceMessage) => {
        if (wanted && !wanted.has(message.event ?? 'message')) return;
        queue.push({ event: message.event, data: message.data, id: message.id });
        arrived.wakeAll();
      },
      onFatal: (error) => {
        fatal = { error };
        arrived.wakeAll();
      },
      pause: () => (queue.length > 0 ? drained.wait() : undefined),
    });
    const stop = (): void => arrived.wakeAll();
    signal.addEventListener('abort', stop, { once: true });
    try {
      for (;;) {
        while (queue.length > 0) {
          const event = queue.shift() as ServerSentEvent;
          if (event.id === undefined) await this.deliver(event);
          else await this.deliver(event, [{ ref: this.#done.track(event.id), id: event.id }]);
          if (event.id !== undefined) this.lastEventId = event.id;
          if (signal.aborted) return;
        }
        drained.wakeAll();
        if (fatal) throw fatal.error;
        if (signal.aborted) return;
        await arrived.wait();
      }
    } finally {
      signal.removeEventListener('abort', stop);
      stream.close();
      drained.wakeAll();
    }
  }
}

