"""The Python worker's tasks for the benchmark: trivial ones."""


def inc(x):
    return x + 1
