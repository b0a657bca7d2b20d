// The HTTP edge, against the real scheduler over raw sockets and raw HTTP:
// slow and malformed requests, cookies from other origins, logging out,
// guessing tokens, and running behind a proxy.
import t from 'tap';
import WebSocket from 'ws';
import { api, readSse, startScheduler, startWorker } from '../helpers/cluster.ts';
import { waitFor } from '../helpers/processes.ts';
import { RawConnection, rawRequest } from '../helpers/raw-http.ts';

const CLIENT = 'client-token-aaaaaaaaaaaaaaaa';
const WORKER = 'worker-token-bbbbbbbbbbbbbbbb';
const ADMIN = 'admin-token-cccccccccccccccccc';
const TOKENS = ['--client-token', CLIENT, '--worker-token', WORKER, '--admin-token', ADMIN];
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** POST /auth/session with a token; resolves with the cookie (name=value) it set. */
async function login(url: string, token: string, headers: Record<string, string> = {}): Promise<{ cookie: string; setCookie: string; status: number }> {
  const response = await fetch(`${url}/auth/session`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ token }) });
  const setCookie = response.headers.get('set-cookie') ?? '';
  await response.text();
  return { cookie: setCookie.split(';')[0], setCookie, status: response.status };
}

/** A request with exactly these headers and this body (fetch adds no Origin or Sec-Fetch-Site of its own). */
async function send(url: string, method: string, headers: Record<string, string>, body?: string) {
  const response = await fetch(url, { method, headers, body });
  const text = await response.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, json };
}

const TIMEOUTS = { SLUICE_REQUEST_TIMEOUT_MS: '1500', SLUICE_HEADERS_TIMEOUT_MS: '1000', SLUICE_KEEP_ALIVE_TIMEOUT_MS: '1000' };
/** Far beyond the timeouts above (and the check interval) even on a loaded machine; today's Node defaults keep connections for minutes. */
const CUT_WITHIN_MS = 10_000;

t.test('slow requests are cut off: a trickled body (with a token or without), trickled headers, a silent connection, an idle keep-alive', async (t) => {
  // As flags here, as SLUICE_* environment variables in the next test.
  const flags = ['--request-timeout-ms', TIMEOUTS.SLUICE_REQUEST_TIMEOUT_MS, '--headers-timeout-ms', TIMEOUTS.SLUICE_HEADERS_TIMEOUT_MS, '--keep-alive-timeout-ms', TIMEOUTS.SLUICE_KEEP_ALIVE_TIMEOUT_MS];
  const scheduler = await startScheduler(t, { insecure: false, args: [...TOKENS, ...flags] });
  const body = (token?: string) => {
    const connection = new RawConnection(t, scheduler.port);
    const auth = token ? `Authorization: Bearer ${token}\r\n` : '';
    connection.write(`POST /tasks HTTP/1.1\r\nHost: x\r\n${auth}Content-Type: application/json\r\nContent-Length: 1000000\r\n\r\n{`);
    connection.trickle(' ', 200);
    return connection;
  };
  const withToken = body(CLIENT);
  const withoutToken = body();
  const headers = new RawConnection(t, scheduler.port);
  headers.write('GET /health HTTP/1.1\r\nHost: x\r\n');
  headers.trickle('X-Slow: 1\r\n', 200);
  const silent = new RawConnection(t, scheduler.port);
  const idle = new RawConnection(t, scheduler.port);
  idle.write('GET /health HTTP/1.1\r\nHost: x\r\n\r\n');

  const [a, b, c, d, e] = await Promise.all([withToken, withoutToken, headers, silent, idle].map((connection) => connection.closedWithin(CUT_WITHIN_MS)));
  t.ok(a !== undefined && a >= 1400, `a trickled body with a token is cut off after the request timeout (${a} ms)`);
  t.match(await withToken.answer(), { status: 408, json: { error: { code: 'SLUICE_ERR_TIMEOUT', message: /the request was not received within 1500 ms/ } } }, 'with a 408 in the error envelope');
  t.ok(b !== undefined, `a trickled body without a token too (${b} ms), after its 401`);
  t.match(await withoutToken.answer(), { status: 401 });
  t.ok(c !== undefined && c >= 900, `trickled headers are cut off after the headers timeout (${c} ms)`);
  t.match(await headers.answer(), { status: 408, json: { error: { code: 'SLUICE_ERR_TIMEOUT' } } });
  t.ok(d !== undefined, `a connection that sends nothing is closed (${d} ms)`);
  t.ok(e !== undefined && e >= 900, `an idle keep-alive connection is closed after the keep-alive timeout (${e} ms)`);
  t.match(await idle.answer(), { status: 200 }, 'after its answer');
  t.equal((await api(scheduler.url).get('/health')).status, 200, 'the scheduler carries on');
});

t.test('a long poll, a long put, an SSE stream and the worker socket outlive the request timeout', async (t) => {
  const scheduler = await startScheduler(t, { env: TIMEOUTS });
  const http = api(scheduler.url);
  const worker = await startWorker(t, scheduler.url, { concurrency: 1 });
  const joined = (await http.get('/workers')).body[0].connectedAt;

  const pending = await http.post('/tasks', { fn: 'nobodyRunsThis', key: 'never-runs' });
  t.equal(pending.status, 201);
  const longPoll = http.get('/futures/never-runs/result?timeout=4');
  const getter = http.post('/queues/later/get?timeout=20');
  await http.put('/queues/full', { maxsize: 1 });
  await http.post('/queues/full/put', { item: 1 });
  const putter = http.post('/queues/full/put?timeout=20', { item: 2 }); // waits for room, its body long received
  await http.put('/channels/slow', {});
  const stream = await readSse(`${scheduler.url}/channels/slow/events`, {}, t);
  t.equal(stream.status, 200);

  await new Promise((resolve) => setTimeout(resolve, 3_500)); // over twice the request timeout
  t.equal((await http.post('/queues/later/put', { item: 'late' })).status, 201);
  t.match(await getter, { status: 200, body: { items: ['late'] } }, 'a get that waited 3.5 s gets its item');
  t.match((await http.post('/queues/full/get')).body, { items: [1] });
  t.match(await putter, { status: 201, body: { size: 1 } }, 'a put that waited for room is stored');
  t.match(await longPoll, { status: 408, body: { error: { code: 'SLUICE_ERR_TIMEOUT', message: /timed out after 4 s waiting for/ } } }, 'a 4 s long poll answers its own timeout');
  const appended = await http.post('/channels/slow/append', { tasks: [{ fn: 'inc', args: [1] }] });
  await stream.until((events) => events.some((e) => e.event === 'append'));
  t.pass('the SSE stream still follows');
  t.equal((await http.get(`/futures/${appended.body.keys[0]}/result?timeout=20`)).body.result, 2, 'the worker still runs tasks');
  t.match((await http.get('/workers')).body, [{ name: worker.name, connectedAt: joined }], 'on the socket it opened before');
  stream.close();
});

t.test('framework and protocol errors answer in the error envelope', async (t) => {
  const scheduler = await startScheduler(t);
  const badUrl = await rawRequest(t, scheduler.port, 'GET /futures/%E0%A4%A HTTP/1.1\r\nHost: x\r\n\r\n');
  t.match(badUrl, { status: 400, json: { error: { code: 'SLUICE_ERR_VALIDATION', message: /not a valid URL/ } } });
  const longParam = await rawRequest(t, scheduler.port, `GET /futures/${'k'.repeat(2000)} HTTP/1.1\r\nHost: x\r\n\r\n`);
  t.match(longParam, { status: 414, json: { error: { code: 'SLUICE_ERR_URI_TOO_LONG', message: /over 1024 characters/ } } });
  t.ok(longParam.body.length < 400, 'without echoing the path back');
  const bigHeaders = await rawRequest(t, scheduler.port, `GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
  t.match(bigHeaders, { status: 431, json: { error: { code: 'SLUICE_ERR_HEADERS_TOO_LARGE', message: /headers are over/ } } });
  const garbage = await rawRequest(t, scheduler.port, 'NOT HTTP AT ALL\r\n\r\n');
  t.match(garbage, { status: 400, json: { error: { code: 'SLUICE_ERR_VALIDATION', message: /not valid HTTP/ } } });
  const badLength = await rawRequest(t, scheduler.port, 'POST /tasks HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n');
  t.match(badLength, { status: 400, json: { error: { code: 'SLUICE_ERR_VALIDATION' } } });
  for (const answer of [badUrl, longParam, bigHeaders, garbage, badLength]) t.match(answer.headers['content-type'], /^application\/json/);
  t.equal((await api(scheduler.url).get('/health')).status, 200);
});

t.test('a session cookie is taken only from the scheduler’s own origin; bodies are JSON', async (t) => {
  const allowed = 'http://dash.example:3000';
  const scheduler = await startScheduler(t, { insecure: false, args: [...TOKENS, '--cors-origins', allowed] });
  const own = new URL(scheduler.url).origin;
  const sameSite = `http://127.0.0.1:${scheduler.port === 1 ? 2 : scheduler.port - 1}`; // another port: the same site, another origin
  const admin = api(scheduler.url, bearer(ADMIN));
  await admin.post('/channels/guarded/append', { tasks: [{ fn: 'inc', args: [1] }] });
  await admin.post('/queues/guarded/put', { items: ['keep me'] });
  const { cookie } = await login(scheduler.url, ADMIN);
  const withCookie = (headers: Record<string, string> = {}) => ({ cookie, ...headers });

  // What a page on another port of localhost could make a browser send.
  const stop = await send(`${scheduler.url}/channels/guarded/stop`, 'POST', withCookie({ origin: sameSite }));
  t.match(stop, { status: 403, json: { error: { code: 'SLUICE_ERR_FORBIDDEN', message: /session cookie .* own origin/ } } }, 'a no-body POST from another origin');
  const flag = await send(`${scheduler.url}/flags/guarded/set`, 'POST', withCookie({ origin: sameSite, 'content-type': 'text/plain' }), 'x');
  t.equal(flag.status, 403, 'a text/plain POST from another origin');
  const get = await send(`${scheduler.url}/queues/guarded/get?timeout=0`, 'POST', withCookie({ 'sec-fetch-site': 'same-site' }));
  t.equal(get.status, 403, 'a POST marked Sec-Fetch-Site: same-site, without Origin');
  const bare = await send(`${scheduler.url}/flags/guarded/set`, 'POST', withCookie());
  t.match(bare, { status: 403, json: { error: { message: /Origin/ } } }, 'a state-changing cookie request with neither Origin nor Sec-Fetch-Site');
  const read = await send(`${scheduler.url}/workers`, 'GET', withCookie({ 'sec-fetch-site': 'cross-site' }));
  t.equal(read.status, 403, 'a read from another site');
  const socket = await new Promise<number>((resolve) => {
    const ws = new WebSocket(`${scheduler.url.replace('http', 'ws')}/ws/worker`, { headers: withCookie({ origin: sameSite }) });
    ws.on('unexpected-response', (_, response) => {
      resolve(response.statusCode ?? 0);
      ws.terminate();
    });
    ws.on('open', () => {
      resolve(101);
      ws.terminate();
    });
    ws.on('error', () => undefined);
  });
  t.equal(socket, 403, 'a WebSocket upgrade from another origin');
  t.match((await admin.get('/channels/guarded')).body, { stopped: false }, 'the channel was not stopped');
  t.match((await admin.get('/flags/guarded')).body, { set: false }, 'the flag was not set');
  t.match((await admin.get('/queues/guarded')).body, { size: 1 }, 'the queue item is still there');

  // The scheduler's own pages, an allowed origin, and readers without either header.
  t.equal((await send(`${scheduler.url}/flags/own/set`, 'POST', withCookie({ origin: own }))).status, 200, 'Origin: the scheduler’s own');
  t.equal((await send(`${scheduler.url}/flags/fetched/set`, 'POST', withCookie({ 'sec-fetch-site': 'same-origin' }))).status, 200, 'Sec-Fetch-Site: same-origin');
  t.equal((await send(`${scheduler.url}/flags/allowed/set`, 'POST', withCookie({ origin: allowed }))).status, 200, 'an origin from --cors-origins');
  t.equal((await send(`${scheduler.url}/workers`, 'GET', withCookie())).status, 200, 'a read with neither header (curl, an older EventSource)');
  t.equal((await send(`${scheduler.url}/flags/bearer/set`, 'POST', { ...bearer(ADMIN), origin: sameSite })).status, 200, 'a bearer token is not a cookie: any origin');

  // Bodies are JSON, whoever sends them.
  for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
    const refused = await send(`${scheduler.url}/flags/typed/set`, 'POST', { ...bearer(ADMIN), 'content-type': type }, 'a=b');
    t.match(refused, { status: 400, json: { error: { code: 'SLUICE_ERR_VALIDATION', message: /send content-type application\/json/ } } }, `${type} is refused`);
  }
  t.match((await admin.get('/flags/typed')).body, { set: false }, 'and changed nothing');
  t.equal((await send(`${scheduler.url}/flags/none/set`, 'POST', bearer(ADMIN))).status, 200, 'a POST without a body needs no content type');

  // CORS headers are on every answer, refusals included.
  const foreign = await send(`${scheduler.url}/workers`, 'GET', { origin: 'https://evil.example' });
  t.equal(foreign.status, 401);
  t.match(foreign.headers.get('vary'), /Origin/, 'a 401 to a disallowed origin varies on Origin');
  const friendly = await send(`${scheduler.url}/workers`, 'GET', { origin: allowed });
  t.equal(friendly.headers.get('access-control-allow-origin'), allowed, 'an allowed origin can read its 401');
});

t.test('logging out revokes the session, and a restart does not revive it', async (t) => {
  const first = await startScheduler(t, { insecure: false, args: TOKENS });
  const own = { origin: new URL(first.url).origin };
  const { cookie } = await login(first.url, CLIENT);
  const kept = (await login(first.url, CLIENT)).cookie;
  t.match((await send(`${first.url}/auth/whoami`, 'GET', { cookie })).json, { scope: 'client' });
  const foreign = await send(`${first.url}/auth/session`, 'DELETE', { cookie, origin: 'http://127.0.0.1:1' });
  t.equal(foreign.status, 403, 'another origin cannot log the session out');
  t.equal((await send(`${first.url}/auth/whoami`, 'GET', { cookie })).status, 200);
  const logout = await send(`${first.url}/auth/session`, 'DELETE', { cookie, ...own });
  t.equal(logout.status, 204);
  t.match(logout.headers.get('set-cookie'), /sluice_session=;/, 'the browser is told to drop the cookie');
  t.equal((await send(`${first.url}/auth/whoami`, 'GET', { cookie })).status, 401, 'the old cookie, replayed, is refused');
  t.equal((await send(`${first.url}/workers`, 'GET', { cookie })).status, 401);
  t.equal((await send(`${first.url}/workers`, 'GET', { cookie: kept })).status, 200, 'another session goes on');

  await first.proc.stop('SIGTERM');
  const second = await startScheduler(t, { insecure: false, args: TOKENS, db: first.db });
  t.equal((await send(`${second.url}/auth/whoami`, 'GET', { cookie })).status, 401, 'after a restart on the same database, still refused');
  t.equal((await send(`${second.url}/workers`, 'GET', { cookie: kept })).status, 200, 'and the other session still good');
});

t.test('failed authentication is limited per address; a neighbour’s known token goes on', async (t) => {
  const scheduler = await startScheduler(t, { insecure: false, args: [...TOKENS, '--auth-failures-per-minute', '5'], env: { SLUICE_TRUST_PROXY: '127.0.0.1' } });
  const from = (address: string, headers: Record<string, string> = {}) => ({ 'x-forwarded-for': address, ...headers });
  const A = '198.51.100.7';
  const statusOf = async (path: string, headers: Record<string, string>, method = 'GET', body?: string) => (await send(`${scheduler.url}${path}`, method, headers, body)).status;

  t.equal(await statusOf('/workers', from(A, bearer(CLIENT))), 200, 'a client at A uses its token');
  const failures = [
    await statusOf('/workers', from(A, bearer('wrong-token-000000000001'))),
    await statusOf('/workers', from(A, bearer('wrong-token-000000000002'))),
    await statusOf('/workers?access_token=wrong-token-000000000003', from(A)),
    await statusOf('/workers', from(A, { cookie: 'sluice_session=admin.99999999999999.0123456789abcdef0123456789abcdef.0000' })),
    await statusOf('/auth/session', from(A, { 'content-type': 'application/json' }), 'POST', JSON.stringify({ token: 'wrong-token-000000000005' })),
  ];
  t.same(failures, [401, 401, 401, 401, 401], 'five failures of every kind are answered 401');
  const limited = await send(`${scheduler.url}/workers`, 'GET', from(A, bearer('wrong-token-000000000006')));
  t.match(limited, { status: 429, json: { error: { code: 'SLUICE_ERR_RATE_LIMITED', message: /more than 5 failed authentications a minute from this address/ } } });
  t.ok(Number(limited.headers.get('retry-after')) > 0, 'with Retry-After');
  t.equal(await statusOf('/workers', from(A, bearer(ADMIN))), 429, 'a token not seen from A before is not even checked now, so guessing learns nothing');
  t.equal(await statusOf('/auth/session', from(A, { 'content-type': 'application/json' }), 'POST', JSON.stringify({ token: ADMIN })), 429, 'nor is one traded for a cookie');
  t.equal(await statusOf('/workers', from(A, bearer(CLIENT))), 200, 'the token that worked from A before goes on working');
  t.equal(await statusOf('/workers', from('198.51.100.8', bearer('wrong-token-000000000007'))), 401, 'another address has its own count');
  t.equal(await statusOf('/health', from(A)), 200, 'a request without credentials is not refused');

  // An IPv6 caller has a /64 of addresses to itself: they count as one.
  const v6 = [1, 2, 3, 4, 5, 6].map((i) => `2001:db8:1:2::${i}`);
  const v6Statuses = [];
  for (const address of v6) v6Statuses.push(await statusOf('/workers', from(address, bearer(`wrong-token-00000000000${address.at(-1)}`))));
  t.same(v6Statuses, [401, 401, 401, 401, 401, 429], 'six addresses of one /64 share a count');
});

t.test('behind a TLS-terminating proxy: --trust-proxy makes the cookie Secure and the own origin the proxy’s', async (t) => {
  const proxied = await startScheduler(t, { insecure: false, args: [...TOKENS, '--trust-proxy', 'loopback'] });
  const https = { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'sluice.example' };
  const secure = await login(proxied.url, CLIENT, https);
  t.match(secure.setCookie, /; Secure/, 'a session opened over https (X-Forwarded-Proto from a trusted proxy) gets a Secure cookie');
  t.equal((await send(`${proxied.url}/flags/behind-proxy/set`, 'POST', { cookie: secure.cookie, origin: 'https://sluice.example', ...https })).status, 200, 'the own origin is the one the proxy was asked for');
  t.notMatch((await login(proxied.url, CLIENT)).setCookie, /Secure/, 'over plain http, not Secure');

  const direct = await startScheduler(t, { insecure: false, args: TOKENS });
  t.notMatch((await login(direct.url, CLIENT, https)).setCookie, /Secure/, 'without --trust-proxy, X-Forwarded-Proto from anyone is ignored');
});

t.test('--insecure: everyone is admin, so pages of other origins, and other names (DNS rebinding), are refused', async (t) => {
  const scheduler = await startScheduler(t, { args: ['--cors-origins', 'http://localhost:5173'] });
  const own = new URL(scheduler.url).origin;
  const flag = (name: string) => `${scheduler.url}/flags/${name}/set`;
  const fromPage = await send(flag('from-page'), 'POST', { origin: 'http://evil.example' });
  t.match(fromPage, { status: 403, json: { error: { code: 'SLUICE_ERR_FORBIDDEN', message: /--insecure/ } } }, 'a no-body POST another site’s page makes');
  t.equal((await send(flag('from-site'), 'POST', { 'sec-fetch-site': 'cross-site' })).status, 403, 'one marked cross-site without Origin');
  t.equal((await send(`${scheduler.url}/workers`, 'GET', { 'sec-fetch-site': 'same-site' })).status, 403, 'a read from another origin of the site');
  const rebound = await rawRequest(t, scheduler.port, 'POST /flags/rebound/set HTTP/1.1\r\nHost: attacker.example:8786\r\nOrigin: http://attacker.example:8786\r\nContent-Length: 0\r\n\r\n');
  t.match(rebound, { status: 403, json: { error: { message: /Host/ } } }, 'a page whose name was made to resolve here: its own origin, but not a loopback name');
  t.match((await api(scheduler.url).get('/flags/from-page')).body, { set: false }, 'nothing was set');
  t.equal((await send(flag('curl'), 'POST', {})).status, 200, 'curl and the Node client (neither header) go on');
  t.equal((await send(flag('own'), 'POST', { origin: own })).status, 200, 'the dashboard (its own origin) goes on');
  t.equal((await send(flag('allowed'), 'POST', { origin: 'http://localhost:5173' })).status, 200, 'an origin in --cors-origins goes on');
  const named = await rawRequest(t, scheduler.port, 'POST /flags/named/set HTTP/1.1\r\nHost: localhost:8786\r\nContent-Length: 0\r\n\r\n');
  t.equal(named.status, 200, 'Host: localhost');
});
