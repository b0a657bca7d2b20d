// sluice's figures from Python for `npm run bench:peers` and bench/python.ts:
// a real scheduler and one Python worker (python3 -m sluice.worker, with
// bench/python/tasks.py), driven by bench/python/sluice_bench.py through the
// synchronous Python client, under the first Python that imports aiohttp.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { findPython, PYTHON_DIR, PYTHON_INSTALL, startPythonWorker } from '../../test/helpers/python.ts';
import type { PeerReport, PeerResult } from '../compare.ts';
import { Cleanup, cluster } from '../lib.ts';

const SCRIPT = fileURLToPath(new URL('../python/sluice_bench.py', import.meta.url));
const TASKS = fileURLToPath(new URL('../python/tasks.py', import.meta.url));
/** Threads of the worker's pool that run the trivial tasks. */
const CONCURRENCY = 32;

export async function runPython(quick: boolean): Promise<PeerReport> {
  const python = findPython();
  if (python === undefined) return { available: false, reason: 'no Python 3.11+ that can import aiohttp', install: PYTHON_INSTALL };
  const cleanup = new Cleanup();
  try {
    const { url } = await cluster(cleanup);
    await startPythonWorker(cleanup, url, { tasks: TASKS, concurrency: CONCURRENCY, args: ['--log-level', 'warning'] });
    const { stdout } = await promisify(execFile)(python, [SCRIPT, '--scheduler', url, ...(quick ? ['--quick'] : [])], {
      env: { ...process.env, PYTHONPATH: PYTHON_DIR },
      maxBuffer: 16 * 1024 * 1024,
      timeout: 15 * 60_000,
      killSignal: 'SIGKILL',
    });
    const report = JSON.parse(stdout) as { python: string; results: PeerResult[] };
    return {
      available: true,
      version: 'python/ 0.1.0',
      setup: `synchronous Python client, 1 Python worker with ${CONCURRENCY} threads`,
      python: `${python} (${report.python})`,
      results: report.results,
    };
  } finally {
    await cleanup.run();
  }
}
