import { createInterface } from 'node:readline/promises';
import { openEventStream } from '../client/event-stream.ts';
import { Schedulers } from '../client/schedulers.ts';
import { Http } from '../client/http.ts';
import { undiciTransport } from '../client/node-transport.ts';
import { pathOf, ROUTES } from '../schemas/routes.ts';
import { fail as failWith, printTable } from './output.ts';

const auth = (token: string | undefined): Record<string, string> => (token ? { authorization: `Bearer ${token}` } : {});
const http = (scheduler: string, token: string | undefined): Http => new Http(scheduler, { transport: undiciTransport(), headers: auth(token) });

const fail = (error: unknown): number => failWith('channel', error);

/** sluice channel ls: one line per channel. */
export async function listChannels(scheduler: string, token?: string): Promise<number> {
  try {
    const channels = await http(scheduler, token).call(ROUTES.channelList);
    printTable([['NAME', 'LENGTH', 'MAXLEN', 'LAST SEQ', 'STOPPED'], ...channels.map((c) => [c.name, String(c.length), c.maxlen === null ? '-' : String(c.maxlen), String(c.lastSeq), c.stopped ? 'yes' : 'no'])]);
    return 0;
  } catch (error) {
    return fail(error);
  }
}

/** sluice channel append NAME KEY...: prints the sequence numbers given. */
export async function appendToChannel(scheduler: string, name: string, keys: string[], token?: string): Promise<number> {
  try {
    const { seqs } = await http(scheduler, token).call(ROUTES.channelAppend, { params: { name }, body: { keys } });
    process.stdout.write(`${seqs.join('\n')}\n`);
    return 0;
  } catch (error) {
    return fail(error);
  }
}

/**
 * sluice channel stop NAME: asks first on a terminal (--yes does not), and
 * refuses without --yes when there is no terminal to ask on: a stop cannot
 * be undone.
 */
export async function stopChannel(scheduler: string, name: string, token: string | undefined, yes: boolean): Promise<number> {
  if (!yes) {
    if (!process.stdin.isTTY) {
      return fail(`stopping a channel cannot be undone, and there is no terminal to ask on: run again with --yes to stop ${name}`);
    }
    const prompt = createInterface({ input: process.stdin, output: process.stderr });
    // Ctrl-C or Ctrl-D at the question is a no.
    const asked = new AbortController();
    prompt.once('SIGINT', () => asked.abort());
    prompt.once('close', () => asked.abort());
    const answer = await prompt
      .question(`Stop channel ${name}? Appends to it will be refused and every reader's iteration ends, for good. [y/N] `, { signal: asked.signal })
      .catch(() => '');
    prompt.close();
    if (!/^y(es)?$/i.test(answer.trim())) return fail(`${name} was not stopped`);
  }
  try {
    await http(scheduler, token).call(ROUTES.channelStop, { params: { name } });
    process.stderr.write(`sluice channel: ${name} is stopped\n`);
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
  const schedulers = new Schedulers(scheduler);
  const path = pathOf(ROUTES.channelEntries, { name }, { from });
  let base = schedulers.current;
  return new Promise((resolve) => {
    const stream = openEventStream({
      url: () => (base = schedulers.current) + path,
      // Several schedulers: a stream that cannot be read where it was moves to another.
      onDrop: (error) => schedulers.streamDropped(base, error),
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
