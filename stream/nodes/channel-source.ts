// A source that reads a channel of the scheduler.
import type { Channel } from '../../client/channel.ts';
import type { Client } from '../../client/client.ts';
import type { GraphContext } from '../context.ts';
import { abortable } from '../gate.ts';
import type { ErrorOptions } from '../policy.ts';
import { RemoteItem } from '../remote-item.ts';
import { DoneTracker } from './done-tracker.ts';
import { LateErrors } from './late-errors.ts';
import { SourceNode } from './source.ts';

export interface ChannelSourceOptions extends ErrorOptions {
  /** The first sequence number to read (default: after the consumer's position, or the oldest entry still in the channel). */
  from?: number;
  /**
   * Read as this consumer: start just after its committed position, and
   * commit the position as entries are done with (every branch finished
   * with them), so that after a crash a pipeline under the same name starts
   * again with the first entry not yet done with. See `committedSeq`.
   */
  consumer?: string;
}

/**
 * The futures of a channel, in the channel's order, from `from` on; then
 * the new ones as they are appended, until the channel is stopped. Reading
 * resumes by itself across dropped connections and scheduler restarts
 * (Channel.entries). `lastSeq` is the sequence number of the last entry the
 * pipeline took: start a new source at lastSeq + 1 to go on after a stop.
 *
 * With a `consumer` name, each entry carries metadata `{ ref, channel, seq }`
 * and the source commits the consumer's position on the scheduler: the last
 * entry such that it and every entry before it are done with. An entry a
 * step failed on (and did not skip) holds the position before it. Commits go
 * one at a time, each with the newest position; start() resolves after the
 * last one. After a crash, the entries seen twice are those done with since
 * the last commit the scheduler acknowledged, and those in flight.
 */
export class ChannelSource extends SourceNode {
  readonly #client: Client;
  readonly #name: string;
  readonly #from: number | undefined;
  readonly #consumer: string | undefined;
  readonly #late: LateErrors;
  #channel: Channel | undefined;
  /** The position reached: every entry up to it is done with. */
  #done = new DoneTracker<number>(() => {
    if (!this.context.cancelled) void this.#commit();
  }, 0);
  #committing: Promise<void> | undefined;
  lastSeq: number | undefined;
  /** The consumer's position the scheduler has acknowledged. */
  committedSeq: number | undefined;

  constructor(client: Client, name: string, context: GraphContext | undefined, options: ChannelSourceOptions = {}) {
    super(`fromChannel('${name}')`, context, options);
    this.#client = client;
    this.#name = name;
    this.#from = options.from;
    this.#consumer = options.consumer;
    this.#late = new LateErrors(this.operator);
  }

  protected async produce(signal: AbortSignal): Promise<void> {
    const channel = this.#client.channel(this.#name);
    this.#channel = channel;
    let from = this.#from;
    if (this.#consumer !== undefined) {
      const position = await abortable(channel.position(this.#consumer), signal);
      this.committedSeq = position;
      this.#done.last = position;
      from ??= position + 1;
    }
    const entries = channel.entries(from === undefined ? {} : { from });
    try {
      for (;;) {
        const step = await abortable(entries.next(), signal);
        if (step.done) return;
        const { seq, future } = step.value;
        if (signal.aborted) {
          future.release();
          return;
        }
        if (this.#consumer === undefined) await this.deliver(new RemoteItem(future));
        else await this.deliver(new RemoteItem(future), [{ ref: this.#done.track(seq), channel: this.#name, seq }]);
        this.lastSeq = seq;
        if (signal.aborted) return;
      }
    } finally {
      await entries.return?.();
    }
  }

  /** One commit at a time, each with the newest position. */
  #commit(): Promise<void> {
    this.#committing ??= (async () => {
      try {
        while (this.#consumer !== undefined && this.#channel && (this.#done.last ?? 0) > (this.committedSeq ?? 0) && !this.context.cancelled) {
          const seq = this.#done.last ?? 0;
          await this.#channel.commit(this.#consumer, seq);
          this.committedSeq = seq;
        }
      } catch (error) {
        if (!this.context.cancelled) this.#late.add(error, `the position ${String(this.#done.last)} of consumer ${this.#consumer}`);
      } finally {
        this.#committing = undefined;
      }
    })();
    return this.#committing;
  }

  /** The last commit, after the pipeline has finished (every entry it took is done with, or failed). */
  protected override async settle(): Promise<void> {
    try {
      if (this.#consumer !== undefined && !this.context.cancelled) {
        while (this.#committing) await this.#committing;
        await this.#commit();
      }
      const [first] = this.#late.takeAll();
      if (first) throw first;
    } finally {
      this.#channel?.close();
    }
  }
}
