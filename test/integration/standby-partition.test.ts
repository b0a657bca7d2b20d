// Several schedulers on one PostgreSQL database, each on a test host of its own (network namespaces):
// the leader's host is cut off; the standby takes over, the old leader stands by once its lease ran out,
// and the clients and workers (given both URLs) carry on with the new one.
//
// The first case runs schedulers that keep their state in memory (test/fixtures/standby-scheduler.ts);
// the second, real schedulers on the PostgreSQL store (`sluice scheduler --db postgres://…`), with a
// writer on the leader's own host that keeps writing to it while it is cut off: PostgreSQL must hold
// nothing it sent after the takeover.
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import t from 'tap';
import { Client } from '../../client/node.ts';
import { makeNetwork, netnsUnavailable, type TestHost } from '../helpers/netns.ts';
import { createDatabase, startPostgres } from '../helpers/postgres.ts';
import { Proc, TASKS, waitFor } from '../helpers/processes.ts';

const FIXTURE = fileURLToPath(new URL('../fixtures/standby-scheduler.ts', import.meta.url));
const BIN = fileURLToPath(new URL('../../bin/sluice.js', import.meta.url));
const LEASE_MS = 3000;
const PORT = 8786;
const TOKEN = 'partition-admin-token-0123456789';
const auth = { authorization: `Bearer ${TOKEN}` };

const why = netnsUnavailable();
if (why) {
  t.plan(0, why);
} else {
  const network = await makeNetwork(t);
  const rootAddress = await network.attachRoot();
  const database = await startPostgres(t, { listenAddresses: ['127.0.0.1', rootAddress], hba: [`host all all ${network.prefix}.0/24 scram-sha-256`] });
  const databaseUrl = database.url.replace('@127.0.0.1:', `@${rootAddress}:`);

  const urlOf = (host: TestHost): string => `http://${host.address}:${PORT}`;
  const health = async (host: TestHost): Promise<Record<string, unknown> | undefined> => {
    try {
      const response = await fetch(`${urlOf(host)}/health`, { signal: AbortSignal.timeout(1000) });
      return (await response.json()) as Record<string, unknown>;
    } catch {
      return undefined;
    }
  };

  /** A scheduler on its test host: `args` after node (the standby fixture, or the sluice command); stopped at teardown. */
  const startOn = async (host: TestHost, args: string[] = ['--import', 'tsx', FIXTURE, String(PORT), databaseUrl, String(LEASE_MS), 'partition']): Promise<Proc> => {
    const [file, hostArgs] = host.command(process.execPath, args);
    const proc = new Proc(hostArgs, {
      command: file,
      env: { SLUICE_INSECURE: 'false', SLUICE_ADMIN_TOKEN: TOKEN, SLUICE_HOST: '0.0.0.0', SLUICE_ADVERTISE_URL: urlOf(host) },
    });
    t.teardown(() => proc.stop('SIGKILL'));
    await proc.waitForLog((e) => e.msg === 'sluice scheduler ready', 30_000);
    return proc;
  };

  t.test('the leader cut off: the standby takes over, the old one stands by, clients and workers follow', async (t) => {
    const a = await network.addHost('a');
    const b = await network.addHost('b');
    const w = await network.addHost('w');
    const procA = await startOn(a);
    await waitFor(async () => (await health(a))?.role === 'leader', 'a to lead', 20_000);
    await startOn(b);
    t.match(await health(b), { role: 'standby', leader: urlOf(a) }, 'b stands by, naming a');

    const urls = [urlOf(a), urlOf(b)];
    const [file, args] = w.command(process.execPath, [BIN, 'worker', '--scheduler', urls.join(','), '--tasks', TASKS, '--name', 'partitioned', '--no-nanny']);
    const worker = new Proc(args, { command: file, env: { SLUICE_TOKEN: TOKEN } });
    t.teardown(() => worker.stop('SIGKILL'));
    await worker.waitForLog((e) => e.msg === 'connected to the scheduler', 30_000);

    const client = await Client.connect(urls, { token: TOKEN, requestTimeoutMs: 3000 });
    t.teardown(() => client.close({ timeoutMs: 1000 }));
    t.equal(await client.submit('inc', [1], { pure: false }).result(), 2, 'served by a');

    await network.cut(a);
    const cutAt = performance.now();
    await procA.waitForLog((e) => e.msg === 'no longer leading: standing by', 20_000);
    t.pass('a, cut off, stops leading on its own once its lease runs out');
    await waitFor(async () => (await health(b))?.role === 'leader', 'b to take over', 20_000);
    const tookOverMs = Math.round(performance.now() - cutAt);

    const future = client.submit('inc', [41], { pure: false });
    await client.flush();
    const firstWriteMs = Math.round(performance.now() - cutAt);
    t.equal(client.url, urlOf(b), 'the client moved to b');
    t.equal(await waitFor(async () => future.status === 'finished' && (await future.result()), 'the result from b (the worker moved, the status stream too)', 90_000), 42, 'the future resolved: the worker and the status stream moved to b');
    t.comment(`cut → b leads: ${tookOverMs} ms; cut → first acknowledged write: ${firstWriteMs} ms (lease ${LEASE_MS} ms)`);

    await network.restore(a);
    await waitFor(async () => (await health(a))?.leader === urlOf(b), 'a, back on the network, to stand by naming b', 20_000);
    t.match(await health(a), { role: 'standby', leader: urlOf(b) }, 'a stands by and names b');
    const refused = await fetch(`${urlOf(a)}/workers`, { headers: auth, signal: AbortSignal.timeout(2000) });
    t.equal(refused.status, 503, 'a serves nothing');
  });
  /** A real scheduler on the PostgreSQL store, on its test host. */
  const startStoreOn = (host: TestHost, db: string): Promise<Proc> =>
    startOn(host, [BIN, 'scheduler', '--port', String(PORT), '--db', db, '--leader-lease-ms', String(LEASE_MS), '--log-level', 'info']);

  // Puts to the scheduler on its own host, one every 20 ms, each a new item naming when it was sent;
  // one JSON line per answer.
  const WRITER = `
    const [url, token] = process.argv.slice(1);
    for (let i = 0; ; i++) {
      const sentAt = Date.now();
      let status = 'no answer';
      try {
        const answer = await fetch(url + '/queues/cut/put', { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer ' + token }, body: JSON.stringify({ item: { i, sentAt } }), signal: AbortSignal.timeout(2000) });
        status = answer.status;
        await answer.text();
      } catch {}
      console.log(JSON.stringify({ msg: 'put', i, sentAt, status }));
      await new Promise((resolve) => setTimeout(resolve, 20));
    }`;

  t.test('the PostgreSQL store: the leader cut off commits nothing after the takeover, and stands by naming the new leader when back', async (t) => {
    const db = (await createDatabase(t, database, 'partition_store')).replace('@127.0.0.1:', `@${rootAddress}:`);
    const a = await network.addHost('pa');
    const b = await network.addHost('pb');
    const procA = await startStoreOn(a, db);
    await waitFor(async () => (await health(a))?.role === 'leader', 'a to lead', 30_000);
    await startStoreOn(b, db);
    await waitFor(async () => (await health(b))?.leader === urlOf(a), 'b to stand by naming a', 20_000);

    const [file, args] = a.command(process.execPath, ['--input-type=module', '-e', WRITER, urlOf(a), TOKEN]);
    const writer = new Proc(args, { command: file });
    t.teardown(() => writer.stop('SIGKILL'));
    const puts = (): Array<{ i: number; sentAt: number; status: number | string }> =>
      writer.lines.flatMap((line) => {
        try {
          const entry = JSON.parse(line);
          return entry.msg === 'put' ? [entry] : [];
        } catch {
          return [];
        }
      });
    await waitFor(() => puts().filter((p) => p.status === 201).length >= 20, 'puts acknowledged by a', 30_000);

    await network.cut(a);
    await waitFor(async () => (await health(b))?.role === 'leader', 'b to take over', 30_000);
    const tookOverAt = Date.now();
    await procA.waitForLog((e) => e.msg === 'no longer leading: standing by', 30_000);
    // a stood by; the writer on its host keeps trying for a while longer.
    const tried = puts().length;
    await waitFor(() => puts().length >= tried + 20, 'more puts tried on the cut-off host', 30_000);

    await network.restore(a);
    await waitFor(async () => (await health(a))?.leader === urlOf(b), 'a, back on the network, to stand by naming b', 30_000);
    t.match(await health(a), { role: 'standby', leader: urlOf(b) }, 'a stands by and names b');
    await writer.stop('SIGKILL');

    const acknowledgedLate = puts().filter((p) => p.status === 201 && p.sentAt >= tookOverAt);
    t.same(acknowledgedLate, [], 'a acknowledged nothing sent after the takeover');
    const client = new pg.Client(db);
    await client.connect();
    t.teardown(() => client.end());
    const { rows } = await client.query<{ i: number; sentAt: number }>("SELECT (value::json->>'i')::int AS i, (value::json->>'sentAt')::bigint AS \"sentAt\" FROM queue_items WHERE queue = 'cut'");
    t.same(rows.filter((row) => row.sentAt >= tookOverAt), [], 'PostgreSQL holds nothing sent to a after the takeover');
    const stored = new Set(rows.map((row) => row.i));
    const acknowledged = puts().filter((p) => p.status === 201);
    t.same(acknowledged.filter((p) => !stored.has(p.i)), [], `every one of the ${acknowledged.length} puts a acknowledged is in PostgreSQL`);
    t.comment(`${puts().length} puts tried on a, ${acknowledged.length} acknowledged, ${rows.length} in PostgreSQL; answers after the takeover: ${[...new Set(puts().filter((p) => p.sentAt >= tookOverAt).map((p) => p.status))].join(', ')}`);
  });
}
