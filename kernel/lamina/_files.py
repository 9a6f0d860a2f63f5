"""``FileResponse``: a file sent with validators, conditional requests and byte ranges.

Why it is shaped this way:

* Every file-system call runs in a worker thread, in as few hops as possible: a small file
  costs exactly one (:mod:`lamina._fileio` says how), and a caller that already opened the
  file passes a :class:`~lamina._fileio.FileSnapshot`.
* Request preconditions follow RFC 9110 section 13.2.2 in order: ``If-Match``,
  ``If-Unmodified-Since`` (412), ``If-None-Match``, ``If-Modified-Since`` (304), then
  ``If-Range`` and ``Range`` (206, multipart/byteranges, 416). They are only evaluated when
  the response would otherwise be a 200, so a ``404.html`` served with status 404 is sent
  as is.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from mimetypes import guess_type
from secrets import token_hex
from typing import Any, Literal
from urllib.parse import quote

import anyio
import anyio.to_thread

from ._fileio import (
    DEFAULT_CHUNK_SIZE,
    FileSnapshot,
    NotAFile,
    open_snapshot,
    read_at,
    run_in_thread,
)
from ._ranges import (
    MAX_RANGES,
    etag_matches_strong,
    etag_matches_weak,
    parse_http_date,
    parse_range,
)
from ._responses import Background, HeadersArg, Response, _check, run_background
from .types import Receive, Scope, Send

__all__ = ["FileResponse", "content_disposition", "http_date", "make_etag"]


def content_disposition(disposition: str, filename: str) -> str:
    """A ``Content-Disposition`` value; non-ASCII names get an RFC 5987 ``filename*``.

    The plain ``filename`` parameter always carries an ASCII fallback (non-ASCII characters
    replaced by ``_``) for clients that ignore ``filename*``.
    """
    _check("content-disposition", filename)
    fallback = "".join(c if 0x20 <= ord(c) < 0x7F else "_" for c in filename)
    fallback = fallback.replace("\\", "\\\\").replace('"', '\\"')
    value = f'{disposition}; filename="{fallback}"'
    if not filename.isascii() or fallback != filename:
        value += f"; filename*=UTF-8''{quote(filename, safe='')}"
    return value


_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def http_date(timestamp: float) -> str:
    """An IMF-fixdate (``Sun, 06 Nov 1994 08:49:37 GMT``); ~5x cheaper than ``formatdate``."""
    t = time.gmtime(timestamp)
    return (
        f"{_DAYS[t.tm_wday]}, {t.tm_mday:02d} {_MONTHS[t.tm_mon - 1]} {t.tm_year:04d} "
        f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} GMT"
    )


def make_etag(st: os.stat_result) -> str:
    """A strong validator from modification time and size (cheap: no hashing of content)."""
    return f'"{st.st_mtime_ns:x}-{st.st_size:x}"'


_PRECONDITION_HEADERS = frozenset(
    (
        b"if-match",
        b"if-none-match",
        b"if-modified-since",
        b"if-unmodified-since",
        b"range",
        b"if-range",
    )
)


def _request_conditions(scope: Scope) -> dict[bytes, str] | None:
    """The precondition and range headers of the request, or ``None`` when it has none."""
    found: dict[bytes, str] | None = None
    for key, value in scope.get("headers", ()):
        if key in _PRECONDITION_HEADERS:
            if found is None:
                found = {}
            previous = found.get(key)
            text = value.decode("latin-1")
            # Repeated list headers combine (RFC 9110 5.3); a repeated Range is malformed.
            found[key] = text if previous is None else f"{previous}, {text}"
    return found


class FileResponse(Response):
    """Send a file: ``Content-Length``, ``Last-Modified``, ``ETag``, ``Accept-Ranges``.

    ``headers`` is a mapping or ``(name, value)`` pairs, as for every response.
    ``filename`` adds a ``Content-Disposition`` (``content_disposition_type`` is
    ``"attachment"`` or ``"inline"``) unless ``headers`` has one. ``snapshot`` is an already opened
    :class:`FileSnapshot` (the response takes ownership and closes it). ``max_ranges`` caps the
    number of ranges honoured in one request; more are ignored (the whole file is sent).
    """

    chunk_size = DEFAULT_CHUNK_SIZE

    def __init__(
        self,
        path: str | os.PathLike[str],
        status_code: int = 200,
        headers: HeadersArg = None,
        media_type: str | None = None,
        background: Background | None = None,
        filename: str | None = None,
        stat_result: os.stat_result | None = None,
        content_disposition_type: Literal["attachment", "inline"] = "attachment",
        *,
        snapshot: FileSnapshot | None = None,
        chunk_size: int | None = None,
        max_ranges: int = MAX_RANGES,
    ) -> None:
        self.path = os.fspath(path)
        self.status_code = status_code
        self.filename = filename
        self.background = background
        self.snapshot = snapshot
        self.stat_result = snapshot.stat if snapshot is not None else stat_result
        self.max_ranges = max_ranges
        if chunk_size is not None:
            self.chunk_size = chunk_size
        if media_type is None:
            media_type = guess_type(filename or self.path)[0] or "application/octet-stream"
        self.media_type = media_type
        # A mapping or (name, value) pairs, like every other response; pairs keep a repeated
        # name (two ``Link`` headers), which a dict would collapse.
        extra: list[tuple[str, str]] = []
        if headers:
            extra.extend(headers.items() if isinstance(headers, Mapping) else headers)
        if filename is not None and not any(k.lower() == "content-disposition" for k, _ in extra):
            extra.append(
                ("content-disposition", content_disposition(content_disposition_type, filename))
            )
        self.raw_headers = self._init_headers(extra)

    # ------------------------------------------------------------------ headers
    def _content_type(self) -> bytes:
        for key, value in self.raw_headers:
            if key == b"content-type":
                return value
        return b"application/octet-stream"

    def _validators(self, st: os.stat_result) -> tuple[str, str]:
        """ETag and Last-Modified; values the caller put in ``headers`` win (and are the
        ones preconditions are compared with)."""
        etag = last_modified = None
        for key, value in self.raw_headers:
            if key == b"etag":
                etag = value.decode("latin-1")
            elif key == b"last-modified":
                last_modified = value.decode("latin-1")
        return etag or make_etag(st), last_modified or http_date(st.st_mtime)

    def _headers_with(
        self, etag: str, last_modified: str, *pairs: tuple[bytes, bytes]
    ) -> list[tuple[bytes, bytes]]:
        raw = list(self.raw_headers)
        names = {k for k, _ in raw}
        if b"etag" not in names:
            raw.append((b"etag", etag.encode("latin-1")))
        if b"last-modified" not in names:
            raw.append((b"last-modified", last_modified.encode("latin-1")))
        raw.extend(pairs)
        return raw

    # ------------------------------------------------------------------ preconditions
    def _evaluate(
        self, conditions: dict[bytes, str], method: str, etag: str, mtime: int, size: int
    ) -> tuple[int, list[tuple[int, int]] | None]:
        """Return ``(status, ranges)``: 200/304/412/206/416, ranges for 206 only."""
        if_match = conditions.get(b"if-match")
        if if_match is not None:
            if not etag_matches_strong(if_match, etag):
                return 412, None
        else:
            ius = conditions.get(b"if-unmodified-since")
            if ius is not None:
                date = parse_http_date(ius)
                if date is not None and mtime > date:
                    return 412, None
        if_none_match = conditions.get(b"if-none-match")
        if if_none_match is not None:
            if etag_matches_weak(if_none_match, etag):
                return (304 if method in ("GET", "HEAD") else 412), None
        elif method in ("GET", "HEAD"):
            ims = conditions.get(b"if-modified-since")
            if ims is not None:
                date = parse_http_date(ims)
                if date is not None and mtime <= date:
                    return 304, None
        range_header = conditions.get(b"range")
        if range_header is None or method != "GET":
            return 200, None
        if_range = conditions.get(b"if-range")
        if if_range is not None and not self._if_range_holds(if_range.strip(), etag, mtime):
            return 200, None
        ranges = parse_range(range_header, size, self.max_ranges)
        if ranges is None:
            return 200, None
        if not ranges:
            return 416, None
        if len(ranges) == 1 and ranges[0] == (0, size):
            return 200, None
        return 206, ranges

    @staticmethod
    def _if_range_holds(value: str, etag: str, mtime: int) -> bool:
        if value.startswith('"'):
            return not etag.startswith("W/") and value == etag
        if value.startswith("W/"):
            return False  # If-Range requires a strong comparison.
        date = parse_http_date(value)
        return date is not None and date == mtime

    # ------------------------------------------------------------------ ASGI
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        method = scope.get("method", "GET")
        snapshot = self.snapshot
        self.snapshot = None
        try:
            if snapshot is None:
                snapshot = await self._open(method != "HEAD")
            await self._send(snapshot, scope, receive, send, method)
        finally:
            if snapshot is not None:
                snapshot.close()
        if self.background is not None:
            await run_background(scope, self.background)

    async def _open(self, read: bool) -> FileSnapshot:
        try:
            return await run_in_thread(
                open_snapshot, self.path, self.chunk_size, read, on_abandon=FileSnapshot.close
            )
        except FileNotFoundError:
            raise RuntimeError(f"FileResponse: file at {self.path!r} does not exist") from None
        except NotAFile:
            raise RuntimeError(f"FileResponse: {self.path!r} is not a regular file") from None

    async def _send(
        self, snapshot: FileSnapshot, scope: Scope, receive: Receive, send: Send, method: str
    ) -> None:
        st = self.stat_result or snapshot.stat
        size = st.st_size
        etag, last_modified = self._validators(st)
        status, ranges = 200, None
        if self.status_code == 200:
            conditions = _request_conditions(scope)
            if conditions is not None:
                status, ranges = self._evaluate(conditions, method, etag, int(st.st_mtime), size)
        else:
            status = self.status_code
        head = method == "HEAD"

        if status in (304, 412):
            headers = self._headers_with(etag, last_modified)
            if status == 304:
                headers = [
                    (k, v) for k, v in headers if k not in (b"content-length", b"content-type")
                ]
            else:
                headers = [(k, v) for k, v in headers if k != b"content-length"]
                headers.append((b"content-length", b"0"))
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return
        if status == 416:
            headers = [
                (k, v)
                for k, v in self._headers_with(etag, last_modified)
                if k not in (b"content-length", b"content-type")
            ]
            headers += [(b"content-range", f"bytes */{size}".encode()), (b"content-length", b"0")]
            await send({"type": "http.response.start", "status": 416, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return
        if ranges is None:
            headers = self._headers_with(
                etag,
                last_modified,
                (b"content-length", str(size).encode()),
                (b"accept-ranges", b"bytes"),
            )
            await send({"type": "http.response.start", "status": status, "headers": headers})
            if head:
                await send({"type": "http.response.body", "body": b""})
            else:
                await self._send_span(snapshot, 0, size, receive, send, last=True)
            return
        if len(ranges) == 1:
            start, stop = ranges[0]
            headers = [
                (k, v) for k, v in self._headers_with(etag, last_modified) if k != b"content-length"
            ]
            headers += [
                (b"content-range", f"bytes {start}-{stop - 1}/{size}".encode()),
                (b"content-length", str(stop - start).encode()),
                (b"accept-ranges", b"bytes"),
            ]
            await send({"type": "http.response.start", "status": 206, "headers": headers})
            await self._send_span(snapshot, start, stop, receive, send, last=True)
            return
        await self._send_multipart(snapshot, ranges, size, etag, last_modified, receive, send)

    async def _send_multipart(
        self,
        snapshot: FileSnapshot,
        ranges: list[tuple[int, int]],
        size: int,
        etag: str,
        last_modified: str,
        receive: Receive,
        send: Send,
    ) -> None:
        boundary = token_hex(12)
        content_type = self._content_type()
        part_heads = []
        for index, (start, stop) in enumerate(ranges):
            lead = b"\r\n" if index else b""
            part_heads.append(
                lead
                + b"--"
                + boundary.encode()
                + b"\r\ncontent-type: "
                + content_type
                + f"\r\ncontent-range: bytes {start}-{stop - 1}/{size}\r\n\r\n".encode()
            )
        tail = b"\r\n--" + boundary.encode() + b"--\r\n"
        length = sum(map(len, part_heads)) + sum(b - a for a, b in ranges) + len(tail)
        headers = [
            (k, v)
            for k, v in self._headers_with(etag, last_modified)
            if k not in (b"content-length", b"content-type")
        ]
        headers += [
            (b"content-type", b"multipart/byteranges; boundary=" + boundary.encode()),
            (b"content-length", str(length).encode()),
            (b"accept-ranges", b"bytes"),
        ]
        await send({"type": "http.response.start", "status": 206, "headers": headers})
        if snapshot.data is not None:
            data = snapshot.data
            pairs = zip(part_heads, ranges, strict=True)
            body = b"".join(head + data[start:stop] for head, (start, stop) in pairs)
            await send({"type": "http.response.body", "body": body + tail})
            return
        async with anyio.create_task_group() as tg:
            tg.start_soon(_watch_disconnect, receive, tg.cancel_scope)
            for head, (start, stop) in zip(part_heads, ranges, strict=True):
                await send({"type": "http.response.body", "body": head, "more_body": True})
                await self._stream(snapshot, start, stop, send, last=False)
            await send({"type": "http.response.body", "body": tail})
            tg.cancel_scope.cancel()

    async def _send_span(
        self,
        snapshot: FileSnapshot,
        start: int,
        stop: int,
        receive: Receive,
        send: Send,
        last: bool,
    ) -> None:
        if snapshot.data is not None:
            data = snapshot.data
            body = data if start == 0 and stop == len(data) else data[start:stop]
            await send({"type": "http.response.body", "body": body, "more_body": not last})
            return
        if snapshot.file is None:  # opened for HEAD, yet a body is wanted: reopen it.
            reopened = await self._open(True)
            snapshot.data, snapshot.file = reopened.data, reopened.file
            await self._send_span(snapshot, start, stop, receive, send, last)
            return
        async with anyio.create_task_group() as tg:
            tg.start_soon(_watch_disconnect, receive, tg.cancel_scope)
            await self._stream(snapshot, start, stop, send, last)
            tg.cancel_scope.cancel()

    async def _stream(
        self, snapshot: FileSnapshot, start: int, stop: int, send: Send, last: bool
    ) -> None:
        file = snapshot.file
        assert file is not None
        offset = start
        chunk = self.chunk_size
        while offset < stop:
            want = min(chunk, stop - offset)
            head = snapshot.head
            if offset < len(head):
                data = head[offset : min(stop, len(head))]
            else:
                data = await run_in_thread(read_at, file, offset, want)
            if not data:
                break  # The file shrank; the client sees a short body and the length mismatch.
            offset += len(data)
            if last and offset >= stop:
                await send({"type": "http.response.body", "body": data})
                return
            await send({"type": "http.response.body", "body": data, "more_body": True})
        if last:
            await send({"type": "http.response.body", "body": b""})


async def _watch_disconnect(receive: Receive, scope: Any) -> None:
    """Stop streaming as soon as the client goes away (the file may be gigabytes)."""
    while True:
        message = await receive()
        if message.get("type") == "http.disconnect":
            scope.cancel()
            return
