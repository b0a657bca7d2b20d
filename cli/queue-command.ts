import { waitFor } from '../client/calls.ts';
import { SluiceError } from '../client/errors.ts';
import { Http } from '../client/http.ts';
import type { QueueInfo } from '../schemas/queues.ts';
import { parseArg } from './submit-command.ts';

const path = (name: string): string => `/queues/${encodeURIComponent(name)}`;

export function fail(command: string, error: unknown): number {
  const message = error instanceof SluiceError ? `${error.code}: ${error.message}` : String(error);
  process.stderr.write(`sluice ${command}: ${message}\n`);
  return 1;
}

/** sluice queue ls: one line per queue. */
export async function listQueues(scheduler: string): Promise<number> {
  try {
    const queues = await new Http(scheduler).request<QueueInfo[]>('GET', '/queues');
    const rows = [
      ['NAME', 'SIZE', 'MAXSIZE', 'GETTERS', 'PUTTERS'],
      ...queues.map((q) => [q.name, String(q.size), q.maxsize === null ? '-' : String(q.maxsize), String(q.getters), String(q.putters)]),
    ];
    const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
    for (const row of rows) process.stdout.write(`${row.map((cell, i) => cell.padEnd(widths[i])).join('  ').trimEnd()}\n`);
    return 0;
  } catch (error) {
    return fail('queue', error);
  }
}

/** sluice queue put NAME ITEM...: all the items or none; waits for room up to --timeout; prints the size after. */
export async function putItems(scheduler: string, name: string, items: string[], timeoutS: number | undefined): Promise<number> {
  try {
    const http = new Http(scheduler);
    const body = { items: items.map(parseArg) };
    const { size } = await waitFor((s) => http.request<{ size: number }>('POST', `${path(name)}/put?timeout=${s}`, body), {
      timeoutMs: timeoutS === undefined ? undefined : timeoutS * 1000,
      what: `room in queue ${name}`,
    });
    process.stdout.write(`${size}\n`);
    return 0;
  } catch (error) {
    return fail('queue', error);
  }
}

/** sluice queue get NAME: takes up to --batch items, waiting up to --timeout for the first; prints each as a JSON line. */
export async function getItems(scheduler: string, name: string, batch: number, timeoutS: number | undefined): Promise<number> {
  try {
    const http = new Http(scheduler);
    const { items } = await waitFor((s) => http.request<{ items: unknown[] }>('POST', `${path(name)}/get?batch=${batch}&timeout=${s}`), {
      timeoutMs: timeoutS === undefined ? undefined : timeoutS * 1000,
      what: `an item in queue ${name}`,
    });
    for (const item of items) process.stdout.write(`${JSON.stringify(item)}\n`);
    return 0;
  } catch (error) {
    return fail('queue', error);
  }
}
