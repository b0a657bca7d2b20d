"""Queues, variables, events, locks and semaphores from Python, with Dask's names."""

import threading
import time
import unittest

from sluice import Client, Event, Future, Lock, Pub, Queue, Semaphore, SluiceError, Sub, Variable

from support import scheduler_url


def fresh(prefix):
    return f"{prefix}-{time.time_ns()}"


class CoordinationTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.url = scheduler_url()
        cls.client = Client(cls.url)
        cls.other = Client(cls.url, set_as_default=False)

    @classmethod
    def tearDownClass(cls):
        cls.other.close()
        cls.client.close()

    def test_queue_of_values_and_futures(self):
        name = fresh("jobs")
        queue = Queue(name)  # Dask's spelling: the default client
        self.assertEqual(queue.put({"video": 1}), 1)
        queue.put(self.client.submit("py_inc", 41))
        self.assertEqual(queue.qsize(), 2)
        theirs = self.other.queue(name)
        self.assertEqual(theirs.get(timeout=10), {"video": 1})
        future = theirs.get(timeout=10)
        self.assertIsInstance(future, Future)
        self.assertIs(future.client, self.other, "the getter's client holds it")
        self.assertEqual(future.result(timeout=30), 42)
        with self.assertRaises(TimeoutError):
            theirs.get(timeout=0.2)
        queue.put_many([1, 2, 3])
        self.assertEqual(queue.get(batch=2), [1, 2])
        self.assertEqual(queue.get(batch=True), [3])
        self.assertEqual(queue.get(batch=True), [])
        queue.delete()

    def test_a_get_waits_for_a_put_from_another_thread(self):
        name = fresh("wait")
        queue = self.client.queue(name)
        threading.Timer(0.3, lambda: self.other.queue(name).put("late")).start()
        self.assertEqual(queue.get(timeout=30), "late")

    def test_a_full_queue_makes_put_wait(self):
        queue = self.client.queue(fresh("full"), maxsize=1)
        queue.put(1)
        with self.assertRaises(TimeoutError):
            queue.put(2, timeout=0.2)
        self.assertEqual(queue.info()["maxsize"], 1)

    def test_variable(self):
        name = fresh("model")
        variable = Variable(name, client=self.client)
        with self.assertRaises(TimeoutError):
            variable.get(timeout=0.1)
        threading.Timer(0.3, lambda: self.other.variable(name).set({"version": 3})).start()
        self.assertEqual(variable.get(timeout=30), {"version": 3}, "get waits until it is set")
        variable.set({"best": self.client.submit("py_inc", 1)})
        best = self.other.variable(name).get()["best"]
        self.assertEqual(best.result(timeout=30), 2)
        variable.delete()
        with self.assertRaises(TimeoutError):
            variable.get(timeout=0)

    def test_event(self):
        name = fresh("ready")
        event = Event(name, client=self.client)
        self.assertFalse(event.is_set())
        self.assertFalse(event.wait(timeout=0.1))
        threading.Timer(0.2, lambda: self.other.event(name).set()).start()
        self.assertTrue(event.wait(timeout=30))
        event.clear()
        self.assertFalse(event.is_set())

    def test_lock_is_exclusive_and_fences_writes(self):
        name = fresh("deploy")
        mine = Lock(name, client=self.client)
        theirs = self.other.lock(name)
        self.assertTrue(mine.acquire())
        self.assertFalse(theirs.acquire(timeout=0.2))
        self.assertFalse(theirs.acquire(blocking=False))
        lease = mine.lease
        self.assertTrue(lease.held)
        variable = self.client.variable(fresh("deployed"))
        variable.set("v42", fence=lease)
        mine.release()
        self.assertFalse(lease.held)
        with self.assertRaises(SluiceError) as caught:
            variable.set("v43", fence=lease)
        self.assertEqual(caught.exception.code, "SLUICE_ERR_STALE_TOKEN")
        with theirs:
            self.assertGreater(theirs.lease.token, lease.token, "fencing tokens only go up")
            self.assertTrue(mine.locked())

    def test_a_closing_client_lets_go_of_its_lock_at_once(self):
        name = fresh("held")
        holder = Client(self.url, set_as_default=False)
        self.assertTrue(holder.lock(name).acquire())
        holder.close()
        self.assertTrue(self.client.lock(name).acquire(timeout=10))

    def test_semaphore(self):
        name = fresh("slots")
        semaphore = Semaphore(max_leases=2, name=name, client=self.client)
        self.assertTrue(semaphore.acquire())
        self.assertTrue(semaphore.acquire())
        self.assertFalse(semaphore.acquire(timeout=0.2))
        self.assertEqual(semaphore.get_value(), 2)
        semaphore.release()
        with self.other.semaphore(name, 2):
            self.assertEqual(semaphore.get_value(), 2)
        with self.assertRaises(SluiceError) as caught:
            self.other.semaphore(name, 3).acquire()
        self.assertEqual(caught.exception.code, "SLUICE_ERR_MAX_LEASES_CONFLICT")

    def test_pub_sub(self):
        name = fresh("news")
        sub = Sub(name, client=self.other)  # connected once made
        pub = Pub(name, client=self.client)
        self.assertEqual(pub.put({"n": 1}), 1, "it reached the one subscriber")
        pub.put("two")
        self.assertEqual(sub.get(timeout=10), {"n": 1})
        self.assertEqual(next(iter(sub)), "two")
        with self.assertRaises(TimeoutError):
            sub.get(timeout=0.2)
        sub.close()
        self.assertEqual(list(sub), [], "a closed subscription ends its iteration")
        self.assertEqual(sub.gaps, 0)

    def test_bad_names_are_refused_with_the_field(self):
        with self.assertRaises(SluiceError) as caught:
            self.client.queue("no spaces").put(1)
        self.assertEqual(caught.exception.code, "SLUICE_ERR_VALIDATION")


if __name__ == "__main__":
    unittest.main()
