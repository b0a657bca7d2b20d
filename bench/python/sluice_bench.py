"""sluice's figures from Python for `npm run bench:peers` (and bench/python.ts):
the synchronous Python client against a real scheduler and one Python worker,
on the workloads of bench/tasks.ts. Prints one JSON document on stdout;
`--quick` shrinks the sizes. The scheduler's URL comes as --scheduler."""

import argparse
import json
import sys
import time

from sluice import Client


def percentile(sorted_values, p):
    """The same rank rule as bench/lib.ts."""
    return sorted_values[min(len(sorted_values) - 1, int(p / 100 * len(sorted_values)))]


def result(id, value, unit, **params):
    return {"id": id, "value": round(value, 3), "unit": unit, "params": params}


def tasks_throughput(client, n):
    client.gather(client.map("inc", range(500), pure=False))  # warm up
    started = time.perf_counter()
    futures = client.map("inc", range(n), pure=False)
    values = client.gather(futures)
    seconds = time.perf_counter() - started
    assert values[-1] == n
    del futures
    client.flush()
    return n / seconds


def task_latency(client, n, warm_up):
    """Latencies after warm_up tasks, and those of the first n."""
    first, latencies = [], []
    for i in range(n + warm_up):
        started = time.perf_counter()
        client.submit("inc", i, pure=False).result()
        elapsed = (time.perf_counter() - started) * 1000
        if i >= warm_up:
            latencies.append(elapsed)
        elif i < n:
            first.append(elapsed)
    return sorted(latencies), sorted(first)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scheduler", required=True)
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--concurrency", type=int, default=0, help="the worker's concurrency, for the record")
    options = parser.parse_args()
    sizes = {"tasks": 2_000, "latency": 100, "latency-warm-up": 100} if options.quick else {"tasks": 10_000, "latency": 1_000, "latency-warm-up": 5_000}
    results = []
    with Client(options.scheduler) as client:
        n = sizes["tasks"]
        results.append(result("tasks-throughput", tasks_throughput(client, n), "tasks/s", tasks=n))
        latencies, first = task_latency(client, sizes["latency"], sizes["latency-warm-up"])
        for p in (50, 99):
            results.append(result(f"task-latency-p{p}", percentile(latencies, p), "ms", tasks=len(latencies), warmUp=sizes["latency-warm-up"]))
            results.append(result(f"task-latency-first-p{p}", percentile(first, p), "ms", tasks=len(first)))
    json.dump({"python": sys.version.split()[0], "results": results}, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
