// npm run bench:pg-failover [-- --kills N --lease-ms MS]: failover time with the PostgreSQL store.
// Two schedulers on one private PostgreSQL on loopback, writers of every kind that follow the
// leader (submissions, channel appends, queue puts, lock and semaphore grants); the leader is
// kill -9'd N times (20 by default), the killed one restarted as the new standby each time. For
// each kill: the time to the first write acknowledged after it (by the standby that took over).
// Prints JSON: min / median / p99 / max, and every sample.
import { api, startScheduler, type SchedulerProc } from '../test/helpers/cluster.ts';
import { startFailoverBurst } from '../test/helpers/durability-checks.ts';
import { createDatabase, launchPostgres } from '../test/helpers/postgres.ts';
import { freePort, waitFor } from '../test/helpers/processes.ts';
import { Cleanup, machine, percentile, round } from './lib.ts';

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const kills = arg('--kills', 20);
const leaseMs = arg('--lease-ms', 5000);


const role = async (url: string): Promise<string | undefined> => {
  try {
    return (await api(url).get<{ role?: string }>('/health')).body.role;
  } catch {
    return undefined;
  }
};

const cleanup = new Cleanup();
try {
  const server = await launchPostgres();
  cleanup.teardown(() => server.stop());
  const db = await createDatabase(cleanup, server, 'failover_bench');
  const ports = [await freePort(), await freePort()];
  const urls = ports.map((port) => `http://127.0.0.1:${port}`);
  const start = (i: number, standby: boolean): Promise<SchedulerProc> => startScheduler(cleanup, { db, port: ports[i], standby, args: ['--leader-lease-ms', String(leaseMs)] });
  const running: SchedulerProc[] = [await start(0, false), await start(1, true)];
  const burst = startFailoverBurst(urls);
  const samples: number[] = [];
  for (let kill = 0; kill < kills; kill++) {
    const leader = (await role(urls[0])) === 'leader' ? 0 : 1;
    const acks = burst.ackTimes.length;
    await waitFor(() => burst.ackTimes.length >= acks + 100, 'writes before the kill', 60_000);
    await running[leader].proc.stop('SIGKILL');
    const killedAt = performance.now();
    await waitFor(() => burst.firstAckAfter(killedAt), 'a write acknowledged after the kill', 120_000);
    samples.push((burst.firstAckAfter(killedAt) as number) - killedAt);
    process.stderr.write(`kill ${kill + 1}/${kills}: first acknowledged write after ${Math.round(samples.at(-1) as number)} ms\n`);
    running[leader] = await start(leader, true);
    await waitFor(async () => (await api(urls[leader]).get<{ leader?: string }>('/health')).body.leader === urls[1 - leader], 'the restarted one to stand by', 60_000);
  }
  await burst.stop();
  const sorted = [...samples].sort((a, b) => a - b);
  process.stdout.write(
    `${JSON.stringify(
      {
        suite: 'pg-failover',
        date: new Date().toISOString(),
        machine: machine(),
        kills,
        leaseMs,
        firstAcknowledgedWriteMs: { min: round(sorted[0], 0), median: round(percentile(sorted, 50), 0), p99: round(percentile(sorted, 99), 0), max: round(sorted.at(-1) as number, 0) },
        samplesMs: samples.map((s) => round(s, 0)),
        acknowledged: { submissions: burst.submissions.length, appends: burst.appends.flat().length, puts: burst.puts.flat().length, grants: burst.lockTokens.length + burst.semaphoreTokens.length },
      },
      null,
      2,
    )}\n`,
  );
} finally {
  await cleanup.run();
}
