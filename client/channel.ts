import type { ChannelInfo } from '../schemas/channels.ts';
import type { RouteEvents } from '../schemas/http-api.ts';
import { pathOf, ROUTES } from '../schemas/routes.ts';
import type { Client } from './client.ts';
import { openEventStream, type EventStream } from './event-stream.ts';
import { Future } from './future.ts';
import { kAppend, kCall, kConfigure, kRequest, kStream, kSubmission } from './symbols.ts';

export interface ChannelOptions {
  /** Beyond this many entries the oldest fall off (deque semantics); null: unbounded. Absent: left as it is. */
  maxlen?: number | null;
}

/** One entry of a channel: its sequence number (the one order every client sees) and its future. */
export interface ChannelEntry<T = unknown> {
  seq: number;
  future: Future<T>;
}

/** An iteration reads at most this many entries ahead of its consumer. */
const READ_AHEAD = 1000;

/**
 * A named, ordered, durable stream of futures shared by every client of the
 * scheduler (Dask's channels, persisted). `append` returns at once;
 * `flush()` waits until this client's appends are acknowledged. Iterating
 * replays the channel from its oldest entry and then waits for new ones until
 * the channel is stopped; it resumes by itself across dropped connections and
 * scheduler restarts, without missing or repeating an entry. `futures` is the
 * channel's current deque, kept live.
 */
export class Channel<T = unknown> implements AsyncIterable<Future<T>> {
  readonly name: string;
  readonly client: Client;
  #maxlen: number | null = null;
  #errors: Error[] = [];
  #closed = false;
  /** Every open iteration and the `futures` mirror, to end them on close(). */
  readonly #streams = new Set<EventStream>();
  /** Wakes each iteration waiting for an entry, so that close() ends it. */
  readonly #iterations = new Set<() => void>();
  #mirror: Array<ChannelEntry<T>> | undefined;
  #mirrorSeq = 0;
  #mirrorStopped = false;
  #mirrorWake: Array<() => void> = [];
  /** Resolves once the scheduler has created (or configured) the channel. */
  readonly #created: Promise<void>;

  constructor(client: Client, name: string, options: ChannelOptions = {}) {
    this.client = client;
    this.name = name;
    this.#created = new Promise((resolve, reject) => {
      client[kConfigure](name, options.maxlen, {
        done: (info) => {
          this.#maxlen = info.maxlen;
          this.#trimMirror();
          resolve();
        },
        fail: (error) => {
          this.#errors.push(error);
          reject(error);
        },
      });
    });
    this.#created.catch(() => undefined);
  }

  /**
   * Append futures (or keys). Returns at once; errors surface at flush(). A
   * future another client made is sent once that client's submission of it
   * has been answered, so the scheduler knows its key.
   */
  append(futures: Future | string | ReadonlyArray<Future | string>): void {
    const list = (Array.isArray(futures) ? futures : [futures]) as Array<Future | string>;
    for (const item of list) {
      const key = typeof item === 'string' ? item : item.key;
      const after = typeof item === 'string' || item.client === this.client ? undefined : item[kSubmission]();
      this.client[kAppend](this.name, key, (error) => this.#errors.push(error), after);
    }
  }

  /**
   * Resolves when every append this client made so far is acknowledged (and,
   * once `futures` is in use, shows in it); rejects with the first append
   * that was refused.
   */
  async flush(): Promise<void> {
    await this.client.flush();
    const [first] = this.#errors.splice(0);
    if (first) throw first;
    if (this.#mirror && !this.#closed) {
      const { lastSeq } = await this.info();
      while (!this.#mirrorStopped && !this.#closed && this.#mirrorSeq < lastSeq) {
        await new Promise<void>((resolve) => this.#mirrorWake.push(resolve));
      }
    }
  }

  /** The channel's length, maxlen, stopped flag and last sequence number, from the scheduler. */
  async info(): Promise<ChannelInfo> {
    await this.#created;
    const { name, length, maxlen, stopped, lastSeq } = await this.client[kRequest](ROUTES.channelInfo, { params: { name: this.name }, query: { limit: 1 } });
    return { name, length, maxlen, stopped, lastSeq };
  }

  /**
   * The channel's current entries as Futures, oldest first, kept up to date
   * while the channel is open (like Dask's `chan.futures`). The first use
   * starts following the channel; `await flush()` brings it up to date.
   */
  get futures(): Array<Future<T>> {
    if (!this.#mirror) {
      this.#mirror = [];
      this.#follow(1, {
        onEntry: (seq, key) => {
          this.#mirrorSeq = seq;
          this.#mirror?.push({ seq, future: new Future<T>(key, this.client) });
          this.#trimMirror();
          for (const wake of this.#mirrorWake.splice(0)) wake();
        },
        onEnd: () => {
          this.#mirrorStopped = true;
          for (const wake of this.#mirrorWake.splice(0)) wake();
        },
      });
    }
    return this.#mirror.map((e) => e.future);
  }

  /**
   * A consumer's position in this channel: the last entry it has finished
   * with (0: none yet). Retried while the scheduler restarts.
   */
  async position(consumer: string): Promise<number> {
    await this.#created;
    const { seq } = await this.client[kCall](ROUTES.channelPosition, { params: { name: this.name, consumer } });
    return seq;
  }

  /**
   * Commit a consumer's position: the last entry it has finished with.
   * Durable once this resolves. It only moves forward (a lower seq leaves it
   * where it is) unless `rewind`; resolves with the position now.
   */
  async commit(consumer: string, seq: number, options: { rewind?: boolean } = {}): Promise<number> {
    await this.#created;
    const body = options.rewind ? { seq, rewind: true } : { seq };
    const answer = await this.client[kCall](ROUTES.channelCommit, { params: { name: this.name, consumer }, body });
    return answer.seq;
  }

  /** Stop the channel: iteration ends in every client, and it takes no more appends. */
  async stop(): Promise<void> {
    await this.flush();
    await this.client[kRequest](ROUTES.channelStop, { params: { name: this.name } });
  }

  /** Stop following the channel in this client: every iteration ends, and the futures held for `futures` are let go. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const stream of this.#streams) stream.close();
    this.#streams.clear();
    for (const wake of [...this.#iterations]) wake();
    for (const entry of this.#mirror ?? []) entry.future.release();
    this.#mirror = [];
    for (const wake of this.#mirrorWake.splice(0)) wake();
  }

  [Symbol.asyncIterator](): AsyncIterator<Future<T>> {
    const entries = this.entries();
    return {
      next: async () => {
        const step = await entries.next();
        return step.done ? { done: true, value: undefined } : { done: false, value: step.value.future };
      },
      return: async () => {
        await entries.return?.();
        return { done: true, value: undefined };
      },
    };
  }

  /**
   * Iterate entries with their sequence numbers, from `from` (default: the
   * oldest entry still present). A consumer that records the last seq it
   * handled can resume there after a restart of its own.
   */
  entries(options: { from?: number } = {}): AsyncIterableIterator<ChannelEntry<T>> {
    const buffer: Array<{ seq: number; key: string }> = [];
    let ended = false;
    let failure: Error | undefined;
    let wake: (() => void) | undefined;
    let resume: (() => void) | undefined;
    const notify = (): void => {
      wake?.();
      wake = undefined;
    };
    this.#iterations.add(notify);
    const stream = this.#follow(options.from ?? 1, {
      onEntry: (seq, key) => {
        buffer.push({ seq, key });
        notify();
      },
      onEnd: (error) => {
        ended = true;
        failure = error;
        notify();
        this.#iterations.delete(notify);
      },
      pause: () => (buffer.length >= READ_AHEAD ? new Promise<void>((r) => (resume = r)) : undefined),
    });
    const iterator: AsyncIterableIterator<ChannelEntry<T>> = {
      next: async () => {
        for (;;) {
          const item = buffer.shift();
          if (item) {
            if (buffer.length < READ_AHEAD / 2) resume?.();
            return { done: false, value: { seq: item.seq, future: new Future<T>(item.key, this.client) } };
          }
          if (failure) throw failure;
          if (ended || this.#closed) return { done: true, value: undefined };
          await new Promise<void>((resolve) => (wake = resolve));
        }
      },
      return: async () => {
        ended = true;
        stream.close();
        this.#streams.delete(stream);
        this.#iterations.delete(notify);
        resume?.();
        return { done: true, value: undefined };
      },
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }

  /** Follow the channel's events from seq `from` once it exists; resumes with Last-Event-ID. */
  #follow(
    from: number,
    handlers: { onEntry: (seq: number, key: string) => void; onEnd: (error?: Error) => void; pause?: () => Promise<void> | undefined },
  ): EventStream {
    let stream: EventStream | undefined;
    let cancelled = false;
    let seen = from - 1;
    const handle: EventStream = {
      close: () => {
        cancelled = true;
        stream?.close();
      },
      get lastEventId() {
        return stream?.lastEventId;
      },
    };
    this.#streams.add(handle);
    this.#created.then(
      () => {
        if (cancelled || this.#closed) return;
        stream = openEventStream({
          ...this.client[kStream](pathOf(ROUTES.channelEntries, { name: this.name }, { from })),
          pause: handlers.pause,
          onEvent: (event) => {
            if (event.event === 'append') {
              const { seq, key } = JSON.parse(event.data) as RouteEvents<'channelEntries'>['append'];
              if (seq <= seen) return;
              seen = seq;
              handlers.onEntry(seq, key);
            } else if (event.event === 'stop') {
              stream?.close();
              this.#streams.delete(handle);
              handlers.onEnd();
            }
          },
          onFatal: (error) => {
            this.#streams.delete(handle);
            handlers.onEnd(error as Error);
          },
        });
        if (cancelled) stream.close();
      },
      (error: Error) => handlers.onEnd(error),
    );
    return handle;
  }

  #trimMirror(): void {
    if (!this.#mirror || this.#maxlen === null) return;
    while (this.#mirror.length > this.#maxlen) (this.#mirror.shift() as ChannelEntry<T>).future.release();
  }
}
