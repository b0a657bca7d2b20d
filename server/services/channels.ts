import { EventEmitter } from 'node:events';
import type { FastifyBaseLogger } from 'fastify';
import type { ChannelEntry, ChannelInfo, ChannelStop } from '../../schemas/channels.ts';
import type { FutureStatus } from '../../schemas/common.ts';
import type { TaskSpec } from '../../schemas/tasks.ts';
import { errors } from '../errors.ts';
import type { Caller, Holds } from './holds.ts';
import type { Lifecycle } from '../lifecycle.ts';
import type { EndedEvent, SubmitTasks, TaskEvents } from './task-events.ts';
import type { CommitPoint } from '../storage/ports.ts';
import { sseFrame, type SseStream } from '../http/sse/sse-stream.ts';
import { channelEntryHolder, parseChannelEntryHolder } from '../state/holder-kinds.ts';
import type { ChannelStore, EntryRow } from '../storage/sqlite/channel-store.ts';

const REPLAY_PAGE = 500;
const IDEMPOTENCY_HORIZON_MS = 24 * 3600 * 1000;

interface Reader {
  stream: SseStream;
  /** The last seq this reader was sent. */
  cursor: number;
  /** Caught up: it gets appends as they are committed, rather than reading them from the store. */
  live: boolean;
}

interface ChannelState {
  readonly name: string;
  maxlen: number | null;
  stopped: boolean;
  /** The stop is committed: readers may be told. */
  stopCommitted: boolean;
  firstSeq: number;
  lastSeq: number;
  /** Appends up to here are committed; readers never see past it. */
  committedSeq: number;
  readonly readers: Set<Reader>;
}

/** Events about channels, emitted once the change is committed. */
export interface ChannelEvents {
  /** A channel was created or its maxlen changed. */
  'channel:configured': [ChannelInfo];
  /** Entries were appended to the channel (its info: Channels.info). */
  'channel:appended': [string, number];
  'channel:stopped': [ChannelInfo];
  'channel:deleted': [string];
}

/**
 * Channels: named, ordered, durable deques of future keys, shared by every
 * client. The scheduler's single thread assigns each append its sequence
 * number; the entry, its hold on the key and the new length are committed
 * before the append is acknowledged, and only then shown to readers.
 *
 * Readers (SSE) replay from the store page by page, with backpressure, and
 * switch to live delivery once they have caught up.
 */
export class Channels {
  readonly events = new EventEmitter<ChannelEvents>();
  readonly #lifecycle: Lifecycle;
  readonly #tasks: TaskEvents;
  readonly #submitter: SubmitTasks;
  readonly #holds: Holds;
  readonly #store: ChannelStore;
  readonly #commits: CommitPoint;
  readonly #log: FastifyBaseLogger;
  readonly #channels = new Map<string, ChannelState>();
  readonly #maxBatch: number;
  /** Channels that exist at once, at most (--max-channels): each costs memory, and every snapshot lists them. */
  readonly #maxChannels: number;
  readonly #onDelete: Array<(name: string) => void> = [];
  #purgeTimer: NodeJS.Timeout | undefined;

  constructor(
    lifecycle: Lifecycle,
    tasks: TaskEvents,
    submitter: SubmitTasks,
    commits: CommitPoint,
    holds: Holds,
    store: ChannelStore,
    log: FastifyBaseLogger,
    limits: { maxChannels: number; maxBatch: number },
  ) {
    this.#lifecycle = lifecycle;
    this.#tasks = tasks;
    this.#submitter = submitter;
    this.#commits = commits;
    this.#holds = holds;
    this.#store = store;
    this.#log = log;
    this.#maxBatch = limits.maxBatch;
    this.#maxChannels = limits.maxChannels;
  }

  /** Load the channels of a previous run and follow task outcomes. */
  start(): void {
    for (const row of this.#store.channels()) {
      this.#channels.set(row.name, {
        name: row.name,
        maxlen: row.maxlen,
        stopped: row.stopped === 1,
        stopCommitted: row.stopped === 1,
        firstSeq: row.first_seq,
        lastSeq: row.lastSeq,
        committedSeq: row.lastSeq,
        readers: new Set(),
      });
    }
    this.#tasks.on('task:ended', this.#onTaskEnded);
    this.#purgeTimer = setInterval(() => this.#store.purgeAppends(Date.now() - IDEMPOTENCY_HORIZON_MS), 3600_000);
    this.#purgeTimer.unref();
  }

  close(): void {
    clearInterval(this.#purgeTimer);
    this.#tasks.off('task:ended', this.#onTaskEnded);
  }

  list(): ChannelInfo[] {
    return [...this.#channels.values()].map(info);
  }

  info(name: string): ChannelInfo {
    return info(this.#get(name));
  }

  /** The channel's info, or undefined if there is no such channel (any more). */
  find(name: string): ChannelInfo | undefined {
    const channel = this.#channels.get(name);
    return channel && info(channel);
  }

  /**
   * Create the channel, or change its maxlen (undefined: leave it as it is).
   * A maxlen below the current length drops the oldest entries at once, which
   * only `mayTruncate` callers (admin) may do; others are refused, changing nothing.
   */
  configure(name: string, maxlen: number | null | undefined, mayTruncate: boolean): ChannelInfo {
    this.#lifecycle.assertOpen();
    const existing = this.#channels.get(name);
    if (existing && maxlen != null && !mayTruncate) {
      const length = existing.lastSeq - existing.firstSeq + 1;
      if (length > maxlen) {
        throw errors.maxlenDropsEntries(name, length, maxlen);
      }
    }
    const existed = existing !== undefined;
    this.#assertRoom([name]);
    const channel = this.#ensure(name, maxlen ?? null);
    if (maxlen !== undefined && maxlen !== channel.maxlen) {
      channel.maxlen = maxlen;
      if (!this.#trim(channel)) this.#persist(channel);
    } else if (existed) {
      return info(channel);
    }
    this.#commits.afterCommit(() => this.events.emit('channel:configured', info(channel)));
    return info(channel);
  }

  /** Append existing keys. Throws, storing nothing, for a stopped channel or a missing key. */
  append(name: string, keys: readonly string[], idempotencyKey?: string): { seqs: number[]; keys: string[] } {
    this.#lifecycle.assertOpen();
    const previous = this.#previous(name, idempotencyKey);
    if (previous) return previous;
    this.#checkWritable(name, keys.length);
    // 404 naming a missing key, before any write. An ended key's status is
    // final, so the lookup that proves it exists also gives its status.
    const ended = keys.map((key) => this.#holds.knownStatus(key));
    return this.#append(name, keys, idempotencyKey, ended);
  }

  /** Submit tasks and append their futures in the same acknowledged write. */
  appendTasks(name: string, specs: readonly TaskSpec[], caller: Caller, fireAndForget = false, idempotencyKey?: string): { seqs: number[]; keys: string[] } {
    this.#lifecycle.assertOpen();
    const previous = this.#previous(name, idempotencyKey);
    if (previous) return previous;
    this.#checkWritable(name, specs.length);
    const keys = this.#submitter.submit(specs, caller, fireAndForget);
    return this.#append(name, keys, idempotencyKey);
  }

  /** POST /tasks where some tasks name a channel: submit all, append each to its channel. */
  submitWithChannels(specs: readonly TaskSpec[], caller: Caller, fireAndForget = false): string[] {
    const byChannel = new Map<string, number>();
    for (const spec of specs) if (spec.channel) byChannel.set(spec.channel, (byChannel.get(spec.channel) ?? 0) + 1);
    for (const [name, count] of byChannel) this.#checkWritable(name, count);
    this.#assertRoom([...byChannel.keys()]);
    const keys = this.#submitter.submit(specs, caller, fireAndForget);
    const grouped = new Map<string, string[]>();
    specs.forEach((spec, i) => {
      if (!spec.channel) return;
      const list = grouped.get(spec.channel);
      if (list) list.push(keys[i]);
      else grouped.set(spec.channel, [keys[i]]);
    });
    for (const [name, channelKeys] of grouped) this.#append(name, channelKeys);
    return keys;
  }

  /** The entries from `from` on, with their futures' status. */
  snapshot(name: string, from: number | undefined, limit: number): ChannelInfo & { futures: EntryRow[]; nextFrom?: number } {
    const channel = this.#get(name);
    const start = Math.max(from ?? channel.firstSeq, channel.firstSeq);
    const futures = this.#store.entries(name, start, channel.committedSeq, limit + 1);
    const more = futures.length > limit;
    if (more) futures.pop();
    return { ...info(channel), futures, ...(more ? { nextFrom: futures[futures.length - 1].seq + 1 } : {}) };
  }

  /** Stop the channel: every reader's iteration ends; later appends get 409. */
  stop(name: string): ChannelInfo {
    this.#lifecycle.assertOpen();
    const channel = this.#get(name);
    if (!channel.stopped) {
      channel.stopped = true;
      this.#persist(channel);
      this.#commits.afterCommit(() => {
        channel.stopCommitted = true;
        for (const reader of channel.readers) if (reader.live) this.#sendStop(channel, reader);
        this.events.emit('channel:stopped', info(channel));
      });
    }
    return info(channel);
  }

  /** Run fn(name) as a channel is deleted, in the same transaction (what belongs to it goes with it). */
  onDelete(fn: (name: string) => void): void {
    this.#onDelete.push(fn);
  }

  /** Delete the channel: readers are told it stopped, its holds are released. */
  delete(name: string): void {
    this.#lifecycle.assertOpen();
    const channel = this.#get(name);
    this.#channels.delete(name);
    for (const fn of this.#onDelete) fn(name);
    for (const entry of this.#store.delete(name)) this.#holds.release([entry.key], channelEntryHolder(name, entry.seq));
    this.#commits.afterCommit(() => {
      for (const reader of channel.readers) this.#sendStop(channel, reader);
      this.events.emit('channel:deleted', name);
    });
  }

  /**
   * A reader wants every entry after `after`, then whatever comes. It gets
   * `append` events (id = seq), `status` events for entries it has seen, and
   * `stop` before the stream ends.
   */
  subscribe(name: string, stream: SseStream, after: number): void {
    const channel = this.#get(name);
    const reader: Reader = { stream, cursor: after, live: false };
    channel.readers.add(reader);
    stream.onClose(() => channel.readers.delete(reader));
    void this.#replay(channel, reader).catch((error: unknown) => {
      this.#log.error({ err: error, channel: name }, 'channel replay failed');
      stream.close();
    });
  }

  drain(): void {
    for (const channel of this.#channels.values()) for (const reader of channel.readers) reader.stream.close();
  }

  // ── internals ──────────────────────────────────────────────────────────

  #get(name: string): ChannelState {
    const channel = this.#channels.get(name);
    if (!channel) throw errors.unknownChannel(name);
    return channel;
  }

  #ensure(name: string, maxlen: number | null): ChannelState {
    let channel = this.#channels.get(name);
    if (!channel) {
      this.#store.create(name, maxlen, Date.now());
      channel = { name, maxlen, stopped: false, stopCommitted: false, firstSeq: 1, lastSeq: 0, committedSeq: 0, readers: new Set() };
      this.#channels.set(name, channel);
    }
    return channel;
  }

  /** Throws 503 if the channels among these that do not exist yet would pass --max-channels. */
  #assertRoom(names: readonly string[]): void {
    let created = 0;
    for (const name of names) if (!this.#channels.has(name)) created++;
    if (created === 0 || this.#channels.size + created <= this.#maxChannels) return;
    throw errors.tooManyChannels(this.#channels.size, this.#maxChannels);
  }

  #checkWritable(name: string, count: number): void {
    if (count > this.#maxBatch) throw errors.tooLarge(`an append of ${count} entries`, this.#maxBatch);
    this.#assertRoom([name]);
    if (this.#channels.get(name)?.stopped) {
      throw errors.channelStopped(name);
    }
  }

  #previous(name: string, idempotencyKey: string | undefined): { seqs: number[]; keys: string[] } | undefined {
    if (idempotencyKey === undefined || !this.#channels.has(name)) return undefined;
    return this.#store.previousAppend(name, idempotencyKey);
  }

  /** The keys exist and the channel takes appends: write. */
  #append(name: string, keys: readonly string[], idempotencyKey?: string, ended?: ReadonlyArray<FutureStatus | undefined>): { seqs: number[]; keys: string[] } {
    const channel = this.#ensure(name, null);
    const seqs: number[] = [];
    for (const key of keys) {
      const seq = ++channel.lastSeq;
      this.#store.insertEntry(name, seq, key);
      this.#holds.hold([key], channelEntryHolder(name, seq));
      seqs.push(seq);
    }
    // The channel's row is written when its first entry or its config changes;
    // its last seq otherwise comes from its newest entry (ChannelStore.channels).
    this.#trim(channel);
    const answer = { seqs, keys: [...keys] };
    if (idempotencyKey !== undefined) this.#store.recordAppend(name, idempotencyKey, answer, Date.now());
    this.#commits.afterCommit(() => this.#announce(channel, seqs, keys, ended));
    return answer;
  }

  /** Deque semantics: beyond maxlen the oldest entries fall off and let go of their keys. Answers whether any did (the row is then written). */
  #trim(channel: ChannelState): boolean {
    if (channel.maxlen === null || channel.lastSeq - channel.firstSeq + 1 <= channel.maxlen) return false;
    const upTo = channel.lastSeq - channel.maxlen;
    for (const entry of this.#store.dropUpTo(channel.name, upTo)) {
      this.#holds.release([entry.key], channelEntryHolder(channel.name, entry.seq));
    }
    channel.firstSeq = upTo + 1;
    this.#persist(channel);
    return true;
  }

  #persist(channel: ChannelState): void {
    this.#store.update(channel.name, { maxlen: channel.maxlen, stopped: channel.stopped, firstSeq: channel.firstSeq, lastSeq: channel.lastSeq });
  }

  /** Committed: readers that are caught up get the new entries. */
  #announce(channel: ChannelState, seqs: readonly number[], keys: readonly string[], ended?: ReadonlyArray<FutureStatus | undefined>): void {
    channel.committedSeq = Math.max(channel.committedSeq, seqs[seqs.length - 1]);
    if (this.#channels.get(channel.name) !== channel) return;
    this.events.emit('channel:appended', channel.name, seqs.length);
    if (channel.readers.size === 0) return;
    // A key that was pending when appended may have ended since: ask again.
    const frames = seqs.map((seq, i) => ({ seq, frame: appendFrame(seq, keys[i], ended?.[i] ?? this.#status(keys[i])) }));
    for (const reader of channel.readers) {
      if (!reader.live) continue;
      for (const { seq, frame } of frames) {
        if (seq <= reader.cursor) continue;
        reader.stream.write(frame);
        reader.cursor = seq;
      }
    }
  }

  #status(key: string): FutureStatus {
    return this.#holds.status(key) ?? 'pending';
  }

  async #replay(channel: ChannelState, reader: Reader): Promise<void> {
    for (;;) {
      if (!reader.stream.open || this.#channels.get(channel.name) !== channel) return;
      const upTo = channel.committedSeq;
      if (reader.cursor >= upTo) {
        reader.live = true;
        if (channel.stopCommitted) this.#sendStop(channel, reader);
        return;
      }
      const from = Math.max(reader.cursor + 1, channel.firstSeq);
      const rows = this.#store.entries(channel.name, from, upTo, REPLAY_PAGE);
      if (rows.length === 0) reader.cursor = upTo;
      for (const row of rows) {
        reader.stream.write(appendFrame(row.seq, row.key, row.status));
        reader.cursor = row.seq;
      }
      await reader.stream.drained();
    }
  }

  #sendStop(channel: ChannelState, reader: Reader): void {
    reader.stream.write(sseFrame('stop', JSON.stringify({ name: channel.name, lastSeq: channel.committedSeq } satisfies ChannelStop)));
    reader.stream.close();
  }

  /** A task ended: readers that have seen its entries hear its new status. */
  readonly #onTaskEnded = (event: EndedEvent): void => {
    for (const holder of event.holders) {
      const entry = parseChannelEntryHolder(holder);
      if (!entry) continue;
      const channel = this.#channels.get(entry.channel);
      if (!channel || channel.readers.size === 0) continue;
      const frame = sseFrame('status', JSON.stringify({ seq: entry.seq, key: event.key, status: event.outcome.status } satisfies ChannelEntry));
      for (const reader of channel.readers) if (reader.live && reader.cursor >= entry.seq) reader.stream.write(frame);
    }
  };
}

function appendFrame(seq: number, key: string, status: FutureStatus): string {
  return sseFrame('append', JSON.stringify({ seq, key, status } satisfies ChannelEntry), seq);
}

function info(channel: ChannelState): ChannelInfo {
  return {
    name: channel.name,
    length: Math.max(0, channel.committedSeq - channel.firstSeq + 1),
    maxlen: channel.maxlen,
    stopped: channel.stopped,
    lastSeq: channel.committedSeq,
  };
}
