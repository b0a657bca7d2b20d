"""The client's machinery, on one asyncio event loop: the session, the one
SSE stream that announces the client's futures, the outbox (submits, holds,
releases, appends... queued, coalesced into runs of one kind and sent in
order), and retries while the scheduler restarts. The synchronous and the
asynchronous Client are two faces of it."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections import deque
from typing import Any, Awaitable, Callable, TypeVar
from urllib.parse import quote

from .errors import SluiceError
from .future import FutureState, closed_error
from .http import Http, is_transient
from .keys import random_id
from .sse import Event, EventStream

log = logging.getLogger("sluice")
T = TypeVar("T")

CLIENT_HEADER = "sluice-client"
RELEASE_DELAY = 0.05
"""Releases wait this long (seconds) to go out together."""
LONG_POLL = 20.0
MAX_DELAY_SEVERAL = 0.5
"""With several schedulers, the longest wait between retries and reconnections (s): a failover is over sooner."""
"""A wait done on the scheduler is cut into requests of at most this many seconds, well inside proxies' limits."""


def session_gone(error: BaseException) -> bool:
    """The scheduler no longer knows this client's session: it ended, or the credential is not one it issued."""
    return isinstance(error, SluiceError) and error.code in ("SLUICE_ERR_SESSION_ENDED", "SLUICE_ERR_SESSION_INVALID")


def quoted(name: str) -> str:
    return quote(name, safe="")


class Command:
    __slots__ = ("kind", "spec", "state", "key", "channel", "maxlen", "done", "fail", "cancelled")

    def __init__(self, kind: str, **fields: Any):
        self.kind = kind
        self.spec = fields.get("spec")
        self.state: FutureState | None = fields.get("state")
        self.key: str | None = fields.get("key")
        self.channel: str | None = fields.get("channel")
        self.maxlen = fields.get("maxlen", ...)
        self.done: Callable[..., None] | None = fields.get("done")
        self.fail: Callable[[BaseException], None] | None = fields.get("fail")
        self.cancelled = False


class Core:
    def __init__(
        self,
        address: str | list[str],
        loop: asyncio.AbstractEventLoop,
        *,
        token: str | None = None,
        headers: dict[str, str] | None = None,
        retry_for: float = 60.0,
        batch_size: int = 1000,
    ):
        self.loop = loop
        self.loop_thread: int | None = None
        self.lock = threading.RLock()
        self.retry_for = retry_for
        self.batch_size = batch_size
        auth = {"authorization": f"Bearer {token}"} if token else {}
        self.http = Http(address, {**(headers or {}), **auth})
        self.id: str | None = None
        self.states: dict[str, FutureState] = {}
        self.closed = False
        self.fatal: BaseException | None = None
        self.opened = False
        self._ready: asyncio.Future[None] | None = loop.create_future()
        self._renewing: asyncio.Task[None] | None = None
        self._releases: dict[str, None] = {}
        self._release_timer: asyncio.TimerHandle | None = None
        self._stream: EventStream | None = None
        self._inbox: deque[Command] = deque()
        self._unsent_holds: dict[str, Command] = {}
        self._kick_pending = False
        self._pumping = False
        self._idle: list[asyncio.Future[None]] = []
        self.closables: set[Any] = set()
        """Channels and coordination objects: their streams and waits end with the client."""

    @property
    def url(self) -> str:
        """The scheduler in use (with several, the one found leading)."""
        return self.http.base

    @property
    def urls(self) -> list[str]:
        return list(self.http.schedulers.all)

    def stream(self, path: str, on_event: Callable[[Event], Any], **options: Any) -> EventStream:
        """An event stream of ``path`` on the scheduler in use at each (re)connection, moving on
        when that one does not serve."""
        schedulers = self.http.schedulers
        used = [schedulers.current]

        def url() -> str:
            used[0] = schedulers.current
            return used[0] + path

        if schedulers.several:
            options.setdefault("max_delay", MAX_DELAY_SEVERAL)
            # A scheduler cut off sends nothing, not even heartbeats (every 15 s): notice sooner than 45 s.
            options.setdefault("idle_timeout", 30.0)
        return EventStream(self.http.session, url, self.http.headers, on_event, on_drop=lambda error: schedulers.stream_dropped(used[0], error), **options)

    # ── the session ──────────────────────────────────────────────────────

    async def start(self, timeout: float) -> None:
        """Open a session and its status stream; ready once the stream says so."""
        self.loop_thread = threading.get_ident()
        try:
            await asyncio.wait_for(self._start(), timeout)
        except asyncio.TimeoutError:
            raise SluiceError("SLUICE_ERR_UNREACHABLE", f"no answer from a scheduler at {', '.join(self.urls)} within {timeout} s") from None

    async def _start(self) -> None:
        await self._retrying(self._start_session, in_session=False)
        assert self._ready is not None
        await asyncio.shield(self._ready)

    async def _start_session(self) -> None:
        """Ask the scheduler for a session, send its credential from now on, and open its status stream."""
        session_id, session = await self._open_session()
        if self.closed:
            return
        self.id = session_id
        self.http.headers[CLIENT_HEADER] = session

        def on_event(event: Event) -> None:
            if event.event == "status":
                message = json.loads(event.data)
                state = self.states.get(message.get("key"))
                if state is not None:
                    state.settle(message, self.lock)
            elif event.event == "ready":
                if self.opened:
                    self._resync()
                self.opened = True
                if self._ready is not None and not self._ready.done():
                    self._ready.set_result(None)

        def on_fatal(error: BaseException) -> None:
            if session_gone(error) and not self.closed:
                self.loop.create_task(self._renew_or_fail(session))
                return
            self._fail(error)

        if self._stream is not None:
            self._stream.close()
        self._stream = self.stream(f"/clients/{quoted(session_id)}/events", on_event, on_fatal=on_fatal)

    async def _renew_or_fail(self, stale: str) -> None:
        try:
            await self._renew(stale)
        except BaseException as error:  # noqa: BLE001 - it ends the client, with this reason
            self._fail(error)

    async def _renew(self, stale: str | None) -> None:
        """A new session in place of `stale` (the scheduler said it ended), unless that was done already.
        What this client holds is asked for again under the new session when its stream opens."""
        if self.http.headers.get(CLIENT_HEADER) != stale:
            if self._renewing is not None:
                await asyncio.shield(self._renewing)
            return
        if self._renewing is None:
            log.warning("client session %s ended on the scheduler; starting a new one", self.id)

            async def renew() -> None:
                try:
                    await self._retrying(self._start_session, in_session=False)
                finally:
                    self._renewing = None

            self._renewing = self.loop.create_task(renew())
        await asyncio.shield(self._renewing)

    def _fail(self, error: BaseException) -> None:
        self.fatal = error
        if self._ready is not None and not self._ready.done():
            self._ready.set_exception(error)
        self._fail_all(error)

    async def _open_session(self) -> tuple[str, str]:
        """A new client session: its id (in paths, and what others see) and its
        credential (the sluice-client header), issued by the scheduler."""
        answer = await self.http.request("POST", "/clients")
        return str(answer["id"]), str(answer["session"])

    async def close(self, timeout: float = 5.0) -> None:
        """Send what is queued (waiting up to timeout), release this client's futures, close the stream."""
        if self.closed:
            return
        if self.opened and self.fatal is None:
            try:
                await asyncio.wait_for(self.flush(), timeout)
            except (asyncio.TimeoutError, SluiceError):
                pass
        self.closed = True
        if self._stream is not None:
            self._stream.close()
        for closable in list(self.closables):
            closable._close()
        self.closables.clear()
        if self.opened and self.id is not None:
            try:
                await asyncio.wait_for(self.http.request("DELETE", f"/clients/{self.id}"), timeout)
            except (asyncio.TimeoutError, SluiceError):
                pass
        self._fail_all(SluiceError("SLUICE_ERR_CLOSED", "the client was closed before this future ended"))
        for waiter in self._idle:
            if not waiter.done():
                waiter.set_result(None)
        await self.http.close()

    def assert_open(self) -> None:
        if self.closed:
            raise SluiceError("SLUICE_ERR_CLOSED", "the client is closed")
        if self.fatal is not None:
            raise self.fatal

    # ── futures ──────────────────────────────────────────────────────────

    def submit(self, spec: dict[str, Any]) -> FutureState:
        """Queue a task; its state (new, or the one already known for the key). Any thread."""
        self.assert_open()
        key = spec["key"]
        with self.lock:
            state = self.states.get(key)
            if state is None or state.status in ("error", "cancelled", "lost"):
                fresh = FutureState(key)
                if state is not None:
                    fresh.refs = state.refs
                self.states[key] = state = fresh
        self._post(Command("submit", spec=spec, state=state))
        return state

    def attach(self, key: str, state: FutureState | None = None) -> FutureState:
        """A Future object for key was made: count it, and hold the key if this client did not know it."""
        with self.lock:
            if state is None or self.states.get(key) is not state:
                state = self.states.get(key)
                if state is None:
                    self.states[key] = state = FutureState(key)
                    hold = Command("hold", state=state)
                    self._unsent_holds[key] = hold
                    state.refs += 1
                    self._post(hold)
                    return state
            state.refs += 1
            return state

    def unref(self, key: str) -> None:
        """A Future object let go of key; at zero the client releases it."""
        with self.lock:
            state = self.states.get(key)
            if state is None:
                return
            state.refs -= 1
            if state.refs > 0:
                return
            del self.states[key]
            unsent = self._unsent_holds.pop(key, None)
            if unsent is not None:
                unsent.cancelled = True  # the scheduler never heard of it from us: nothing to let go
                return
        if not self.closed:
            self._post(Command("release", key=key))

    def forget(self, key: str) -> None:
        self._post(Command("forget", key=key))

    async def wait_done(self, state: FutureState, timeout: float | None) -> None:
        if state.done:
            return
        waiter = self.loop.create_future()

        def wake() -> None:
            if not waiter.done():
                waiter.set_result(None)

        state.add_callback(lambda: self.loop.call_soon_threadsafe(wake) if threading.get_ident() != self.loop_thread else wake(), self.lock)
        try:
            await asyncio.wait_for(waiter, timeout)
        except asyncio.TimeoutError:
            raise TimeoutError(f"future {state.key} did not end within {timeout} s") from None

    async def value(self, state: FutureState) -> Any:
        if state.error is not None:
            raise state.error
        if not state.has_value:
            outcome = await self.call("GET", f"/futures/{quoted(state.key)}/result?timeout=0")
            state.value = outcome.get("result")
            state.has_value = True
        return state.value

    async def cancel(self, key: str) -> str:
        await self.flush()
        answer = await self.call("POST", f"/futures/{quoted(key)}/cancel")
        state = self.states.get(key)
        if state is not None:
            state.settle(answer, self.lock)
        return str(answer["status"])

    async def scatter(self, data: list[Any]) -> list[str]:
        self.assert_open()
        await self.flush()
        keys = (await self.call("POST", "/scatter", {"data": data}))["keys"]
        for key, value in zip(keys, data):
            with self.lock:
                state = self.states.get(key)
                if state is None:
                    self.states[key] = state = FutureState(key)
            state.settle({"key": key, "status": "finished", "result": value}, self.lock)
        return keys

    # ── channels ─────────────────────────────────────────────────────────

    def append(self, channel: str, key: str, fail: Callable[[BaseException], None]) -> None:
        self.assert_open()
        self._post(Command("append", channel=channel, key=key, fail=fail))

    def configure(self, channel: str, maxlen: Any, done: Callable[[dict[str, Any]], None], fail: Callable[[BaseException], None]) -> None:
        self._post(Command("configure", channel=channel, maxlen=maxlen, done=done, fail=fail))

    # ── requests ─────────────────────────────────────────────────────────

    async def call(self, method: str, path: str, body: Any = None) -> Any:
        """A request, retried while the scheduler restarts or cannot be reached (up to retry_for)."""
        if not self.opened and self._ready is not None:
            await asyncio.shield(self._ready)  # with the session's header
        return await self._retrying(lambda: self.http.request(method, path, body))

    async def wait_for(self, request: Callable[[float], Awaitable[T]], timeout: float | None, what: str, chunk: float = LONG_POLL) -> T:
        """Call a route that waits on the scheduler (?timeout=<s>) in chunks until timeout (None: for ever); TimeoutError then."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = chunk if deadline is None else max(0.0, min(deadline - time.monotonic(), chunk))
            try:
                return await request(round(left, 3))
            except SluiceError as error:
                if error.code != "SLUICE_ERR_TIMEOUT":
                    raise
                if deadline is not None and time.monotonic() >= deadline:
                    raise TimeoutError(f"{what} did not come within {timeout} s") from None

    async def _retrying(self, fn: Callable[[], Awaitable[T]], in_session: bool = True) -> T:
        """fn (as this client's session), retrying transient failures for up to retry_for."""
        deadline = time.monotonic() + self.retry_for
        # With several schedulers the next try goes to another one: a new leader is found sooner.
        max_delay = MAX_DELAY_SEVERAL if self.http.schedulers.several else 2.0
        delay = 0.05
        while True:
            try:
                return await (self._in_session(fn) if in_session else fn())
            except SluiceError as error:
                if not is_transient(error) or time.monotonic() + delay > deadline or self.closed:
                    raise
            await asyncio.sleep(delay)
            if self.closed:
                raise closed_error()
            delay = min(delay * 2, max_delay)

    async def _in_session(self, fn: Callable[[], Awaitable[T]]) -> T:
        """fn; if the scheduler says the session has ended (idle past its lease, or ended by an admin),
        a new one is started and fn runs again, once."""
        if self._renewing is not None:
            await asyncio.shield(self._renewing)
        credential = self.http.headers.get(CLIENT_HEADER)
        try:
            return await fn()
        except SluiceError as error:
            if not session_gone(error) or self.closed:
                raise
            await self._renew(credential)
            return await fn()

    # ── the outbox ───────────────────────────────────────────────────────

    def _post(self, command: Command) -> None:
        """Queue a command; from any thread. One wake-up of the loop per batch."""
        self._inbox.append(command)
        with self.lock:
            if self._kick_pending:
                return
            self._kick_pending = True
        if threading.get_ident() == self.loop_thread:
            self.loop.call_soon(self._kick)
        else:
            try:
                self.loop.call_soon_threadsafe(self._kick)
            except RuntimeError:
                pass  # the loop is closed: the client is gone

    def _kick(self) -> None:
        with self.lock:
            self._kick_pending = False
        if not self._pumping:
            self._pumping = True
            self.loop.create_task(self._pump())

    async def flush(self) -> None:
        """Resolves when everything queued so far has been acknowledged by the scheduler."""
        if not self._inbox and not self._pumping and not self._releases:
            return
        done = self.loop.create_future()
        self._post(Command("barrier", done=lambda: done.done() or done.set_result(None)))
        await done

    async def _pump(self) -> None:
        try:
            if self._ready is not None:
                await asyncio.shield(self._ready)
        except BaseException:
            pass
        try:
            while self._inbox and self.fatal is None and not self.closed:
                run = self._take_run()
                if run:
                    await self._deliver(run)
        finally:
            self._pumping = False
            left = list(self._inbox)
            if self.fatal is not None or self.closed:
                self._inbox.clear()
                for command in left:
                    if command.kind == "barrier" and command.done:
                        command.done()
                    elif command.state is not None:
                        command.state.fail(self.fatal or closed_error(), self.lock)
                    elif command.fail is not None:
                        command.fail(self.fatal or closed_error())

    def _take_run(self) -> list[Command]:
        """The next run of commands of one kind, up to the batch size, leaving out cancelled holds.

        Releases wait up to RELEASE_DELAY to go out together (a Future is released as soon
        as it is dropped, one at a time): other commands may pass them, since a later
        submit or hold of the same key makes its pending release moot. A barrier (flush,
        close) sends them first."""
        inbox = self._inbox
        run: list[Command] = []
        while inbox and len(run) < self.batch_size:
            command = inbox[0]
            kind = command.kind
            if kind == "hold" and command.cancelled:
                inbox.popleft()
                continue
            if kind == "release":
                inbox.popleft()
                self._releases[command.key] = None  # type: ignore[index]
                if len(self._releases) >= self.batch_size and not run:
                    return self._release_run()
                if self._release_timer is None:
                    self._release_timer = self.loop.call_later(RELEASE_DELAY, self._release_due)
                continue
            if kind in ("barrier", "release-now") and self._releases:
                if run:
                    break
                return self._release_run()
            if kind == "release-now":
                inbox.popleft()
                continue
            if run and kind != run[0].kind:
                break
            inbox.popleft()
            if kind in ("submit", "hold"):
                key = command.state.key  # type: ignore[union-attr]
                self._releases.pop(key, None)
                if kind == "hold":
                    with self.lock:
                        if self._unsent_holds.get(key) is command:
                            del self._unsent_holds[key]
            run.append(command)
        return run

    def _release_due(self) -> None:
        self._release_timer = None
        if self._releases and not self.closed:
            self._post(Command("release-now"))

    def _release_run(self) -> list[Command]:
        keys = list(self._releases)[: self.batch_size]
        for key in keys:
            del self._releases[key]
        if self._release_timer is not None and not self._releases:
            self._release_timer.cancel()
            self._release_timer = None
        return [Command("release", key=key) for key in keys]

    async def _deliver(self, run: list[Command]) -> None:
        kind = run[0].kind
        if kind == "barrier":
            for command in run:
                command.done()  # type: ignore[misc]
            return
        try:
            await self._retrying(lambda: self._request(run))
        except (SluiceError, TypeError, ValueError, KeyError) as error:
            if len(run) > 1 and kind in ("submit", "hold") and not is_transient(error):
                # One bad item refuses the whole request: find it by sending one by one.
                for command in run:
                    await self._deliver([command])
                return
            for command in run:
                if command.state is not None:
                    command.state.fail(error, self.lock)
                elif command.fail is not None:
                    command.fail(error)

    async def _request(self, run: list[Command]) -> None:
        kind = run[0].kind
        http = self.http
        if kind == "submit":
            await http.request("POST", "/tasks", {"tasks": [c.spec for c in run]})
        elif kind == "hold":
            states = [c.state for c in run]
            answer = await http.request("POST", "/futures/hold", {"keys": [s.key for s in states]})  # type: ignore[union-attr]
            for state, message in zip(states, answer["futures"]):
                state.settle(message, self.lock)  # type: ignore[union-attr]
        elif kind == "release":
            await http.request("POST", "/futures/release", {"keys": [c.key for c in run]})
        elif kind == "forget":
            await http.request("POST", "/futures/fire-and-forget", {"keys": [c.key for c in run]})
        elif kind == "append":
            await self._append_run(run)
        elif kind == "configure":
            for command in run:
                body = {} if command.maxlen is ... else {"maxlen": command.maxlen}
                info = await http.request("PUT", f"/channels/{quoted(command.channel or '')}", body)
                command.done(info)  # type: ignore[misc]

    async def _append_run(self, run: list[Command]) -> None:
        """One request per channel, in order within each; a retry carries the same idempotency key."""
        by_channel: dict[str, list[Command]] = {}
        for command in run:
            by_channel.setdefault(command.channel or "", []).append(command)
        for channel, commands in by_channel.items():
            body = {"keys": [c.key for c in commands], "idempotencyKey": random_id()}
            try:
                await self._retrying(lambda: self.http.request("POST", f"/channels/{quoted(channel)}/append", body))
            except SluiceError as error:
                if len(commands) > 1 and not is_transient(error):
                    for command in commands:
                        await self._deliver([command])
                else:
                    for command in commands:
                        command.fail(error)  # type: ignore[misc]

    # ── internals ────────────────────────────────────────────────────────

    def _resync(self) -> None:
        """The stream reopened (a network blip, or the scheduler restarted): ask again about what is pending."""
        with self.lock:
            pending = [s for s in self.states.values() if not s.done and s.key not in self._unsent_holds]
        for state in pending:
            self._post(Command("hold", state=state))

    def _fail_all(self, error: BaseException) -> None:
        with self.lock:
            states = list(self.states.values())
        for state in states:
            state.fail(error, self.lock)

    def run_sync(self, coroutine: Awaitable[T]) -> T:
        """Run a coroutine on this core's loop from another thread, and wait for it."""
        if threading.get_ident() == self.loop_thread:
            close = getattr(coroutine, "close", None)
            if close:
                close()
            raise RuntimeError(
                "a blocking sluice call was made on the client's event-loop thread: in async code use Client(..., asynchronous=True) "
                "and await, or get_client() inside an async def task"
            )
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result()  # type: ignore[arg-type]
