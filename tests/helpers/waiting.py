"""The one bounded wait-for-condition loop, for what no event can signal (another process,
a server thread): it polls, and fails only when the generous timeout runs out.

Tests never use it to measure anything: the timeout is a bound on a hang, never the claim
under test. A ``gave_up`` callback ends the wait early when waiting is pointless (the child
process exited), so a crash is reported at once, with its output.
"""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Callable
from typing import TypeVar

import httpx

__all__ = ["answer", "listening", "process_exited", "wait_until"]

T = TypeVar("T")


def wait_until(
    condition: Callable[[], T],
    timeout: float,
    what: str,
    *,
    gave_up: Callable[[], str | None] | None = None,
    error: type[Exception] = AssertionError,
) -> T:
    """Poll ``condition`` until it returns something truthy, and return that.

    Raises ``error`` when ``timeout`` seconds pass, or as soon as ``gave_up`` returns a
    message (why waiting longer is pointless).
    """
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        reason = gave_up() if gave_up is not None else None
        if reason is not None:
            raise error(f"gave up waiting for {what}: {reason}")
        if time.monotonic() > deadline:
            raise error(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.01)


def listening(port: int) -> bool:
    """Whether something accepts connections on 127.0.0.1:``port``."""
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
    except OSError:
        return False
    return True


def answer(url: str) -> httpx.Response | None:
    """``GET url``, or None while nothing answers there yet (a condition for a server)."""
    try:
        return httpx.get(url, timeout=2)
    except httpx.TransportError:
        return None


def process_exited(
    process: subprocess.Popen[bytes] | subprocess.Popen[str],
) -> Callable[[], str | None]:
    """A ``gave_up`` for :func:`wait_until`: the child exited (with its output, if piped)."""

    def check() -> str | None:
        if process.poll() is None:
            return None
        output: bytes | str = process.stdout.read() if process.stdout else b""
        if isinstance(output, bytes):
            output = output.decode(errors="replace")
        return f"the process exited with {process.returncode}: {output[-3000:]}"

    return check
