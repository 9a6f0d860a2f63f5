"""lamina._fileio on its own: the thread hop for blocking file work."""

from __future__ import annotations

import threading

import anyio
from lamina._fileio import run_in_thread


def test_run_in_thread_cleans_up_after_cancellation() -> None:
    """On asyncio a cancelled caller is released at once; what the thread opened is handed to
    ``on_abandon`` when it finishes (on trio, anyio waits for the thread instead)."""
    started, release, handed_over = threading.Event(), threading.Event(), threading.Event()
    abandoned: list[str] = []

    def slow() -> str:
        started.set()
        release.wait(30)
        return "opened"

    def abandon(result: str) -> None:  # called on the worker thread
        abandoned.append(result)
        handed_over.set()

    async def main() -> None:
        with anyio.CancelScope() as scope:

            async def cancel_once_the_thread_runs() -> None:
                await anyio.to_thread.run_sync(started.wait, 30)
                scope.cancel()

            async with anyio.create_task_group() as tg:
                tg.start_soon(cancel_once_the_thread_runs)
                await run_in_thread(slow, on_abandon=abandon)
        assert scope.cancelled_caught
        assert abandoned == []
        release.set()
        assert await anyio.to_thread.run_sync(handed_over.wait, 30)
        assert await run_in_thread(lambda: 42) == 42

    anyio.run(main)
    assert abandoned == ["opened"]
