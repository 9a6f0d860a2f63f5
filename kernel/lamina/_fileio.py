"""Blocking file-system work, and the thread hop that keeps it off the event loop.

Why it is shaped this way: every file-system call runs in a worker thread, but with as few
hops as possible. :func:`open_snapshot` opens the file, ``fstat``-s it and, when it is small
(``<= read_limit``), reads all of it and closes it, all in one hop; a small static file
therefore costs exactly one. Larger files keep the descriptor open and are streamed one chunk
per hop (:func:`read_at`). Callers that already opened the file in their own hop
(``lamina-staticfiles`` resolves the path, ``stat``-s and reads in one go) hand the
:class:`FileSnapshot` to ``FileResponse``, so no second hop is needed.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import stat as stat_module
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import IO, Any, TypeVar

import anyio
import anyio.to_thread

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "O_NOFOLLOW",
    "FileSnapshot",
    "NotAFile",
    "open_snapshot",
    "read_at",
    "run_in_thread",
]

#: Files up to this size are read whole in the hop that opens them; larger ones are streamed
#: in chunks of this size.
DEFAULT_CHUNK_SIZE = 256 * 1024


@dataclass(slots=True)
class FileSnapshot:
    """An opened file: its ``stat`` and either its whole content or an open handle.

    Exactly one of ``data`` / ``file`` is set, unless the content was not wanted (HEAD), in
    which case both are ``None``. Whoever holds a snapshot with ``file`` set must close it;
    :class:`FileResponse` does so when it has been sent.
    """

    path: str
    stat: os.stat_result
    data: bytes | None = None
    file: IO[bytes] | None = None
    #: With ``file``: the first bytes, already read in the hop that opened it.
    head: bytes = b""

    def close(self) -> None:
        if self.file is not None:
            self.file.close()
            self.file = None


class NotAFile(OSError):
    """The path exists but is not a regular file (a directory, a device, a FIFO)."""

    def __init__(self, message: str, is_dir: bool = False) -> None:
        super().__init__(message)
        self.is_dir = is_dir


_OPEN_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_NONBLOCK", 0)
    | getattr(os, "O_BINARY", 0)
)
#: ``0`` where the platform cannot refuse to follow a final symlink (callers then check).
O_NOFOLLOW: int = getattr(os, "O_NOFOLLOW", 0)


def open_snapshot(
    path: str | os.PathLike[str], read_limit: int, read: bool = True, *, nofollow: bool = False
) -> FileSnapshot:
    """Open ``path``, ``fstat`` it and read it whole if it is at most ``read_limit`` bytes.

    Blocking: call it from a worker thread. Raises ``OSError`` (``FileNotFoundError``,
    ``PermissionError``, :class:`NotAFile`...) when the file cannot be served. Only regular
    files are accepted; opening a FIFO does not block because ``O_NONBLOCK`` is used for the
    open and the mode is checked before reading. With ``nofollow`` a final symlink is refused
    (``OSError`` with ``errno.ELOOP``) where the platform supports ``O_NOFOLLOW``.
    """
    fspath = os.fspath(path)
    fd = os.open(fspath, _OPEN_FLAGS | O_NOFOLLOW if nofollow else _OPEN_FLAGS)
    try:
        st = os.fstat(fd)
        if not stat_module.S_ISREG(st.st_mode):
            raise NotAFile(f"{fspath!r} is not a regular file", stat_module.S_ISDIR(st.st_mode))
        if not read:
            os.close(fd)
            return FileSnapshot(fspath, st)
        if st.st_size <= read_limit:
            data = os.read(fd, st.st_size) if st.st_size else b""
            # A file that grows between fstat and read is cut at the size we announce.
            while len(data) < st.st_size:
                more = os.read(fd, st.st_size - len(data))
                if not more:
                    break
                data += more
            os.close(fd)
            return FileSnapshot(fspath, st, data=data)
        file = os.fdopen(fd, "rb", buffering=0)
        head = (file.read(read_limit) or b"") if read_limit > 0 else b""
    except BaseException:
        with contextlib.suppress(OSError):
            os.close(fd)
        raise
    return FileSnapshot(fspath, st, file=file, head=head)


T = TypeVar("T")
_executor: ThreadPoolExecutor | None = None


def _get_executor() -> ThreadPoolExecutor:
    global _executor
    if _executor is None:
        _executor = ThreadPoolExecutor(max_workers=16, thread_name_prefix="lamina-files")
    return _executor


async def run_in_thread(
    fn: Callable[..., T], *args: Any, on_abandon: Callable[[T], object] | None = None
) -> T:
    """Run blocking file work in a worker thread.

    On asyncio it submits straight to a small dedicated pool: measured on one shared core,
    that hop costs about half of ``anyio.to_thread.run_sync`` (no capacity limiter, no cancel
    scope), which is most of the cost of serving a small file. Elsewhere (trio) it uses anyio.
    If the caller is cancelled while the thread runs, the thread finishes and ``on_abandon``
    receives its result (to close what it opened).
    """
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return await anyio.to_thread.run_sync(fn, *args)
    concurrent_future = _get_executor().submit(fn, *args)
    try:
        return await asyncio.wrap_future(concurrent_future, loop=loop)
    except asyncio.CancelledError:
        if on_abandon is not None:

            def cleanup(done: Any) -> None:
                if not done.cancelled() and done.exception() is None:
                    on_abandon(done.result())

            concurrent_future.add_done_callback(cleanup)
        raise


def read_at(file: IO[bytes], offset: int, size: int) -> bytes:
    """``size`` bytes of ``file`` from ``offset`` (blocking: one thread hop per chunk)."""
    file.seek(offset)
    return file.read(size) or b""
