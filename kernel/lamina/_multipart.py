"""The ``multipart/form-data`` parser: parts as the body arrives, files spooled off the loop.

Why our own parser rather than python-multipart's ``MultipartParser``: that one is a byte-level
state machine driving a dozen callbacks per part, and on the shared bench's form (three fields
and a 10 KiB file, one chunk) it cost about 280k instructions before doing anything with the
data. Here the framing is found with ``bytes.find`` over whole chunks (the delimiter, then the
blank line that ends a part's headers) and a part's header block is split once, so the work is
a few C calls per part. Measured with callgrind on the bench's ``form`` scenario, whole
request: 569k -> 302k instructions with this parser and ``UploadFile``'s own spool, 255k with
the smaller savings noted where they are made.

It still streams: at most one chunk plus a short carry-over is held (the tail of a chunk
that may be the start of a delimiter, or a header block still arriving, which is bounded by
``max_part_header_size``); part data goes into the form as it is found.

What is accepted (RFC 7578 / RFC 2046): CR/LF before the first delimiter, transport padding
(spaces, tabs) after any delimiter, and anything after the closing one (the epilogue,
ignored). Header names must be tokens and header lines end in CRLF (no bare CR or LF); a whole
delimiter followed by anything but padding, CRLF or ``--`` is refused (RFC 2046 forbids it in
a part; python-multipart took it for data); each is a 400 that says why. Other control
characters in a value are passed on (a field name may hold them), as python-multipart did.
"""

from __future__ import annotations

from collections.abc import AsyncIterable

from ._datastructures import Headers
from ._exceptions import PayloadTooLarge, RequestError
from ._formdata import FormData, UploadFile
from ._formparsing import (
    MAX_BOUNDARY_LENGTH,
    MAX_PART_HEADERS,
    MEMORY_BUDGET,
    FormLimits,
    decode_text,
    parse_options,
)

__all__ = ["parse_multipart"]

#: RFC 9110 ``tchar``: what a header name may be made of.
_TOKEN = b"!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
#: Header names clients send, spelt as they send them, with their lower-case form.
_COMMON_NAMES = {
    name: name.lower()
    for name in (
        b"Content-Disposition",
        b"content-disposition",
        b"Content-Type",
        b"content-type",
    )
}

# parser states
_PREAMBLE = 0  # before the first delimiter
_AFTER_DELIMITER = 1  # a delimiter was read: ``--`` ends the body, anything else is a part
_HEADERS = 2  # waiting for the blank line that ends the part's headers
_DATA = 3  # the part's data, up to the next delimiter
_END = 4  # after the closing delimiter: the epilogue is ignored


def _text(value: bytes) -> str:
    """A header value as text: UTF-8 (what browsers send file names in), else Latin-1."""
    try:
        return value.decode()
    except UnicodeDecodeError:
        return value.decode("latin-1")


def _malformed(why: str) -> RequestError:
    return RequestError(f"Malformed multipart body: {why}")


class _Parts:
    """What the parts become: text fields and uploads in the form, every limit checked."""

    __slots__ = (
        "charset",
        "fields",
        "files",
        "form",
        "held",
        "limits",
        "name",
        "text",
        "text_size",
        "text_total",
        "upload",
        "uploads",
    )

    def __init__(self, form: FormData, limits: FormLimits) -> None:
        self.form = form
        self.limits = limits
        self.fields = 0
        self.files = 0
        self.text_total = 0
        #: bytes the form's finished uploads hold in memory (``MEMORY_BUDGET``)
        self.held = 0
        self.uploads: list[UploadFile] = []
        self.name = ""
        #: the current part's upload, or ``None`` for a text field
        self.upload: UploadFile | None = None
        #: the current text field's pieces, and their size
        self.text: list[bytes] = []
        self.text_size = 0
        self.charset = "utf-8"

    def begin(self, block: bytes) -> None:
        """Start a part from its header block (the bytes after the delimiter, up to the
        blank line): transport padding, then ``CRLF name: value`` per header."""
        lines = block.split(b"\r\n")
        crlfs = len(lines) - 1
        # Two checks in one C pass: deleting CR and LF removes two bytes per CRLF, more if
        # there is a bare CR or LF. (A regular expression costs ~30k instructions per part:
        # re steps through every byte; two counts cost 4k, this 2k.)
        if len(block) - len(block.translate(None, b"\r\n")) != 2 * crlfs:
            raise _malformed("a part header holds a bare CR or LF")
        if lines[0] and lines[0].strip(b" \t"):
            raise _malformed("text after a boundary")
        if crlfs > MAX_PART_HEADERS:
            raise _malformed(f"a part has more than {MAX_PART_HEADERS} headers")
        raw: list[tuple[bytes, bytes]] = []
        disposition = content_type = None
        del lines[0]
        for line in lines:
            name, colon, value = line.partition(b":")
            if not colon:
                raise _malformed(f"invalid part header {_text(line[:100])!r}")
            lower = _COMMON_NAMES.get(name)  # skips the token check and lower(): 4k each
            if lower is None:
                if not name or name.translate(None, _TOKEN):
                    raise _malformed(f"invalid part header {_text(line[:100])!r}")
                lower = name.lower()
            value = value.strip(b" \t")
            raw.append((lower, value))
            if lower == b"content-disposition":
                if disposition is None:
                    disposition = _text(value)
            elif lower == b"content-type" and content_type is None:
                content_type = _text(value)
        if disposition is None:
            raise _malformed("a part has no Content-Disposition")
        kind, params = parse_options(disposition)  # cached: parts repeat their headers
        if kind != "form-data":
            raise _malformed(f"Content-Disposition {kind!r} is not form-data")
        name_param = params.get("name")
        if name_param is None:
            raise _malformed("a part has no name")
        self.name = name_param
        limits = self.limits
        filename = params.get("filename")
        if filename is not None:
            if self.files >= limits.max_files:
                raise RequestError(f"Too many files in the form: the limit is {limits.max_files}")
            self.files += 1
            spool = limits.spool_size
            if self.held >= max(spool, MEMORY_BUDGET):
                spool = 0  # the form holds enough in memory: this one goes to disk
            upload = UploadFile(filename=filename, headers=Headers(raw=raw), spool_size=spool)
            self.upload = upload
            self.uploads.append(upload)
            self.form._append(name_param, upload)
            return
        if self.fields >= limits.max_fields:
            raise RequestError(f"Too many form fields: the limit is {limits.max_fields}")
        self.fields += 1
        self.upload = None
        self.text = []
        self.text_size = 0
        self.charset = "utf-8"
        if content_type is not None:
            charset = parse_options(content_type)[1].get("charset")
            if charset:
                self.charset = charset

    def add_text(self, data: bytes) -> None:
        limits = self.limits
        size = self.text_size = self.text_size + len(data)
        if size > limits.max_part_size:
            raise PayloadTooLarge(
                f"Form field {self.name!r} exceeds the limit of {limits.max_part_size} bytes"
            )
        self.text_total += len(data)
        limits.check_text_total(self.text_total)
        self.text.append(data)

    def end(self) -> None:
        upload = self.upload
        if upload is None:
            text = self.text
            raw = text[0] if len(text) == 1 else b"".join(text)
            value = decode_text(raw, self.charset, f"Form field {self.name!r}")
            self.form._append(self.name, value)
        elif upload.in_memory:
            self.held += upload.size


def _check_boundary(boundary: str | None) -> bytes:
    if not boundary:
        raise _malformed("the Content-Type has no boundary")
    if len(boundary) > MAX_BOUNDARY_LENGTH or not (boundary.isascii() and boundary.isprintable()):
        raise _malformed("invalid boundary")
    return boundary.encode("ascii")


def _carry_start(buf: bytes, pos: int, delimiter: bytes) -> int:
    """Where the part data of ``buf`` (from ``pos``, no whole delimiter in it) stops being
    certain: the start of a tail that could be the beginning of a delimiter (which starts
    with CR, found nowhere else in it), else the end."""
    n = len(buf)
    cr = buf.rfind(b"\r", max(pos, n - len(delimiter) + 1))
    if cr >= 0 and delimiter.startswith(buf[cr:]):
        return cr
    return n


async def parse_multipart(
    body: AsyncIterable[bytes], form: FormData, limits: FormLimits, boundary: str | None
) -> None:
    """Fill ``form`` from ``body``; uploads are left at their start, ready to read."""
    dash_boundary = b"--" + _check_boundary(boundary)
    delimiter = b"\r\n" + dash_boundary
    max_block = limits.max_part_header_size
    parts = _Parts(form, limits)
    state = _PREAMBLE
    buf = b""
    async for chunk in body:
        if state == _END:
            continue  # the epilogue; the body is still read (its size limit still applies)
        buf = buf + chunk if buf else chunk
        pos = 0
        while True:
            if state == _DATA:
                found = buf.find(delimiter, pos)
                stop = found if found >= 0 else _carry_start(buf, pos, delimiter)
                if stop > pos:
                    data = buf[pos:stop] if pos or stop < len(buf) else buf
                    upload = parts.upload
                    if upload is None:
                        parts.add_text(data)
                    else:
                        await upload.write(data)
                if found < 0:
                    buf = buf[stop:]
                    break
                parts.end()
                pos = found + len(delimiter)
                state = _AFTER_DELIMITER
            elif state == _AFTER_DELIMITER:
                if len(buf) - pos < 2:
                    buf = buf[pos:]
                    break
                if buf.startswith(b"--", pos):
                    state = _END
                    buf = b""
                    break
                state = _HEADERS
            elif state == _HEADERS:
                end = buf.find(b"\r\n\r\n", pos)
                # the block is what lies between the delimiter and the blank line
                if (end if end >= 0 else len(buf) - 3) - pos > max_block:
                    raise PayloadTooLarge(
                        f"The headers of a form part exceed the limit of {max_block} bytes"
                    )
                if end < 0:
                    buf = buf[pos:]
                    break
                parts.begin(buf[pos:end])
                pos = end + 4
                state = _DATA
            else:  # _PREAMBLE: CR/LF may come before the first delimiter, nothing else
                buf = buf.lstrip(b"\r\n")
                if len(buf) < len(dash_boundary):
                    break
                if not buf.startswith(dash_boundary):
                    raise _malformed("the body does not start with its boundary")
                pos = len(dash_boundary)
                state = _AFTER_DELIMITER
    if state != _END:
        raise _malformed("truncated (no closing boundary)")
    for upload in parts.uploads:
        if upload.in_memory:
            upload.file.seek(0)
        else:
            await upload.seek(0)
