// Client sessions: a credential the scheduler issues, bound to the token that
// created it; the public id observers see cannot be used to act as the owner.
import t from 'tap';
import { Client } from '../../client/index.ts';
import { api, createSession, readSse, startScheduler } from '../helpers/cluster.ts';
import { sleep, waitFor } from '../helpers/processes.ts';

const CLIENT = 'client-token-aaaaaaaaaaaaaaaa';
const CLIENT2 = 'client-token-dddddddddddddddd';
const WORKER = 'worker-token-bbbbbbbbbbbbbbbb';
const ADMIN = 'admin-token-cccccccccccccccccc';
const TOKENS = ['--client-token', `${CLIENT},${CLIENT2}`, '--worker-token', WORKER, '--admin-token', ADMIN];
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

t.test('what observers see of a session cannot be used to act as it', async (t) => {
  const scheduler = await startScheduler(t, { insecure: false, args: TOKENS });
  const owner = await createSession(scheduler.url, bearer(CLIENT));
  t.match(owner.id, /^[A-Za-z0-9_-]{8,64}$/, 'a public id');
  t.not(owner.session, owner.id, 'and a credential that is not the id');
  const as = api(scheduler.url, owner.headers);

  // The owner holds a pending task (no worker runs it), a lock, and reads its stream.
  const task = await as.post('/tasks', { fn: 'hang', pure: false });
  t.equal(task.status, 201);
  const lease = await as.post('/locks/deploy/acquire', { leaseId: 'owner-lease-1', ttlMs: 60_000 });
  t.equal(lease.status, 200);
  const stream = await readSse(`${scheduler.url}/clients/${owner.id}/events`, owner.headers, t);
  t.equal(stream.status, 200);

  // An observer with a client token of its own sees the public id, never the credential.
  const observer = api(scheduler.url, bearer(CLIENT));
  const locks = await observer.get('/locks/deploy');
  t.equal(locks.body.leases[0].clientId, owner.id, 'GET /locks shows the public id');
  t.notMatch(JSON.stringify(locks.body), owner.session.split('.').pop() as string, 'and nothing of the credential');

  // With that id alone, it can do nothing as the owner.
  const impostor = api(scheduler.url, { ...bearer(CLIENT), 'sluice-client': owner.id });
  const cancel = await impostor.post(`/futures/${task.body.key}/cancel`);
  t.equal(cancel.status, 401, 'cancel with the bare id');
  t.match(cancel.body.error, { code: 'SLUICE_ERR_SESSION_INVALID', message: /sluice-client.*POST \/clients/ });
  t.match(await impostor.delete(`/clients/${owner.id}`), { status: 401, body: { error: { code: 'SLUICE_ERR_SESSION_INVALID' } } }, 'end it with the bare id');
  const read = await readSse(`${scheduler.url}/clients/${owner.id}/events`, { ...bearer(CLIENT), 'sluice-client': owner.id }, t);
  t.match(read, { status: 401, body: { error: { code: 'SLUICE_ERR_SESSION_INVALID' } } }, 'read its stream with the bare id');
  t.match(await readSse(`${scheduler.url}/clients/${owner.id}/events`, bearer(CLIENT), t), { status: 400, body: { error: { code: 'SLUICE_ERR_CLIENT_REQUIRED' } } }, 'or with no credential');

  // A forged credential: the id with a made-up signature.
  const forged = api(scheduler.url, { ...bearer(CLIENT), 'sluice-client': `${owner.id}.${'0'.repeat(64)}` });
  t.match(await forged.post(`/futures/${task.body.key}/cancel`), { status: 401, body: { error: { code: 'SLUICE_ERR_SESSION_INVALID', message: /not issued by this scheduler/ } } });

  // Its own session does not reach the owner's either.
  const mallory = await createSession(scheduler.url, bearer(CLIENT));
  const asMallory = api(scheduler.url, mallory.headers);
  t.match(await asMallory.post(`/futures/${task.body.key}/cancel`), { status: 403, body: { error: { code: 'SLUICE_ERR_FORBIDDEN' } } });
  t.match(await asMallory.delete(`/clients/${owner.id}`), { status: 403, body: { error: { code: 'SLUICE_ERR_FORBIDDEN', message: /only the session itself .* or an admin token/ } } });
  t.match(await readSse(`${scheduler.url}/clients/${owner.id}/events`, mallory.headers, t), { status: 403, body: { error: { code: 'SLUICE_ERR_FORBIDDEN' } } });
  t.match(await asMallory.post('/locks/deploy/release', { leaseId: 'a-guessed-lease' }), { status: 409 }, 'nor its lease');

  // The owner's credential with another token: refused.
  const stolen = api(scheduler.url, { ...bearer(CLIENT2), 'sluice-client': owner.session });
  t.match(await stolen.post(`/futures/${task.body.key}/cancel`), { status: 403, body: { error: { code: 'SLUICE_ERR_SESSION_FOREIGN', message: /another token/ } } });
  t.match(await readSse(`${scheduler.url}/clients/${owner.id}/events`, { ...bearer(CLIENT2), 'sluice-client': owner.session }, t), { status: 403, body: { error: { code: 'SLUICE_ERR_SESSION_FOREIGN' } } });

  // Nothing of the owner's changed.
  t.match((await observer.get(`/futures/${task.body.key}`)).body, { status: 'pending' }, 'its task still pending');
  t.equal((await observer.get('/locks/deploy')).body.leases.length, 1, 'its lock still held');
  t.equal(stream.events.length, 1, 'its stream still open (ready only)');
  t.match((await as.post(`/futures/${task.body.key}/cancel`)).body, { status: 'cancelled' }, 'the owner cancels its own task');
  await stream.until((events) => events.some((e) => e.event === 'status'));

  // The owner ends its session: the lock goes, and the credential is dead for good.
  t.equal((await as.delete(`/clients/${owner.id}`)).status, 204);
  t.same((await observer.get('/locks/deploy')).body.leases, [], 'its lease released');
  await stream.ended;
  const replayed = await as.post('/futures/hold', { keys: [task.body.key] });
  t.match(replayed, { status: 401, body: { error: { code: 'SLUICE_ERR_SESSION_ENDED', message: /POST \/clients/ } } }, 'a replayed credential does not revive it');
  t.match(await readSse(`${scheduler.url}/clients/${owner.id}/events`, owner.headers, t), { status: 401, body: { error: { code: 'SLUICE_ERR_SESSION_ENDED' } } });
  t.match(await as.post('/tasks', { fn: 'inc', args: [1] }), { status: 401 }, 'nor submit under it');

  // An admin may end any session.
  t.equal((await api(scheduler.url, bearer(ADMIN)).delete(`/clients/${mallory.id}`)).status, 204);
  t.match(await asMallory.post('/futures/hold', { keys: [task.body.key] }), { status: 401, body: { error: { code: 'SLUICE_ERR_SESSION_ENDED' } } });
});

t.test('without authentication (--insecure) a session is still a credential, not an id', async (t) => {
  const scheduler = await startScheduler(t);
  const owner = await createSession(scheduler.url);
  const task = await api(scheduler.url, owner.headers).post('/tasks', { fn: 'hang', pure: false });
  t.equal(task.status, 201);
  const impostor = api(scheduler.url, { 'sluice-client': owner.id });
  t.match(await impostor.post('/futures/release', { keys: [task.body.key] }), { status: 401, body: { error: { code: 'SLUICE_ERR_SESSION_INVALID' } } });
  t.match(await impostor.post(`/futures/${task.body.key}/cancel`), { status: 401, body: { error: { code: 'SLUICE_ERR_SESSION_INVALID' } } }, 'a bad credential is refused even where the caller needs none');
  t.match(await readSse(`${scheduler.url}/clients/${owner.id}/events`, { 'sluice-client': owner.id }, t), { status: 401 });
  t.match(await api(scheduler.url).delete(`/clients/${owner.id}`), { status: 204 }, 'without a credential, an insecure scheduler treats the caller as admin');
});

t.test('sessions outlive a restart; ended and expired ones stay ended', async (t) => {
  const first = await startScheduler(t, { insecure: false, args: [...TOKENS, '--client-lease-ms', '3000'] });
  const kept = await createSession(first.url, bearer(CLIENT));
  const ended = await createSession(first.url, bearer(CLIENT));
  const { body: scattered } = await api(first.url, kept.headers).post('/scatter', { data: [42] });
  t.equal((await api(first.url, ended.headers).delete(`/clients/${ended.id}`)).status, 204);
  await first.proc.stop('SIGTERM');

  const second = await startScheduler(t, { db: first.db, insecure: false, args: [...TOKENS, '--client-lease-ms', '3000'] });
  const keptThen = api(second.url, kept.headers);
  t.match(await keptThen.post('/futures/hold', { keys: scattered.keys }), { status: 200, body: { futures: [{ status: 'finished', result: 42 }] } }, 'a session from before the restart still works');
  const stream = await readSse(`${second.url}/clients/${kept.id}/events`, kept.headers, t);
  t.equal(stream.status, 200);
  t.match(await api(second.url, ended.headers).post('/futures/hold', { keys: scattered.keys }), { status: 401, body: { error: { code: 'SLUICE_ERR_SESSION_ENDED' } } }, 'one ended before it stays ended');

  // A session with no stream lives while it is used, and ends once it has been idle longer than its lease.
  const idle = await createSession(second.url, bearer(CLIENT));
  const busy = await createSession(second.url, bearer(CLIENT));
  const started = Date.now();
  while (Date.now() - started < 6000) {
    t.equal((await api(second.url, busy.headers).post('/futures/hold', { keys: scattered.keys })).status, 200);
    await sleep(300);
  }
  t.match(await api(second.url, idle.headers).post('/futures/hold', { keys: scattered.keys }), { status: 401, body: { error: { code: 'SLUICE_ERR_SESSION_ENDED', message: /lease/ } } });
  t.equal((await api(second.url, busy.headers).post('/futures/hold', { keys: scattered.keys })).status, 200, 'the busy one lives on');
  t.equal((await api(second.url, kept.headers).post('/futures/hold', { keys: scattered.keys })).status, 200, 'and so does the connected one');
  stream.close();
});

t.test('the TS client: its session from POST /clients, the public id in what others see, a new session if its own ended', async (t) => {
  const scheduler = await startScheduler(t, { insecure: false, args: TOKENS });
  const client = new Client(scheduler.url, { token: CLIENT });
  t.teardown(() => client.close());
  const early = client.submit<number>('inc', [1], { key: 'submitted-before-the-session' }); // returns at once, queued
  t.equal(early.key, 'submitted-before-the-session');
  await client.ready;
  t.match(client.id, /^[A-Za-z0-9_-]{8,64}$/);
  t.not(client.headers['sluice-client'], client.id, 'it sends its credential, not its id');
  const lock = client.lock('client-lock');
  const lease = await lock.acquire();
  const observed = await api(scheduler.url, bearer(CLIENT2)).get('/locks/client-lock');
  t.match(observed.body.leases[0], { clientId: client.id, holder: `client ${client.id}` });
  await lease.release();

  // An admin ends its session: the client starts a new one and goes on.
  const before = client.id;
  t.equal((await api(scheduler.url, bearer(ADMIN)).delete(`/clients/${before}`)).status, 204);
  const after = client.submit('hang', [], { pure: false });
  await waitFor(async () => (await api(scheduler.url, bearer(ADMIN)).get(`/futures/${after.key}`)).status === 200, 'the task submitted after its session ended');
  t.not(client.id, before, 'a new session');
  t.equal(early.key, 'submitted-before-the-session');
  await after.cancel();
  t.equal(after.status, 'cancelled', 'it acts as its new session (cancel needs the holder)');
});
