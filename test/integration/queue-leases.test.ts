// Gets with ack over raw HTTP: items leased rather than taken, acknowledged,
// given back, lapsing, ending with their client session, counted against
// maxsize, and kept across a kill -9 of the scheduler.
import t from 'tap';
import { api, createSession, startScheduler } from '../helpers/cluster.ts';
import { waitFor } from '../helpers/processes.ts';

const scheduler = await startScheduler(t);
const curl = api(scheduler.url);
let n = 0;
const fresh = (): string => `leased-${Date.now()}-${n++}`;

interface Leased {
  items: unknown[];
  lease: { id: string; ttlMs: number; ids: number[] };
}

t.test('a get with ack leases the items: out of line until acknowledged, then gone', async (t) => {
  const q = fresh();
  await curl.post(`/queues/${q}/put`, { items: ['a', 'b'] });
  const got = await curl.post<Leased>(`/queues/${q}/get?ack=true&ttlMs=30000`);
  t.equal(got.status, 200);
  t.same(got.body.items, ['a']);
  t.match(got.body.lease, { id: String, ttlMs: 30000, ids: [Number] });
  t.match((await curl.get(`/queues/${q}`)).body, { size: 1, leased: 1 });
  t.same((await curl.post(`/queues/${q}/get?timeout=0`)).body, { items: ['b'] }, 'the next getter gets the next item');
  t.equal((await curl.post(`/queues/${q}/get?timeout=0`)).status, 408, 'the leased item is not in line');
  const acked = await curl.post(`/queues/${q}/ack`, { leaseId: got.body.lease.id });
  t.match(acked.body, { acked: 1, ids: [] });
  t.match((await curl.get(`/queues/${q}`)).body, { size: 0, leased: 0 });
  const again = await curl.post(`/queues/${q}/ack`, { leaseId: got.body.lease.id });
  t.equal(again.status, 409);
  t.match(again.body, { error: { code: 'SLUICE_ERR_LEASE_EXPIRED' } });
  t.equal((await curl.post(`/queues/${q}/renew`, { leaseId: got.body.lease.id })).status, 409);
});

t.test('release gives items back to the front, in order; ack and release take some of a batch', async (t) => {
  const q = fresh();
  await curl.post(`/queues/${q}/put`, { items: [1, 2, 3, 4] });
  const got = await curl.post<Leased>(`/queues/${q}/get?ack=true&batch=3`);
  t.same(got.body.items, [1, 2, 3]);
  const [id1, id2, id3] = got.body.lease.ids;
  t.match((await curl.post(`/queues/${q}/ack`, { leaseId: got.body.lease.id, ids: [id2] })).body, { acked: 1, ids: [id1, id3] });
  const unknown = await curl.post(`/queues/${q}/ack`, { leaseId: got.body.lease.id, ids: [id2] });
  t.equal(unknown.status, 400, 'an id no longer under the lease');
  t.match(unknown.body, { error: { code: 'SLUICE_ERR_VALIDATION', message: /not under lease/ } });
  t.match((await curl.post(`/queues/${q}/release`, { leaseId: got.body.lease.id, ids: [id3] })).body, { released: 1, ids: [id1] });
  t.same((await curl.post(`/queues/${q}/get?batch=5`)).body, { items: [3, 4] }, 'the released item is back ahead of the ones after it');
  t.match((await curl.post(`/queues/${q}/release`, { leaseId: got.body.lease.id })).body, { released: 1, ids: [] });
  t.same((await curl.post(`/queues/${q}/get?timeout=0`)).body, { items: [1] });
});

t.test('a lease not renewed within its ttl lapses and its items go back; renewing keeps them', async (t) => {
  const q = fresh();
  await curl.post(`/queues/${q}/put`, { items: ['kept', 'lapsed'] });
  // A ttl ten times the renewal interval: renewals keep it even on a machine that stalls for a second.
  const kept = await curl.post<Leased>(`/queues/${q}/get?ack=true&ttlMs=2000`);
  const lapsed = await curl.post<Leased>(`/queues/${q}/get?ack=true&ttlMs=2000`);
  t.same([kept.body.items, lapsed.body.items], [['kept'], ['lapsed']]);
  const started = Date.now();
  while (Date.now() - started < 3000) {
    t.equal((await curl.post(`/queues/${q}/renew`, { leaseId: kept.body.lease.id })).status, 200);
    await new Promise((r) => setTimeout(r, 200));
  }
  await waitFor(async () => (await curl.get(`/queues/${q}`)).body.size === 1, 'the other lease to lapse', 15_000);
  t.match((await curl.get(`/queues/${q}`)).body, { size: 1, leased: 1 }, 'the renewed lease holds; the other lapsed');
  t.same((await curl.post(`/queues/${q}/get?timeout=0`)).body, { items: ['lapsed'] });
  t.equal((await curl.post(`/queues/${q}/ack`, { leaseId: lapsed.body.lease.id })).status, 409, 'too late: it went to someone else');
  t.equal((await curl.post(`/queues/${q}/ack`, { leaseId: kept.body.lease.id })).status, 200);
});

t.test('the end of the getter’s client session gives its leased items back', async (t) => {
  const q = fresh();
  const { id: clientId, headers } = await createSession(scheduler.url);
  const session = api(scheduler.url, headers);
  await curl.post(`/queues/${q}/put`, { items: ['x', 'y'] });
  const got = await session.post<Leased>(`/queues/${q}/get?ack=true&batch=2`);
  t.same(got.body.items, ['x', 'y']);
  t.match((await curl.get(`/queues/${q}`)).body, { size: 0, leased: 2 });
  t.equal((await session.delete(`/clients/${clientId}`)).status, 204);
  t.match((await curl.get(`/queues/${q}`)).body, { size: 2, leased: 0 }, 'back in line at once');
  t.same((await curl.post(`/queues/${q}/get?batch=2`)).body, { items: ['x', 'y'] }, 'in their order');
  t.equal((await session.post(`/queues/${q}/ack`, { leaseId: got.body.lease.id })).status, 409);
});

t.test('leased items count against maxsize; a deleted queue takes its leases with it', async (t) => {
  const q = fresh();
  await curl.put(`/queues/${q}`, { maxsize: 1 });
  await curl.post(`/queues/${q}/put`, { item: 1 });
  const got = await curl.post<Leased>(`/queues/${q}/get?ack=true`);
  t.equal((await curl.post(`/queues/${q}/put?timeout=0`, { item: 2 })).status, 408, 'the leased item still takes room');
  await curl.post(`/queues/${q}/ack`, { leaseId: got.body.lease.id });
  t.equal((await curl.post(`/queues/${q}/put?timeout=0`, { item: 2 })).status, 201, 'acknowledged: room again');

  const leasedAgain = await curl.post<Leased>(`/queues/${q}/get?ack=true`);
  t.equal((await curl.delete(`/queues/${q}`)).status, 204);
  t.equal((await curl.post(`/queues/${q}/ack`, { leaseId: leasedAgain.body.lease.id })).status, 409, 'gone with the queue');
});

t.test('bad input is refused with the field named', async (t) => {
  const q = fresh();
  for (const query of ['ack=yes', 'ack=true&ttlMs=50', 'ack=true&ttlMs=abc']) {
    const answer = await curl.post(`/queues/${q}/get?timeout=0&${query}`);
    t.equal(answer.status, 400, query);
    t.match(answer.body, { error: { code: 'SLUICE_ERR_VALIDATION' } });
  }
  for (const body of [{}, { leaseId: '' }, { leaseId: 'x', ids: [] }, { leaseId: 'x', ids: [1.5] }, { leaseId: 'x', other: 1 }]) {
    t.equal((await curl.post(`/queues/${q}/ack`, body)).status, 400, JSON.stringify(body));
  }
  t.equal((await curl.post(`/queues/${q}/ack`, { leaseId: 'no-such-lease' })).status, 409);
});

t.test('leases survive a kill -9 of the scheduler: the holder can still acknowledge; one not renewed lapses', async (t) => {
  const first = await startScheduler(t);
  const http = api(first.url);
  await http.post('/queues/durable/put', { items: ['acked', 'lapses', 'free'] });
  const acked = await http.post<Leased>('/queues/durable/get?ack=true&ttlMs=60000');
  const lapses = await http.post<Leased>('/queues/durable/get?ack=true&ttlMs=1000');
  await first.proc.stop('SIGKILL');
  const second = await startScheduler(t, { db: first.db, port: first.port });
  const again = api(second.url);
  t.match((await again.get('/queues/durable')).body, { size: 1, leased: 2 }, 'leased items stay out of line after the restart');
  t.same((await again.post('/queues/durable/get?timeout=0')).body, { items: ['free'] });
  t.match((await again.post('/queues/durable/ack', { leaseId: acked.body.lease.id })).body, { acked: 1 });
  await waitFor(async () => (await again.get('/queues/durable')).body.size === 1, 'the unrenewed lease to lapse', 15_000);
  t.same((await again.post('/queues/durable/get?timeout=0')).body, { items: ['lapses'] });
  t.equal((await again.post('/queues/durable/ack', { leaseId: lapses.body.lease.id })).status, 409);
});
