"""Channels: named, ordered, durable streams of futures shared by every
client of the scheduler (Dask's channels, persisted)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import threading
from collections import deque
from typing import TYPE_CHECKING, Any, Callable, NamedTuple

from .core import quoted
from .future import Future
from .sse import Event, EventStream

if TYPE_CHECKING:
    from .client import Client

READ_AHEAD = 1000
"""An iteration reads at most this many entries ahead of its consumer."""

_END = object()


class ChannelEntry(NamedTuple):
    """One entry of a channel: its sequence number (the one order every client sees) and its future."""

    seq: int
    future: Future


class _Follow:
    """Follows a channel's events from a sequence number, on the client's loop, once the channel exists."""

    def __init__(self, channel: "Channel", start: int, on_entry: Callable[[int, str], Any], on_end: Callable[[BaseException | None], None]):
        self.channel = channel
        self.seen = start - 1
        self.on_entry = on_entry
        self.on_end = on_end
        self.stream: EventStream | None = None
        self.cancelled = False
        self.ended = False

    async def run(self, start: int) -> None:
        channel = self.channel
        core = channel._core
        try:
            await asyncio.wrap_future(channel._created)
        except BaseException as error:
            self._end(error)
            return
        if self.cancelled or channel._closed:
            self._end(None)
            return

        def on_event(event: Event) -> Any:
            if event.event == "append":
                entry = json.loads(event.data)
                seq = entry["seq"]
                if seq <= self.seen:
                    return None
                self.seen = seq
                return self.on_entry(seq, entry["key"])
            if event.event == "stop":
                self.close()
                self._end(None)
            return None

        def on_fatal(error: BaseException) -> None:
            self._end(error)

        self.stream = core.stream(f"/channels/{quoted(channel.name)}/events?from={start}", on_event, on_fatal=on_fatal)
        if self.cancelled:
            self.stream.close()

    def _end(self, error: BaseException | None) -> None:
        if not self.ended:
            self.ended = True
            self.channel._follows.discard(self)
            self.on_end(error)

    def close(self) -> None:
        """On the loop thread."""
        self.cancelled = True
        if self.stream is not None:
            self.stream.close()

    def cancel(self) -> None:
        """Close, and end whoever reads from it. On the loop thread."""
        self.close()
        self._end(None)


class Channel:
    """A named, ordered, durable stream of futures shared by every client of the scheduler.

    ``append`` returns at once; ``flush()`` waits until this client's appends are
    acknowledged. Iterating replays the channel from its oldest entry and then waits
    for new ones until the channel is stopped, resuming by itself across dropped
    connections and scheduler restarts without missing or repeating an entry
    (``for f in chan``, or ``async for`` with an asynchronous client). ``futures``
    is the channel's current deque, kept live."""

    def __init__(self, name: str, client: "Client | None" = None, maxlen: Any = ...):
        if client is None:
            from .context import default_client

            client = default_client()
        self.name = name
        self.client = client
        self._core = client._core
        self._core.assert_open()
        self._maxlen: int | None = None
        self._errors: list[BaseException] = []
        self._closed = False
        self._follows: set[_Follow] = set()
        self._lock = threading.Lock()
        self._mirror: deque[ChannelEntry] | None = None
        self._mirror_seq = 0
        self._mirror_stopped = False
        self._mirror_waiters: list[asyncio.Future[None]] = []
        self._created: concurrent.futures.Future[None] = concurrent.futures.Future()

        def done(info: dict[str, Any]) -> None:
            self._maxlen = info.get("maxlen")
            self._trim()
            self._created.set_result(None)

        def fail(error: BaseException) -> None:
            self._errors.append(error)
            if not self._created.done():
                self._created.set_exception(error)

        self._core.configure(name, maxlen, done, fail)
        self._core.closables.add(self)

    def __repr__(self) -> str:
        return f"<Channel: {self.name}>"

    def append(self, futures: Any) -> None:
        """Append a Future (or key), or a list of them. Returns at once; errors surface at flush()."""
        items = futures if isinstance(futures, (list, tuple)) else [futures]
        for item in items:
            key = item if isinstance(item, str) else item.key
            self._core.append(self.name, key, self._errors.append)

    def flush(self) -> Any:
        """Wait until every append this client made so far is acknowledged (and shows in ``futures``
        once that is in use); raises the first append that was refused."""
        return self.client._run(self._flush())

    async def _flush(self) -> None:
        await self._core.flush()
        if self._errors:
            first = self._errors[0]
            del self._errors[:]
            raise first
        if self._mirror is not None and not self._closed:
            last = (await self._info())["lastSeq"]
            while not self._mirror_stopped and not self._closed and self._mirror_seq < last:
                waiter = self._core.loop.create_future()
                self._mirror_waiters.append(waiter)
                await waiter

    def info(self) -> Any:
        """The channel's name, length, maxlen, stopped flag and last sequence number."""
        return self.client._run(self._info())

    async def _info(self) -> dict[str, Any]:
        await asyncio.wrap_future(self._created)
        answer = await self._core.call("GET", f"/channels/{quoted(self.name)}?limit=1")
        return {k: answer[k] for k in ("name", "length", "maxlen", "stopped", "lastSeq")}

    def stop(self) -> Any:
        """Stop the channel: iteration ends in every client, and it takes no more appends."""
        return self.client._run(self._stop())

    async def _stop(self) -> None:
        await self._flush()
        await self._core.call("POST", f"/channels/{quoted(self.name)}/stop")

    @property
    def futures(self) -> deque:
        """The channel's current entries as Futures, oldest first, kept up to date while the channel
        is open (Dask's ``chan.futures``). The first use starts following; ``flush()`` brings it up to date."""
        with self._lock:
            if self._mirror is None:
                self._mirror = deque()

                def on_entry(seq: int, key: str) -> None:
                    future = Future(key, self.client)
                    with self._lock:
                        self._mirror_seq = seq
                        if self._mirror is not None:
                            self._mirror.append(ChannelEntry(seq, future))
                    self._trim()
                    self._wake_mirror()

                def on_end(error: BaseException | None) -> None:
                    self._mirror_stopped = True
                    self._wake_mirror()

                self._follow(1, on_entry, on_end)
            return deque(entry.future for entry in self._mirror)

    def _wake_mirror(self) -> None:
        waiters, self._mirror_waiters = self._mirror_waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    def entries(self, start: int = 1) -> "_ChannelIterator":
        """Iterate (seq, future) entries from sequence number ``start`` (default: the oldest still there).
        A consumer that records the last seq it handled can resume there later."""
        return _ChannelIterator(self, start, entries=True)

    def __iter__(self) -> "_ChannelIterator":
        return _ChannelIterator(self, 1, entries=False)

    def __aiter__(self) -> "_ChannelIterator":
        return _ChannelIterator(self, 1, entries=False)

    def close(self) -> None:
        """Stop following the channel in this client; the futures held for ``futures`` are let go."""
        self._on_loop(self._close)

    def _close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._core.closables.discard(self)
        for follow in list(self._follows):
            follow.cancel()
        with self._lock:
            mirror, self._mirror = self._mirror, deque()
        for entry in mirror or ():
            entry.future.release()
        self._wake_mirror()

    def _trim(self) -> None:
        released = []
        with self._lock:
            if self._mirror is None or self._maxlen is None:
                return
            while len(self._mirror) > self._maxlen:
                released.append(self._mirror.popleft())
        for entry in released:
            entry.future.release()

    def _follow(self, start: int, on_entry: Callable[[int, str], Any], on_end: Callable[[BaseException | None], None]) -> _Follow:
        follow = _Follow(self, start, on_entry, on_end)
        self._follows.add(follow)
        self._on_loop(lambda: self._core.loop.create_task(follow.run(start)))
        return follow

    def _on_loop(self, fn: Callable[[], Any]) -> None:
        core = self._core
        if threading.get_ident() == core.loop_thread:
            fn()
        else:
            try:
                core.loop.call_soon_threadsafe(fn)
            except RuntimeError:
                pass  # the loop is gone


class _ChannelIterator:
    """One pass over a channel, sync (``for``) or async (``async for``)."""

    def __init__(self, channel: Channel, start: int, entries: bool):
        self._channel = channel
        self._entries = entries
        self._queue: asyncio.Queue[Any] = asyncio.Queue()
        self._space: asyncio.Event | None = None
        self._done = False
        self._follow = channel._follow(start, self._on_entry, self._on_end)

    def _on_entry(self, seq: int, key: str) -> Any:
        self._queue.put_nowait((seq, key))
        if self._queue.qsize() >= READ_AHEAD:
            if self._space is None:
                self._space = asyncio.Event()
            self._space.clear()
            return self._space.wait()
        return None

    def _on_end(self, error: BaseException | None) -> None:
        self._queue.put_nowait((_END, error))

    async def _next(self) -> tuple[int, str]:
        if self._done:
            raise StopAsyncIteration
        item = await self._queue.get()
        if self._space is not None and self._queue.qsize() < READ_AHEAD // 2:
            self._space.set()
        if item[0] is _END:
            self._done = True
            if item[1] is not None:
                raise item[1]
            raise StopAsyncIteration
        return item

    def _wrap(self, item: tuple[int, str]) -> Any:
        future = Future(item[1], self._channel.client)
        return ChannelEntry(item[0], future) if self._entries else future

    def __iter__(self) -> "_ChannelIterator":
        return self

    def __next__(self) -> Any:
        try:
            item = self._channel._core.run_sync(self._next())
        except StopAsyncIteration:
            raise StopIteration from None
        return self._wrap(item)

    def __aiter__(self) -> "_ChannelIterator":
        return self

    async def __anext__(self) -> Any:
        return self._wrap(await self._next())

    def close(self) -> None:
        """Stop this iteration (it also stops when the iterator is garbage collected)."""
        if not self._done:
            self._done = True
            self._channel._on_loop(self._follow.cancel)

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass


