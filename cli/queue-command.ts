import { waitFor } from '../client/calls.ts';
import { ROUTES } from '../schemas/routes.ts';
import { fail, printTable } from './output.ts';
import { parseArg, schedulerHttp } from './submit-command.ts';

/** sluice queue ls: one line per queue. */
export async function listQueues(scheduler: string, token?: string): Promise<number> {
  try {
    const queues = await schedulerHttp({ scheduler, token }).call(ROUTES.queueList);
    printTable([
      ['NAME', 'SIZE', 'MAXSIZE', 'GETTERS', 'PUTTERS'],
      ...queues.map((q) => [q.name, String(q.size), q.maxsize === null ? '-' : String(q.maxsize), String(q.getters), String(q.putters)]),
    ]);
    return 0;
  } catch (error) {
    return fail('queue', error);
  }
}

/** sluice queue put NAME ITEM...: all the items or none; waits for room up to --timeout; prints the size after. */
export async function putItems(scheduler: string, name: string, items: string[], timeoutS: number | undefined, token?: string): Promise<number> {
  try {
    const http = schedulerHttp({ scheduler, token });
    const body = { items: items.map(parseArg) };
    const { size } = await waitFor((s) => http.call(ROUTES.queuePut, { params: { name }, query: { timeout: s }, body }), {
      timeoutMs: timeoutS === undefined ? undefined : timeoutS * 1000,
      failure: `queue ${name} had no room`,
    });
    process.stdout.write(`${size}\n`);
    return 0;
  } catch (error) {
    return fail('queue', error);
  }
}

/** sluice queue get NAME: takes up to --batch items, waiting up to --timeout for the first; prints each as a JSON line. */
export async function getItems(scheduler: string, name: string, batch: number, timeoutS: number | undefined, token?: string): Promise<number> {
  try {
    const http = schedulerHttp({ scheduler, token });
    const { items } = await waitFor((s) => http.call(ROUTES.queueGet, { params: { name }, query: { batch, timeout: s } }), {
      timeoutMs: timeoutS === undefined ? undefined : timeoutS * 1000,
      failure: `no item came to queue ${name}`,
    });
    for (const item of items) process.stdout.write(`${JSON.stringify(item)}\n`);
    return 0;
  } catch (error) {
    return fail('queue', error);
  }
}
