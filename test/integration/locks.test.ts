// Locks and semaphores against the real scheduler: mutual exclusion across processes, leases that
// lapse when their holder is killed, fencing tokens, semaphores, bad input.
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { Client, type Lease, TimeoutError } from '../../client/index.ts';
import { api, startScheduler } from '../helpers/cluster.ts';
import { Proc, type Teardown, waitFor } from '../helpers/processes.ts';

const COUNTER = fileURLToPath(new URL('../fixtures/locked-counter.ts', import.meta.url));
const HOLDER = fileURLToPath(new URL('../fixtures/lock-holder.ts', import.meta.url));

const scheduler = await startScheduler(t);
const curl = api(scheduler.url);

/** A client process running one of the fixtures; stopped at teardown. */
function fixture(t: Teardown, script: string, args: string[]): Proc {
  const proc = new Proc(args, { script });
  t.teardown(() => proc.stop('SIGKILL'));
  return proc;
}

t.test('mutual exclusion: four processes increment one variable under the lock, losing no update', async (t) => {
  await curl.put('/variables/counter', { value: 0 });
  const processes = [1, 2, 3, 4].map(() => fixture(t, COUNTER, [scheduler.url, 'counter-lock', 'counter', '25']));
  const reports = await Promise.all(processes.map((p) => p.waitForLog((e) => e.done === true, 120_000)));
  t.same((await curl.get('/variables/counter')).body.value, 100, '4 × 25 increments, none lost');
  const tokens = reports.flatMap((r) => r.tokens as number[]);
  t.equal(new Set(tokens).size, 100, 'every acquire got its own fencing token');
  for (const report of reports) {
    const mine = report.tokens as number[];
    t.same(mine, [...mine].sort((a, b) => a - b), 'tokens only grow');
  }
  t.match((await curl.get('/locks/counter-lock')).body, { name: 'counter-lock', maxLeases: 1, leases: [], waiting: 0, lastToken: 100 });
  for (const proc of processes) t.equal((await proc.exited).code, 0);
});

t.test('a holder killed with SIGKILL lets go when its lease lapses; its token is refused after', async (t) => {
  const holder = fixture(t, HOLDER, [scheduler.url, 'killed-holder', '1500']);
  const acquired = await holder.waitForLog((e) => e.acquired === true, 20_000);
  const token = acquired.token as number;
  const before = (await curl.get('/locks/killed-holder')).body;
  t.match(before, { leases: [{ token, holder: `lock-holder pid ${holder.pid}` }] });
  await new Promise((r) => setTimeout(r, 3_000));
  t.match((await curl.get('/locks/killed-holder')).body, { leases: [{ token }] }, 'renewed every ttl/3: still held two ttls later');
  t.equal((await curl.post('/locks/killed-holder/acquire?timeout=0')).status, 408, 'and nobody else gets it');

  const expired = scheduler.proc.waitForLog((e) => e.msg === 'lease expired: its holder did not renew it in time' && e.name === 'killed-holder', 20_000);
  await holder.stop('SIGKILL');
  const next = await curl.post('/locks/killed-holder/acquire?timeout=15');
  t.equal(next.status, 200, 'the next caller gets the lock once the lease lapsed');
  t.equal(next.body.token, token + 1, 'with the next fencing token');
  t.match(await expired, { token, holder: `lock-holder pid ${holder.pid}` }, 'the scheduler logged the lapse');
  const stale = await curl.put('/variables/guarded-by-lock', { value: 'late write', fence: { lock: 'killed-holder', token } });
  t.equal(stale.status, 409, 'a write fenced with the dead holder’s token is refused');
  t.equal(stale.body.error.code, 'SLUICE_ERR_STALE_TOKEN');
  const current = await curl.put('/variables/guarded-by-lock', { value: 'current holder', fence: { lock: 'killed-holder', token: token + 1 } });
  t.equal(current.status, 200);
  t.equal((await curl.post('/locks/killed-holder/release', { leaseId: next.body.leaseId })).status, 204);
  const twice = await curl.post('/locks/killed-holder/release', { leaseId: next.body.leaseId });
  t.equal(twice.status, 409);
  t.equal(twice.body.error.code, 'SLUICE_ERR_LEASE_EXPIRED');
});

t.test('fencing: a holder that stalled past its ttl cannot overwrite the next holder’s work', async (t) => {
  const [a, b] = await Promise.all([Client.connect(scheduler.url), Client.connect(scheduler.url)]);
  t.teardown(() => Promise.all([a.close(), b.close()]));
  const stalled = await a.lock('fenced').acquire({ ttlMs: 300 });
  stalled.abandon(); // stops renewing, as a process stuck in a long pause would
  const next = await b.lock('fenced').acquire({ timeoutMs: 10_000 });
  t.equal(next.token, stalled.token + 1);
  await b.variable('fenced-value').set('from the current holder', { fence: next });
  await t.rejects(a.variable('fenced-value').set('from the stalled holder', { fence: stalled }), { code: 'SLUICE_ERR_STALE_TOKEN' });
  t.equal(await b.variable<string>('fenced-value').get(), 'from the current holder');
  await next.release();
});

t.test('a lease the scheduler no longer holds: the holder’s signal aborts and release says so', async (t) => {
  const client = await Client.connect(scheduler.url);
  t.teardown(() => client.close());
  const lease = await client.lock('revoked').acquire({ ttlMs: 600 });
  t.ok(lease.held);
  t.equal((await curl.post('/locks/revoked/release', { leaseId: lease.leaseId })).status, 204, 'somebody with its id lets go of it');
  await waitFor(() => lease.signal.aborted, 'the next renewal to be refused');
  t.notOk(lease.held);
  t.match(lease.signal.reason, { code: 'SLUICE_ERR_LEASE_EXPIRED' });
  await t.rejects(lease.release(), { code: 'SLUICE_ERR_LEASE_EXPIRED' });
  await t.rejects(
    client.lock('revoked').runExclusive(async (l: Lease) => {
      await curl.post('/locks/revoked/release', { leaseId: l.leaseId });
      await waitFor(() => l.signal.aborted, 'the loss to be noticed');
      return 'done';
    }, { ttlMs: 600 }),
    { code: 'SLUICE_ERR_LEASE_EXPIRED' },
    'runExclusive reports that the work may not have been exclusive',
  );
});

t.test('a client that closes lets go at once; waiting in line, in order, with timeouts', async (t) => {
  const [first, second, third] = await Promise.all([1, 2, 3].map(() => Client.connect(scheduler.url)));
  t.teardown(() => Promise.all([second.close(), third.close()]));
  const held = await first.lock('line').acquire({ ttlMs: 60_000 });
  t.equal(await second.lock('line').locked(), true);
  await t.rejects(second.lock('line').acquire({ timeoutMs: 200 }), TimeoutError);
  const secondWaits = second.lock('line').acquire({ timeoutMs: 20_000 });
  await waitFor(async () => (await curl.get('/locks/line')).body.waiting === 1, 'the second to wait');
  const thirdWaits = third.lock('line').acquire({ timeoutMs: 20_000 });
  await waitFor(async () => (await curl.get('/locks/line')).body.waiting === 2, 'the third to wait');
  await first.close(); // well before the 60 s ttl: the session's end releases the lease
  const got = await secondWaits;
  t.equal(got.token, held.token + 1, 'the one that waited longest goes first');
  await got.release();
  t.equal((await thirdWaits).token, held.token + 2);
});

t.test('a waiter whose connection drops takes no lease; a retried acquire finds its lease', async (t) => {
  const first = await curl.post('/locks/dropped/acquire', { leaseId: 'chosen-lease-id-1', ttlMs: 60_000 });
  const retried = await curl.post('/locks/dropped/acquire', { leaseId: 'chosen-lease-id-1', ttlMs: 60_000 });
  t.same(retried.body.token, first.body.token, 'the same lease, not a second one');
  const controller = new AbortController();
  const gone = fetch(`${scheduler.url}/locks/dropped/acquire?timeout=30`, { method: 'POST', signal: controller.signal }).catch(() => 'aborted');
  await waitFor(async () => (await curl.get('/locks/dropped')).body.waiting === 1, 'the waiter');
  controller.abort();
  t.equal(await gone, 'aborted');
  await waitFor(async () => (await curl.get('/locks/dropped')).body.waiting === 0, 'the scheduler to see it leave');
  // Two waiting requests with one lease id (a retry overtaking its first try): only the latest stays in line.
  const firstTry = curl.post('/locks/dropped/acquire?timeout=30', { leaseId: 'retried-lease-id-2' });
  await waitFor(async () => (await curl.get('/locks/dropped')).body.waiting === 1, 'the first try to wait');
  const retry = curl.post('/locks/dropped/acquire?timeout=30', { leaseId: 'retried-lease-id-2' });
  t.equal((await firstTry).status, 408, 'the first try leaves the line');
  t.equal((await curl.get('/locks/dropped')).body.waiting, 1);
  await curl.post('/locks/dropped/release', { leaseId: 'chosen-lease-id-1' });
  t.match((await retry).body, { leaseId: 'retried-lease-id-2', token: first.body.token + 1 });
  t.equal((await curl.get('/locks/dropped')).body.leases.length, 1, 'one lease for the id');
  await curl.post('/locks/dropped/release', { leaseId: 'retried-lease-id-2' });
  t.match((await curl.get('/locks/dropped')).body, { leases: [], waiting: 0 }, 'free: the departed waiter took nothing');
});

t.test('semaphores: up to maxLeases at once; the rest wait; maxLeases is checked and can change', async (t) => {
  const clients = await Promise.all([1, 2, 3].map(() => Client.connect(scheduler.url)));
  t.teardown(() => Promise.all(clients.map((c) => c.close())));
  const [a, b] = await Promise.all(clients.slice(0, 2).map((c) => c.semaphore('pool', 2).acquire()));
  t.same([a.token, b.token].sort(), [1, 2]);
  const third = clients[2].semaphore('pool', 2).acquire({ timeoutMs: 20_000 });
  await waitFor(async () => (await curl.get('/semaphores/pool')).body.waiting === 1, 'the third to wait');
  await t.rejects(clients[2].semaphore('pool', 3).acquire({ timeoutMs: 0 }), { code: 'SLUICE_ERR_MAX_LEASES_CONFLICT', message: /has maxLeases 2, not 3/ });
  t.match((await curl.put('/semaphores/pool', { maxLeases: 3 })).body, { maxLeases: 3 });
  t.equal((await third).token, 3, 'raising maxLeases let the waiter in');
  t.match((await curl.get('/semaphores/pool')).body, { maxLeases: 3, waiting: 0, lastToken: 3, leases: [{ token: 1 }, { token: 2 }, { token: 3 }] });
  const another = await curl.post('/semaphores/pool/acquire?timeout=0', { maxLeases: 3 });
  t.equal(another.status, 408, 'all three leases are held');
  await a.release();
  await b.release();
  const one = clients[0].semaphore('pool', 3);
  const older = await one.acquire();
  const newer = await one.acquire();
  t.same([older.token, newer.token], [4, 5], 'one object may hold several leases');
  await one.release(); // its oldest
  t.same((await curl.get('/semaphores/pool')).body.leases.map((l: { token: number }) => l.token), [3, 5]);
  t.same([older.held, newer.held], [false, true]);
});

t.test('bad input: 400 naming the field; 409 for a lease not held', async (t) => {
  const cases: Array<[string, unknown, number, RegExp]> = [
    ['/locks/l1/acquire', { ttlMs: 5 }, 400, /body\.ttlMs/],
    ['/locks/l1/acquire', { leaseId: 'x' }, 400, /body\.leaseId: a lease id is 8 to 64 characters/],
    ['/locks/l1/acquire', { maxLeases: 2 }, 400, /unknown field "maxLeases"/],
    ['/locks/l1/acquire?timeout=forever', undefined, 400, /query\.timeout/],
    ['/locks/l1/renew', {}, 400, /body\.leaseId/],
    ['/locks/l1/renew', { leaseId: 'never-granted' }, 409, /lease never-granted on lock l1 is not held/],
    ['/semaphores/s1/acquire', { maxLeases: 0 }, 400, /body\.maxLeases/],
    ['/locks/bad name/acquire', {}, 400, /params\.name: a lock name is 1 to 128 characters/],
  ];
  for (const [path, body, status, message] of cases) {
    const answer = await curl.post(path, body);
    t.equal(answer.status, status, path);
    t.match(answer.body.error.message, message, path);
  }
  t.equal((await curl.put('/semaphores/s1', { maxLeases: 0 })).status, 400);
  t.match((await curl.get('/locks/l1')).body, { leases: [], lastToken: 0 }, 'nothing was granted');
  const other = await curl.post('/locks/l2/acquire', { leaseId: 'shared-lease-id', ttlMs: 1000 });
  t.equal(other.status, 200);
  const clash = await curl.post('/semaphores/l2/acquire', { leaseId: 'shared-lease-id' });
  t.equal(clash.status, 400, 'a lease id already held elsewhere');
  t.match(clash.body.error.message, /body\.leaseId: lease shared-lease-id is held on another lock/);
});
