// Property-based fuzzing (fast-check) of every route and of the worker protocol:
// random and malformed input never gets a 500, never crashes the scheduler, and
// a rejected request changes nothing stored.
import Database from 'better-sqlite3';
import fc from 'fast-check';
import t from 'tap';
import WebSocket from 'ws';
import { api, startScheduler, startWorker } from '../helpers/cluster.ts';

const scheduler = await startScheduler(t, { args: ['--max-batch', '200', '--body-limit', '65536'] });
await startWorker(t, scheduler.url);
const http = api(scheduler.url, { 'sluice-client': 'fuzz-client-0001' });

// Some real things for requests to refer to.
const seeded = await http.post('/tasks', { tasks: [{ fn: 'inc', args: [1], key: 'known-a' }, { fn: 'sleep', args: [60_000], key: 'known-slow' }] });
if (seeded.status !== 201) throw new Error(`seeding failed: ${JSON.stringify(seeded.body)}`);
await http.post('/channels/known-channel/append', { keys: ['known-a'] });

/** What a rejected request must leave as it was: the rows that hold state. */
const db = new Database(scheduler.db, { readonly: true, fileMustExist: true });
t.teardown(() => db.close());
const fingerprint = (): string =>
  JSON.stringify(
    db
      .prepare(
        `SELECT (SELECT count(*) FROM tasks) AS tasks, (SELECT max(rowid) FROM tasks) AS lastTask,
           (SELECT group_concat(name || ':' || last_seq || ':' || stopped || ':' || coalesce(maxlen, '-')) FROM channels) AS channels,
           (SELECT count(*) FROM channel_entries) AS entries`,
      )
      .get(),
  );

const name = fc.oneof(
  fc.constantFrom('known-a', 'known-slow', 'known-channel', 'inc-0', ''),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 10 }),
  fc.constantFrom('..', '%2F', 'a/b', ' ', '\u0000', 'x'.repeat(300)),
);

const jsonish = fc.oneof(
  { arbitrary: fc.jsonValue({ maxDepth: 4 }), weight: 3 },
  { arbitrary: fc.record({ fn: fc.oneof(fc.string(), fc.constant('inc'), fc.integer()), args: fc.oneof(fc.array(fc.jsonValue({ maxDepth: 2 })), fc.jsonValue()), key: fc.option(name), priority: fc.option(fc.oneof(fc.integer(), fc.double(), fc.string())), retries: fc.option(fc.integer({ min: -5, max: 500 })), timeoutMs: fc.option(fc.oneof(fc.integer(), fc.string())), channel: fc.option(name) }, { requiredKeys: [] }), weight: 3 },
  { arbitrary: fc.record({ tasks: fc.array(fc.record({ fn: fc.constantFrom('inc', 'echo', 'x y'), args: fc.array(fc.oneof(fc.integer(), fc.record({ $future: name }))) }, { requiredKeys: [] }), { maxLength: 5 }) }), weight: 2 },
  { arbitrary: fc.record({ keys: fc.array(name, { maxLength: 5 }), key: name, items: fc.jsonValue(), data: fc.jsonValue(), maxlen: fc.oneof(fc.integer({ min: -3, max: 5 }), fc.constant(null), fc.string()), timeout: fc.oneof(fc.double(), fc.string()), errors: fc.string(), idempotencyKey: fc.string() }, { requiredKeys: [] }), weight: 2 },
);

const body = fc.oneof(
  jsonish.map((value) => JSON.stringify(value)),
  fc.string({ maxLength: 200 }),
  fc.constantFrom('', '{', '[1,', '{"fn":', 'null', '"just a string"', '{"__proto__":{"polluted":true}}', '{"constructor":{"prototype":{"x":1}}}'),
);

const route = fc.oneof(
  fc.record({ method: fc.constant('POST'), path: fc.constantFrom('/tasks', '/gather', '/scatter', '/futures/hold', '/futures/release', '/futures/fire-and-forget', '/auth/session') }),
  fc.record({ method: fc.constantFrom('GET', 'DELETE'), path: name.map((n) => `/futures/${encodeURIComponent(n)}`) }),
  fc.record({ method: fc.constant('GET'), path: fc.tuple(name, fc.string({ maxLength: 8 })).map(([n, q]) => `/futures/${encodeURIComponent(n)}/result?timeout=${encodeURIComponent(q)}`) }),
  fc.record({ method: fc.constant('POST'), path: name.map((n) => `/futures/${encodeURIComponent(n)}/cancel`) }),
  fc.record({ method: fc.constantFrom('PUT', 'GET', 'DELETE'), path: name.map((n) => `/channels/${encodeURIComponent(n)}`) }),
  fc.record({ method: fc.constant('POST'), path: fc.tuple(name, fc.constantFrom('append', 'stop')).map(([n, verb]) => `/channels/${encodeURIComponent(n)}/${verb}`) }),
  fc.record({ method: fc.constant('GET'), path: fc.tuple(name, fc.string({ maxLength: 12 })).map(([n, q]) => `/channels/${encodeURIComponent(n)}?from=${encodeURIComponent(q)}&limit=${encodeURIComponent(q)}`) }),
  fc.record({ method: fc.constant('DELETE'), path: name.map((n) => `/clients/${encodeURIComponent(n)}`) }),
  fc.record({ method: fc.constant('GET'), path: fc.string({ maxLength: 30 }).map((q) => `/futures/events?keys=${encodeURIComponent(q)}`) }),
);

t.test('random and malformed HTTP requests: never a 500, and a refused request changes nothing', async (t) => {
  let requests = 0;
  let refused = 0;
  await fc.assert(
    fc.asyncProperty(route, body, fc.boolean(), async ({ method, path }, text, json) => {
      const before = fingerprint();
      const controller = new AbortController();
      const response = await fetch(scheduler.url + path, {
        method,
        headers: { ...(json ? { 'content-type': 'application/json' } : { 'content-type': 'text/plain' }), 'sluice-client': 'fuzz-client-0001' },
        body: method === 'GET' || method === 'DELETE' ? undefined : text,
        signal: controller.signal,
      });
      requests++;
      // Streams that open are closed at once; an answer's body is read whole.
      if ((response.headers.get('content-type') ?? '').startsWith('text/event-stream')) controller.abort();
      else await response.text();
      if (response.status >= 500) return false;
      if (response.status >= 400) {
        refused++;
        if (fingerprint() !== before) return false;
      }
      return true;
    }),
    { numRuns: 400, seed: 20261122 },
  );
  t.ok(scheduler.proc.running, `the scheduler survived ${requests} requests, ${refused} refused`);
  t.equal((await http.get('/health')).status, 200);
  t.equal((await http.get('/futures/known-a/result?timeout=10')).body.result, 2, 'what was stored is intact');
});

t.test('random worker-protocol messages: the socket is closed with a reason, the scheduler carries on', async (t) => {
  const message = fc.oneof(
    fc.string({ maxLength: 100 }),
    fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
    fc.record({ type: fc.constantFrom('hello', 'report', 'heartbeat', 'secede', 'draining', 'run', 'x'), protocol: fc.oneof(fc.constant(1), fc.integer()), name: fc.string(), functions: fc.array(fc.string()), concurrency: fc.integer(), items: fc.array(fc.record({ key: name, attempt: fc.integer(), status: fc.constantFrom('finished', 'error', 'x'), result: fc.jsonValue(), error: fc.jsonValue() }, { requiredKeys: [] })), key: name, attempt: fc.integer() }, { requiredKeys: ['type'] }).map((v) => JSON.stringify(v)),
  );
  let closedWithReason = 0;
  await fc.assert(
    fc.asyncProperty(fc.boolean(), fc.array(message, { minLength: 1, maxLength: 4 }), async (greet, messages) => {
      const socket = new WebSocket(`${scheduler.url.replace('http', 'ws')}/ws/worker`);
      socket.on('error', () => undefined);
      await new Promise((resolve) => socket.once('open', resolve));
      const closed = new Promise<number>((resolve) => socket.once('close', (code: number) => resolve(code)));
      if (greet) socket.send(JSON.stringify({ type: 'hello', protocol: 1, name: 'fuzzer', functions: ['inc'], concurrency: 1 }));
      for (const m of messages) socket.send(m);
      const code = await Promise.race([closed, new Promise<number>((resolve) => setTimeout(() => resolve(0), 100))]);
      if (code === 1008) closedWithReason++;
      socket.terminate();
      return code === 0 || code === 1008 || code === 1006 || code === 1005;
    }),
    { numRuns: 150, seed: 20261122 },
  );
  t.ok(closedWithReason > 0, `${closedWithReason} sockets closed for a protocol error`);
  t.ok(scheduler.proc.running, 'the scheduler survived');
  const { body } = await http.post('/tasks', { fn: 'inc', args: [41], pure: false });
  t.equal((await http.get(`/futures/${body.key}/result?timeout=20`)).body.result, 42, 'and real workers still run tasks');
});
