// The scheduler with PostgreSQL as its store of record (--db postgres://…), through the real client
// against the real process, on a real PostgreSQL: one private cluster for the file, a database per test.
import pg from 'pg';
import t from 'tap';
import { Client } from '../../client/index.ts';
import { api, startScheduler, startWorker } from '../helpers/cluster.ts';
import { createDatabase, postgresMissing, startPostgres } from '../helpers/postgres.ts';
import { Proc, waitFor } from '../helpers/processes.ts';

const missing = postgresMissing();
if (missing) t.plan(0, missing);
else {
  const server = await startPostgres(t);

  /**
   * api(), retrying 503 (a scheduler just started on a loaded machine may answer that it is
   * overloaded) for up to 20 s: these tests are about what is stored, not about load.
   */
  const patient = (base: string): ReturnType<typeof api> => {
    const raw = api(base);
    const retrying =
      <A extends unknown[]>(call: (...args: A) => Promise<{ status: number; body: any; headers: Headers }>) =>
      async (...args: A) => {
        const deadline = Date.now() + 20_000;
        for (;;) {
          const answer = await call(...args);
          if (answer.status !== 503 || Date.now() > deadline) return answer;
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      };
    return { get: retrying(raw.get), post: retrying(raw.post), put: retrying(raw.put), delete: retrying(raw.delete), raw: retrying(raw.raw) } as ReturnType<typeof api>;
  };

  /** Rows of a query on the test database, straight from PostgreSQL. */
  const query = async (url: string, text: string): Promise<Array<Record<string, unknown>>> => {
    const client = new pg.Client(url);
    await client.connect();
    try {
      return (await client.query(text)).rows;
    } finally {
      await client.end();
    }
  };

  t.test('tasks with a worker, channels, queues, variables, flags, locks and semaphores; all of it in PostgreSQL', async (t) => {
    const db = await createDatabase(t, server, 'contract');
    const first = await startScheduler(t, { db });
    t.notMatch(first.proc.lines.join('\n'), new URL(server.url).password, 'the password is never logged');
    await startWorker(t, first.url);
    const client = await Client.connect(first.url);
    t.teardown(() => client.close());
    const curl = patient(first.url);

    const futures = client.map<number>('inc', Array.from({ length: 20 }, (_, i) => [i]), { pure: false });
    t.same(await client.gather(futures), Array.from({ length: 20 }, (_, i) => i + 1), 'tasks run and finish');
    t.equal((await curl.post('/tasks', { fn: 'inc', args: [41], key: 'answer' })).status, 201);
    t.equal((await curl.get('/futures/answer/result?timeout=10')).body.result, 42);

    t.equal((await curl.post('/channels/log/append', { tasks: [{ fn: 'inc', args: [1] }, { fn: 'inc', args: [2] }] })).status, 201);
    t.equal((await curl.post('/channels/log/append', { tasks: [{ fn: 'inc', args: [3] }] })).status, 201);
    const snapshot = await curl.get('/channels/log');
    t.same(snapshot.body.futures.map((f: { seq: number }) => f.seq), [1, 2, 3], 'channel entries read back in order');

    t.same((await curl.post('/queues/jobs/put', { items: ['a', 'b', 'c'] })).body, { size: 3 });
    t.same((await curl.post('/queues/jobs/get')).body, { items: ['a'] });
    await curl.put('/variables/config', { value: { n: 1 } });
    await curl.put('/variables/config', { value: { n: 2 } });
    t.same((await curl.get('/variables/config')).body.value, { n: 2 });
    await curl.post('/flags/ready/set');
    t.same((await curl.get('/flags/ready')).body, { name: 'ready', set: true });
    const lock = (await curl.post('/locks/l/acquire', { ttlMs: 60_000, holder: 'me' })).body;
    t.equal(lock.token, 1);
    t.equal((await curl.post('/locks/l/release', { leaseId: lock.leaseId })).status, 204);
    t.equal((await curl.post('/locks/l/acquire', { ttlMs: 60_000 })).body.token, 2, 'fencing tokens go up');
    t.equal((await curl.post('/semaphores/s/acquire', { maxLeases: 2 })).status, 200);

    // In PostgreSQL itself, not only in the scheduler's copy.
    const [tasks] = await query(db, "SELECT count(*) AS n, count(*) FILTER (WHERE status = 'finished') AS finished FROM tasks");
    t.ok(Number(tasks?.n) >= 24 && Number(tasks?.finished) >= 21, `tasks in PostgreSQL: ${JSON.stringify(tasks)}`);
    t.same(await query(db, "SELECT seq FROM channel_entries WHERE channel = 'log' ORDER BY seq"), [{ seq: '1' }, { seq: '2' }, { seq: '3' }]);
    t.same((await query(db, "SELECT value FROM queue_items WHERE queue = 'jobs' ORDER BY id")).map((r) => r.value), ['"b"', '"c"']);
    t.same(await query(db, "SELECT value FROM variables WHERE name = 'config'"), [{ value: '{"n":2}' }]);
    t.same(await query(db, "SELECT last_token FROM semaphores WHERE kind = 'lock' AND name = 'l'"), [{ last_token: '2' }]);

    // A restart loads it all back.
    await client.close();
    t.equal((await first.proc.stop('SIGTERM')).code, 0, 'stops cleanly');
    const second = await startScheduler(t, { db, port: first.port });
    const again = patient(second.url);
    t.equal((await again.get('/futures/answer')).body.result, 42);
    t.same((await again.get('/channels/log')).body.futures.map((f: { seq: number }) => f.seq), [1, 2, 3]);
    t.same((await again.post('/queues/jobs/get?batch=10')).body, { items: ['b', 'c'] });
    t.same((await again.get('/variables/config')).body.value, { n: 2 });
    t.same((await again.get('/flags/ready')).body, { name: 'ready', set: true });
    t.match((await again.get('/locks/l')).body, { lastToken: 2, leases: [{ token: 2 }] });
    t.equal((await again.post('/queues/jobs/put', { items: ['d'] })).status, 201);
    const ids = await query(db, "SELECT id FROM queue_items WHERE queue = 'jobs'");
    t.ok(ids.every((r) => Number(r.id) > 3), `a new item takes an id never used before: ${JSON.stringify(ids)}`);
  });

  t.test('a leader whose leadership another scheduler took commits nothing more and stands by', async (t) => {
    const db = await createDatabase(t, server, 'fenced');
    const leader = await startScheduler(t, { db });
    const before = await patient(leader.url).post('/tasks', { fn: 'inc', args: [1], key: 'before' });
    t.equal(before.status, 201, `a write before the takeover: ${JSON.stringify(before.body)}; ${leader.proc.lines.slice(-5).join('\n')}`);
    t.match(await query(db, 'SELECT term FROM sluice_leadership'), [{ term: '1' }]);

    // Another contender takes over (as one does once it sees the lease lapsed: a paused or cut-off
    // leader has not seen it yet). The UPDATE waits for the leader's transactions in flight.
    await query(db, "UPDATE sluice_leadership SET term = term + 1, holder = 'another', expires_at = clock_timestamp() + interval '1 hour'");
    const curl = api(leader.url);
    const answers: Array<number | string> = [];
    for (let i = 0; i < 5; i++) {
      try {
        answers.push((await curl.post('/tasks', { fn: 'inc', args: [i], key: `after-${i}` })).status);
        answers.push((await curl.put(`/variables/after-${i}`, { value: i })).status);
      } catch (error) {
        answers.push((error as Error).message);
      }
    }
    t.notOk(answers.some((a) => a === 201 || a === 200 || a === 204), `no write after the takeover is acknowledged: ${answers.join(', ')}`);
    t.ok(answers.some((a) => a === 507 || a === 503), 'they are refused: 507 for a commit fenced, 503 standby once it stands by');
    t.ok(leader.proc.running, 'the fenced leader does not stop');
    t.match((await api(leader.url).get('/health')).body, { role: 'standby' }, 'it stands by');
    const said = await waitFor(() => leader.proc.lines.some((l) => l.includes('no longer leading: standing by')), 'its log line (it may come after its answers)', 10_000).catch(() => false);
    t.ok(said, 'saying why');
    t.same(await query(db, "SELECT key FROM tasks WHERE key LIKE 'after-%' UNION ALL SELECT name FROM variables WHERE name LIKE 'after-%'"), [], 'nothing of it is in PostgreSQL');
    t.match(await query(db, 'SELECT term, holder FROM sluice_leadership'), [{ term: '2', holder: 'another' }]);
  });

  t.test('a second scheduler on the database stands by while the first leads, then takes over with its state', async (t) => {
    const db = await createDatabase(t, server, 'standby');
    const first = await startScheduler(t, { db });
    t.equal((await patient(first.url).post('/queues/handover/put', { items: [1, 2] })).status, 201);
    const second = new Proc(['scheduler', '--port', '0', '--db', db, '--insecure', '--log-level', 'info']);
    t.teardown(() => second.stop('SIGKILL'));
    const ready = await second.waitForLog((e) => e.msg === 'sluice scheduler ready', 20_000);
    t.match(ready, { role: 'standby', db: /^postgres:\/\/postgres@127\.0\.0\.1:\d+\/standby$/ }, 'it listens as a standby, naming the database without the password');
    const url = ready.url as string;
    t.match(await api(url).get('/health'), { status: 503, body: { role: 'standby', leader: first.url } }, 'it names the leader');
    t.match(await api(url).post('/queues/handover/put', { items: [4] }), { status: 503, body: { error: { code: 'SLUICE_ERR_STANDBY', details: { leader: first.url } } } });
    t.equal((await patient(first.url).post('/queues/handover/put', { items: [3] })).status, 201, 'the leader carries on');

    t.equal((await first.proc.stop('SIGTERM')).code, 0);
    await second.waitForLog((e) => e.msg === 'leading: serving', 20_000);
    t.same((await patient(url).post('/queues/handover/get?batch=10')).body, { items: [1, 2, 3] }, 'everything the first leader acknowledged');
    t.match(await query(db, 'SELECT term FROM sluice_leadership'), [{ term: '2' }]);
    t.equal((await second.stop('SIGTERM')).code, 0);
  });

  t.test('a database that cannot be reached, or a wrong password: the start fails saying so, without the password', async (t) => {
    const wrong = new URL(server.url);
    wrong.password = 'not-the-password';
    const unreachable = new URL(server.url);
    unreachable.port = '1';
    for (const [db, why] of [
      [wrong.toString(), /could not be reached: password authentication failed/],
      [unreachable.toString(), /could not be reached: connect ECONNREFUSED/],
    ] as const) {
      const proc = new Proc(['scheduler', '--port', '0', '--db', db, '--insecure']);
      t.teardown(() => proc.stop('SIGKILL'));
      const exited = await Promise.race([proc.exited, new Promise((r) => setTimeout(r, 30_000, 'still running'))]);
      t.match(exited, { code: 1 }, 'exits 1');
      const output = proc.lines.join('\n');
      t.match(output, why);
      t.notMatch(output, new URL(db).password, 'the password is not in the output');
    }
  });
}
