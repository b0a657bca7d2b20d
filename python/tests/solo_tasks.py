"""Tasks only the workers a test starts for itself offer (not the shared Python worker)."""

import asyncio
import time

from sluice import get_client, get_task, secede


def solo_inc(x):
    return x + 1


def solo_fan_out(n):
    client = get_client()
    futures = client.map("solo_inc", range(n), pure=False)
    secede()
    return sum(client.gather(futures))


async def solo_async_fan_out(n):
    client = get_client()
    futures = client.map("solo_inc", range(n), pure=False)
    secede()
    return sum(await client.gather(futures))


def solo_where(seconds=0.0):
    time.sleep(seconds)
    return get_task().worker


async def solo_async_guard(flag):
    """Waits; when the scheduler cancels it, the coroutine is cancelled: it says so on the event `flag`."""
    try:
        await asyncio.sleep(60)
    except asyncio.CancelledError:
        await get_client().event(flag).set()
        raise
    return "not cancelled"


def solo_thread_guard(flag):
    """Waits on get_task().cancelled; when it is set, says so on the event `flag`."""
    if get_task().cancelled.wait(60):
        get_client().event(flag).set()
    return "done"


def solo_big(n):
    return "x" * n


def _not_a_task():
    return "private"
