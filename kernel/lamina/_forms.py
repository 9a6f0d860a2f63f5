"""Forms and uploads: the streaming ``FormReader`` behind ``request.form()``.

Bodies are parsed as they arrive (python-multipart's ``QuerystringParser`` for
``application/x-www-form-urlencoded``, our own ``bytes.find``-based parser for
``multipart/form-data``); the body is never buffered whole. File parts go to a spooled
``UploadFile``: in memory up to ``upload_spool_size``, then in a temporary file, and once on
disk every write, read and seek runs in a worker thread so a big upload never stalls the
event loop.

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

The form's data structures are in :mod:`lamina._formdata`; the parsers in
:mod:`lamina._urlencoded` and :mod:`lamina._multipart`, with what they share (limits, header
parameters) in :mod:`lamina._formparsing`.
"""

from __future__ import annotations

from collections.abc import Generator
from types import TracebackType
from typing import TYPE_CHECKING, Any

import anyio

from ._exceptions import UnsupportedMediaType
from ._formdata import FormData
from ._formparsing import FormLimits, decode_header, default_limits, parse_options
from ._multipart import parse_multipart
from ._scopekeys import FORM_KEY, add_cleanup
from ._urlencoded import parse_urlencoded

if TYPE_CHECKING:
    from ._requests import Request

__all__ = ["FormReader"]


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
        request: Request[Any],
        *,
        max_fields: int | None = None,
        max_files: int | None = None,
        max_part_size: int | None = None,
        max_part_header_size: int | None = None,
        spool_size: int | None = None,
    ) -> None:
        self._request = request
        self._overrides: dict[str, int | None] | None = None
        if not (
            max_fields is None
            and max_files is None
            and max_part_size is None
            and max_part_header_size is None
            and spool_size is None
        ):
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
                content_type = decode_header(v)
                break
        if content_type is None:
            raise UnsupportedMediaType(
                "Expected a form (application/x-www-form-urlencoded or multipart/form-data); "
                "the request has no Content-Type"
            )
        kind, params = parse_options(content_type)
        settings = getattr(request.scope.get("app"), "settings", None)
        overrides = self._overrides
        limits = default_limits(settings) if overrides is None else FormLimits(settings, overrides)
        if kind == "multipart/form-data":
            await parse_multipart(request.stream(), form, limits, params.get("boundary"))
        elif kind == "application/x-www-form-urlencoded":
            await parse_urlencoded(request.stream(), form, limits, params.get("charset") or "utf-8")
        else:
            raise UnsupportedMediaType(
                "Expected a form (application/x-www-form-urlencoded or multipart/form-data), "
                f"got {kind!r}"
            )
