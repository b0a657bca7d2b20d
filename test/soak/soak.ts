// The crash-and-check soak: clients submit tasks, append to a channel and
// read it back, put to and get from a queue and set a variable, while a
// supervisor SIGTERMs the scheduler (a drain under load) and restarts it,
// then SIGKILLs workers and SIGKILLs (or SIGTERMs) the scheduler at random
// moments, restarting it each time. After each restart the queue and variable
// clients pause while a checker drains the queue and reads the variable:
// every acknowledged put must have been got exactly once (a second delivery
// is allowed only across a kill -9: at-least-once, as documented), and the
// variable must hold the last acknowledged value. At the end a checker
// verifies that every acknowledged submission and append is there, in the
// acknowledged order, that every task finished with the right result, and
// prints a JSON summary. `npm run soak` runs it for minutes; the tests run a
// short one.
//
// With --faults 0 nothing is killed: one scheduler takes the load for the
// whole run, and rssMB.series shows whether its memory stays flat.
//
//   node --import tsx test/soak/soak.ts [--seconds 120] [--seed 1] [--faults 0]
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { Client } from '../../client/node.ts';
import { Proc, TASKS, waitFor } from '../helpers/processes.ts';

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const SECONDS = arg('seconds', 60);
const FAULTS = arg('faults', 1) !== 0;
/** A small deterministic generator, so that a failing run can be repeated. */
function generator(seed: number): () => number {
  return () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
}
/** For the load. */
const random = generator(arg('seed', 1));
/**
 * For the faults, apart: the load draws as fast as it runs, so on a shared
 * generator which faults come would depend on the machine's speed.
 */
const faultRandom = generator(arg('seed', 1) + 1);

const dir = mkdtempSync(join(tmpdir(), 'sluice-soak-'));
const db = join(dir, 'soak.db');
const agent = new Agent({ connections: 16 });
let port = 0;
let url = '';
let scheduler: Proc | undefined;
const workers: Array<Proc | undefined> = [undefined, undefined];
let stopping = false;
/** Which run of the scheduler is up: a request sent during run k can only be answered by run k. */
let run = 0;
/** How each run ended. */
const runEnded = new Map<number, 'SIGKILL' | 'SIGTERM'>();

const summary = {
  seconds: SECONDS,
  seed: arg('seed', 1),
  acknowledged: { tasks: 0, appends: 0, queueItems: 0, variableSets: 0 },
  refused: 0,
  unreachable: 0,
  faults: { workerKills: 0, schedulerKills: 0, schedulerTerms: 0 },
  readerEntries: 0,
  readerOrderViolations: 0,
  faultsInjected: FAULTS,
  /**
   * The scheduler's RSS: at its first start, the highest seen, after the
   * final checks (which read the channel back in pages of 50,000 entries),
   * and [seconds since start, MB] while the load runs (each sample is of the
   * scheduler up then, a fresh one after each restart).
   */
  rssMB: { first: 0, max: 0, last: 0, series: [] as Array<[number, number]> },
  /** Stalled readers the scheduler cut off, in all (the one of slowReaderCheck, and one per run that the load may fill). */
  slowReadersCutOff: 0,
  /** slowReaderCheck: whether the stalled reader was cut off, after how many bytes of events, holding how many unsent. */
  slowReader: { cutOff: false, eventBytes: 0, bufferedAtCut: 0 },
  /** After each restart, and at the end: the queue drained and checked, the variable read. */
  checkpoints: 0,
  queue: {
    delivered: 0,
    /** Items delivered a second time after a kill -9 that came between their delivery and its removal: allowed (at-least-once across crashes). */
    redeliveredAfterKill: 0,
    /** Items delivered twice otherwise: must be 0. */
    duplicates: 0,
    /** Acknowledged items not delivered by a checkpoint: must be 0. */
    lost: 0,
    /** Items delivered that were never put, or not as they were put: must be 0. */
    corrupted: 0,
    /** Puts that the scheduler refused or that gave up: their items must never show. */
    refusedPuts: 0,
  },
  variable: { checks: 0, wrong: 0 },
  lost: 0,
  wrongResults: 0,
  channelOrderMismatches: 0,
  unfinished: 0,
};

async function startScheduler(): Promise<void> {
  run++;
  // The soak is one caller standing in for many: without --rate-limit-per-minute 0, the checker's
  // request per acknowledged key after a long run met 429s, which it would count as lost.
  const args = ['--insecure', '--port', String(port), '--db', db, '--retention-ms', '3600000', '--shutdown-grace-ms', '2000', '--rate-limit-per-minute', '0'];
  scheduler = new Proc(['scheduler', ...args], {
    env: { SLUICE_SSE_MAX_BUFFERED_BYTES: String(SSE_MAX_BUFFERED_BYTES) },
  });
  const ready = await scheduler.waitForLog((e) => e.msg === 'sluice scheduler ready', 30_000);
  url = ready.url as string;
  port = Number(new URL(url).port);
  void stalledReader();
}

/** What the scheduler may hold unsent for one SSE reader before it cuts the reader off. */
const SSE_MAX_BUFFERED_BYTES = 64 * 1024;
/** slowReaderCheck gives up after this many bytes of events: far beyond what socket buffers hold. */
const STALL_CAP_BYTES = 64 * 1024 * 1024;

/**
 * A reader that stops reading is cut off, whatever the machine's speed: a
 * paused reader follows a channel of its own, and entries are appended to it
 * (one long key, a thousand times a request) until the scheduler says it cut
 * the reader off, or STALL_CAP_BYTES of events went to it. The socket
 * buffers on both sides take a few MB first; what the scheduler held unsent
 * when it cut must stay near its limit (one turn's frames above it).
 */
async function slowReaderCheck(): Promise<void> {
  const proc = scheduler as Proc;
  const key = `stall-${'x'.repeat(240)}`;
  if ((await call('POST', '/scatter', { data: 0, key }))?.status !== 201) throw new Error('slowReaderCheck: the scatter failed');
  const info = await call('PUT', '/channels/soak-stall', {});
  if (info?.status !== 200) throw new Error('slowReaderCheck: the channel could not be made');
  const { default: http } = await import('node:http');
  const req = http.get(`${url}/channels/soak-stall/events?from=${info.body.lastSeq + 1}`);
  req.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    req.on('response', (response) => {
      response.pause();
      response.on('error', () => undefined);
      resolve();
    });
    setTimeout(() => reject(new Error('slowReaderCheck: the stream did not start within 10 s')), 10_000).unref();
  });
  const isCut = (entry: Record<string, unknown>): boolean => entry.msg === 'SSE reader too slow, cutting it off; it resumes from its last id' && entry.kind === 'channel';
  const cut = (): Record<string, unknown> | undefined => {
    for (const line of proc.lines) {
      if (!line.includes('SSE reader too slow')) continue;
      const entry = JSON.parse(line) as Record<string, unknown>;
      if (isCut(entry)) return entry;
    }
    return undefined;
  };
  const keys = Array.from({ length: 1000 }, () => key);
  let seq = info.body.lastSeq as number;
  while (summary.slowReader.eventBytes < STALL_CAP_BYTES && !cut()) {
    const answer = await call('POST', '/channels/soak-stall/append', { keys });
    if (answer?.status !== 201) throw new Error(`slowReaderCheck: an append was answered ${answer?.status}`);
    for (const s of answer.body.seqs as number[]) {
      seq = s;
      summary.slowReader.eventBytes += `id: ${seq}\nevent: append\ndata: {"seq":${seq},"key":"${key}","status":"finished"}\n\n`.length;
    }
  }
  // The cut comes on the turn after the one that wrote past the limit.
  const entry = cut() ?? (await proc.waitForLog(isCut, 2_000).catch(() => undefined));
  req.destroy();
  summary.slowReader.cutOff = entry !== undefined;
  summary.slowReader.bufferedAtCut = Number(entry?.buffered ?? 0);
}

/** Count the slow readers a scheduler cut off before it went away. */
function countCutOffs(proc: Proc | undefined): void {
  summary.slowReadersCutOff += proc?.lines.filter((line) => line.includes('SSE reader too slow')).length ?? 0;
}

function startWorker(i: number): void {
  const proc = new Proc(['worker', '--scheduler', url, '--tasks', TASKS, '--concurrency', '16', '--name', `soak-${i}`, '--log-level', 'error']);
  workers[i] = proc;
  void proc.exited.then(() => {
    if (workers[i] === proc && !stopping) setTimeout(() => startWorker(i), 300);
  });
}

async function call(method: string, path: string, body?: unknown): Promise<{ status: number; body: any } | undefined> {
  try {
    const response = await request(url + path, {
      method: method as 'POST',
      dispatcher: agent,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      headersTimeout: 10_000,
      bodyTimeout: 10_000,
    });
    const text = await response.body.text();
    return { status: response.statusCode, body: text ? JSON.parse(text) : undefined };
  } catch {
    summary.unreachable++;
    return undefined;
  }
}

const ackedTasks = new Map<string, number>(); // key → expected result
/** The last few keys acknowledged, for appends and queue items to refer to (copying ackedTasks' keys each time costs O(n)). */
const recentTaskKeys: string[] = [];
const ackedAppends = new Map<number, string>(); // seq → key

/** Submit batches of inc(i) with caller-given keys; a retry after a lost answer submits the same keys, so nothing doubles. */
async function submitter(id: number): Promise<void> {
  let n = 0;
  while (!stopping) {
    const batch = Array.from({ length: 1 + Math.floor(random() * 20) }, () => {
      const i = n++;
      return { fn: 'inc', args: [i], key: `soak-${id}-${i}` };
    });
    for (let attempt = 0; !stopping; attempt++) {
      const answer = await call('POST', '/tasks', { tasks: batch });
      if (answer?.status === 201) {
        for (const task of batch) ackedTasks.set(task.key, (task.args[0] as number) + 1);
        recentTaskKeys.push(...batch.slice(-5).map((task) => task.key));
        recentTaskKeys.splice(0, recentTaskKeys.length - 5);
        break;
      }
      if (answer && answer.status < 500) {
        summary.refused++;
        break;
      }
      await new Promise((r) => setTimeout(r, 100 + attempt * 50));
    }
  }
}

/** Append acknowledged task keys to the channel, with an idempotency key per append so that retries do not double. */
async function appender(id: number): Promise<void> {
  let n = 0;
  while (!stopping) {
    const keys = recentTaskKeys.filter(() => random() < 0.6);
    if (keys.length === 0) {
      await new Promise((r) => setTimeout(r, 20));
      continue;
    }
    const idempotencyKey = `appender-${id}-${n++}`;
    for (let attempt = 0; !stopping; attempt++) {
      const answer = await call('POST', '/channels/soak/append', { keys, idempotencyKey });
      if (answer?.status === 201) {
        (answer.body.seqs as number[]).forEach((seq, i) => ackedAppends.set(seq, keys[i]));
        break;
      }
      if (answer && answer.status < 500) {
        summary.refused++;
        break;
      }
      await new Promise((r) => setTimeout(r, 100 + attempt * 50));
    }
  }
}

/**
 * Append long keys in bulk, so that the channel's stream carries enough for a
 * reader that stopped reading to overflow its buffer.
 */
async function bulkAppender(): Promise<void> {
  const long = 'k'.repeat(240);
  let keys: string[] | undefined;
  let n = 0;
  while (!stopping) {
    if (!keys) {
      const scattered = await call('POST', '/scatter', { data: Array.from({ length: 500 }, (_, i) => i), keys: Array.from({ length: 500 }, (_, i) => `${long}-${i}`) });
      if (scattered?.status === 201) keys = scattered.body.keys;
      else await new Promise((r) => setTimeout(r, 200));
      continue;
    }
    const idempotencyKey = `bulk-${n++}`;
    for (let attempt = 0; !stopping; attempt++) {
      const answer = await call('POST', '/channels/soak/append', { keys, idempotencyKey });
      if (answer?.status === 201) {
        (answer.body.seqs as number[]).forEach((seq, i) => ackedAppends.set(seq, (keys as string[])[i]));
        break;
      }
      if (answer && answer.status < 500) {
        summary.refused++;
        break;
      }
      await new Promise((r) => setTimeout(r, 100 + attempt * 50));
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A client iterating the channel across every restart: it must see each seq once, in order. */
async function reader(): Promise<void> {
  const client = new Client(url, { retryForMs: 3_600_000 });
  let last = 0;
  const entries = client.channel('soak').entries();
  for (;;) {
    const step = await entries.next();
    if (step.done) break;
    if (step.value.seq !== last + 1) summary.readerOrderViolations++;
    last = step.value.seq;
    summary.readerEntries++;
    step.value.future.release();
  }
  await client.close();
}

/**
 * A reader that stops reading (one per scheduler run), caught up from the
 * newest entry on: the scheduler must cut it off rather than buffer for it.
 * (A reader that stalls while replaying costs one page and simply waits.)
 */
async function stalledReader(): Promise<void> {
  const info = await call('PUT', '/channels/soak', {});
  if (info?.status !== 200) return;
  const { default: http } = await import('node:http');
  const req = http.get(`${url}/channels/soak/events?from=${info.body.lastSeq + 1}`);
  req.on('error', () => undefined);
  req.on('response', (response) => {
    response.pause();
    response.on('error', () => undefined);
  });
}

// ── queues and variables ────────────────────────────────────────────────

const QUEUE = 'soak-queue';
const VARIABLE = 'soak-variable';

/** Closed while the supervisor restarts the scheduler and checks: queue and variable clients start nothing new. */
let gate: Promise<void> | undefined;
let openGate = (): void => undefined;
const busy = new Set<string>();

/** Every item put, by id, as put, and what became of its put: acknowledged, refused, or unknown (never answered). */
const putItems = new Map<string, { json: string; put: 'pending' | 'acked' | 'refused' | 'unknown' }>();
/** Acknowledged items that a checkpoint did not find. */
const lostItems = new Set<string>();
/** Every delivery of an item: the runs that delivered it. */
const deliveries = new Map<string, number[]>();
const variableState = { lastAcked: 0, next: 1 };

/** Run one operation of a queue or variable client, unless the gate is closed (then wait for it to open first). */
async function step(client: string, op: () => Promise<void>): Promise<void> {
  while (gate) await gate;
  busy.add(client);
  try {
    await op();
  } finally {
    busy.delete(client);
  }
}

/** Retry a write (each carries what makes a retry harmless) until it is answered; undefined if it never is. */
async function untilAnswered(method: string, path: string, body: unknown, retryOn = (status: number) => status >= 500): Promise<{ status: number; body: any } | undefined> {
  for (let attempt = 0; attempt < 300; attempt++) {
    const answer = await call(method, path, body);
    if (answer && !retryOn(answer.status)) return answer;
    await new Promise((r) => setTimeout(r, Math.min(1000, 100 + attempt * 50)));
  }
  return undefined;
}

/** Put batches of numbered items (some holding a future), each put with an idempotency key, so a retry after a lost answer stores it once. */
async function queuePutter(id: number): Promise<void> {
  let n = 0;
  let puts = 0;
  while (!stopping) {
    await step(`putter-${id}`, async () => {
      const futures = recentTaskKeys.slice(-3);
      const items = Array.from({ length: 1 + Math.floor(random() * 10) }, () => {
        const i = n++;
        const future = i % 5 === 0 && futures.length > 0 ? { $future: futures[i % futures.length] } : undefined;
        return { id: `p${id}-${i}`, i, ...(future ? { future } : {}) };
      });
      for (const item of items) putItems.set(item.id, { json: JSON.stringify(item), put: 'pending' });
      // A full queue answers 408 after the timeout with nothing stored: try again, same key.
      const answer = await untilAnswered('POST', `/queues/${QUEUE}/put?timeout=2`, { items, idempotencyKey: `putter-${id}-${puts++}` }, (status) => status >= 500 || status === 408);
      const outcome = answer?.status === 201 ? 'acked' : answer ? 'refused' : 'unknown';
      for (const item of items) (putItems.get(item.id) as { put: string }).put = outcome;
      if (outcome !== 'acked') summary.queue.refusedPuts++;
    });
  }
}

/** Take items as they come; what a get answers is recorded against the run that answered it. */
async function queueGetter(id: number): Promise<void> {
  while (!stopping) {
    await step(`getter-${id}`, async () => {
      const sentIn = run;
      const answer = await call('POST', `/queues/${QUEUE}/get?batch=${1 + Math.floor(random() * 20)}&timeout=1`);
      if (answer?.status === 200) record(answer.body.items, sentIn);
    });
  }
}

function record(items: Array<{ id: string }>, inRun: number): void {
  for (const item of items) {
    const put = putItems.get(item?.id);
    if (!put || put.json !== JSON.stringify(item) || put.put === 'refused') summary.queue.corrupted++;
    const runs = deliveries.get(item?.id) ?? [];
    if (runs.length > 0) {
      // A second delivery is at-least-once only if a kill -9 came after the first one, before its removal was committed.
      const first = runs[0];
      if (runEnded.get(first) === 'SIGKILL' && inRun > first) summary.queue.redeliveredAfterKill++;
      else summary.queue.duplicates++;
    }
    runs.push(inRun);
    deliveries.set(item?.id, runs);
    summary.queue.delivered++;
  }
}

/** Set the variable to 1, 2, 3...; a set is retried until answered, so the last acknowledged value is the one stored. */
async function variableSetter(): Promise<void> {
  while (!stopping) {
    await step('setter', async () => {
      const n = variableState.next++;
      const answer = await untilAnswered('PUT', `/variables/${VARIABLE}`, { value: { n, note: 'soak' } });
      if (answer?.status === 200) {
        variableState.lastAcked = n;
        summary.acknowledged.variableSets++;
      }
    });
    await new Promise((r) => setTimeout(r, 5));
  }
}

/**
 * With the queue and variable clients paused and idle: the variable holds the
 * last acknowledged value; drain the queue; every acknowledged item has been
 * delivered (else it is lost), and no unacknowledged one that was refused.
 */
async function checkpoint(): Promise<void> {
  await waitFor(async () => busy.size === 0, 'the queue and variable clients to finish what they were doing', 120_000);
  summary.checkpoints++;
  const variable = await untilAnswered('GET', `/variables/${VARIABLE}`, undefined, (status) => status >= 500);
  summary.variable.checks++;
  const expected = variableState.lastAcked;
  if (expected === 0 ? variable?.status !== 404 : variable?.body?.value?.n !== expected || variable.body.value.note !== 'soak') {
    summary.variable.wrong++;
    process.stderr.write(`variable: expected ${expected}, found ${JSON.stringify(variable?.body)}\n`);
  }
  for (;;) {
    const sentIn = run;
    const answer = await untilAnswered('POST', `/queues/${QUEUE}/get?batch=500&timeout=0`, undefined);
    if (answer?.status !== 200) break; // 408: empty
    record(answer.body.items, sentIn);
  }
  for (const [id, item] of putItems) if (item.put === 'acked' && !deliveries.has(id)) lostItems.add(id);
  summary.queue.lost = lostItems.size;
}

function rssMB(): number {
  if (!scheduler?.running) return 0;
  try {
    const status = readFileSync(`/proc/${scheduler.pid}/status`, 'utf8');
    return Math.round(Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024);
  } catch {
    return 0;
  }
}

async function faults(until: number): Promise<void> {
  const started = Date.now();
  while (Date.now() < until) {
    await new Promise((r) => setTimeout(r, 1500 + faultRandom() * 3000));
    const sample = rssMB();
    summary.rssMB.series.push([Math.round((Date.now() - started) / 1000), sample]);
    summary.rssMB.max = Math.max(summary.rssMB.max, sample);
    if (Date.now() >= until) break;
    if (!FAULTS) continue;
    // The first fault stops the scheduler, so that even a short run drains and restarts it under load.
    const roll = summary.faults.schedulerTerms === 0 ? 1 : faultRandom();
    if (roll < 0.5) {
      const i = Math.floor(faultRandom() * workers.length);
      workers[i]?.child.kill('SIGKILL');
      summary.faults.workerKills++;
    } else {
      // The first stop is a graceful one (SIGTERM drains under load); later ones are mostly kill -9.
      const graceful = roll > 0.85;
      const proc = scheduler as Proc;
      if (graceful) summary.faults.schedulerTerms++;
      else summary.faults.schedulerKills++;
      // Queue and variable calls in flight go on (and are retried); no new one starts until the checkpoint.
      gate = new Promise((resolve) => (openGate = resolve));
      proc.child.kill(graceful ? 'SIGTERM' : 'SIGKILL');
      await proc.exited;
      runEnded.set(run, graceful ? 'SIGTERM' : 'SIGKILL');
      countCutOffs(proc);
      await new Promise((r) => setTimeout(r, faultRandom() * 1000));
      await startScheduler();
      await checkpoint();
      gate = undefined;
      openGate();
    }
  }
}

try {
  await startScheduler();
  summary.rssMB.first = rssMB();
  await slowReaderCheck();
  startWorker(0);
  startWorker(1);
  await call('PUT', '/channels/soak', {});
  await call('PUT', `/queues/${QUEUE}`, { maxsize: 300 });
  const load = [submitter(1), submitter(2), appender(1), appender(2), bulkAppender(), queuePutter(1), queuePutter(2), queueGetter(1), queueGetter(2), variableSetter()];
  const reading = reader();
  await faults(Date.now() + SECONDS * 1000);
  stopping = true;
  await Promise.all(load);
  summary.acknowledged.tasks = ackedTasks.size;
  summary.acknowledged.appends = ackedAppends.size;
  summary.acknowledged.queueItems = [...putItems.values()].filter((p) => p.put === 'acked').length;
  await checkpoint();

  // Settle: everything that was acknowledged must finish, with the right result.
  stopping = false;
  for (let i = 0; i < workers.length; i++) if (!workers[i]?.running) startWorker(i);
  const keys = [...ackedTasks.keys()];
  for (let i = 0; i < keys.length; i += 500) {
    const chunk = keys.slice(i, i + 500);
    const answer = await waitFor(async () => {
      const got = await call('POST', '/gather', { keys: chunk, timeout: 60, errors: 'skip' });
      return got?.status === 200 || got?.status === 404 ? got : undefined;
    }, 'a gather', 180_000);
    if (answer.status === 404) {
      summary.lost++;
      continue;
    }
    summary.unfinished += (answer.body.skipped ?? []).length;
    const results = answer.body.results as number[];
    const finished = chunk.filter((key) => !(answer.body.skipped ?? []).includes(key));
    finished.forEach((key, j) => {
      if (results[j] !== ackedTasks.get(key)) summary.wrongResults++;
    });
  }
  // Any key lost outright shows as 404 on its own.
  let nextKey = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (nextKey < keys.length) if ((await call('GET', `/futures/${keys[nextKey++]}`))?.status !== 200) summary.lost++;
    }),
  );

  const bySeq = new Map<number, string>();
  for (let from: number | undefined = 1; from !== undefined; ) {
    const page = await call('GET', `/channels/soak?from=${from}&limit=50000`);
    for (const f of page?.body.futures as Array<{ seq: number; key: string }>) bySeq.set(f.seq, f.key);
    from = page?.body.nextFrom;
  }
  for (const [seq, key] of ackedAppends) {
    if (!bySeq.has(seq)) summary.lost++;
    else if (bySeq.get(seq) !== key) summary.channelOrderMismatches++;
  }
  await call('POST', '/channels/soak/stop');
  await Promise.race([reading, new Promise((r) => setTimeout(r, 30_000))]);
  countCutOffs(scheduler);
  summary.rssMB.last = rssMB();
  summary.rssMB.max = Math.max(summary.rssMB.max, summary.rssMB.last);
} finally {
  stopping = true;
  for (const worker of workers) await worker?.stop('SIGKILL');
  await scheduler?.stop('SIGTERM');
  await agent.close();
  rmSync(dir, { recursive: true, force: true });
}

process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
const failures =
  summary.lost + summary.wrongResults + summary.channelOrderMismatches + summary.readerOrderViolations + summary.unfinished +
  summary.queue.lost + summary.queue.duplicates + summary.queue.corrupted + summary.variable.wrong +
  (summary.slowReader.cutOff ? 0 : 1);
process.exit(failures === 0 ? 0 : 1);
