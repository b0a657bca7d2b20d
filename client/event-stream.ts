import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { decodeError } from './http.ts';
import { fetchTransport, type Transport } from './transport.ts';

export interface EventStreamOptions {
  /** Where to read; a function is asked again at each (re)connection (a client that moved to another scheduler). */
  url: string | (() => string);
  /** How to make the request; fetch by default. */
  transport?: Transport;
  headers?: Record<string, string>;
  onEvent: (event: EventSourceMessage) => void;
  /** Each time the stream is (re)opened. */
  onOpen?: () => void;
  /** The stream dropped (the server ended it: StreamEnded; or it failed); it reconnects by itself. */
  onDrop?: (error: unknown) => void;
  /** The server refused the stream (a 4xx): it does not reconnect. */
  onFatal?: (error: unknown) => void;
  /** Resume after this id (sent as Last-Event-ID). */
  lastEventId?: string;
  minDelayMs?: number;
  maxDelayMs?: number;
  /** No byte for this long (heartbeats included) means the connection is dead. */
  idleTimeoutMs?: number;
  /** Called after each chunk; while the promise it returns is pending, reading pauses (backpressure). */
  pause?: () => Promise<void> | undefined;
}

export interface EventStream {
  close(): void;
  readonly lastEventId: string | undefined;
}

/**
 * Read Server-Sent Events over a transport (fetch by default), in Node and in
 * browsers (unlike EventSource, it can send headers). eventsource-parser does the parsing; this
 * adds reconnection with backoff, resumption with Last-Event-ID, and an idle
 * timeout that notices a half-open connection.
 */
export function openEventStream(options: EventStreamOptions): EventStream {
  const min = options.minDelayMs ?? 100;
  const max = options.maxDelayMs ?? 5_000;
  const idleMs = options.idleTimeoutMs ?? 45_000;
  const transport = options.transport ?? fetchTransport();
  let lastEventId = options.lastEventId;
  let closed = false;
  let current: AbortController | undefined;
  let wake: (() => void) | undefined;

  const run = async (): Promise<void> => {
    let delay = min;
    while (!closed) {
      const controller = new AbortController();
      current = controller;
      let idle: ReturnType<typeof setTimeout> | undefined;
      const resetIdle = (): void => {
        if (idle) clearTimeout(idle);
        idle = setTimeout(() => controller.abort(new Error(`no data for ${idleMs} ms`)), idleMs);
        unref(idle);
      };
      try {
        resetIdle();
        const response = await transport.stream(
          typeof options.url === 'function' ? options.url() : options.url,
          { ...options.headers, accept: 'text/event-stream', ...(lastEventId === undefined ? {} : { 'last-event-id': lastEventId }) },
          controller.signal,
        );
        if (response.status !== 200) {
          const error = decodeError(response.status, await response.text());
          if (response.status >= 400 && response.status < 500 && response.status !== 408 && response.status !== 429) {
            closed = true;
            options.onFatal?.(error);
            return;
          }
          throw error;
        }
        delay = min;
        options.onOpen?.();
        const parser = createParser({
          onEvent: (event) => {
            if (event.id !== undefined) lastEventId = event.id;
            options.onEvent(event);
          },
        });
        const decoder = new TextDecoder();
        for await (const value of response.chunks) {
          if (closed) break;
          parser.feed(decoder.decode(value, { stream: true }));
          if (closed) break;
          const paused = options.pause?.();
          if (paused) {
            if (idle) clearTimeout(idle);
            await paused;
          }
          resetIdle();
        }
        if (!closed) options.onDrop?.(new StreamEnded());
      } catch (error) {
        if (closed) return;
        options.onDrop?.(error);
      } finally {
        if (idle) clearTimeout(idle);
      }
      if (closed) return;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delay);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = undefined;
      delay = Math.min(delay * 2, max);
    }
  };
  void run();

  return {
    close() {
      closed = true;
      current?.abort();
      wake?.();
    },
    get lastEventId() {
      return lastEventId;
    },
  };
}

/** The server ended the stream (it restarts, or cut off a slow reader); it is read again. */
export class StreamEnded extends Error {
  constructor() {
    super('the stream ended');
    this.name = 'StreamEnded';
  }
}

/** In Node, the idle timer should not keep the process alive by itself (the socket does while it is open). */
function unref(timer: ReturnType<typeof setTimeout>): void {
  (timer as { unref?: () => void }).unref?.();
}
