// Several schedulers on one PostgreSQL database, each on a test host of its own (network namespaces):
// the leader's host is cut off; the standby takes over, the old leader stands by once its lease ran out,
// and the clients and workers (given both URLs) carry on with the new one.
//
// The schedulers keep their state in memory (test/fixtures/standby-scheduler.ts): that the old leader
// commits nothing once cut off is the store's fence (test/integration/postgres-leadership.test.ts).
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { Client } from '../../client/node.ts';
import { makeNetwork, netnsUnavailable, type TestHost } from '../helpers/netns.ts';
import { startPostgres } from '../helpers/postgres.ts';
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

  const startOn = async (host: TestHost): Promise<Proc> => {
    const [file, args] = host.command(process.execPath, ['--import', 'tsx', FIXTURE, String(PORT), databaseUrl, String(LEASE_MS), 'partition']);
    const proc = new Proc(args, {
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
}
