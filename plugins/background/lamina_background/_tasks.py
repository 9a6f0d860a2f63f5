"""Background work attached to a response: ``background=BackgroundTask(send_mail, to)``.

Both classes are async callables, which is all :class:`lamina.Response` asks of
``background``. They catch and log their own failures (logger ``lamina.background``) so a
failing task never reaches the server, whether it runs inline or in the app's task group.
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable
from typing import Any

import anyio.to_thread

__all__ = ["BackgroundTask", "BackgroundTasks", "logger"]

logger = logging.getLogger("lamina.background")


def _describe(func: Callable[..., Any]) -> str:
    return getattr(func, "__qualname__", None) or getattr(func, "__name__", None) or repr(func)


def _is_async(func: Callable[..., Any]) -> bool:
    while isinstance(func, functools.partial):
        func = func.func
    return inspect.iscoroutinefunction(func) or inspect.iscoroutinefunction(
        getattr(func, "__call__", None)  # noqa: B004 - an async __call__ method
    )


class BackgroundTask:
    """``func(*args, **kwargs)`` run after the response is sent.

    A coroutine function is awaited; a plain function runs in a worker thread so it cannot
    block the event loop.
    """

    __slots__ = ("args", "func", "is_async", "kwargs")

    def __init__(self, func: Callable[..., Any], /, *args: Any, **kwargs: Any) -> None:
        self.func = func
        self.args = args
        self.kwargs = kwargs
        self.is_async = _is_async(func)

    async def run(self) -> None:
        """Run the task, letting its exception propagate."""
        if self.is_async:
            await self.func(*self.args, **self.kwargs)
        else:
            await anyio.to_thread.run_sync(
                functools.partial(self.func, *self.args, **self.kwargs), abandon_on_cancel=True
            )

    async def __call__(self) -> None:
        try:
            await self.run()
        except Exception:
            logger.exception("background task %s failed", self)

    def __repr__(self) -> str:
        return f"BackgroundTask({_describe(self.func)})"


class BackgroundTasks:
    """Several tasks run one after another; one failing is logged and the next still runs."""

    __slots__ = ("tasks",)

    def __init__(self, tasks: list[BackgroundTask] | None = None) -> None:
        self.tasks: list[BackgroundTask] = list(tasks or ())

    def add_task(self, func: Callable[..., Any], /, *args: Any, **kwargs: Any) -> None:
        self.tasks.append(BackgroundTask(func, *args, **kwargs))

    async def __call__(self) -> None:
        for task in self.tasks:
            await task()

    def __len__(self) -> int:
        return len(self.tasks)

    def __repr__(self) -> str:
        return f"BackgroundTasks({', '.join(_describe(t.func) for t in self.tasks)})"
