"""JSON requests to the scheduler over aiohttp; error answers become SluiceErrors."""

from __future__ import annotations

import asyncio
import json
from typing import Any

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


class Http:
    """One keep-alive connection pool to a scheduler, and the headers every request carries."""

    def __init__(self, base: str, headers: dict[str, str], connections: int = 64):
        self.base = base
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

    async def request(self, method: str, path: str, body: Any = None) -> Any:
        # Encoded outside the try: a body JSON cannot carry is the caller's error, not an unreachable scheduler.
        data = None if body is None else dumps(body).encode("utf-8")
        headers = self.headers if data is None else {**self.headers, "content-type": "application/json"}
        try:
            skip = () if data is not None else ("Content-Type",)
            async with self.session.request(method, self.base + path, data=data, headers=headers, skip_auto_headers=skip) as response:
                text = await response.text()
                status = response.status
        except (aiohttp.ClientError, OSError, asyncio.TimeoutError) as error:
            raise SluiceError("SLUICE_ERR_UNREACHABLE", f"cannot reach the scheduler at {self.base}: {error or type(error).__name__}") from None
        if status < 200 or status >= 300:
            raise decode_error(status, text)
        return json.loads(text) if text else None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
