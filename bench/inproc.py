"""In-process timing shared by the benches in this folder: a synthetic HTTP request, a server
half that does nothing, and the one measuring loop (mean µs per request over rounds that
alternate the order of the contenders, so the load of a shared machine spreads over all of
them alike).

A bench imports it as a sibling (``from inproc import ...``): run the benches from the
repository root as ``uv run python bench/NAME.py``.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["alternating_rounds", "discard", "http_scope", "mean_us", "print_us", "receive_empty"]

_EMPTY_BODY = {"type": "http.request", "body": b"", "more_body": False}


def http_scope(
    path: str = "/",
    headers: Sequence[tuple[bytes, bytes]] = ((b"host", b"127.0.0.1:8000"),),
    *,
    method: str = "GET",
    server: tuple[str, int] = ("127.0.0.1", 8000),
) -> dict[str, Any]:
    """A complete, fresh HTTP scope (call it per request when the app may write to it)."""
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": list(headers),
        "client": ("127.0.0.1", 5000),
        "server": server,
    }


async def receive_empty() -> dict[str, Any]:
    """An empty request body, every time."""
    return _EMPTY_BODY


async def discard(message: Any) -> None:
    """A ``send`` that drops what the app sends."""


async def mean_us(app: Any, n: int, scope: Mapping[str, Any], warmup: int = 200) -> float:
    """Mean µs per request over ``n`` requests of ``scope`` (copied each time), after a
    warm-up and a garbage collection."""
    for _ in range(warmup):
        await app(dict(scope), receive_empty, discard)
    gc.collect()
    start = time.perf_counter()
    for _ in range(n):
        await app(dict(scope), receive_empty, discard)
    return (time.perf_counter() - start) / n * 1e6


async def alternating_rounds(
    contenders: Mapping[str, Any], rounds: int, n: int, scope: Mapping[str, Any]
) -> dict[str, list[float]]:
    """:func:`mean_us` of every contender, ``rounds`` times, the order reversed every other
    round; the per-round means, by name."""
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for r in range(rounds):
        for name in list(contenders) if r % 2 == 0 else list(reversed(contenders)):
            times[name].append(await mean_us(contenders[name], n, scope))
    return times


def print_us(times: Mapping[str, list[float]]) -> None:
    """One line per contender: the median and the least disturbed round (min)."""
    width = max(map(len, times))
    for name, values in times.items():
        median, least = statistics.median(values), min(values)
        print(f"{name:{width}} median {median:7.2f} µs  min {least:7.2f} µs")
