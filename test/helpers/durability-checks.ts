// Checks of what survives kill -9 of the scheduler, run against each store (a SQLite file, a PostgreSQL database).
import type { Test } from 'tap';
import { api, createSession, startScheduler, startWorker } from './cluster.ts';
import { waitFor } from './processes.ts';

// A short retention, so that only holds can explain a result still being there after a while.
const SHORT_RETENTION = { args: ['--retention-ms', '300'], env: { SLUICE_SWEEP_INTERVAL_MS: '50' } };

/** Every acknowledged submission of a burst cut by kill -9 is there after the restart. */
export async function submissionsSurviveKill(t: Test, db: string): Promise<void> {
  const first = await startScheduler(t, { db });
  const acknowledged: string[] = [];
  let failures = 0;
  const burst = Array.from({ length: 400 }, async (_, i) => {
    try {
      const response = await fetch(`${first.url}/tasks`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ fn: 'inc', args: [i], key: `burst-${i}` }),
      });
      if (response.status === 201) acknowledged.push(((await response.json()) as { key: string }).key);
    } catch {
      failures++;
    }
  });
  await waitFor(() => acknowledged.length >= 50, 'the first acknowledgements');
  first.proc.child.kill('SIGKILL');
  await Promise.all(burst);
  t.ok(acknowledged.length >= 50, `${acknowledged.length} acknowledged, ${failures} cut off`);

  const second = await startScheduler(t, { db, port: first.port });
  const http = api(second.url);
  const missing: string[] = [];
  // A scheduler just restarted on a loaded machine may shed load (503, retry): only an answer about the key counts.
  const statusOf = (key: string): Promise<number> =>
    waitFor(async () => {
      const { status } = await http.get(`/futures/${key}`);
      return status === 503 ? undefined : status;
    }, `an answer about ${key} other than 503`);
  for (const key of acknowledged) if ((await statusOf(key)) !== 200) missing.push(key);
  t.same(missing, [], 'no acknowledged task is missing');
}

/** Every acknowledged write of every primitive (queues, variables, flags, locks, semaphores, the futures they hold) is there after kill -9. */
export async function primitivesSurviveKill(t: Test, db: string): Promise<void> {
  const first = await startScheduler(t, { db, ...SHORT_RETENTION });
  const curl = api(first.url);
  const worker = await startWorker(t, first.url);
  await curl.post('/tasks', { fn: 'inc', args: [41], key: 'durable-done' });
  t.equal((await curl.get('/futures/durable-done/result?timeout=10')).body.result, 42);
  await worker.stop('SIGKILL');

  // A pending task that only the queue holds: its submitter's session lets go of it.
  const session = api(first.url, (await createSession(first.url)).headers);
  await session.post('/tasks', { fn: 'inc', args: [99], key: 'durable-pending' });
  t.equal((await session.put('/queues/durable', { maxsize: 10 })).status, 200);
  t.same((await session.post('/queues/durable/put', { items: ['taken before the kill', { n: 1 }, { $future: 'durable-done' }, { $future: 'durable-pending' }, 'last'] })).body, { size: 5 });
  await session.post('/futures/release', { keys: ['durable-pending'] });
  t.match((await curl.get('/futures/durable-pending')).body, { status: 'pending' }, 'the queue holds it');
  t.same((await curl.post('/queues/durable/get')).body, { items: ['taken before the kill'] });
  t.equal((await curl.get('/queues/durable')).body.size, 4);

  await curl.put('/variables/durable-future', { value: { $future: 'durable-done' } });
  await curl.put('/variables/durable-plain', { value: { list: [1, 2, 3] } });
  await curl.post('/flags/durable-flag/set');
  await curl.post('/flags/cleared-flag/set');
  await curl.post('/flags/cleared-flag/clear');
  const lock = (await curl.post('/locks/durable-lock/acquire', { ttlMs: 60_000, holder: 'before the kill' })).body;
  t.equal(lock.token, 1);
  await curl.post('/semaphores/durable-sem/acquire', { maxLeases: 2 });
  await curl.post('/topics/durable-topic/publish', { message: 'not persisted' });

  await first.proc.stop('SIGKILL');
  const second = await startScheduler(t, { db, port: first.port, ...SHORT_RETENTION });
  const again = api(second.url);
  await new Promise((r) => setTimeout(r, 800)); // past the retention: whatever is still there is held

  t.match((await again.get('/queues/durable')).body, { name: 'durable', size: 4, maxsize: 10 }, 'items and maxsize');
  t.equal((await again.get('/futures/durable-done')).body.result, 42, 'a result held by the queue and a variable outlives the retention');
  t.match((await again.get('/futures/durable-pending')).body, { status: 'pending' }, 'the pending task held by the queue was restored');
  await startWorker(t, second.url);
  t.equal((await again.get('/futures/durable-pending/result?timeout=20')).body.result, 100, 'and runs once a worker joins');
  t.same((await again.post('/queues/durable/get?batch=10')).body.items, [{ n: 1 }, { $future: 'durable-done' }, { $future: 'durable-pending' }, 'last'], 'in order; the taken item did not come back');

  t.same((await again.get('/variables/durable-future')).body.value, { $future: 'durable-done' });
  t.same((await again.get('/variables/durable-plain')).body.value, { list: [1, 2, 3] });
  t.same((await again.get('/flags/durable-flag')).body, { name: 'durable-flag', set: true });
  t.same((await again.get('/flags/cleared-flag')).body, { name: 'cleared-flag', set: false });

  t.match((await again.get('/locks/durable-lock')).body, { leases: [{ token: 1, holder: 'before the kill' }], lastToken: 1 }, 'the lease is still held');
  t.equal((await again.post('/locks/durable-lock/acquire?timeout=0')).status, 408);
  t.equal((await again.post('/locks/durable-lock/renew', { leaseId: lock.leaseId })).status, 200, 'its holder can renew it');
  t.equal((await again.post('/locks/durable-lock/release', { leaseId: lock.leaseId })).status, 204);
  t.equal((await again.post('/locks/durable-lock/acquire')).body.token, 2, 'fencing tokens carry on from where they were');
  t.match((await again.get('/semaphores/durable-sem')).body, { maxLeases: 2, lastToken: 1, leases: [{ token: 1 }] });
  t.same((await again.get('/topics/durable-topic')).body, { name: 'durable-topic', subscribers: 0, lastSeq: 0 }, 'topics are not persisted');
}

/** Every acknowledged put of a burst cut by kill -9 is there after the restart, once, in order. */
export async function putsSurviveKill(t: Test, db: string): Promise<void> {
  const first = await startScheduler(t, { db });
  const acknowledged: Array<{ p: number; i: number }> = [];
  let cutOff = 0;
  const putters = Array.from({ length: 10 }, async (_, p) => {
    for (let i = 0; ; i++) {
      try {
        const answer = await fetch(`${first.url}/queues/burst/put`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ item: { p, i } }),
        });
        if (answer.status !== 201) throw new Error(`status ${answer.status}`);
        acknowledged.push({ p, i });
      } catch {
        cutOff++;
        return;
      }
    }
  });
  await waitFor(() => acknowledged.length >= 300, 'some acknowledged puts');
  first.proc.child.kill('SIGKILL');
  await Promise.all(putters);
  t.ok(cutOff > 0, `killed mid-burst: ${acknowledged.length} puts acknowledged`);

  const second = await startScheduler(t, { db, port: first.port });
  const items = (await api(second.url).post('/queues/burst/get?batch=10000&timeout=0')).body.items as Array<{ p: number; i: number }>;
  const seen = new Set(items.map((item) => `${item.p}:${item.i}`));
  t.equal(seen.size, items.length, 'no item twice');
  t.same(acknowledged.filter(({ p, i }) => !seen.has(`${p}:${i}`)), [], `all ${acknowledged.length} acknowledged puts are there`);
  for (let p = 0; p < 10; p++) {
    const mine = items.filter((item) => item.p === p).map((item) => item.i);
    t.same(mine, Array.from({ length: mine.length }, (_, i) => i), `putter ${p}'s items in the order it put them`);
  }
}

/**
 * Channel appends and variable sets from several callers at once, cut by kill -9: every
 * acknowledged append is in its channel after the restart, in order, and every variable holds
 * its last acknowledged value or one set after it (a set cut off may have landed).
 */
export async function appendsAndSetsSurviveKill(t: Test, db: string): Promise<void> {
  const first = await startScheduler(t, { db });
  const appended: string[][] = Array.from({ length: 4 }, () => []);
  const lastSet: number[] = Array.from({ length: 4 }, () => -1);
  let cutOff = 0;
  const post = (path: string, method: string, body: unknown): Promise<Response> =>
    fetch(`${first.url}${path}`, { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const appenders = appended.map(async (mine, p) => {
    for (let i = 0; ; i++) {
      try {
        const answer = await post(`/channels/burst-${p}/append`, 'POST', { tasks: [{ fn: 'inc', args: [i], key: `burst-${p}-${i}`, pure: false }] });
        if (answer.status !== 201) throw new Error(`status ${answer.status}`);
        mine.push(`burst-${p}-${i}`);
      } catch {
        cutOff++;
        return;
      }
    }
  });
  const setters = lastSet.map(async (_, p) => {
    for (let i = 0; ; i++) {
      try {
        const answer = await post(`/variables/burst-${p}`, 'PUT', { value: { i } });
        if (answer.status !== 200 && answer.status !== 204) throw new Error(`status ${answer.status}`);
        lastSet[p] = i;
      } catch {
        cutOff++;
        return;
      }
    }
  });
  await waitFor(() => appended.every((mine) => mine.length >= 20) && lastSet.every((i) => i >= 20), 'some acknowledged appends and sets', 30_000);
  first.proc.child.kill('SIGKILL');
  await Promise.all([...appenders, ...setters]);
  t.ok(cutOff > 0, `killed mid-burst: ${appended.flat().length} appends and ${lastSet.reduce((a, b) => a + b + 1, 0)} sets acknowledged`);

  const second = await startScheduler(t, { db, port: first.port });
  const http = api(second.url);
  for (const [p, mine] of appended.entries()) {
    const { body } = await http.get(`/channels/burst-${p}?limit=100000`);
    const keys = (body.futures as Array<{ key: string }>).map((f) => f.key);
    t.same(keys.slice(0, mine.length), mine, `channel ${p}: all ${mine.length} acknowledged appends, in order`);
  }
  for (const [p, last] of lastSet.entries()) {
    const { body } = await http.get(`/variables/burst-${p}`);
    t.ok((body.value as { i: number }).i >= last, `variable ${p} holds ${JSON.stringify(body.value)}, its last acknowledged set was ${last}`);
  }
}

/**
 * Writes of every kind from callers given several scheduler URLs, that follow the leader: a
 * caller whose request fails (the connection refused or cut) or is answered 503
 * SLUICE_ERR_STANDBY tries the leader named, or the next URL. Every attempt is a new write (a
 * new key, item or value), so that a write cut off, which may or may not have landed, is never
 * taken for an acknowledged one. `acked` keeps what was acknowledged, and when.
 */
export interface FailoverBurst {
  /** Task keys whose submission was acknowledged (201). */
  submissions: string[];
  /** Per channel `failover-<c>`: the keys whose append was acknowledged, in order. */
  appends: string[][];
  /** Per putter p: the items { p, i } whose put to queue `failover` was acknowledged, in order. */
  puts: Array<Array<{ p: number; i: number }>>;
  /** Fencing tokens of acquisitions acknowledged, in the order they were made, per lock / semaphore. */
  lockTokens: number[];
  semaphoreTokens: number[];
  /** performance.now() of every acknowledged write. */
  ackTimes: number[];
  /** Requests that failed or were refused (not acknowledged). */
  refused: number;
  /** Stop the writers; resolves once they have. */
  stop(): Promise<void>;
  /** The first acknowledged write after `since` (performance.now()), or undefined. */
  firstAckAfter(since: number): number | undefined;
}

export function startFailoverBurst(urls: readonly string[], { channels = 2, putters = 4, submitters = 2 } = {}): FailoverBurst {
  let stopping = false;
  let current = 0;
  const burst: FailoverBurst = {
    submissions: [],
    appends: Array.from({ length: channels }, () => []),
    puts: Array.from({ length: putters }, () => []),
    lockTokens: [],
    semaphoreTokens: [],
    ackTimes: [],
    refused: 0,
    stop: async () => {
      stopping = true;
      await Promise.all(writers);
    },
    firstAckAfter: (since) => burst.ackTimes.filter((at) => at > since).sort((a, b) => a - b)[0],
  };
  /** One attempt at the leader as last known; moves on when it is not the leader (any more). */
  const send = async (method: string, path: string, body: unknown): Promise<{ status: number; body: any } | undefined> => {
    const url = urls[current];
    try {
      const answer = await fetch(`${url}${path}`, {
        method,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(20_000),
      });
      const text = await answer.text();
      const parsed = text ? JSON.parse(text) : undefined;
      if (answer.status === 503 && parsed?.error?.code === 'SLUICE_ERR_STANDBY') {
        const leader = urls.indexOf(parsed.error.details?.leader);
        if (current === urls.indexOf(url)) current = leader >= 0 ? leader : (current + 1) % urls.length;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      return { status: answer.status, body: parsed };
    } catch {
      if (urls[current] === url) current = (current + 1) % urls.length;
      await new Promise((resolve) => setTimeout(resolve, 50));
      return undefined;
    }
  };
  const acknowledged = (answer: { status: number } | undefined, ...ok: number[]): boolean => {
    if (answer && ok.includes(answer.status)) {
      burst.ackTimes.push(performance.now());
      return true;
    }
    burst.refused++;
    return false;
  };
  const loop = async (write: (i: number) => Promise<void>): Promise<void> => {
    for (let i = 0; !stopping; i++) await write(i);
  };
  const writers = [
    ...Array.from({ length: submitters }, (_, s) =>
      loop(async (i) => {
        const key = `failover-sub-${s}-${i}`;
        if (acknowledged(await send('POST', '/tasks', { fn: 'inc', args: [i], key, pure: false }), 201)) burst.submissions.push(key);
      }),
    ),
    ...burst.appends.map((mine, c) =>
      loop(async (i) => {
        const key = `failover-ch-${c}-${i}`;
        if (acknowledged(await send('POST', `/channels/failover-${c}/append`, { tasks: [{ fn: 'inc', args: [i], key, pure: false }] }), 201)) mine.push(key);
      }),
    ),
    ...burst.puts.map((mine, p) =>
      loop(async (i) => {
        if (acknowledged(await send('POST', '/queues/failover/put', { item: { p, i } }), 201)) mine.push({ p, i });
      }),
    ),
    loop(async () => {
      const answer = await send('POST', '/locks/failover-lock/acquire?timeout=10', { ttlMs: 3000 });
      if (!acknowledged(answer, 200, 201)) return;
      burst.lockTokens.push(answer?.body.token);
      await send('POST', '/locks/failover-lock/release', { leaseId: answer?.body.leaseId });
    }),
    loop(async () => {
      const answer = await send('POST', '/semaphores/failover-sem/acquire?timeout=10', { maxLeases: 2, ttlMs: 3000 });
      if (!acknowledged(answer, 200, 201)) return;
      burst.semaphoreTokens.push(answer?.body.token);
      await send('POST', '/semaphores/failover-sem/release', { leaseId: answer?.body.leaseId });
    }),
  ];
  return burst;
}

/** Every write a FailoverBurst saw acknowledged is there on the scheduler at `url`, in order; fencing tokens only went up. */
export async function checkFailoverBurst(t: Test, url: string, burst: FailoverBurst): Promise<void> {
  const http = api(url);
  const statusOf = (key: string): Promise<number> =>
    waitFor(async () => {
      const { status } = await http.get(`/futures/${key}`);
      return status === 503 ? undefined : status;
    }, `an answer about ${key} other than 503`);
  const missing: string[] = [];
  for (const key of burst.submissions) if ((await statusOf(key)) !== 200) missing.push(key);
  t.same(missing, [], `all ${burst.submissions.length} acknowledged submissions are there`);

  for (const [c, mine] of burst.appends.entries()) {
    const { body } = await http.get(`/channels/failover-${c}?limit=100000`);
    const keys = (body.futures as Array<{ key: string }>).map((f) => f.key);
    const at = new Map(keys.map((key, index) => [key, index]));
    t.same(mine.filter((key) => !at.has(key)), [], `channel ${c}: all ${mine.length} acknowledged appends are there`);
    const positions = mine.map((key) => at.get(key) as number);
    t.ok(positions.every((p, i) => i === 0 || p > positions[i - 1]), `channel ${c}: in the order they were acknowledged`);
    t.equal(new Set(keys).size, keys.length, `channel ${c}: no key twice`);
  }

  const taken = await waitFor(async () => {
    const answer = await http.post('/queues/failover/get?batch=10000&timeout=0');
    if (answer.status === 503) return undefined;
    if (answer.status !== 200) throw new Error(`the queue's items: ${answer.status} ${JSON.stringify(answer.body)}`);
    return answer.body;
  }, 'the queue items');
  const items = taken.items as Array<{ p: number; i: number }>;
  t.equal(new Set(items.map(({ p, i }) => `${p}:${i}`)).size, items.length, 'no queue item twice');
  for (const [p, mine] of burst.puts.entries()) {
    const theirs = items.filter((item) => item.p === p).map((item) => item.i);
    const present = new Set(theirs);
    t.same(mine.filter(({ i }) => !present.has(i)), [], `putter ${p}: all ${mine.length} acknowledged puts are there`);
    t.ok(theirs.every((i, n) => n === 0 || i > theirs[n - 1]), `putter ${p}: its items in the order it put them`);
  }

  const increasing = (tokens: number[]): boolean => tokens.every((token, n) => n === 0 || token > tokens[n - 1]);
  t.ok(burst.lockTokens.length > 0 && increasing(burst.lockTokens), `lock fencing tokens strictly increase: ${burst.lockTokens.length} acquisitions, last ${burst.lockTokens.at(-1)}`);
  t.ok(burst.semaphoreTokens.length > 0 && increasing(burst.semaphoreTokens), `semaphore fencing tokens strictly increase: ${burst.semaphoreTokens.length} acquisitions, last ${burst.semaphoreTokens.at(-1)}`);
}
