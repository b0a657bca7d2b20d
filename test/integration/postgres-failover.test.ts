// Failover with the PostgreSQL store, under load: two real schedulers (`sluice scheduler --db
// postgres://…`) on one database, a worker and a client given both URLs, and writers of every kind
// that follow the leader. The leader is kill -9'd in the middle of the burst, several times (the
// killed one restarted as the new standby): every acknowledged write is on the new leader, the
// client's futures resolve, its channel reader carries on without gap or repeat, and fencing tokens
// only go up. One private PostgreSQL cluster for the file.
import pg from 'pg';
import t from 'tap';
import { Client } from '../../client/node.ts';
import { api, type SchedulerProc, startScheduler, startWorker } from '../helpers/cluster.ts';
import { checkFailoverBurst, startFailoverBurst } from '../helpers/durability-checks.ts';
import { createDatabase, postgresMissing, startPostgres } from '../helpers/postgres.ts';
import { freePort, waitFor, within } from '../helpers/processes.ts';



const role = async (url: string): Promise<string | undefined> => {
  try {
    return (await api(url).get<{ role?: string }>('/health')).body.role;
  } catch {
    return undefined;
  }
};

const missing = postgresMissing();
if (missing) t.plan(0, missing);
else {
  const server = await startPostgres(t);

  t.test('kill -9 of the leader under load, three times: nothing acknowledged is lost, and everyone follows', async (t) => {
    const db = await createDatabase(t, server, 'failover');
    const ports = [await freePort(), await freePort()];
    const urls = ports.map((port) => `http://127.0.0.1:${port}`);
    const running: SchedulerProc[] = [await startScheduler(t, { db, port: ports[0] })];
    running[1] = await startScheduler(t, { db, port: ports[1], standby: true });
    t.equal(await role(urls[1]), 'standby', 'the second stands by');

    const client = await Client.connect(urls);
    t.teardown(() => client.close({ timeoutMs: 1000 }));
    await startWorker(t, urls.join(','), { name: 'failover-worker', joinedAt: urls[0] });
    t.equal(await within(client.submit('inc', [0], { pure: false }).result(), 30_000, 'a first result'), 1);

    // The client reads channel failover-0 (which the burst appends to) as it grows.
    const read: string[] = [];
    const channel = client.channel('failover-0');
    const reader = (async () => {
      for await (const entry of channel) {
        const future = entry as { key: string; release(): void };
        read.push(future.key);
        future.release();
      }
    })();
    const burst = startFailoverBurst(urls);
    const futures: Array<{ i: number; result: Promise<unknown> }> = [];
    const firstWriteMs: number[] = [];
    const kills = 3;
    for (let kill = 0; kill < kills; kill++) {
      const leader = (await role(urls[0])) === 'leader' ? 0 : 1;
      const standby = 1 - leader;
      // Mid-burst: some writes acknowledged by this leader first, and futures of the client in flight.
      const acksBefore = burst.ackTimes.length;
      await waitFor(() => burst.ackTimes.length >= acksBefore + 200, `writes acknowledged before kill ${kill + 1}`, 60_000);
      for (let i = 0; i < 20; i++) {
        const n = kill * 100 + i;
        futures.push({ i: n, result: client.submit('inc', [n], { pure: false }).result() });
      }
      await within(client.flush(), 30_000, `the client's submissions before kill ${kill + 1}`);
      await running[leader].proc.stop('SIGKILL');
      const killedAt = performance.now();
      await waitFor(() => burst.firstAckAfter(killedAt), `a write acknowledged after kill ${kill + 1}`, 60_000);
      firstWriteMs.push(Math.round((burst.firstAckAfter(killedAt) as number) - killedAt));
      t.equal(await role(urls[standby]), 'leader', `kill ${kill + 1}: the standby leads`);
      // The killed one comes back on its port as the standby, naming the new leader.
      running[leader] = await startScheduler(t, { db, port: ports[leader], standby: true });
      await waitFor(async () => (await api(urls[leader]).get<{ leader?: string }>('/health')).body.leader === urls[standby], 'the restarted one to name the leader', 30_000);
    }
    // A while on the last leader, then the writers stop.
    const acks = burst.ackTimes.length;
    await waitFor(() => burst.ackTimes.length >= acks + 100, 'writes on the last leader', 60_000);
    await burst.stop();
    const leader = (await role(urls[0])) === 'leader' ? urls[0] : urls[1];

    await checkFailoverBurst(t, leader, burst);
    const results = await within(Promise.all(futures.map(({ result }) => result)), 60_000, "the client's futures");
    t.same(results, futures.map(({ i }) => i + 1), `all ${futures.length} futures the client submitted before a kill resolved, each to its result`);

    // The reader: everything in the channel, in its order, once each (no gap, no repeat).
    const { body } = await api(leader).get('/channels/failover-0?limit=100000');
    const keys = (body.futures as Array<{ key: string }>).map((f) => f.key);
    await waitFor(() => read.length >= keys.length, `the reader to reach the end (${keys.length})`, 60_000);
    t.same(read, keys, `the channel reader saw all ${keys.length} entries, in order, no gap, no repeat`);
    await within(channel.stop(), 10_000, 'stopping the channel');
    await within(reader, 20_000, 'the reader to end');

    const sorted = [...firstWriteMs].sort((x, y) => x - y);
    t.comment(
      `kill -9 → first acknowledged write (lease 5000 ms): ${firstWriteMs.join(', ')} ms; min ${sorted[0]}, median ${sorted[Math.floor(sorted.length / 2)]}, max ${sorted.at(-1)}; ` +
        `${burst.submissions.length} submissions, ${burst.appends.flat().length} appends, ${burst.puts.flat().length} puts, ` +
        `${burst.lockTokens.length + burst.semaphoreTokens.length} lock/semaphore grants acknowledged, ${burst.refused} refused or cut off`,
    );
  });
  t.test('a leader that lost its leadership stands by in the same process, and when it leads again it loads afresh what the other leader wrote', async (t) => {
    const db = await createDatabase(t, server, 'regain');
    const ports = [await freePort(), await freePort()];
    const urls = ports.map((port) => `http://127.0.0.1:${port}`);
    const args = ['--leader-lease-ms', '3000'];
    const a = await startScheduler(t, { db, port: ports[0], args });
    const b = await startScheduler(t, { db, port: ports[1], args, standby: true });
    const put = async (url: string, item: string): Promise<void> => {
      await waitFor(async () => (await api(url).post('/queues/regain/put', { item })).status === 201, `put ${item} at ${url}`, 30_000);
    };
    await put(urls[0], 'by a');

    // Another holder takes the row over for a moment (as a takeover does): a's renewal fails, it stands by.
    const admin = new pg.Client(db);
    await admin.connect();
    t.teardown(() => admin.end());
    await admin.query("UPDATE sluice_leadership SET term = term + 1, holder = 'another', url = NULL, expires_at = clock_timestamp() + interval '1 second'");
    await a.proc.waitForLog((e) => e.msg === 'no longer leading: standing by', 20_000);
    await waitFor(async () => (await role(urls[1])) === 'leader', 'b to take over', 30_000);
    await put(urls[1], 'by b');
    await waitFor(async () => (await api(urls[0]).get<{ leader?: string }>('/health')).body.leader === urls[1], 'a to stand by naming b', 30_000);
    t.ok(a.proc.running, 'a did not exit');

    await b.proc.stop('SIGKILL');
    await waitFor(async () => (await role(urls[0])) === 'leader', 'a, the same process, to lead again', 60_000);
    // Its log line may reach us after its /health does.
    const served = (): number => a.proc.lines.filter((line) => line.includes('"leading: serving"')).length;
    await waitFor(() => served() >= 2, 'a to log its second term', 10_000).catch(() => undefined);
    t.equal(served(), 2, 'a built its app twice: once per term it led');
    const items = await waitFor(async () => {
      const answer = await api(urls[0]).post('/queues/regain/get?batch=10&timeout=0');
      return answer.status === 200 ? answer.body.items : undefined;
    }, 'the items on a', 30_000);
    t.same(items, ['by a', 'by b'], 'a loaded afresh from PostgreSQL: the item b put while a stood by is there');
    const { rows } = await admin.query('SELECT term FROM sluice_leadership');
    t.ok(Number(rows[0].term) >= 4, `a leads at a later term (${rows[0].term})`);
  });
  t.test('a leader paused (SIGSTOP) past its lease: the standby takes over; resumed, the old one acknowledges and commits nothing, and stands by', async (t) => {
    const db = await createDatabase(t, server, 'paused');
    const ports = [await freePort(), await freePort()];
    const urls = ports.map((port) => `http://127.0.0.1:${port}`);
    const args = ['--leader-lease-ms', '3000'];
    const a = await startScheduler(t, { db, port: ports[0], args });
    t.teardown(() => a.proc.child.kill('SIGCONT'));
    await startScheduler(t, { db, port: ports[1], args, standby: true });
    t.equal((await api(urls[0]).post('/queues/paused/put', { item: 'before' })).status, 201);

    a.proc.child.kill('SIGSTOP');
    // Sent while a is paused: the kernel takes the connection, a reads the request once resumed.
    const during = fetch(`${urls[0]}/queues/paused/put`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ item: 'during' }) }).then(
      async (answer) => ({ status: answer.status, body: await answer.text() }),
      (error: Error) => ({ status: 0, body: error.message }),
    );
    await waitFor(async () => (await role(urls[1])) === 'leader', 'b to take over from the paused a', 60_000);
    t.equal((await api(urls[1]).post('/queues/paused/put', { item: 'by b' })).status, 201);

    a.proc.child.kill('SIGCONT');
    const answer = await within(during, 30_000, 'the answer to the put sent while a was paused');
    t.not(answer.status, 201, `the put a read after resuming is not acknowledged: ${answer.status} ${answer.body.slice(0, 200)}`);
    await waitFor(async () => (await api(urls[0]).get<{ leader?: string }>('/health')).body.leader === urls[1], 'a to stand by naming b', 30_000);
    t.ok(a.proc.running, 'a did not exit');
    const admin = new pg.Client(db);
    await admin.connect();
    t.teardown(() => admin.end());
    const { rows } = await admin.query("SELECT value FROM queue_items WHERE queue = 'paused' ORDER BY id");
    t.same(rows.map((row) => JSON.parse(row.value)), ['before', 'by b'], 'PostgreSQL holds nothing of a after the takeover');
  });
}
