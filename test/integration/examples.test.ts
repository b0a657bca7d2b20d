// Every example in the README and in examples/ runs, against a real cluster.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { startScheduler, startWorker } from '../helpers/cluster.ts';
import { ROOT } from '../helpers/processes.ts';

const run = promisify(execFile);
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');

/** Code blocks that follow a `<!-- readme-test: ... -->` marker. */
function markedBlocks(): Array<{ marker: string; code: string }> {
  const blocks: Array<{ marker: string; code: string }> = [];
  const pattern = /<!-- readme-test: ([^>]+?) -->\s*```\w*\n([\s\S]*?)```/g;
  for (const match of README.matchAll(pattern)) blocks.push({ marker: match[1], code: match[2] });
  return blocks;
}

const scheduler = await startScheduler(t);
await startWorker(t, scheduler.url, { tasks: join(ROOT, 'examples/tasks.ts') });

t.test('README shell blocks run and print what they say', async (t) => {
  const blocks = markedBlocks().filter((b) => b.marker === 'sh');
  t.ok(blocks.length > 0, 'the README has shell examples');
  for (const { code } of blocks) {
    const script = code.replaceAll('http://localhost:8786', scheduler.url);
    const { stdout } = await run('bash', ['-euo', 'pipefail', '-c', script], { timeout: 30_000 });
    const expected = code
      .split('\n')
      .filter((line) => line.startsWith('# {'))
      .map((line) => line.slice(2));
    const printed = stdout.split('\n').filter(Boolean);
    t.same(printed, expected, 'each command prints the output shown under it');
  }
});

t.test('examples/ scripts run; README copies of them are current', async (t) => {
  const blocks = markedBlocks().filter((b) => b.marker.startsWith('example '));
  t.ok(blocks.length > 0, 'the README shows examples');
  for (const { marker, code } of blocks) {
    const file = marker.slice('example '.length);
    t.equal(code, readFileSync(join(ROOT, file), 'utf8'), `the README shows ${file} as it is`);
  }
  const { stdout } = await run(process.execPath, ['--import', 'tsx', 'examples/async-increment.ts'], {
    cwd: ROOT,
    env: { ...process.env, SLUICE_SCHEDULER: scheduler.url },
    timeout: 30_000,
  });
  t.equal(stdout, '11\n', 'the async example prints 11');
});
