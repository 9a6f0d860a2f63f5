"""Form data structures: :class:`FormData` and :class:`UploadFile`.

What a parsed form is, apart from how it is parsed (:mod:`lamina._forms` and the parsers it
uses), so that apps, tests and plugins can build and read forms without a request.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from tempfile import TemporaryFile
from typing import IO

import anyio
import anyio.to_thread

from ._datastructures import Headers, _MultiDict

__all__ = ["DEFAULT_SPOOL_SIZE", "FormData", "FormValue", "UploadFile", "new_disk_file"]

#: An upload larger than this is spooled to a temporary file (``upload_spool_size``).
DEFAULT_SPOOL_SIZE = 1024 * 1024


def new_disk_file() -> IO[bytes]:
    """Where an upload goes when it leaves memory: an anonymous temporary file (on Linux it
    has no name, so closing it is removing it). Blocking: called in a worker thread."""
    return TemporaryFile()  # the upload owns and closes it


class UploadFile:
    """An uploaded file: its name, type and part headers, and its data.

    The data is spooled: in a ``BytesIO`` up to ``spool_size`` bytes, then in an anonymous
    temporary file. The async methods keep the event loop free: while the data is in memory
    they act directly, once it is on disk they run in a worker thread. ``file`` is the
    underlying file object for synchronous code (for example inside ``anyio.to_thread``);
    it is replaced by the temporary file when the data rolls over to disk.

    Why not ``tempfile.SpooledTemporaryFile``: creating one costs about 24k instructions
    (callgrind), a ``BytesIO`` 1.7k, and its Python-level ``write``/``seek`` wrappers add
    more per call; for the bench's 10 KiB form upload that was a tenth of the request.
    """

    __slots__ = ("_in_memory", "_spool_size", "_spooled", "file", "filename", "headers", "size")

    def __init__(
        self,
        file: IO[bytes] | None = None,
        *,
        filename: str | None = None,
        headers: Headers | Mapping[str, str] | None = None,
        size: int | None = None,
        spool_size: int = DEFAULT_SPOOL_SIZE,
    ) -> None:
        #: True while ``file`` is our own in-memory spool (rolled over to disk when full)
        self._spooled = file is None
        if file is None:
            file = io.BytesIO()
            self._in_memory = True
        else:
            self._in_memory = isinstance(file, io.BytesIO)
        self.file: IO[bytes] = file
        self.filename = filename
        self.headers = headers if isinstance(headers, Headers) else Headers(headers or {})
        self.size = size if size is not None else 0
        self._spool_size = spool_size

    @property
    def content_type(self) -> str | None:
        return self.headers.get("content-type")

    @property
    def in_memory(self) -> bool:
        """False once the data went to disk (and file I/O moved to worker threads)."""
        return self._in_memory

    def _roll_over_and_write(self, data: bytes) -> None:
        """Blocking: move the spooled data to a temporary file (same position), then write."""
        if self._spooled:
            self._spooled = False
            memory = self.file
            disk = new_disk_file()
            try:
                disk.write(memory.getbuffer())  # type: ignore[attr-defined]  # a BytesIO
                disk.seek(memory.tell())
            except BaseException:
                disk.close()
                raise
            self.file = disk
            memory.close()
        self.file.write(data)

    async def write(self, data: bytes) -> None:
        """Append ``data``; crossing the spool size moves the data to disk, in a thread."""
        file = self.file
        if self._in_memory:
            if file.tell() + len(data) > self._spool_size:
                self._in_memory = False
                await anyio.to_thread.run_sync(self._roll_over_and_write, data)
            elif self._spooled and not self.size and type(data) is bytes:
                # The first write to our own spool: a BytesIO made from a bytes object shares
                # it instead of copying (a 10 KiB upload: 12k instructions less); later
                # writes copy as usual.
                file.close()
                self.file = file = io.BytesIO(data)
                file.seek(0, 2)
            else:
                file.write(data)
        else:
            await anyio.to_thread.run_sync(file.write, data)
        self.size += len(data)

    async def read(self, size: int = -1) -> bytes:
        if self._in_memory:
            return self.file.read(size)
        return await anyio.to_thread.run_sync(self.file.read, size)

    async def seek(self, offset: int, whence: int = 0) -> int:
        if self._in_memory:
            return self.file.seek(offset, whence)
        return await anyio.to_thread.run_sync(self.file.seek, offset, whence)

    async def close(self) -> None:
        """Close the file; a spooled temporary file is deleted with it. Idempotent."""
        if self.file.closed:
            return
        if self._in_memory:
            self.file.close()
        else:
            await anyio.to_thread.run_sync(self.file.close)

    def __repr__(self) -> str:
        return (
            f"UploadFile(filename={self.filename!r}, size={self.size!r}, "
            f"content_type={self.content_type!r})"
        )


FormValue = str | UploadFile


class FormData(_MultiDict[FormValue]):
    """A parsed form: multi-valued, in the order the client sent the parts.

    ``form[name]`` is the last value (like ``QueryParams``), ``form.getlist(name)`` all of
    them, ``form.multi_items()`` every ``(name, value)`` pair.
    """

    __slots__ = ()

    def __init__(
        self, items: Mapping[str, FormValue] | Sequence[tuple[str, FormValue]] | None = None
    ) -> None:
        if items is None:  # what the parsers start from: skip the Mapping check (ABC, slow)
            self._list: list[tuple[str, FormValue]] = []
            self._dict: dict[str, FormValue] = {}
            return
        if isinstance(items, Mapping):
            pairs: list[tuple[str, FormValue]] = list(items.items())
        else:
            pairs = list(items)
        super().__init__(pairs)

    def _append(self, name: str, value: FormValue) -> None:
        self._list.append((name, value))
        self._dict[name] = value

    def files(self) -> list[UploadFile]:
        return [v for _, v in self._list if isinstance(v, UploadFile)]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, FormData):
            return NotImplemented
        return self._list == other._list

    __hash__ = None  # type: ignore[assignment]  # equal by content, so unhashable

    def __repr__(self) -> str:
        return f"FormData({self._list!r})"

    async def close(self) -> None:
        """Close every upload (deleting spooled files). Idempotent.

        Files on disk are closed in a worker thread, shielded from cancellation so a
        cancelled request still releases them; in-memory ones are closed directly.
        """
        on_disk = []
        for _, value in self._list:
            if isinstance(value, UploadFile):
                if value.in_memory:
                    value.file.close()  # a BytesIO: nothing to wait for, closing twice is fine
                elif not value.file.closed:
                    on_disk.append(value)
        if on_disk:
            with anyio.CancelScope(shield=True):
                for upload in on_disk:
                    await upload.close()
