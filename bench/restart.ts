// Restart: a database with 1M channel entries and 100k unfinished tasks (made
// directly in SQLite with sluice's own migrations, the fastest way to get
// there), then the time from starting the scheduler to its first answers.
// Also what checking the store at start costs (each check on its own, then
// the restart with the default check and without one), and the scheduler's
// memory holding 100k queued tasks.
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { channelEntryHolder, FIRE_AND_FORGET } from '../server/state/holder-kinds.ts';
import { openDatabase } from '../server/storage/sqlite/database.ts';
import { Proc } from '../test/helpers/processes.ts';
import { postJson, print, quick, type Result, round } from './lib.ts';

const results: Result[] = [];
const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-restart-'));

function rssMB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return round(Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024, 1);
}

/** The V8 heap in use, from the scheduler's own metrics. */
async function heapMB(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('sluice_nodejs_heap_size_used_bytes '));
  return round(Number(line?.split(' ')[1] ?? 0) / 1024 / 1024, 1);
}

/** The heap in use beyond which the scheduler sheds load, as it logged at start. */
function sheddingMB(scheduler: Proc): number | undefined {
  for (const line of scheduler.lines) {
    try {
      const entry = JSON.parse(line) as { maxHeapUsedMb?: number };
      if (entry.maxHeapUsedMb !== undefined) return entry.maxHeapUsedMb;
    } catch {
      // not a log line
    }
  }
  return undefined;
}

try {
  const entries = quick ? 100_000 : 1_000_000;
  const pending = quick ? 10_000 : 100_000;
  const db = join(dir, 'restart.db');
  {
    const sqlite = openDatabase(db);
    const now = Date.now();
    const insertTask = sqlite.prepare(
      `INSERT INTO tasks (key, seq, fn, args, status, submitted_at, owner, result, finished_at) VALUES (?, ?, 'inc', ?, ?, ?, ?, ?, ?)`,
    );
    const insertEntry = sqlite.prepare('INSERT INTO channel_entries (channel, seq, key) VALUES (?, ?, ?)');
    const insertHold = sqlite.prepare('INSERT INTO holds (key, holder) VALUES (?, ?)');
    sqlite.transaction(() => {
      for (let i = 0; i < pending; i++) insertTask.run(`pending-${i}`, i, `[${i}]`, 'pending', now, FIRE_AND_FORGET, null, null);
      const kept = 1000;
      for (let i = 0; i < kept; i++) insertTask.run(`kept-${i}`, pending + i, `[${i}]`, 'finished', now, null, String(i + 1), now);
      for (let c = 0; c < 10; c++) {
        const name = `channel-${c}`;
        sqlite.prepare('INSERT INTO channels (name, maxlen, stopped, first_seq, last_seq, created_at) VALUES (?, NULL, 0, 1, ?, ?)').run(name, entries / 10, now);
        for (let seq = 1; seq <= entries / 10; seq++) {
          const key = `kept-${seq % kept}`;
          insertEntry.run(name, seq, key);
          insertHold.run(key, channelEntryHolder(name, seq));
        }
      }
    })();
    sqlite.close();
  }

  // Each check alone, in this process, on the file the restarts below read.
  {
    const sqlite = new Database(db, { readonly: true });
    const checks: Array<[string, string]> = [
      ['PRAGMA quick_check (every page; the default at start)', 'quick_check'],
      ['PRAGMA integrity_check (also every index against its table: --integrity-check full)', 'integrity_check'],
      ['PRAGMA integrity_check(1) (stops at the first problem; a sound file is read whole)', 'integrity_check(1)'],
      ['PRAGMA quick_check(tasks) (only the table a start reads; misses damaged channel entries)', 'quick_check(tasks)'],
    ];
    for (const [what, pragma] of checks) {
      const began = performance.now();
      const rows = sqlite.pragma(pragma) as Array<Record<string, string>>;
      if (Object.values(rows[0])[0] !== 'ok') throw new Error(`${pragma}: ${JSON.stringify(rows)}`);
      results.push({ workload: `restart: ${what}`, value: round(performance.now() - began, 0), unit: 'ms', params: { channelEntries: entries, unfinishedTasks: pending, fileMB: round(statSync(db).size / 1024 / 1024, 1) } });
    }
    sqlite.close();
  }

  for (const check of ['quick', 'off'] as const) {
    const started = performance.now();
    const scheduler = new Proc(['scheduler', '--insecure', '--port', '0', '--db', db, '--integrity-check', check]);
    try {
      const ready = await scheduler.waitForLog((e) => e.msg === 'sluice scheduler ready', 120_000);
      const url = ready.url as string;
      const listening = performance.now() - started;
      const answer = await fetch(`${url}/channels`);
      const channels = (await answer.json()) as Array<{ length: number }>;
      if (!answer.ok) throw new Error(`GET /channels: ${answer.status} ${JSON.stringify(channels)}`);
      const served = performance.now() - started;
      const total = channels.reduce((sum, c) => sum + c.length, 0);
      if (total !== entries) throw new Error(`expected ${entries} entries, the scheduler reports ${total}`);
      const info = (await (await fetch(`${url}/futures/pending-0`)).json()) as { status: string };
      if (info.status !== 'pending') throw new Error('the pending tasks did not come back');
      const params = { channelEntries: entries, unfinishedTasks: pending, integrityCheck: check, note: 'process start (including Node and loading the bundle) to the first answers' };
      const suffix = check === 'quick' ? '' : ', --integrity-check off';
      results.push({ workload: `restart: scheduler listening${suffix}`, value: round(listening, 0), unit: 'ms', params });
      results.push({ workload: `restart: serving requests${suffix}`, value: round(served, 0), unit: 'ms', params });
      if (check === 'quick') {
        results.push({ workload: 'memory: scheduler RSS after restoring the unfinished tasks', value: rssMB(scheduler.pid), unit: 'MB', params });
        results.push({
          workload: 'memory: V8 heap in use after restoring the unfinished tasks',
          value: await heapMB(url),
          unit: 'MB',
          params: { ...params, sheddingAtMB: sheddingMB(scheduler) },
        });
      }
    } finally {
      await scheduler.stop('SIGKILL');
    }
  }

  // 100k tasks submitted and queued (no worker runs them), in a fresh scheduler.
  const fresh = new Proc(['scheduler', '--insecure', '--port', '0', '--db', join(dir, 'memory.db')]);
  try {
    const ready = await fresh.waitForLog((e) => e.msg === 'sluice scheduler ready', 60_000);
    const url = ready.url as string;
    const before = rssMB(fresh.pid);
    let peakHeap = 0;
    for (let i = 0; i < pending; i += 10_000) {
      await postJson(`${url}/tasks`, { tasks: Array.from({ length: 10_000 }, (_, j) => ({ fn: 'nobodyRunsThis', args: [i + j], pure: false })) });
      peakHeap = Math.max(peakHeap, await heapMB(url));
    }
    // Right after the burst the heap still holds the garbage of the submissions
    // (request bodies, parsed and validated copies), until V8's memory reducer
    // collects it once the process is quiet. Both figures are reported.
    await new Promise((r) => setTimeout(r, 2000));
    const afterBurst = rssMB(fresh.pid);
    peakHeap = Math.max(peakHeap, await heapMB(url));
    results.push({
      workload: `memory: V8 heap in use at its highest while ${pending / 1000}k tasks are submitted`,
      value: peakHeap,
      unit: 'MB',
      params: { queuedTasks: pending, sheddingAtMB: sheddingMB(fresh), note: 'sampled after each request of 10k tasks; load is shed beyond sheddingAtMB' },
    });
    const settleSeconds = quick ? 5 : 45;
    const series: number[] = [];
    for (let s = 0; s < settleSeconds; s++) {
      await new Promise((r) => setTimeout(r, 1000));
      series.push(rssMB(fresh.pid));
    }
    const params = { queuedTasks: pending, idleRssMB: before, rssMBEverySecond: series };
    results.push({ workload: `memory: scheduler RSS with ${pending / 1000}k queued tasks, 2 s after the last submission`, value: afterBurst, unit: 'MB', params });
    results.push({ workload: `memory: scheduler RSS with ${pending / 1000}k queued tasks, ${2 + settleSeconds} s after (settled)`, value: series[series.length - 1], unit: 'MB', params });
  } finally {
    await fresh.stop('SIGKILL');
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

print('restart', results);
