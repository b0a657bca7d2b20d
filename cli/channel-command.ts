import { openEventStream } from '../client/event-stream.ts';
import { SluiceError } from '../client/errors.ts';
import { Http } from '../client/http.ts';
import { undiciTransport } from '../client/node-transport.ts';
import type { ChannelInfo } from '../schemas/channels.ts';

const path = (name: string): string => `/channels/${encodeURIComponent(name)}`;

const auth = (token: string | undefined): Record<string, string> => (token ? { authorization: `Bearer ${token}` } : {});
const http = (scheduler: string, token: string | undefined): Http => new Http(scheduler, { transport: undiciTransport(), headers: auth(token) });

function fail(error: unknown): number {
  const message = error instanceof SluiceError ? `${error.code}: ${error.message}` : String(error);
  process.stderr.write(`sluice channel: ${message}\n`);
  return 1;
}

/** sluice channel ls: one line per channel. */
export async function listChannels(scheduler: string, token?: string): Promise<number> {
  try {
    const channels = await http(scheduler, token).request<ChannelInfo[]>('GET', '/channels');
    const rows = [['NAME', 'LENGTH', 'MAXLEN', 'LAST SEQ', 'STOPPED'], ...channels.map((c) => [c.name, String(c.length), c.maxlen === null ? '-' : String(c.maxlen), String(c.lastSeq), c.stopped ? 'yes' : 'no'])];
    const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
    for (const row of rows) process.stdout.write(`${row.map((cell, i) => cell.padEnd(widths[i])).join('  ').trimEnd()}\n`);
    return 0;
  } catch (error) {
    return fail(error);
  }
}

/** sluice channel append NAME KEY...: prints the sequence numbers given. */
export async function appendToChannel(scheduler: string, name: string, keys: string[], token?: string): Promise<number> {
  try {
    const { seqs } = await http(scheduler, token).request<{ seqs: number[] }>('POST', `${path(name)}/append`, { keys });
    process.stdout.write(`${seqs.join('\n')}\n`);
    return 0;
  } catch (error) {
    return fail(error);
  }
}

/** sluice channel stop NAME */
export async function stopChannel(scheduler: string, name: string, token?: string): Promise<number> {
  try {
    await http(scheduler, token).request('POST', `${path(name)}/stop`);
    return 0;
  } catch (error) {
    return fail(error);
  }
}

/**
 * sluice channel tail NAME: print each entry as a JSON line {seq, key, status}
 * (and each later status change), until the channel stops or SIGINT.
 * Reconnects by itself, resuming after the last entry printed.
 */
export function tailChannel(scheduler: string, name: string, from: number | undefined, token?: string): Promise<number> {
  return new Promise((resolve) => {
    const query = from === undefined ? '' : `?from=${from}`;
    const stream = openEventStream({
      url: `${scheduler.replace(/\/+$/, '')}${path(name)}/events${query}`,
      transport: undiciTransport(),
      headers: auth(token),
      onEvent: (event) => {
        if (event.event === 'append' || event.event === 'status') {
          process.stdout.write(`${JSON.stringify({ event: event.event, ...JSON.parse(event.data) })}\n`);
        } else if (event.event === 'stop') {
          stream.close();
          resolve(0);
        }
      },
      onFatal: (error) => resolve(fail(error)),
    });
    process.once('SIGINT', () => {
      stream.close();
      resolve(0);
    });
  });
}
