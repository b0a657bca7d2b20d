import type { FastifyInstance } from 'fastify';
import { insecureBeyondLoopback, isLoopbackAddress, startupProblem } from '../server/http/auth.ts';
import type { SchedulerConfig } from '../server/config.ts';
import { SchedulerHost } from '../server/host.ts';
import { isPostgresUrl, withoutPassword } from '../server/storage/postgres/postgres-storage.ts';
import { type LogFormat, logDestination } from './logging.ts';

/**
 * Take the store, build the app and listen; resolves with the host, the app
 * serving now (the host may replace it: see SchedulerHost) and the URL.
 * Logs go to stdout as JSON lines, or as readable lines (logFormat pretty),
 * which also print one plain line with the dashboard's address.
 */
export async function startScheduler(config: SchedulerConfig, logFormat: LogFormat = 'json'): Promise<{ host: SchedulerHost; app: FastifyInstance; url: string }> {
  const problem = await startupProblem(config.host, { client: config.clientToken, worker: config.workerToken, admin: config.adminToken }, config.insecure);
  if (problem) throw new Error(problem);
  const host = await SchedulerHost.start(config, await logDestination(logFormat));
  if (config.insecure) {
    // listen resolved the name again: check what it bound, not what it was told.
    const beyond = host.addresses().filter((address) => !isLoopbackAddress(address));
    if (beyond.length > 0) {
      await host.shutdown(0);
      throw new Error(insecureBeyondLoopback(`${beyond.join(', ')} (${config.host})`));
    }
  }
  const url = host.url;
  const dashboard = `${url}/dashboard`;
  // A standby (PostgreSQL, another scheduler leads) listens without a store of its own open.
  const db = host.app?.store.location ?? (isPostgresUrl(config.db) ? withoutPassword(config.db) : config.db);
  host.log.info({ url, db, role: host.role, auth: config.insecure ? 'off (--insecure)' : 'bearer tokens', dashboard }, 'sluice scheduler ready');
  if (logFormat === 'pretty') {
    const login = config.insecure ? '' : ' (it asks for a client token)';
    process.stdout.write(`\nsluice is ready at ${url}: the dashboard is ${dashboard}${login}, the API ${url}/docs\n\n`);
  }
  return { host, app: host.app, url };
}

/**
 * Shutdown on SIGTERM / SIGINT: the first signal drains (new requests get 503,
 * running tasks finish, streams end, SQLite is checkpointed and closed); a
 * second signal exits at once (after onSecond). Returns the shutdown, for a
 * stop asked another way.
 */
export function onSignals(log: FastifyInstance['log'], shutdown: () => Promise<void>, onSecond?: () => void): (why: Record<string, unknown>) => void {
  let stopping = false;
  let signalled = false;
  const handle = (signal: NodeJS.Signals): void => {
    if (signalled) {
      log.warn({ signal }, 'second signal: exiting now');
      onSecond?.();
      process.exit(1);
    }
    signalled = true;
    begin({ signal });
  };
  // The first signal's shutdown, also for a stop that comes another way (a
  // local worker signalled); a signal after that is still the first one.
  const begin = (why: Record<string, unknown>): void => {
    if (stopping) return;
    stopping = true;
    log.info(why, 'shutting down');
    shutdown().then(
      () => process.exit(0),
      (error: unknown) => {
        log.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', handle);
  process.on('SIGINT', handle);
  return begin;
}

/** Drain (503 to new requests, running tasks finish up to the grace period), then close. */
export async function shutdown(host: SchedulerHost, graceMs: number): Promise<void> {
  await host.shutdown(graceMs);
}

export async function runScheduler(config: SchedulerConfig, logFormat: LogFormat): Promise<void> {
  const { host } = await startScheduler(config, logFormat);
  onSignals(host.log, () => shutdown(host, config.shutdownGraceMs));
}
