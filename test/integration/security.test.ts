// Authentication, CORS and the limits, against the real scheduler.
import Database from 'better-sqlite3';
import t, { type Test } from 'tap';
import WebSocket from 'ws';
import { Client } from '../../client/index.ts';
import { api, createSession, readSse, startScheduler, startWorker } from '../helpers/cluster.ts';
import { Proc, waitFor } from '../helpers/processes.ts';
import { openWebSocket } from '../helpers/sockets.ts';

const CLIENT = 'client-token-aaaaaaaaaaaaaaaa';
const WORKER = 'worker-token-bbbbbbbbbbbbbbbb';
const ADMIN = 'admin-token-cccccccccccccccccc';
const TOKENS = ['--client-token', CLIENT, '--worker-token', WORKER, '--admin-token', ADMIN];
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** Start `sluice scheduler` expecting it to refuse; resolves with what it printed. */
async function refused(t: Test, args: string[]): Promise<string> {
  const proc = new Proc(['scheduler', '--port', '0', '--db', ':memory:', ...args]);
  const { code } = await proc.exited;
  t.equal(code, 1, 'it exits with 1');
  return proc.lines.join('\n');
}

t.test('starting: tokens, or --insecure on loopback only', async (t) => {
  t.match(await refused(t, []), /no tokens are configured: give --client-token, --worker-token and --admin-token .* or start with --insecure/);
  t.match(await refused(t, ['--insecure', '--host', '0.0.0.0']), /--insecure turns authentication off, which is allowed only on loopback; the scheduler would listen on 0\.0\.0\.0/);
  t.match(await refused(t, ['--client-token', 'short']), /invalid configuration: clientToken\.0: a token is at least 16 characters/);
  // A name is not loopback because it starts with "127.": it is resolved, and every address it gives must be loopback.
  t.match(await refused(t, ['--insecure', '--host', '127.attacker.invalid']), /--insecure turns authentication off, which is allowed only on loopback; the scheduler would listen on 127\.attacker\.invalid, which does not resolve/);
  const named = await startScheduler(t, { args: ['--host', 'localhost'] });
  t.equal((await api(named.url).get('/health')).status, 200, '--insecure on localhost, which resolves to loopback only');
  const open = await startScheduler(t, { insecure: false, args: ['--host', '0.0.0.0', ...TOKENS] });
  t.equal((await api(open.url).get('/health')).status, 200, 'with tokens it listens beyond loopback');
});

t.test('scopes: client, worker, admin', async (t) => {
  const scheduler = await startScheduler(t, { insecure: false, args: TOKENS });
  const anonymous = api(scheduler.url);
  const mine = await createSession(scheduler.url, bearer(CLIENT));
  const client = api(scheduler.url, mine.headers);
  const other = api(scheduler.url, (await createSession(scheduler.url, bearer(CLIENT))).headers);
  const admin = api(scheduler.url, bearer(ADMIN));

  t.equal((await anonymous.get('/health')).status, 200, '/health is public');
  t.equal((await anonymous.get('/dashboard')).status, 200, 'the dashboard page is public (its data is not)');
  const denied = await anonymous.post('/tasks', { fn: 'inc', args: [1] });
  t.equal(denied.status, 401);
  t.equal(denied.headers.get('www-authenticate'), 'Bearer');
  t.match(denied.body.error, { code: 'SLUICE_ERR_UNAUTHORIZED', message: /needs a client token/ });
  t.equal((await api(scheduler.url, bearer('not-a-token-of-ours-0000')).get('/workers')).status, 401);
  t.equal((await anonymous.get('/events')).status, 401);
  t.equal((await anonymous.get('/metrics')).status, 401);

  const submitted = await client.post('/tasks', { fn: 'hang', pure: false });
  t.equal(submitted.status, 201);
  const theirs = await other.post(`/futures/${submitted.body.key}/cancel`);
  t.equal(theirs.status, 403);
  t.match(theirs.body.error.message, /not held by this client session: cancelling it needs an admin token/);
  t.match((await client.post(`/futures/${submitted.body.key}/cancel`)).body, { status: 'cancelled' }, 'a session cancels its own task');
  const anyone = await client.post('/tasks', { fn: 'hang', pure: false, key: 'admin-cancels-this' });
  t.equal(anyone.status, 201);
  t.match((await admin.post('/futures/admin-cancels-this/cancel')).body, { status: 'cancelled' }, 'an admin cancels any task');

  await client.post('/channels/guarded/append', { tasks: [{ fn: 'inc', args: [1] }] });
  const stop = await client.post('/channels/guarded/stop');
  t.equal(stop.status, 403);
  t.match(stop.body.error, { code: 'SLUICE_ERR_FORBIDDEN', message: 'a client token does not allow this; it needs an admin token' });
  t.equal((await client.delete('/channels/guarded')).status, 403);
  t.equal((await admin.post('/channels/guarded/stop')).status, 200);

  t.equal((await client.post('/queues/guarded/put', { items: [1, 2] })).status, 201, 'a client puts');
  t.equal((await client.delete('/queues/guarded')).status, 403, 'deleting a queue other clients use needs an admin token');
  t.match((await client.get('/queues')).body, [{ name: 'guarded', size: 2 }], 'the refused delete changed nothing');
  t.equal((await admin.delete('/queues/guarded')).status, 204);
  t.equal((await other.delete(`/clients/${mine.id}`)).status, 403, 'a session cannot end another');

  // The worker socket needs a worker token.
  const socketStatus = (token?: string) =>
    new Promise<number>((resolve) => {
      const socket = new WebSocket(`${scheduler.url.replace('http', 'ws')}/ws/worker`, { headers: token ? bearer(token) : {} });
      socket.on('unexpected-response', (_, response) => {
        resolve(response.statusCode ?? 0);
        socket.terminate();
      });
      socket.on('open', () => {
        resolve(101);
        socket.terminate();
      });
      socket.on('error', () => undefined);
    });
  t.equal(await socketStatus(), 401);
  t.equal(await socketStatus(CLIENT), 403);
  t.equal(await socketStatus(WORKER), 101);

  // A worker with its token runs tasks, and its getClient() is let in too.
  await startWorker(t, scheduler.url, { concurrency: 2, env: { SLUICE_TOKEN: WORKER } });
  const fanned = await client.post('/tasks', { fn: 'fanOut', args: [4], pure: false });
  t.same((await client.get(`/futures/${fanned.body.key}/result?timeout=20`)).body.result, 10, 'inc(0) + ... + inc(3)');

  // The TS client with a token; without one, connect fails with a clear error.
  const ts = await Client.connect(scheduler.url, { token: CLIENT });
  t.teardown(() => ts.close());
  t.equal(await ts.submit<number>('inc', [41], { pure: false }), 42);
  await t.rejects(Client.connect(scheduler.url, { connectTimeoutMs: 5000 }), { code: 'SLUICE_ERR_UNAUTHORIZED' });
});

t.test('browsers: a session cookie, or a token in the query, for EventSource', async (t) => {
  const scheduler = await startScheduler(t, { insecure: false, args: TOKENS });
  const login = await fetch(`${scheduler.url}/auth/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: CLIENT }) });
  t.equal(login.status, 200);
  const cookie = login.headers.get('set-cookie') ?? '';
  t.match(cookie, /^sluice_session=client\.\d+\.[\w-]{22}\.[0-9a-f]{64}; Max-Age=\d+; Path=\/; HttpOnly; SameSite=Strict/, 'scope, expiry, a random id, signature');
  const session = cookie.split(';')[0];
  t.same((await api(scheduler.url, { cookie: session }).get('/auth/whoami')).body, { scope: 'client', insecure: false });
  const events = await readSse(`${scheduler.url}/events`, { cookie: session }, t);
  t.equal(events.status, 200, 'EventSource with the session cookie');
  events.close();
  const forged = session.replace(/.$/, (c) => (c === '0' ? '1' : '0'));
  t.equal((await api(scheduler.url, { cookie: forged }).get('/events')).status, 401, 'a tampered cookie is refused');
  const queried = await readSse(`${scheduler.url}/events?access_token=${CLIENT}`, {}, t);
  t.equal(queried.status, 200, 'or the token in the query');
  queried.close();
  // The token is taken out of the query before the route checks it: a strict query (?timeout= only) still passes.
  const checked = await api(scheduler.url).get(`/futures/no-such-key/result?timeout=0&access_token=${CLIENT}`);
  t.match(checked, { status: 404, body: { error: { code: 'SLUICE_ERR_UNKNOWN_KEY' } } }, 'a token in the query is not one of the route’s parameters');
  t.equal((await api(scheduler.url).post('/auth/session', { token: 'wrong-token-0000000000' })).status, 401);
});

t.test('CORS: the allowed origins only, Last-Event-ID included', async (t) => {
  const scheduler = await startScheduler(t, { args: ['--cors-origins', 'https://dash.example'] });
  const preflight = (origin: string) =>
    fetch(`${scheduler.url}/channels/x/events`, {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization,last-event-id,sluice-client' },
    });
  const allowed = await preflight('https://dash.example');
  t.equal(allowed.status, 204);
  t.equal(allowed.headers.get('access-control-allow-origin'), 'https://dash.example');
  t.match(allowed.headers.get('access-control-allow-headers'), /last-event-id/);
  t.equal(allowed.headers.get('access-control-allow-credentials'), 'true');
  const foreign = await preflight('https://evil.example');
  t.equal(foreign.headers.get('access-control-allow-origin'), null);
});

t.test('limits: each answers with its status and a message naming the limit', async (t) => {
  const scheduler = await startScheduler(t, {
    args: ['--max-batch', '10', '--max-result-bytes', '100', '--max-arg-depth', '5', '--max-sse-per-client', '2', '--max-pending', '15', '--body-limit', '4096'],
    env: { SLUICE_WS_MAX_MESSAGE_BYTES: '2048' },
  });
  await startWorker(t, scheduler.url);
  const http = api(scheduler.url);

  const batch = await http.post('/tasks', { tasks: Array.from({ length: 11 }, (_, i) => ({ fn: 'inc', args: [i] })) });
  t.equal(batch.status, 413);
  t.match(batch.body.error.message, /a batch of 11 tasks is over the limit of 10/);
  const body = await http.post('/tasks', { fn: 'echo', args: ['x'.repeat(5000)] });
  t.equal(body.status, 413);
  t.match(body.body.error.message, /the body is over the limit of 4096 bytes/);
  let deep: unknown = 1;
  for (let i = 0; i < 6; i++) deep = [deep];
  const nested = await http.post('/tasks', { fn: 'echo', args: [deep] });
  t.equal(nested.status, 400);
  t.match(nested.body.error.message, /body\.tasks\[0\]\.args: nests more than 5 levels deep; values may nest at most 5 levels deep \(--max-depth\)/);
  const big = await http.post('/tasks', { fn: 'echo', args: ['y'.repeat(200)] });
  t.match((await http.get(`/futures/${big.body.key}/result?timeout=10`)).body.error, { name: 'ResultTooLarge', message: /over the limit of 100/ });

  const { id, headers: session } = await createSession(scheduler.url);
  const streams = [await readSse(`${scheduler.url}/clients/${id}/events`, session, t), await readSse(`${scheduler.url}/events`, session, t)];
  const third = await readSse(`${scheduler.url}/events`, session, t);
  t.equal(third.status, 429);
  t.match(third.body.error.message, /too many open streams: 2 are open for this client session, the limit is 2/);
  for (const stream of streams) stream.close();

  const pending = await http.post('/tasks', { tasks: Array.from({ length: 10 }, (_, i) => ({ fn: 'nobodyRunsThis', args: [i] })) });
  t.equal(pending.status, 201);
  const over = await http.post('/tasks', { tasks: Array.from({ length: 6 }, (_, i) => ({ fn: 'nobodyRunsThis', args: [100 + i] })) });
  t.equal(over.status, 503);
  t.match(over.body.error, { code: 'SLUICE_ERR_OVERLOADED', message: /holds 10 pending tasks and takes at most 15/ });

  const socket = await openWebSocket(`${scheduler.url.replace('http', 'ws')}/ws/worker`);
  t.teardown(() => socket.terminate());
  socket.send(JSON.stringify({ type: 'hello', protocol: 1, name: 'chatty', functions: ['x'.repeat(100)].map(() => 'inc'), concurrency: 1, pid: 1, padding: 'z'.repeat(3000) }));
  const code = await new Promise<number>((resolve) => socket.once('close', (c: number) => resolve(c)));
  t.equal(code, 1009, 'a WebSocket message over the limit closes the socket (1009, message too big)');
});

t.test('load shedding: past the heap limit every request is a 503 with Retry-After, and nothing is stored', async (t) => {
  // 1 MB of heap is less than any scheduler uses, so the pressure check trips
  // at its first sample: a deterministic stand-in for a scheduler out of room.
  const scheduler = await startScheduler(t, { args: ['--max-heap-used-mb', '1'] });
  const http = api(scheduler.url);
  await waitFor(async () => (await http.get('/workers')).status === 503, 'the heap limit to trip');
  const shed = await http.post('/tasks', { fn: 'inc', args: [1], key: 'shed-task' });
  t.equal(shed.status, 503);
  t.match(shed.body.error, { code: 'SLUICE_ERR_OVERLOADED', message: /overloaded: its V8 heap holds \d+ MB, over --max-heap-used-mb \(1\); retry shortly/ });
  t.equal(shed.headers.get('retry-after'), '1');
  const accepted = await Promise.all(Array.from({ length: 5 }, () => http.post('/tasks', { fn: 'inc', args: [2], pure: false })));
  t.same(accepted.map((a) => a.status), [503, 503, 503, 503, 503], 'it stays shut while the pressure lasts');
  t.match((await http.get('/health')).body, { status: 'ok' }, '/health answers: an overloaded scheduler is alive');
  await scheduler.proc.stop('SIGKILL');
  const db = new Database(scheduler.db, { readonly: true });
  t.teardown(() => db.close());
  t.same(db.prepare('SELECT count(*) AS n FROM tasks').get(), { n: 0 }, 'no refused task reached the store');
});

t.test('rate limit per token', async (t) => {
  const scheduler = await startScheduler(t, { insecure: false, args: [...TOKENS, '--rate-limit-per-minute', '5'] });
  const first = api(scheduler.url, bearer(CLIENT));
  const statuses: number[] = [];
  for (let i = 0; i < 6; i++) statuses.push((await first.get('/workers')).status);
  t.same(statuses, [200, 200, 200, 200, 200, 429]);
  const limited = await first.get('/workers');
  t.match(limited.body.error, { code: 'SLUICE_ERR_RATE_LIMITED', message: /more than 5 requests a minute from this caller/ });
  t.ok(Number(limited.headers.get('retry-after')) > 0, 'with Retry-After');
  t.equal((await api(scheduler.url, bearer(ADMIN)).get('/workers')).status, 200, 'another token has its own budget');
  t.equal((await api(scheduler.url).get('/health')).status, 200, '/health is not limited');
});
