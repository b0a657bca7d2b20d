// The command line for queues and variables: sluice queue ls|put|get, sluice variable get|set|del.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import t from 'tap';
import { api, startScheduler } from '../helpers/cluster.ts';
import { BIN, ROOT, waitFor } from '../helpers/processes.ts';

const run = promisify(execFile);
const scheduler = await startScheduler(t);

/** Run the CLI against the test scheduler; resolves with its output and exit code (never rejects). */
async function sluice(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args, '--scheduler', scheduler.url], { cwd: ROOT, timeout: 30_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

t.test('sluice queue: put prints the size, get prints JSON lines, ls lists, a timeout exits 1', async (t) => {
  t.same(await sluice('queue', 'put', 'cli-jobs', '1', '{"video":2}', 'plain text'), { code: 0, stdout: '3\n', stderr: '' });
  t.same(await sluice('queue', 'get', 'cli-jobs'), { code: 0, stdout: '1\n', stderr: '' });
  t.same(await sluice('queue', 'get', 'cli-jobs', '--batch', '5'), { code: 0, stdout: '{"video":2}\n"plain text"\n', stderr: '' });
  const empty = await sluice('queue', 'get', 'cli-jobs', '--timeout', '0.2');
  t.equal(empty.code, 1);
  t.match(empty.stderr, /sluice queue: no item came to queue cli-jobs within 200 ms/);
  const waiting = sluice('queue', 'get', 'cli-later', '--timeout', '20');
  await waitFor(async () => (await api(scheduler.url).get('/queues/cli-later')).body.getters === 1, 'the CLI to wait');
  await api(scheduler.url).post('/queues/cli-later/put', { item: 'came later' });
  t.same(await waiting, { code: 0, stdout: '"came later"\n', stderr: '' }, 'a get waits for the item');
  await api(scheduler.url).put('/queues/cli-full', { maxsize: 1 });
  t.equal((await sluice('queue', 'put', 'cli-full', 'a')).code, 0);
  t.match(await sluice('queue', 'put', 'cli-full', 'b', '--timeout', '0.2'), { code: 1, stderr: /queue cli-full had no room within 200 ms/ });
  t.match((await sluice('queue', 'ls')).stdout, /NAME\s+SIZE\s+MAXSIZE\s+GETTERS\s+PUTTERS\n(.*\n)*cli-full\s+1\s+1\s+0\s+0\n/);
  t.match(await sluice('queue', 'put', 'bad name', '1'), { code: 1, stderr: /params\.name: .* \(SLUICE_ERR_VALIDATION\)/ });
});

t.test('sluice variable: set, get (waiting with --timeout), del', async (t) => {
  t.same(await sluice('variable', 'set', 'cli-var', '{"retries":3}'), { code: 0, stdout: '', stderr: '' });
  t.same(await sluice('variable', 'get', 'cli-var'), { code: 0, stdout: '{"retries":3}\n', stderr: '' });
  t.equal((await sluice('variable', 'del', 'cli-var')).code, 0);
  t.match(await sluice('variable', 'get', 'cli-var'), { code: 1, stderr: /variable cli-var is not set .*\(SLUICE_ERR_VARIABLE_UNSET\)/ });
  const waiting = sluice('variable', 'get', 'cli-var', '--timeout', '20');
  await sluice('variable', 'set', 'cli-var', 'now set');
  t.same(await waiting, { code: 0, stdout: '"now set"\n', stderr: '' });
});
