// The Python client (python/sluice) against real scheduler and worker
// processes of both languages: the Python test suites (unittest) run against
// a scheduler with a TypeScript worker and a Python worker.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import t from 'tap';
import { startScheduler, startWorker } from '../helpers/cluster.ts';
import { PYTHON_DIR, requirePython, startPythonWorker } from '../helpers/python.ts';

const python = requirePython();
const scheduler = await startScheduler(t);
const tsWorker = await startWorker(t, scheduler.url, { concurrency: 4 });
const pyWorker = await startPythonWorker(t, scheduler.url, { concurrency: 4 });

/** Run one Python test module (python/tests/<module>.py) with unittest against this cluster. */
export function runPythonSuite(module: string, env: NodeJS.ProcessEnv = {}): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(
      python,
      ['-m', 'unittest', '-v', module],
      {
        cwd: join(PYTHON_DIR, 'tests'),
        env: { ...process.env, PYTHONPATH: PYTHON_DIR, PYTHONUNBUFFERED: '1', SLUICE_SCHEDULER: scheduler.url, SLUICE_TS_WORKER: tsWorker.name, SLUICE_PY_WORKER: pyWorker.name, ...env },
        timeout: 180_000,
        killSignal: 'SIGKILL',
        maxBuffer: 16 * 1024 * 1024,
      },
      (error, stdout, stderr) => resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, output: `${stdout}${stderr}` }),
    );
  });
}

for (const module of ['test_client', 'test_async', 'test_channels', 'test_coordination']) {
  t.test(`python/tests/${module}.py`, async (t) => {
    const { code, output } = await runPythonSuite(module);
    const summary = output.match(/^Ran \d+ tests? in .*$/m)?.[0] ?? 'no summary';
    t.equal(code, 0, `${module}: ${summary}`, { output: code === 0 ? undefined : output.slice(-8000) });
    t.match(output, /^OK/m, 'unittest says OK');
  });
}
