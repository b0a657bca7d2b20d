// The Python client (python/sluice) against real scheduler and worker
// processes of both languages: the Python test suites (unittest) run against
// a scheduler with a TypeScript worker (test/fixtures/tasks.ts) and a Python
// worker (python/tests/tasks.py).
import t from 'tap';
import { startScheduler, startWorker } from '../helpers/cluster.ts';
import { pythonSuites, requirePython, startPythonWorker } from '../helpers/python.ts';

requirePython(); // fails the file with what to install when there is no Python to run them
const scheduler = await startScheduler(t);
const tsWorker = await startWorker(t, scheduler.url, { concurrency: 4 });
const pyWorker = await startPythonWorker(t, scheduler.url, { concurrency: 4 });

pythonSuites(t, ['test_client', 'test_async', 'test_channels', 'test_coordination'], () => ({
  SLUICE_SCHEDULER: scheduler.url,
  SLUICE_TS_WORKER: tsWorker.name,
  SLUICE_PY_WORKER: pyWorker.name,
}));
