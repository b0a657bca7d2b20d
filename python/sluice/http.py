"""JSON requests to the scheduler over aiohttp; error answers become SluiceErrors."""

from __future__ import annotations

import asyncio
import json
from typing import Any, Sequence
from urllib.parse import urlsplit

import aiohttp

from .errors import SluiceError
from .keys import dumps


def decode_error(status: int, text: str) -> SluiceError:
    """An error answer back as a SluiceError with its catalog code."""
    try:
        body = json.loads(text)
        error = body.get("error") if isinstance(body, dict) else None
        if isinstance(error, dict) and error.get("code"):
            return SluiceError(str(error["code"]), str(error.get("message", "")), status, error.get("details"))
    except ValueError:
        pass  # not one of ours (a proxy, say)
    return SluiceError(f"HTTP_{status}", f"the scheduler answered {status}: {text[:200]}", status)


def is_transient(error: BaseException) -> bool:
    """Worth retrying: the scheduler is restarting or overloaded, the network failed, or its
    store cannot take writes for now (507: nothing was stored; writes resume by themselves)."""
    return isinstance(error, SluiceError) and (error.code == "SLUICE_ERR_UNREACHABLE" or error.status in (429, 502, 503, 504, 507))


REQUEST_TIMEOUT_SEVERAL = 30.0
"""With several schedulers, how long a request waits for its answer before it goes to another (s)."""


def scheduler_urls(given: str | Sequence[str]) -> list[str]:
    """The URLs in ``given``: comma-separated ("http://a:8786,http://b:8786") or a list, trimmed,
    without trailing slashes or repeats; ``host:port`` means ``http://host:port``. At least one."""
    items = [given] if isinstance(given, str) else list(given)
    urls: list[str] = []
    for item in items:
        for part in str(item).split(","):
            url = part.strip().rstrip("/")
            if not url:
                continue
            if "://" not in url:
                url = "http://" + url
            if url not in urls:
                urls.append(url)
    if not urls:
        raise ValueError(f"no scheduler URL given (got {given!r})")
    return urls


def go_elsewhere(error: BaseException) -> bool:
    """The scheduler asked does not serve now: another one may."""
    return isinstance(error, SluiceError) and error.code in ("SLUICE_ERR_UNREACHABLE", "SLUICE_ERR_STANDBY", "SLUICE_ERR_SHUTTING_DOWN")


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


class Schedulers:
    """The schedulers given (one, or several sharing one store, of which one leads and the others
    stand by), and the one in use. It moves on when that one does not serve: it cannot be reached,
    shuts down, or stands by. A standby names the leader's URL: followed when it is one of the given
    URLs, else the next URL is tried (a URL not given is never followed: the token goes only where
    its owner sent it)."""

    def __init__(self, given: str | Sequence[str]):
        self.all = scheduler_urls(given)
        self._index = 0

    @property
    def current(self) -> str:
        return self.all[self._index]

    @property
    def several(self) -> bool:
        return len(self.all) > 1

    def failed(self, base: str, error: BaseException) -> bool:
        """A request to ``base`` failed with ``error``: move on if that says ``base`` does not serve
        (unless another request moved already). Returns whether it was such an error."""
        if not go_elsewhere(error):
            return False
        if len(self.all) == 1 or self.all[self._index] != base:
            return True
        leader = None
        if isinstance(error, SluiceError) and error.code == "SLUICE_ERR_STANDBY" and isinstance(error.details, dict):
            leader = error.details.get("leader")
        named = -1
        if isinstance(leader, str) and leader:
            origins = [_origin(u) for u in self.all]
            if _origin(leader) in origins:
                named = origins.index(_origin(leader))
        self._index = named if named >= 0 and named != self._index else (self._index + 1) % len(self.all)
        return True

    def stream_dropped(self, base: str, error: BaseException) -> None:
        """An event stream from ``base`` failed: move on as a request would."""
        if not self.several:
            return
        if not isinstance(error, SluiceError):
            error = SluiceError("SLUICE_ERR_UNREACHABLE", f"cannot reach the scheduler at {base}: {error or type(error).__name__}")
        self.failed(base, error)


class Http:
    """One keep-alive connection pool to the scheduler in use, and the headers every request carries.
    Given several schedulers, one that does not serve sends the request on to the next, once round
    the list."""

    def __init__(self, base: str | Sequence[str] | Schedulers, headers: dict[str, str], connections: int = 64):
        self.schedulers = base if isinstance(base, Schedulers) else Schedulers(base)
        self.headers = dict(headers)
        self._session: aiohttp.ClientSession | None = None
        self._connections = connections

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            # No total timeout: long waits are cut into requests of at most 20 s by the callers.
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._connections, force_close=False),
                timeout=aiohttp.ClientTimeout(total=None, connect=10),
                json_serialize=dumps,
            )
        return self._session

    @property
    def base(self) -> str:
        """The scheduler requests go to now."""
        return self.schedulers.current

    async def request(self, method: str, path: str, body: Any = None) -> Any:
        # Encoded outside the try: a body JSON cannot carry is the caller's error, not an unreachable scheduler.
        data = None if body is None else dumps(body).encode("utf-8")
        headers = self.headers if data is None else {**self.headers, "content-type": "application/json"}
        tried = 1
        while True:
            base = self.schedulers.current
            try:
                return await self._send(method, base, path, data, headers)
            except SluiceError as error:
                if not self.schedulers.several or not self.schedulers.failed(base, error) or tried >= len(self.schedulers.all):
                    raise
                tried += 1

    async def _send(self, method: str, base: str, path: str, data: bytes | None, headers: dict[str, str]) -> Any:
        # With several schedulers, one that answers nothing (cut off by the network) is left after a while:
        # 30 s, above the 20 s a wait takes per request.
        options: dict[str, Any] = {"timeout": aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_SEVERAL, connect=10)} if self.schedulers.several else {}
        try:
            skip = () if data is not None else ("Content-Type",)
            async with self.session.request(method, base + path, data=data, headers=headers, skip_auto_headers=skip, **options) as response:
                text = await response.text()
                status = response.status
        except (aiohttp.ClientError, OSError, asyncio.TimeoutError) as error:
            raise SluiceError("SLUICE_ERR_UNREACHABLE", f"cannot reach the scheduler at {base}: {error or type(error).__name__}") from None
        if status < 200 or status >= 300:
            raise decode_error(status, text)
        return json.loads(text) if text else None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
