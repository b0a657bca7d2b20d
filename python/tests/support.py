"""What the Python tests share: the scheduler the test runner started
(SLUICE_SCHEDULER), and real processes of their own when a test needs them
(a Python worker with its own functions, a scheduler to restart). Every
process a test starts is stopped by it."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Callable

HERE = Path(__file__).resolve().parent
PYTHON_DIR = HERE.parent
ROOT = PYTHON_DIR.parent
NODE = os.environ.get("SLUICE_NODE", "node")


def scheduler_url() -> str:
    url = os.environ.get("SLUICE_SCHEDULER")
    if not url:
        raise unittest.SkipTest("SLUICE_SCHEDULER is not set: run these through `npx tap test/integration/python-*.test.ts` (or npm test), which start the cluster")
    return url


def http(url: str, method: str = "GET", body: Any = None, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    """A raw request (no client in between): status and decoded JSON."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers={**({"content-type": "application/json"} if data else {}), **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            text = response.read().decode()
            return response.status, json.loads(text) if text else None
    except urllib.error.HTTPError as error:
        text = error.read().decode()
        return error.code, json.loads(text) if text else None


def wait_until(predicate: Callable[[], Any], what: str, timeout: float = 20.0, interval: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    last: BaseException | None = None
    while True:
        try:
            value = predicate()
            if value:
                return value
        except AssertionError:
            raise
        except Exception as error:  # noqa: BLE001 - kept for the message
            last = error
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}{f': {last}' if last else ''}")
        time.sleep(interval)


class Proc:
    """A child process whose output is kept for diagnosis."""

    def __init__(self, args: list[str], cwd: Path = ROOT, env: dict[str, str] | None = None):
        self.args = args
        self.lines: list[str] = []
        self.popen = subprocess.Popen(args, cwd=cwd, env={**os.environ, **(env or {})}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.popen.stdout is not None
        for line in self.popen.stdout:
            self.lines.append(line.rstrip("\n"))

    def output(self) -> str:
        return "\n".join(self.lines[-40:])

    def wait_for_line(self, predicate: Callable[[str], Any], timeout: float = 30.0) -> Any:
        def found() -> Any:
            for line in list(self.lines):
                value = predicate(line)
                if value:
                    return value
            if self.popen.poll() is not None:
                raise AssertionError(f"{self.args[0]} exited with {self.popen.returncode}:\n{self.output()}")
            return None

        return wait_until(found, f"a line from {' '.join(self.args[:3])}", timeout)

    def stop(self, sig: int = signal.SIGKILL, timeout: float = 15.0) -> int | None:
        if self.popen.poll() is None:
            self.popen.send_signal(sig)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        self._reader.join(5)
        if self.popen.stdout is not None:
            self.popen.stdout.close()
        return self.popen.returncode


def start_python_worker(test: unittest.TestCase, url: str, tasks: str = "tasks.py", concurrency: int = 4, name: str | None = None, args: list[str] | None = None) -> Proc:
    """A real Python worker process (python3 -m sluice.worker), listed by the scheduler before this returns."""
    name = name or f"py-test-{os.getpid()}-{time.monotonic_ns()}"
    proc = Proc(
        [sys.executable, "-m", "sluice.worker", "--scheduler", url, "--tasks", str(HERE / tasks), "--concurrency", str(concurrency), "--name", name, *(args or [])],
        cwd=PYTHON_DIR,
        env={"PYTHONPATH": str(PYTHON_DIR)},
    )
    test.addCleanup(proc.stop)
    wait_until(lambda: proc.popen.poll() is None and any(w["name"] == name for w in http(url + "/workers")[1]) or _exited(proc), f"worker {name} to join")
    proc.name = name  # type: ignore[attr-defined]
    return proc


def _exited(proc: Proc) -> bool:
    if proc.popen.poll() is not None:
        raise AssertionError(f"the worker exited with {proc.popen.returncode}:\n{proc.output()}")
    return False


class Scheduler:
    """A scheduler process of a test's own, on a port it keeps across restarts."""

    def __init__(self, test: unittest.TestCase, args: list[str] | None = None):
        self.dir = tempfile.mkdtemp(prefix="sluice-py-test-")
        test.addCleanup(shutil.rmtree, self.dir, True)
        self.db = os.path.join(self.dir, "sluice.db")
        self.args = args or []
        self.port = 0
        self.proc: Proc | None = None
        test.addCleanup(self.stop)
        self.start()

    def start(self) -> None:
        self.proc = Proc([NODE, str(ROOT / "bin" / "sluice.js"), "scheduler", "--port", str(self.port), "--db", self.db, *([] if any("token" in a for a in self.args) else ["--insecure"]), "--log-level", "info", *self.args])

        def ready(line: str) -> Any:
            try:
                entry = json.loads(line)
            except ValueError:
                return None
            return entry.get("url") if entry.get("msg") == "sluice scheduler ready" else None

        self.url = self.proc.wait_for_line(ready, 60)
        self.port = int(self.url.rsplit(":", 1)[1])

    def stop(self, sig: int = signal.SIGKILL) -> None:
        if self.proc is not None:
            self.proc.stop(sig)
