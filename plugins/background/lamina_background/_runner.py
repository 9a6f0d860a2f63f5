"""The task group that owns background work for an app's lifetime.

Structured concurrency: background work is not left floating after the response. While
the app runs, :attr:`TaskRunner.spawn` hands each piece of work to a task group opened in the
lifespan; at shutdown the runner stops taking work, waits up to ``grace_period`` seconds for
what is outstanding, then cancels the rest and logs each task it cancelled.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio
import anyio.abc

from ._tasks import logger

__all__ = ["TaskRunner"]

Work = Callable[[], Awaitable[Any]]
#: Seconds shutdown waits for cancelled tasks to unwind.
CANCEL_TIMEOUT = 5.0


class TaskRunner:
    """Spawns background work into a lifespan-owned task group.

    :attr:`spawn` is ``None`` outside :meth:`running` (and once shutdown began); callers
    then run the work inline, as the kernel's responses do.
    """

    def __init__(self, grace_period: float = 10.0) -> None:
        self.grace_period = grace_period
        self.spawn: Callable[[Work], None] | None = None
        self._tg: anyio.abc.TaskGroup | None = None
        self._outstanding: dict[int, tuple[Work, anyio.CancelScope]] = {}
        self._idle: anyio.Event | None = None
        self._counter = 0

    @property
    def outstanding(self) -> int:
        """How many tasks are running now."""
        return len(self._outstanding)

    def _spawn(self, work: Work) -> None:
        tg = self._tg
        if tg is None:  # a response finishing after the lifespan ended: nothing owns it now
            logger.error("background task %r dropped: the app's lifespan has ended", work)
            return
        self._counter += 1
        key = self._counter
        scope = anyio.CancelScope()
        self._outstanding[key] = (work, scope)
        tg.start_soon(self._run, key, work, scope, name=f"lamina.background {work!r}")

    async def _run(self, key: int, work: Work, scope: anyio.CancelScope) -> None:
        try:
            with scope:
                await work()
            if scope.cancelled_caught:
                logger.warning(
                    "background task %r cancelled: still running after the "
                    "%.3gs shutdown grace period",
                    work,
                    self.grace_period,
                )
        except Exception:
            logger.exception("background task %r failed", work)
        finally:
            del self._outstanding[key]
            if not self._outstanding and self._idle is not None:
                self._idle.set()

    @asynccontextmanager
    async def running(self) -> AsyncIterator[TaskRunner]:
        """Own a task group for the body of the ``async with``; drain it on the way out."""
        if self._tg is not None:
            raise RuntimeError("this background task runner is already running")
        async with anyio.create_task_group() as tg:
            self._tg = tg
            self.spawn = self._spawn
            try:
                yield self
            finally:
                await self.close()
        self._tg = None

    async def close(self) -> None:
        """Stop taking work, wait up to the grace period, then cancel what is left.

        Idempotent; returns once every task has finished or been cancelled.
        """
        self.spawn = None
        if not self._outstanding:
            return
        with anyio.CancelScope(shield=True):
            self._idle = anyio.Event()
            with anyio.move_on_after(self.grace_period):
                await self._idle.wait()
            if self._outstanding:
                logger.warning(
                    "cancelling %d background task(s) at shutdown: %s",
                    len(self._outstanding),
                    ", ".join(repr(w) for w, _ in self._outstanding.values()),
                )
                for _work, scope in list(self._outstanding.values()):
                    scope.cancel()
                # A task that shields itself from cancellation is still awaited by the task
                # group (nothing runs unowned), but it is named in the log, not waited on
                # silently.
                with anyio.move_on_after(CANCEL_TIMEOUT) as waited:
                    await self._idle.wait()
                if waited.cancelled_caught:
                    logger.error(
                        "%d background task(s) ignored cancellation for %.3gs; "
                        "shutdown keeps waiting for: %s",
                        len(self._outstanding),
                        CANCEL_TIMEOUT,
                        ", ".join(repr(w) for w, _ in self._outstanding.values()),
                    )
