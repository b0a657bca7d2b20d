"""Dask's coordination primitives on the scheduler, durable across restarts:
Queue, Variable, Event, Lock and Semaphore (with leases and fencing tokens).

Each takes ``client=`` (default: the current client, or the task's inside a
task). With a synchronous client their methods block; with an asynchronous
one they return coroutines."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from typing import TYPE_CHECKING, Any

from .core import LONG_POLL, Core, quoted
from .errors import SluiceError
from .future import Future
from .keys import random_id, replace_refs

if TYPE_CHECKING:
    from .client import Client

log = logging.getLogger("sluice")


def _client(client: "Client | None") -> "Client":
    if client is None:
        from .context import default_client

        return default_client()
    return client


class _Primitive:
    _collection = ""

    def __init__(self, name: str | None, client: "Client | None"):
        self.client = _client(client)
        self.name = name or random_id()
        self._core: Core = self.client._core
        self._core.assert_open()
        self._core.closables.add(self)
        self._order: asyncio.Lock | None = None

    @property
    def _path(self) -> str:
        return f"/{self._collection}/{quoted(self.name)}"

    def _revive(self, value: Any) -> Any:
        return replace_refs(value, lambda key: Future(key, self.client))

    def _ordered(self) -> asyncio.Lock:
        """Writes through one object go in the order they were made."""
        if self._order is None:
            self._order = asyncio.Lock()
        return self._order

    def _close(self) -> None:
        self._core.closables.discard(self)

    def __repr__(self) -> str:
        return f"<{type(self).__name__}: {self.name}>"


class Queue(_Primitive):
    """A named FIFO queue on the scheduler (Dask's Queue), shared by every client and durable.
    Each item goes to exactly one getter. Items are JSON values or Futures (anywhere inside an
    item): the queue holds the futures, and a getter's client holds them once it has them."""

    _collection = "queues"

    def __init__(self, name: str | None = None, client: "Client | None" = None, maxsize: Any = ...):
        super().__init__(name, client)
        self._configured: Any = None
        if maxsize is not ...:
            self._configured = {"maxsize": maxsize or None}  # Dask's 0 is unbounded

    async def _configure(self) -> None:
        if self._configured is not None:
            body, self._configured = self._configured, None
            await self._core.call("PUT", self._path, body)

    def put(self, value: Any, timeout: float | None = None) -> Any:
        """Put an item at the back; on a full queue, wait for room (TimeoutError after timeout seconds).
        Returns the queue's size after."""
        return self.client._run(self._put([value], timeout))

    def put_many(self, values: list[Any], timeout: float | None = None) -> Any:
        """Put several items at once, in order: all of them or none."""
        return self.client._run(self._put(list(values), timeout))

    async def _put(self, items: list[Any], timeout: float | None) -> int:
        body = {"items": items, "idempotencyKey": random_id()}
        async with self._ordered():
            await self._configure()
            await self._core.flush()  # futures submitted just before must exist before the queue holds them
            answer = await self._core.wait_for(
                lambda s: self._core.call("POST", f"{self._path}/put?timeout={s}", body), timeout, f"room in queue {self.name}"
            )
        return int(answer["size"])

    def get(self, timeout: float | None = None, batch: bool | int = False) -> Any:
        """Take the item at the front, waiting for one (TimeoutError after timeout seconds).
        ``batch=True``: every item waiting now, as a list (perhaps empty), without waiting;
        ``batch=n``: a list of up to n items, once there is one."""
        return self.client._run(self._get(timeout, batch))

    async def _get(self, timeout: float | None, batch: bool | int) -> Any:
        await self._configure()
        if batch is True:
            try:
                answer = await self._core.call("POST", f"{self._path}/get?batch=10000&timeout=0")
            except SluiceError as error:
                if error.code in ("SLUICE_ERR_TIMEOUT", "SLUICE_ERR_UNKNOWN_QUEUE"):
                    return []
                raise
            return [self._revive(item) for item in answer["items"]]
        n = 1 if batch is False else int(batch)
        answer = await self._core.wait_for(
            lambda s: self._core.call("POST", f"{self._path}/get?batch={n}&timeout={s}"), timeout, f"an item in queue {self.name}"
        )
        items = [self._revive(item) for item in answer["items"]]
        return items if batch is not False else items[0]

    def qsize(self) -> Any:
        """How many items wait in the queue."""
        return self.client._run(self._qsize())

    async def _qsize(self) -> int:
        return int((await self._info())["size"])

    def info(self) -> Any:
        """size, maxsize, and how many callers wait to get and to put."""
        return self.client._run(self._info())

    async def _info(self) -> dict[str, Any]:
        await self._configure()
        try:
            return await self._core.call("GET", self._path)
        except SluiceError as error:
            if error.code == "SLUICE_ERR_UNKNOWN_QUEUE":
                return {"name": self.name, "size": 0, "maxsize": None, "getters": 0, "putters": 0}
            raise

    def delete(self) -> Any:
        """Delete the queue and its items; their futures are let go."""
        return self.client._run(self._core.call("DELETE", self._path))


class Variable(_Primitive):
    """A named value on the scheduler (Dask's Variable), shared by every client and durable.
    The futures in a value are held while it is the value; reading it, this client holds them too."""

    _collection = "variables"

    def __init__(self, name: str | None = None, client: "Client | None" = None):
        super().__init__(name, client)

    def set(self, value: Any, fence: "Lease | None" = None) -> Any:
        """Set the value. With ``fence=lease``, only while that lease is held: otherwise SLUICE_ERR_STALE_TOKEN
        is raised and nothing is written."""
        return self.client._run(self._set(value, fence))

    async def _set(self, value: Any, fence: "Lease | None") -> None:
        body: dict[str, Any] = {"value": value}
        if fence is not None:
            body["fence"] = fence.fence
        async with self._ordered():
            await self._core.flush()
            await self._core.call("PUT", self._path, body)

    def get(self, timeout: float | None = None) -> Any:
        """The value (Futures as Future objects), waiting until the variable is set (TimeoutError after timeout)."""
        return self.client._run(self._get(timeout))

    async def _get(self, timeout: float | None) -> Any:
        async with self._ordered():
            pass  # after this object's sets
        answer = await self._core.wait_for(
            lambda s: self._core.call("GET", f"{self._path}?timeout={s}"), timeout, f"variable {self.name} to be set"
        )
        return self._revive(answer["value"])

    def delete(self) -> Any:
        """Unset the variable; its futures are let go."""
        return self.client._run(self._delete())

    async def _delete(self) -> None:
        async with self._ordered():
            await self._core.call("DELETE", self._path)


class Event(_Primitive):
    """Dask's Event, on the scheduler and durable: ``set()`` wakes every waiter in every client,
    ``clear()`` makes later waits wait."""

    _collection = "flags"

    def __init__(self, name: str | None = None, client: "Client | None" = None):
        super().__init__(name, client)

    def set(self) -> Any:
        return self.client._run(self._core.call("POST", f"{self._path}/set"))

    def clear(self) -> Any:
        return self.client._run(self._core.call("POST", f"{self._path}/clear"))

    def is_set(self) -> Any:
        return self.client._run(self._is_set())

    async def _is_set(self) -> bool:
        return bool((await self._core.call("GET", self._path))["set"])

    def wait(self, timeout: float | None = None) -> Any:
        """Wait until the event is set: True once it is, False if timeout seconds pass first."""
        return self.client._run(self._wait(timeout))

    async def _wait(self, timeout: float | None) -> bool:
        try:
            await self._core.wait_for(lambda s: self._core.call("GET", f"{self._path}?timeout={s}"), timeout, f"event {self.name}")
            return True
        except TimeoutError:
            return False


DEFAULT_TTL = 30.0


class Lease:
    """A lease on a lock or semaphore, renewed in the background every ttl/3 while held.

    ``held`` turns False when it is lost: a renewal was refused, or none succeeded within
    ttl of being sent, which is no later than the scheduler can let anybody else in.
    ``token`` is the fencing token; ``fence`` goes with writes to sluice variables
    (``variable.set(value, fence=lease)``), so that a late holder's writes are refused."""

    def __init__(self, owner: "_LeaseHolder", answer: dict[str, Any], sent_at: float):
        self.kind = owner._kind
        self.name = str(answer["name"])
        self.lease_id = str(answer["leaseId"])
        self.token = int(answer["token"])
        self.ttl = float(answer["ttlMs"]) / 1000
        self.lost = threading.Event()
        self.lost_reason: BaseException | None = None
        self._owner = owner
        self._core = owner._core
        self._released = False
        self._renew_handle: asyncio.TimerHandle | None = None
        self._deadline_handle: asyncio.TimerHandle | None = None
        self._extend_until(sent_at + self.ttl)
        self._schedule(self.ttl / 3)

    @property
    def held(self) -> bool:
        return not self._released and not self.lost.is_set()

    @property
    def fence(self) -> dict[str, Any]:
        return {self.kind: self.name, "token": self.token}

    @property
    def _path(self) -> str:
        return f"/{self.kind}s/{quoted(self.name)}"

    async def release(self) -> None:
        """Let go. Raises SLUICE_ERR_LEASE_EXPIRED if the lease was lost, or the scheduler no longer
        held it: whatever was done under it may not have been exclusive."""
        if self.lost.is_set():
            raise self.lost_reason or SluiceError("SLUICE_ERR_LEASE_EXPIRED", "the lease was lost")
        if self._released:
            return
        self._released = True
        self._stop()
        self._owner._ended(self)
        try:
            await self._core.call("POST", f"{self._path}/release", {"leaseId": self.lease_id})
        except SluiceError as error:
            if error.code == "SLUICE_ERR_LEASE_EXPIRED":
                self._lose(error)
            raise

    def abandon(self) -> None:
        """Stop renewing without telling the scheduler (the client is closing; the session's end releases it)."""
        self._released = True
        self._stop()

    def _schedule(self, delay: float) -> None:
        self._renew_handle = self._core.loop.call_later(delay, lambda: self._core.loop.create_task(self._renew()))

    async def _renew(self) -> None:
        if not self.held:
            return
        sent_at = time.monotonic()
        try:
            # One attempt, not the client's retries: a failure is retried soon, by the next renewal.
            await self._core.http.request("POST", f"{self._path}/renew", {"leaseId": self.lease_id})
        except SluiceError as error:
            if error.code == "SLUICE_ERR_LEASE_EXPIRED":
                self._lose(error)
            elif self.held:
                self._schedule(min(self.ttl / 10, 1.0))
            return
        if not self.held:
            return
        self._extend_until(sent_at + self.ttl)
        self._schedule(self.ttl / 3)

    def _extend_until(self, deadline: float) -> None:
        if self._deadline_handle is not None:
            self._deadline_handle.cancel()
        message = f"lease on {self.kind} {self.name} lost: no renewal succeeded within its ttl of {self.ttl} s"
        self._deadline_handle = self._core.loop.call_later(
            max(0.0, deadline - time.monotonic()), lambda: self._lose(SluiceError("SLUICE_ERR_LEASE_EXPIRED", message))
        )

    def _lose(self, reason: SluiceError) -> None:
        self._stop()
        if not self.lost.is_set():
            self.lost_reason = reason
            self.lost.set()
            log.warning("%s", reason.message)
        if not self._released:
            self._released = True
            self._owner._ended(self)

            async def let_go() -> None:  # if the scheduler still holds it after all, let the next in line have it
                try:
                    await self._core.call("POST", f"{self._path}/release", {"leaseId": self.lease_id})
                except SluiceError:
                    pass

            self._core.loop.create_task(let_go())

    def _stop(self) -> None:
        for handle in (self._renew_handle, self._deadline_handle):
            if handle is not None:
                handle.cancel()

    def __repr__(self) -> str:
        return f"<Lease: {self.kind} {self.name} token {self.token}{'' if self.held else ' (not held)'}>"


class _LeaseHolder(_Primitive):
    _kind = ""

    def __init__(self, name: str | None, client: "Client | None"):
        super().__init__(name, client)
        self.leases: list[Lease] = []

    async def _acquire_lease(self, extra: dict[str, Any], timeout: float | None, ttl: float) -> Lease:
        # The lease id is chosen here, so that an acquire retried after a lost answer finds its lease.
        body = {**extra, "leaseId": random_id(), "ttlMs": max(100, round(ttl * 1000)), "holder": f"client {self._core.id}"}
        sent_at = [0.0]

        def request(seconds: float) -> Any:
            sent_at[0] = time.monotonic()
            return self._core.call("POST", f"{self._path}/acquire?timeout={seconds}", body)

        # Short chunks keep the answer of the last one close to its sending, from which the lease's deadline counts.
        answer = await self._core.wait_for(request, timeout, f"a lease on {self._kind} {self.name}", chunk=min(ttl / 3, LONG_POLL))
        lease = Lease(self, answer, sent_at[0])
        self.leases.append(lease)
        return lease

    def _ended(self, lease: Lease) -> None:
        if lease in self.leases:
            self.leases.remove(lease)

    async def _release_oldest(self) -> None:
        if not self.leases:
            raise SluiceError("SLUICE_ERR_LEASE_EXPIRED", f"this {self._kind} object holds no lease on {self.name}")
        await self.leases[0].release()

    async def _info(self) -> dict[str, Any]:
        return await self._core.call("GET", self._path)

    def info(self) -> Any:
        """Who holds it now (leases, with their tokens and holders), how many wait, the latest token."""
        return self.client._run(self._info())

    def _close(self) -> None:
        for lease in list(self.leases):
            lease.abandon()
        self.leases.clear()
        super()._close()


class Lock(_LeaseHolder):
    """A lock on the scheduler (Dask's Lock), with a lease: a holder that dies lets go when its lease
    lapses (ttl seconds after its last renewal), or at once if its client closes. ``lease.token``
    is the fencing token of the current hold. ``with lock:`` (``async with`` when asynchronous)."""

    _kind = "lock"
    _collection = "locks"

    def __init__(self, name: str | None = None, client: "Client | None" = None):
        super().__init__(name, client)

    @property
    def lease(self) -> Lease | None:
        """The lease this object holds, if any."""
        return self.leases[0] if self.leases else None

    def acquire(self, blocking: bool = True, timeout: float | None = None, ttl: float = DEFAULT_TTL) -> Any:
        """Acquire the lock, waiting in line: True, or False if it could not within timeout seconds
        (blocking=False: do not wait)."""
        return self.client._run(self._acquire(blocking, timeout, ttl))

    async def _acquire(self, blocking: bool, timeout: float | None, ttl: float) -> bool:
        if self.leases:
            raise SluiceError("SLUICE_ERR_VALIDATION", f"this Lock object already holds {self.name}; release it first")
        try:
            await self._acquire_lease({}, 0 if not blocking else timeout, ttl)
            return True
        except TimeoutError:
            return False

    def release(self) -> Any:
        """Release the lock. Raises SLUICE_ERR_LEASE_EXPIRED if the lease had been lost meanwhile."""
        return self.client._run(self._release_oldest())

    def locked(self) -> Any:
        """Whether anybody holds the lock now."""
        return self.client._run(self._locked())

    async def _locked(self) -> bool:
        return len((await self._info())["leases"]) > 0

    def __enter__(self) -> "Lock":
        self.acquire()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release()

    async def __aenter__(self) -> "Lock":
        await self._acquire(True, None, DEFAULT_TTL)
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self._release_oldest()


class Semaphore(_LeaseHolder):
    """A semaphore on the scheduler (Dask's Semaphore): up to max_leases leases at once, across every
    client. Leases lapse as a Lock's do. ``with sem:`` (``async with`` when asynchronous)."""

    _kind = "semaphore"
    _collection = "semaphores"

    def __init__(self, max_leases: int = 1, name: str | None = None, client: "Client | None" = None):
        super().__init__(name, client)
        self.max_leases = max_leases

    def acquire(self, timeout: float | None = None, ttl: float = DEFAULT_TTL) -> Any:
        """Acquire a lease, waiting in line: True, or False after timeout seconds. SLUICE_ERR_MAX_LEASES_CONFLICT
        if the semaphore exists with another max_leases."""
        return self.client._run(self._acquire(timeout, ttl))

    async def _acquire(self, timeout: float | None, ttl: float) -> bool:
        try:
            await self._acquire_lease({"maxLeases": self.max_leases}, timeout, ttl)
            return True
        except TimeoutError:
            return False

    def release(self) -> Any:
        """Release this object's oldest lease."""
        return self.client._run(self._release())

    async def _release(self) -> bool:
        await self._release_oldest()
        return True

    def get_value(self) -> Any:
        """How many leases are held now, by anyone."""
        return self.client._run(self._get_value())

    async def _get_value(self) -> int:
        return len((await self._info())["leases"])

    def __enter__(self) -> "Semaphore":
        self.acquire()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release()

    async def __aenter__(self) -> "Semaphore":
        await self._acquire(None, DEFAULT_TTL)
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self._release_oldest()
