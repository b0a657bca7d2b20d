"""sluice for Python: a client (synchronous, or asyncio with asynchronous=True)
and a worker (python3 -m sluice.worker) for the sluice scheduler, with Dask's
names: Client.submit, map, gather, scatter, as_completed, wait,
fire_and_forget, Future, channels, Queue, Variable, Event, Lock, Semaphore,
Pub, Sub,
get_client, get_task and secede."""

from .channel import Channel, ChannelEntry
from .client import Client, DoneAndNotDoneFutures, as_completed, fire_and_forget, wait
from .context import TaskInfo, get_client, get_task, secede
from .coordination import Event, Lease, Lock, Queue, Semaphore, Variable
from .errors import CancelledError, LostError, SluiceError, TaskError
from .future import Future
from .pubsub import Pub, Sub

__version__ = "0.1.0"

__all__ = [
    "CancelledError",
    "Channel",
    "ChannelEntry",
    "Client",
    "DoneAndNotDoneFutures",
    "Event",
    "Future",
    "Lease",
    "Lock",
    "LostError",
    "Pub",
    "Queue",
    "Semaphore",
    "SluiceError",
    "Sub",
    "TaskError",
    "TaskInfo",
    "Variable",
    "as_completed",
    "fire_and_forget",
    "get_client",
    "get_task",
    "secede",
    "wait",
]
