"""Blocking code from async code, without blocking the event loop.

:func:`run_in_threadpool` calls a function in a worker thread; :func:`iterate_in_threadpool`
turns a blocking iterator (a file, a database cursor, a sync generator) into an async one
that steps it in a worker thread. Both use anyio's default thread limiter (40 threads), so
they work under asyncio and trio alike, and the worker sees the caller's context variables.

    from lamina.concurrency import iterate_in_threadpool, run_in_threadpool

    async def report(request):
        rows = await run_in_threadpool(database.fetch_all, "SELECT ...", timeout=5)
        return StreamingResponse(iterate_in_threadpool(render_csv(rows)))
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from typing import ParamSpec, TypeVar, cast

import anyio
import anyio.to_thread

__all__ = ["iterate_in_threadpool", "run_in_threadpool"]

P = ParamSpec("P")
T = TypeVar("T")
_DONE = object()


async def run_in_threadpool(func: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """``func(*args, **kwargs)`` in a worker thread; keyword arguments are passed on too."""
    if kwargs:
        return await anyio.to_thread.run_sync(functools.partial(func, *args, **kwargs))
    return await anyio.to_thread.run_sync(func, *args)


def _step(iterator: Iterator[T]) -> T | object:
    # StopIteration cannot cross a thread hop (it would end the awaiting coroutine), so the
    # end of the iterator comes back as a sentinel
    return next(iterator, _DONE)


async def iterate_in_threadpool(iterable: Iterable[T]) -> AsyncIterator[T]:
    """Each item of ``iterable`` fetched in a worker thread, so a slow ``next()`` never
    blocks the loop. Closing the async iterator early closes a generator too."""
    iterator = iter(iterable)
    try:
        while True:
            item = await anyio.to_thread.run_sync(_step, iterator)
            if item is _DONE:
                return
            yield cast(T, item)
    finally:
        close = getattr(iterator, "close", None)
        if close is not None:
            with anyio.CancelScope(shield=True):  # a cancelled stream still closes it
                await anyio.to_thread.run_sync(close)
