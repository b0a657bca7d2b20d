// The Python worker (python3 -m sluice.worker) in real processes: async and
// thread tasks, get_client/get_task/secede, cancellation and timeouts, a
// worker killed or drained mid-task, a scheduler restart, tokens.
import t from 'tap';
import { startScheduler } from '../helpers/cluster.ts';
import { pythonSuites, requirePython, startPythonWorker } from '../helpers/python.ts';

requirePython();
const scheduler = await startScheduler(t);
const pyWorker = await startPythonWorker(t, scheduler.url, { concurrency: 4 });

pythonSuites(t, ['test_worker', 'test_worker_protocol'], () => ({ SLUICE_SCHEDULER: scheduler.url, SLUICE_PY_WORKER: pyWorker.name }));
