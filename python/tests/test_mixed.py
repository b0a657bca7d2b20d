"""A cluster of both languages, seen from Python: Python calls TypeScript, TypeScript results
and errors come back, and a function offered by workers of both languages goes to whichever is free."""

import os
import unittest

from sluice import Client, TaskError

from support import scheduler_url


class MixedClusterTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.url = scheduler_url()
        cls.client = Client(cls.url)

    @classmethod
    def tearDownClass(cls):
        cls.client.close()

    def test_python_calls_typescript(self):
        self.assertEqual(self.client.submit("inc", 10).result(timeout=30), 11)
        # kwargs reach a TypeScript function as one last object argument
        self.assertEqual(self.client.submit("echo", 1, "two", three=3).result(timeout=30), [1, "two", {"three": 3}])

    def test_typescript_errors_come_back_typed(self):
        with self.assertRaises(TypeError) as caught:  # the fixture throws a TypeError
            self.client.submit("fail", "from typescript").result(timeout=30)
        self.assertIsInstance(caught.exception, TaskError)
        self.assertIn("tasks.ts", caught.exception.traceback)

    def test_results_flow_between_languages(self):
        ts = self.client.submit("inc", 1)  # TypeScript
        py = self.client.submit("py_inc", ts)  # Python, on TypeScript's result
        back = self.client.submit("add", py, 10)  # TypeScript again
        self.assertEqual(back.result(timeout=30), 13)
        self.assertEqual(self.client.submit("py_call_ts", 4, pure=False).result(timeout=60), 50, "a Python task calls a TypeScript one")

    def test_a_function_both_languages_offer_goes_to_whichever_is_free(self):
        # whereAmI exists in both workers (4 slots each): eight at once fill both.
        futures = [self.client.submit("whereAmI", 400, pure=False) for _ in range(8)]
        places = self.client.gather(futures)
        python = [p for p in places if p.startswith("python:")]
        typescript = [p for p in places if not p.startswith("python:")]
        self.assertTrue(python and typescript, f"both languages ran some: {places}")
        self.assertEqual(set(typescript), {os.environ["SLUICE_TS_WORKER"]})


if __name__ == "__main__":
    unittest.main()
