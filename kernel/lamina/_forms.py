"""Forms and uploads: ``FormData``, ``UploadFile`` and the streaming ``FormReader``.

Bodies are parsed as they arrive, through python-multipart's low-level parsers
(``QuerystringParser`` for ``application/x-www-form-urlencoded``, ``MultipartParser`` for
``multipart/form-data``); the body is never buffered whole. File parts go to an
``UploadFile`` backed by a ``SpooledTemporaryFile``: in memory up to ``upload_spool_size``,
then on disk, and once on disk every write, read and seek runs in a worker thread so a big
upload never stalls the event loop.

Limits (``[lamina]`` settings, overridable per call: ``request.form(max_files=...)``):

- ``max_form_fields`` (1000): too many non-file fields is a 400;
- ``max_form_files`` (100): too many file parts is a 400;
- ``max_form_part_size`` (1 MiB): one non-file field too large is a 413;
- ``max_form_part_header_size`` (8 KiB): one part's headers too large is a 413;
- ``upload_spool_size`` (1 MiB): an upload larger than this is spooled to a temporary file;
- ``max_body_size`` (10 MiB, per route too): the whole body, files included, 413 above;
- all text fields together: ``MAX_TEXT_TOTAL`` (16 MiB, or the part size if larger), 413.

Memory stays bounded even on a route that lifts ``max_body_size``: text is capped as above,
and once the form's in-memory uploads hold ``MEMORY_BUDGET`` (8 MiB, or the spool size if
larger), later file parts go straight to disk.

Counts are a 400 (the request is unreasonable, like Starlette), sizes a 413 (the payload is
too large). A malformed body (no or bad boundary, truncated body, bad part headers, text that
is not valid in its charset) is a 400 that says why; a body that is not a form is a 415.

Nothing the client sent is dropped: a part with no ``filename`` is a text field, repeated
names stay multi-valued (``form.getlist(name)``), and a file part with ``filename=""`` (an
empty file input) is still an ``UploadFile``. File names are passed on as sent: treat them
as untrusted input.

The parsed form is kept on the scope (one per request) and closed when the request ends,
whether or not the endpoint used ``async with``; on Linux the temporary files are anonymous,
so closing them is removing them. A response's ``background`` work can still read the
uploads: inline it runs before the request ends, and when it is handed to a spawner
(lamina-background) the closing moves to the end of that work.
"""

from __future__ import annotations

import functools
import io
import re
from collections.abc import Generator, Mapping, Sequence
from tempfile import SpooledTemporaryFile
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import unquote_to_bytes

import anyio.to_thread
from python_multipart.exceptions import MultipartParseError, QuerystringParseError
from python_multipart.multipart import MultipartParser, QuerystringParser

from ._datastructures import Headers, _MultiDict
from ._exceptions import PayloadTooLarge, RequestError, UnsupportedMediaType
from ._requests import FORM_KEY, add_cleanup

if TYPE_CHECKING:
    from ._requests import Request

__all__ = ["FormData", "FormReader", "UploadFile", "parse_options_header"]

DEFAULT_MAX_FIELDS = 1000
DEFAULT_MAX_FILES = 100
DEFAULT_MAX_PART_SIZE = 1024 * 1024
DEFAULT_MAX_PART_HEADER_SIZE = 8 * 1024
DEFAULT_SPOOL_SIZE = 1024 * 1024
#: Text fields of one form, all together (or ``max_form_part_size`` if larger): 413 above.
MAX_TEXT_TOTAL = 16 * 1024 * 1024
#: File data one form keeps in memory (or ``upload_spool_size`` if larger); once the
#: in-memory uploads hold this much, the next file part is written to disk from its start.
MEMORY_BUDGET = 8 * 1024 * 1024
#: Headers allowed in one part (browsers send two); more is a malformed body.
MAX_PART_HEADERS = 16
#: RFC 2046 allows 70; python-multipart refuses more than 256.
MAX_BOUNDARY_LENGTH = 200


class _QuietLogger:
    """python-multipart logs a warning per malformed body; the 400 already says why, and a
    client must not be able to flood the server's log."""

    def _ignore(self, *args: Any, **kwargs: Any) -> None:
        pass

    debug = info = warning = error = _ignore


_QUIET = _QuietLogger()


# --------------------------------------------------------------------------- header options
_PARAM_RE = re.compile(r';[ \t]*([^=; \t]*)[ \t]*(?:=[ \t]*("(?:[^"\\]|\\.)*"?|[^;]*))?')


def _parse_options(value: str) -> tuple[str, dict[str, str]]:
    """``parse_options_header`` for the parser: short values (what parts repeat) are cached,
    so the returned dict is shared and must not be mutated."""
    if len(value) <= 200:
        return _parse_options_cached(value)
    return parse_options_header(value)


def parse_options_header(value: str) -> tuple[str, dict[str, str]]:
    """Split ``type; a=1; b="x;y"`` into ``("type", {"a": "1", "b": "x;y"})``.

    Lenient by design (it reads what clients send and never raises): the main value and
    parameter names are lower-cased, the first of a repeated parameter wins, a quoted
    string loses its quotes and only ``\\"`` and ``\\\\`` are unescaped (browsers do not
    escape backslashes in file names). An RFC 5987 ``name*=charset''pct`` parameter fills
    ``name`` when the plain form is absent.
    """
    semi = value.find(";")
    if semi < 0:
        return value.strip(" \t").lower(), {}
    params: dict[str, str] = {}
    extended: dict[str, str] | None = None
    for match in _PARAM_RE.finditer(value, semi):
        key, val = match.group(1, 2)
        if not key or val is None:
            continue
        key = key.lower()
        val = val.rstrip(" \t")
        if key[-1] == "*":
            decoded = _decode_rfc5987(val)
            if decoded is not None:
                if extended is None:
                    extended = {}
                extended.setdefault(key[:-1], decoded)
            continue
        if len(val) >= 2 and val[0] == '"' and val[-1] == '"':
            val = val[1:-1]
            if "\\" in val:
                val = val.replace('\\"', '"').replace("\\\\", "\\")
        if key not in params:
            params[key] = val
    if extended:
        for key, val in extended.items():
            params.setdefault(key, val)
    return value[:semi].strip(" \t").lower(), params


_parse_options_cached = functools.lru_cache(maxsize=256)(parse_options_header)


def _decode_rfc5987(value: str) -> str | None:
    charset, sep, rest = value.partition("'")
    _lang, sep2, encoded = rest.partition("'")
    if not (sep and sep2):
        return None
    try:
        return unquote_to_bytes(encoded).decode(charset or "utf-8")
    except (LookupError, ValueError):  # UnicodeError too: "undefined", "punycode" raise it
        return None


def _decode_header(value: bytes) -> str:
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value.decode("latin-1")


# --------------------------------------------------------------------------- UploadFile
class UploadFile:
    """An uploaded file: its name, type and part headers, and the data in a spooled file.

    The async methods keep the event loop free: while the data is in memory they act
    directly, once it is on disk they run in a worker thread. ``file`` is the underlying
    file object for synchronous code (for example inside ``anyio.to_thread``).
    """

    __slots__ = ("_in_memory", "_spool_size", "file", "filename", "headers", "size")

    def __init__(
        self,
        file: IO[bytes] | None = None,
        *,
        filename: str | None = None,
        headers: Headers | Mapping[str, str] | None = None,
        size: int | None = None,
        spool_size: int = DEFAULT_SPOOL_SIZE,
    ) -> None:
        if file is None:
            file = SpooledTemporaryFile(max_size=max(spool_size, 1))  # noqa: SIM115
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
        return self.headers.get("content-type")  # type: ignore[no-any-return]

    @property
    def in_memory(self) -> bool:
        """False once the data went to disk (and file I/O moved to worker threads)."""
        return self._in_memory

    def _rollover_and_write(self, data: bytes) -> None:
        rollover = getattr(self.file, "rollover", None)
        if rollover is not None:
            rollover()
        self.file.write(data)

    async def write(self, data: bytes) -> None:
        """Append ``data``; crossing the spool size moves the data to disk, in a thread."""
        file = self.file
        if self._in_memory:
            if file.tell() + len(data) <= self._spool_size:
                file.write(data)
            else:
                self._in_memory = False
                await anyio.to_thread.run_sync(self._rollover_and_write, data)
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


# --------------------------------------------------------------------------- FormData
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
        if items is None:
            pairs: list[tuple[str, FormValue]] = []
        elif isinstance(items, Mapping):
            pairs = list(items.items())
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

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"FormData({self._list!r})"

    async def close(self) -> None:
        """Close every upload (deleting spooled files). Idempotent.

        Files on disk are closed in a worker thread, shielded from cancellation so a
        cancelled request still releases them; in-memory ones are closed directly.
        """
        uploads = [v for _, v in self._list if isinstance(v, UploadFile) and not v.file.closed]
        if not uploads:
            return
        if all(u.in_memory for u in uploads):
            for upload in uploads:
                upload.file.close()
            return
        with anyio.CancelScope(shield=True):
            for upload in uploads:
                await upload.close()


# --------------------------------------------------------------------------- limits
class _Limits:
    __slots__ = (
        "max_fields",
        "max_files",
        "max_part_header_size",
        "max_part_size",
        "max_text_total",
        "spool_size",
    )

    def __init__(self, settings: Any, overrides: dict[str, int | None]) -> None:
        def pick(key: str, setting: str, default: int) -> int:
            value = overrides.get(key)
            if value is None:
                value = getattr(settings, setting, default)
            if not isinstance(value, int) or value < 0:
                raise ValueError(f"form limit {key} must be a non-negative int, got {value!r}")
            return value

        self.max_fields = pick("max_fields", "max_form_fields", DEFAULT_MAX_FIELDS)
        self.max_files = pick("max_files", "max_form_files", DEFAULT_MAX_FILES)
        self.max_part_size = pick("max_part_size", "max_form_part_size", DEFAULT_MAX_PART_SIZE)
        self.max_part_header_size = pick(
            "max_part_header_size", "max_form_part_header_size", DEFAULT_MAX_PART_HEADER_SIZE
        )
        self.spool_size = pick("spool_size", "upload_spool_size", DEFAULT_SPOOL_SIZE)
        #: all text fields together: a route that lifts the body limit must not let
        #: ``max_fields`` x ``max_part_size`` (1 GB by default) of text into memory
        self.max_text_total = max(MAX_TEXT_TOTAL, self.max_part_size)


@functools.lru_cache(maxsize=16)
def _default_limits(settings: Any) -> _Limits:
    """The limits of an app's (frozen) settings, computed once rather than per request."""
    return _Limits(settings, {})


def _decode_text(raw: bytes, charset: str, what: str) -> str:
    try:
        return raw.decode(charset)
    except LookupError:
        raise RequestError(f"{what}: unknown charset {charset!r}") from None
    except ValueError:  # any UnicodeError: codecs like "undefined" raise the base class
        raise RequestError(f"{what} is not valid {charset}") from None


# --------------------------------------------------------------------------- urlencoded
class _UrlencodedBuilder:
    """Callbacks for ``QuerystringParser``: one field at a time, limits checked as it grows."""

    __slots__ = ("charset", "form", "limits", "name", "size", "total", "value")

    def __init__(self, form: FormData, limits: _Limits, charset: str = "utf-8") -> None:
        self.charset = charset
        self.form = form
        self.limits = limits
        self.total = 0
        self.name = bytearray()
        self.value = bytearray()
        self.size = 0

    def callbacks(self) -> dict[str, Any]:
        return {
            "on_field_start": self.on_field_start,
            "on_field_name": self.on_field_name,
            "on_field_data": self.on_field_data,
            "on_field_end": self.on_field_end,
        }

    def on_field_start(self) -> None:
        self.name = bytearray()
        self.value = bytearray()
        self.size = 0

    def _grow(self, n: int) -> None:
        self.size += n
        if self.size > self.limits.max_part_size:
            raise PayloadTooLarge(
                f"A form field exceeds the limit of {self.limits.max_part_size} bytes"
            )
        self.total += n
        if self.total > self.limits.max_text_total:
            raise PayloadTooLarge(
                f"The form's text fields exceed {self.limits.max_text_total} bytes in total"
            )

    def on_field_name(self, data: bytes, start: int, end: int) -> None:
        self._grow(end - start)
        self.name += data[start:end]

    def on_field_data(self, data: bytes, start: int, end: int) -> None:
        self._grow(end - start)
        self.value += data[start:end]

    def on_field_end(self) -> None:
        form = self.form
        if len(form._list) >= self.limits.max_fields:
            raise RequestError(f"Too many form fields: the limit is {self.limits.max_fields}")
        charset = self.charset
        name = _decode_text(
            unquote_to_bytes(bytes(self.name).replace(b"+", b" ")), charset, "A form field name"
        )
        value = _decode_text(
            unquote_to_bytes(bytes(self.value).replace(b"+", b" ")), charset, f"Form field {name!r}"
        )
        form._append(name, value)


# --------------------------------------------------------------------------- multipart
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

    def __init__(self, form: FormData, limits: _Limits) -> None:
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

    def callbacks(self) -> dict[str, Any]:
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
                disposition = _decode_header(v)
            elif k == b"content-type" and content_type is None:
                content_type = _decode_header(v)
        if disposition is None:
            raise RequestError("Malformed multipart body: a part has no Content-Disposition")
        kind, params = _parse_options(disposition)  # cached: parts repeat their headers
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
                charset = _parse_options(content_type)[1].get("charset")
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
        if self.text_total > self.limits.max_text_total:
            raise PayloadTooLarge(
                f"The form's text fields exceed {self.limits.max_text_total} bytes in total"
            )
        self.text += data[start:end]

    def on_part_end(self) -> None:
        file = self.file
        if file is not None and self.file_bytes <= file._spool_size:
            self.held += self.file_bytes  # this upload stays in memory
        if self.field:
            value = _decode_text(bytes(self.text), self.text_charset, f"Form field {self.name!r}")
            self.form._append(self.name, value)
        # the next part_begin resets the rest; data after the end is ignored by the parser

    def on_end(self) -> None:
        self.ended = True


# --------------------------------------------------------------------------- reader
class FormReader:
    """What ``request.form()`` returns: awaitable, and an async context manager.

    ``await request.form()`` gives the ``FormData`` (closed when the request ends);
    ``async with request.form() as form:`` also closes it when the block exits. The form is
    parsed once per request: later calls return the same ``FormData`` (or raise the same
    error), whatever limits they pass.
    """

    __slots__ = ("_form", "_overrides", "_request")

    def __init__(
        self,
        request: Request,
        *,
        max_fields: int | None = None,
        max_files: int | None = None,
        max_part_size: int | None = None,
        max_part_header_size: int | None = None,
        spool_size: int | None = None,
    ) -> None:
        self._request = request
        self._overrides = {
            "max_fields": max_fields,
            "max_files": max_files,
            "max_part_size": max_part_size,
            "max_part_header_size": max_part_header_size,
            "spool_size": spool_size,
        }
        self._form: FormData | None = None

    def __await__(self) -> Generator[Any, None, FormData]:
        return self._read().__await__()

    async def __aenter__(self) -> FormData:
        self._form = await self._read()
        return self._form

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._form is not None:
            await self._form.close()

    async def _read(self) -> FormData:
        scope = self._request.scope
        cached = scope.get(FORM_KEY)
        if isinstance(cached, FormData):
            return cached
        if isinstance(cached, BaseException):
            raise cached
        form = FormData()
        scope[FORM_KEY] = form
        add_cleanup(scope, form.close)
        try:
            await self._parse(form)
        except BaseException as exc:
            if isinstance(exc, Exception):
                scope[FORM_KEY] = exc
            with anyio.CancelScope(shield=True):
                await form.close()
            raise
        return form

    async def _parse(self, form: FormData) -> None:
        request = self._request
        content_type = None
        for k, v in request.scope["headers"]:
            if k == b"content-type":
                content_type = _decode_header(v)
                break
        if content_type is None:
            raise UnsupportedMediaType(
                "Expected a form (application/x-www-form-urlencoded or multipart/form-data); "
                "the request has no Content-Type"
            )
        kind, params = _parse_options(content_type)
        settings = getattr(request.scope.get("app"), "settings", None)
        overrides = self._overrides
        if any(v is not None for v in overrides.values()):
            limits = _Limits(settings, overrides)
        else:
            try:
                limits = _default_limits(settings)
            except TypeError:  # settings that cannot be hashed: no caching
                limits = _Limits(settings, overrides)
        if kind == "multipart/form-data":
            await _parse_multipart(request, form, limits, params.get("boundary"))
        elif kind == "application/x-www-form-urlencoded":
            await _parse_urlencoded(request, form, limits, params.get("charset") or "utf-8")
        else:
            raise UnsupportedMediaType(
                "Expected a form (application/x-www-form-urlencoded or multipart/form-data), "
                f"got {kind!r}"
            )


async def _parse_urlencoded(
    request: Request, form: FormData, limits: _Limits, charset: str
) -> None:
    builder = _UrlencodedBuilder(form, limits, charset)
    parser = QuerystringParser(builder.callbacks())  # type: ignore[arg-type]
    parser.logger = _QUIET  # type: ignore[assignment]
    try:
        async for chunk in request.stream():
            parser.write(chunk)
        parser.finalize()
    except QuerystringParseError as exc:  # only raised in strict mode; kept for safety
        raise RequestError(f"Malformed form body: {exc}") from None


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

    def __init__(self, boundary: bytes, callbacks: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(boundary, callbacks, **kwargs)  # type: ignore[arg-type]
        self._by_event = {k[3:]: v for k, v in callbacks.items()}

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


async def _parse_multipart(
    request: Request, form: FormData, limits: _Limits, boundary: str | None
) -> None:
    builder = _MultipartBuilder(form, limits)
    parser = _MultipartParser(
        _check_boundary(boundary),
        builder.callbacks(),
        max_header_count=MAX_PART_HEADERS,
        # our own per-part total (413) is the real limit; this only bounds one line
        max_header_size=limits.max_part_header_size * 2 + 64,
    )
    parser.logger = _QUIET  # type: ignore[assignment]
    writes = builder.writes
    try:
        async for chunk in request.stream():
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
