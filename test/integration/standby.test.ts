// Several schedulers on one PostgreSQL database: one leads and serves, the others stand by and name it;
// clients and workers given every URL find the leader and follow it when it changes.
//
// The schedulers here keep their state in memory (test/fixtures/standby-scheduler.ts): leadership,
// the standby's answers and the moves of clients and workers are real, but a new leader starts empty.
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import t from 'tap';
import WebSocket from 'ws';
import { Client } from '../../client/node.ts';
import { api, startWorker } from '../helpers/cluster.ts';
import { startPostgres } from '../helpers/postgres.ts';
import { freePort, Proc, waitFor, within } from '../helpers/processes.ts';

const FIXTURE = fileURLToPath(new URL('../fixtures/standby-scheduler.ts', import.meta.url));
// Short leases keep the tests short; the timeouts are generous, for a loaded machine. A new leader
// must renew its lease while it builds its app (about 2 s on a loaded machine, the event loop busy):
// with a lease shorter than that it loses the lease while loading, and the leadership flaps.
const LEASE_MS = 3000;

const database = await startPostgres(t);


interface Sched {
  proc: Proc;
  url: string;
  port: number;
}

type Tap = { teardown(fn: () => unknown): void };

/** A scheduler contending for leadership `name`; stopped at teardown. */
async function startContender(t: Tap, name: string, port?: number): Promise<Sched> {
  const chosen = port ?? (await freePort());
  const proc = new Proc([String(chosen), database.url, String(LEASE_MS), name], { script: FIXTURE });
  t.teardown(() => proc.stop('SIGKILL'));
  await proc.waitForLog((e) => e.msg === 'sluice scheduler ready', 30_000);
  return { proc, url: `http://127.0.0.1:${chosen}`, port: chosen };
}

async function health(url: string): Promise<{ status: number; body: Record<string, unknown> } | undefined> {
  try {
    const answer = await api(url).get<Record<string, unknown>>('/health');
    return { status: answer.status, body: answer.body };
  } catch {
    return undefined; // not listening
  }
}

const leads = async (s: Sched): Promise<boolean> => (await health(s.url))?.body.role === 'leader';


t.test('two schedulers on one database: one leads, the other stands by and names it', async (t) => {
  const a = await startContender(t, 'pair');
  await waitFor(() => leads(a), 'a to lead', 20_000);
  t.match(await health(a.url), { status: 200, body: { status: 'ok', role: 'leader' } }, 'the leader: 200, role leader');
  const b = await startContender(t, 'pair');
  t.match(await health(b.url), { status: 503, body: { status: 'standby', role: 'standby', leader: a.url } }, 'the standby: 503, role standby, naming the leader');

  const workers = await api(b.url).get('/workers');
  t.equal(workers.status, 503);
  t.match(workers.body, { error: { code: 'SLUICE_ERR_STANDBY', details: { leader: a.url } } }, 'any request to the standby: SLUICE_ERR_STANDBY naming the leader');
  t.match(workers.body.error.message, a.url);
  t.equal(workers.headers.get('retry-after'), '1');
  const submit = await api(b.url).post('/tasks', { tasks: [{ fn: 'inc', args: [1] }] });
  t.match(submit, { status: 503, body: { error: { code: 'SLUICE_ERR_STANDBY' } } }, 'a write too, its body left unread');
  const garbage = await api(b.url).raw('POST', '/tasks', '{not json');
  t.match(garbage, { status: 503, body: { error: { code: 'SLUICE_ERR_STANDBY' } } }, 'a bad body is not even looked at');

  const upgrade = await within(
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const socket = new WebSocket(`${b.url.replace('http', 'ws')}/ws/worker`);
      socket.on('unexpected-response', (_request, response) => {
        let body = '';
        response.on('data', (chunk: Buffer) => (body += chunk.toString()));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      });
      socket.on('open', () => reject(new Error('a standby opened a worker socket')));
      socket.on('error', () => undefined);
    }),
    10_000,
    'the worker socket refusal',
  );
  t.equal(upgrade.status, 503, 'a worker socket to the standby: 503');
  t.match(JSON.parse(upgrade.body), { error: { code: 'SLUICE_ERR_STANDBY', details: { leader: a.url } } });

  // The standby first in the list: the client and the worker are sent to the leader.
  const client = await Client.connect([b.url, a.url]);
  t.teardown(() => client.close());
  t.equal(client.url, a.url, 'the client found the leader');
  await startWorker(t, `${b.url},${a.url}`, { joinedAt: a.url });
  t.equal(await within(client.submit('inc', [41]).result(), 20_000, 'a result'), 42, 'and is served');
});

t.test('kill -9 of the leader, several times: a standby takes over, and the client and worker follow', async (t) => {
  const name = 'kills';
  const ports = [await freePort(), await freePort()];
  const urls = ports.map((p) => `http://127.0.0.1:${p}`);
  const running: Array<Sched | undefined> = [await startContender(t, name, ports[0]), undefined];
  await waitFor(() => leads(running[0] as Sched), 'the first to lead', 20_000);
  running[1] = await startContender(t, name, ports[1]);
  const client = await Client.connect(urls);
  t.teardown(() => client.close());
  await startWorker(t, urls.join(','), { name: 'follower', joinedAt: urls[0] });
  t.equal(await within(client.submit('inc', [0], { pure: false }).result(), 20_000, 'a first result'), 1);

  const firstWriteMs: number[] = [];
  const kills = 3;
  for (let kill = 0; kill < kills; kill++) {
    const leader = (await leads(running[0] as Sched)) ? 0 : 1;
    const standby = 1 - leader;
    await (running[leader] as Sched).proc.stop('SIGKILL');
    const killedAt = performance.now();
    // The first write acknowledged after the kill: a submission the new leader took.
    const future = client.submit('inc', [100 + kill], { pure: false });
    await within(client.flush(), 30_000, `the submission after kill ${kill + 1}`);
    firstWriteMs.push(Math.round(performance.now() - killedAt));
    t.equal(client.url, urls[standby], `kill ${kill + 1}: the client moved to the new leader`);
    t.equal(await within(future.result(), 30_000, `the result after kill ${kill + 1}`), 101 + kill, `kill ${kill + 1}: the worker moved too, and ran it`);
    t.ok(await leads(running[standby] as Sched), 'the standby leads');
    // The killed one comes back, on its port, as the standby.
    running[leader] = await startContender(t, name, ports[leader]);
    await waitFor(async () => (await health(urls[leader]))?.body.leader === urls[standby], 'the restarted one to stand by, naming the leader', 20_000);
  }
  const sorted = [...firstWriteMs].sort((x, y) => x - y);
  t.comment(`kill -9 → first acknowledged write (lease ${LEASE_MS} ms): ${firstWriteMs.join(', ')} ms; min ${sorted[0]}, median ${sorted[Math.floor(sorted.length / 2)]}, max ${sorted[sorted.length - 1]}`);
  await waitFor(async () => ((await api(client.url).get<Array<{ name: string }>>('/workers')).body ?? []).some?.((w) => w.name === 'follower'), 'the worker on the last leader', 20_000);
});

t.test('a leader whose database session ends stands by at once; one of them leads again after the lease, the other names it', async (t) => {
  const name = 'cut';
  const a = await startContender(t, name);
  await waitFor(() => leads(a), 'a to lead', 20_000);
  const b = await startContender(t, name);
  const admin = new pg.Client({ connectionString: database.url });
  await admin.connect();
  t.teardown(() => admin.end());
  const { rows } = await admin.query('SELECT pg_terminate_backend(pid) AS done FROM pg_stat_activity WHERE application_name = $1', [`sluice-${name}-${a.port}`]);
  t.ok(rows.some((r) => r.done), "a's session ended");
  await waitFor(async () => (await health(a.url))?.body.role === 'standby', 'a to stand by', 10_000);
  const stoodBy = await a.proc.waitForLog((e) => e.msg === 'no longer leading: standing by', 5_000);
  t.ok(stoodBy, 'a says why');
  t.match((await api(a.url).post('/tasks', { tasks: [{ fn: 'inc', args: [1] }] })).body, { error: { code: 'SLUICE_ERR_STANDBY' } }, 'a takes no writes');
  // b takes over once the lease has lapsed; a stays out for two leases, and may lead again only if b
  // could not keep its lease meanwhile (a machine so loaded that its renewals come late).
  const [leader, other] = await waitFor(
    async () => ((await leads(b)) ? [b, a] : (await leads(a)) ? [a, b] : undefined),
    'a scheduler to lead again',
    30_000,
  );
  await waitFor(async () => (await health(other.url))?.body.leader === leader.url, 'the other to name it', 20_000);
  t.pass(`${leader === b ? 'b' : 'a'} leads, and the other names it`);
});

t.test('SIGTERM of the leader hands over without waiting out the lease', async (t) => {
  const name = 'handover';
  const a = await startContender(t, name);
  await waitFor(() => leads(a), 'a to lead', 20_000);
  const b = await startContender(t, name);
  const stopped = performance.now();
  const { code } = await within(a.proc.stop('SIGTERM'), 20_000, 'a to stop');
  t.equal(code, 0, 'a stopped cleanly');
  await waitFor(() => leads(b), 'b to take over', 20_000);
  t.comment(`SIGTERM → the standby leads: ${Math.round(performance.now() - stopped)} ms (lease ${LEASE_MS} ms)`);
});
