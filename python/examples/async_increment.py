# Dask's "asynchronous operation" example in sluice: start an asynchronous
# client, submit an increment of 10 without waiting, await the future, get 11.
#   python3 python/examples/async_increment.py
import asyncio
import os

from sluice import Client


async def f():
    client = await Client(os.environ.get("SLUICE_SCHEDULER", "http://localhost:8786"), asynchronous=True)
    future = client.submit("inc", 10)  # returns at once: "inc" is a function a worker registered
    result = await future
    await client.close()
    return result


print(asyncio.run(f()))  # 11
