// Every example in the README, in docs/ and in examples/ runs, against a real cluster.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { startScheduler, startWorker } from '../helpers/cluster.ts';
import { docFiles, MARKER, markedBlocks, readDoc } from '../helpers/docs.ts';
import { ROOT } from '../helpers/processes.ts';

const run = promisify(execFile);

const scheduler = await startScheduler(t);
await startWorker(t, scheduler.url, { tasks: join(ROOT, 'examples/tasks.ts') });

t.test('every page marks its examples the one way', async (t) => {
  for (const file of docFiles()) {
    const text = readDoc(file);
    t.notMatch(text, /<!-- readme-test:/, `${file}: examples are marked <!-- ${MARKER}: ... --> (the older readme-test marker is not run)`);
    const markers = [...text.matchAll(new RegExp(`<!-- ${MARKER}: ([^>]+?) -->`, 'g'))].length;
    t.equal(markedBlocks([file]).length, markers, `${file}: each marker is followed by a code block`);
  }
  const pages = new Set(markedBlocks().map((b) => b.file));
  for (const page of ['README.md', 'docs/channels.md', 'docs/coordination.md', 'docs/streams.md']) t.ok(pages.has(page), `${page} has examples that run`);
});

t.test('shell blocks of the README and docs/ run and print what they say', async (t) => {
  const blocks = markedBlocks().filter((b) => b.marker === 'sh');
  t.ok(blocks.length > 0, 'the pages have shell examples');
  for (const { file, code } of blocks) {
    const script = code.replaceAll('http://localhost:8786', scheduler.url);
    const { stdout } = await run('bash', ['-euo', 'pipefail', '-c', script], { timeout: 30_000 });
    const expected = code
      .split('\n')
      .filter((line) => line.startsWith('# {'))
      .map((line) => line.slice(2));
    const printed = stdout.split('\n').filter(Boolean);
    t.same(printed, expected, `${file}: each command prints the output shown under it`);
  }
});

t.test('examples/ scripts run; the copies the pages show are current', async (t) => {
  const blocks = markedBlocks().filter((b) => b.marker.startsWith('example '));
  t.ok(blocks.length > 0, 'the pages show examples');
  for (const { file: page, marker, code } of blocks) {
    const file = marker.slice('example '.length);
    t.equal(code, readFileSync(join(ROOT, file), 'utf8'), `${page} shows ${file} as it is`);
  }
  t.equal(await example('async-increment.ts'), '11\n', 'the async example prints 11');
  t.equal(await example('channel-basics.ts'), '10\n11\n12\n');
});

t.test('Dask’s channels example with local clients', async (t) => {
  const lines = (await example('local-client-channels.ts')).trim().split('\n');
  t.equal(lines.length, 11);
  for (const line of lines.slice(0, 10)) {
    const sum = Number(line);
    t.ok(sum >= 0 && sum <= 2, `${line} is a sum of two random numbers`);
  }
  t.match(lines[10], /^combined \d+ pairs$/);
});

t.test('a short-lived caller appends and leaves; a reader collects the results later', async (t) => {
  t.equal(await example('short-lived-caller.ts'), 'order-1 is entry 1 of orders\norder-2 is entry 2 of orders\norder-3 is entry 3 of orders\n');
  t.equal(await example('short-lived-caller.ts'), 'order-1 is entry 1 of orders\norder-2 is entry 2 of orders\norder-3 is entry 3 of orders\n', 'a retried request appends nothing new');
  t.equal(await example('channel-reader.ts'), 'entry 1: 42\nentry 2: 100\nentry 3: 8\n');
});

t.test('streamz’s “Asynchronous Computation” examples: output, and the rate limit’s pace', async (t) => {
  // Shorter than the page's 500 ms, 100 ms and 200 ms, in the same spirit: the rate limit is what sets the pace.
  const env = { INTERVAL_MS: '200', INCREMENT_MS: '10', WRITE_MS: '20' };
  const oneToTen = '1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n';
  for (const file of ['stream-event-loop.ts', 'stream-without-await.ts', 'stream-cluster-rate-limit.ts']) {
    const started = performance.now();
    t.equal(await example(file, env), oneToTen, `${file} writes 1 to 10 in order`);
    const elapsed = performance.now() - started;
    t.ok(elapsed >= 9 * 200, `${file}: ten items at one per 200 ms take at least 9 intervals (took ${Math.round(elapsed)} ms)`);
  }
  t.equal(await example('stream-cluster.ts', env), oneToTen, 'the cluster example writes 1 to 10 in order');
});

t.test('coordination between two clients: a queue of futures, an event, pub/sub, a fenced write under a lock', async (t) => {
  t.equal(await example('coordination.ts'), '[ 2, 4, 6 ]\nready: true, news: results are in\nwrote under lock token 1\n{ doubles: 3 }\n');
});

/**
 * Run examples/<file> against the test cluster; resolves with what it printed.
 * `sluice/...` resolves to the sources under test ("sluice-source"), not to
 * the last build in dist/lib (test/integration/packaging.test.ts tests that).
 */
async function example(file: string, env: Record<string, string> = {}): Promise<string> {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', '--conditions=sluice-source', join('examples', file)], {
    cwd: ROOT,
    env: { ...process.env, SLUICE_SCHEDULER: scheduler.url, ...env },
    timeout: 60_000,
  });
  return stdout;
}
