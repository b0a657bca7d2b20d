"""The Python worker: async def and thread tasks, get_client/get_task/secede, cancellation,
timeouts, a worker killed or drained mid-task, a scheduler restart, tokens, bad modules."""

import os
import signal
import subprocess
import sys
import time
import unittest

from sluice import Client, SluiceError

from support import HERE, PYTHON_DIR, Proc, Scheduler, http, scheduler_url, start_python_worker, wait_until


def fresh(prefix):
    return f"{prefix}-{time.time_ns()}"


class SharedWorkerTest(unittest.TestCase):
    """Against the shared cluster's Python worker."""

    @classmethod
    def setUpClass(cls):
        cls.url = scheduler_url()
        cls.client = Client(cls.url)

    @classmethod
    def tearDownClass(cls):
        cls.client.close()

    def test_async_tasks_run_together_on_the_loop(self):
        started = time.monotonic()
        futures = [self.client.submit("py_async_sleep", 0.5, i, pure=False) for i in range(12)]
        self.assertEqual(self.client.gather(futures), list(range(12)))
        # 12 half-second waits on a worker of concurrency 4: three rounds, not twelve.
        self.assertLess(time.monotonic() - started, 5.5)

    def test_get_task_kwargs_and_imported_functions_in_all(self):
        self.assertEqual(self.client.submit("py_where").result(timeout=30), "python:" + os.environ["SLUICE_PY_WORKER"])
        self.assertEqual(self.client.submit("py_echo", 1, [2], a={"b": None}).result(timeout=30), {"args": [1, [2]], "kwargs": {"a": {"b": None}}})
        self.assertEqual(self.client.submit("py_add_op", 2, 3).result(timeout=30), 5, "operator.add, listed in __all__")

    def test_results_json_cannot_carry_are_errors(self):
        with self.assertRaises(TypeError) as caught:
            self.client.submit("py_unserializable").result(timeout=30)
        self.assertIn("cannot be sent as JSON", str(caught.exception))
        with self.assertRaises(TypeError):
            self.client.submit("py_nan").result(timeout=30)

    def test_get_client_inside_tasks(self):
        self.assertEqual(self.client.submit("py_fan_out", 10, pure=False).result(timeout=60), 55)
        self.assertEqual(self.client.submit("py_async_fan_out", 10, pure=False).result(timeout=60), 55)


class OwnWorkerTest(unittest.TestCase):
    """Each test starts the workers (and perhaps the scheduler) it needs."""

    @classmethod
    def setUpClass(cls):
        cls.url = scheduler_url()

    def client(self, url=None):
        client = Client(url or self.url, set_as_default=False)
        self.addCleanup(client.close)
        return client

    def test_secede_lets_a_task_wait_on_tasks_it_submitted(self):
        # Concurrency 1: without secede the fan-out would hold the only slot its children need.
        start_python_worker(self, self.url, tasks="solo_tasks.py", concurrency=1)
        client = self.client()
        self.assertEqual(client.submit("solo_fan_out", 5, pure=False).result(timeout=60), 15)
        self.assertEqual(client.submit("solo_async_fan_out", 5, pure=False).result(timeout=60), 15)

    def test_cancelling_reaches_the_running_task(self):
        start_python_worker(self, self.url, tasks="solo_tasks.py", concurrency=2)
        client = self.client()
        for fn in ("solo_async_guard", "solo_thread_guard"):
            flag = fresh(fn)
            future = client.submit(fn, flag, pure=False)
            wait_until(lambda: http(f"{self.url}/futures/{future.key}")[1]["state"] == "processing", f"{fn} to run")
            self.assertEqual(future.cancel(), "cancelled")
            self.assertTrue(client.event(flag).wait(timeout=30), f"{fn} saw the cancellation")

    def test_a_timeout_cancels_a_thread_task(self):
        start_python_worker(self, self.url, tasks="solo_tasks.py", concurrency=1)
        client = self.client()
        flag = fresh("timeout")
        with self.assertRaises(TimeoutError):
            client.submit("solo_thread_guard", flag, pure=False, task_timeout=0.5).result(timeout=30)
        self.assertTrue(client.event(flag).wait(timeout=30))
        self.assertEqual(client.submit("solo_inc", 1, pure=False).result(timeout=30), 2, "the slot is free again")

    def test_a_killed_worker_s_task_runs_on_another(self):
        first = start_python_worker(self, self.url, tasks="solo_tasks.py", concurrency=1)
        second = start_python_worker(self, self.url, tasks="solo_tasks.py", concurrency=1)
        client = self.client()
        future = client.submit("solo_where", 1.5, pure=False)
        running_on = wait_until(lambda: http(f"{self.url}/futures/{future.key}")[1].get("worker"), "the task to start")
        victim, survivor = (first, second) if running_on == first.name else (second, first)
        victim.stop(signal.SIGKILL)
        self.assertEqual(future.result(timeout=60), survivor.name)

    def test_sigterm_drains_running_tasks_then_exits(self):
        worker = start_python_worker(self, self.url, tasks="solo_tasks.py", concurrency=1)
        client = self.client()
        future = client.submit("solo_where", 1.0, pure=False)
        wait_until(lambda: http(f"{self.url}/futures/{future.key}")[1].get("state") == "processing", "the task to start")
        worker.popen.send_signal(signal.SIGTERM)
        self.assertEqual(future.result(timeout=30), worker.name, "the running task finished on the draining worker")
        self.assertEqual(worker.popen.wait(30), 0)
        wait_until(lambda: all(w["name"] != worker.name for w in http(self.url + "/workers")[1]), "the worker to leave")

    def test_the_worker_reconnects_after_a_scheduler_restart_and_results_are_capped(self):
        scheduler = Scheduler(self, ["--max-result-bytes", "1000"])
        worker = start_python_worker(self, scheduler.url, tasks="solo_tasks.py", concurrency=2)
        client = self.client(scheduler.url)
        self.assertEqual(client.submit("solo_inc", 1).result(timeout=30), 2)
        with self.assertRaises(Exception) as caught:
            client.submit("solo_big", 5000).result(timeout=30)
        self.assertEqual(getattr(caught.exception, "name", ""), "ResultTooLarge")
        scheduler.stop(signal.SIGKILL)
        scheduler.start()
        self.assertEqual(client.submit("solo_inc", 2, pure=False).result(timeout=60), 3)
        self.assertIsNone(worker.popen.poll(), "the worker kept running")

    def test_a_secured_scheduler_needs_a_worker_token(self):
        scheduler = Scheduler(self, ["--worker-token", "worker-secret-0001", "--client-token", "client-secret-0001"])
        without = Proc([sys.executable, "-m", "sluice.worker", "--scheduler", scheduler.url, "--tasks", str(HERE / "solo_tasks.py"), "--name", "no-token"], cwd=PYTHON_DIR, env={"PYTHONPATH": str(PYTHON_DIR), "SLUICE_TOKEN": ""})
        self.addCleanup(without.stop)
        without.wait_for_line(lambda line: "refused this worker" in line, 30)
        self.assertIsNone(without.popen.poll(), "it keeps trying")
        with_token = Proc([sys.executable, "-m", "sluice.worker", "--scheduler", scheduler.url, "--tasks", str(HERE / "solo_tasks.py"), "--name", "with-token", "--token", "worker-secret-0001"], cwd=PYTHON_DIR, env={"PYTHONPATH": str(PYTHON_DIR)})
        self.addCleanup(with_token.stop)
        with_token.wait_for_line(lambda line: "connected to the scheduler" in line, 30)
        client = Client(scheduler.url, token="client-secret-0001", set_as_default=False)
        self.addCleanup(client.close)
        self.assertEqual(client.submit("solo_fan_out", 3, pure=False).result(timeout=60), 6, "get_client() in a task uses the worker's token")
        with self.assertRaises(SluiceError) as caught:
            Client(scheduler.url, token="wrong", set_as_default=False, timeout=5)
        self.assertEqual(caught.exception.status, 401)

    def test_bad_tasks_modules_are_refused_with_a_message(self):
        for target, message in (("nowhere/tasks.py", "no such file"), (str(HERE / "fixtures" / "no_functions.py"), "defines no public functions")):
            done = subprocess.run(
                [sys.executable, "-m", "sluice.worker", "--scheduler", self.url, "--tasks", target],
                cwd=PYTHON_DIR,
                env={**os.environ, "PYTHONPATH": str(PYTHON_DIR)},
                capture_output=True,
                text=True,
                timeout=60,
            )
            self.assertNotEqual(done.returncode, 0)
            self.assertIn(message, done.stderr)


if __name__ == "__main__":
    unittest.main()
