"""What a client knows about one key (FutureState, shared by every Future
object for that key), and the Future itself."""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import TYPE_CHECKING, Any, Callable

from .errors import CancelledError, LostError, SluiceError, TaskError, task_error

if TYPE_CHECKING:
    from .client import Client

log = logging.getLogger("sluice")

STATUSES = ("pending", "finished", "error", "cancelled", "lost")


class FutureState:
    """Settled on the client's event loop; read from any thread. ``refs`` counts
    the live Future objects: at zero the client releases the key."""

    __slots__ = ("key", "status", "value", "has_value", "error", "refs", "event", "_callbacks")

    def __init__(self, key: str):
        self.key = key
        self.status = "pending"
        self.value: Any = None
        self.has_value = False
        self.error: BaseException | None = None
        self.refs = 0
        self.event = threading.Event()
        self._callbacks: list[Callable[[], None]] | None = None

    @property
    def done(self) -> bool:
        return self.status != "pending"

    def settle(self, message: dict[str, Any], lock: threading.RLock) -> None:
        """Apply an outcome from the scheduler; the first terminal one wins."""
        status = message.get("status")
        with lock:
            if self.status != "pending" or status == "pending" or status not in STATUSES:
                return
            if status == "finished":
                if not message.get("resultOmitted"):
                    self.value = message.get("result")
                    self.has_value = True
            elif status == "error":
                self.error = task_error(self.key, message.get("error"))
            elif status == "cancelled":
                error = message.get("error") or {}
                self.error = CancelledError(self.key, error.get("message"))
            else:
                error = message.get("error") or {}
                self.error = LostError(self.key, error.get("message"))
            self.status = status
            callbacks, self._callbacks = self._callbacks, None
        self._wake(callbacks)

    def fail(self, error: BaseException, lock: threading.RLock) -> None:
        """The client could not get the task accepted (bad input, unknown dependency, closed client)."""
        with lock:
            if self.status != "pending":
                return
            self.error = error
            self.status = "error"
            callbacks, self._callbacks = self._callbacks, None
        self._wake(callbacks)

    def add_callback(self, callback: Callable[[], None], lock: threading.RLock) -> None:
        """callback() once done: on the client's event loop, or at once (here) if already done."""
        with lock:
            if self.status == "pending":
                if self._callbacks is None:
                    self._callbacks = []
                self._callbacks.append(callback)
                return
        callback()

    def _wake(self, callbacks: list[Callable[[], None]] | None) -> None:
        self.event.set()
        for callback in callbacks or ():
            try:
                callback()
            except Exception:  # a user's done-callback must not break the client
                log.exception("a future's done callback raised")


class Future:
    """A local proxy for a task's result on the cluster (Dask's Future).

    While a Future object is alive its client holds the key, so the result is
    kept; ``release()`` (or garbage collection) lets go. As an argument of
    another task, or inside a queue item or a variable's value, it stands for
    its result ({"$future": key} on the wire).

    With a synchronous client, ``result()``, ``exception()``, ``traceback()``
    and ``cancel()`` block; with ``asynchronous=True`` they return coroutines,
    and ``await future`` gives the result.
    """

    __slots__ = ("key", "client", "_state", "_released", "__weakref__")

    def __init__(self, key: str, client: "Client | None" = None, *, _state: FutureState | None = None):
        if client is None:
            from .context import default_client

            client = default_client()
        self.key = key
        self.client = client
        self._released = True
        self._state = client._core.attach(key, _state)
        self._released = False

    @property
    def status(self) -> str:
        """'pending' | 'finished' | 'error' | 'cancelled' | 'lost'"""
        return self._state.status

    def done(self) -> bool:
        return self._state.done

    def result(self, timeout: float | None = None) -> Any:
        """The result (waiting up to timeout seconds); raises the task's error, or TimeoutError."""
        if self.client.asynchronous:
            return self._result(timeout)
        state = self._state
        if not state.event.wait(timeout):
            raise TimeoutError(f"future {self.key} did not end within {timeout} s")
        if state.error is not None:
            raise state.error
        if state.has_value:
            return state.value
        return self.client._run(self._result(None))

    async def _result(self, timeout: float | None) -> Any:
        core = self.client._core
        await core.wait_done(self._state, timeout)
        return await core.value(self._state)

    def exception(self, timeout: float | None = None) -> Any:
        """The error the task ended with, or None if it finished."""
        return self.client._run(self._exception(timeout))

    async def _exception(self, timeout: float | None) -> BaseException | None:
        await self.client._core.wait_done(self._state, timeout)
        return self._state.error

    def traceback(self, timeout: float | None = None) -> Any:
        """The traceback of the error on the worker (text), or None."""
        return self.client._run(self._traceback(timeout))

    async def _traceback(self, timeout: float | None) -> str | None:
        error = await self._exception(timeout)
        return error.traceback if isinstance(error, TaskError) else None

    def cancel(self) -> Any:
        """Cancel the task (and what depends on it); returns the status it ended with."""
        return self.client._run(self.client._core.cancel(self.key))

    def release(self) -> None:
        """Let go of the key. A pending task nobody holds is cancelled; a result nobody holds is forgotten after the retention period."""
        if self._released:
            return
        self._released = True
        self.client._core.unref(self.key)

    def add_done_callback(self, fn: Callable[["Future"], Any]) -> None:
        """Call fn(future) once the future is done: on the client's event-loop thread, or at once if it is done."""
        self._state.add_callback(lambda: fn(self), self.client._core.lock)

    def __await__(self):
        core = self.client._core
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is core.loop:
            return self._result(None).__await__()
        # A synchronous client's future awaited in some other event loop.
        return asyncio.wrap_future(asyncio.run_coroutine_threadsafe(self._result(None), core.loop)).__await__()

    def __sluice_ref__(self) -> dict[str, str]:
        return {"$future": self.key}

    def __del__(self) -> None:
        try:
            self.release()
        except Exception:
            pass  # interpreter shutdown

    def __repr__(self) -> str:
        return f"<Future: status: {self.status}, key: {self.key}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Future) and other.key == self.key and other.client._core is self.client._core

    def __hash__(self) -> int:
        return hash(self.key)


def closed_error() -> SluiceError:
    return SluiceError("SLUICE_ERR_CLOSED", "closed: the client, or this object, was closed")
