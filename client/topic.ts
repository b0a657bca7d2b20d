import { pathOf, ROUTES } from '../schemas/routes.ts';
import { call, closedError } from './calls.ts';
import type { Client } from './client.ts';
import { openEventStream, type EventStream } from './event-stream.ts';
import { kStream } from './symbols.ts';

/** A subscription reads at most this many messages ahead of its consumer. */
const READ_AHEAD = 1000;

/**
 * Messages of a topic, as they are published, from the moment the
 * subscription is connected. It reconnects by itself, and the scheduler
 * replays what it missed meanwhile from its last megabyte of messages;
 * `gaps` counts the times more than that may have been missed (a long
 * outage, a scheduler restart).
 */
export class Subscription<T = unknown> implements AsyncIterableIterator<T> {
  /** Times messages may have been missed (the scheduler said so). */
  gaps = 0;
  /** Resolves once the subscription is connected: messages published from then on reach it. */
  readonly connected: Promise<void>;
  readonly #buffer: T[] = [];
  readonly #stream: EventStream;
  #ended = false;
  #failure: Error | undefined;
  #wake: (() => void) | undefined;
  #resume: (() => void) | undefined;
  readonly #onClose: () => void;

  /** @internal Made by Topic.subscribe(). */
  constructor(client: Client, path: string, onClose: () => void) {
    this.#onClose = onClose;
    let opened!: () => void;
    let failed!: (error: Error) => void;
    this.connected = new Promise<void>((resolve, reject) => {
      opened = resolve;
      failed = reject;
    });
    this.connected.catch(() => undefined);
    this.#stream = openEventStream({
      ...client[kStream](path),
      onOpen: () => opened(),
      onEvent: (event) => {
        // Any JSON (the table's message schema is unknown): T is what this topic's publishers send.
        if (event.event === 'message') this.#buffer.push(JSON.parse(event.data) as T);
        else if (event.event === 'gap') this.gaps++;
        this.#notify();
      },
      onFatal: (error) => {
        this.#failure = error as Error;
        this.#ended = true;
        failed(error as Error);
        this.#notify();
      },
      pause: () => (this.#buffer.length >= READ_AHEAD ? new Promise<void>((r) => (this.#resume = r)) : undefined),
    });
  }

  async next(): Promise<IteratorResult<T>> {
    for (;;) {
      if (this.#buffer.length > 0) {
        const value = this.#buffer.shift() as T;
        if (this.#buffer.length < READ_AHEAD / 2) this.#resume?.();
        return { done: false, value };
      }
      if (this.#failure) throw this.#failure;
      if (this.#ended) return { done: true, value: undefined };
      await new Promise<void>((resolve) => (this.#wake = resolve));
    }
  }

  async return(): Promise<IteratorResult<T>> {
    this.close();
    return { done: true, value: undefined };
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /** Stop receiving; iteration ends. */
  close(): void {
    if (this.#ended && !this.#failure) return;
    this.#ended = true;
    this.#stream.close();
    this.#resume?.();
    this.#onClose();
    this.#notify();
  }

  #notify(): void {
    this.#wake?.();
    this.#wake = undefined;
  }
}

/**
 * A pub/sub topic (Dask's Pub and Sub in one): every subscriber connected
 * when a message is published gets it, in publish order. Not persisted.
 * Messages are JSON values, delivered as published (futures are not held).
 */
export class Topic<T = unknown> implements AsyncIterable<T> {
  readonly name: string;
  readonly client: Client;
  readonly #closer = new AbortController();
  readonly #subscriptions = new Set<Subscription<T>>();

  constructor(client: Client, name: string) {
    this.client = client;
    this.name = name;
  }

  /**
   * Publish a message; resolves with how many subscribers it was sent to. A
   * publish retried after a network failure may reach subscribers twice.
   */
  async publish(message: T): Promise<number> {
    const { delivered } = await call(this.client, this.#closer.signal, ROUTES.topicPublish, { params: { name: this.name }, body: { message } });
    return delivered;
  }

  /** Subscribe; resolves once connected, so that a message published after that is received. */
  async subscribe(): Promise<Subscription<T>> {
    const subscription = this.#open();
    await subscription.connected;
    return subscription;
  }

  /** How many subscribe, and how many messages the topic has had since the scheduler started. */
  async info(): Promise<{ name: string; subscribers: number; lastSeq: number }> {
    return call(this.client, this.#closer.signal, ROUTES.topicInfo, { params: { name: this.name } });
  }

  /** Iterate over the messages published from now on (the subscription connects in the background). */
  [Symbol.asyncIterator](): AsyncIterator<T> {
    return this.#open();
  }

  /** End every subscription made through this object. */
  close(): void {
    this.#closer.abort(closedError());
    for (const subscription of [...this.#subscriptions]) subscription.close();
  }

  #open(): Subscription<T> {
    if (this.#closer.signal.aborted) throw closedError();
    const subscription: Subscription<T> = new Subscription<T>(this.client, pathOf(ROUTES.topicSubscribe, { name: this.name }), () =>
      this.#subscriptions.delete(subscription),
    );
    this.#subscriptions.add(subscription);
    return subscription;
  }
}
