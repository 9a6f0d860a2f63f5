"""The ``multipart/form-data`` parser: parts as the body arrives, files spooled off the loop.

The parser's callbacks are synchronous, so file data is queued by :class:`_MultipartBuilder`
and written (in a worker thread once on disk) after each chunk of the body.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Callable
from typing import TYPE_CHECKING, Any, cast

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser

if TYPE_CHECKING:  # the callbacks' TypedDict exists for type checkers only
    from python_multipart.multipart import MultipartCallbacks

from ._datastructures import Headers
from ._exceptions import PayloadTooLarge, RequestError
from ._formdata import FormData, UploadFile
from ._formparsing import (
    MAX_BOUNDARY_LENGTH,
    MAX_PART_HEADERS,
    MEMORY_BUDGET,
    QUIET,
    FormLimits,
    decode_header,
    decode_text,
    parse_options,
)

__all__ = ["parse_multipart"]


class _MultipartBuilder:
    """Callbacks for ``MultipartParser``.

    Text goes straight into the form; file data is queued in ``writes`` and written by the
    async loop after each chunk, so the (synchronous) callbacks never touch the disk.
    """

    __slots__ = (
        "ended",
        "field",
        "fields",
        "file",
        "file_bytes",
        "files",
        "form",
        "header_field",
        "header_size",
        "header_value",
        "headers",
        "held",
        "limits",
        "name",
        "text",
        "text_charset",
        "text_total",
        "writes",
    )

    def __init__(self, form: FormData, limits: FormLimits) -> None:
        self.form = form
        self.limits = limits
        self.ended = False
        self.fields = 0
        self.files = 0
        self.text_total = 0
        self.held = 0
        self.writes: list[tuple[UploadFile, bytes]] = []
        self._reset()

    def _reset(self) -> None:
        self.headers: list[tuple[bytes, bytes]] = []
        self.header_field = b""
        self.header_value = b""
        self.header_size = 0
        self.name = ""
        self.file: UploadFile | None = None
        self.field = False
        self.text = bytearray()
        self.text_charset = "utf-8"
        self.file_bytes = 0

    def callbacks(self) -> MultipartCallbacks:
        return {
            "on_part_begin": self._reset,
            "on_header_field": self.on_header_field,
            "on_header_value": self.on_header_value,
            "on_header_end": self.on_header_end,
            "on_headers_finished": self.on_headers_finished,
            "on_part_data": self.on_part_data,
            "on_part_end": self.on_part_end,
            "on_end": self.on_end,
        }

    def _headers_too_large(self) -> None:
        raise PayloadTooLarge(
            f"The headers of a form part exceed the limit of "
            f"{self.limits.max_part_header_size} bytes"
        )

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self.header_size += end - start
        if self.header_size > self.limits.max_part_header_size:
            self._headers_too_large()
        self.header_field += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self.header_size += end - start
        if self.header_size > self.limits.max_part_header_size:
            self._headers_too_large()
        self.header_value += data[start:end]

    def on_header_end(self) -> None:
        self.header_size += 4  # ": " and CRLF
        if self.header_size > self.limits.max_part_header_size:
            self._headers_too_large()
        self.headers.append((self.header_field.strip().lower(), self.header_value.strip()))
        self.header_field = b""
        self.header_value = b""

    def on_headers_finished(self) -> None:
        disposition = content_type = None
        for k, v in self.headers:
            if k == b"content-disposition" and disposition is None:
                disposition = decode_header(v)
            elif k == b"content-type" and content_type is None:
                content_type = decode_header(v)
        if disposition is None:
            raise RequestError("Malformed multipart body: a part has no Content-Disposition")
        kind, params = parse_options(disposition)  # cached: parts repeat their headers
        if kind != "form-data":
            raise RequestError(
                f"Malformed multipart body: Content-Disposition {kind!r} is not form-data"
            )
        name = params.get("name")
        if name is None:
            raise RequestError("Malformed multipart body: a part has no name")
        self.name = name
        limits = self.limits
        if "filename" in params:
            if self.files >= limits.max_files:
                raise RequestError(f"Too many files in the form: the limit is {limits.max_files}")
            self.files += 1
            headers = Headers(raw=[(k, v) for k, v in self.headers])
            spool = limits.spool_size
            if self.held >= max(spool, MEMORY_BUDGET):
                spool = 0  # the form holds enough in memory: this one goes to disk
            upload = UploadFile(filename=params["filename"], headers=headers, spool_size=spool)
            self.file = upload
            self.form._append(name, upload)
        else:
            if self.fields >= limits.max_fields:
                raise RequestError(f"Too many form fields: the limit is {limits.max_fields}")
            self.fields += 1
            self.field = True
            if content_type is not None:
                charset = parse_options(content_type)[1].get("charset")
                if charset:
                    self.text_charset = charset

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        file = self.file
        if file is not None:
            self.file_bytes += end - start
            self.writes.append((file, data[start:end]))
            return
        if not self.field:  # data before the headers finished cannot happen; be safe
            raise RequestError("Malformed multipart body: part data before its headers")
        if len(self.text) + (end - start) > self.limits.max_part_size:
            raise PayloadTooLarge(
                f"Form field {self.name!r} exceeds the limit of {self.limits.max_part_size} bytes"
            )
        self.text_total += end - start
        self.limits.check_text_total(self.text_total)
        self.text += data[start:end]

    def on_part_end(self) -> None:
        file = self.file
        if file is not None and self.file_bytes <= file._spool_size:
            self.held += self.file_bytes  # this upload stays in memory
        if self.field:
            value = decode_text(bytes(self.text), self.text_charset, f"Form field {self.name!r}")
            self.form._append(self.name, value)
        # the next part_begin resets the rest; data after the end is ignored by the parser

    def on_end(self) -> None:
        self.ended = True


def _check_boundary(boundary: str | None) -> bytes:
    if not boundary:
        raise RequestError("Malformed multipart body: the Content-Type has no boundary")
    if len(boundary) > MAX_BOUNDARY_LENGTH or not (boundary.isascii() and boundary.isprintable()):
        raise RequestError("Malformed multipart body: invalid boundary")
    return boundary.encode("ascii")


class _MultipartParser(MultipartParser):
    """``MultipartParser`` with a leaner ``callback`` (the documented extension point).

    The base class builds ``"on_" + name`` and looks it up on every call, dozens of times per
    part; here the callbacks are pre-resolved by event name.
    """

    def __init__(self, boundary: bytes, callbacks: MultipartCallbacks, **kwargs: Any) -> None:
        super().__init__(boundary, callbacks, **kwargs)
        # every value of the TypedDict is a callback; its items() cannot say so
        by_name = cast(dict[str, Callable[..., None]], callbacks)
        self._by_event = {k[3:]: v for k, v in by_name.items()}

    def callback(
        self,
        name: str,
        data: bytes | None = None,
        start: int | None = None,
        end: int | None = None,
    ) -> None:
        func = self._by_event.get(name)
        if func is None:
            return
        if data is None:
            func()
        elif start != end:
            func(data, start, end)


async def parse_multipart(
    body: AsyncIterable[bytes], form: FormData, limits: FormLimits, boundary: str | None
) -> None:
    """Fill ``form`` from ``body``; uploads are left at their start, ready to read."""
    builder = _MultipartBuilder(form, limits)
    parser = _MultipartParser(
        _check_boundary(boundary),
        builder.callbacks(),
        max_header_count=MAX_PART_HEADERS,
        # our own per-part total (413) is the real limit; this only bounds one line
        max_header_size=limits.max_part_header_size * 2 + 64,
    )
    parser.logger = QUIET
    writes = builder.writes
    try:
        async for chunk in body:
            parser.write(chunk)
            if writes:
                await _flush(writes)
        parser.finalize()
    except MultipartParseError as exc:
        raise RequestError(f"Malformed multipart body: {exc}") from None
    if not builder.ended:
        raise RequestError("Malformed multipart body: truncated (no closing boundary)")
    for upload in form.files():
        await upload.seek(0)


async def _flush(writes: list[tuple[UploadFile, bytes]]) -> None:
    """Write queued file data, joining consecutive pieces for the same file."""
    current, pieces = writes[0][0], [writes[0][1]]
    for upload, data in writes[1:]:
        if upload is current:
            pieces.append(data)
        else:
            await current.write(pieces[0] if len(pieces) == 1 else b"".join(pieces))
            current, pieces = upload, [data]
    await current.write(pieces[0] if len(pieces) == 1 else b"".join(pieces))
    writes.clear()
