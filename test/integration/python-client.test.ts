// The Python client (python/sluice) in a cluster of both languages: the
// Python test suites (unittest) run against a real scheduler with a
// TypeScript worker (test/fixtures/tasks.ts) and a Python worker
// (python/tests/tasks.py), and a TypeScript client calls Python functions.
import { execFile, execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { Client } from '../../client/node.ts';
import { TaskError } from '../../client/errors.ts';
import { pureKey } from '../../schemas/keys.ts';
import { startScheduler, startWorker } from '../helpers/cluster.ts';
import { ROOT } from '../helpers/processes.ts';
import { PYTHON_DIR, pythonSuites, requirePython, startPythonWorker } from '../helpers/python.ts';

const run = promisify(execFile);
const python = requirePython(); // fails the file with what to install when there is no Python to run them
const scheduler = await startScheduler(t);
const tsWorker = await startWorker(t, scheduler.url, { concurrency: 4 });
const pyWorker = await startPythonWorker(t, scheduler.url, { concurrency: 4 });

t.test('a TypeScript client calls Python functions', async (t) => {
  const client = await Client.connect(scheduler.url);
  t.teardown(() => client.close());
  t.equal(await client.submit<number>('py_inc', [41]), 42);
  t.same(await client.submit('py_echo', [1, 'a'], { kwargs: { b: [true, null] } }), { args: [1, 'a'], kwargs: { b: [true, null] } }, 'kwargs become Python keyword arguments');
  t.equal(await client.submit('py_async_sleep', [0.05, 'async']), 'async');
  const error = await client.submit('py_fail', ['from python']).exception();
  t.ok(error instanceof TaskError);
  t.equal(error?.name, 'ZeroDivisionError');
  t.equal(error?.message, 'from python');
  t.match((error as TaskError).traceback, /Traceback \(most recent call last\)[\s\S]*in py_fail/);
  t.equal(await client.submit('py_inc', [client.submit('inc', [1])]), 3, 'a Python task on a TypeScript result');
});

t.test('both languages derive the same key for the same submission', async (t) => {
  const args = [1, { b: 2.5, a: 'é😀', c: [null, true, 1e21, 1e-7, -0] }];
  const kwargs = { z: 0.1, '\u{1F600}': 1, '\uffff': 2 };
  const script = 'import json, sys; from sluice.keys import pure_key; a = json.load(sys.stdin); print(pure_key("py_echo", a[0], a[1]))';
  const key = execFileSync(python, ['-c', script], { input: JSON.stringify([args, kwargs]), env: { ...process.env, PYTHONPATH: PYTHON_DIR } }).toString().trim();
  t.equal(key, pureKey('py_echo', args, kwargs));
});

pythonSuites(t, ['test_client', 'test_async', 'test_channels', 'test_coordination', 'test_mixed'], () => ({
  SLUICE_SCHEDULER: scheduler.url,
  SLUICE_TS_WORKER: tsWorker.name,
  SLUICE_PY_WORKER: pyWorker.name,
}));

t.test('the Python examples run: Dask’s channels example with local clients, and its asynchronous example', async (t) => {
  await startPythonWorker(t, scheduler.url, { tasks: join(PYTHON_DIR, 'examples/tasks.py'), concurrency: 4 });
  const example = async (file: string): Promise<string> => {
    const { stdout } = await run(python, [join(PYTHON_DIR, 'examples', file)], {
      env: { ...process.env, PYTHONPATH: PYTHON_DIR, SLUICE_SCHEDULER: scheduler.url },
      timeout: 120_000,
      killSignal: 'SIGKILL',
    });
    return stdout;
  };
  const docs = readFileSync(join(ROOT, 'docs/python.md'), 'utf8');
  for (const file of ['async_increment.py', 'local_client_channels.py']) {
    t.ok(docs.includes(`\`\`\`python\n${readFileSync(join(PYTHON_DIR, 'examples', file), 'utf8')}\`\`\``), `docs/python.md shows ${file} as it is`);
  }
  t.equal(await example('async_increment.py'), '11\n', 'the async example prints 11');
  const lines = (await example('local_client_channels.py')).trim().split('\n');
  t.equal(lines.length, 11);
  for (const line of lines.slice(0, 10)) {
    const sum = Number(line);
    t.ok(sum >= 0 && sum <= 2, `${line} is a sum of two random numbers`);
  }
  t.match(lines[10], /^combined \d+ pairs$/);
});
