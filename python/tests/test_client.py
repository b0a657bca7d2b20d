"""The synchronous client against a real scheduler, a TypeScript worker and a Python worker."""

import os
import signal
import subprocess
import sys
import threading
import time
import unittest

import sluice
from sluice import CancelledError, Client, SluiceError, TaskError, as_completed, fire_and_forget, wait
from sluice.keys import pure_key

from support import Scheduler, http, scheduler_url, start_python_worker, wait_until


class ClientTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.url = scheduler_url()
        cls.client = Client(cls.url)

    @classmethod
    def tearDownClass(cls):
        cls.client.close()

    def test_submit_returns_at_once_and_result_waits(self):
        future = self.client.submit("py_sleep", 0.2, "done", pure=False)
        self.assertEqual(future.status, "pending")
        self.assertFalse(future.done())
        self.assertEqual(future.result(timeout=30), "done")
        self.assertEqual(future.status, "finished")
        self.assertTrue(future.done())
        self.assertIn(future.key, repr(future))

    def test_pure_keys_are_the_schedulers(self):
        # A task sent without a key gets the scheduler's derived key: the client's is the same.
        args = [1, {"b": 2.5, "a": "é", "c": [None, True, 1e21, 1e-7]}]
        status, answer = http(self.url + "/tasks", "POST", {"fn": "py_echo", "args": args, "kwargs": {"z": 0.1}})
        self.assertEqual(status, 201)
        self.assertEqual(answer["key"], pure_key("py_echo", args, {"z": 0.1}))
        self.assertEqual(self.client.submit("py_echo", *args, z=0.1).key, answer["key"])
        self.assertEqual(self.client.submit("py_inc", 1).key, self.client.submit("py_inc", 1).key, "identical submissions share a task")
        self.assertNotEqual(self.client.submit("py_inc", 1, pure=False).key, self.client.submit("py_inc", 1, pure=False).key)
        self.assertEqual(self.client.submit("py_inc", 1, key="my-key-1").key, "my-key-1")

    def test_map_and_gather(self):
        futures = self.client.map("py_add", range(10), range(10, 20))
        self.assertEqual(self.client.gather(futures), [i + i + 10 for i in range(10)])
        nested = {"a": futures[0], "b": [futures[1], (futures[2], 7)], "c": "plain"}
        self.assertEqual(self.client.gather(nested), {"a": 10, "b": [12, (14, 7)], "c": "plain"})
        self.assertEqual(self.client.gather(futures[3]), 16)
        with self.assertRaises(TypeError):
            self.client.map("py_inc", [1], key="x")

    def test_gather_errors(self):
        good = self.client.submit("py_inc", 1)
        bad = self.client.submit("py_fail", "gather")
        with self.assertRaises(ZeroDivisionError):
            self.client.gather([good, bad])
        self.assertEqual(self.client.gather([good, bad], errors="skip"), [2])

    def test_futures_as_arguments_are_dependencies(self):
        a = self.client.submit("py_inc", 1)
        b = self.client.submit("py_inc", a)
        c = self.client.submit("py_echo", [a, {"x": b}])
        self.assertEqual(b.result(timeout=30), 3)
        self.assertEqual(c.result(timeout=30), {"args": [[2, {"x": 3}]], "kwargs": {}})

    def test_large_results_are_fetched_when_wanted(self):
        # Past the scheduler's inline limit (64 KiB) a status event says resultOmitted.
        big = self.client.submit("py_big", 200_000)
        self.assertEqual(len(big.result(timeout=30)), 200_000)
        self.assertEqual([len(r) for r in self.client.gather([self.client.submit("py_big", 100_000), big])], [100_000, 200_000])

    def test_scatter(self):
        futures = self.client.scatter([1, 2, 3])
        self.assertEqual([f.result() for f in futures], [1, 2, 3])
        self.assertTrue(all(f.done() for f in futures))
        named = self.client.scatter({"x": 10, "y": [1, 2]})
        self.assertEqual(named["y"].result(), [1, 2])
        one = self.client.scatter(5)
        self.assertEqual(self.client.submit("py_inc", one).result(timeout=30), 6)

    def test_errors_carry_the_python_traceback(self):
        future = self.client.submit("py_fail", "divided")
        with self.assertRaises(ZeroDivisionError) as caught:
            future.result(timeout=30)
        error = caught.exception
        self.assertIsInstance(error, TaskError)
        self.assertEqual(error.name, "ZeroDivisionError")
        self.assertEqual(str(error), "divided")
        self.assertIn("Traceback (most recent call last)", error.traceback)
        self.assertIn("in py_fail", error.traceback)
        self.assertNotIn("sluice/worker.py", error.traceback, "the worker's own frames are left out")
        self.assertIs(future.exception(), error)
        self.assertEqual(future.traceback(), error.traceback)
        self.assertEqual(future.status, "error")

    def test_dependants_of_an_error_err_with_it(self):
        bad = self.client.submit("py_fail", "upstream", pure=False)
        after = self.client.submit("py_inc", bad)
        with self.assertRaises(ZeroDivisionError) as caught:
            after.result(timeout=30)
        self.assertEqual(caught.exception.key, bad.key, "the error names the task that raised")

    def test_exception_is_none_when_finished(self):
        future = self.client.submit("py_inc", 41)
        self.assertIsNone(future.exception(timeout=30))
        self.assertIsNone(future.traceback())

    def test_result_timeout(self):
        future = self.client.submit("py_sleep", 2, pure=False)
        started = time.monotonic()
        with self.assertRaises(TimeoutError):
            future.result(timeout=0.2)
        self.assertLess(time.monotonic() - started, 1.5)

    def test_cancel(self):
        future = self.client.submit("py_hang", pure=False)
        self.assertEqual(future.cancel(), "cancelled")
        self.assertEqual(future.status, "cancelled")
        with self.assertRaises(CancelledError):
            future.result(timeout=10)
        self.assertIsInstance(future.exception(), CancelledError)
        self.client.cancel([self.client.submit("py_hang", pure=False)])

    def test_release_lets_the_scheduler_cancel_a_task_nobody_holds(self):
        future = self.client.submit("py_hang", pure=False)
        key = future.key
        self.client.flush()
        future.release()
        wait_until(lambda: http(f"{self.url}/futures/{key}")[1]["status"] == "cancelled", "the released task to be cancelled")

    def test_garbage_collection_releases(self):
        key = self.client.submit("py_hang", pure=False).key  # the Future is dropped at once
        wait_until(lambda: http(f"{self.url}/futures/{key}")[1].get("status") == "cancelled", "the dropped future's task to be cancelled")

    def test_flush_sends_the_releases_waiting_to_go_out_together(self):
        future = self.client.submit("py_hang", pure=False)
        key = future.key
        self.client.flush()
        del future  # released at once, sent with the next batch of releases
        self.client.flush()
        self.assertEqual(http(f"{self.url}/futures/{key}")[1]["status"], "cancelled")

    def test_a_future_dropped_and_submitted_again_stays_held(self):
        marker = time.time_ns() % 10**9
        key = self.client.submit("py_sleep", 0.3, marker).key  # dropped at once: its release waits
        again = self.client.submit("py_sleep", 0.3, marker)  # the same task again supersedes the release
        self.assertEqual(again.key, key)
        self.client.flush()
        self.assertEqual(again.result(timeout=30), marker)

    def test_future_for_a_known_key(self):
        other = Client(self.url, set_as_default=False)
        try:
            original = other.submit("py_inc", 99, pure=False)
            original.result(timeout=30)
            again = sluice.Future(original.key, self.client)
            self.assertEqual(again.result(timeout=30), 100)
            unknown = sluice.Future("no-such-key-anywhere", self.client)
            with self.assertRaises(SluiceError) as caught:
                unknown.result(timeout=30)
            self.assertEqual(caught.exception.code, "SLUICE_ERR_UNKNOWN_KEY")
        finally:
            other.close()

    def test_as_completed_yields_in_the_order_tasks_end(self):
        futures = [self.client.submit("py_sleep", s, s, pure=False) for s in (0.6, 0.05, 0.3)]
        self.assertEqual([f.result() for f in as_completed(futures)], [0.05, 0.3, 0.6])
        pairs = list(as_completed(self.client.map("py_inc", [1, 2]), with_results=True))
        self.assertEqual(sorted(r for _, r in pairs), [2, 3])

    def test_wait(self):
        slow = self.client.submit("py_sleep", 1.5, pure=False)
        fast = self.client.submit("py_inc", 5)
        done, not_done = wait([slow, fast], return_when="FIRST_COMPLETED", timeout=30)
        self.assertEqual(done, {fast})
        self.assertEqual(not_done, {slow})
        with self.assertRaises(TimeoutError):
            wait([slow], timeout=0.1)
        done, not_done = wait([slow, fast], timeout=30)
        self.assertEqual((len(done), len(not_done)), (2, 0))

    def test_add_done_callback(self):
        called = threading.Event()
        seen = []
        future = self.client.submit("py_inc", 7)
        future.add_done_callback(lambda f: (seen.append(f.key), called.set()))
        self.assertTrue(called.wait(30))
        self.assertEqual(seen, [future.key])

    def test_fire_and_forget_outlives_the_client(self):
        short = Client(self.url, set_as_default=False)
        future = short.submit("py_sleep", 0.5, "kept", pure=False)
        key = future.key
        fire_and_forget(future)
        short.close()
        status, answer = http(f"{self.url}/futures/{key}/result?timeout=30")
        self.assertEqual((status, answer["result"]), (200, "kept"))

    def test_retries(self):
        self.assertEqual(self.client.submit("py_flaky", 2, retries=2, pure=False).result(timeout=30), 3)
        with self.assertRaises(RuntimeError):
            self.client.submit("py_flaky", 2, retries=1, pure=False).result(timeout=30)

    def test_task_timeout(self):
        future = self.client.submit("py_hang", pure=False, task_timeout=0.3)
        with self.assertRaises(TimeoutError) as caught:
            future.result(timeout=30)
        self.assertIn("time limit", str(caught.exception))

    def test_bad_input_is_refused_clearly_and_alone(self):
        with self.assertRaises(TypeError):
            self.client.submit("py_inc", {1, 2})
        with self.assertRaises(TypeError) as caught:
            self.client.submit(len, 1)
        self.assertIn("name of a function", str(caught.exception))
        with self.assertRaises(ValueError):
            self.client.submit("py_inc", float("nan"), pure=False)
        bad = self.client.submit("py_inc", 1, key="no spaces allowed")
        good = self.client.submit("py_inc", 2, pure=False)
        with self.assertRaises(SluiceError) as caught:
            bad.result(timeout=30)
        self.assertEqual(caught.exception.code, "SLUICE_ERR_VALIDATION")
        self.assertIn("key", caught.exception.message)
        self.assertEqual(good.result(timeout=30), 3, "the good task of the same batch runs")

    def test_a_closed_client_refuses_and_fails_its_pending_futures(self):
        client = Client(self.url, set_as_default=False)
        pending = client.submit("py_sleep", 5, pure=False)
        client.flush()
        client.close()
        with self.assertRaises(SluiceError) as caught:
            pending.result(timeout=10)
        self.assertEqual(caught.exception.code, "SLUICE_ERR_CLOSED")
        with self.assertRaises(SluiceError):
            client.submit("py_inc", 1)
        client.close()  # twice is fine

    def test_a_script_that_ends_without_close_still_sends_what_it_submitted(self):
        marker = time.time_ns() % 10**9
        script = (
            "import sys; from sluice import Client, fire_and_forget\n"
            f"client = Client({self.url!r})\n"
            f"fire_and_forget(client.submit('py_inc', {marker}, key='script-{marker}'))\n"
        )
        done = subprocess.run([sys.executable, "-c", script], env={**os.environ}, capture_output=True, text=True, timeout=60)
        self.assertEqual(done.returncode, 0, done.stderr)
        status, answer = http(f"{self.url}/futures/script-{marker}/result?timeout=30")
        self.assertEqual((status, answer.get("result")), (200, marker + 1))

    def test_closing_ends_the_session(self):
        client = Client(self.url, set_as_default=False)
        self.assertTrue(client.id)
        client.close()
        status, _ = http(f"{self.url}/clients/{client.id}", "DELETE", headers={"sluice-client": client.id})
        self.assertIn(status, (204, 401, 403, 404))

    def test_a_session_ended_on_the_scheduler_is_replaced_and_the_client_goes_on(self):
        client = Client(self.url, set_as_default=False)
        self.addCleanup(client.close)
        finished = client.submit("py_inc", 41, pure=False)
        self.assertEqual(finished.result(timeout=30), 42)
        before = client.id
        # An admin ends the session (an insecure scheduler takes a caller without a token as admin).
        status, _ = http(f"{self.url}/clients/{before}", "DELETE")
        self.assertEqual(status, 204)
        # The next call meets SLUICE_ERR_SESSION_ENDED and the client starts a new session by itself.
        after = client.submit("py_inc", 1, pure=False)
        self.assertEqual(after.result(timeout=30), 2)
        wait_until(lambda: client.id != before, "a new session")
        self.assertNotEqual(client.id, before)
        # It acts as its new session: cancelling needs the holder.
        hanging = client.submit("py_sleep", 30, "never", pure=False)
        hanging.cancel()
        self.assertEqual(hanging.status, "cancelled")

    def test_a_pending_future_resolves_across_a_scheduler_kill_and_restart(self):
        scheduler = Scheduler(self)
        start_python_worker(self, scheduler.url, concurrency=2)
        client = Client(scheduler.url, set_as_default=False)
        self.addCleanup(client.close)
        future = client.submit("py_sleep", 1.0, "survived", pure=False)
        client.flush()  # acknowledged: committed before the answer
        scheduler.stop(signal.SIGKILL)
        queued_meanwhile = client.submit("py_inc", 1, pure=False)  # sent once the scheduler is back
        scheduler.start()
        self.assertEqual(future.result(timeout=60), "survived")
        self.assertEqual(queued_meanwhile.result(timeout=60), 2)

    def test_unreachable_scheduler(self):
        started = time.monotonic()
        with self.assertRaises(SluiceError) as caught:
            Client("http://127.0.0.1:9", timeout=1, set_as_default=False)
        self.assertEqual(caught.exception.code, "SLUICE_ERR_UNREACHABLE")
        self.assertLess(time.monotonic() - started, 10)

    def test_addresses_without_a_scheme(self):
        client = Client(self.url.replace("http://", ""), set_as_default=False)
        try:
            self.assertEqual(client.submit("py_inc", 0).result(timeout=30), 1)
        finally:
            client.close()

    def test_context_manager_and_many_threads(self):
        with Client(self.url, set_as_default=False) as client:
            results = []

            def work(i):
                results.append(client.submit("py_inc", i, pure=False).result(timeout=30))

            threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(60)
            self.assertEqual(sorted(results), list(range(1, 9)))
        self.assertTrue(client.closed)


if __name__ == "__main__":
    unittest.main()
