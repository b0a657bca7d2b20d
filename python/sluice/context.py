"""What a running task can learn about itself, and the client it may use:
get_client(), get_task() and secede(), as in Dask. They find the running
task through a context variable, so task functions stay plain functions."""

from __future__ import annotations

import contextvars
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from .client import Client


@dataclass
class TaskInfo:
    """The running task: its key, function, attempt (1 for the first run) and worker.
    ``cancelled`` is set when the scheduler no longer wants the result (cancelled, or
    timed out); a long task in a thread checks it, an ``async def`` task is cancelled."""

    key: str
    fn: str
    attempt: int
    worker: str
    cancelled: threading.Event = field(default_factory=threading.Event)


@dataclass
class TaskContext:
    info: TaskInfo
    client: Callable[[bool], "Client"]
    secede: Callable[[], None]


current_task: contextvars.ContextVar[TaskContext | None] = contextvars.ContextVar("sluice_task", default=None)


def _in_event_loop() -> bool:
    import asyncio

    try:
        asyncio.get_running_loop()
        return True
    except RuntimeError:
        return False


def get_client() -> "Client":
    """Inside a task: a client on the scheduler this worker serves (Dask's get_client / local_client),
    asynchronous in an ``async def`` task, synchronous in a plain one. Elsewhere: the default client
    (the latest one made and not closed)."""
    context = current_task.get()
    if context is not None:
        return context.client(_in_event_loop())
    return default_client()


def default_client() -> "Client":
    context = current_task.get()
    if context is not None:
        return context.client(_in_event_loop())
    from .client import default_client_or_none

    client = default_client_or_none()
    if client is None:
        raise ValueError("no sluice Client: make one first (Client(address)), or pass client=")
    return client


def get_task() -> TaskInfo:
    """The running task's key and metadata."""
    context = current_task.get()
    if context is None:
        raise RuntimeError("get_task() works only inside a task running on a sluice worker")
    return context.info


def secede() -> None:
    """Give the task's slot back to the worker (Dask's secede), for a task that runs for long
    waiting on other tasks, so that it does not starve the tasks it waits for."""
    context = current_task.get()
    if context is None:
        raise RuntimeError("secede() works only inside a task running on a sluice worker")
    context.secede()


