"""The ``application/x-www-form-urlencoded`` parser: one field at a time, as the body arrives."""

from __future__ import annotations

from collections.abc import AsyncIterable
from typing import TYPE_CHECKING
from urllib.parse import unquote_to_bytes

from python_multipart.exceptions import QuerystringParseError
from python_multipart.multipart import QuerystringParser

if TYPE_CHECKING:  # the callbacks' TypedDict exists for type checkers only
    from python_multipart.multipart import QuerystringCallbacks

from ._exceptions import PayloadTooLarge, RequestError
from ._formdata import FormData
from ._formparsing import QUIET, FormLimits, decode_text

__all__ = ["parse_urlencoded"]


class _UrlencodedBuilder:
    """Callbacks for ``QuerystringParser``: one field at a time, limits checked as it grows."""

    __slots__ = ("charset", "form", "limits", "name", "size", "total", "value")

    def __init__(self, form: FormData, limits: FormLimits, charset: str = "utf-8") -> None:
        self.charset = charset
        self.form = form
        self.limits = limits
        self.total = 0
        self.name = bytearray()
        self.value = bytearray()
        self.size = 0

    def callbacks(self) -> QuerystringCallbacks:
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
        self.limits.check_text_total(self.total)

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
        name = decode_text(
            unquote_to_bytes(bytes(self.name).replace(b"+", b" ")), charset, "A form field name"
        )
        value = decode_text(
            unquote_to_bytes(bytes(self.value).replace(b"+", b" ")), charset, f"Form field {name!r}"
        )
        form._append(name, value)


async def parse_urlencoded(
    body: AsyncIterable[bytes], form: FormData, limits: FormLimits, charset: str
) -> None:
    """Fill ``form`` from ``body``; limits and malformed text raise as the module says."""
    builder = _UrlencodedBuilder(form, limits, charset)
    parser = QuerystringParser(builder.callbacks())
    parser.logger = QUIET
    try:
        async for chunk in body:
            parser.write(chunk)
        parser.finalize()
    except QuerystringParseError as exc:  # only raised in strict mode; kept for safety
        raise RequestError(f"Malformed form body: {exc}") from None
