// npm run bench [-- --quick]: run every benchmark suite, each against its own
// real scheduler and workers, and print one JSON document with all results.
// --store postgres runs the task suite on a private PostgreSQL (the others on SQLite).
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { machine, quick, store } from './lib.ts';

const SUITES = ['tasks.ts', 'channels.ts', 'queues.ts', 'streams.ts', 'restart.ts', 'dashboard.ts'];
const run = promisify(execFile);
const suites: unknown[] = [];
for (const suite of SUITES) {
  const file = fileURLToPath(new URL(suite, import.meta.url));
  try {
    const storeArgs = store === 'postgres' && suite === 'tasks.ts' ? ['--store', 'postgres'] : [];
    const { stdout } = await run(process.execPath, ['--import', 'tsx', file, ...(quick ? ['--quick'] : []), ...storeArgs], { maxBuffer: 64 * 1024 * 1024 });
    suites.push(JSON.parse(stdout));
  } catch (error) {
    // One suite failing (no Chromium for the dashboard, say) does not hide the others.
    suites.push({ suite: suite.replace(/\.ts$/, ''), error: String((error as { stderr?: string }).stderr || error).slice(-2000) });
  }
}
process.stdout.write(`${JSON.stringify({ date: new Date().toISOString(), quick, machine: machine(), suites }, null, 2)}\n`);
