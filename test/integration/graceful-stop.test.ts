// A graceful stop (SIGTERM) in the middle of queue gets: every item answered
// to a getter before the stop has left the store, so after the restart no
// item comes out twice, and none is lost. With gets with ack, every item
// acknowledged before the stop has left the store, and every lease is kept
// or ended as its reply went.
import { join } from 'node:path';
import t from 'tap';
import { Agent, request } from 'undici';
import { api, startScheduler, tempDir } from '../helpers/cluster.ts';
import { waitFor } from '../helpers/processes.ts';

const ROUNDS = 4;
const ITEMS = 3000;
const GETTERS = 24;

t.test('SIGTERM while getters take items: after the restart no item comes out twice, none is lost', async (t) => {
  const db = join(tempDir(t), 'sluice.db');
  const delivered = new Map<number, number>(); // item → times delivered
  const put: number[] = [];
  let port = 0;
  let next = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const scheduler = await startScheduler(t, { db, port, args: ['--rate-limit-per-minute', '0'] });
    port = scheduler.port;
    const curl = api(scheduler.url);
    if (round > 0) await drain(scheduler.url, delivered); // what the previous round left
    for (let i = 0; i < ITEMS; i += 500) {
      const items = Array.from({ length: 500 }, () => next++);
      t.equal((await curl.post('/queues/stop/put', { items })).status, 201);
      put.push(...items);
    }
    // Getters on keep-alive connections, taking small batches as fast as they can, until the scheduler refuses or goes.
    const agent = new Agent({ connections: GETTERS });
    let answered = 0;
    const getters = Array.from({ length: GETTERS }, async () => {
      for (;;) {
        let items: number[];
        try {
          const response = await request(`${scheduler.url}/queues/stop/get?batch=3&timeout=0`, { method: 'POST', dispatcher: agent });
          const text = await response.body.text();
          if (response.statusCode !== 200) return;
          items = (JSON.parse(text) as { items: number[] }).items;
        } catch {
          return; // the connection went with the scheduler
        }
        for (const item of items) delivered.set(item, (delivered.get(item) ?? 0) + 1);
        answered++;
      }
    });
    // Stop it while the gets come thick and fast: after a few hundred answers, never the same moment twice.
    while (answered < 200 + round * 97) await new Promise((r) => setImmediate(r));
    scheduler.proc.child.kill('SIGTERM');
    await Promise.all(getters);
    const exit = await scheduler.proc.exited;
    t.equal(exit.code, 0, `round ${round}: the drain exited cleanly`);
    await agent.close();
  }
  const last = await startScheduler(t, { db, port });
  await drain(last.url, delivered);
  const twice = [...delivered].filter(([, n]) => n > 1).map(([item]) => item);
  const lost = put.filter((item) => !delivered.has(item));
  t.same(twice, [], 'no item was delivered twice');
  t.same(lost, [], 'no item was lost');
  t.equal(delivered.size, put.length);
});

t.test('SIGTERM while getters lease and acknowledge items: after the restart no acknowledged item comes out again, none is lost', async (t) => {
  const db = join(tempDir(t), 'sluice.db');
  const acked = new Map<number, number>(); // item → times acknowledged
  const deliveredAfterAck: number[] = [];
  const put: number[] = [];
  let port = 0;
  let next = 0;
  /** Lease, then acknowledge, batches of `batch` until the queue is empty (or the scheduler refuses or goes). */
  const consume = async (url: string, agent: Agent, batch: number, count: () => void): Promise<void> => {
    for (;;) {
      let lease: { id: string; ids: number[] };
      let items: number[];
      try {
        const response = await request(`${url}/queues/acked/get?batch=${batch}&timeout=0&ack=true&ttlMs=1000`, { method: 'POST', dispatcher: agent });
        const text = await response.body.text();
        if (response.statusCode !== 200) return;
        ({ items, lease } = JSON.parse(text) as { items: number[]; lease: { id: string; ids: number[] } });
      } catch {
        return;
      }
      for (const item of items) if (acked.has(item)) deliveredAfterAck.push(item);
      try {
        const response = await request(`${url}/queues/acked/ack`, {
          method: 'POST',
          dispatcher: agent,
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ leaseId: lease.id }),
        });
        await response.body.text();
        if (response.statusCode !== 200) continue; // not acknowledged: the items come back
      } catch {
        return;
      }
      for (const item of items) acked.set(item, (acked.get(item) ?? 0) + 1);
      count();
    }
  };
  for (let round = 0; round < ROUNDS; round++) {
    const scheduler = await startScheduler(t, { db, port, args: ['--rate-limit-per-minute', '0'] });
    port = scheduler.port;
    const curl = api(scheduler.url);
    for (let i = 0; i < ITEMS; i += 500) {
      const items = Array.from({ length: 500 }, () => next++);
      // A scheduler just started on a loaded machine may shed load (503): a client retries.
      const status = await waitFor(async () => {
        const answer = await curl.post('/queues/acked/put', { items, idempotencyKey: `put-${items[0]}` });
        return answer.status === 503 ? undefined : answer.status;
      }, 'a put not shed', 30_000, 200);
      t.equal(status, 201);
      put.push(...items);
    }
    const agent = new Agent({ connections: GETTERS });
    let answered = 0;
    const getters = Array.from({ length: GETTERS }, () => consume(scheduler.url, agent, 3, () => answered++));
    while (answered < 150 + round * 61) await new Promise((r) => setImmediate(r));
    scheduler.proc.child.kill('SIGTERM');
    await Promise.all(getters);
    t.equal((await scheduler.proc.exited).code, 0, `round ${round}: the drain exited cleanly`);
    await agent.close();
  }
  const last = await startScheduler(t, { db, port });
  const agent = new Agent({ connections: 1 });
  t.teardown(() => agent.close());
  // Leases restored from the store get a full ttl (1 s) from the start, then their items are back in line.
  await waitFor(async () => (await api(last.url).get('/queues/acked')).body.leased === 0, 'the restored leases to lapse', 30_000);
  await consume(last.url, agent, 1000, () => undefined);
  t.same(deliveredAfterAck, [], 'no item acknowledged was delivered again');
  t.same(
    [...acked].filter(([, n]) => n > 1).map(([item]) => item),
    [],
    'no item was acknowledged twice',
  );
  t.same(
    put.filter((item) => !acked.has(item)),
    [],
    'no item was lost',
  );
});

/** Take everything left in the queue. */
async function drain(url: string, delivered: Map<number, number>): Promise<void> {
  const curl = api(url);
  for (;;) {
    const answer = await curl.post('/queues/stop/get?batch=1000&timeout=0');
    if (answer.status === 408) return;
    if (answer.status !== 200) throw new Error(`drain: ${answer.status} ${JSON.stringify(answer.body)}`);
    for (const item of answer.body.items as number[]) delivered.set(item, (delivered.get(item) ?? 0) + 1);
  }
}
