"""What the two form-body parsers share: limits, header parameters and text decoding.

The limits are documented in :mod:`lamina._forms`; :class:`FormLimits` resolves them once per
app (per call when ``request.form(...)`` overrides one).
"""

from __future__ import annotations

import functools
import logging
import re
from typing import Any
from urllib.parse import unquote_to_bytes

from ._exceptions import PayloadTooLarge, RequestError
from ._formdata import DEFAULT_SPOOL_SIZE

__all__ = [
    "MAX_BOUNDARY_LENGTH",
    "MAX_PART_HEADERS",
    "MEMORY_BUDGET",
    "QUIET",
    "FormLimits",
    "decode_header",
    "decode_text",
    "default_limits",
    "parse_options",
    "parse_options_header",
]

DEFAULT_MAX_FIELDS = 1000
DEFAULT_MAX_FILES = 100
DEFAULT_MAX_PART_SIZE = 1024 * 1024
DEFAULT_MAX_PART_HEADER_SIZE = 8 * 1024
#: Text fields of one form, all together (or ``max_form_part_size`` if larger): 413 above.
MAX_TEXT_TOTAL = 16 * 1024 * 1024
#: File data one form keeps in memory (or ``upload_spool_size`` if larger); once the
#: in-memory uploads hold this much, the next file part is written to disk from its start.
MEMORY_BUDGET = 8 * 1024 * 1024
#: Headers allowed in one part (browsers send two); more is a malformed body.
MAX_PART_HEADERS = 16
#: RFC 2046 allows 70; python-multipart refuses more than 256.
MAX_BOUNDARY_LENGTH = 200


class _QuietLogger(logging.Logger):
    """python-multipart logs a warning per malformed body; the 400 already says why, and a
    client must not be able to flood the server's log."""

    def __init__(self) -> None:
        super().__init__("lamina.forms.quiet")

    def _ignore(self, *args: Any, **kwargs: Any) -> None:
        pass

    debug = info = warning = error = _ignore


QUIET = _QuietLogger()


# --------------------------------------------------------------------------- header options
_PARAM_RE = re.compile(r';[ \t]*([^=; \t]*)[ \t]*(?:=[ \t]*("(?:[^"\\]|\\.)*"?|[^;]*))?')


def parse_options(value: str) -> tuple[str, dict[str, str]]:
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


def decode_header(value: bytes) -> str:
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value.decode("latin-1")


class FormLimits:
    """The form limits in force for one parse."""

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

    def check_text_total(self, total: int) -> None:
        """413 once the form's text fields hold more than ``max_text_total`` bytes."""
        if total > self.max_text_total:
            raise PayloadTooLarge(
                f"The form's text fields exceed {self.max_text_total} bytes in total"
            )


#: The last frozen app settings seen, with their limits: an identity check is cheaper than
#: hashing the settings for ``lru_cache`` (3.2k instructions per request).
_last_limits: tuple[Any, FormLimits] | None = None


def default_limits(settings: Any) -> FormLimits:
    """The limits of an app's settings: computed once per frozen settings object (the
    kernel's), per request for anything else (a foreign app's settings may change)."""
    global _last_limits
    last = _last_limits
    if last is not None and last[0] is settings:
        return last[1]
    limits = FormLimits(settings, {})
    params = getattr(type(settings), "__dataclass_params__", None)
    if settings is None or getattr(params, "frozen", False):
        _last_limits = (settings, limits)
    return limits


def decode_text(raw: bytes, charset: str, what: str) -> str:
    try:
        return raw.decode(charset)
    except LookupError:
        raise RequestError(f"{what}: unknown charset {charset!r}") from None
    except ValueError:  # any UnicodeError: codecs like "undefined" raise the base class
        raise RequestError(f"{what} is not valid {charset}") from None
