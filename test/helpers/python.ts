import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { api } from './cluster.ts';
import { Proc, type Teardown, waitFor } from './processes.ts';

/** The Python package's directory (python/), put on PYTHONPATH for the workers and tests. */
export const PYTHON_DIR = fileURLToPath(new URL('../../python/', import.meta.url));

/** What the Python client and worker need beyond the standard library, and how to get it on Debian. */
export const PYTHON_INSTALL = 'sudo apt-get install -y python3 python3-aiohttp';

const CHECK = 'import sys, aiohttp; assert sys.version_info >= (3, 11), sys.version';

/**
 * The first Python that can run sluice's Python package: $SLUICE_PYTHON,
 * python3, then Debian's /usr/bin/python3 (which a pyenv or venv python3 on
 * the PATH may hide). Undefined if none can.
 */
export function findPython(): string | undefined {
  const candidates = [process.env.SLUICE_PYTHON, 'python3', '/usr/bin/python3'].filter((c): c is string => Boolean(c));
  return candidates.find((python) => spawnSync(python, ['-c', CHECK], { stdio: 'ignore' }).status === 0);
}

/** findPython(), or an error that says what to install. */
export function requirePython(): string {
  const python = findPython();
  if (python === undefined) {
    throw new Error(`no Python 3.11+ that can import aiohttp (tried $SLUICE_PYTHON, python3, /usr/bin/python3): ${PYTHON_INSTALL}, or set SLUICE_PYTHON`);
  }
  return python;
}

export interface PythonWorkerOptions {
  /** The tasks module, a .py file (default python/tests/tasks.py). */
  tasks?: string;
  concurrency?: number;
  name?: string;
  args?: string[];
  env?: NodeJS.ProcessEnv;
}

let pythonWorkers = 0;

/** Start a real Python worker (`python3 -m sluice.worker`) and wait until the scheduler lists it; stopped at teardown. */
export async function startPythonWorker(t: Teardown, url: string, options: PythonWorkerOptions = {}): Promise<Proc & { name: string }> {
  const name = options.name ?? `py-worker-${process.pid}-${++pythonWorkers}`;
  const proc = new Proc(
    ['-m', 'sluice.worker', '--scheduler', url, '--tasks', options.tasks ?? join(PYTHON_DIR, 'tests/tasks.py'), '--concurrency', String(options.concurrency ?? 4), '--name', name, ...(options.args ?? [])],
    { command: requirePython(), env: { PYTHONPATH: PYTHON_DIR, PYTHONUNBUFFERED: '1', ...options.env } },
  );
  t.teardown(() => proc.stop('SIGKILL'));
  await waitFor(
    async () => {
      if (!proc.running) throw new Error(`the Python worker exited:\n${proc.lines.slice(-30).join('\n')}`);
      return (await api(url).get<Array<{ name: string }>>('/workers')).body.some((w) => w.name === name);
    },
    `Python worker ${name} to join`,
    30_000,
  );
  return Object.assign(proc, { name });
}
