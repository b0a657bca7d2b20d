"""The asynchronous client: Dask's "Asynchronous Operation" page, against a real cluster."""

import asyncio
import time
import unittest

from sluice import Client, Pub, SluiceError, Sub, as_completed, wait

from support import scheduler_url


async def _results(futures):
    """The results of an async iteration of futures, in order."""
    return [await f async for f in futures]


class AsyncClientTest(unittest.IsolatedAsyncioTestCase):
    async def asyncSetUp(self):
        self.url = scheduler_url()

    async def test_await_client_submit_await_future(self):
        client = await Client(self.url, asynchronous=True)
        future = client.submit("py_inc", 10)  # fast: not awaited
        self.assertEqual(await asyncio.wait_for(future, 30), 11)
        self.assertEqual(await asyncio.wait_for(client.gather(future), 30), 11)
        self.assertEqual(await asyncio.wait_for(client.submit("inc", 10), 30), 11, "a TypeScript function, the same way")
        await client.close()

    async def test_async_with_and_the_waiting_calls_are_coroutines(self):
        async with Client(self.url, asynchronous=True) as client:
            futures = client.map("py_inc", range(5))
            self.assertEqual(await asyncio.wait_for(client.gather(futures), 30), [1, 2, 3, 4, 5])
            self.assertEqual(await futures[0].result(timeout=10), 1)
            self.assertIsNone(await futures[0].exception())
            failing = client.submit("py_fail", "async")
            with self.assertRaises(ZeroDivisionError):
                await asyncio.wait_for(failing, 30)
            self.assertIn("py_fail", await failing.traceback())
            scattered = await client.scatter([1, 2])
            self.assertEqual(await asyncio.wait_for(client.submit("py_add", *scattered), 30), 3)
            hang = client.submit("py_async_hang", pure=False)
            self.assertEqual(await hang.cancel(), "cancelled")
        self.assertTrue(client.closed)

    async def test_submitting_before_awaiting_the_client(self):
        client = Client(self.url, asynchronous=True)
        future = client.submit("py_inc", 1, pure=False)  # queued until the client is connected
        self.assertEqual(await asyncio.wait_for(future, 30), 2)
        await client.close()

    async def test_as_completed_and_wait(self):
        async with Client(self.url, asynchronous=True) as client:
            futures = [client.submit("py_async_sleep", s, s, pure=False) for s in (0.5, 0.05, 0.25)]
            order = await asyncio.wait_for(_results(as_completed(futures)), 30)
            self.assertEqual(order, [0.05, 0.25, 0.5])
            slow = client.submit("py_async_sleep", 1.5, pure=False)
            fast = client.submit("py_inc", 2)
            done, not_done = await wait([slow, fast], return_when="FIRST_COMPLETED", timeout=30)
            self.assertEqual((done, not_done), ({fast}, {slow}))
            with self.assertRaises(TimeoutError):
                await slow.result(timeout=0.1)

    async def test_many_concurrent_awaits_on_one_loop(self):
        async with Client(self.url, asynchronous=True) as client:
            started = time.monotonic()
            results = await asyncio.wait_for(asyncio.gather(*(client.submit("py_async_sleep", 0.3, i, pure=False) for i in range(20))), 60)
            self.assertEqual(results, list(range(20)))
            self.assertLess(time.monotonic() - started, 20)

    async def test_channels_queues_and_locks_are_awaitable(self):
        async with Client(self.url, asynchronous=True) as client:
            name = f"async-{time.time_ns()}"
            channel = client.channel(name)
            for i in range(3):
                channel.append(client.submit("py_add", i, 100))
            await channel.flush()
            await channel.stop()
            self.assertEqual(await asyncio.wait_for(_results(channel), 30), [100, 101, 102])
            queue = client.queue(name)
            await queue.put(client.submit("py_inc", 1))
            item = await queue.get(timeout=10)
            self.assertEqual(await asyncio.wait_for(item, 30), 2)
            lock = client.lock(name)
            async with lock:
                self.assertTrue(await lock.locked())
            self.assertFalse(await lock.locked())
            sub = await Sub(name, client)
            await Pub(name, client).put([1, 2])
            self.assertEqual(await sub.get(timeout=10), [1, 2])
            sub.close()
            self.assertEqual([m async for m in sub], [])
            event = client.event(name)
            self.assertFalse(await event.wait(timeout=0.1))
            await event.set()
            self.assertTrue(await event.wait(timeout=5))

    async def test_a_blocking_call_on_the_loop_is_refused_not_a_deadlock(self):
        async with Client(self.url, asynchronous=True) as client:
            blocking = Client(_core=client._core, asynchronous=False)
            with self.assertRaises(RuntimeError) as caught:
                blocking.gather([])
            self.assertIn("asynchronous=True", str(caught.exception))

    async def test_a_synchronous_clients_future_can_be_awaited_elsewhere(self):
        client = await asyncio.to_thread(Client, self.url, set_as_default=False)
        try:
            self.assertEqual(await asyncio.wait_for(client.submit("py_inc", 5), 30), 6)
        finally:
            await asyncio.to_thread(client.close)

    async def test_unreachable(self):
        with self.assertRaises(SluiceError) as caught:
            await Client("http://127.0.0.1:9", asynchronous=True, timeout=1)
        self.assertEqual(caught.exception.code, "SLUICE_ERR_UNREACHABLE")

    def test_asynchronous_needs_a_running_loop(self):
        with self.assertRaises(RuntimeError):
            Client(self.url, asynchronous=True)


if __name__ == "__main__":
    unittest.main()
