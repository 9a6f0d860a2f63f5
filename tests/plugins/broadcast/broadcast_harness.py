"""Shared by the in-process broadcast tests."""

from __future__ import annotations

import anyio
from lamina_broadcast import Event, Subscription


async def take(sub: Subscription, n: int, timeout: float = 5.0) -> list[Event]:
    """The next ``n`` events of ``sub``; fails (does not hang) after ``timeout``."""
    got: list[Event] = []
    with anyio.fail_after(timeout):
        async for event in sub:
            got.append(event)
            if len(got) == n:
                break
    return got
