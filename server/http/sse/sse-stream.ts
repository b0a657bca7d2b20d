import type { FastifyReply } from 'fastify';
import { type OutcomeRecord, outcomeJson } from '../../services/outcomes.ts';
import type { BackloggedStream, SseBacklog } from './sse-backlog.ts';

/**
 * One SSE frame. Data is JSON text (never contains a raw newline), formatted
 * once per event and written as is to every subscriber.
 */
export function sseFrame(event: string, data: string, id?: string | number): string {
  return id === undefined ? `event: ${event}\ndata: ${data}\n\n` : `id: ${id}\nevent: ${event}\ndata: ${data}\n\n`;
}

/** A future's status as an SSE `status` frame; a result over `inlineLimit` characters is left out and flagged. */
export function statusFrame(outcome: OutcomeRecord, inlineLimit: number): string {
  return sseFrame('status', outcomeJson(outcome, inlineLimit));
}

/**
 * An event-loop turn counter, advanced by one setImmediate however many streams
 * ask: a stream checks its reader's backlog once per turn, before the turn's
 * first write, so a burst written in one turn is not mistaken for a slow reader.
 */
let turn = 0;
let advancing = false;
function currentTurn(): number {
  if (!advancing) {
    advancing = true;
    setImmediate(() => {
      turn++;
      advancing = false;
    });
  }
  return turn;
}

export interface SseStreamOptions {
  /** A subscriber with more than this many bytes unsent from earlier turns is cut off; it resumes from its last id. */
  maxBufferedBytes: number;
  /** What the stream serves (client, channel, futures, events, ...), for the metrics. */
  kind: string;
  /** The budget of unsent bytes shared by every stream. */
  backlog?: SseBacklog;
}

const open = new Map<string, number>();
let cutOffs = 0;

/** Open SSE streams by kind, and how many readers were cut off for being slow, since start. */
export function sseStats(): { open: ReadonlyMap<string, number>; cutOffs: number } {
  return { open, cutOffs };
}

/**
 * An open SSE response. @fastify/sse owns the protocol (headers, heartbeat
 * comments, Last-Event-ID, close callbacks); this adds what a broadcaster
 * needs: writing preformatted frames and cutting off a reader that cannot
 * keep up instead of buffering for it without bound.
 */
export class SseStream implements BackloggedStream {
  readonly #reply: FastifyReply;
  readonly #maxBuffered: number;
  readonly #kind: string;
  readonly #backlog: SseBacklog | undefined;
  #open = true;
  #checkedTurn = -1;
  readonly #onClose: Array<() => void> = [];

  constructor(reply: FastifyReply, options: SseStreamOptions) {
    this.#reply = reply;
    this.#maxBuffered = options.maxBufferedBytes;
    this.#kind = options.kind;
    this.#backlog = options.backlog;
    open.set(this.#kind, (open.get(this.#kind) ?? 0) + 1);
    this.#backlog?.add(this);
    reply.sse.keepAlive();
    reply.sse.sendHeaders();
    // Send the head now: a reader of a quiet stream learns at once that it is connected.
    reply.raw.flushHeaders();
    reply.sse.onClose(() => this.#closed());
  }

  /** The Last-Event-ID the reader sent when it reconnected. */
  get lastEventId(): string | null {
    return this.#reply.sse.lastEventId;
  }

  get open(): boolean {
    return this.#open;
  }

  /** Bytes written and not yet taken by the socket. */
  get buffered(): number {
    return this.#open ? this.#reply.raw.writableLength : 0;
  }

  /** Write a frame; returns false if the stream is closed or was just cut off for being slow. */
  write(frame: string): boolean {
    if (!this.#open) return false;
    const raw = this.#reply.raw;
    const now = currentTurn();
    if (now !== this.#checkedTurn && raw.writableLength > this.#maxBuffered) {
      this.cutOff(`more than ${this.#maxBuffered} bytes unsent`);
      return false;
    }
    this.#checkedTurn = now;
    raw.write(frame);
    this.#backlog?.charge(frame.length);
    return this.#open;
  }

  /** Close the stream for falling behind (the reader resumes from its last id). */
  cutOff(reason: string): void {
    if (!this.#open) return;
    this.#reply.log.warn({ buffered: this.#reply.raw.writableLength, kind: this.#kind, reason }, 'SSE reader too slow, cutting it off; it resumes from its last id');
    cutOffs++;
    this.#reply.raw.destroy();
    this.#closed();
  }

  /** Resolves once the socket can take more (at once if it can, or if the stream closed). */
  drained(): Promise<void> {
    const raw = this.#reply.raw;
    if (!this.#open || !raw.writableNeedDrain) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        raw.off('drain', done);
        raw.off('close', done);
        resolve();
      };
      raw.once('drain', done);
      raw.once('close', done);
    });
  }

  onClose(fn: () => void): void {
    if (this.#open) this.#onClose.push(fn);
    else fn();
  }

  /** End the stream (the reader may reconnect). */
  close(): void {
    if (!this.#open) return;
    this.#reply.sse.close();
    this.#closed();
  }

  #closed(): void {
    if (!this.#open) return;
    this.#open = false;
    open.set(this.#kind, (open.get(this.#kind) ?? 1) - 1);
    this.#backlog?.remove(this);
    for (const fn of this.#onClose.splice(0)) fn();
  }
}
