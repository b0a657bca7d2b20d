// The in-process tier: the real app (server/app.ts: every plugin, service
// and route) on a SQLite file of its own, called with Fastify's inject() —
// no child process, no port, no socket. For routes and services; what needs
// the real process (signals, kill -9, the HTTP server's edges, workers)
// stays in test/integration.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse, RouteOptions } from 'fastify';
import { buildApp } from '../../server/app.ts';
import { parseConfig } from '../../server/config.ts';
import type { Teardown } from './processes.ts';

/** A route as the app registered it. */
export interface RegisteredRoute {
  method: string;
  url: string;
  config: RouteOptions['config'];
}

export interface InProcessApp {
  app: FastifyInstance;
  /** The SQLite file the app's store is on. */
  db: string;
  /** Every route the app registered (HEAD routes aside), in order. */
  routes: RegisteredRoute[];
  /** inject() with a JSON body, answering the status and the parsed JSON body (undefined for an empty one). */
  call(method: InjectOptions['method'], url: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; body: any; response: LightMyRequestResponse }>;
}

/**
 * Build the real app on a fresh SQLite file in a temporary directory, ready,
 * without listening; at teardown it is closed and the directory removed.
 * `settings` are the scheduler's settings (server/config.ts), over
 * `{ insecure: true }`.
 */
export async function inProcessApp(t: Teardown, settings: Record<string, unknown> = {}): Promise<InProcessApp> {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-inject-'));
  const db = join(dir, 'sluice.db');
  const routes: RegisteredRoute[] = [];
  let app: FastifyInstance | undefined;
  t.teardown(async () => {
    await app?.close();
    rmSync(dir, { recursive: true, force: true });
  });
  app = await buildApp({
    config: parseConfig({ db, insecure: true, logLevel: 'silent', ...settings }),
    logger: false,
    onRoute: (route) => {
      for (const method of [route.method].flat()) {
        if (method !== 'HEAD') routes.push({ method, url: route.url, config: route.config });
      }
    },
  });
  await app.ready();
  const ready = app;
  return {
    app: ready,
    db,
    routes,
    async call(method, url, body, headers) {
      const response = await ready.inject({ method, url, headers, ...(body === undefined ? {} : { payload: body as InjectOptions['payload'] }) });
      return { status: response.statusCode, body: response.body === '' ? undefined : response.json(), response };
    },
  };
}
