// The dashboard in a real browser (Debian's chromium, driven by playwright-core),
// the /events firehose it reads, /metrics and /docs.
import { existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Page } from 'playwright-core';
import { isDeepStrictEqual } from 'node:util';
import t, { type Test } from 'tap';
import { FirehoseFrames, type FirehoseEvent, type TaskProgress } from '../../schemas/firehose.ts';
import { api, readSse, startScheduler, startWorker, tempDir } from '../helpers/cluster.ts';
import { waitFor } from '../helpers/processes.ts';

const CHROMIUM = process.env.SLUICE_CHROMIUM ?? '/usr/bin/chromium';
/** Screenshots to look at; not kept in the repository. */
const SCREENSHOTS = process.env.SLUICE_SCREENSHOTS ?? join(tmpdir(), 'sluice-dashboard-screenshots');
const BROWSER_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** Each frame as its schema in schemas/firehose.ts describes it: it parses, and the schema names every field (zod drops the others). */
function checkFrames(t: Test, events: Array<{ event?: string; data: string }>): void {
  t.ok(events.length > 0, 'frames to check');
  for (const e of events) {
    const schema = FirehoseFrames[e.event as FirehoseEvent];
    if (!schema) {
      t.fail(`event ${e.event} has no schema in schemas/firehose.ts`);
      continue;
    }
    const data = JSON.parse(e.data);
    const parsed = schema.safeParse(data);
    if (!parsed.success) t.fail(`${e.event} frame does not match its schema: ${parsed.error.message}`, { data });
    else if (!isDeepStrictEqual(parsed.data, data)) t.same(parsed.data, data, `${e.event} frame: every field is in its schema`);
  }
}

t.test('the firehose: a snapshot, then activity; resumes from Last-Event-ID; says when the scheduler restarted', async (t) => {
  const scheduler = await startScheduler(t);
  await startWorker(t, scheduler.url, { name: 'firehose-worker' });
  const http = api(scheduler.url);
  const first = await readSse(`${scheduler.url}/events`, {}, t);
  const [snapshot] = await first.until((e) => e.length >= 1);
  t.equal(snapshot.event, 'snapshot');
  const data = JSON.parse(snapshot.data);
  t.match(data, { restarted: false, counts: { waiting: 0, queued: 0, processing: 0 }, workers: [{ name: 'firehose-worker' }] });
  t.match(snapshot.id, new RegExp(`^${data.epoch}-\\d+$`));

  await http.post('/tasks', { tasks: [{ fn: 'inc', args: [1] }, { fn: 'fail', args: ['seen by the firehose'] }] });
  await http.post('/channels/watched/append', { tasks: [{ fn: 'inc', args: [2] }] });
  const events = await first.until((e) => e.some((x) => x.event === 'tasks' && JSON.parse(x.data).totals.error >= 1) && e.some((x) => x.event === 'channel'));
  const ticks = events.filter((e) => e.event === 'tasks').map((e) => JSON.parse(e.data));
  const ended = ticks.flatMap((tick) => tick.ended);
  t.ok(ended.some((x: { fn: string; status: string; worker: string }) => x.fn === 'inc' && x.status === 'finished' && x.worker === 'firehose-worker'));
  const error = ticks.flatMap((tick) => tick.errors)[0];
  t.match(error, { fn: 'fail', status: 'error', error: { name: 'TypeError', message: 'seen by the firehose', traceback: /at fail/ } });
  t.match(JSON.parse(events.find((e) => e.event === 'channel')?.data ?? '{}'), { channel: { name: 'watched' } });
  t.same(data.progress, { functions: [], other: null }, 'no tasks yet: no progress rows');
  const progress = ticks.at(-1).progress as TaskProgress;
  t.match(progress.functions.find((f) => f.fn === 'fail'), { fn: 'fail', error: 1, finished: 0, waiting: 0, queued: 0, processing: 0 });
  t.ok(progress.functions.some((f) => f.fn === 'inc'), 'inc has a progress row');
  for (const tick of ticks) t.same(progressSums(tick.progress), { ...tick.counts, ...tick.totals, submitted: undefined }, 'every tick: the rows add up to its counts and totals');
  checkFrames(t, events);
  first.close();

  const seen = events.at(-1)?.id as string;
  await http.post('/tasks', { fn: 'inc', args: [3] });
  const resumed = await readSse(`${scheduler.url}/events`, { 'last-event-id': seen }, t);
  const replay = await resumed.until((e) => e.some((x) => x.event === 'tasks'));
  t.notOk(replay.some((e) => e.event === 'snapshot'), 'a reader resuming within the ring gets what it missed, not a snapshot');
  t.ok(replay.every((e) => Number(e.id?.split('-')[1]) > Number(seen.split('-')[1])), 'and only what came after its id');
  resumed.close();

  const stale = await readSse(`${scheduler.url}/events?lastEventId=someotherrun-12`, {}, t);
  const [fresh] = await stale.until((e) => e.length >= 1);
  t.match(JSON.parse(fresh.data), { restarted: true }, 'an id from another run: a snapshot marked restarted');
  stale.close();
});

t.test('the firehose sums up a channel’s appends once a tick, in order with its stop and delete', async (t) => {
  const scheduler = await startScheduler(t);
  const http = api(scheduler.url);
  const { keys } = (await http.post('/scatter', { data: Array.from({ length: 60 }, (_, i) => i) })).body as { keys: string[] };
  const reader = await readSse(`${scheduler.url}/events`, {}, t);
  await reader.until((e) => e.length >= 1);
  // 60 appends of one key each, 20 requests at a time: far more appends than 250 ms ticks.
  for (let i = 0; i < keys.length; i += 20) {
    await Promise.all(keys.slice(i, i + 20).map((key) => http.post('/channels/busy/append', { key })));
  }
  await http.post('/channels/busy/append', { keys: keys.slice(0, 3) });
  await http.post('/channels/busy/stop');
  await http.delete('/channels/busy');
  const events = await reader.until((e) => e.some((x) => x.event === 'channel' && JSON.parse(x.data).type === 'deleted'));
  const frames = events.filter((e) => e.event === 'channel').map((e) => JSON.parse(e.data));
  const appended = frames.filter((f) => f.type === 'appended');
  t.equal(appended.reduce((sum, f) => sum + f.count, 0), 63, 'the counts add up to every entry appended');
  t.ok(appended.length < 61, `${appended.length} appended frames for 61 append requests`);
  t.same(frames.map((f) => f.type).slice(-2), ['stopped', 'deleted'], 'the stop and the delete come after every appended frame');
  checkFrames(t, events);
  t.match(appended.at(-1), { channel: { name: 'busy', lastSeq: 63, length: 63 } }, 'the last appended frame shows the channel after its last append');
  reader.close();
});

t.test('/metrics speaks Prometheus text about tasks, workers, channels, SSE and HTTP', async (t) => {
  const scheduler = await startScheduler(t);
  await startWorker(t, scheduler.url, { concurrency: 3 });
  const http = api(scheduler.url);
  await http.post('/tasks', { tasks: [{ fn: 'inc', args: [1] }, { fn: 'inc', args: [2] }, { fn: 'fail' }] });
  await http.post('/channels/measured/append', { tasks: [{ fn: 'inc', args: [5] }] });
  await http.post('/gather', { keys: (await http.post('/scatter', { data: [1] })).body.keys });
  const text = await waitFor(async () => {
    const body = (await http.get('/metrics')).body as string;
    // Tasks end in any order: wait for all four (three finished, one error), not just the error.
    return body.includes('sluice_tasks_ended_total{status="error"} 1') && body.includes('sluice_tasks_ended_total{status="finished"} 3') ? body : undefined;
  }, 'the metrics to count the three finished tasks and the error');
  t.match(text, /sluice_tasks_submitted_total 4/);
  t.match(text, /sluice_tasks_ended_total\{status="finished"\} 3/);
  t.match(text, /sluice_tasks_active\{state="processing"\} 0/);
  t.match(text, /sluice_workers 1/);
  t.match(text, /sluice_worker_slots\{kind="total"\} 3/);
  t.match(text, /sluice_channels 1/);
  t.match(text, /sluice_channel_appends_total 1/);
  t.match(text, /sluice_task_duration_seconds_count 3/);
  t.match(text, /sluice_http_request_duration_seconds_count\{method="POST",route="\/tasks",status="201"\} 1/);
  t.match(text, /sluice_sse_cut_off_total 0/);
  t.match(text, /sluice_process_resident_memory_bytes \d+/);
});

t.test('the firehose and /metrics follow queues, variables, flags, locks, semaphores and topics', async (t) => {
  const scheduler = await startScheduler(t);
  const http = api(scheduler.url);
  const firehose = await readSse(`${scheduler.url}/events`, {}, t);
  await firehose.until((e) => e.length >= 1);
  const frames = (event: string) => firehose.events.filter((e) => e.event === event).map((e) => JSON.parse(e.data));

  t.equal((await http.put('/queues/watched-queue', { maxsize: 10 })).status, 200);
  t.equal((await http.post('/queues/watched-queue/put', { items: [{ a: 1 }, { a: 2 }, { a: 3 }] })).status, 201);
  t.equal((await http.post('/queues/watched-queue/get?batch=2')).body.items.length, 2);
  await firehose.until(() => frames('queues').some((f) => f.changed.some((q: { name: string; size: number }) => q.name === 'watched-queue' && q.size === 1)));
  const queueFrames = frames('queues').flatMap((f) => f.changed).filter((q: { name: string }) => q.name === 'watched-queue');
  t.equal(queueFrames.reduce((sum: number, q: { puts: number }) => sum + q.puts, 0), 3, 'the frames count the items put');
  t.equal(queueFrames.reduce((sum: number, q: { gets: number }) => sum + q.gets, 0), 2, 'and the items got');
  t.match(queueFrames.at(-1), { name: 'watched-queue', size: 1, maxsize: 10, getters: 0, putters: 0 });
  t.notOk(JSON.stringify(frames('queues')).includes('"a":'), 'no item travels in the firehose');

  // A getter that waits shows as one; a deleted queue goes.
  const waiting = new AbortController();
  const waitingGet = fetch(`${scheduler.url}/queues/watched-empty/get?timeout=30`, { method: 'POST', signal: waiting.signal }).catch(() => undefined);
  t.teardown(() => waiting.abort());
  await firehose.until(() => frames('queues').some((f) => f.changed.some((q: { name: string; getters: number }) => q.name === 'watched-empty' && q.getters === 1)));
  waiting.abort();
  await waitingGet;
  await firehose.until(() => frames('queues').some((f) => f.deleted.includes('watched-empty')));
  t.equal((await http.delete('/queues/watched-queue')).status, 204);
  await firehose.until(() => frames('queues').some((f) => f.deleted.includes('watched-queue')));

  t.equal((await http.put('/variables/watched-var', { value: { secret: 'not in the firehose' } })).status, 200);
  t.equal((await http.post('/flags/watched-flag/set')).status, 200);
  await firehose.until(() => frames('variables').some((f) => f.set.includes('watched-var')) && frames('flags').some((f) => f.set.includes('watched-flag')));
  t.match(frames('variables').at(-1), { count: 1, set: ['watched-var'], deleted: [] });
  t.notOk(JSON.stringify(frames('variables')).includes('secret'), 'no value travels in the firehose');
  t.equal((await http.delete('/variables/watched-var')).status, 204);
  t.equal((await http.post('/flags/watched-flag/clear')).status, 200);
  await firehose.until(() => frames('variables').some((f) => f.deleted.includes('watched-var')) && frames('flags').some((f) => f.cleared.includes('watched-flag')));
  t.match(frames('flags').at(-1), { count: 0 });

  const lease = (await http.post('/locks/watched-lock/acquire', { holder: 'the test', ttlMs: 60_000 })).body;
  const expiring = await http.post('/semaphores/watched-sem/acquire', { maxLeases: 2, ttlMs: 200 });
  t.equal(expiring.status, 200);
  await firehose.until(() => frames('leases').some((f) => f.changed.some((l: { name: string; expired: number }) => l.name === 'watched-sem' && l.expired === 1)));
  t.equal((await http.post('/locks/watched-lock/release', { leaseId: lease.leaseId })).status, 204);
  await firehose.until(() => frames('leases').some((f) => f.changed.some((l: { name: string; released: number }) => l.name === 'watched-lock' && l.released === 1)));
  const lockFrames = frames('leases').flatMap((f) => f.changed).filter((l: { name: string }) => l.name === 'watched-lock');
  t.match(lockFrames[0], { kind: 'lock', held: 1, maxLeases: 1, lastToken: 1, holders: ['the test'], acquired: 1 });
  t.match(lockFrames.at(-1), { held: 0, released: 1 });
  t.notOk(JSON.stringify(frames('leases')).includes(lease.leaseId), 'lease ids, which let one release a lease, stay out of the firehose');

  const subscriber = await readSse(`${scheduler.url}/topics/watched-topic/events`, {}, t);
  await firehose.until(() => frames('topics').some((f) => f.changed.some((x: { name: string; subscribers: number }) => x.name === 'watched-topic' && x.subscribers === 1)));
  t.same((await http.post('/topics/watched-topic/publish', { message: 'hello' })).body, { delivered: 1 });
  await firehose.until(() => frames('topics').some((f) => f.changed.some((x: { name: string; published: number }) => x.name === 'watched-topic' && x.published === 1)));

  const later = await readSse(`${scheduler.url}/events`, {}, t);
  const [snapshot] = await later.until((e) => e.length >= 1);
  const coordination = JSON.parse(snapshot.data);
  t.same(coordination.queues, [], 'deleted and forgotten queues are not in a snapshot');
  t.match(coordination, {
    leases: [
      { kind: 'lock', name: 'watched-lock', held: 0, lastToken: 1 },
      { kind: 'semaphore', name: 'watched-sem', held: 0, maxLeases: 2, lastToken: 1 },
    ],
    topics: [{ name: 'watched-topic', subscribers: 1, lastSeq: 1 }],
    variables: { count: 0 },
    flags: { count: 0, set: [] },
  });
  later.close();

  await http.post('/queues/measured-a/put', { items: [1, 2, 3, 4] });
  await http.post('/queues/measured-b/put', { item: 5 });
  await http.post('/queues/measured-a/get?batch=3');
  await http.put('/variables/measured-var', { value: 1 });
  await http.put('/variables/measured-var', { value: 2 });
  await http.post('/flags/measured-flag/set');
  const held = (await http.post('/locks/measured-lock/acquire', { ttlMs: 60_000 })).body;
  const text = (await http.get('/metrics')).body as string;
  t.match(text, /^sluice_queues 2$/m);
  t.match(text, /^sluice_queue_items 2$/m);
  t.match(text, /^sluice_queue_size\{queue="measured-a"\} 1$/m);
  t.match(text, /^sluice_queue_size\{queue="measured-b"\} 1$/m);
  t.notMatch(text, /queue="watched-queue"/, 'a deleted queue has no series');
  t.match(text, /^sluice_queue_puts_total 8$/m, 'items put since start (3 + 4 + 1)');
  t.match(text, /^sluice_queue_gets_total 5$/m, 'items got since start (2 + 3)');
  t.match(text, /^sluice_queue_waiters\{side="get"\} 0$/m);
  t.match(text, /^sluice_variables 1$/m);
  t.match(text, /^sluice_variable_sets_total 3$/m);
  t.match(text, /^sluice_flags_set 1$/m);
  t.match(text, /^sluice_leases_held\{kind="lock"\} 1$/m);
  t.match(text, /^sluice_leases_held\{kind="semaphore"\} 0$/m);
  t.match(text, /^sluice_lease_grants_total\{kind="lock"\} 2$/m);
  t.match(text, /^sluice_lease_ends_total\{kind="lock",reason="released"\} 1$/m);
  t.match(text, /^sluice_lease_ends_total\{kind="semaphore",reason="expired"\} 1$/m);
  t.match(text, /^sluice_topics 1$/m);
  t.match(text, /^sluice_topic_subscribers 1$/m);
  t.match(text, /^sluice_topic_messages_total 1$/m);
  t.equal((await http.post('/locks/measured-lock/release', { leaseId: held.leaseId })).status, 204);
  subscriber.close();
  checkFrames(t, firehose.events);
  firehose.close();
});

t.test('the dashboard in a browser: counts, workers, a channel, an error’s traceback; reconnects after a restart', async (t) => {
  t.ok(existsSync(CHROMIUM), `a Chromium at ${CHROMIUM} (Debian: apt-get install chromium; .ci/run installs it)`);
  const db = join(tempDir(t), 'dashboard.db');
  const scheduler = await startScheduler(t, { db });
  await startWorker(t, scheduler.url, { name: 'dashboard-worker', concurrency: 4 });
  const http = api(scheduler.url);
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: BROWSER_ARGS });
  t.teardown(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  const pageErrors: string[] = [];
  page.on('pageerror', (error) => pageErrors.push(error.message));
  await page.goto(`${scheduler.url}/dashboard`);
  await expectText(page, '[data-testid="connection"]', 'live');
  await expectText(page, '[data-worker="dashboard-worker"] td:nth-child(2)', 'connected');

  await http.post('/tasks', { tasks: Array.from({ length: 40 }, (_, i) => ({ fn: 'inc', args: [i] })) });
  const failed = await http.post('/tasks', { fn: 'fail', args: ['shown with its traceback'], key: 'dashboard-failure' });
  await http.post('/channels/dashboard-channel/append', { tasks: [{ fn: 'inc', args: [100] }, { fn: 'inc', args: [101] }, { fn: 'inc', args: [102] }] });
  await expectText(page, '[data-testid="count-finished"] .value', '43');
  await expectText(page, '[data-testid="count-error"] .value', '1');
  await expectText(page, '[data-channel="dashboard-channel"] .length', '3');
  await page.click(`[data-key="${failed.body.key}"] summary`);
  await expectText(page, `[data-key="${failed.body.key}"] .traceback`, /TypeError: shown with its traceback\n\s+at fail/);
  await page.click('[data-channel="dashboard-channel"]');
  await expectText(page, '[data-testid="channel-detail"] tbody', /finished[\s\S]*finished[\s\S]*finished/);

  // Queues, locks and topics, changed through the HTTP API, show live.
  t.equal((await http.put('/queues/dashboard-queue', { maxsize: 10 })).status, 200);
  await expectText(page, '[data-queue="dashboard-queue"] .size', '0');
  t.equal((await http.post('/queues/dashboard-queue/put', { items: ['a', 'b', 'c'] })).status, 201);
  await expectText(page, '[data-queue="dashboard-queue"] .size', '3');
  t.same((await http.post('/queues/dashboard-queue/get?batch=2')).body, { items: ['a', 'b'] });
  await expectText(page, '[data-queue="dashboard-queue"] .size', '1');
  t.equal((await http.post('/queues/dashboard-queue/put', { items: ['d', 'e', 'f', 'g'] })).status, 201);
  await expectText(page, '[data-queue="dashboard-queue"] .size', '5');
  const getter = new AbortController();
  t.teardown(() => getter.abort());
  const waitingGet = fetch(`${scheduler.url}/queues/dashboard-empty/get?timeout=60`, { method: 'POST', signal: getter.signal }).catch(() => undefined);
  await expectText(page, '[data-queue="dashboard-empty"] .getters', '1');
  getter.abort();
  await waitingGet;
  await page.locator('[data-queue="dashboard-empty"]').waitFor({ state: 'detached', timeout: 15_000 });

  const first = (await http.post('/locks/dashboard-lock/acquire', { holder: 'first-holder', ttlMs: 60_000 })).body;
  await expectText(page, '[data-lease="lock:dashboard-lock"] .held', '1/1');
  await expectText(page, '[data-lease="lock:dashboard-lock"] .holders', 'first-holder');
  const second = http.post('/locks/dashboard-lock/acquire?timeout=60', { holder: 'second-holder', ttlMs: 60_000 });
  await expectText(page, '[data-lease="lock:dashboard-lock"] .waiting', '1');
  t.equal((await http.post('/locks/dashboard-lock/release', { leaseId: first.leaseId })).status, 204);
  const granted = (await second).body;
  t.equal(granted.token, 2);
  await expectText(page, '[data-lease="lock:dashboard-lock"] .waiting', '0');
  await expectText(page, '[data-lease="lock:dashboard-lock"] .holders', 'second-holder');
  t.equal((await http.post('/locks/dashboard-lock/release', { leaseId: granted.leaseId })).status, 204);
  await expectText(page, '[data-lease="lock:dashboard-lock"] .held', '0/1');

  const subscriber = await readSse(`${scheduler.url}/topics/dashboard-topic/events`, {}, t);
  await expectText(page, '[data-topic="dashboard-topic"] .subscribers', '1');
  subscriber.close();
  await expectText(page, '[data-topic="dashboard-topic"] .subscribers', '0');
  await http.put('/variables/dashboard-variable', { value: 1 });
  await http.post('/flags/dashboard-flag/set');
  await expectText(page, '[data-testid="variables-count"]', '1');
  await expectText(page, '[data-testid="coordination-stats"]', /flags set: 1 \(dashboard-flag\)/);
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, 'dashboard.png'), fullPage: true });

  await scheduler.proc.stop('SIGKILL');
  await expectText(page, '[data-testid="connection"]', 'reconnecting…');
  await startScheduler(t, { db, port: scheduler.port });
  await expectText(page, '[data-testid="connection"]', 'live', 30_000);
  await expectText(page, '[data-testid="restarted"]', /scheduler restarted; reconnected at/);
  await expectText(page, '[data-worker="dashboard-worker"] td:nth-child(2)', 'connected', 30_000);
  await expectText(page, '[data-channel="dashboard-channel"] .length', '3');
  await expectText(page, '[data-queue="dashboard-queue"] .size', '5');
  await expectText(page, '[data-testid="variables-count"]', '1');
  await page.screenshot({ path: join(SCREENSHOTS, 'dashboard-after-restart.png'), fullPage: true });
  t.same(pageErrors, [], 'no error in the page');
});

t.test('the dashboard under load at 1400 and 390 px: progress by function, worker resources and channel results match the REST API', async (t) => {
  t.ok(existsSync(CHROMIUM), `a Chromium at ${CHROMIUM}`);
  const scheduler = await startScheduler(t);
  await startWorker(t, scheduler.url, { name: 'limited-worker', concurrency: 3, args: ['--memory-limit', '2GB'] });
  await startWorker(t, scheduler.url, { name: 'plain-worker', concurrency: 3 });
  const http = api(scheduler.url);
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: BROWSER_ARGS });
  t.teardown(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  const pageErrors: string[] = [];
  page.on('pageerror', (error) => pageErrors.push(error.message));
  await page.goto(`${scheduler.url}/dashboard`);
  await expectText(page, '[data-testid="connection"]', 'live');
  mkdirSync(SCREENSHOTS, { recursive: true });

  // Load: batches of short tasks of three functions, one in twenty failing, until told to stop.
  let loading = true;
  let round = 0;
  const load = (async () => {
    while (loading) {
      round++;
      const tasks = Array.from({ length: 60 }, (_, i) =>
        i % 20 === 0 ? { fn: 'fail', args: [`failure ${round}-${i}`] } : i % 3 === 0 ? { fn: 'sleep', args: [30, round * 100 + i] } : { fn: 'inc', args: [round * 100 + i] },
      );
      await http.post('/tasks', { tasks, fireAndForget: true });
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
  t.teardown(() => {
    loading = false;
    return load;
  });
  // A channel with a small result, a large one and an error.
  const appended = await http.post('/channels/results-channel/append', {
    tasks: [
      { fn: 'inc', args: [41] },
      { fn: 'echo', args: ['x'.repeat(500)] },
      { fn: 'fail', args: ['failed in the channel'] },
    ],
  });
  t.equal(appended.status, 201);
  await expectText(page, '[data-testid="count-processing"] .value', /^[1-9]/);
  await expectText(page, '[data-testid="task-stream-key"]', /inc[\s\S]*error/);
  await waitFor(async () => (await page.locator('[data-fn="sleep"]').count()) > 0 && (await page.locator('[data-fn="inc"]').count()) > 0, 'progress rows for inc and sleep', 15_000);
  t.notOk(
    (await page.locator('[data-testid="throughput"] .u-legend').textContent())?.includes('--'),
    'the throughput legend shows values without hovering',
  );
  await page.screenshot({ path: join(SCREENSHOTS, 'load-1400.png'), fullPage: true });

  await page.setViewportSize({ width: 390, height: 844 });
  await page.waitForTimeout(500); // a frame or two at the new width
  t.ok(await fitsWidth(page), 'no horizontal scroll at 390 px');
  await page.screenshot({ path: join(SCREENSHOTS, 'load-390.png'), fullPage: true });

  await page.click('[data-channel="results-channel"]');
  await expectText(page, '[data-testid="channel-detail"] [data-seq="1"] .result', '42');
  await expectText(page, '[data-testid="channel-detail"] [data-seq="2"] .result', 'over 300 characters');
  await expectText(page, '[data-testid="channel-detail"] [data-seq="3"] .result', 'TypeError: failed in the channel');
  const outcomes = (await http.post('/futures/outcomes', { keys: appended.body.keys, resultChars: 300 })).body;
  t.match(outcomes, {
    futures: [
      { key: appended.body.keys[0], status: 'finished', result: 42 },
      { key: appended.body.keys[1], status: 'finished', resultOmitted: true },
      { key: appended.body.keys[2], status: 'error', error: { name: 'TypeError', message: 'failed in the channel' } },
    ],
    missing: [],
  });
  t.ok(await fitsWidth(page), 'no horizontal scroll at 390 px with a channel open');
  await page.screenshot({ path: join(SCREENSHOTS, 'channel-390.png'), fullPage: false });
  await page.click('[data-testid="channel-detail"] button');

  // Still: stop the load; six tasks that never end (on six slots), two queued behind them, one waiting for one of them.
  loading = false;
  await load;
  const hung = (await http.post('/tasks', { tasks: Array.from({ length: 8 }, (_, i) => ({ fn: 'hang', args: [i] })), fireAndForget: true })).body.keys as string[];
  await http.post('/tasks', { fn: 'add', args: [{ $future: hung[0] }, 1], fireAndForget: true });
  t.teardown(() => Promise.all(hung.map((key) => http.post(`/futures/${key}/cancel`))));
  await waitFor(async () => {
    const { counts } = await snapshotOf(scheduler.url);
    return counts.processing === 6 && counts.queued === 2 && counts.waiting === 1;
  }, 'the load to drain, leaving six hanging tasks running, two queued and one waiting', 60_000);
  await page.setViewportSize({ width: 1400, height: 1000 });

  const rest = (await http.get<TaskProgress>('/tasks/progress')).body;
  t.match(rest.functions.find((f) => f.fn === 'hang'), { processing: 6, queued: 2, waiting: 0, finished: 0 });
  t.match(rest.functions.find((f) => f.fn === 'add'), { waiting: 1, processing: 0 });
  t.ok((rest.functions.find((f) => f.fn === 'fail')?.error ?? 0) >= 2, 'the failures count as errors');
  t.equal(rest.other, null, 'every function listed');
  const fields = ['waiting', 'queued', 'processing', 'finished', 'error', 'cancelled', 'lost'] as const;
  for (const row of rest.functions) {
    await waitFor(
      async () => {
        const shown = await page.locator(`[data-testid="progress"] [data-fn="${row.fn}"]`).evaluate((el) => ({ ...(el as HTMLElement).dataset }));
        return fields.every((field) => Number(shown[field]) === row[field]);
      },
      `the progress row of ${row.fn} to show ${JSON.stringify(row)}`,
      15_000,
    );
    const total = fields.reduce((n, field) => n + row[field], 0);
    await expectText(page, `[data-testid="progress"] [data-fn="${row.fn}"] .done`, `${row.finished.toLocaleString('en-US')} / ${total.toLocaleString('en-US')}`);
  }
  const all = progressSums(rest);
  await expectText(page, '[data-testid="progress-all"] .done', `${all.finished?.toLocaleString('en-US')} / ${fields.reduce((n, f) => n + (all[f] ?? 0), 0).toLocaleString('en-US')}`);

  // Worker resources: what GET /workers says, as bars.
  for (const name of ['limited-worker', 'plain-worker']) {
    await waitFor(
      async () => {
        const worker = (await http.get<Array<{ name: string; rssBytes?: number; eventLoopUtilization?: number; memoryLimitBytes?: number }>>('/workers')).body.find((w) => w.name === name);
        const shown = await page.locator(`[data-worker="${name}"]`).evaluate((row) => ({
          bytes: row.querySelector('.memory')?.getAttribute('data-bytes'),
          limit: row.querySelector('.memory')?.getAttribute('data-limit'),
          elu: row.querySelector('.elu')?.getAttribute('data-elu'),
          width: (row.querySelector('.memory .meter i') as HTMLElement | null)?.style.width,
        }));
        if (!worker?.rssBytes || worker.eventLoopUtilization === undefined) return false;
        const limitMatches = name === 'limited-worker' ? shown.limit === String(2e9) && worker.memoryLimitBytes === 2e9 : shown.limit === null;
        const widthMatches = name === 'plain-worker' || Math.abs(Number.parseFloat(shown.width ?? '') - (worker.rssBytes / 2e9) * 100) < 0.01;
        return shown.bytes === String(worker.rssBytes) && shown.elu === String(worker.eventLoopUtilization) && limitMatches && widthMatches;
      },
      `the workers table to show ${name}'s heartbeat figures as GET /workers has them`,
      20_000,
    );
  }
  await expectText(page, '[data-worker="limited-worker"] .memory', / MB \/ 2\.0 GB$/);
  await expectText(page, '[data-worker="limited-worker"] .processing', '3 / 3');
  await page.screenshot({ path: join(SCREENSHOTS, 'still-1400.png'), fullPage: true });
  await page.setViewportSize({ width: 390, height: 844 });
  await page.waitForTimeout(500);
  t.ok(await fitsWidth(page), 'no horizontal scroll at 390 px');
  await page.screenshot({ path: join(SCREENSHOTS, 'still-390.png'), fullPage: true });
  t.comment(`screenshots in ${SCREENSHOTS}`);
  t.same(pageErrors, [], 'no error in the page');
});

t.test('a scheduler with tokens: the dashboard asks for one, then shows the cluster', async (t) => {
  t.ok(existsSync(CHROMIUM), `a Chromium at ${CHROMIUM}`);
  const token = 'dashboard-admin-token-000000';
  const scheduler = await startScheduler(t, { insecure: false, args: ['--admin-token', token] });
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: BROWSER_ARGS });
  t.teardown(() => browser.close());
  const page = await browser.newPage();
  await page.goto(`${scheduler.url}/dashboard`);
  await page.locator('[data-testid="login"] input').fill('not the token at all');
  await page.locator('[data-testid="login"] button').click();
  await expectText(page, '[data-testid="login"] .error', /not one of this scheduler/);
  await page.locator('[data-testid="login"] input').fill(token);
  await page.locator('[data-testid="login"] button').click();
  await expectText(page, '[data-testid="connection"]', 'live');
  t.pass('the session cookie let EventSource in');
});

/** No horizontal scrolling: the page is no wider than the window. */
async function fitsWidth(page: Page): Promise<boolean> {
  return page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
}

/** The firehose's first frame. */
async function snapshotOf(url: string): Promise<{ counts: Record<'waiting' | 'queued' | 'processing', number> }> {
  const reader = await readSse(`${url}/events`);
  try {
    const [snapshot] = await reader.until((e) => e.length >= 1);
    return JSON.parse(snapshot.data);
  } finally {
    reader.close();
  }
}

/** The progress rows (and other) summed up, field by field. */
function progressSums(progress: TaskProgress): Record<string, number | undefined> {
  const rows = [...progress.functions, ...(progress.other ? [progress.other] : [])];
  const sum = (field: 'waiting' | 'queued' | 'processing' | 'finished' | 'error' | 'cancelled' | 'lost') => rows.reduce((n, f) => n + f[field], 0);
  return {
    waiting: sum('waiting'),
    queued: sum('queued'),
    processing: sum('processing'),
    finished: sum('finished'),
    error: sum('error'),
    cancelled: sum('cancelled'),
    lost: sum('lost'),
    submitted: undefined,
  };
}

/** Wait until the element's text matches (the page updates once per animation frame). */
async function expectText(page: Page, selector: string, want: string | RegExp, timeoutMs = 15_000): Promise<void> {
  await waitFor(async () => {
    const text = await page.locator(selector).first().textContent({ timeout: 500 }).catch(() => null);
    return text !== null && (typeof want === 'string' ? text.trim() === want : want.test(text));
  }, `${selector} to show ${want}`, timeoutMs, 100);
}
