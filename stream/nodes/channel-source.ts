// A source that reads a channel of the scheduler.
import type { Client } from '../../client/client.ts';
import type { GraphContext } from '../context.ts';
import { abortable } from '../gate.ts';
import type { ErrorOptions } from '../policy.ts';
import { RemoteItem } from '../remote-item.ts';
import { SourceNode } from './source.ts';

export interface ChannelSourceOptions extends ErrorOptions {
  /** The first sequence number to read (default: the oldest entry still in the channel). */
  from?: number;
}

/**
 * The futures of a channel, in the channel's order, from `from` on; then
 * the new ones as they are appended, until the channel is stopped. Reading
 * resumes by itself across dropped connections and scheduler restarts
 * (Channel.entries). `lastSeq` is the sequence number of the last entry the
 * pipeline took: start a new source at lastSeq + 1 to go on after a stop.
 */
export class ChannelSource extends SourceNode {
  readonly #client: Client;
  readonly #name: string;
  readonly #from: number | undefined;
  lastSeq: number | undefined;

  constructor(client: Client, name: string, context: GraphContext | undefined, options: ChannelSourceOptions = {}) {
    super(`fromChannel('${name}')`, context, options);
    this.#client = client;
    this.#name = name;
    this.#from = options.from;
  }

  protected async produce(signal: AbortSignal): Promise<void> {
    const channel = this.#client.channel(this.#name);
    const entries = channel.entries(this.#from === undefined ? {} : { from: this.#from });
    try {
      for (;;) {
        const step = await abortable(entries.next(), signal);
        if (step.done) return;
        const { seq, future } = step.value;
        if (signal.aborted) {
          future.release();
          return;
        }
        await this.deliver(new RemoteItem(future));
        this.lastSeq = seq;
        if (signal.aborted) return;
      }
    } finally {
      await entries.return?.();
      channel.close();
    }
  }
}

