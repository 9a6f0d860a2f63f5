"""Capped exponential backoff with jitter, for the listener's reconnects.

Jitter matters: after a Redis restart every worker of every host reconnects at once; spread
over the window they do not all hit the fresh server in the same millisecond.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

import anyio

__all__ = ["Backoff"]


@dataclass
class Backoff:
    """``delay(attempt)``: ``base * 2**attempt`` capped at ``cap``, then scaled by a random
    factor in ``[1 - jitter, 1]`` (``random`` is injectable for tests)."""

    base: float = 0.05
    cap: float = 0.5
    jitter: float = 0.5
    random: Callable[[], float] = field(default=random.random, repr=False)

    def delay(self, attempt: int) -> float:
        ceiling: float = min(self.cap, self.base * 2.0 ** min(attempt, 32))
        return ceiling * (1.0 - self.jitter * self.random())

    async def wait(self, attempt: int) -> None:
        """Sleep before reconnect ``attempt`` (0 for the first after a loss)."""
        await anyio.sleep(self.delay(attempt))
