"""Dask's Pub and Sub: publish messages to a topic; every subscriber connected
when a message is published gets it, in publish order. Not persisted."""

from __future__ import annotations

import asyncio
import json
import threading
from typing import TYPE_CHECKING, Any

from .core import Core, quoted
from .sse import Event, EventStream

if TYPE_CHECKING:
    from .client import Client

READ_AHEAD = 1000
_END = object()


def _client(client: "Client | None") -> "Client":
    if client is None:
        from .context import default_client

        return default_client()
    return client


class Pub:
    """Publishes to topic ``name``: ``put(message)`` sends it to every subscriber connected now
    and answers how many it reached. A put retried after a network failure may arrive twice."""

    def __init__(self, name: str, client: "Client | None" = None):
        self.name = name
        self.client = _client(client)
        self._core: Core = self.client._core

    def put(self, message: Any) -> Any:
        return self.client._run(self._put(message))

    async def _put(self, message: Any) -> int:
        answer = await self._core.call("POST", f"/topics/{quoted(self.name)}/publish", {"message": message})
        return int(answer["delivered"])

    def __repr__(self) -> str:
        return f"<Pub: {self.name}>"


class Sub:
    """Subscribes to topic ``name``: ``get(timeout)``, or ``for message in sub`` (``async for`` with an
    asynchronous client). A synchronous Sub is connected when made; an asynchronous one once awaited
    (``sub = await Sub(name, client)``). It reconnects by itself, and the scheduler replays what it
    missed meanwhile from its last megabyte of messages; ``gaps`` counts the times more than that may
    have been missed (a long outage, a scheduler restart)."""

    def __init__(self, name: str, client: "Client | None" = None):
        self.name = name
        self.client = _client(client)
        self._core: Core = self.client._core
        self._core.assert_open()
        self.gaps = 0
        self._queue: asyncio.Queue[Any] = asyncio.Queue()
        self._space: asyncio.Event | None = None
        self._connected: asyncio.Future[None] = self._core.loop.create_future()
        self._stream: EventStream | None = None
        self._closed = False
        self._core.closables.add(self)
        self._on_loop(self._open)
        if not self.client.asynchronous:
            self._core.run_sync(self._wait_connected())

    def _on_loop(self, fn: Any) -> None:
        if threading.get_ident() == self._core.loop_thread:
            fn()
        else:
            self._core.loop.call_soon_threadsafe(fn)

    def _open(self) -> None:
        core = self._core

        def on_event(event: Event) -> Any:
            if event.event == "message":
                self._queue.put_nowait(json.loads(event.data))
                if self._queue.qsize() >= READ_AHEAD:
                    if self._space is None:
                        self._space = asyncio.Event()
                    self._space.clear()
                    return self._space.wait()
            elif event.event == "gap":
                self.gaps += 1
            return None

        def on_open() -> None:
            if not self._connected.done():
                self._connected.set_result(None)

        def on_fatal(error: BaseException) -> None:
            if not self._connected.done():
                self._connected.set_exception(error)
            self._queue.put_nowait((_END, error))

        async def start() -> None:
            if not core.opened and core._ready is not None:
                await asyncio.shield(core._ready)  # with the session's header
            if not self._closed:
                self._stream = core.stream(f"/topics/{quoted(self.name)}/events", on_event, on_open=on_open, on_fatal=on_fatal)

        core.loop.create_task(start())

    async def _wait_connected(self) -> "Sub":
        try:
            await asyncio.wait_for(asyncio.shield(self._connected), self.client._timeout)
        except asyncio.TimeoutError:
            self._close()
            raise TimeoutError(f"could not subscribe to topic {self.name} within {self.client._timeout} s") from None
        return self

    def __await__(self):
        return self._wait_connected().__await__()

    def get(self, timeout: float | None = None) -> Any:
        """The next message, waiting up to timeout seconds (TimeoutError then)."""
        return self.client._run(self._get(timeout))

    async def _get(self, timeout: float | None) -> Any:
        try:
            item = await asyncio.wait_for(self._queue.get(), timeout)
        except asyncio.TimeoutError:
            raise TimeoutError(f"no message on topic {self.name} within {timeout} s") from None
        if self._space is not None and self._queue.qsize() < READ_AHEAD // 2:
            self._space.set()
        if isinstance(item, tuple) and len(item) == 2 and item[0] is _END:
            self._queue.put_nowait(item)  # every later get ends too
            if item[1] is not None:
                raise item[1]
            raise StopAsyncIteration
        return item

    def __iter__(self) -> "Sub":
        return self

    def __next__(self) -> Any:
        try:
            return self._core.run_sync(self._get(None))
        except StopAsyncIteration:
            raise StopIteration from None

    def __aiter__(self) -> "Sub":
        return self

    async def __anext__(self) -> Any:
        return await self._get(None)

    def close(self) -> None:
        """Stop receiving; iteration ends."""
        self._on_loop(self._close)

    def _close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._core.closables.discard(self)
        if self._stream is not None:
            self._stream.close()
        self._queue.put_nowait((_END, None))

    def __repr__(self) -> str:
        return f"<Sub: {self.name}>"
