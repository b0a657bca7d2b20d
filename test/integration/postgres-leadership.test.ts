import pg from 'pg';
import t from 'tap';
import { FencedError, fencedTransaction, Leadership, type LeadershipOptions } from '../../server/storage/postgres/leadership.ts';
import { startPostgres } from '../helpers/postgres.ts';
import { Proc, waitFor } from '../helpers/processes.ts';

// Short leases keep the tests short; the timeouts below are generous, for a loaded machine.
const LEASE_MS = 1500;

const server = await startPostgres(t);

async function connect(t: Tap, options: pg.ClientConfig = {}): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: server.url, ...options });
  await client.connect();
  t.teardown(() => client.end());
  return client;
}

type Tap = { teardown(fn: () => unknown): void };

let contenders = 0;
/** A contender on its own leadership name (one per test, so tests do not see each other's). */
function contender(t: Tap, name: string, options: Partial<LeadershipOptions> = {}): Leadership {
  const id = `c${++contenders}`;
  const leadership = new Leadership({ connection: server.url, name, id, url: `http://${id}.test:8786`, leaseMs: LEASE_MS, ...options });
  leadership.on('leadership:error', () => {}); // expected when a test kills a connection
  t.teardown(() => leadership.close());
  return leadership;
}

/** The leadership row as the database has it, with its times in ms on the database's clock. */
async function row(db: pg.Client, name: string): Promise<{ term: number; holder: string; acquired: number; expires: number } | undefined> {
  const { rows } = await db.query(
    `SELECT term, holder, extract(epoch FROM acquired_at) * 1000 AS acquired, extract(epoch FROM expires_at) * 1000 AS expires
     FROM sluice_leadership WHERE name = $1`,
    [name],
  );
  return rows[0] ? { term: Number(rows[0].term), holder: rows[0].holder, acquired: Number(rows[0].acquired), expires: Number(rows[0].expires) } : undefined;
}

/** Terminate the server sessions of a contender's own connection (found by its application_name). */
async function killSessions(db: pg.Client, applicationName: string): Promise<number> {
  const { rows } = await db.query('SELECT pg_terminate_backend(pid) AS done FROM pg_stat_activity WHERE application_name = $1', [applicationName]);
  return rows.filter((r) => r.done).length;
}

const db = await connect(t);
await db.query('CREATE TABLE writes (id BIGSERIAL PRIMARY KEY, note TEXT NOT NULL)');
const writer = await connect(t, { pipeline: true });
const insert = (note: string): pg.QueryConfig => ({ text: 'INSERT INTO writes (note) VALUES ($1)', values: [note] });
const written = async (note: string): Promise<number> => (await db.query('SELECT count(*)::int AS n FROM writes WHERE note = $1', [note])).rows[0].n;

t.test('contenders starting together: exactly one leads, the others know who', async (t) => {
  const all = [contender(t, 'together'), contender(t, 'together'), contender(t, 'together')];
  await Promise.all(all.map((c) => c.start()));
  const leaders = all.filter((c) => c.role === 'leader');
  t.equal(leaders.length, 1, 'one leader');
  const [leader] = leaders;
  t.equal(leader.term, 1, 'at term 1');
  const current = await row(db, 'together');
  t.same({ term: current?.term, holder: current?.holder }, { term: 1, holder: leader.id }, 'the database names it');
  for (const standby of all.filter((c) => c !== leader)) {
    t.equal(standby.term, undefined, `${standby.id} does not lead`);
    t.equal(standby.fence, undefined, `${standby.id} has no fence to write with`);
    await waitFor(() => standby.leader?.id === leader.id, `${standby.id} to see the leader`, 15_000);
    t.same(standby.leader, { term: 1, id: leader.id, url: leader.url }, `${standby.id} knows the leader and its URL`);
  }
  // Several renewals later, still the same one leader.
  await new Promise((r) => setTimeout(r, LEASE_MS * 2));
  t.same(all.map((c) => c.role).filter((r) => r === 'leader').length, 1, 'still one leader after several renewals');
  t.equal(leader.term, 1, 'renewals keep the term');
  t.ok(((await row(db, 'together'))?.expires ?? 0) > (current?.expires ?? 0), 'and push the expiry on');
});

t.test("the leader's connection killed: it steps down at once, another takes over after the lease, at a higher term", async (t) => {
  const a = contender(t, 'killed', { connection: { connectionString: server.url, application_name: 'contender-a' } });
  await a.start();
  t.equal(a.term, 1, 'a leads');
  const b = contender(t, 'killed');
  await b.start();
  t.equal(b.role, 'standby', 'b stands by');
  const fenceA = a.fence;

  const lost = new Promise<{ reason: string }>((resolve) => a.once('leadership:lost', resolve));
  const gained = new Promise<{ term: number }>((resolve) => b.once('leadership:gained', resolve));
  const before = await row(db, 'killed');
  const killedAt = Date.now();
  t.equal(await killSessions(db, 'contender-a'), 1, "a's session terminated");
  t.match((await lost).reason, /connection|reached/, 'a steps down, having lost its connection');
  t.equal(a.role, 'standby');
  const { term } = await gained;
  const tookMs = Date.now() - killedAt;
  t.equal(term, 2, 'b leads at term 2');
  t.equal(b.term, 2);
  const after = await row(db, 'killed');
  t.equal(after?.holder, b.id);
  t.ok(after && before && after.acquired >= before.expires, 'b took over only once a’s lease had expired (database clock)');
  // Liveness, loosely: the lease, one poll, and room for a loaded machine.
  t.ok(tookMs < LEASE_MS + 5000, `taken over ${tookMs} ms after the kill (lease ${LEASE_MS} ms)`);
  t.comment(`takeover ${tookMs} ms after the kill; lease ${LEASE_MS} ms`);

  await t.rejects(fencedTransaction(writer, fenceA as { name: string; term: number }, [insert('from a, stale')]), FencedError, "a's term 1 can no longer write");
  t.equal(await written('from a, stale'), 0, 'nothing of it committed');
  await fencedTransaction(writer, b.fence as { name: string; term: number }, [insert('from b')]);
  t.equal(await written('from b'), 1, "b's term 2 writes");

  // a stays out for a while, then contends again as a standby: b keeps leading.
  await new Promise((r) => setTimeout(r, LEASE_MS));
  t.equal(b.role, 'leader', 'b still leads');
  t.equal(a.role, 'standby', 'a stands by');
});

t.test('a leader paused (SIGSTOP) stops renewing: another takes over, and the old one commits nothing when it resumes', async (t) => {
  // Stubborn: a keeps writing with its old term for a while after it hears it lost.
  const a = new Proc([server.url, 'paused-a', String(LEASE_MS), 'stubborn'], { script: new URL('../fixtures/postgres-leader.ts', import.meta.url).pathname });
  t.teardown(() => a.stop('SIGKILL'));
  await a.waitForLog((e) => e.event === 'gained', 30_000);
  await a.waitForLog((e) => e.event === 'wrote', 15_000);

  const b = contender(t, 'scheduler'); // the fixture contends for the default name
  await b.start();
  t.equal(b.role, 'standby', 'b stands by while a leads');

  const gained = new Promise<{ term: number }>((resolve) => b.once('leadership:gained', resolve));
  a.child.kill('SIGSTOP');
  t.teardown(() => a.child.kill('SIGCONT'));
  const { term } = await gained;
  t.equal(term, 2, 'b takes over at term 2');
  const beatsOfA = async (): Promise<number> => (await db.query("SELECT count(*)::int AS n FROM beats WHERE holder = 'paused-a'")).rows[0].n;
  const atTakeover = await beatsOfA();
  t.ok(atTakeover > 0, `a had committed ${atTakeover} rows before it was paused`);

  const resumedAt = a.lines.length;
  a.child.kill('SIGCONT');
  const lost = await a.waitForLog((e) => e.event === 'lost', 15_000);
  t.equal(lost.term, 1, `a, resumed, steps down (${String(lost.reason)})`);
  await a.waitForLog((e) => e.event === 'fenced', 15_000);
  t.pass('the database refused the writes a made with its old term');
  const afterResume = a.lines.slice(resumedAt).map((l) => JSON.parse(l) as { event: string });
  t.notOk(afterResume.some((e) => e.event === 'wrote'), 'a committed nothing after resuming');
  t.comment(`a after resuming: ${afterResume.map((e) => e.event).join(', ')}`);
  t.equal(await beatsOfA(), atTakeover, 'no row of a was committed after the takeover');
  t.equal(b.role, 'leader', 'b leads');
});

t.test('a fence whose lease lapsed refuses writes even before anyone takes over', async (t) => {
  const a = contender(t, 'lapsed', { connection: { connectionString: server.url, application_name: 'contender-lapsed' } });
  await a.start();
  const fence = a.fence as { name: string; term: number };
  await fencedTransaction(writer, fence, [insert('lapsed: in time')]);
  t.equal(await written('lapsed: in time'), 1, 'a write while the lease holds commits');
  await killSessions(db, 'contender-lapsed');
  const current = await row(db, 'lapsed');
  await waitFor(async () => (await db.query('SELECT clock_timestamp() > $1::timestamptz AS over', [new Date(current?.expires ?? 0)])).rows[0].over, 'the lease to lapse', 15_000);
  t.equal((await row(db, 'lapsed'))?.term, 1, 'nobody took over');
  await t.rejects(fencedTransaction(writer, fence, [insert('lapsed: late')]), FencedError);
  t.equal(await written('lapsed: late'), 0, 'the late write is refused');
});

t.test('a takeover waits for the write in flight: it commits first, every later one is refused', async (t) => {
  const a = contender(t, 'inflight', { connection: { connectionString: server.url, application_name: 'contender-inflight' } });
  await a.start();
  const fence = a.fence as { name: string; term: number };
  const slow = await connect(t);
  await slow.query('BEGIN');
  await slow.query('SELECT sluice_fence($1, $2)', [fence.name, fence.term]);
  await slow.query("INSERT INTO writes (note) VALUES ('in flight')");

  // a loses its session (and so its renewals); b wants to take over once the lease lapses.
  await killSessions(db, 'contender-inflight');
  const b = contender(t, 'inflight', { connection: { connectionString: server.url, application_name: 'contender-b-inflight' } });
  await b.start();
  await waitFor(
    async () => (await db.query("SELECT 1 FROM pg_stat_activity WHERE application_name = 'contender-b-inflight' AND wait_event_type = 'Lock'")).rowCount,
    'b’s takeover to wait on the row lock of the write in flight',
    15_000,
  );
  t.equal(b.role, 'standby', 'b does not lead while the write is in flight');
  await slow.query('COMMIT');
  t.equal(await written('in flight'), 1, 'the write in flight commits');
  await waitFor(() => b.role === 'leader', 'b to lead', 15_000);
  t.equal(b.term, 2, 'b leads at term 2, after it');
  await t.rejects(fencedTransaction(writer, fence, [insert('after the takeover')]), FencedError);
  t.equal(await written('after the takeover'), 0, 'a later write of the old term is refused');
});

t.test('a leader that closes gives its lease up: a standby takes over without waiting for it to lapse', async (t) => {
  const a = contender(t, 'handover', { leaseMs: 60_000, renewEveryMs: 20_000, pollEveryMs: 100 });
  await a.start();
  const b = contender(t, 'handover', { leaseMs: 60_000, renewEveryMs: 20_000, pollEveryMs: 100 });
  await b.start();
  t.equal(b.role, 'standby');
  await a.close();
  t.equal(a.role, 'standby', 'a no longer leads');
  await waitFor(() => b.role === 'leader', 'b to lead', 15_000);
  t.equal(b.term, 2, 'b leads at term 2, long before a 60 s lease would have lapsed');
});

t.test('bad settings are refused', async (t) => {
  t.throws(() => new Leadership({ connection: server.url, leaseMs: 10 }), /leaseMs must be at least 100/);
  t.throws(() => new Leadership({ connection: server.url, leaseMs: 1000, renewEveryMs: 1000 }), /renewEveryMs \(1000\) must be below leaseMs/);
});
