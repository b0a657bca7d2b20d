import type { ConsumerPosition } from '../../schemas/channel-consumers.ts';
import type { Channels } from './channels.ts';
import { errors } from '../errors.ts';
import type { Lifecycle } from '../lifecycle.ts';
import type { ConsumerRow, ConsumerStore } from '../storage/sqlite/consumer-store.ts';

/**
 * Consumers' positions in channels: for each (channel, consumer name), the
 * last entry that consumer has finished with, durable. A stream pipeline
 * reading a channel commits its position as entries are done with, and
 * after a crash starts again just after it: nothing skipped, and only the
 * entries done with since the last commit seen twice.
 *
 * A position only moves forward unless a commit says `rewind`, so a slow
 * second reader under the same name cannot move it back by mistake. A
 * commit is written before it is acknowledged. Deleting the channel deletes
 * its consumers in the same transaction.
 */
export class ChannelConsumers {
  readonly #lifecycle: Lifecycle;
  readonly #channels: Channels;
  readonly #store: ConsumerStore;

  constructor(lifecycle: Lifecycle, channels: Channels, store: ConsumerStore) {
    this.#lifecycle = lifecycle;
    this.#channels = channels;
    this.#store = store;
  }

  start(): void {
    this.#channels.onDelete((name) => this.#store.deleteAll(name));
  }

  /** The consumer's position; a consumer that never committed is at 0. 404 for an unknown channel. */
  get(channel: string, consumer: string): ConsumerPosition {
    this.#channels.info(channel);
    return position(channel, consumer, this.#store.get(channel, consumer));
  }

  list(channel: string): ConsumerPosition[] {
    this.#channels.info(channel);
    return this.#store.list(channel).map((row) => position(channel, row.consumer, row));
  }

  /** Move the position to seq (forward only, unless rewind). Answers the position now. */
  commit(channel: string, consumer: string, seq: number, rewind = false): ConsumerPosition {
    this.#lifecycle.assertOpen();
    const info = this.#channels.info(channel);
    if (seq > info.lastSeq) {
      throw errors.consumerPastEnd(seq, channel, info.lastSeq);
    }
    const current = this.#store.get(channel, consumer);
    if (current && current.seq >= seq && !rewind) return position(channel, consumer, current);
    const now = Date.now();
    this.#store.save(channel, consumer, seq, now);
    return position(channel, consumer, { consumer, seq, updated_at: now });
  }

  /** Forget the consumer (it starts again at the oldest entry). */
  delete(channel: string, consumer: string): void {
    this.#lifecycle.assertOpen();
    this.#channels.info(channel);
    this.#store.delete(channel, consumer);
  }
}

function position(channel: string, consumer: string, row: ConsumerRow | undefined): ConsumerPosition {
  return { channel, consumer, seq: row?.seq ?? 0, updatedAt: row ? new Date(row.updated_at).toISOString() : null };
}
