"""Errors: what the scheduler answered (SluiceError, with its catalog code),
and how a task ended when it did not finish (TaskError, CancelledError,
LostError)."""

from __future__ import annotations

import builtins
import concurrent.futures
from typing import Any


class SluiceError(Exception):
    """An error the scheduler answered, or SLUICE_ERR_UNREACHABLE / SLUICE_ERR_CLOSED on the client side.
    ``code`` is from the scheduler's catalog (SLUICE_ERR_*), ``status`` the HTTP status (0: none)."""

    def __init__(self, code: str, message: str, status: int = 0, details: Any = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.details = details

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class TaskError(Exception):
    """A task raised on a worker. ``name`` and ``message`` are the remote error's,
    ``traceback`` its traceback (a Python one from a Python worker, a stack from a
    TypeScript one), ``key`` the task that raised (a dependency, when this task
    erred because one did).

    When ``name`` is a Python built-in exception (ValueError, ZeroDivisionError,
    TypeError...), the error raised is also an instance of it, so ``except
    ZeroDivisionError`` works as it does with Dask."""

    def __init__(self, key: str, name: str, message: str, traceback: str = ""):
        Exception.__init__(self, message)
        self.key = key
        self.name = name
        self.message = message
        self.traceback = traceback

    def __str__(self) -> str:
        return self.message

    def __reduce__(self):
        return (task_error, (self.key, {"name": self.name, "message": self.message, "traceback": self.traceback}))


class CancelledError(concurrent.futures.CancelledError):
    """The task was cancelled, by a caller or because a dependency was."""

    def __init__(self, key: str, reason: str | None = None):
        super().__init__(f"task {key} was cancelled: {reason}" if reason else f"task {key} was cancelled")
        self.key = key


class LostError(Exception):
    """The task was lost: its workers kept dying, or a dependency was lost."""

    def __init__(self, key: str, message: str | None = None):
        super().__init__(message or f"task {key} was lost")
        self.key = key


# Built-ins a remote error may also be an instance of. Not the ones that steer
# control flow (StopIteration, GeneratorExit...) nor BaseExceptions.
_NOT_MIRRORED = {"StopIteration", "StopAsyncIteration", "GeneratorExit", "KeyboardInterrupt", "SystemExit", "BaseException", "BaseExceptionGroup", "ExceptionGroup"}
_classes: dict[str, type] = {}


def _error_class(name: str) -> type:
    cls = _classes.get(name)
    if cls is not None:
        return cls
    cls = TaskError
    base = getattr(builtins, name, None)
    if isinstance(base, type) and issubclass(base, Exception) and name not in _NOT_MIRRORED and base is not Exception:
        try:
            candidate = type(name, (TaskError, base), {"__module__": "sluice.errors"})
            candidate("k", name, "m", "")  # some built-ins take other constructor arguments
            cls = candidate
        except TypeError:
            cls = TaskError
    _classes[name] = cls
    return cls


def task_error(key: str, info: dict[str, Any] | None) -> TaskError:
    info = info or {"name": "Error", "message": "unknown error", "traceback": ""}
    name = str(info.get("name") or "Error")
    cls = _error_class(name)
    return cls(str(info.get("key") or key), name, str(info.get("message", "")), str(info.get("traceback", "")))
