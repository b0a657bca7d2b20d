import type { RouteOptions } from 'fastify';
import fp from 'fastify-plugin';
import { HTTP_API, type HttpRoute } from '../../../schemas/http-api.ts';

/** Routes outside the HTTP API, by method and path, and why. */
export const OUTSIDE_THE_TABLE: ReadonlyMap<string, string> = new Map([
  ['GET /ws/worker', 'the worker protocol’s WebSocket: its messages are schemas/worker-protocol.ts'],
  ['GET /dashboard/app.js', 'an asset of the dashboard page'],
  ['GET /dashboard/app.css', 'an asset of the dashboard page'],
]);

/**
 * The app registers the routes of the table (schemas/http-api.ts) and no
 * others, each with the table's method, path, operation id and schemas:
 * checked as each route is added (a route out of step is refused, and the
 * app does not build) and once the app is ready (a route of the table not
 * registered fails ready()). Register it before the routes; those added
 * before it (the OpenAPI UI's, under /docs) are not API routes.
 */
export default fp(
  async (app) => {
    const byLine = new Map<string, HttpRoute>(Object.values(HTTP_API).map((route) => [`${route.method} ${route.path}`, route]));
    const registered = new Set<string>();
    app.addHook('onRoute', (options) => {
      for (const method of [options.method].flat()) {
        // Fastify adds a HEAD route beside each GET.
        if (method === 'HEAD') continue;
        const line = `${method} ${options.url}`;
        if (OUTSIDE_THE_TABLE.has(line)) continue;
        const route = byLine.get(line);
        if (!route) throw new Error(`${line} is not in the route table: add it to schemas/routes.ts, with its schemas in schemas/http-api.ts`);
        const problem = mismatch(route, options);
        if (problem) throw new Error(`${line} (${route.operationId}): ${problem}; register it with routeOptions(HTTP_API.${route.operationId}, ...)`);
        registered.add(line);
      }
    });
    app.addHook('onReady', async () => {
      const missing = [...byLine.keys()].filter((line) => !registered.has(line));
      if (missing.length > 0) throw new Error(`routes of the table that the app does not register: ${missing.join(', ')}`);
    });
  },
  { name: 'route-table' },
);

/** How a registered route differs from its table entry, if it does. */
function mismatch(route: HttpRoute, options: RouteOptions): string | undefined {
  const schema = (options.schema ?? {}) as Record<string, unknown>;
  const entry = route as HttpRoute & { params?: unknown; query?: unknown; body?: unknown; status?: number; reply?: unknown };
  if (schema.operationId !== route.operationId) return `operation id ${String(schema.operationId)}, not the table's`;
  const parts: Array<[string, unknown, unknown]> = [
    ['params', schema.params, entry.params],
    ['query', schema.querystring, entry.query],
    ['body', schema.body, entry.body],
  ];
  if (entry.reply) parts.push(['reply', (schema.response as Record<number, unknown> | undefined)?.[entry.status ?? 200], entry.reply]);
  const differ = parts.filter(([, registered, table]) => registered !== table).map(([name]) => name);
  return differ.length > 0 ? `its ${differ.join(', ')} schema is not the table's` : undefined;
}
