"""How keys are derived, the same way as the scheduler and the TypeScript
client do, so that a future's key is known the moment it is submitted and an
identical submission from either language names the same task.

A pure key is ``fn-<32 hex digits of sha256 over the canonical JSON of
[fn, args, kwargs]>``, canonical JSON being JavaScript's ``JSON.stringify``
with object keys sorted (safe-stable-stringify's deterministic mode).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import threading
import time
from typing import Any, Callable

FUTURE_REF = "$future"

_encode_str = json.encoder.encode_basestring  # type: ignore[attr-defined]


def _js_number(value: float) -> str:
    """A float as JavaScript's Number#toString writes it (ECMA-262 Number::toString)."""
    if math.isnan(value) or math.isinf(value):
        raise ValueError(f"{value} cannot be sent as JSON (JSON has no NaN or infinities)")
    if value == 0:
        return "0"
    sign = "-" if value < 0 else ""
    text = repr(abs(value))  # the shortest round-trip digits, as JavaScript picks them
    mantissa, _, exponent = text.partition("e")
    whole, _, fraction = mantissa.partition(".")
    digits = (whole + fraction).lstrip("0")
    # n: where the decimal point falls relative to the digits (value = 0.digits × 10^n)
    n = len(whole.lstrip("0")) if whole.strip("0") else -(len(fraction) - len(fraction.lstrip("0")))
    n += int(exponent or 0)
    digits = digits.rstrip("0") or "0"
    k = len(digits)
    if k <= n <= 21:
        return sign + digits + "0" * (n - k)
    if 0 < n <= 21:
        return sign + digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return sign + "0." + "0" * (-n) + digits
    e = n - 1
    exp = f"e{'+' if e >= 0 else '-'}{abs(e)}"
    return sign + (digits if k == 1 else digits[0] + "." + digits[1:]) + exp


_MAX_SAFE = 2**53


def _utf16(key: str) -> bytes:
    return key.encode("utf-16-be", "surrogatepass")


def canonical(value: Any) -> str:
    """JSON text as JavaScript would write it, object keys sorted as JavaScript sorts them."""
    out: list[str] = []
    _canonical(value, out, 0)
    return "".join(out)


def _canonical(value: Any, out: list[str], depth: int) -> None:
    if depth > 1000:
        raise ValueError("the value nests too deeply to be sent as JSON")
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, str):
        out.append(_encode_str(value))
    elif isinstance(value, int):
        out.append(str(value) if -_MAX_SAFE <= value <= _MAX_SAFE else _js_number(float(value)))
    elif isinstance(value, float):
        out.append(_js_number(value))
    elif isinstance(value, (list, tuple)):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _canonical(item, out, depth + 1)
        out.append("]")
    elif isinstance(value, dict):
        out.append("{")
        keys = list(value)
        for key in keys:
            if not isinstance(key, str):
                raise TypeError(f"a JSON object's keys are strings; got {key!r}")
        if any(max(k, default="\0") >= "\ue000" for k in keys):
            keys.sort(key=_utf16)
        else:
            keys.sort()
        for i, key in enumerate(keys):
            if i:
                out.append(",")
            out.append(_encode_str(key))
            out.append(":")
            _canonical(value[key], out, depth + 1)
        out.append("}")
    else:
        ref = getattr(value, "__sluice_ref__", None)
        if ref is not None:
            _canonical(ref(), out, depth + 1)
            return
        raise TypeError(f"{type(value).__name__} cannot be sent as JSON: arguments, results and items are JSON values (or Futures)")


def pure_key(fn: str, args: Any, kwargs: Any = None) -> str:
    text = canonical([fn, args, kwargs])
    return f"{fn}-{hashlib.sha256(text.encode('utf-8', 'surrogatepass')).hexdigest()[:32]}"


_pool = b""
_pool_at = 0
_pool_lock = threading.Lock()


def _random_hex(n: int) -> str:
    """Random bytes from the system's CSPRNG, drawn 4 KB at a time."""
    global _pool, _pool_at
    with _pool_lock:
        if _pool_at + n > len(_pool):
            _pool = os.urandom(4096)
            _pool_at = 0
        _pool_at += n
        return _pool[_pool_at - n : _pool_at].hex()


def random_key(prefix: str) -> str:
    """prefix-<time in ms, 12 hex digits><80 random bits>: keys made one after another sort one after another."""
    return f"{prefix}-{int(time.time() * 1000):012x}{_random_hex(10)}"


def random_id() -> str:
    return _random_hex(12)


def is_future_ref(value: Any) -> bool:
    return type(value) is dict and len(value) == 1 and isinstance(value.get(FUTURE_REF), str)


def replace_refs(value: Any, resolve: Callable[[str], Any]) -> Any:
    """A copy of value with each {"$future": key} replaced by resolve(key)."""
    if isinstance(value, list):
        return [replace_refs(v, resolve) for v in value]
    if isinstance(value, dict):
        if is_future_ref(value):
            return resolve(value[FUTURE_REF])
        return {k: replace_refs(v, resolve) for k, v in value.items()}
    return value


def _default(value: Any) -> Any:
    ref = getattr(value, "__sluice_ref__", None)
    if ref is not None:
        return ref()
    raise TypeError(f"{type(value).__name__} cannot be sent as JSON: arguments, results and items are JSON values (or Futures)")


_encoder = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False, default=_default)


def dumps(value: Any) -> str:
    """JSON text for the wire; a Future becomes {"$future": key}. NaN and infinities are refused, as JSON has none."""
    try:
        return _encoder.encode(value)
    except ValueError as error:
        raise ValueError(f"cannot be sent as JSON: {error}") from None
