"""Dask's figures for `npm run bench:peers`: the workloads of bench/tasks.ts and
bench/queues.ts, run against a LocalCluster of 1 worker process x 2 threads.
Prints one JSON document on stdout; `--quick` shrinks the sizes.
Needs Debian's python3-distributed (sudo apt-get install -y python3-distributed)."""

import argparse
import json
import logging
import sys
import time

import dask
import distributed
from distributed import Client, LocalCluster, Pub, Queue, Sub


def inc(x):
    return x + 1


def percentile(sorted_values, p):
    """The same rank rule as bench/lib.ts."""
    return sorted_values[min(len(sorted_values) - 1, int(p / 100 * len(sorted_values)))]


def result(id, value, unit, **params):
    return {"id": id, "value": round(value, 3), "unit": unit, "params": params}


def local_cluster():
    return LocalCluster(n_workers=1, threads_per_worker=2, processes=True, dashboard_address=None, silence_logs=logging.ERROR)


def tasks_throughput(client, n):
    client.gather(client.map(inc, range(500), pure=False))  # warm up
    started = time.perf_counter()
    values = client.gather(client.map(inc, range(n), pure=False))
    seconds = time.perf_counter() - started
    assert values[-1] == n
    return n / seconds


def task_latency(client, n, warm_up):
    """Latencies after warm_up tasks, and those of the first n."""
    first, latencies = [], []
    for i in range(n + warm_up):
        started = time.perf_counter()
        client.submit(inc, i, pure=False).result()
        if i >= warm_up:
            latencies.append((time.perf_counter() - started) * 1000)
        elif i < n:
            first.append((time.perf_counter() - started) * 1000)
    return sorted(latencies), sorted(first)


def chain(client, n):
    started = time.perf_counter()
    future = client.submit(inc, 0, pure=False)
    for _ in range(1, n):
        future = client.submit(inc, future, pure=False)
    assert future.result() == n
    return n / (time.perf_counter() - started)


def queue_put_get(client, n):
    queue = Queue("bench-queue", client=client)
    started = time.perf_counter()
    for i in range(n):
        queue.put(i)
        assert queue.get() == i
    return 2 * n / (time.perf_counter() - started)


def pubsub_latency(client, n):
    """One message in flight, 100 publishes/s: publish to receipt, in ms."""
    sub = Sub("latency", client=client)
    pub = Pub("latency", client=client)
    while True:  # the subscription reaches the scheduler asynchronously
        pub.put(-1)
        try:
            sub.get(timeout=0.2)
            break
        except TimeoutError:
            pass
    latencies = []
    for i in range(n):
        started = time.perf_counter()
        pub.put(i)
        while sub.get(timeout=10) != i:  # late warm-up messages
            pass
        latencies.append((time.perf_counter() - started) * 1000)
        time.sleep(max(0, 0.01 - (time.perf_counter() - started)))
    return sorted(latencies)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    quick = parser.parse_args().quick
    sizes = {"tasks": 2_000, "latency": 100, "latency-warm-up": 100, "chain": 200, "queue": 200, "pubsub": 50} if quick else {"tasks": 10_000, "latency": 1_000, "latency-warm-up": 5_000, "chain": 2_000, "queue": 2_000, "pubsub": 300}
    results = []
    with local_cluster() as cluster, Client(cluster) as client:
        n = sizes["tasks"]
        results.append(result("tasks-throughput", tasks_throughput(client, n), "tasks/s", tasks=n))
        latencies, first = task_latency(client, sizes["latency"], sizes["latency-warm-up"])
        for p in (50, 99):
            results.append(result(f"task-latency-p{p}", percentile(latencies, p), "ms", tasks=len(latencies), warmUp=sizes["latency-warm-up"]))
            results.append(result(f"task-latency-first-p{p}", percentile(first, p), "ms", tasks=len(first)))
        n = sizes["chain"]
        first = chain(client, n)  # warms up, as sluice's bench does
        results.append(result("chain", chain(client, n), "tasks/s", tasks=n, warmUp=n))
        results.append(result("chain-first", first, "tasks/s", tasks=n))
        n = sizes["queue"]
        queue_put_get(client, 200)  # warm up, as sluice's and BullMQ's runs do
        results.append(result("queue-put-get", queue_put_get(client, n), "ops/s", items=n, ops=2 * n, api="distributed.Queue put then get"))
        latencies = pubsub_latency(client, sizes["pubsub"])
        for p in (50, 99):
            results.append(result(f"pubsub-latency-p{p}", percentile(latencies, p), "ms", messages=len(latencies), publishesPerSecond=100, subscribers=1))
    # The scheduler's default holds back tasks it cannot start yet; `inf` sends them all to the worker at once.
    with dask.config.set({"distributed.scheduler.worker-saturation": float("inf")}):
        with local_cluster() as cluster, Client(cluster) as client:
            n = sizes["tasks"]
            results.append(dict(result("tasks-throughput", tasks_throughput(client, n), "tasks/s", tasks=n), variant="worker-saturation: inf"))
    json.dump(
        {
            "peer": "dask",
            "version": distributed.__version__,
            "python": sys.version.split()[0],
            "setup": "LocalCluster(n_workers=1, threads_per_worker=2, processes=True), synchronous Client",
            "workerSaturation": dask.config.get("distributed.scheduler.worker-saturation"),
            "results": results,
        },
        sys.stdout,
        indent=2,
    )
    print()


if __name__ == "__main__":
    main()
