"""A sluice worker in Python: ``python3 -m sluice.worker --scheduler URL --tasks tasks.py``.

Connects to the scheduler over its WebSocket, announces the public functions
of the tasks module, runs what it is given (plain functions in a thread pool,
``async def`` ones on the event loop), and reports results, errors (with the
Python traceback) and heartbeats. It reconnects by itself when the scheduler
restarts; SIGTERM drains it (running tasks finish, then it leaves); a second
signal exits at once."""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import contextvars
import importlib
import importlib.util
import inspect
import json
import logging
import os
import re
import signal
import socket
import sys
import threading
import traceback
from collections import deque
from pathlib import Path
from typing import Any, Callable

import aiohttp

from .client import Client
from .context import TaskContext, TaskInfo, current_task
from .core import Core
from .errors import SluiceError
from .http import Schedulers
from .keys import dumps

log = logging.getLogger("sluice.worker")

PROTOCOL_VERSION = 1
FN_PATTERN = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$.]{0,127}$")
LIMITS = {"name": 1024, "message": 64 * 1024, "traceback": 256 * 1024}


class _Running:
    __slots__ = ("key", "attempt", "connection", "info", "seceded", "task")

    def __init__(self, key: str, attempt: int, connection: int, info: TaskInfo):
        self.key = key
        self.attempt = attempt
        self.connection = connection
        self.info = info
        self.seceded = False
        self.task: asyncio.Task[Any] | None = None


def load_tasks(target: str) -> dict[str, Callable[..., Any]]:
    """The task functions of a module (a file path, or a dotted module name): the names in its
    ``__all__``, or else every public function defined in it (not those it imports)."""
    path = Path(target)
    if path.suffix == ".py" or path.exists():
        if not path.is_file():
            raise SystemExit(f"--tasks {target}: no such file")
        directory = str(path.resolve().parent)
        if directory not in sys.path:
            sys.path.insert(0, directory)  # so that the module imports its neighbours
        name = path.stem
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise SystemExit(f"--tasks {target}: cannot load it as a Python module")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    else:
        module = importlib.import_module(target)
    exported = getattr(module, "__all__", None)
    functions: dict[str, Callable[..., Any]] = {}
    for name, value in vars(module).items():
        if exported is not None:
            if name not in exported or not callable(value):
                continue
        elif name.startswith("_") or not inspect.isfunction(value) or value.__module__ != module.__name__:
            continue
        if not FN_PATTERN.match(name):
            raise SystemExit(f"--tasks {target}: {name} is not a valid function name")
        functions[name] = value
    if not functions:
        raise SystemExit(f"--tasks {target}: the module defines no public functions (nor lists any in __all__)")
    return functions


def describe_error(error: BaseException, skip_frames: int = 1) -> dict[str, str]:
    """name, message and traceback of an exception, without the worker's own frames, cut to what the protocol carries."""
    tb = error.__traceback__
    for _ in range(skip_frames):
        if tb is not None:
            tb = tb.tb_next
    text = "".join(traceback.format_exception(type(error), error, tb))
    return {
        "name": type(error).__name__[: LIMITS["name"]],
        "message": str(error)[: LIMITS["message"]],
        "traceback": text[-LIMITS["traceback"] :],
    }


class Worker:
    """A worker process's runtime. ``await worker.start()`` connects (retrying until welcomed);
    ``await worker.stop()`` drains and disconnects."""

    def __init__(
        self,
        scheduler: str | list[str],
        functions: dict[str, Callable[..., Any]],
        *,
        concurrency: int = 8,
        name: str | None = None,
        token: str | None = None,
        reconnect_min: float = 0.1,
        reconnect_max: float | None = None,
    ):
        self.schedulers = Schedulers(scheduler)
        self.functions = dict(functions)
        self.concurrency = concurrency
        self.name = name or f"{socket.gethostname()}-{os.getpid()}"
        self.token = token
        self.id: str | None = None
        self._min = reconnect_min
        # With several schedulers the next try goes to another one: a failover is over sooner.
        self._max = reconnect_max if reconnect_max is not None else (0.5 if self.schedulers.several else 5.0)
        self._running: dict[str, _Running] = {}
        self._reports: list[dict[str, Any]] = []
        self._flush_scheduled = False
        self._from_threads: deque[tuple[_Running, dict[str, Any]]] = deque()
        self._thread_wake_pending = False
        self._thread_lock = threading.Lock()
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._connection = 0
        self._heartbeat: asyncio.Task[None] | None = None
        self._stopping = False
        self._welcomed: asyncio.Future[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._session: aiohttp.ClientSession | None = None
        self._connector: asyncio.Task[None] | None = None
        self._max_result = float("inf")
        # Threads are made as tasks need them: seceded tasks keep theirs while new ones run.
        self._executor = concurrent.futures.ThreadPoolExecutor(max_workers=concurrency + 10_000, thread_name_prefix="sluice-task")
        self._core: Core | None = None
        self._clients: dict[bool, Client] = {}
        self._client_lock = threading.Lock()

    @property
    def running(self) -> int:
        return len(self._running)

    async def start(self) -> None:
        """Connect; returns once the scheduler has welcomed this worker (it keeps retrying until then)."""
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self._welcomed = self._loop.create_future()
        self._session = aiohttp.ClientSession()
        self._connector = self._loop.create_task(self._connect_loop())
        await asyncio.shield(self._welcomed)

    async def stop(self, grace: float = 10.0) -> None:
        """Tell the scheduler to send nothing more, let running tasks finish (up to grace seconds),
        report them, and disconnect. Tasks still running then are rescheduled by the scheduler."""
        if self._stopping:
            return
        self._stopping = True
        await self._send({"type": "draining"})
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace
        while self._running and loop.time() < deadline:
            await asyncio.sleep(0.02)
        self._drain_threads()
        self._flush_reports()
        await asyncio.sleep(0)
        if self._heartbeat:
            self._heartbeat.cancel()
        if self._core is not None:
            await self._core.close()
        ws = self._ws
        if ws is not None and not ws.closed:
            try:
                await asyncio.wait_for(ws.close(code=1000, message=b"worker stopping"), 1.0)
            except (asyncio.TimeoutError, aiohttp.ClientError, OSError):
                pass
        if self._connector:
            self._connector.cancel()
        if self._session:
            await self._session.close()
        self._executor.shutdown(wait=False, cancel_futures=True)

    # ── the connection ───────────────────────────────────────────────────

    @property
    def scheduler(self) -> str:
        """The scheduler in use (with several, the one found leading)."""
        return self.schedulers.current

    async def _connect_loop(self) -> None:
        headers = {"authorization": f"Bearer {self.token}"} if self.token else {}
        delay = self._min
        assert self._session is not None
        while not self._stopping:
            connection = self._connection = self._connection + 1
            base = self.schedulers.current
            url = re.sub(r"^http", "ws", base) + "/ws/worker"
            why = ""
            try:
                # With several schedulers, ping every 10 s and leave one that does not answer (cut off by the network).
                heartbeat = 10.0 if self.schedulers.several else None
                async with self._session.ws_connect(url, headers=headers, max_msg_size=256 * 1024 * 1024, autoping=True, heartbeat=heartbeat) as ws:
                    self._ws = ws
                    await ws.send_str(
                        json.dumps(
                            {"type": "hello", "protocol": PROTOCOL_VERSION, "name": self.name, "functions": list(self.functions), "concurrency": self.concurrency, "pid": os.getpid()}
                        )
                    )
                    async for message in ws:
                        if message.type == aiohttp.WSMsgType.TEXT:
                            try:
                                if self._on_message(message.data, connection):
                                    delay = self._min
                            except Exception:  # a message not as the protocol says: say so, keep serving
                                log.exception("could not handle a message from the scheduler: %.200s", message.data)
                        elif message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.ERROR):
                            break
                    why = f"code {ws.close_code}"
            except aiohttp.WSServerHandshakeError as error:
                if error.status in (401, 403):
                    log.error("the scheduler refused this worker (%s): give it a worker token (--token or SLUICE_TOKEN)", error.status)
                elif error.status == 503 and self.schedulers.several:
                    # A standby, or a scheduler shutting down: another one may lead.
                    self.schedulers.failed(base, SluiceError("SLUICE_ERR_STANDBY", "the scheduler does not serve", 503))
                else:
                    log.warning("the scheduler refused the worker connection for now (%s)", error.status)
                why = f"status {error.status}"
            except (aiohttp.ClientError, OSError, asyncio.TimeoutError) as error:
                why = str(error) or type(error).__name__
                self.schedulers.stream_dropped(base, error)
            finally:
                self._ws = None
                self.id = None
                if self._heartbeat:
                    self._heartbeat.cancel()
                self._abandon_running("the connection to the scheduler closed")
            if self._stopping:
                return
            log.warning("disconnected from the scheduler (%s), reconnecting in %.1f s", why, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, self._max)

    def _on_message(self, data: str, connection: int) -> bool:
        """Handle one message; True on a welcome."""
        if connection != self._connection:
            return False
        try:
            message = json.loads(data)
            kind = message["type"]
        except (ValueError, KeyError, TypeError):
            log.error("unexpected message from the scheduler: %.200s", data)
            return False
        if kind == "welcome":
            self.id = message["workerId"]
            self._max_result = message.get("maxResultBytes") or float("inf")
            if self._heartbeat:
                self._heartbeat.cancel()
            self._heartbeat = asyncio.get_running_loop().create_task(self._beat(message["heartbeatMs"] / 1000))
            log.info("connected to the scheduler %s as %s (%d functions)", self.scheduler, self.id, len(self.functions))
            if self._stopping:
                asyncio.get_running_loop().create_task(self._send({"type": "draining"}))
            if self._welcomed is not None and not self._welcomed.done():
                self._welcomed.set_result(None)
            return True
        if kind == "run":
            for task in message["tasks"]:
                self._run(task, connection)
        elif kind == "cancel":
            for item in message["items"]:
                running = self._running.get(item["key"])
                if running is None or running.attempt != item["attempt"]:
                    continue
                del self._running[item["key"]]
                running.info.cancelled.set()
                if running.task is not None:
                    running.task.cancel()
        return False

    async def _beat(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            await self._send({"type": "heartbeat"})

    async def _send(self, message: dict[str, Any]) -> None:
        ws = self._ws
        if ws is not None and not ws.closed:
            try:
                await ws.send_str(json.dumps(message))
            except (aiohttp.ClientError, OSError, RuntimeError) as error:
                log.debug("could not send to the scheduler: %s", error)

    # ── running tasks ────────────────────────────────────────────────────

    def _run(self, task: dict[str, Any], connection: int) -> None:
        key, attempt = task["key"], task["attempt"]
        info = TaskInfo(key=key, fn=task["fn"], attempt=attempt, worker=self.name)
        running = _Running(key, attempt, connection, info)
        self._running[key] = running
        context = TaskContext(info=info, client=self.client, secede=lambda: self._secede(running))
        fn = self.functions.get(task["fn"])
        try:
            if fn is None:
                raise LookupError(f"function {task['fn']} is not registered on worker {self.name}")
            args = json.loads(task["args"])
            kwargs = json.loads(task["kwargs"]) if task.get("kwargs") is not None else {}
        except Exception as error:
            self._report(running, {"key": key, "attempt": attempt, "status": "error", "error": describe_error(error, 0)})
            return
        if inspect.iscoroutinefunction(fn):
            running.task = asyncio.get_running_loop().create_task(self._run_async(running, fn, args, kwargs, context))
        else:
            self._executor.submit(contextvars.Context().run, self._run_in_thread, running, fn, args, kwargs, context)

    async def _run_async(self, running: _Running, fn: Callable[..., Any], args: list[Any], kwargs: dict[str, Any], context: TaskContext) -> None:
        current_task.set(context)
        try:
            value = await fn(*args, **kwargs)
        except asyncio.CancelledError:
            return  # the scheduler no longer wants it
        except Exception as error:
            self._report(running, self._erred(running, error, 1))
            return
        self._report(running, self._finished(running, value))

    def _run_in_thread(self, running: _Running, fn: Callable[..., Any], args: list[Any], kwargs: dict[str, Any], context: TaskContext) -> None:
        current_task.set(context)
        try:
            value = fn(*args, **kwargs)
            if inspect.isawaitable(value):  # a plain function that returned a coroutine: run it on the loop
                value = asyncio.run_coroutine_threadsafe(_awaited(value), self._loop).result()  # type: ignore[arg-type]
            report = self._finished(running, value)
        except Exception as error:
            report = self._erred(running, error, 1)
        self._from_thread(running, report)

    def _finished(self, running: _Running, value: Any) -> dict[str, Any]:
        try:
            result = dumps(value)
        except (TypeError, ValueError) as error:
            return {
                "key": running.key,
                "attempt": running.attempt,
                "status": "error",
                "error": {"name": "TypeError", "message": f"the result of task {running.key} cannot be sent as JSON: {error}", "traceback": ""},
            }
        if len(result) > self._max_result:
            return {
                "key": running.key,
                "attempt": running.attempt,
                "status": "error",
                "error": {
                    "name": "ResultTooLarge",
                    "message": f"the result of task {running.key} is {len(result)} characters of JSON, over the limit of {self._max_result}",
                    "traceback": "",
                },
            }
        return {"key": running.key, "attempt": running.attempt, "status": "finished", "result": result}

    def _erred(self, running: _Running, error: BaseException, skip: int) -> dict[str, Any]:
        return {"key": running.key, "attempt": running.attempt, "status": "error", "error": describe_error(error, skip)}

    def _from_thread(self, running: _Running, report: dict[str, Any]) -> None:
        """A report from a task thread: queued, with one wake-up of the loop per batch."""
        self._from_threads.append((running, report))
        with self._thread_lock:
            if self._thread_wake_pending:
                return
            self._thread_wake_pending = True
        try:
            self._loop.call_soon_threadsafe(self._drain_threads)  # type: ignore[union-attr]
        except RuntimeError:
            pass  # the loop is closed: the worker is gone

    def _drain_threads(self) -> None:
        with self._thread_lock:
            self._thread_wake_pending = False
        while self._from_threads:
            running, report = self._from_threads.popleft()
            self._report(running, report)

    def _report(self, running: _Running, report: dict[str, Any]) -> None:
        if self._running.get(running.key) is not running:
            return  # cancelled, timed out, or from an old connection
        del self._running[running.key]
        if running.connection != self._connection:
            return
        self._reports.append(report)
        if not self._flush_scheduled:
            # Tasks that end in the same turn of the loop share one frame.
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._flush_reports)

    def _flush_reports(self) -> None:
        self._flush_scheduled = False
        if not self._reports:
            return
        items, self._reports = self._reports, []
        ws = self._ws
        if ws is not None and not ws.closed:
            asyncio.get_running_loop().create_task(self._send({"type": "report", "items": items}))

    def _secede(self, running: _Running) -> None:
        if running.seceded or self._running.get(running.key) is not running:
            return
        running.seceded = True
        message = {"type": "secede", "key": running.key, "attempt": running.attempt}
        if threading.get_ident() == self._loop_thread:
            asyncio.get_running_loop().create_task(self._send(message))
        else:
            asyncio.run_coroutine_threadsafe(self._send(message), self._loop).result()  # type: ignore[arg-type]

    def _abandon_running(self, reason: str) -> None:
        for running in self._running.values():
            running.info.cancelled.set()
            if running.task is not None:
                running.task.cancel()
        self._running.clear()
        self._reports = []

    # ── get_client() ─────────────────────────────────────────────────────

    def client(self, asynchronous: bool) -> Client:
        """The client tasks get from get_client(): one session, asynchronous on the worker's loop
        (async def tasks) or synchronous from the task threads."""
        with self._client_lock:
            if self._core is None:
                loop = self._loop
                assert loop is not None
                core = Core(self.schedulers.all, loop, token=self.token)
                core.loop_thread = self._loop_thread
                self._core = core

                def start() -> None:
                    loop.create_task(core.start(30.0))

                if threading.get_ident() == self._loop_thread:
                    start()
                else:
                    loop.call_soon_threadsafe(start)
            client = self._clients.get(asynchronous)
            if client is None:
                client = self._clients[asynchronous] = Client(asynchronous=asynchronous, _core=self._core)
            return client


async def _awaited(value: Any) -> Any:
    return await value


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python3 -m sluice.worker", description="Start a worker that runs the public functions of a Python module.")
    parser.add_argument("--tasks", required=True, help="the tasks module: a .py file, or a dotted module name; each public function is a task")
    parser.add_argument(
        "--scheduler",
        default=os.environ.get("SLUICE_SCHEDULER", "http://localhost:8786"),
        help="scheduler URL; or several sharing one store, comma-separated: the leader is found, and followed when it changes (env SLUICE_SCHEDULER)",
    )
    parser.add_argument("--concurrency", type=int, default=8, help="tasks run at once (default 8)")
    parser.add_argument("--name", help="worker name shown in /workers (default host-pid)")
    parser.add_argument("--token", default=os.environ.get("SLUICE_TOKEN"), help="a worker token (env SLUICE_TOKEN)")
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error", "critical"], help="log level (default info)")
    options = parser.parse_args(argv)
    if options.concurrency < 1:
        parser.error("--concurrency: at least 1")
    logging.basicConfig(level=options.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    functions = load_tasks(options.tasks)
    asyncio.run(_serve(Worker(options.scheduler, functions, concurrency=options.concurrency, name=options.name, token=options.token)))


async def _serve(worker: Worker) -> None:
    loop = asyncio.get_running_loop()
    stopped = loop.create_future()
    signals = [0]

    def on_signal(signum: int) -> None:
        signals[0] += 1
        if signals[0] > 1:
            os._exit(1)
        log.info("stopping on %s: finishing %d running tasks", signal.Signals(signum).name, worker.running)

        async def stop() -> None:
            await worker.stop()
            if not stopped.done():
                stopped.set_result(None)

        loop.create_task(stop())

    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, on_signal, signum)
    log.info("worker %s starting: scheduler %s, functions %s", worker.name, worker.scheduler, ", ".join(worker.functions))
    await worker.start()
    await stopped


if __name__ == "__main__":
    main()
