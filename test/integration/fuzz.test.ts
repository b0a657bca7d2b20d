// Property-based fuzzing (fast-check) of every route, of the worker protocol
// and of WebSocket upgrades: random, malformed and hostile input never gets a
// 500, never crashes the scheduler, and a rejected request changes nothing
// stored; a hostile worker's reports end only its own tasks, with nothing
// invalid stored; refused upgrades leave no socket behind.
import { createHash } from 'node:crypto';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import t from 'tap';
import { api, createSession, readSse, startScheduler, startWorker } from '../helpers/cluster.ts';
import { waitFor } from '../helpers/processes.ts';
import { openFds, openWebSocket, RawWorker, rawUpgrade } from '../helpers/sockets.ts';

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
      const socket = await openWebSocket(`${scheduler.url.replace('http', 'ws')}/ws/worker`);
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

t.test('hostile worker reports: no crash, no 500, nothing invalid stored, another worker’s task untouched', async (t) => {
  let reporter = await RawWorker.connect(scheduler.url, { name: 'fuzz-reporter', functions: ['fuzzReport'], concurrency: 10_000, teardown: t });
  const bystander = await RawWorker.connect(scheduler.url, { name: 'fuzz-bystander', functions: ['fuzzBystander'], teardown: t });
  const theirs = await http.post('/tasks', { fn: 'fuzzBystander', key: 'bystander-task' });
  t.equal(theirs.status, 201);
  const theirRun = await bystander.run('bystander-task');
  const finishedRowsValid = db.prepare("SELECT count(*) FROM tasks WHERE status = 'finished' AND (result IS NULL OR NOT json_valid(result))").pluck();

  const nested = (levels: number, open: string, inner: string, close: string): string => open.repeat(levels) + inner + close.repeat(levels);
  const resultText = fc.oneof(
    fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
    fc.string({ maxLength: 40 }),
    fc.constantFrom('1,"status":"error","injected":true', '"a"}', ']', '', ' ', '1 2', '{"a":1}{', 'null,"x":1', '\u0000', 'NaN', '{"__proto__":{"x":1}}', '"\\ud800"', '01', '[1,]'),
    fc.constantFrom(64, 65, 1000, 200_000).map((n) => nested(n, '[', '', ']')),
    fc.constantFrom(64, 65, 3000).map((n) => nested(n, '{"a":', '1', '}')),
  );
  const errorInfo = fc.oneof(
    fc.record({ name: fc.string({ maxLength: 20 }), message: fc.string({ maxLength: 50 }), traceback: fc.string({ maxLength: 50 }) }),
    fc.record({ name: fc.string({ maxLength: 10 }), message: fc.string(), traceback: fc.constant(''), key: fc.constantFrom('bystander-task', 'known-a', 'x y') }),
    fc.record({ name: fc.constant('n'.repeat(1100)), message: fc.constant(''), traceback: fc.constant('') }),
    fc.jsonValue({ maxDepth: 2 }),
  );
  // Mostly well-formed reports about the right task (what a bad result does), and some of every other kind.
  const often = <T,>(usual: T, ...rare: T[]): fc.Arbitrary<T> => fc.oneof({ arbitrary: fc.constant(usual), weight: 3 * rare.length }, { arbitrary: fc.constantFrom(...rare), weight: rare.length });
  const hostile = fc.record({
    target: often('own', 'bystander', 'unknown', 'not a key'),
    attempt: often<string | number>('right', 'next', 0, -1, 2 ** 53, '1', 1.5),
    status: often('finished', 'error', 'error', 'x'),
    result: resultText,
    error: errorInfo,
    extra: fc.option(fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 2 }), { nil: undefined }),
    topExtra: often(false, true),
  });

  let ended = 0;
  let closed = 0;
  await fc.assert(
    fc.asyncProperty(hostile, async (report) => {
      const submitted = await http.post('/tasks', { tasks: [{ fn: 'fuzzReport', pure: false }] });
      if (submitted.status !== 201) return false;
      const key = submitted.body.keys[0] as string;
      const dependant = await http.post('/tasks', { fn: 'echo', args: [{ $future: key }], pure: false });
      if (dependant.status !== 201) return false;
      const run = await reporter.run(key);
      const item: Record<string, unknown> = {
        key: { own: key, bystander: 'bystander-task', unknown: 'no-such-task-here', 'not a key': 'not a key' }[report.target],
        attempt: report.attempt === 'right' ? run.attempt : report.attempt === 'next' ? run.attempt + 1 : report.attempt,
        status: report.status,
        ...(report.status === 'error' ? { error: report.error } : { result: report.result }),
        ...report.extra,
      };
      reporter.send({ type: 'report', items: [item], ...(report.topExtra ? { extra: 1 } : {}) });

      // Wait until the task ends, the socket closes, or a moment passes (an ignored report changes nothing).
      const socketClosed = await Promise.race([reporter.closed.then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 20))]);
      const deadline = Date.now() + (report.target === 'own' && report.attempt === 'right' ? 5000 : 200);
      let info: Answer;
      for (;;) {
        info = await rawAnswer(`/futures/${key}`);
        if (info.status !== 200 || info.json === undefined) return false;
        if (info.json.status !== 'pending' || socketClosed || Date.now() > deadline) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      if (!scheduler.proc.running) return false;

      const status = info.json.status as string;
      if (status !== 'pending') {
        ended++;
        const outcome = await rawAnswer(`/futures/${key}/result?timeout=0`);
        if (outcome.status !== 200 || outcome.json === undefined) return false;
        if (status === 'finished') {
          // Only a well-formed JSON value within the limits is stored, and it comes back as it was.
          let sent: unknown;
          try {
            sent = JSON.parse(report.result);
          } catch {
            return false;
          }
          if (report.result.includes('['.repeat(65)) || report.result.includes('{"a":'.repeat(65))) return false;
          if (JSON.stringify(outcome.json.result) !== JSON.stringify(sent)) return false;
        } else if (status === 'error' && report.status === 'finished') {
          if (!['BadResult', 'ResultTooDeep', 'ResultTooLarge'].includes(outcome.json.error?.name)) return false;
          if (!/worker fuzz-reporter \(w-[0-9a-f]+\)/.test(outcome.json.error.message)) return false;
        }
        if (status === 'error' && 'key' in outcome.json.error) return false; // a worker cannot say another task raised
        // Its dependant follows: it errs with it, or runs on the real worker.
        const after = await http.get(`/futures/${dependant.body.key}/result?timeout=20`);
        if (after.status !== 200 || (status !== 'finished' && after.body.status !== status)) return false;
      }
      const bystanderNow = (await http.get('/futures/bystander-task')).body;
      if (bystanderNow.state !== 'processing' || bystanderNow.worker !== 'fuzz-bystander' || bystanderNow.attempt !== theirRun.attempt) return false;
      if (finishedRowsValid.get() !== 0) return false;

      if (socketClosed || (await Promise.race([reporter.closed.then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 0))]))) {
        closed++;
        reporter = await RawWorker.connect(scheduler.url, { name: 'fuzz-reporter', functions: ['fuzzReport'], concurrency: 10_000, teardown: t });
      }
      return true;
    }),
    { numRuns: 150, seed: 20261130 },
  );
  t.ok(ended > 30 && closed > 5, `${ended} tasks ended by a hostile report, ${closed} sockets closed for a malformed one`);
  t.ok(scheduler.proc.running, 'the scheduler survived');
  t.equal(finishedRowsValid.get(), 0, 'every finished result stored is JSON');
  bystander.finish(theirRun, '"done"');
  t.match((await http.get('/futures/bystander-task/result?timeout=10')).body, { status: 'finished', result: 'done' }, 'the bystander’s own report counts');
  const { body } = await http.post('/tasks', { fn: 'inc', args: [41], pure: false });
  t.equal((await http.get(`/futures/${body.key}/result?timeout=20`)).body.result, 42, 'and real workers still run tasks');
});

t.test('hostile WebSocket upgrades: each closes, the descriptors stay flat, the scheduler serves', async (t) => {
  const CLIENT = 'fuzz-client-token-00000000';
  const WORKER = 'fuzz-worker-token-00000000';
  const ADMIN = 'fuzz-admin-token-000000000';
  const guarded = await startScheduler(t, { insecure: false, args: ['--client-token', CLIENT, '--worker-token', WORKER, '--admin-token', ADMIN] });
  const baseline = openFds(guarded.proc.pid);
  const header = fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,12}$/);
  const upgrade = fc.record({
    path: fc.oneof(
      { arbitrary: fc.constant('/ws/worker'), weight: 4 },
      { arbitrary: fc.constantFrom('/ws/nothing', '/health', '/tasks', '/ws/worker?x=1', '//ws/worker', '/ws/worker/', '/ws/worker?access_token=' + CLIENT), weight: 2 },
      { arbitrary: fc.string({ maxLength: 20 }).map((s) => `/${encodeURIComponent(s)}`), weight: 1 },
    ),
    token: fc.constantFrom(undefined, CLIENT, WORKER, ADMIN, 'not-a-token-of-ours-0000', ''),
    upgrade: fc.constantFrom('websocket', 'WebSocket', 'h2c', 'websocket, foo', undefined),
    connection: fc.constantFrom('Upgrade', 'keep-alive, Upgrade', 'keep-alive', 'close', undefined),
    key: fc.constantFrom('dGhlIHNhbXBsZSBub25jZQ==', '', 'short', 'x'.repeat(100), undefined),
    version: fc.constantFrom('13', '8', '', 'abc', undefined),
    extra: fc.array(fc.tuple(header, fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom('\u0000', '\r', 'é', 'a\nb'))), { maxLength: 3 }),
    junk: fc.option(fc.string({ maxLength: 40 }), { nil: undefined }),
  });
  let refused = 0;
  let upgraded = 0;
  await fc.assert(
    fc.asyncProperty(upgrade, async (u) => {
      const headers: Record<string, string> = { host: 'localhost' };
      if (u.connection !== undefined) headers.connection = u.connection;
      if (u.upgrade !== undefined) headers.upgrade = u.upgrade;
      if (u.key !== undefined) headers['sec-websocket-key'] = u.key;
      if (u.version !== undefined) headers['sec-websocket-version'] = u.version;
      if (u.token !== undefined) headers.authorization = `Bearer ${u.token}`;
      for (const [name, value] of u.extra) headers[`x-${name}`] = value;
      const request = `GET ${u.path} HTTP/1.1\r\n${Object.entries(headers)
        .map(([k, v]) => `${k}: ${v}`)
        .join('\r\n')}\r\n\r\n${u.junk ?? ''}`;
      const answer = await rawUpgrade(guarded.port, request, 500);
      if (answer.status >= 500) return false;
      if (answer.status === 101) upgraded++;
      // Node treats it as an upgrade when both headers ask for one: refused, the scheduler must close it itself.
      const isUpgrade = u.upgrade !== undefined && /upgrade/i.test(u.connection ?? '');
      if (isUpgrade && answer.status >= 400) {
        refused++;
        if (!answer.closedByServer) return false;
      }
      return true;
    }),
    { numRuns: 250, seed: 20261130 },
  );
  t.ok(refused > 50 && upgraded > 0, `${refused} upgrades refused, each closed by the scheduler; ${upgraded} completed (and closed from here)`);
  await waitFor(() => openFds(guarded.proc.pid) <= baseline + 10, `the descriptors to come back near ${baseline}`, 15_000, 100).catch(() => undefined);
  t.ok(openFds(guarded.proc.pid) <= baseline + 10, `${openFds(guarded.proc.pid)} descriptors open after the fuzzing, ${baseline} before`);
  t.ok(guarded.proc.running, 'the scheduler survived');
  t.equal((await api(guarded.url, { authorization: `Bearer ${CLIENT}` }).get('/workers')).status, 200, 'and serves');
  const worker = await RawWorker.connect(guarded.url, { token: WORKER, name: 'after-the-fuzz', functions: ['inc'], teardown: t });
  t.ok(worker.id, 'a worker with its token still joins');
});

interface Answer {
  status: number;
  json: any;
}

/** An answer's status, and its body if it is JSON (undefined if it is not). */
async function rawAnswer(path: string): Promise<Answer> {
  const response = await fetch(scheduler.url + path, { headers: { 'sluice-client': 'fuzz-client-0001' } });
  const text = await response.text();
  try {
    return { status: response.status, json: JSON.parse(text) };
  } catch {
    return { status: response.status, json: undefined };
  }
}
