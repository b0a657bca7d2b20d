// The crash-and-check soak: clients submit tasks, append to a channel and
// read it back while a supervisor SIGKILLs workers and SIGKILLs (or SIGTERMs)
// the scheduler at random moments and restarts it. Then a checker verifies
// that every acknowledged submission and append is there, in the acknowledged
// order, that every task finished with the right result, and prints a JSON
// summary. `npm run soak` runs it for minutes; the tests run a short one.
//
//   node --import tsx test/soak/soak.ts [--seconds 120] [--seed 1]
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
let seed = arg('seed', 1);
/** A small deterministic generator, so that a failing run can be repeated. */
const random = (): number => {
  seed = (seed * 1103515245 + 12345) % 2 ** 31;
  return seed / 2 ** 31;
};

const dir = mkdtempSync(join(tmpdir(), 'sluice-soak-'));
const db = join(dir, 'soak.db');
const agent = new Agent({ connections: 16 });
let port = 0;
let url = '';
let scheduler: Proc | undefined;
const workers: Array<Proc | undefined> = [undefined, undefined];
let stopping = false;

const summary = {
  seconds: SECONDS,
  seed: arg('seed', 1),
  acknowledged: { tasks: 0, appends: 0 },
  refused: 0,
  unreachable: 0,
  faults: { workerKills: 0, schedulerKills: 0, schedulerTerms: 0 },
  readerEntries: 0,
  readerOrderViolations: 0,
  rssMB: { first: 0, max: 0, last: 0 },
  slowReadersCutOff: 0,
  lost: 0,
  wrongResults: 0,
  channelOrderMismatches: 0,
  unfinished: 0,
};

async function startScheduler(): Promise<void> {
  scheduler = new Proc(['scheduler', '--insecure', '--port', String(port), '--db', db, '--retention-ms', '3600000', '--shutdown-grace-ms', '2000'], {
    env: { SLUICE_SSE_MAX_BUFFERED_BYTES: String(64 * 1024) },
  });
  const ready = await scheduler.waitForLog((e) => e.msg === 'sluice scheduler ready', 30_000);
  url = ready.url as string;
  port = Number(new URL(url).port);
  void stalledReader();
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
    const keys = [...ackedTasks.keys()].slice(-5).filter(() => random() < 0.6);
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
  while (Date.now() < until) {
    await new Promise((r) => setTimeout(r, 1500 + random() * 3000));
    if (Date.now() >= until) break;
    const roll = random();
    if (roll < 0.5) {
      const i = Math.floor(random() * workers.length);
      workers[i]?.child.kill('SIGKILL');
      summary.faults.workerKills++;
    } else {
      // The first stop is a graceful one (SIGTERM drains under load); later ones are mostly kill -9.
      const graceful = roll > 0.85 || summary.faults.schedulerTerms === 0;
      const proc = scheduler as Proc;
      if (graceful) summary.faults.schedulerTerms++;
      else summary.faults.schedulerKills++;
      proc.child.kill(graceful ? 'SIGTERM' : 'SIGKILL');
      await proc.exited;
      countCutOffs(proc);
      await new Promise((r) => setTimeout(r, random() * 1000));
      await startScheduler();
    }
    const rss = rssMB();
    summary.rssMB.max = Math.max(summary.rssMB.max, rss);
  }
}

try {
  await startScheduler();
  summary.rssMB.first = rssMB();
  startWorker(0);
  startWorker(1);
  await call('PUT', '/channels/soak', {});
  const load = [submitter(1), submitter(2), appender(1), appender(2), bulkAppender()];
  const reading = reader();
  await faults(Date.now() + SECONDS * 1000);
  stopping = true;
  await Promise.all(load);
  summary.acknowledged = { tasks: ackedTasks.size, appends: ackedAppends.size };

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
  for (const key of keys) if ((await call('GET', `/futures/${key}`))?.status !== 200) summary.lost++;

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
process.exit(summary.lost + summary.wrongResults + summary.channelOrderMismatches + summary.readerOrderViolations + summary.unfinished === 0 ? 0 : 1);
