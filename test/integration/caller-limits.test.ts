// Per-caller limits are keyed on who authenticated, not on a header the caller
// chooses; and the bytes stalled SSE readers hold are bounded in total.
import { readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import t from 'tap';
import { api, createSession, readSse, type SseReader, startScheduler } from '../helpers/cluster.ts';
import { waitFor } from '../helpers/processes.ts';

const CLIENT = 'client-token-aaaaaaaaaaaaaaaa';
const WORKER = 'worker-token-bbbbbbbbbbbbbbbb';
const ADMIN = 'admin-token-cccccccccccccccccc';
const TOKENS = ['--client-token', CLIENT, '--worker-token', WORKER, '--admin-token', ADMIN];
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

t.test('SSE streams: invented session ids buy no streams; limits per session, per token, and in all', async (t) => {
  const scheduler = await startScheduler(t, {
    insecure: false,
    args: [...TOKENS, '--max-sse-per-client', '2', '--max-sse-per-token', '5', '--max-sse', '8'],
  });
  const open: SseReader[] = [];
  t.teardown(() => open.forEach((s) => s.close()));
  const stream = async (headers: Record<string, string>, path = '/events'): Promise<number> => {
    const reader = await readSse(`${scheduler.url}${path}`, headers, t);
    if (reader.status === 200) open.push(reader);
    else reader.close();
    return reader.status;
  };

  // Today's escape: a new made-up sluice-client value per stream.
  const invented = [];
  for (let i = 0; i < 10; i++) invented.push(await stream({ ...bearer(CLIENT), 'sluice-client': `made-up-session-${i}` }));
  t.same(invented, Array(10).fill(401), 'an invented session id is refused, not a new budget');

  // A real session gets 2; both count against its token's 5.
  const session = await createSession(scheduler.url, bearer(CLIENT));
  t.same([await stream(session.headers, `/clients/${session.id}/events`), await stream(session.headers), await stream(session.headers)], [200, 200, 429]);
  const perSession = await readSse(`${scheduler.url}/events`, session.headers, t);
  t.match(perSession.body.error, { code: 'SLUICE_ERR_RATE_LIMITED', message: /2 are open for this client session, the limit is 2/ });
  // A second session of the same token: the token's budget is what is left.
  const other = await createSession(scheduler.url, bearer(CLIENT));
  t.same([await stream(other.headers), await stream(other.headers)], [200, 200]);
  t.same([await stream(bearer(CLIENT))], [200], 'five for the token');
  const perToken = await readSse(`${scheduler.url}/events`, bearer(CLIENT), t);
  t.equal(perToken.status, 429);
  t.match(perToken.body.error, { code: 'SLUICE_ERR_RATE_LIMITED', message: /5 are open for this token, the limit is 5/ });
  t.ok(Number(perToken.headers.get('retry-after')) > 0, 'with Retry-After');

  // Other tokens have their own budget, up to the ceiling for everyone.
  t.same([await stream(bearer(ADMIN)), await stream(bearer(ADMIN)), await stream(bearer(WORKER))], [200, 200, 200]);
  const full = await readSse(`${scheduler.url}/events`, bearer(WORKER), t);
  t.equal(full.status, 503);
  t.match(full.body.error, { code: 'SLUICE_ERR_OVERLOADED', message: /8 SSE streams are open, the most this scheduler serves/ });
  t.ok(Number(full.headers.get('retry-after')) > 0, 'with Retry-After');

  // A closed stream gives its place back.
  open.pop()?.close();
  await waitFor(async () => (await stream(bearer(WORKER))) === 200, 'a place to free up');
});

t.test('the rate limit follows the token, not cookies minted from it', async (t) => {
  const scheduler = await startScheduler(t, { insecure: false, args: [...TOKENS, '--rate-limit-per-minute', '10'] });
  const cookies: string[] = [];
  for (let i = 0; i < 4; i++) {
    const login = await fetch(`${scheduler.url}/auth/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token: CLIENT }),
    });
    t.equal(login.status, 200);
    cookies.push((login.headers.get('set-cookie') ?? '').split(';')[0]);
    await new Promise((r) => setTimeout(r, 2)); // a cookie per millisecond of expiry
  }
  t.equal(new Set(cookies).size, 4, 'four different cookies');
  const statuses: number[] = [];
  for (const cookie of cookies) for (let i = 0; i < 3; i++) statuses.push((await api(scheduler.url, { cookie }).get('/workers')).status);
  t.ok(statuses.includes(429), `twelve requests on four cookies of one token share its ten a minute (${statuses.join(' ')})`);
  t.equal(statuses.filter((s) => s === 200).length, 10);
});

/** The scheduler's resident memory (kB), current or its high-water mark. */
function memory(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const match = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(match?.[1]);
}

/** A reader that opens a stream and then never reads: what it is sent piles up in the scheduler. */
function stalledReader(port: number, path: string, headers: Record<string, string>): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`);
      socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n${lines.join('')}\r\n`);
      socket.once('data', () => {
        socket.pause(); // read the head, then nothing more
        resolve(socket);
      });
    });
    socket.once('error', reject);
  });
}

t.test('stalled SSE readers: the unsent bytes of all of them stay within one budget', { skip: process.platform !== 'linux' && 'reads /proc' }, async (t) => {
  const budget = 16 * 1024 * 1024;
  const scheduler = await startScheduler(t, {
    args: ['--sse-max-buffered-bytes-total', String(budget)],
    // Each reader alone may fall 16 MiB behind: only the total budget stops them.
    env: { SLUICE_SSE_MAX_BUFFERED_BYTES: String(budget) },
  });
  const http = api(scheduler.url);
  // 140 values of 60 kB; a session that submits tasks of these keys (already finished) is sent each outcome, result inline.
  const { body: scattered } = await http.post('/scatter', { data: Array.from({ length: 140 }, (_, i) => `${i}:`.padEnd(60_000, 'x')) });
  const tasks = scattered.keys.map((key: string) => ({ fn: 'scatter', key }));
  const sessions = [];
  const readers: net.Socket[] = [];
  t.teardown(() => readers.forEach((s) => s.destroy()));
  for (let i = 0; i < 40; i++) {
    const session = await createSession(scheduler.url);
    readers.push(await stalledReader(scheduler.port, `/clients/${session.id}/events`, { 'sluice-client': session.session }));
    sessions.push(session);
  }

  const pid = scheduler.proc.pid;
  writeFileSync(`/proc/${pid}/clear_refs`, '5'); // reset the high-water mark of resident memory
  const before = memory(pid, 'VmRSS');
  let peak = 0;
  for (const session of sessions) {
    // 8.4 MB of status events for this session's one reader, which reads none of them.
    t.equal((await api(scheduler.url, session.headers).post('/tasks', { tasks })).status, 201);
    const metrics = (await http.get('/metrics')).body as string;
    peak = Math.max(peak, Number(/^sluice_sse_buffered_bytes (\d+)/m.exec(metrics)?.[1]));
  }
  const grownMb = (memory(pid, 'VmHWM') - before) / 1024;
  t.ok(peak <= budget, `unsent SSE bytes peaked at ${(peak / 2 ** 20).toFixed(1)} MiB, within the 16 MiB budget`);
  // Unbounded, the readers hold what the kernel did not take (over 4 MB each, 170 MB in all), and their
  // frames live on the heap until sent: that grew the scheduler by 630 MB here. Bounded, what grows is
  // the garbage of making 340 MB of frames, which the GC collects when it gets to it (170 MB here).
  t.ok(grownMb < 320, `the scheduler's resident memory grew by ${grownMb.toFixed(0)} MB`);
  const metrics = (await http.get('/metrics')).body as string;
  t.ok(Number(/^sluice_sse_cut_off_total (\d+)/m.exec(metrics)?.[1]) > 0, 'readers furthest behind were cut off');
  t.match((await http.get('/health')).body, { status: 'ok' });
  // A reader that keeps up is not cut off.
  const live = await readSse(`${scheduler.url}/topics/news/events`, {}, t);
  await http.post('/topics/news/publish', { message: 'small' });
  await live.until((events) => events.some((e) => e.data === '"small"'));
  live.close();
});
