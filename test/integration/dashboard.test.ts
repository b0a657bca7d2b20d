// The dashboard in a real browser (Debian's chromium, driven by playwright-core),
// the /events firehose it reads, /metrics and /docs.
import { existsSync } from 'node:fs';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Page } from 'playwright-core';
import t from 'tap';
import { api, readSse, startScheduler, startWorker, tempDir } from '../helpers/cluster.ts';
import { ROOT, waitFor } from '../helpers/processes.ts';

const CHROMIUM = process.env.SLUICE_CHROMIUM ?? '/usr/bin/chromium';
const ARTIFACTS = join(ROOT, 'test/artifacts');

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

t.test('the dashboard in a browser: counts, workers, a channel, an error’s traceback; reconnects after a restart', async (t) => {
  t.ok(existsSync(CHROMIUM), `a Chromium at ${CHROMIUM} (Debian: apt-get install chromium; .ci/run installs it)`);
  const db = join(tempDir(t), 'dashboard.db');
  const scheduler = await startScheduler(t, { db });
  await startWorker(t, scheduler.url, { name: 'dashboard-worker', concurrency: 4 });
  const http = api(scheduler.url);
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
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
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, 'dashboard.png'), fullPage: true });

  await scheduler.proc.stop('SIGKILL');
  await expectText(page, '[data-testid="connection"]', 'reconnecting…');
  await startScheduler(t, { db, port: scheduler.port });
  await expectText(page, '[data-testid="connection"]', 'live', 30_000);
  await expectText(page, '[data-testid="restarted"]', /scheduler restarted; reconnected at/);
  await expectText(page, '[data-worker="dashboard-worker"] td:nth-child(2)', 'connected', 30_000);
  await expectText(page, '[data-channel="dashboard-channel"] .length', '3');
  await page.screenshot({ path: join(ARTIFACTS, 'dashboard-after-restart.png'), fullPage: true });
  t.same(pageErrors, [], 'no error in the page');
});

t.test('a scheduler with tokens: the dashboard asks for one, then shows the cluster', async (t) => {
  t.ok(existsSync(CHROMIUM), `a Chromium at ${CHROMIUM}`);
  const token = 'dashboard-admin-token-000000';
  const scheduler = await startScheduler(t, { insecure: false, args: ['--admin-token', token] });
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
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

/** Wait until the element's text matches (the page updates once per animation frame). */
async function expectText(page: Page, selector: string, want: string | RegExp, timeoutMs = 15_000): Promise<void> {
  await waitFor(async () => {
    const text = await page.locator(selector).first().textContent({ timeout: 500 }).catch(() => null);
    return text !== null && (typeof want === 'string' ? text.trim() === want : want.test(text));
  }, `${selector} to show ${want}`, timeoutMs, 100);
}
