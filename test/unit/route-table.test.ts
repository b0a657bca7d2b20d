// The route table (schemas/routes.ts, schemas/http-api.ts) and the app: the
// app registers every route of the table and no other, each with the table's
// method, path, operation id and schemas, and a route out of step with the
// table stops the app from starting.
import { join } from 'node:path';
import Fastify, { type RouteOptions } from 'fastify';
import t from 'tap';
import { z } from 'zod';
import { HTTP_API } from '../../schemas/http-api.ts';
import { pathOf, ROUTES } from '../../schemas/routes.ts';
import { buildApp } from '../../server/app.ts';
import { parseConfig } from '../../server/config.ts';
import routeTablePlugin, { OUTSIDE_THE_TABLE } from '../../server/http/plugins/route-table.ts';
import { tempDir } from '../helpers/cluster.ts';

const ready = async (app: ReturnType<typeof Fastify>): Promise<void> => {
  await app.ready();
};

t.test('the app registers every route of the table, and the OpenAPI document lists exactly them', async (t) => {
  const app = await buildApp({ config: parseConfig({ db: join(tempDir(t), 'sluice.db'), insecure: true }), logger: false });
  t.teardown(() => app.close());
  await app.ready();
  const table = Object.values(HTTP_API);
  for (const route of table) t.ok(app.hasRoute({ method: route.method, url: route.path }), `${route.method} ${route.path} is registered`);
  for (const line of OUTSIDE_THE_TABLE.keys()) {
    const [method, url] = line.split(' ') as ['GET', string];
    t.ok(app.hasRoute({ method, url }), `${line}, outside the table, is registered`);
  }
  const document = app.swagger() as unknown as { paths: Record<string, Record<string, { operationId: string; tags: string[] }>> };
  const documented = Object.entries(document.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]) => `${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')} ${op.operationId} ${op.tags.join()}`),
  );
  t.same(documented.sort(), table.map((r) => `${r.method} ${r.path} ${r.operationId} ${r.tag}`).sort(), 'the document: the table’s routes, operation ids and tags');
});

t.test('a route that is not in the table stops the app', async (t) => {
  const app = Fastify({ logger: false });
  await app.register(routeTablePlugin);
  app.register(async (routes) => {
    routes.get('/tasks/everything', async () => 'not in the table');
  });
  await t.rejects(ready(app), /GET \/tasks\/everything is not in the route table: add it to schemas\/routes\.ts/);
});

t.test('a route of the table registered with another method, operation id or schema stops the app', async (t) => {
  const cases: Array<[string, RouteOptions, RegExp]> = [
    ['another method', { method: 'POST', url: '/health', handler: async () => null }, /POST \/health is not in the route table/],
    ['another operation id', { method: 'GET', url: '/health', schema: { operationId: 'liveness' }, handler: async () => null }, /GET \/health \(health\): operation id liveness, not the table's/],
    [
      'a schema of its own',
      { method: 'GET', url: '/futures/:key', schema: { operationId: 'futureInfo', params: z.object({ key: z.string() }), response: { 200: HTTP_API.futureInfo.reply } }, handler: async () => null },
      /GET \/futures\/:key \(futureInfo\): its params schema is not the table's; register it with routeOptions\(HTTP_API\.futureInfo/,
    ],
  ];
  for (const [what, route, error] of cases) {
    const app = Fastify({ logger: false });
    await app.register(routeTablePlugin);
    app.register(async (routes) => {
      routes.route(route);
    });
    await t.rejects(ready(app), error, what);
  }
});

t.test('a route of the table the app does not register stops the app, naming it', async (t) => {
  const app = Fastify({ logger: false });
  await app.register(routeTablePlugin);
  const error = await ready(app).then(
    () => undefined,
    (e: Error) => e,
  );
  t.match(error?.message, /^routes of the table that the app does not register: POST \/tasks, GET \/tasks\/progress, /);
  t.match(error?.message, /DELETE \/channels\/:name\/consumers\/:consumer/);
});

t.test('pathOf: each :param URL-encoded, the defined query values in order', async (t) => {
  t.equal(pathOf(ROUTES.workerList), '/workers');
  t.equal(pathOf(ROUTES.futureResult, { key: 'inc-1' }, { timeout: 0 }), '/futures/inc-1/result?timeout=0');
  t.equal(pathOf(ROUTES.channelCommit, { name: 'a/b c', consumer: 'x?y' }), '/channels/a%2Fb%20c/consumers/x%3Fy');
  t.equal(pathOf(ROUTES.queueGet, { name: 'q' }, { batch: 5, timeout: 19.5, ack: true, ttlMs: undefined }), '/queues/q/get?batch=5&timeout=19.5&ack=true');
  t.equal(pathOf(ROUTES.futureEvents, undefined, { keys: ['a+b', 'c'] }), '/futures/events?keys=a%2Bb%2Cc');
  t.throws(() => pathOf(ROUTES.futureInfo, {}), { name: 'TypeError', message: 'GET /futures/:key: no value for :key' });
});
