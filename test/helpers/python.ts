import { execFile, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Test } from 'tap';
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
  /** Where to look for it once started (the url by default; give one when url lists several schedulers). */
  joinedAt?: string;
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
      return (await api(options.joinedAt ?? url).get<Array<{ name: string }>>('/workers')).body.some((w) => w.name === name);
    },
    `Python worker ${name} to join`,
    30_000,
  );
  return Object.assign(proc, { name });
}

/** Run one Python test module (python/tests/<module>.py) with unittest; SLUICE_SCHEDULER and the rest come in env. */
export function runPythonSuite(module: string, env: NodeJS.ProcessEnv): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(
      requirePython(),
      ['-m', 'unittest', '-v', module],
      {
        cwd: join(PYTHON_DIR, 'tests'),
        env: { ...process.env, PYTHONPATH: PYTHON_DIR, PYTHONUNBUFFERED: '1', ...env },
        timeout: 200_000,
        killSignal: 'SIGKILL',
        maxBuffer: 16 * 1024 * 1024,
      },
      (error, stdout, stderr) => resolve({ code: error ? Number((error as { code?: unknown }).code ?? 1) || 1 : 0, output: `${stdout}${stderr}` }),
    );
  });
}

/** A tap subtest per Python test module: green when unittest says OK; its output when not. */
export function pythonSuites(t: Test, modules: string[], env: () => NodeJS.ProcessEnv): void {
  for (const module of modules) {
    t.test(`python/tests/${module}.py`, async (t) => {
      const { code, output } = await runPythonSuite(module, env());
      const summary = output.match(/^Ran \d+ tests? in .*$/m)?.[0] ?? 'no summary';
      t.equal(code, 0, `${module}: ${summary}`, code === 0 ? {} : { output: output.slice(-8000) });
      t.match(output, /^OK/m, 'unittest says OK');
    });
  }
}
