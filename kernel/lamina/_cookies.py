"""The ``Set-Cookie`` header: names checked, values quoted, attributes validated.

Apart from the responses because it is a grammar of its own (RFC 6265 and the ``SameSite``
and ``Partitioned`` drafts) that any code writing a cookie needs, with or without a response.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, formatdate

__all__ = ["build_set_cookie"]

_CR_LF_NUL = frozenset("\r\n\x00")
_COOKIE_NAME_FORBIDDEN = frozenset(' \t",;=()<>@:/[]?{}\\')
_COOKIE_PLAIN = frozenset(chr(c) for c in range(0x21, 0x7F) if chr(c) not in '",;\\')


def _quote_cookie_value(value: str) -> str:
    if _COOKIE_PLAIN.issuperset(value):
        return value
    out = ['"']
    for byte in value.encode("utf-8"):
        ch = chr(byte)
        if ch in _COOKIE_PLAIN:
            out.append(ch)
        else:
            out.append(f"\\{byte:03o}")
    out.append('"')
    return "".join(out)


def _cookie_attr(what: str, value: str) -> str:
    if any(c in value for c in "\r\n\x00;") or any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        raise ValueError(f"cookie {what} {value!r} contains a forbidden character")
    value.encode("latin-1")
    return value


def build_set_cookie(
    key: str,
    value: str = "",
    *,
    max_age: int | timedelta | None = None,
    expires: datetime | str | int | None = None,
    path: str | None = "/",
    domain: str | None = None,
    secure: bool = False,
    httponly: bool = False,
    samesite: str | None = "lax",
    partitioned: bool = False,
) -> str:
    """The value of a ``Set-Cookie`` header; see ``Response.set_cookie``."""
    if (
        not key
        or not _COOKIE_NAME_FORBIDDEN.isdisjoint(key)
        or any(ord(c) < 0x21 or ord(c) > 0x7E for c in key)
    ):
        raise ValueError(f"invalid cookie name {key!r}")
    if not _CR_LF_NUL.isdisjoint(value):
        raise ValueError(f"cookie value {value!r} contains CR, LF or NUL")
    parts = [f"{key}={_quote_cookie_value(value)}"]
    if max_age is not None:
        if isinstance(max_age, timedelta):
            max_age = int(max_age.total_seconds())
        parts.append(f"Max-Age={int(max_age)}")
    if expires is not None:
        if isinstance(expires, datetime):
            if expires.tzinfo is None:
                expires = expires.replace(tzinfo=UTC)
            parts.append(f"Expires={format_datetime(expires.astimezone(UTC), usegmt=True)}")
        elif isinstance(expires, (int, float)):
            parts.append(f"Expires={formatdate(time.time() + expires, usegmt=True)}")
        else:
            parts.append(f"Expires={_cookie_attr('expires', expires)}")
    if path is not None:
        parts.append(f"Path={_cookie_attr('path', path)}")
    if domain is not None:
        parts.append(f"Domain={_cookie_attr('domain', domain)}")
    if samesite is not None:
        samesite = samesite.lower()
        if samesite not in ("lax", "strict", "none"):
            raise ValueError(f"samesite must be 'lax', 'strict' or 'none', not {samesite!r}")
    if secure or partitioned or samesite == "none":
        parts.append("Secure")
    if httponly:
        parts.append("HttpOnly")
    if samesite is not None:
        parts.append(f"SameSite={samesite.capitalize()}")
    if partitioned:
        parts.append("Partitioned")
    return "; ".join(parts)
