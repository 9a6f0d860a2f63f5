"""lamina._fileio on its own: the thread hop for blocking file work."""

from __future__ import annotations

import threading

import anyio
from lamina._fileio import run_in_thread


def test_run_in_thread_cleans_up_after_cancellation() -> None:
    """On asyncio a cancelled caller is released at once; what the thread opened is handed to
    ``on_abandon`` when it finishes (on trio, anyio waits for the thread instead)."""
    release = threading.Event()
    abandoned: list[str] = []

    def slow() -> str:
        release.wait(5)
        return "opened"

    async def main() -> None:
        with anyio.move_on_after(0.05) as scope:
            await run_in_thread(slow, on_abandon=abandoned.append)
        assert scope.cancelled_caught
        assert abandoned == []
        release.set()
        with anyio.fail_after(5):
            while not abandoned:
                await anyio.sleep(0.01)
        assert await run_in_thread(lambda: 42) == 42

    anyio.run(main)
    assert abandoned == ["opened"]
