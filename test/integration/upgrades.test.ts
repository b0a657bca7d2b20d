// WebSocket upgrades the scheduler refuses, through raw TCP: each refused
// upgrade must close its socket, so a caller without a worker token cannot
// exhaust the scheduler's file descriptors.
import { connect } from 'node:net';
import t from 'tap';
import { api, startScheduler, startWorker } from '../helpers/cluster.ts';
import { waitFor } from '../helpers/processes.ts';
import { openFds, rawUpgrade, upgradeRequest } from '../helpers/sockets.ts';

const CLIENT = 'client-token-aaaaaaaaaaaaaaaa';
const WORKER = 'worker-token-bbbbbbbbbbbbbbbb';
const ADMIN = 'admin-token-cccccccccccccccccc';
const TOKENS = ['--client-token', CLIENT, '--worker-token', WORKER, '--admin-token', ADMIN];

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

t.test('a refused upgrade closes its socket: hundreds of them leave the descriptors flat, and the scheduler serves', async (t) => {
  // No limit on failed authentication here: hundreds of bad tokens from one address would shut it out (the next test).
  const scheduler = await startScheduler(t, { insecure: false, args: [...TOKENS, '--auth-failures-per-minute', '0'] });
  const http = api(scheduler.url, bearer(CLIENT));
  t.equal((await http.get('/workers')).status, 200);
  const baseline = openFds(scheduler.proc.pid);

  const kinds: Array<[string, string, number]> = [
    ['no token', upgradeRequest('/ws/worker'), 401],
    ['a client token', upgradeRequest('/ws/worker', bearer(CLIENT)), 403],
    ['a bad token', upgradeRequest('/ws/worker', bearer('not-a-token-of-ours-0000')), 401],
    ['a path with no socket', upgradeRequest('/ws/nothing-here', bearer(WORKER)), 404],
    ['a bad Sec-WebSocket-Key', upgradeRequest('/ws/worker', { ...bearer(WORKER), 'sec-websocket-key': 'short' }), 400],
    ['an unknown protocol', upgradeRequest('/ws/worker', { ...bearer(WORKER), upgrade: 'h2c' }), 400],
    ['a path that is not a URL', upgradeRequest('/ws/%E0%A4%A', bearer(WORKER)), 400],
    ['a path segment too long', upgradeRequest(`/futures/${'k'.repeat(2000)}`, bearer(WORKER)), 414],
    ['a cookie from a page of another origin', upgradeRequest('/ws/worker', { origin: 'https://evil.example', cookie: 'sluice_session=x' }), 403],
  ];
  for (const [what, request, status] of kinds) {
    const answer = await rawUpgrade(scheduler.port, request);
    t.equal(answer.status, status, `${what}: ${status} (${answer.status})`);
    t.ok(answer.closedByServer, `${what}: the scheduler closed the connection`);
  }

  // Hundreds more, a few at a time, each closed from this side once answered.
  const ROUNDS = 60;
  for (let round = 0; round < ROUNDS; round++) {
    await Promise.all(kinds.map(([, request]) => rawUpgrade(scheduler.port, request, 200)));
  }
  const settled = await waitFor(
    () => {
      const now = openFds(scheduler.proc.pid);
      return now <= baseline + 10 ? now : undefined;
    },
    `the scheduler's descriptors to come back near ${baseline}`,
    10_000,
    100,
  ).catch((error: Error) => {
    t.fail(`${error.message}: ${openFds(scheduler.proc.pid)} open after ${ROUNDS * kinds.length} refused upgrades`);
    return openFds(scheduler.proc.pid);
  });
  t.ok(settled <= baseline + 10, `${settled} descriptors open after ${ROUNDS * kinds.length} refused upgrades, ${baseline} before`);

  t.ok(scheduler.proc.running, 'the scheduler is running');
  t.equal((await http.get('/health')).status, 200, 'and serves');
  await startWorker(t, scheduler.url, { env: { SLUICE_TOKEN: WORKER } });
  const submitted = await http.post('/tasks', { fn: 'inc', args: [1], pure: false });
  t.equal((await http.get(`/futures/${submitted.body.key}/result?timeout=20`)).body.result, 2, 'a real worker still joins and runs tasks');
});

t.test('an upgrade refused for too many failed authentications closes its socket too', async (t) => {
  const scheduler = await startScheduler(t, { insecure: false, args: [...TOKENS, '--auth-failures-per-minute', '2'] });
  const statuses: number[] = [];
  for (let i = 0; i < 4; i++) {
    const answer = await rawUpgrade(scheduler.port, upgradeRequest('/ws/worker', bearer(`not-a-token-of-ours-000${i}`)));
    statuses.push(answer.status);
    t.ok(answer.closedByServer, `attempt ${i + 1} (${answer.status}): the scheduler closed the connection`);
  }
  t.same(statuses, [401, 401, 429, 429]);
});

t.test('a worker socket that never says hello is closed, and destroyed even if the peer never answers the close', async (t) => {
  const scheduler = await startScheduler(t, { insecure: false, args: TOKENS });
  const baseline = openFds(scheduler.proc.pid);
  // A raw socket that completes the upgrade, then neither speaks nor answers the close handshake.
  const socket = connect(scheduler.port, '127.0.0.1');
  t.teardown(() => socket.destroy());
  let received = Buffer.alloc(0);
  const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(Date.now())));
  socket.on('error', () => undefined);
  socket.on('data', (chunk: Buffer) => (received = Buffer.concat([received, chunk])));
  socket.write(upgradeRequest('/ws/worker', bearer(WORKER)));
  const frameAt = await waitFor(
    () => {
      const end = received.indexOf('\r\n\r\n');
      return end >= 0 && received.length > end + 4 ? end + 4 : undefined;
    },
    'the close frame after the hello timeout',
    20_000,
    50,
  );
  t.match(received.subarray(0, frameAt).toString('latin1'), /^HTTP\/1\.1 101 /, 'the upgrade completed');
  const sentAt = Date.now();
  const frame = received.subarray(frameAt);
  t.equal(frame[0], 0x88, 'the scheduler sent a close frame');
  t.equal(frame.readUInt16BE(2), 1008, 'with 1008');
  t.equal(frame.subarray(4, 2 + frame[1]).toString(), 'expected a hello message', 'and the reason');
  const closedAt = await Promise.race([closed, new Promise<number>((resolve) => setTimeout(() => resolve(0), 20_000))]);
  t.ok(closedAt > 0, `the scheduler closed the connection ${closedAt - sentAt} ms after its close frame, unanswered`);
  await waitFor(() => openFds(scheduler.proc.pid) <= baseline, 'the silent socket to be let go', 10_000, 100);
  t.pass('its descriptor was let go');
});
