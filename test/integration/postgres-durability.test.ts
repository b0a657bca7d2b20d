// What survives kill -9 of the scheduler on PostgreSQL (--db postgres://…): the same checks as on
// SQLite (durability.test.ts, coordination-durability.test.ts), on a real PostgreSQL: one private
// cluster for the file, a database per test. The restart takes over once the killed leader's lease lapses.
import pg from 'pg';
import t from 'tap';
import { api, startScheduler } from '../helpers/cluster.ts';
import { appendsAndSetsSurviveKill, primitivesSurviveKill, putsSurviveKill, submissionsSurviveKill } from '../helpers/durability-checks.ts';
import { createDatabase, postgresMissing, startPostgres } from '../helpers/postgres.ts';
import { waitFor } from '../helpers/processes.ts';

const missing = postgresMissing();
if (missing) t.plan(0, missing);
else {
  const server = await startPostgres(t);
  t.test('every acknowledged submission survives kill -9 in the middle of a burst', async (t) => submissionsSurviveKill(t, await createDatabase(t, server, 'submissions')));
  t.test('every acknowledged append and variable set survives kill -9 in the middle of a burst', async (t) => appendsAndSetsSurviveKill(t, await createDatabase(t, server, 'appends')));
  t.test('every acknowledged put survives kill -9 in the middle of a burst, once, in order', async (t) => putsSurviveKill(t, await createDatabase(t, server, 'puts')));
  t.test('kill -9: every acknowledged write of every primitive is there after the restart', async (t) => primitivesSurviveKill(t, await createDatabase(t, server, 'primitives')));

  t.test('the database ends the scheduler’s sessions mid-burst: it stands by, leads again, and every acknowledged put is there', async (t) => {
    const db = await createDatabase(t, server, 'sessions_ended');
    const first = await startScheduler(t, { db });
    const acknowledged: number[] = [];
    let refused = 0;
    const putter = (async () => {
      for (let i = 0; ; i++) {
        try {
          const answer = await fetch(`${first.url}/queues/ended/put`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ item: i }) });
          const standingBy = answer.status === 503 && ((await answer.json()) as { error?: { code?: string } }).error?.code === 'SLUICE_ERR_STANDBY';
          if (answer.status === 503 && !standingBy) continue; // overloaded on a busy machine: not an answer about the store
          if (answer.status !== 201) throw new Error(`status ${answer.status}`);
          acknowledged.push(i);
        } catch {
          refused++;
          return;
        }
      }
    })();
    await waitFor(() => acknowledged.length >= 100, 'some acknowledged puts', 30_000);
    const admin = new pg.Client(server.url);
    await admin.connect();
    await admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = 'sessions_ended'");
    await admin.end();
    await putter;
    t.ok(refused > 0, `${acknowledged.length} puts acknowledged, then refused`);
    // It cannot tell a lost connection from a takeover: it stands by, and alone, leads again after the rejoin delay.
    await first.proc.waitForLog((e) => e.msg === 'no longer leading: standing by', 20_000);
    t.ok(first.proc.running, 'the scheduler does not stop');
    let last: unknown;
    const items = await waitFor(async () => {
      const answer = await api(first.url).post('/queues/ended/get?batch=10000&timeout=0');
      last = [answer.status, answer.body];
      return answer.status === 200 ? (answer.body.items as number[]) : undefined;
    }, 'the items once it leads again', 60_000).catch((error: Error) => {
      throw new Error(`${error.message}: last answer ${JSON.stringify(last)}`);
    });
    t.same(items.slice(0, acknowledged.length), acknowledged, `all ${acknowledged.length} acknowledged puts, in order`);
  });
}
