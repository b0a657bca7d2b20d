"""Server-Sent Events over aiohttp, with reconnection, Last-Event-ID and an
idle timeout. No Debian package parses SSE for Python, so the parser below
follows the WHATWG event-stream rules (lines ending in CR, LF or CRLF; the
fields event, data, id, retry; comments)."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Awaitable, Callable

import aiohttp

from .errors import SluiceError
from .http import decode_error

log = logging.getLogger("sluice")


@dataclass
class Event:
    event: str
    data: str
    id: str | None


class Parser:
    """Feed text; complete events come out in order."""

    def __init__(self) -> None:
        self._buffer = ""
        self._event = ""
        self._data: list[str] = []
        self._id: str | None = None
        self._cr = False

    def feed(self, text: str) -> list[Event]:
        if self._cr and text.startswith("\n"):
            text = text[1:]  # the LF of a CRLF split across chunks
        self._cr = text.endswith("\r")
        self._buffer += text
        events: list[Event] = []
        if "\r" in self._buffer:
            lines = self._buffer.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        else:
            lines = self._buffer.split("\n")
        self._buffer = lines.pop()
        for line in lines:
            if line == "":
                if self._data:
                    events.append(Event(self._event or "message", "\n".join(self._data), self._id))
                self._event, self._data = "", []
                continue
            if line.startswith(":"):
                continue
            name, colon, value = line.partition(":")
            if colon and value.startswith(" "):
                value = value[1:]
            if name == "event":
                self._event = value
            elif name == "data":
                self._data.append(value)
            elif name == "id" and "\0" not in value:
                self._id = value
        return events


class EventStream:
    """Read an SSE stream, reconnecting with backoff and resuming with Last-Event-ID.

    on_event may return an awaitable: reading waits for it (backpressure).
    A 4xx answer other than 408/429 is fatal: on_fatal is called and the
    stream does not reconnect."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        url: str | Callable[[], str],
        headers: dict[str, str],
        on_event: Callable[[Event], Awaitable[None] | None],
        on_open: Callable[[], None] | None = None,
        on_fatal: Callable[[BaseException], None] | None = None,
        last_event_id: str | None = None,
        idle_timeout: float = 45.0,
        min_delay: float = 0.1,
        max_delay: float = 5.0,
        on_drop: Callable[[BaseException], None] | None = None,
    ):
        self._url = url
        self._on_drop = on_drop
        self.last_event_id = last_event_id
        self._session = session
        self._headers = headers
        self._on_event = on_event
        self._on_open = on_open
        self._on_fatal = on_fatal
        self._idle = idle_timeout
        self._min = min_delay
        self._max = max_delay
        self._closed = False
        self._task = asyncio.get_running_loop().create_task(self._run())

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._task.cancel()

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def url(self) -> str:
        """Where it reads (a function given is asked again at each connection: a client that moved)."""
        return self._url() if callable(self._url) else self._url

    async def _run(self) -> None:
        delay = self._min
        while not self._closed:
            headers = {**self._headers, "accept": "text/event-stream"}
            if self.last_event_id is not None:
                headers["last-event-id"] = self.last_event_id
            try:
                timeout = aiohttp.ClientTimeout(total=None, connect=10, sock_read=self._idle)
                async with self._session.get(self.url, headers=headers, timeout=timeout) as response:
                    if response.status != 200:
                        error = decode_error(response.status, await response.text())
                        if 400 <= response.status < 500 and response.status not in (408, 429):
                            self._closed = True
                            if self._on_fatal:
                                self._on_fatal(error)
                            return
                        raise error
                    delay = self._min
                    if self._on_open:
                        self._on_open()
                    parser = Parser()
                    decoder = _utf8()
                    async for chunk in response.content.iter_any():
                        for event in parser.feed(decoder.decode(chunk)):
                            if event.id is not None:
                                self.last_event_id = event.id
                            try:
                                waiting = self._on_event(event)
                            except Exception:  # an event not as expected must not end the stream
                                log.exception("could not handle an event from %s", self.url)
                                continue
                            if waiting is not None:
                                await waiting
                            if self._closed:
                                return
            except asyncio.CancelledError:
                if self._closed:
                    return
                raise
            except (aiohttp.ClientError, OSError, asyncio.TimeoutError, SluiceError) as error:
                log.debug("event stream %s dropped: %s", self.url, error)
                if self._on_drop:
                    self._on_drop(error)
            if self._closed:
                return
            await asyncio.sleep(delay)
            delay = min(delay * 2, self._max)


def _utf8():
    import codecs

    return codecs.getincrementaldecoder("utf-8")("replace")
