// Property-based fuzzing (fast-check) of every route and of the worker protocol:
// random and malformed input never gets a 500, never crashes the scheduler, and
// a rejected request changes nothing stored.
import { createHash } from 'node:crypto';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import t from 'tap';
import WebSocket from 'ws';
import { api, createSession, readSse, startScheduler, startWorker } from '../helpers/cluster.ts';
import { waitFor } from '../helpers/processes.ts';

// A long client lease: a session that expired mid-run would let go of its leases at a random moment.
const scheduler = await startScheduler(t, { args: ['--max-batch', '200', '--body-limit', '65536', '--client-lease-ms', '3600000'] });
await startWorker(t, scheduler.url);
const session = await createSession(scheduler.url);
const http = api(scheduler.url, session.headers);

// Some real things for requests to refer to.
const seeded = await http.post('/tasks', { tasks: [{ fn: 'inc', args: [1], key: 'known-a' }, { fn: 'sleep', args: [60_000], key: 'known-slow' }] });
if (seeded.status !== 201) throw new Error(`seeding failed: ${JSON.stringify(seeded.body)}`);
const anonymous = api(scheduler.url);
const seeds = await Promise.all([
  http.post('/channels/known-channel/append', { keys: ['known-a'] }),
  http.post('/queues/known-queue/put', { items: [1, { $future: 'known-a' }, 'three'] }),
  http.put('/queues/known-full', { maxsize: 1 }),
  http.post('/queues/known-full/put', { item: 'the only one' }),
  http.put('/variables/known-variable', { value: { model: { $future: 'known-a' }, version: 3 } }),
  http.post('/flags/known-flag/set'),
  anonymous.post('/locks/known-lock/acquire', { leaseId: 'fuzz-lease-0001', ttlMs: 3_600_000 }),
  http.put('/semaphores/known-sem', { maxLeases: 2 }),
]);
if (seeds.some((answer) => answer.status >= 300)) throw new Error(`seeding failed: ${JSON.stringify(seeds.map((a) => a.body))}`);
// A subscriber, so that a publish that got through would show.
const subscriber = await readSse(`${scheduler.url}/topics/known-topic/events`, {}, t, () => undefined);

/** What a rejected request must leave as it was: the rows that hold state, and the one topic's count of messages. */
const db = new Database(scheduler.db, { readonly: true, fileMustExist: true });
t.teardown(() => db.close());
const tables = [
  'SELECT count(*) AS tasks, max(rowid) AS lastTask FROM tasks',
  "SELECT group_concat(name || ':' || last_seq || ':' || stopped || ':' || coalesce(maxlen, '-')) AS channels FROM channels",
  'SELECT count(*) AS entries FROM channel_entries',
  'SELECT name, maxsize FROM queues ORDER BY name',
  'SELECT id, queue, value, refs FROM queue_items ORDER BY id',
  'SELECT name, value, refs FROM variables ORDER BY name',
  'SELECT name FROM flags ORDER BY name',
  'SELECT kind, name, max_leases, last_token FROM semaphores ORDER BY kind, name',
  'SELECT id, kind, name, token FROM leases ORDER BY id',
].map((sql) => db.prepare(sql));
const itemsIn = db.prepare('SELECT count(*) FROM queue_items WHERE queue = ?').pluck();
const fingerprint = async (): Promise<string> => {
  const hash = createHash('sha256');
  for (const statement of tables) hash.update(JSON.stringify(statement.all()));
  hash.update(String((await http.get('/topics/known-topic')).body.lastSeq));
  return hash.digest('hex');
};

const name = fc.oneof(
  fc.constantFrom('known-a', 'known-slow', 'known-channel', 'inc-0', ''),
  fc.constantFrom('known-queue', 'known-full', 'known-variable', 'known-flag', 'known-lock', 'known-sem', 'known-topic'),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 10 }),
  fc.constantFrom('..', '%2F', 'a/b', ' ', '\u0000', 'x'.repeat(300)),
);

/** ?timeout= and ?batch= values: mostly no wait or garbage, so that a request is answered rather than cut short. */
const seconds = fc.oneof(
  fc.constantFrom('0', '0.05', '-1', '', 'abc', '1e99', 'NaN', '0x10', 'Infinity', '2', '100000'),
  fc.string({ maxLength: 6 }),
  fc.integer({ min: -5, max: 3 }).map(String),
);
const query = (fields: string[]) =>
  fc.array(fc.tuple(fc.constantFrom(...fields, 'x'), seconds), { maxLength: 3 }).map((pairs) => (pairs.length === 0 ? '' : `?${pairs.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&')}`));

const leaseId = fc.oneof(fc.constantFrom('fuzz-lease-0001', 'fuzz-lease-0002', 'short', 'x'.repeat(65)), fc.string({ maxLength: 70 }));
// Valid ttls are long: a lease that lapsed by itself during a refused request would look like a change it made.
const ttlMs = fc.oneof(fc.constantFrom(600_000, 3_600_000), fc.constantFrom(-1, 0, 99, 3_600_001, 1.5, 'x', null, '600000'));

const jsonish = fc.oneof(
  { arbitrary: fc.jsonValue({ maxDepth: 4 }), weight: 3 },
  { arbitrary: fc.record({ fn: fc.oneof(fc.string(), fc.constant('inc'), fc.integer()), args: fc.oneof(fc.array(fc.jsonValue({ maxDepth: 2 })), fc.jsonValue()), key: fc.option(name), priority: fc.option(fc.oneof(fc.integer(), fc.double(), fc.string())), retries: fc.option(fc.integer({ min: -5, max: 500 })), timeoutMs: fc.option(fc.oneof(fc.integer(), fc.string())), channel: fc.option(name) }, { requiredKeys: [] }), weight: 3 },
  { arbitrary: fc.record({ tasks: fc.array(fc.record({ fn: fc.constantFrom('inc', 'echo', 'x y'), args: fc.array(fc.oneof(fc.integer(), fc.record({ $future: name }))) }, { requiredKeys: [] }), { maxLength: 5 }) }), weight: 2 },
  { arbitrary: fc.record({ keys: fc.array(name, { maxLength: 5 }), key: name, items: fc.jsonValue(), data: fc.jsonValue(), maxlen: fc.oneof(fc.integer({ min: -3, max: 5 }), fc.constant(null), fc.string()), timeout: fc.oneof(fc.double(), fc.string()), errors: fc.string(), idempotencyKey: fc.string() }, { requiredKeys: [] }), weight: 2 },
);

const body = fc.oneof(
  jsonish.map((value) => JSON.stringify(value)),
  fc.string({ maxLength: 200 }),
  fc.constantFrom('', '{', '[1,', '{"fn":', 'null', '"just a string"', '{"__proto__":{"polluted":true}}', '{"constructor":{"prototype":{"x":1}}}', '{"item":', '{"value":}', '{"leaseId":null}'),
);

interface Route {
  method: string;
  path: string;
  /** A body made for this route (else a random one). */
  body?: string;
  /** The call may wait on purpose (for an item, a lease, a value, a result): it is cut short after WAIT_MS. */
  waits?: boolean;
  /** For calls that wait in a line: where to see that the caller has left it after being cut short. */
  line?: string;
}

// Bodies made for the coordination routes: the right fields with values good and bad, futures known and not,
// fences with live and stale tokens. Mixed with random bodies, so that validation and what lies behind it both get hit.
const coordinationName = fc.oneof(
  { arbitrary: fc.constantFrom('known-queue', 'known-full', 'known-variable', 'known-flag', 'known-lock', 'known-sem', 'known-topic'), weight: 3 },
  { arbitrary: fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,12}$/), weight: 2 },
  { arbitrary: name, weight: 1 },
);
const futureRef = fc.record({ $future: fc.oneof(fc.constantFrom('known-a', 'known-slow', 'never-submitted'), fc.string({ maxLength: 12 })) });
const storable = fc.oneof(
  { arbitrary: fc.jsonValue({ maxDepth: 3 }), weight: 3 },
  { arbitrary: futureRef, weight: 1 },
  { arbitrary: fc.record({ nested: fc.array(futureRef, { maxLength: 2 }), n: fc.integer() }), weight: 1 },
);
const idempotencyKey = fc.option(fc.oneof(fc.constantFrom('retry-1', 'retry-2'), fc.string({ maxLength: 130 })), { nil: undefined });
const maxLeases = fc.oneof(fc.integer({ min: -1, max: 3 }), fc.constant(1_000_001), fc.string({ maxLength: 3 }));
const fence = fc.oneof(
  fc.record({ lock: fc.constantFrom('known-lock', 'other-lock'), token: fc.oneof(fc.constantFrom(1, 2), fc.integer({ min: -1, max: 5 })) }),
  fc.record({ semaphore: fc.constantFrom('known-sem', 'known-lock'), token: fc.integer({ min: 0, max: 4 }) }),
  fc.record({ lock: name, semaphore: name, token: fc.integer() }),
  fc.jsonValue({ maxDepth: 1 }),
);
const bodies = {
  put: fc.oneof(
    fc.record({ item: storable, idempotencyKey }, { requiredKeys: ['item'] }),
    fc.record({ items: fc.array(storable, { maxLength: 5 }), idempotencyKey }, { requiredKeys: ['items'] }),
    fc.record({ item: storable, items: fc.array(storable) }),
  ),
  queueConfig: fc.record({ maxsize: fc.oneof(fc.integer({ min: -1, max: 5 }), fc.constant(null), fc.double(), fc.string({ maxLength: 3 })) }, { requiredKeys: [] }),
  variable: fc.record({ value: storable, fence: fc.oneof({ arbitrary: fc.constant(undefined), weight: 2 }, { arbitrary: fence, weight: 1 }) }),
  publish: fc.record({ message: fc.jsonValue({ maxDepth: 3 }) }, { requiredKeys: [] }),
  acquire: fc.record({ leaseId, ttlMs, holder: fc.oneof(fc.string({ minLength: 1, maxLength: 20 }), fc.constant(''), fc.integer()), maxLeases }, { requiredKeys: [] }),
  lease: fc.record({ leaseId }, { requiredKeys: [] }),
  semaphoreConfig: fc.record({ maxLeases }, { requiredKeys: [] }),
};
const withBody = (made: fc.Arbitrary<unknown>): fc.Arbitrary<string> =>
  fc.oneof({ arbitrary: made.map((value) => JSON.stringify(value)), weight: 4 }, { arbitrary: body, weight: 1 });

const at = (prefix: string, n: string, suffix = ''): string => `${prefix}/${encodeURIComponent(n)}${suffix}`;
const coordinationRoutes: fc.Arbitrary<Route> = fc.oneof(
  fc.tuple(fc.constantFrom('PUT', 'GET', 'DELETE'), coordinationName, withBody(bodies.queueConfig)).map(([method, n, text]) => ({ method, path: at('/queues', n), body: text })),
  fc.constant({ method: 'GET', path: '/queues' }),
  fc.tuple(coordinationName, query(['timeout']), withBody(bodies.put)).map(([n, q, text]) => ({ method: 'POST', path: at('/queues', n, `/put${q}`), body: text, waits: true, line: at('/queues', n) })),
  fc.tuple(coordinationName, query(['timeout', 'batch'])).map(([n, q]) => ({ method: 'POST', path: at('/queues', n, `/get${q}`), waits: true, line: at('/queues', n) })),
  fc.tuple(fc.constantFrom('PUT', 'GET', 'DELETE'), coordinationName, query(['timeout']), withBody(bodies.variable)).map(([method, n, q, text]) => ({
    method,
    path: at('/variables', n, method === 'GET' ? q : ''),
    body: text,
    waits: method === 'GET',
  })),
  fc.tuple(coordinationName, withBody(bodies.publish)).map(([n, text]) => ({ method: 'POST', path: at('/topics', n, '/publish'), body: text })),
  fc.tuple(fc.constantFrom('', '/events'), coordinationName).map(([suffix, n]) => ({ method: 'GET', path: at('/topics', n, suffix) })),
  fc.tuple(coordinationName, query(['timeout'])).map(([n, q]) => ({ method: 'GET', path: at('/flags', n, q), waits: true })),
  fc.tuple(coordinationName, fc.constantFrom('set', 'clear')).map(([n, verb]) => ({ method: 'POST', path: at('/flags', n, `/${verb}`) })),
  fc.tuple(fc.constantFrom('locks', 'semaphores'), coordinationName, query(['timeout']), withBody(bodies.acquire)).map(([kind, n, q, text]) => ({
    method: 'POST',
    path: at(`/${kind}`, n, `/acquire${q}`),
    body: text,
    waits: true,
    line: at(`/${kind}`, n),
  })),
  fc.tuple(fc.constantFrom('locks', 'semaphores'), coordinationName, fc.constantFrom('renew', 'release'), withBody(bodies.lease)).map(([kind, n, verb, text]) => ({
    method: 'POST',
    path: at(`/${kind}`, n, `/${verb}`),
    body: text,
  })),
  fc.tuple(fc.constantFrom('locks', 'semaphores'), coordinationName).map(([kind, n]) => ({ method: 'GET', path: at(`/${kind}`, n) })),
  fc.tuple(coordinationName, withBody(bodies.semaphoreConfig)).map(([n, text]) => ({ method: 'PUT', path: at('/semaphores', n), body: text })),
);

const route: fc.Arbitrary<Route> = fc.oneof(
  fc.record({ method: fc.constant('POST'), path: fc.constantFrom('/tasks', '/gather', '/scatter', '/futures/hold', '/futures/release', '/futures/fire-and-forget', '/auth/session') }),
  fc.record({ method: fc.constantFrom('GET', 'DELETE'), path: name.map((n) => `/futures/${encodeURIComponent(n)}`) }),
  fc.record({ method: fc.constant('GET'), path: fc.tuple(name, fc.string({ maxLength: 8 })).map(([n, q]) => `/futures/${encodeURIComponent(n)}/result?timeout=${encodeURIComponent(q)}`), waits: fc.constant(true) }),
  fc.record({ method: fc.constant('POST'), path: name.map((n) => `/futures/${encodeURIComponent(n)}/cancel`) }),
  fc.record({ method: fc.constantFrom('PUT', 'GET', 'DELETE'), path: name.map((n) => `/channels/${encodeURIComponent(n)}`) }),
  fc.record({ method: fc.constant('POST'), path: fc.tuple(name, fc.constantFrom('append', 'stop')).map(([n, verb]) => `/channels/${encodeURIComponent(n)}/${verb}`) }),
  fc.record({ method: fc.constant('GET'), path: fc.tuple(name, fc.string({ maxLength: 12 })).map(([n, q]) => `/channels/${encodeURIComponent(n)}?from=${encodeURIComponent(q)}&limit=${encodeURIComponent(q)}`) }),
  fc.record({ method: fc.constant('DELETE'), path: name.map((n) => `/clients/${encodeURIComponent(n)}`) }),
  fc.record({ method: fc.constant('GET'), path: fc.string({ maxLength: 30 }).map((q) => `/futures/events?keys=${encodeURIComponent(q)}`) }),
  { arbitrary: coordinationRoutes, weight: 8 },
);

function safeDecode(text: string): string | undefined {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}

/** Calls that wait on purpose (a get on an empty queue, an acquire of a held lock) are cut short after this long. */
const WAIT_MS = 1000;
/** Any other call taking this long counts as hung. */
const HUNG_MS = 15_000;

/**
 * A call that was cut short may still be standing in its line until the
 * scheduler sees the connection close; wait until it has left, so that it
 * cannot take something during the next request.
 */
async function lineEmpty(line: string): Promise<void> {
  await waitFor(async () => {
    const { status, body } = await http.get(line);
    if (status !== 200) return true; // unknown queue, or a bad name: nobody waits
    return (body.getters ?? 0) === 0 && (body.putters ?? 0) === 0 && (body.waiting ?? 0) === 0;
  }, `the callers cut short to leave the line of ${line}`, 15_000, 20);
}

/** The session header a request carries: mostly the fuzzer's own credential; else none, or one that must be refused (a bare id, a forged signature, noise). */
const credential = fc.oneof(
  { arbitrary: fc.constant<string | undefined>(session.session), weight: 12 },
  { arbitrary: fc.constant<string | undefined>(undefined), weight: 1 },
  { arbitrary: fc.constant<string | undefined>(session.id), weight: 1 },
  { arbitrary: fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 64, maxLength: 64 }).map((signature) => `${session.id}.${signature}`), weight: 1 },
  { arbitrary: fc.string({ maxLength: 80 }).filter((text) => /^[\x20-\x7e]*$/.test(text)), weight: 1 },
);

t.test('random and malformed HTTP requests: never a 500, and a refused request changes nothing', async (t) => {
  let requests = 0;
  let refused = 0;
  let cutShort = 0;
  const coordination = new Map<string, number>();
  await fc.assert(
    fc.asyncProperty(route, body, fc.oneof({ arbitrary: fc.constant(true), weight: 4 }, { arbitrary: fc.constant(false), weight: 1 }), credential, async (call, randomBody, json, sessionHeader) => {
      const { method, path, waits, line } = call;
      const text = call.body ?? randomBody;
      const before = await fingerprint();
      const getFrom = /^\/queues\/([^/?]+)\/get/.exec(path)?.[1];
      const queue = getFrom === undefined ? undefined : safeDecode(getFrom);
      const itemsBefore = queue === undefined ? 0 : (itemsIn.get(queue) as number);
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(), waits ? WAIT_MS : HUNG_MS);
      let response: Response;
      let answer = '';
      try {
        response = await fetch(scheduler.url + path, {
          method,
          headers: { ...(json ? { 'content-type': 'application/json' } : { 'content-type': 'text/plain' }), ...(sessionHeader === undefined ? {} : { 'sluice-client': sessionHeader }) },
          body: method === 'GET' || method === 'DELETE' ? undefined : text,
          signal: controller.signal,
        });
        // Streams that open are closed at once; an answer's body is read whole.
        if ((response.headers.get('content-type') ?? '').startsWith('text/event-stream')) controller.abort();
        else answer = await response.text();
      } catch (error) {
        if (!controller.signal.aborted) throw error;
        if (!waits) return false; // hung
        // A call that waits (nothing to get, the lock is held) was cut short: no answer to judge.
        cutShort++;
        if (line) await lineEmpty(line);
        return true;
      } finally {
        clearTimeout(timer);
      }
      requests++;
      const kind = /^\/(queues|variables|topics|flags|locks|semaphores)\b/.exec(path)?.[1];
      if (kind) coordination.set(`${kind} ${response.status}`, (coordination.get(`${kind} ${response.status}`) ?? 0) + 1);
      if (response.status >= 500) return false;
      if (queue !== undefined && response.status === 200) {
        // The items leave the store once their reply has been written, just after it: wait for that, or the next request would be blamed for it.
        const taken = (JSON.parse(answer) as { items: unknown[] }).items.length;
        await waitFor(async () => itemsIn.get(queue) === itemsBefore - taken, `the ${taken} items got from ${queue} to leave the store`, 15_000, 10);
      }
      if (response.status >= 400) {
        refused++;
        if ((await fingerprint()) !== before) return false;
      }
      return true;
    }),
    { numRuns: 1500, seed: 20261122 },
  );
  t.ok(scheduler.proc.running, `the scheduler survived ${requests} requests, ${refused} refused, ${cutShort} cut short while waiting`);
  t.comment(`coordination routes, by answer: ${JSON.stringify(Object.fromEntries([...coordination].sort()))}`);
  for (const kind of ['queues', 'variables', 'topics', 'flags', 'locks', 'semaphores']) {
    const answers = [...coordination].filter(([k]) => k.startsWith(`${kind} `));
    t.ok(answers.some(([k]) => k.endsWith(' 400')), `${kind}: some requests were refused as malformed`);
    t.ok(answers.some(([k]) => /\s2\d\d$/.test(k)), `${kind}: and some got through`);
  }
  t.equal((await http.get('/health')).status, 200);
  t.equal((await http.get('/futures/known-a/result?timeout=10')).body.result, 2, 'what was stored is intact');
  subscriber.close();
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
