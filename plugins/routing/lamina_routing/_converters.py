"""Path parameter converters: how a path segment becomes a Python value and back.

A converter has a ``regex`` (what it accepts, used for partial segments and full-path
patterns), ``convert(text) -> value`` and ``to_string(value) -> text``. ``parse(segment)`` is
the hot-path entry point: it returns the converted value or raises ``ValueError``; the
built-ins override it with checks that avoid the regex engine.

There is no global registry: each router resolves converter names through its own mapping
(built-ins, then what the app's plugins registered, then the route's or router's own).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from typing import Any, ClassVar

__all__ = [
    "BUILTIN_CONVERTERS",
    "Converter",
    "FloatConverter",
    "IntConverter",
    "PathConverter",
    "StringConverter",
    "UUIDConverter",
]


class Converter:
    """Base class for path converters; subclass and set ``regex``, override ``convert``."""

    regex: str = "[^/]+"
    #: True only for converters that may match across ``/`` (the ``path`` converter).
    spans_segments: bool = False
    #: The JSON Schema of this converter's values, for API descriptions (lamina-openapi
    #: documents a ``{param:name}`` with it). ``None``: a string matching ``regex``.
    openapi_schema: ClassVar[Mapping[str, Any] | None] = None

    def convert(self, value: str) -> Any:
        return value

    def to_string(self, value: Any) -> str:
        return str(value)

    def parse(self, segment: str) -> Any:
        """The value for a whole segment, or ``ValueError`` when the segment does not match."""
        if re.fullmatch(self.regex, segment) is None:
            raise ValueError(segment)
        return self.convert(segment)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class StringConverter(Converter):
    regex = "[^/]+"
    openapi_schema: ClassVar[Mapping[str, Any] | None] = {"type": "string"}

    def parse(self, segment: str) -> str:
        if not segment:
            raise ValueError(segment)
        return segment

    def to_string(self, value: Any) -> str:
        text = str(value)
        if not text or "/" in text:
            raise ValueError(f"a str parameter must be non-empty and contain no '/': {text!r}")
        return text


class IntConverter(Converter):
    regex = "[0-9]+"
    openapi_schema: ClassVar[Mapping[str, Any] | None] = {"type": "integer", "minimum": 0}

    def convert(self, value: str) -> int:
        return int(value)

    def parse(self, segment: str) -> int:
        # int() raises ValueError past sys.get_int_max_str_digits(): no match, not an error
        if segment.isascii() and segment.isdigit():
            return int(segment)
        raise ValueError(segment)

    def to_string(self, value: Any) -> str:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"an int parameter must be a non-negative int, got {value!r}")
        return str(value)


class FloatConverter(Converter):
    regex = r"[0-9]+(?:\.[0-9]+)?"
    openapi_schema: ClassVar[Mapping[str, Any] | None] = {"type": "number", "minimum": 0}

    def convert(self, value: str) -> float:
        result = float(value)
        if result == float("inf"):  # hundreds of digits: not a number a route can use
            raise ValueError(value)
        return result

    def to_string(self, value: Any) -> str:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"a float parameter must be a number, got {value!r}")
        value = float(value)
        if not value >= 0 or value == float("inf"):
            raise ValueError(f"a float parameter must be finite and non-negative, got {value!r}")
        text = repr(value)
        if "e" in text or "E" in text:
            text = f"{value:f}".rstrip("0")
            text = text + "0" if text.endswith(".") else text
        return text


class UUIDConverter(Converter):
    regex = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
    openapi_schema: ClassVar[Mapping[str, Any] | None] = {"type": "string", "format": "uuid"}

    def convert(self, value: str) -> uuid.UUID:
        return uuid.UUID(value)

    def to_string(self, value: Any) -> str:
        return str(uuid.UUID(str(value)))


class PathConverter(Converter):
    """The rest of the path, slashes included (possibly empty)."""

    regex = ".*"
    spans_segments = True
    openapi_schema: ClassVar[Mapping[str, Any] | None] = {"type": "string"}

    def to_string(self, value: Any) -> str:
        return str(value)


BUILTIN_CONVERTERS: Mapping[str, Converter] = {
    "str": StringConverter(),
    "int": IntConverter(),
    "float": FloatConverter(),
    "uuid": UUIDConverter(),
    "path": PathConverter(),
}
