# Dask's channels example with local clients, in sluice: two tasks on the
# workers append random numbers to channels `a` and `b` forever; a third zips
# the two channels and appends their sums to `adds`; here we read `adds`.
# Run against a scheduler with a worker for python/examples/tasks.py:
#   python3 python/examples/local_client_channels.py
import os
import time

from sluice import Client

client = Client(os.environ.get("SLUICE_SCHEDULER", "http://localhost:8786"))
run = os.environ.get("SLUICE_EXAMPLE_RUN", str(time.time_ns()))  # fresh channel names per run
a, b, adds = f"a-{run}", f"b-{run}", f"adds-{run}"

emitters = (client.submit("emit", a, pure=False), client.submit("emit", b, pure=False))
combiner = client.submit("combine", a, b, adds, pure=False)
chan = client.channel(adds)

for seen, future in enumerate(chan, 1):
    print(future.result())  # a sum of two random numbers, between 0 and 2
    if seen == 10:
        break

# Stop everything: cancel the emitters; stopping both inputs ends the combiner.
client.cancel(emitters)
client.channel(a).stop()
client.channel(b).stop()
print(f"combined {combiner.result()} pairs")
client.close()
