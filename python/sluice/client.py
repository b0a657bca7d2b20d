"""The Client (Dask's Client): synchronous by default, asynchronous with
``asynchronous=True``; as_completed, wait and fire_and_forget."""

from __future__ import annotations

import asyncio
import atexit
import os
import threading
import weakref
from collections import deque
from typing import Any, Awaitable, Callable, Iterable, NamedTuple, TypeVar

from .core import Core
from .errors import SluiceError
from .future import Future
from .http import scheduler_urls
from .keys import canonical, pure_key, random_key

T = TypeVar("T")

DEFAULT_ADDRESS = "http://localhost:8786"

_clients: list[weakref.ref["Client"]] = []
_clients_lock = threading.Lock()


class _LoopThread:
    """The event loop that synchronous clients run on: one daemon thread per process (as Dask's)."""

    _instance: "_LoopThread | None" = None
    _lock = threading.Lock()

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        started = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(self.loop)
            started.set()
            self.loop.run_forever()

        self.thread = threading.Thread(target=run, name="sluice-client-loop", daemon=True)
        self.thread.start()
        started.wait()

    @classmethod
    def get(cls) -> "_LoopThread":
        with cls._lock:
            if cls._instance is None:
                cls._instance = cls()
            return cls._instance


def _close_at_exit() -> None:
    """What a script submitted and did not wait for is still sent (a fire-and-forget script that
    ends without close(), say): synchronous clients left open are closed at interpreter exit."""
    with _clients_lock:
        clients = [ref() for ref in _clients]
    for client in clients:
        if client is not None and not client.asynchronous and not client.closed:
            try:
                client.close(timeout=5)
            except Exception:  # exiting anyway
                pass


atexit.register(_close_at_exit)


def _normalise(address: str | list[str] | tuple[str, ...] | None) -> list[str]:
    """The scheduler URLs: one, or several sharing one store (a list, or comma-separated)."""
    return scheduler_urls(address or os.environ.get("SLUICE_SCHEDULER") or DEFAULT_ADDRESS)


class Client:
    """A connection to a sluice scheduler (Dask's Client).

    ``Client(address)`` connects at once and blocks in the calls that wait
    (``gather``, ``Future.result``...). ``Client(address, asynchronous=True)``
    is awaited (``client = await Client(..., asynchronous=True)`` or
    ``async with Client(..., asynchronous=True) as client``) and its waiting
    calls return coroutines. Either way ``submit`` and ``map`` return Futures
    at once: what they send is queued, coalesced and sent in order in the
    background, and the client hears about its futures on one SSE stream.

    Functions are named: ``submit("inc", 10)`` runs the function a worker
    registered as ``inc``, with JSON arguments.

    Several schedulers sharing one store (one leads, the others stand by) are
    given as a list or comma-separated: the client finds the one that leads,
    and moves to another by itself when it stops serving.
    """

    def __init__(
        self,
        address: str | list[str] | tuple[str, ...] | None = None,
        *,
        asynchronous: bool = False,
        token: str | None = None,
        headers: dict[str, str] | None = None,
        timeout: float = 10.0,
        retry_for: float = 60.0,
        batch_size: int = 1000,
        set_as_default: bool = True,
        _core: Core | None = None,
    ):
        self.asynchronous = asynchronous
        self._timeout = timeout
        self._started: asyncio.Task[None] | None = None
        if _core is not None:
            self._core = _core
            return
        token = token if token is not None else os.environ.get("SLUICE_TOKEN") or None
        options = dict(token=token, headers=headers, retry_for=retry_for, batch_size=batch_size)
        if asynchronous:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                raise RuntimeError("Client(asynchronous=True) is made inside a running event loop (in an async def)") from None
            self._core = Core(_normalise(address), loop, **options)  # type: ignore[arg-type]
            # Connecting starts now, so that what is submitted before the client is awaited goes out once it is connected.
            self._started = loop.create_task(self._core.start(timeout))
        else:
            runner = _LoopThread.get()
            self._core = Core(_normalise(address), runner.loop, **options)  # type: ignore[arg-type]
            try:
                asyncio.run_coroutine_threadsafe(self._core.start(timeout), runner.loop).result()
            except BaseException:
                asyncio.run_coroutine_threadsafe(self._core.close(0), runner.loop).result()
                raise
        if set_as_default:
            with _clients_lock:
                _clients.append(weakref.ref(self))

    # ── connecting and closing ───────────────────────────────────────────

    def __await__(self):
        return self._start().__await__()

    async def _start(self) -> "Client":
        if not self.asynchronous:
            return self
        if self._started is None:
            self._started = asyncio.ensure_future(self._core.start(self._timeout))
        try:
            await self._started
        except BaseException:
            await self._core.close(0)
            raise
        return self

    async def __aenter__(self) -> "Client":
        return await self._start()

    async def __aexit__(self, *exc: Any) -> None:
        await self._core.close()

    def __enter__(self) -> "Client":
        if self.asynchronous:
            raise TypeError("an asynchronous Client is entered with `async with`")
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self, timeout: float = 5.0) -> Any:
        """Send what is queued (waiting up to timeout seconds), release this client's futures, end the session."""
        with _clients_lock:
            _clients[:] = [r for r in _clients if r() not in (None, self)]
        return self._run(self._core.close(timeout))

    @property
    def id(self) -> str | None:
        """This session's id; the scheduler holds this client's futures under it."""
        return self._core.id

    @property
    def address(self) -> str:
        """The scheduler in use (with several, the one found leading)."""
        return self._core.url

    @property
    def addresses(self) -> list[str]:
        """Every scheduler this client was given."""
        return self._core.urls

    @property
    def closed(self) -> bool:
        return self._core.closed

    def __repr__(self) -> str:
        return f"<Client: {self._core.url} {'asynchronous' if self.asynchronous else 'synchronous'}{' closed' if self.closed else ''}>"

    # ── tasks ────────────────────────────────────────────────────────────

    def submit(
        self,
        fn: str,
        *args: Any,
        key: str | None = None,
        pure: bool = True,
        priority: int = 0,
        retries: int = 0,
        task_timeout: float | None = None,
        **kwargs: Any,
    ) -> Future:
        """Submit fn(*args, **kwargs); a Future at once. ``fn`` is the name a worker registered.

        ``pure`` (default) makes the key a hash of fn and the arguments, so identical
        submissions share one task; ``pure=False`` a fresh key. ``retries``: runs
        again after an error; ``task_timeout``: seconds each attempt may take."""
        if not isinstance(fn, str):
            raise TypeError(
                f"fn is the name of a function a worker registered (a str), not {type(fn).__name__}: "
                "code does not travel to the workers, names and JSON arguments do"
            )
        args_list = list(args)
        kw = kwargs or None
        if key is None and pure:
            key = pure_key(fn, args_list, kw)
        else:
            canonical([args_list, kw])  # JSON-able, or an error here rather than in the background
            key = key if key is not None else random_key(fn)
        spec: dict[str, Any] = {"fn": fn, "args": args_list, "key": key}
        if kw is not None:
            spec["kwargs"] = kw
        if priority:
            spec["priority"] = priority
        if retries:
            spec["retries"] = retries
        if task_timeout is not None:
            spec["timeoutMs"] = max(1, round(task_timeout * 1000))
        state = self._core.submit(spec)
        return Future(key, self, _state=state)

    def map(self, fn: str, *iterables: Iterable[Any], key: Any = None, pure: bool = True, **kwargs: Any) -> list[Future]:
        """submit(fn, *items) for each tuple of items from the iterables (as the built-in map)."""
        if key is not None:
            raise TypeError("map derives a key per task; it takes no key")
        return [self.submit(fn, *items, pure=pure, **kwargs) for items in zip(*iterables)]

    def gather(self, futures: Any, errors: str = "raise") -> Any:
        """The results of futures: a Future, or a list, tuple, set or dict of them (nested too), with
        the futures replaced by their results. errors='raise' raises the first error; 'skip' leaves
        out the futures that did not finish (in a list)."""
        if errors not in ("raise", "skip"):
            raise ValueError("errors is 'raise' or 'skip'")
        return self._run(self._gather(futures, errors))

    async def _gather(self, futures: Any, errors: str) -> Any:
        found: list[Future] = []
        _collect(futures, found)
        core = self._core
        for future in found:
            state = future._state
            if not state.done:
                await core.wait_done(state, None)
        results: dict[str, Any] = {}
        failed: set[str] = set()
        for future in found:
            try:
                results[future.key] = await core.value(future._state)
            except Exception:
                if errors == "raise":
                    raise
                failed.add(future.key)
        return _replace(futures, results, failed)

    def scatter(self, data: Any) -> Any:
        """Store values on the scheduler as finished futures: a list (or tuple) gives a list of futures,
        a dict a dict of them, anything else one future."""
        return self._run(self._scatter(data))

    async def _scatter(self, data: Any) -> Any:
        if isinstance(data, dict):
            keys = await self._core.scatter(list(data.values()))
            return {name: Future(key, self) for name, key in zip(data, keys)}
        if isinstance(data, (list, tuple)):
            keys = await self._core.scatter(list(data))
            return [Future(key, self) for key in keys]
        keys = await self._core.scatter([data])
        return Future(keys[0], self)

    def cancel(self, futures: Any) -> Any:
        """Cancel tasks (and what depends on them)."""
        return self._run(self._cancel(futures))

    async def _cancel(self, futures: Any) -> None:
        for future in [futures] if isinstance(futures, Future) else list(futures):
            await self._core.cancel(future.key)

    def fire_and_forget(self, futures: Any) -> None:
        """Keep these tasks running, and their results for the retention period, even after this client lets go."""
        for future in [futures] if isinstance(futures, Future) else list(futures):
            self._core.forget(future.key)

    def flush(self) -> Any:
        """Wait until everything queued so far has been acknowledged by the scheduler."""
        return self._run(self._core.flush())

    def get_future(self, key: str) -> Future:
        """A Future for a known key; this client holds it from now on."""
        return Future(key, self)

    # ── channels and coordination ────────────────────────────────────────

    def channel(self, name: str, maxlen: int | None | Any = ...) -> Any:
        """A channel: a named, ordered, durable stream of futures shared by every client (created if new).
        ``maxlen``: beyond it the oldest entries fall off; None: unbounded; absent: left as it is."""
        from .channel import Channel

        return Channel(name, client=self, maxlen=maxlen)

    def queue(self, name: str, maxsize: int | None | Any = ...) -> Any:
        from .coordination import Queue

        return Queue(name, client=self, maxsize=maxsize)

    def variable(self, name: str) -> Any:
        from .coordination import Variable

        return Variable(name, client=self)

    def event(self, name: str) -> Any:
        from .coordination import Event

        return Event(name, client=self)

    def lock(self, name: str) -> Any:
        from .coordination import Lock

        return Lock(name, client=self)

    def semaphore(self, name: str, max_leases: int = 1) -> Any:
        from .coordination import Semaphore

        return Semaphore(max_leases=max_leases, name=name, client=self)

    # ── plumbing ─────────────────────────────────────────────────────────

    def request(self, method: str, path: str, body: Any = None) -> Any:
        """A request with this client's headers (its session among them), for routes it has no method for."""
        return self._run(self._core.http.request(method, path, body))

    def _run(self, coroutine: Awaitable[T]) -> Any:
        """A coroutine for an asynchronous client; the result, waited for, for a synchronous one."""
        if self.asynchronous:
            return coroutine
        return self._core.run_sync(coroutine)


def _collect(value: Any, found: list[Future]) -> None:
    if isinstance(value, Future):
        found.append(value)
    elif isinstance(value, (list, tuple, set, frozenset)):
        for item in value:
            _collect(item, found)
    elif isinstance(value, dict):
        for item in value.values():
            _collect(item, found)


def _replace(value: Any, results: dict[str, Any], failed: set[str]) -> Any:
    if isinstance(value, Future):
        return results.get(value.key)
    if isinstance(value, (list, tuple)):
        items = [_replace(v, results, failed) for v in value if not (isinstance(v, Future) and v.key in failed)]
        return type(value)(items) if isinstance(value, tuple) else items
    if isinstance(value, (set, frozenset)):
        return type(value)(_replace(v, results, failed) for v in value if not (isinstance(v, Future) and v.key in failed))
    if isinstance(value, dict):
        return {k: _replace(v, results, failed) for k, v in value.items() if not (isinstance(v, Future) and v.key in failed)}
    return value


def default_client_or_none() -> "Client | None":
    with _clients_lock:
        for ref in reversed(_clients):
            client = ref()
            if client is not None and not client.closed:
                return client
    return None


class DoneAndNotDoneFutures(NamedTuple):
    done: set
    not_done: set


def wait(futures: Any, timeout: float | None = None, return_when: str = "ALL_COMPLETED") -> Any:
    """Wait until all (or the first, return_when='FIRST_COMPLETED') of the futures end; TimeoutError after timeout.
    Returns (done, not_done); a coroutine with an asynchronous client."""
    futures = [futures] if isinstance(futures, Future) else list(futures)
    if return_when not in ("ALL_COMPLETED", "FIRST_COMPLETED"):
        raise ValueError("return_when is 'ALL_COMPLETED' or 'FIRST_COMPLETED'")
    if not futures:
        result = DoneAndNotDoneFutures(set(), set())
        return _resolved(result) if _is_async() else result
    client = futures[0].client
    return client._run(_wait(futures, timeout, return_when))


async def _wait(futures: list[Future], timeout: float | None, return_when: str) -> DoneAndNotDoneFutures:
    core = futures[0].client._core
    enough = 1 if return_when == "FIRST_COMPLETED" else len(futures)
    everything = asyncio.get_running_loop().create_future()
    count = [0]

    def one_done() -> None:
        count[0] += 1
        if count[0] >= enough and not everything.done():
            everything.set_result(None)

    for future in futures:
        future._state.add_callback(lambda: core.loop.call_soon_threadsafe(one_done), core.lock)
    try:
        await asyncio.wait_for(everything, timeout)
    except asyncio.TimeoutError:
        left = sum(1 for f in futures if not f.done())
        raise TimeoutError(f"{left} of {len(futures)} futures did not end within {timeout} s") from None
    done = {f for f in futures if f.done()}
    return DoneAndNotDoneFutures(done, {f for f in futures if f not in done})


async def _resolved(value: T) -> T:
    return value


def _is_async() -> bool:
    try:
        asyncio.get_running_loop()
        return True
    except RuntimeError:
        return False


def fire_and_forget(futures: Any) -> None:
    """Keep these tasks running, and their results for the retention period, even when nothing holds them."""
    for future in [futures] if isinstance(futures, Future) else list(futures):
        future.client._core.forget(future.key)


class as_completed:
    """Iterate over futures in the order they end (finished or not): ``for f in as_completed(fs)``,
    or ``async for`` with an asynchronous client. ``with_results=True`` yields (future, result)."""

    def __init__(self, futures: Iterable[Future] = (), with_results: bool = False):
        self.with_results = with_results
        self._ended: deque[Future] = deque()
        self._remaining = 0
        self._condition = threading.Condition()
        self._waiter: tuple[asyncio.AbstractEventLoop, asyncio.Future[None]] | None = None
        self.update(futures)

    def add(self, future: Future) -> None:
        with self._condition:
            self._remaining += 1
        future.add_done_callback(self._ended_one)

    def update(self, futures: Iterable[Future]) -> None:
        for future in dict.fromkeys(futures):
            self.add(future)

    def count(self) -> int:
        """Futures not yet yielded."""
        return self._remaining

    def is_empty(self) -> bool:
        return self._remaining == 0

    def _ended_one(self, future: Future) -> None:
        with self._condition:
            self._ended.append(future)
            self._condition.notify()
            waiter, self._waiter = self._waiter, None
        if waiter is not None:
            loop, fut = waiter
            loop.call_soon_threadsafe(lambda: fut.done() or fut.set_result(None))

    def __iter__(self) -> "as_completed":
        return self

    def __next__(self) -> Any:
        with self._condition:
            if self._remaining == 0:
                raise StopIteration
            while not self._ended:
                self._condition.wait()
            self._remaining -= 1
            future = self._ended.popleft()
        return (future, future.result()) if self.with_results else future

    def __aiter__(self) -> "as_completed":
        return self

    async def __anext__(self) -> Any:
        while True:
            with self._condition:
                if self._remaining == 0:
                    raise StopAsyncIteration
                if self._ended:
                    self._remaining -= 1
                    future = self._ended.popleft()
                    break
                loop = asyncio.get_running_loop()
                fut = loop.create_future()
                self._waiter = (loop, fut)
            await fut
        if self.with_results:
            result = future.result()
            return future, (await result if asyncio.iscoroutine(result) else result)
        return future
