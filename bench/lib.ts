// Shared by the benchmarks: a real scheduler (and workers) on loopback, timing, JSON output.
import { cpus, totalmem } from 'node:os';
import { undiciTransport } from '../client/node-transport.ts';
import { startScheduler, startWorker, type SchedulerProc } from '../test/helpers/cluster.ts';
import { launchPostgres } from '../test/helpers/postgres.ts';
import type { Teardown } from '../test/helpers/processes.ts';

export interface Result {
  workload: string;
  value: number;
  unit: string;
  params: Record<string, unknown>;
}

/** Collects teardown functions and runs them, last first. */
export class Cleanup implements Teardown {
  readonly #fns: Array<() => unknown> = [];
  teardown(fn: () => unknown): void {
    this.#fns.push(fn);
  }
  async run(): Promise<void> {
    for (const fn of this.#fns.reverse()) await fn();
  }
}

/** `--store postgres`: the scheduler keeps its state on a private PostgreSQL (the default is a SQLite file). */
export const store: 'sqlite' | 'postgres' = process.argv[process.argv.indexOf('--store') + 1] === 'postgres' && process.argv.includes('--store') ? 'postgres' : 'sqlite';

/** Where the scheduler keeps its state: a fresh SQLite file (undefined), or a fresh private PostgreSQL with --store postgres. */
async function benchStore(cleanup: Cleanup): Promise<string | undefined> {
  if (store !== 'postgres') return undefined;
  const server = await launchPostgres();
  cleanup.teardown(() => server.stop());
  return server.url;
}

export async function cluster(cleanup: Cleanup, options: { workers?: number; concurrency?: number; args?: string[]; env?: NodeJS.ProcessEnv } = {}): Promise<SchedulerProc> {
  // The load generator is one caller standing in for many: it opens up to 1000 SSE streams (the fan-out workloads),
  // with no session, from one address, within the 4,096 per token (per address, insecure) a scheduler allows by default.
  const scheduler = await startScheduler(cleanup, { db: await benchStore(cleanup), args: options.args ?? [], env: options.env });
  for (let i = 0; i < (options.workers ?? 0); i++) {
    await startWorker(cleanup, scheduler.url, { concurrency: options.concurrency ?? 64, args: ['--log-level', 'warn'] });
  }
  return scheduler;
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

export const round = (n: number, digits = 2): number => Number(n.toFixed(digits));

/** The machine, for the record. */
export function machine(): Record<string, unknown> {
  return { cpus: cpus().length, cpu: cpus()[0]?.model, memoryGiB: round(totalmem() / 2 ** 30, 1), node: process.version, platform: process.platform };
}

/** `--quick` shrinks every workload to a smoke check. */
export const quick = process.argv.includes('--quick');

export function print(suite: string, results: Result[]): void {
  process.stdout.write(`${JSON.stringify({ suite, date: new Date().toISOString(), quick, store, machine: machine(), results }, null, 2)}\n`);
}

/**
 * The load generator's HTTP: the sluice client's own Node transport (undici,
 * keep-alive connections, an origin and a path per request rather than a URL
 * to parse), which costs far less per call than fetch.
 */
const transport = undiciTransport({ connections: 256 });

export async function postJson(url: string, body: unknown, method = 'POST'): Promise<unknown> {
  const { status, text } = await transport.request(method, url, { 'content-type': 'application/json' }, JSON.stringify(body));
  if (status >= 300) throw new Error(`${url}: ${status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}
