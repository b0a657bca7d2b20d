// Lowering a channel's maxlen below its length drops durable entries: an admin act.
import t from 'tap';
import { Client } from '../../client/index.ts';
import { api, startScheduler } from '../helpers/cluster.ts';

const CLIENT = 'client-token-aaaaaaaaaaaaaaaa';
const WORKER = 'worker-token-bbbbbbbbbbbbbbbb';
const ADMIN = 'admin-token-cccccccccccccccccc';
const TOKENS = ['--client-token', CLIENT, '--worker-token', WORKER, '--admin-token', ADMIN];
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

t.test('a client token cannot truncate a channel by lowering its maxlen', async (t) => {
  const scheduler = await startScheduler(t, { insecure: false, args: TOKENS });
  const client = api(scheduler.url, bearer(CLIENT));
  const admin = api(scheduler.url, bearer(ADMIN));
  const { body: scattered } = await client.post('/scatter', { data: Array.from({ length: 100 }, (_, i) => i) });
  t.equal((await client.post('/channels/ledger/append', { keys: scattered.keys })).status, 201);

  const refused = await client.put('/channels/ledger', { maxlen: 1 });
  t.equal(refused.status, 403);
  t.match(refused.body.error, {
    code: 'SLUICE_ERR_FORBIDDEN',
    message: /channel ledger holds 100 entries: a maxlen of 1 would drop 99 of them, which needs an admin token \(or a maxlen of at least 100\)/,
  });
  const after = (await client.get('/channels/ledger?limit=1000')).body;
  t.match(after, { length: 100, maxlen: null }, 'nothing changed');
  t.equal(after.futures.length, 100);
  t.same(after.futures[0], { seq: 1, key: scattered.keys[0], status: 'finished' });

  // Raising it, or lowering it without dropping anything, stays a client's to do.
  t.match((await client.put('/channels/ledger', { maxlen: 500 })).body, { length: 100, maxlen: 500 });
  t.match((await client.put('/channels/ledger', { maxlen: 100 })).body, { length: 100, maxlen: 100 });
  t.match((await client.put('/channels/ledger', { maxlen: null })).body, { length: 100, maxlen: null });
  t.match((await client.put('/channels/ledger', {})).body, { length: 100, maxlen: null });
  t.match((await client.put('/channels/fresh', { maxlen: 1 })).body, { length: 0, maxlen: 1 }, 'a new channel takes any maxlen');

  // Appends past maxlen keep their deque behaviour.
  t.equal((await client.put('/channels/ledger', { maxlen: 100 })).status, 200);
  t.equal((await client.post('/channels/ledger/append', { keys: scattered.keys.slice(0, 2) })).status, 201);
  t.match((await client.get('/channels/ledger')).body, { length: 100, lastSeq: 102 });

  // An admin may truncate.
  t.match((await admin.put('/channels/ledger', { maxlen: 1 })).body, { length: 1, maxlen: 1, lastSeq: 102 });

  // The TS client with a client token: the refusal reaches the caller.
  const ts = await Client.connect(scheduler.url, { token: CLIENT });
  t.teardown(() => ts.close());
  await ts.scatter([1, 2, 3]).then((futures) => Promise.all(futures.map((f) => client.post('/channels/kept/append', { key: f.key }))));
  const chan = ts.channel('kept', { maxlen: 1 });
  await t.rejects(chan.flush(), { code: 'SLUICE_ERR_FORBIDDEN' });
  t.match((await client.get('/channels/kept')).body, { length: 3, maxlen: null });
});
