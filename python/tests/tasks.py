"""Task functions the Python tests run on a real Python worker."""

import asyncio
import operator
import random as _random
import time

from sluice import get_client, get_task, secede

__all__ = [
    "py_inc",
    "py_add",
    "py_fail",
    "py_sleep",
    "py_async_sleep",
    "py_echo",
    "py_where",
    "whereAmI",
    "py_flaky",
    "py_hang",
    "py_async_hang",
    "py_fan_out",
    "py_async_fan_out",
    "py_unserializable",
    "py_nan",
    "py_random",
    "py_emit",
    "py_combine",
    "py_call_ts",
    "py_crash",
    "py_add_op",
    "py_big",
]

py_add_op = operator.add  # an imported function, offered because __all__ lists it


def py_inc(x):
    return x + 1


def py_add(a, b):
    return a + b


def py_fail(message="boom"):
    raise ZeroDivisionError(message)


def py_sleep(seconds, value=None):
    time.sleep(seconds)
    return value


async def py_async_sleep(seconds, value=None):
    await asyncio.sleep(seconds)
    return value


def py_echo(*args, **kwargs):
    return {"args": list(args), "kwargs": kwargs}


def py_where(seconds=0):
    if seconds:
        time.sleep(seconds)
    return "python:" + get_task().worker


def whereAmI(ms=0):
    """The same name as the TypeScript fixture's: offered by workers of both languages."""
    if ms:
        time.sleep(ms / 1000)
    return "python:" + get_task().worker


def py_flaky(failures):
    attempt = get_task().attempt
    if attempt <= failures:
        raise RuntimeError(f"attempt {attempt} fails")
    return attempt


def py_hang():
    """Runs until the scheduler no longer wants it (cancel or timeout), then returns."""
    get_task().cancelled.wait(60)
    return "hung"


async def py_async_hang():
    await asyncio.sleep(60)
    return "hung"


def py_fan_out(n):
    """Dask's worker_client pattern: submit n tasks from inside a task, give the slot back, wait for them."""
    client = get_client()
    futures = client.map("py_inc", range(n), pure=False)
    secede()
    return sum(client.gather(futures))


async def py_async_fan_out(n):
    client = get_client()
    futures = client.map("py_inc", range(n), pure=False)
    secede()
    return sum(await client.gather(futures))


def py_unserializable():
    return {1, 2}


def py_nan():
    return float("nan")


def py_random():
    return _random.random()


def py_emit(name, interval=0.05):
    """Forever (until cancelled): submit py_random() and append its future to channel `name`."""
    client = get_client()
    channel = client.channel(name)
    cancelled = get_task().cancelled
    secede()
    emitted = 0
    while not cancelled.is_set():
        channel.append(client.submit("py_random", pure=False))
        emitted += 1
        cancelled.wait(interval)
    return emitted


def py_combine(a, b, out):
    client = get_client()
    secede()
    sums = client.channel(out)
    combined = 0
    for x, y in zip(client.channel(a), client.channel(b)):
        sums.append(client.submit("py_add", x, y))
        combined += 1
    sums.flush()
    return combined


def py_call_ts(x):
    """A Python task that calls a TypeScript one (`inc`) through get_client()."""
    client = get_client()
    future = client.submit("inc", x, pure=False)
    secede()
    return future.result(timeout=30) * 10


def py_big(n):
    return "x" * n


def py_crash():
    import os

    os._exit(3)
