"""Ending every open stream when the server shuts down.

Why this is needed: uvicorn (and most ASGI servers) stop accepting connections on SIGINT /
SIGTERM and then *wait for open responses to finish* before they run the lifespan shutdown.
An event stream never finishes by itself, so waiting for lifespan shutdown would be too late:
the server would hang until a second Ctrl+C. The registry therefore chains itself in front of
the server's SIGINT/SIGTERM handlers for as long as the app runs (only when the app runs in
the main thread, where servers install signal handlers), and it is also closed by the
plugin's lifespan exit and by :func:`close_all_streams` for servers driven some other way.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import AsyncIterator, Callable
from types import FrameType
from typing import Any

import anyio

__all__ = ["StreamRegistry"]

_SIGNALS = tuple(
    s for s in (getattr(signal, "SIGINT", None), getattr(signal, "SIGTERM", None)) if s
)
#: Runs a callback soon on the app's event loop, from any thread (its result is ignored).
Waker = Callable[[Callable[[], None]], object]


class StreamRegistry:
    """The open streams of one app: each one's cancel scope, cancelled all at once on shutdown.

    A set of cancel scopes costs nothing per stream beyond one set entry (no watcher task).
    """

    def __init__(self) -> None:
        self._scopes: set[anyio.CancelScope] = set()
        self.closing = False
        self._wake: Waker | None = None

    def __len__(self) -> int:
        return len(self._scopes)

    def add(self, scope: anyio.CancelScope) -> None:
        if self.closing:
            scope.cancel()
        self._scopes.add(scope)

    def discard(self, scope: anyio.CancelScope) -> None:
        self._scopes.discard(scope)

    def close_all(self) -> None:
        """End every open stream (and every stream opened from now on). Call from the loop."""
        self.closing = True
        for scope in list(self._scopes):
            scope.cancel()

    def close_all_threadsafe(self) -> None:
        """Same, from a signal handler or another thread: scheduled onto the event loop."""
        self.closing = True
        wake = self._wake
        if wake is None:
            return
        # The loop may have stopped already (RuntimeError, trio.RunFinishedError).
        with contextlib.suppress(Exception):
            wake(self.close_all)

    @contextlib.asynccontextmanager
    async def running(self, *, handle_signals: bool = True) -> AsyncIterator[None]:
        """Open for the app's lifetime: reset, chain signal handlers, close everything on exit."""
        self.closing = False
        self._wake = _loop_waker()
        restore: dict[int, Any] = {}
        if handle_signals and threading.current_thread() is threading.main_thread():
            for sig in _SIGNALS:
                previous = signal.getsignal(sig)
                restore[sig] = previous
                signal.signal(sig, self._chained(previous))
        try:
            yield
        finally:
            for sig, previous in restore.items():
                with contextlib.suppress(ValueError, TypeError):
                    signal.signal(sig, previous)
            self.close_all()
            self._wake = None

    def _chained(self, previous: Any) -> Callable[[int, FrameType | None], None]:
        def handler(signum: int, frame: FrameType | None) -> None:
            self.close_all_threadsafe()
            if callable(previous):
                previous(signum, frame)
            elif previous == signal.SIG_DFL:
                signal.signal(signum, signal.SIG_DFL)
                signal.raise_signal(signum)

        return handler


def _loop_waker() -> Waker | None:
    """A non-blocking "run this soon on the current event loop", callable from any thread."""
    import asyncio

    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        return lambda fn: loop.call_soon_threadsafe(fn)
    trio = sys.modules.get("trio")
    if trio is not None:
        token = trio.lowlevel.current_trio_token()
        return lambda fn: token.run_sync_soon(fn)
    return None
