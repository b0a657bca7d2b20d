"""The Python worker against a scheduler that misbehaves: a raw WebSocket server stands in
for the scheduler and sends what the protocol does not allow."""

import asyncio
import json
import sys
import unittest

from aiohttp import web

from support import HERE, PYTHON_DIR, Proc


class HostileSchedulerTest(unittest.IsolatedAsyncioTestCase):
    async def test_bad_messages_are_logged_and_the_worker_keeps_serving(self):
        received: asyncio.Queue = asyncio.Queue()

        async def worker_socket(request):
            ws = web.WebSocketResponse()
            await ws.prepare(request)
            hello = json.loads((await ws.receive()).data)
            await received.put(hello)
            await ws.send_str(json.dumps({"type": "welcome", "workerId": "w-test", "heartbeatMs": 60000}))
            await ws.send_str("not json at all")
            await ws.send_str(json.dumps({"type": "run", "tasks": [{"fn": "solo_inc"}]}))  # no key, no args
            await ws.send_str(json.dumps({"type": "mystery"}))
            await ws.send_str(json.dumps({"type": "run", "tasks": [{"key": "k1", "fn": "solo_inc", "args": "[41]", "kwargs": None, "attempt": 1, "timeoutMs": None}]}))
            await ws.send_str(json.dumps({"type": "run", "tasks": [{"key": "k2", "fn": "solo_inc", "args": "{not json", "kwargs": None, "attempt": 1, "timeoutMs": None}]}))
            async for message in ws:
                await received.put(json.loads(message.data))
            return ws

        app = web.Application()
        app.router.add_get("/ws/worker", worker_socket)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self.addAsyncCleanup(runner.cleanup)
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

        worker = Proc([sys.executable, "-m", "sluice.worker", "--scheduler", f"http://127.0.0.1:{port}", "--tasks", str(HERE / "solo_tasks.py")], cwd=PYTHON_DIR, env={"PYTHONPATH": str(PYTHON_DIR)})
        self.addCleanup(worker.stop)
        hello = await asyncio.wait_for(received.get(), 30)
        self.assertEqual(hello["type"], "hello")
        self.assertIn("solo_inc", hello["functions"])
        self.assertNotIn("_not_a_task", hello["functions"])
        reports = {}
        while set(reports) != {"k1", "k2"}:
            message = await asyncio.wait_for(received.get(), 30)
            if message["type"] == "report":
                for item in message["items"]:
                    reports[item["key"]] = item
        self.assertEqual(reports["k1"]["status"], "finished")
        self.assertEqual(json.loads(reports["k1"]["result"]), 42)
        self.assertEqual(reports["k2"]["status"], "error", "arguments that are not JSON fail that task alone")
        self.assertIsNone(worker.popen.poll(), "the worker is still running")
        self.assertIn("could not handle a message", worker.output())


if __name__ == "__main__":
    unittest.main()
