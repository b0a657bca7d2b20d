"""The Python tasks module of the examples: each public function is a task,
callable by its name from Python or TypeScript (`client.submit("inc", 10)`).

    python3 -m sluice.worker --scheduler http://localhost:8786 --tasks python/examples/tasks.py
"""

import random as _random

from sluice import get_client, get_task, secede


def inc(x):
    return x + 1


def add(a, b):
    return a + b


def random():
    return _random.random()


def emit(name, interval_ms=100):
    """Forever (until cancelled): submit random() and append its future to the channel `name`.
    Dask's local_client is get_client() here; secede() gives the slot back, since it never ends on its own."""
    client = get_client()
    channel = client.channel(name)
    cancelled = get_task().cancelled
    secede()
    emitted = 0
    while not cancelled.is_set():
        channel.append(client.submit("random", pure=False))
        emitted += 1
        cancelled.wait(interval_ms / 1000)
    return emitted


def combine(a="a", b="b", out="adds"):
    """Zip channels a and b: for each pair of futures, submit add(x, y) and append it to `out`.
    Ends when either channel is stopped."""
    client = get_client()
    secede()
    out_chan = client.channel(out)
    combined = 0
    for x, y in zip(client.channel(a), client.channel(b)):
        out_chan.append(client.submit("add", x, y))
        combined += 1
    out_chan.flush()
    return combined
