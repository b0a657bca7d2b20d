// Durable routes are declared, not remembered: every route that writes says
// whether its reply waits for the commit (config.durable), and one hook
// (server/http/plugins/durable-replies.ts) makes a durable route's reply wait.
import Database from 'better-sqlite3';
import t from 'tap';
import { ROUTES } from '../../schemas/routes.ts';
import { WRITING_METHODS } from '../../server/http/plugins/durable-replies.ts';
import { inProcessApp } from '../helpers/in-process.ts';

t.test('every route with a writing method is durable, or says why not', async (t) => {
  const { routes } = await inProcessApp(t);
  const writing = routes.filter((route) => WRITING_METHODS.has(route.method));
  t.equal(writing.length, Object.values(ROUTES).filter((route) => WRITING_METHODS.has(route.method)).length, 'the table’s writing routes, all registered');
  for (const { method, url, config } of writing) {
    const line = `${method} ${url}`;
    if (config?.durable === true) {
      t.not(config.writes, false, `${line}: durable, so it writes (not writes: false)`);
      t.equal(config.notDurableBecause, undefined, `${line}: durable, with no reason not to be`);
      continue;
    }
    t.ok(
      config?.durable === false && typeof config.notDurableBecause === 'string' && config.notDurableBecause.length > 0,
      `${line}: config { durable: true }, or { durable: false, notDurableBecause: '...' } (got ${JSON.stringify({ durable: config?.durable, notDurableBecause: config?.notDurableBecause })})`,
    );
  }
  // The routes that read but may write for the caller (a hold on what they answer) are durable too.
  for (const line of ['GET /variables/:name', 'GET /flags/:name']) {
    const route = routes.find((r) => `${r.method} ${r.url}` === line);
    t.equal(route?.config?.durable, true, `${line} is durable`);
  }
});

t.test('a durable write is answered only once it is committed: another connection to the file sees it', async (t) => {
  const { db, call } = await inProcessApp(t);
  const reader = new Database(db, { readonly: true, fileMustExist: true });
  t.teardown(() => reader.close());
  // What another process (or the scheduler after kill -9) would find on disk.
  const onDisk = (sql: string, ...params: unknown[]): unknown => reader.prepare(sql).pluck().get(...params);

  for (let i = 0; i < 20; i++) {
    const set = await call('PUT', `/variables/v${i}`, { value: { i } });
    t.equal(set.status, 200);
    t.equal(onDisk('SELECT count(*) FROM variables WHERE name = ?', `v${i}`), 1, `variable v${i} is on disk when its answer arrives`);
  }
  for (let i = 0; i < 20; i++) {
    const appended = await call('POST', '/channels/c/append', { tasks: [{ fn: 'inc', args: [i] }] });
    t.equal(appended.status, 201);
    t.equal(onDisk('SELECT count(*) FROM channel_entries'), i + 1, `entry ${i + 1} is on disk when its answer arrives`);
  }
  const deleted = await call('DELETE', '/variables/v0');
  t.equal(deleted.status, 204);
  t.equal(onDisk("SELECT count(*) FROM variables WHERE name = 'v0'"), 0, 'a 204 (a reply without a body) waits for its commit too');
});
