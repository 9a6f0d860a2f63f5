"""Ending open streams and connections when the server starts shutting down.

Why this is needed: servers stop accepting connections on SIGINT / SIGTERM and then *wait
for open responses to finish* before they run the lifespan shutdown (uvicorn until they do,
hypercorn for ``graceful_timeout`` and then it cuts them mid-body). An event stream or a
WebSocket never finishes by itself, so waiting for lifespan shutdown is too late. A
:class:`ShutdownRegistry` holds the cancel scope of each open stream and cancels them all
when the server begins to stop; the SSE plugin ends its streams with their last chunk, the
WebSocket plugin closes its connections with 1001 (going away).

How it learns that the server stops, whichever process the operator signals:

* it chains itself in front of the server's SIGINT/SIGTERM handlers for as long as the app
  runs (only in the main thread, where servers install signal handlers): uvicorn (one
  process, or its workers, which the supervisor signals), granian (likewise), hypercorn with
  ``--workers 0``, and a Ctrl+C that reaches a whole process group;
* in a hypercorn worker process (hypercorn's default), no signal reaches the worker: the
  parent takes SIGTERM and sets a ``multiprocessing`` event that the worker polls. The
  registry waits on that same event in a helper thread (see :func:`_server_stop_event`);
* the app's lifespan exit and :meth:`ShutdownRegistry.close_all_threadsafe` (for servers
  driven some other way) close everything too.
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

__all__ = ["ShutdownRegistry"]

#: Runs a callback soon on the app's event loop, from any thread (its result is ignored).
Waker = Callable[[Callable[[], None]], object]

_SIGNALS = tuple(
    s for s in (getattr(signal, "SIGINT", None), getattr(signal, "SIGTERM", None)) if s
)


class ShutdownRegistry:
    """The open streams of one app: each one's cancel scope, cancelled all at once on shutdown.

    A set of cancel scopes costs nothing per stream beyond one set entry (no watcher task).
    Open it for the app's lifetime with :meth:`running` (a plugin's ``lamina_lifespan``).
    """

    def __init__(self) -> None:
        self._scopes: set[anyio.CancelScope] = set()
        self.closing = False
        self._wake: Waker | None = None
        #: Started by its first stream rather than by :meth:`running` (see ``_start_lazily``).
        self._lazy = False
        self._watching = False
        self._loop: object = None

    def __len__(self) -> int:
        return len(self._scopes)

    def add(self, scope: anyio.CancelScope) -> None:
        if self._wake is None or (self._lazy and self._loop is not _current_loop()):
            self._start_lazily()
        if self.closing:
            scope.cancel()
        self._scopes.add(scope)

    def _start_lazily(self) -> None:
        """A registry nobody opened with :meth:`running` starts watching with its first
        stream (and again when served by a new event loop): no lifespan work of its own,
        so an app that only serves WebSockets needs no lifespan run to end them cleanly."""
        self._lazy = True
        self._loop = _current_loop()
        self.closing = False
        self._wake = _loop_waker()
        if self._wake is not None and not self._watching:
            self._watching = True
            _CHAIN.attach(self)
            stop_event = _server_stop_event()
            if stop_event is not None:
                _EventWatcher(stop_event, self.close_all_threadsafe)

    def discard(self, scope: anyio.CancelScope) -> None:
        """The stream is over (its last bytes sent): forget it."""
        self._scopes.discard(scope)
        if not self._scopes and _CHAIN.pending is not None:
            _CHAIN.exit_if_drained()

    def close_all(self) -> None:
        """End every open stream (and every stream opened from now on). Call from the loop."""
        self.closing = True
        for scope in list(self._scopes):
            scope.cancel()
        if _CHAIN.pending is not None:
            _CHAIN.exit_if_drained()

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
        """Open for the app's lifetime: reset, watch for shutdown, close everything on exit.

        ``handle_signals=False`` leaves signal handlers and the hypercorn worker event alone
        (the server, or the app, then calls :meth:`close_all_threadsafe`).
        """
        self.closing = False
        self._lazy = False
        self._wake = _loop_waker()
        watcher: _EventWatcher | None = None
        chained = False
        if handle_signals:
            chained = _CHAIN.attach(self)
            stop_event = _server_stop_event()
            if stop_event is not None:
                watcher = _EventWatcher(stop_event, self.close_all_threadsafe)
        try:
            yield
        finally:
            if watcher is not None:
                watcher.stop()
            if chained:
                _CHAIN.detach(self)
            self.close_all()
            self._wake = None


class _SignalChain:
    """One process-wide link in front of the server's SIGINT/SIGTERM handlers, installed
    while at least one registry runs (in the main thread, where handlers can be set).

    On a signal every registry closes its streams, then the server's own handler runs. When
    there is none (the default action: hypercorn ``--workers 0`` on trio takes SIGTERM that
    way), dying at once would cut the streams just told to end, so the default action is
    taken once every registry has drained; a second signal takes it at once.
    """

    def __init__(self) -> None:
        self.registries: list[ShutdownRegistry] = []
        self.previous: dict[int, Any] = {}
        self.pending: int | None = None

    def attach(self, registry: ShutdownRegistry) -> bool:
        if threading.current_thread() is not threading.main_thread():
            return False
        if not self.registries:
            self.pending = None
        for sig in _SIGNALS:
            current = signal.getsignal(sig)
            if current != self.handler:  # not installed yet, or replaced since: (re)chain
                self.previous[sig] = current
                signal.signal(sig, self.handler)
        if registry not in self.registries:
            self.registries.append(registry)
        return True

    def detach(self, registry: ShutdownRegistry) -> None:
        with contextlib.suppress(ValueError):
            self.registries.remove(registry)
        if not self.registries:
            for sig, previous in self.previous.items():
                if signal.getsignal(sig) == self.handler:
                    with contextlib.suppress(ValueError, TypeError):
                        signal.signal(sig, previous)
            self.previous.clear()

    def handler(self, signum: int, frame: FrameType | None) -> None:
        for registry in list(self.registries):
            registry.close_all_threadsafe()
        previous = self.previous.get(signum)
        if callable(previous):
            previous(signum, frame)
        elif previous == signal.SIG_DFL:
            again = self.pending is not None
            self.pending = signum
            if again:
                self.die()
            # else: the registries' loops call exit_if_drained once their streams ended

    def exit_if_drained(self) -> None:
        if self.pending is not None and not any(len(r) for r in self.registries):
            self.die()

    def die(self) -> None:
        signum = self.pending
        if signum is None or threading.current_thread() is not threading.main_thread():
            return  # the main thread's own registry calls it again once drained
        signal.signal(signum, signal.SIG_DFL)
        signal.raise_signal(signum)


_CHAIN = _SignalChain()


def _current_loop() -> object:
    """The running event loop (asyncio) or run token (trio), or ``None``."""
    import asyncio

    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        trio = sys.modules.get("trio")
        if trio is None:
            return None
        try:
            return trio.lowlevel.current_trio_token()
        except RuntimeError:
            return None


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


def _server_stop_event() -> Any:
    """The event a hypercorn worker process is told to stop with, or ``None``.

    hypercorn's default runs the app in child processes started with the ``spawn`` method;
    its parent takes SIGINT/SIGTERM and sets a ``multiprocessing.Event``, handed to the
    worker function as ``shutdown_event``, that the worker polls every 0.1 s. The child's
    :class:`multiprocessing.Process` object is the parent's, unpickled, with the same
    arguments: the event is found there. No signal ever reaches such a worker, so without
    this its open streams run until hypercorn's ``graceful_timeout`` cuts them.
    """
    import multiprocessing

    process = multiprocessing.current_process()
    target = getattr(process, "_target", None)
    if not getattr(target, "__module__", "").startswith("hypercorn."):
        return None
    event = (getattr(process, "_kwargs", None) or {}).get("shutdown_event")
    if callable(getattr(event, "wait", None)) and callable(getattr(event, "is_set", None)):
        return event
    return None


class _EventWatcher:
    """A daemon thread that calls ``fire`` once ``event`` (a ``multiprocessing.Event``) is
    set. It waits in slices of 0.1 s (hypercorn's own polling period) so that :meth:`stop`
    ends it promptly: a process-shared event cannot be woken any other way."""

    def __init__(self, event: Any, fire: Callable[[], None]) -> None:
        self._stopped = threading.Event()
        self._thread = threading.Thread(
            target=self._run, args=(event, fire), name="lamina-shutdown-watch", daemon=True
        )
        self._thread.start()

    def _run(self, event: Any, fire: Callable[[], None]) -> None:
        while not self._stopped.is_set():
            if event.wait(0.1):
                fire()
                return

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(1.0)
