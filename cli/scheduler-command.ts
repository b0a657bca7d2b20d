import type { FastifyInstance } from 'fastify';
import { buildApp } from '../server/app.ts';
import { insecureBeyondLoopback, isLoopbackAddress, startupProblem } from '../server/auth.ts';
import type { SchedulerConfig } from '../server/config.ts';
import { type LogFormat, logDestination } from './logging.ts';

/**
 * Build the app and listen; resolves with the app and the URL it serves.
 * Logs go to stdout as JSON lines, or as readable lines (logFormat pretty),
 * which also print one plain line with the dashboard's address.
 */
export async function startScheduler(config: SchedulerConfig, logFormat: LogFormat = 'json'): Promise<{ app: FastifyInstance; url: string }> {
  const problem = await startupProblem(config.host, { client: config.clientToken, worker: config.workerToken, admin: config.adminToken }, config.insecure);
  if (problem) throw new Error(problem);
  const stream = await logDestination(logFormat);
  const app = await buildApp({ config, logger: stream ? { level: config.logLevel, stream } : undefined });
  await app.listen({ port: config.port, host: config.host });
  if (config.insecure) {
    // listen resolved the name again: check what it bound, not what it was told.
    const beyond = app.addresses().flatMap((a) => (typeof a === 'string' || isLoopbackAddress(a.address) ? [] : [a.address]));
    if (beyond.length > 0) {
      await app.close();
      throw new Error(insecureBeyondLoopback(`${beyond.join(', ')} (${config.host})`));
    }
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  const url = `http://${host === '0.0.0.0' || host === '[::]' ? '127.0.0.1' : host}:${port}`;
  const dashboard = `${url}/dashboard`;
  app.log.info({ url, db: config.db, auth: config.insecure ? 'off (--insecure)' : 'bearer tokens', dashboard }, 'sluice scheduler ready');
  if (logFormat === 'pretty') {
    const login = config.insecure ? '' : ' (it asks for a client token)';
    process.stdout.write(`\nsluice is ready at ${url}: the dashboard is ${dashboard}${login}, the API ${url}/docs\n\n`);
  }
  return { app, url };
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
export async function shutdown(app: FastifyInstance, graceMs: number): Promise<void> {
  await app.scheduler.drain(graceMs);
  await app.close();
}

export async function runScheduler(config: SchedulerConfig, logFormat: LogFormat): Promise<void> {
  const { app } = await startScheduler(config, logFormat);
  onSignals(app.log, () => shutdown(app, config.shutdownGraceMs));
}
