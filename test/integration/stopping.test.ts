// Stopping a local cluster: whichever of its processes gets SIGTERM or SIGINT, all of it drains and exits.
import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { api, tempDir } from '../helpers/cluster.ts';
import { Proc, ROOT, TASKS, type Teardown, waitFor } from '../helpers/processes.ts';

/** state and parent of a process, from /proc; undefined once it is gone (or a zombie). */
function stat(pid: number): { state: string; ppid: number } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const [state, ppid] = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return state === 'Z' || state === 'X' ? undefined : { state, ppid: Number(ppid) };
  } catch {
    return undefined;
  }
}

/** Every live process below pid. */
function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    const child = Number(entry);
    if (!Number.isInteger(child)) continue;
    const parent = stat(child)?.ppid;
    if (parent === undefined) continue;
    children.set(parent, [...(children.get(parent) ?? []), child]);
  }
  const found: number[] = [];
  const visit = (p: number): void => {
    for (const child of children.get(p) ?? []) {
      found.push(child);
      visit(child);
    }
  };
  visit(pid);
  return found;
}

/** Resolves once nothing listens on the scheduler's URL. */
async function notServing(url: string): Promise<boolean> {
  try {
    await fetch(`${url}/health`, { signal: AbortSignal.timeout(2_000) });
    return false;
  } catch {
    return true;
  }
}

/** `npm start` with a fresh database on a free port, in a process group of its own (killed at teardown). */
async function npmStart(t: Teardown): Promise<{ npm: ChildProcess; url: string; output: () => string }> {
  const db = join(tempDir(t), 'start.db');
  const npm = spawn('npm', ['start', '--', '--port', '0', '--db', db, '--workers', '2'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  t.teardown(() => {
    try {
      process.kill(-(npm.pid as number), 'SIGKILL');
    } catch {
      // already gone
    }
  });
  let output = '';
  npm.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`npm start did not get ready:\n${output}`)), 60_000);
    npm.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /"url":"(http:[^"]+)","db"/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
  });
  return { npm, url, output: () => output };
}

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  t.test(`npm start: ${signal} to npm's own pid stops the scheduler and its workers`, async (t) => {
    const { npm, url, output } = await npmStart(t);
    const http = api(url);
    await waitFor(async () => (await http.get('/workers')).body.length === 2, 'the two local workers', 30_000);
    const family = descendants(npm.pid as number);
    t.ok(family.length >= 3, `npm's processes: the cluster and its two workers (${family.length} below npm)`);
    const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => npm.once('exit', (code, sig) => resolve({ code, signal: sig })));
    process.kill(npm.pid as number, signal);
    await waitFor(() => notServing(url), 'the scheduler to stop serving', 30_000);
    await waitFor(() => family.every((pid) => stat(pid) === undefined), `every process of npm start to exit (left: ${family.filter((pid) => stat(pid))})`, 30_000);
    await Promise.race([exited, new Promise((_, reject) => setTimeout(() => reject(new Error(`npm did not exit:\n${output()}`)), 30_000))]);
    t.match(output(), /"msg":"shutting down"/, 'the cluster drained');
  });
}

t.test('sluice up: SIGTERM to one local worker stops the whole cluster', async (t) => {
  const db = join(tempDir(t), 'up.db');
  const up = new Proc(['up', '--port', '0', '--db', db, '--workers', '2', '--tasks', TASKS, '--concurrency', '2', '--insecure']);
  t.teardown(() => up.stop('SIGKILL'));
  const ready = await up.waitForLog((e) => e.msg === 'sluice scheduler ready', 30_000);
  const url = ready.url as string;
  const http = api(url);
  const workers = await waitFor(async () => {
    const list = (await http.get('/workers')).body as Array<{ name: string; pid: number }>;
    return list.length === 2 ? list : undefined;
  }, 'two local workers', 30_000);
  const { body } = await http.post('/tasks', { fn: 'sleep', args: [1000, 'finished while stopping'], key: 'running-at-the-stop' });
  await waitFor(async () => (await http.get(`/futures/${body.key}`)).body.state === 'processing', 'the task to start');
  const family = descendants(up.pid);
  process.kill(workers[0].pid, 'SIGTERM');
  t.same(await up.exited, { code: 0, signal: null }, 'the cluster process exits cleanly');
  t.ok(await notServing(url), 'nothing serves any more');
  await waitFor(() => family.every((pid) => stat(pid) === undefined), 'every worker process to exit', 20_000);
  t.notOk(up.lines.some((l) => l.includes('starting it again')), 'no worker was restarted');
  // The task that was running finished during the drain, and was recorded.
  const again = new Proc(['scheduler', '--port', '0', '--db', db, '--insecure']);
  t.teardown(() => again.stop('SIGKILL'));
  const second = await again.waitForLog((e) => e.msg === 'sluice scheduler ready', 30_000);
  t.same((await api(second.url as string).get(`/futures/${body.key}`)).body.result, 'finished while stopping');
});
