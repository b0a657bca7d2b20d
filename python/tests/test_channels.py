"""Channels from Python: append, flush, stop, iterate (sync and async), the live deque, resuming."""

import signal
import threading
import time
import unittest

from sluice import Client, SluiceError

from support import Scheduler, http, scheduler_url, start_python_worker


def fresh(prefix):
    return f"{prefix}-{time.time_ns()}"


class ChannelTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.url = scheduler_url()
        cls.client = Client(cls.url)

    @classmethod
    def tearDownClass(cls):
        cls.client.close()

    def test_append_flush_stop_iterate(self):
        channel = self.client.channel(fresh("adds"), maxlen=1000)
        for i in range(3):
            channel.append(self.client.submit("py_add", i, 10))
        channel.flush()
        self.assertEqual(channel.info()["length"], 3)
        channel.stop()
        self.assertEqual([f.result(timeout=30) for f in channel], [10, 11, 12])
        self.assertEqual([(e.seq, e.future.result(timeout=30)) for e in channel.entries(2)], [(2, 11), (3, 12)])

    def test_another_client_sees_the_same_order_live(self):
        name = fresh("shared")
        reader = Client(self.url, set_as_default=False)
        seen = []
        try:
            iterator = iter(reader.channel(name))
            done = threading.Event()

            def read():
                for future in iterator:
                    seen.append(future.result(timeout=30))
                done.set()

            thread = threading.Thread(target=read)
            thread.start()
            writer = self.client.channel(name)
            for i in range(5):
                writer.append(self.client.submit("py_inc", i))
                if i == 2:
                    writer.flush()
            writer.stop()
            self.assertTrue(done.wait(30))
            thread.join(10)
            self.assertEqual(seen, [1, 2, 3, 4, 5])
        finally:
            reader.close()

    def test_futures_is_the_live_deque_with_maxlen(self):
        channel = self.client.channel(fresh("deque"), maxlen=3)
        self.assertEqual(len(channel.futures), 0)
        for i in range(5):
            channel.append(self.client.submit("py_inc", i))
        channel.flush()
        self.assertEqual([f.result(timeout=30) for f in channel.futures], [3, 4, 5])
        self.assertEqual(channel.futures.__class__.__name__, "deque")

    def test_a_refused_append_surfaces_at_flush(self):
        channel = self.client.channel(fresh("stopped"))
        channel.stop()
        channel.append(self.client.submit("py_inc", 1))
        with self.assertRaises(SluiceError) as caught:
            channel.flush()
        self.assertEqual(caught.exception.code, "SLUICE_ERR_CHANNEL_STOPPED")
        channel.append("no-such-key-at-all")
        with self.assertRaises(SluiceError):
            channel.flush()

    def test_breaking_out_of_an_iteration_closes_its_stream(self):
        channel = self.client.channel(fresh("break"))
        for i in range(3):
            channel.append(self.client.submit("py_inc", i))
        channel.flush()
        for future in channel:
            self.assertEqual(future.result(timeout=30), 1)
            break
        channel.close()

    def test_appends_survive_a_restart_and_iteration_resumes(self):
        scheduler = Scheduler(self)
        start_python_worker(self, scheduler.url, concurrency=2)
        client = Client(scheduler.url, set_as_default=False)
        self.addCleanup(client.close)
        name = fresh("durable")
        channel = client.channel(name)
        for i in range(3):
            channel.append(client.submit("py_inc", i))
        channel.flush()
        iterator = iter(channel)
        self.assertEqual(next(iterator).result(timeout=30), 1)
        scheduler.stop(signal.SIGKILL)
        scheduler.start()  # same port, same database
        self.assertEqual(next(iterator).result(timeout=60), 2)
        self.assertEqual(next(iterator).result(timeout=60), 3)
        channel.append(client.submit("py_inc", 10, pure=False))
        channel.flush()
        self.assertEqual(next(iterator).result(timeout=60), 11, "an entry appended after the restart comes next, none repeated")
        status, info = http(f"{scheduler.url}/channels/{name}")
        self.assertEqual(info["lastSeq"], 4)


if __name__ == "__main__":
    unittest.main()
