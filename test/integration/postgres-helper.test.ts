import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import t from 'tap';
import { launchPostgres, startPostgres } from '../helpers/postgres.ts';
import { isRunning, Proc, waitFor } from '../helpers/processes.ts';

const refuses = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = tcpConnect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(false)));
    socket.once('error', () => resolve(true));
  });

t.test('a private cluster: start, connect, query, stop, nothing left', { skip: process.env.SLUICE_TEST_POSTGRES_URL ? 'SLUICE_TEST_POSTGRES_URL points the tests at an existing server' : false }, async (t) => {
  const server = await launchPostgres();
  const cluster = server.cluster;
  if (!cluster) throw new Error('expected a private cluster');
  t.teardown(() => server.stop());
  t.match(server.url, /^postgres:\/\/postgres:[0-9a-f]+@127\.0\.0\.1:\d+\/sluice$/, 'a loopback URL with a password');
  t.ok(isRunning(cluster.pid), 'the postmaster runs');

  const client = new pg.Client(server.url);
  await client.connect();
  const { rows } = await client.query(
    `SELECT current_database() AS db, current_setting('synchronous_commit') AS sc, current_setting('fsync') AS fsync,
            host(inet_server_addr()) AS addr, current_user AS user`,
  );
  t.same(rows, [{ db: 'sluice', sc: 'on', fsync: 'on', addr: '127.0.0.1', user: 'postgres' }], 'durable settings, over TCP on loopback');
  await client.query('CREATE TABLE t (id BIGINT PRIMARY KEY, v TEXT NOT NULL)');
  await client.query('INSERT INTO t VALUES ($1, $2)', [1, 'one']);
  t.same((await client.query('SELECT v FROM t WHERE id = $1', [1])).rows, [{ v: 'one' }], 'a write reads back');
  await client.end();

  const wrong = new pg.Client({ connectionString: server.url.replace(/:[0-9a-f]+@/, ':wrong@'), connectionTimeoutMillis: 5000 });
  await t.rejects(wrong.connect(), { code: '28P01' }, 'a wrong password is refused');
  await wrong.end().catch(() => {});

  await server.stop();
  await server.stop();
  t.notOk(isRunning(cluster.pid), 'the postmaster is gone');
  t.notOk(existsSync(cluster.dir), 'its directory is removed');
  t.ok(await refuses(cluster.port), 'nothing listens on its port');
});

t.test('a cluster whose test process was killed is cleaned up by the next start', { skip: process.env.SLUICE_TEST_POSTGRES_URL ? 'uses private clusters' : false }, async (t) => {
  const holder = new Proc([], { script: new URL('../fixtures/postgres-holder.ts', import.meta.url).pathname });
  t.teardown(() => holder.stop('SIGKILL'));
  const line = await waitFor(() => holder.lines.find((l) => l.startsWith('{')), 'the holder to start its cluster', 60_000);
  const left = JSON.parse(line) as { dir: string; pid: number };
  await holder.stop('SIGKILL');
  t.ok(isRunning(left.pid), 'the killed process left its postmaster running');

  await startPostgres(t);
  t.notOk(isRunning(left.pid), 'the next start stopped it');
  t.notOk(existsSync(left.dir), 'and removed its directory');
});

const PRIVATE = { skip: process.env.SLUICE_TEST_POSTGRES_URL ? 'uses private clusters' : false };

t.test('a test that fails still stops and removes its cluster', PRIVATE, async (t) => {
  // The fixture is a tap test of its own; run it as a plain process, not as a child of this runner.
  const env = Object.fromEntries(Object.keys(process.env).filter((k) => k.startsWith('TAP') || k === 'NODE_TEST_CONTEXT').map((k) => [k, undefined]));
  const failing = new Proc([], { script: new URL('../fixtures/postgres-failing-test.ts', import.meta.url).pathname, env });
  t.teardown(() => failing.stop('SIGKILL'));
  const { code } = await Promise.race([
    failing.exited,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`the failing test did not end:\n${failing.lines.join('\n')}`)), 60_000)),
  ]);
  t.not(code, 0, 'the test failed');
  t.ok(failing.lines.some((l) => /this test fails on purpose/.test(l)), 'for the reason it was meant to');
  const line = failing.lines.find((l) => l.startsWith('{"dir"'));
  if (!line) throw new Error(`the failing test printed no cluster:\n${failing.lines.join('\n')}`);
  const left = JSON.parse(line) as { dir: string; pid: number };
  t.notOk(isRunning(left.pid), 'its postmaster was stopped');
  t.notOk(existsSync(left.dir), 'its directory was removed');
});

t.test('without the PostgreSQL binaries, starting one fails and says what to do', PRIVATE, async (t) => {
  const empty = mkdtempSync(join(tmpdir(), 'sluice-no-pg-'));
  const before = process.env.SLUICE_POSTGRES_BIN;
  process.env.SLUICE_POSTGRES_BIN = empty;
  t.teardown(() => {
    if (before === undefined) delete process.env.SLUICE_POSTGRES_BIN;
    else process.env.SLUICE_POSTGRES_BIN = before;
    rmSync(empty, { recursive: true, force: true });
  });
  await t.rejects(startPostgres(t), {
    message: new RegExp(`^PostgreSQL is not installed: SLUICE_POSTGRES_BIN=${empty} holds no initdb, pg_ctl and postgres\\. Install Debian's postgresql package`),
  });
});

t.test('SLUICE_TEST_POSTGRES_URL: a database of its own on that server, dropped at stop', async (t) => {
  const host = await startPostgres(t);
  const before = process.env.SLUICE_TEST_POSTGRES_URL;
  process.env.SLUICE_TEST_POSTGRES_URL = host.url;
  t.teardown(() => {
    if (before === undefined) delete process.env.SLUICE_TEST_POSTGRES_URL;
    else process.env.SLUICE_TEST_POSTGRES_URL = before;
  });
  const a = await launchPostgres();
  const b = await launchPostgres();
  t.equal(a.cluster, undefined, 'no server started');
  t.not(a.database, b.database, 'each call gets its own database');
  const client = new pg.Client(a.url);
  await client.connect();
  t.same((await client.query('SELECT current_database() AS db')).rows, [{ db: a.database }]);
  await client.end();
  await a.stop();
  await b.stop();
  const admin = new pg.Client(host.url);
  await admin.connect();
  const left = (await admin.query('SELECT datname FROM pg_database WHERE datname = ANY($1)', [[a.database, b.database]])).rows;
  await admin.end();
  t.same(left, [], 'both databases were dropped');
});
