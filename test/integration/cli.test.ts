// The command line: sluice up, submit, graceful shutdown, configuration errors.
import { execFile } from 'node:child_process';
import { cpSync, existsSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { api, startScheduler, startWorker, tempDir } from '../helpers/cluster.ts';
import { BIN, Proc, ROOT, TASKS, waitFor } from '../helpers/processes.ts';

const run = promisify(execFile);

/** Run the CLI to completion; resolves with its output and exit code (never rejects). */
async function sluice(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...process.env, ...env }, timeout: 30_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

t.test('sluice submit: prints the key, or with --wait the result; a failed task exits 1', async (t) => {
  const scheduler = await startScheduler(t);
  await startWorker(t, scheduler.url);
  const plain = await sluice(['submit', 'inc', '41', '--scheduler', scheduler.url]);
  t.equal(plain.code, 0);
  t.match(plain.stdout.trim(), /^inc-[0-9a-f]{32}$/);
  const waited = await sluice(['submit', 'add', '40', '2', '--wait', '--scheduler', scheduler.url]);
  t.same({ code: waited.code, out: waited.stdout }, { code: 0, out: '42\n' });
  const text = await sluice(['submit', 'echo', 'hello', '{"a":1}', '--wait'], { SLUICE_SCHEDULER: scheduler.url });
  t.same(JSON.parse(text.stdout), ['hello', { a: 1 }], 'an argument that is not JSON is a string');
  const failed = await sluice(['submit', 'fail', 'nope', '--wait', '--scheduler', scheduler.url]);
  t.equal(failed.code, 1);
  t.match(failed.stderr, /task fail-\w+ failed: TypeError: nope/);
  const refused = await sluice(['submit', 'bad name', '--scheduler', scheduler.url]);
  t.equal(refused.code, 1);
  t.match(refused.stderr, /body\.fn: .* \(SLUICE_ERR_VALIDATION\)/);
});

t.test('sluice up: a scheduler and local workers; SIGTERM stops them all', async (t) => {
  const db = join(tempDir(t), 'up.db');
  const client = 'up-client-token-0123456789';
  const worker = 'up-worker-token-0123456789';
  const up = new Proc(['up', '--port', '0', '--db', db, '--workers', '2', '--tasks', TASKS, '--concurrency', '2', '--client-token', client, '--worker-token', worker]);
  t.teardown(() => up.stop('SIGKILL'));
  const ready = await up.waitForLog((e) => e.msg === 'sluice scheduler ready');
  const http = api(ready.url as string, { authorization: `Bearer ${client}` });
  const workers = await waitFor(async () => {
    const list = (await http.get('/workers')).body as Array<{ name: string }>;
    return list.length === 2 ? list : undefined;
  }, 'two local workers');
  t.same(workers.map((w) => w.name).sort(), ['local-0', 'local-1'], 'the local workers got the worker token');
  const submitted = await http.post('/tasks', { tasks: [{ fn: 'inc', args: [1] }, { fn: 'inc', args: [2] }] });
  t.same((await http.post('/gather', { keys: submitted.body.keys, timeout: 20 })).body.results, [2, 3]);
  const exit = await up.stop('SIGTERM', 20_000);
  t.same(exit, { code: 0, signal: null }, 'exits cleanly');
  t.equal(up.lines.filter((l) => l.includes('stopping: finishing running tasks')).length, 2, 'both workers were stopped');
  const left = await run('pgrep', ['-f', `--scheduler ${ready.url as string} `]).catch(() => ({ stdout: '' }));
  t.equal(left.stdout.trim(), '', 'no worker process is left behind');
});

t.test('npm start: the README’s first command starts a scheduler and local workers on the example tasks', async (t) => {
  const db = join(tempDir(t), 'start.db');
  const { spawn } = await import('node:child_process');
  const npm = spawn('npm', ['start', '--', '--port', '0', '--db', db, '--workers', '1'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  t.teardown(() => {
    try {
      process.kill(-(npm.pid as number), 'SIGKILL');
    } catch {
      // already gone
    }
  });
  let output = '';
  const ready = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`npm start did not get ready:\n${output}`)), 30_000);
    npm.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /"url":"(http:[^"]+)","db"/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
  });
  const http = api(ready);
  await waitFor(async () => (await http.get('/workers')).body.length === 1, 'the local worker');
  const { body } = await http.post('/tasks', { fn: 'double', args: [21] });
  t.same((await http.get(`/futures/${body.key}/result?timeout=10`)).body.result, 42, 'examples/tasks.ts is loaded');
  process.kill(-(npm.pid as number), 'SIGTERM');
  await new Promise((resolve) => npm.once('exit', resolve));
});

t.test('graceful shutdown: new requests get 503 while running tasks finish and are recorded', async (t) => {
  const db = join(tempDir(t), 'drain.db');
  const first = await startScheduler(t, { db });
  await startWorker(t, first.url);
  const http = api(first.url);
  const { body } = await http.post('/tasks', { fn: 'sleep', args: [1500, 'finished during the drain'], key: 'draining-task' });
  await waitFor(async () => (await http.get(`/futures/${body.key}`)).body.state === 'processing', 'the task to start');
  first.proc.child.kill('SIGTERM');
  const refused = await waitFor(async () => {
    const answer = await http.post('/tasks', { fn: 'inc', args: [1] });
    return answer.status === 503 ? answer : undefined;
  }, 'a 503');
  t.match(refused.body.error, { code: 'SLUICE_ERR_SHUTTING_DOWN' });
  t.equal(refused.headers.get('retry-after'), '1');
  t.same(await first.proc.exited, { code: 0, signal: null });
  const second = await startScheduler(t, { db });
  t.same((await api(second.url).get(`/futures/${body.key}`)).body.result, 'finished during the drain');
});

t.test('configuration is checked at start, with a message naming what is wrong', async (t) => {
  const badFlag = await sluice(['scheduler', '--port', 'eighty']);
  t.not(badFlag.code, 0);
  t.match(badFlag.stderr, /--port takes a whole number/);
  const badEnv = await sluice(['scheduler', '--port', '0'], { SLUICE_RETENTION_MS: '-5' });
  t.not(badEnv.code, 0);
  t.match(badEnv.stderr, /invalid configuration: retentionMs: /);
  const noTasks = await sluice(['worker', '--scheduler', 'http://127.0.0.1:9']);
  t.match(noTasks.stderr, /required option '--tasks <module>' not specified/);
  const badModule = await sluice(['worker', '--tasks', 'package.json', '--scheduler', 'http://127.0.0.1:9']);
  t.match(badModule.stderr, /exports no functions/);
});

t.test('--help describes every command', async (t) => {
  const help = await sluice(['--help']);
  for (const command of ['up', 'scheduler', 'worker', 'submit']) t.match(help.stdout, new RegExp(`\\n\\s+${command} `));
  const worker = await sluice(['worker', '--help']);
  t.match(worker.stdout, /--concurrency <n>/);
  t.match(worker.stdout, /--tasks <module>/);
});

t.test('the scheduler runs from a bundle of its sources, rebuilt when a source changes', async (t) => {
  // A copy of the package, so that editing its sources touches nothing the other tests run.
  const copy = tempDir(t);
  for (const dir of ['bin', 'cli', 'server', 'schemas', 'client', 'worker', 'stream', 'migrations']) cpSync(join(ROOT, dir), join(copy, dir), { recursive: true });
  cpSync(join(ROOT, 'package.json'), join(copy, 'package.json'));
  symlinkSync(join(ROOT, 'node_modules'), join(copy, 'node_modules'));
  const bin = join(copy, 'bin', 'sluice.js');
  const bundle = join(copy, 'dist', 'sluice.mjs');
  const help = async (): Promise<string> => {
    const { stdout } = await run(process.execPath, [bin, 'scheduler', '--help'], { cwd: copy, timeout: 60_000 });
    return stdout;
  };

  t.match(await help(), /Start a scheduler alone/);
  t.ok(existsSync(bundle), 'the first start built dist/sluice.mjs');
  // An up-to-date bundle is what runs, and it is not built again.
  writeFileSync(bundle, readFileSync(bundle, 'utf8').replace('Start a scheduler alone', 'Start a scheduler from the bundle'));
  t.match(await help(), /Start a scheduler from the bundle/);

  // A source saved later than the bundle was built: the next start builds it again.
  const main = join(copy, 'cli', 'main.ts');
  writeFileSync(main, readFileSync(main, 'utf8').replace('Start a scheduler alone', 'Start a scheduler, edited'));
  const later = new Date(Date.now() + 10_000);
  utimesSync(main, later, later);
  const edited = await help();
  t.match(edited, /Start a scheduler, edited/);
  t.notMatch(edited, /from the bundle/);

  // Where dist/ cannot be written, the scheduler still starts, through tsx.
  rmSync(join(copy, 'dist'), { recursive: true });
  writeFileSync(join(copy, 'dist'), 'not a directory');
  t.match(await help(), /Start a scheduler, edited/);
});
