// Does the dashboard keep up? Open it in headless Chromium while the cluster
// runs thousands of tasks a second, and measure in the page: frames drawn per
// second, the longest gap between frames, and main-thread long tasks.
// Needs /usr/bin/chromium (or SLUICE_CHROMIUM). Prints one JSON document.
import { chromium } from 'playwright-core';
import { Client } from '../client/node.ts';
import { Cleanup, cluster, print, quick, type Result, round } from './lib.ts';

const cleanup = new Cleanup();
const results: Result[] = [];

try {
  const { url } = await cluster(cleanup, { workers: 1, concurrency: 256 });
  const browser = await chromium.launch({
    executablePath: process.env.SLUICE_CHROMIUM ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  cleanup.teardown(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  await page.goto(`${url}/dashboard`);
  await page.waitForFunction(() => document.querySelector('[data-testid="connection"]')?.textContent === 'live');
  // Passed as text: tsx would wrap a function's inner names in a helper the page does not have.
  await page.evaluate(`
    window.frames_ = [];
    window.longTasks_ = [];
    requestAnimationFrame(function tick(t) { window.frames_.push(t); requestAnimationFrame(tick); });
    new PerformanceObserver((list) => { for (const entry of list.getEntries()) window.longTasks_.push(entry.duration); })
      .observe({ type: 'longtask', buffered: false });
  `);

  const client = await Client.connect(url);
  cleanup.teardown(() => client.close());
  const seconds = quick ? 3 : 10;
  const started = performance.now();
  let submitted = 0;
  while (performance.now() - started < seconds * 1000) {
    const batch = client.map('inc', Array.from({ length: 1000 }, (_, i) => [i]), { pure: false });
    submitted += batch.length;
    await client.gather(batch);
  }
  const elapsed = (performance.now() - started) / 1000;
  const measured = (await page.evaluate(`(() => {
    const gaps = window.frames_.slice(1).map((t, i) => t - window.frames_[i]);
    return { frames: window.frames_.length, span: window.frames_.at(-1) - window.frames_[0], maxGap: Math.max(0, ...gaps), longTasks: window.longTasks_ };
  })()`)) as { frames: number; span: number; maxGap: number; longTasks: number[] };
  const finished = await page.locator('[data-testid="count-finished"] .value').textContent();
  const params = { tasksPerSecond: round(submitted / elapsed, 0), seconds: round(elapsed, 1), shownFinished: finished };
  results.push({ workload: 'dashboard under load: frames per second', value: round(measured.frames / (measured.span / 1000), 1), unit: 'fps', params });
  results.push({ workload: 'dashboard under load: longest gap between frames', value: round(measured.maxGap, 1), unit: 'ms', params });
  results.push({ workload: 'dashboard under load: main-thread long tasks', value: measured.longTasks.length, unit: 'count', params: { ...params, totalMs: round(measured.longTasks.reduce((a, b) => a + b, 0), 0) } });
} finally {
  await cleanup.run();
}

print('dashboard', results);
