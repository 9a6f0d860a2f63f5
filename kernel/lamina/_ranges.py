"""Pure parsers for byte ranges and validators (RFC 9110 sections 8.8, 13 and 14).

Nothing here touches the file system or the network, so every function can be fuzzed. The
parsers never raise on input from a client: a malformed header is reported as "ignore it",
which is what RFC 9110 asks of a server for ``Range`` (answer 200 with the whole file).

Why the limits: a ``Range`` header is attacker-controlled. Thousands of tiny or overlapping
ranges can make a server produce a response many times larger than the file and burn CPU on
part headers; numbers with thousands of digits make ``int()`` slow (or raise, since Python
3.11 caps digit strings). So a header with more than ``max_ranges`` specs is ignored, numbers
longer than 18 digits are read as "larger than any file" without converting them, and
overlapping or adjacent ranges are coalesced, which keeps the response no larger than the
file plus one small header per part.
"""

from __future__ import annotations

import re
from calendar import timegm
from email.utils import parsedate_tz

__all__ = [
    "MAX_RANGES",
    "etag_matches_strong",
    "etag_matches_weak",
    "parse_etag_list",
    "parse_http_date",
    "parse_range",
]

#: Default cap on the number of range specs in one ``Range`` header.
MAX_RANGES = 100
#: A number with more digits than this is treated as larger than any file.
_MAX_DIGITS = 18
_HUGE: int = 10**_MAX_DIGITS
_OWS = " \t"


def _to_int(text: str) -> int | None:
    """Parse ``1*DIGIT`` without ever calling ``int`` on a long string; ``None`` if invalid."""
    if not text or not text.isascii() or not text.isdigit():
        return None
    stripped = text.lstrip("0")
    if len(stripped) > _MAX_DIGITS:
        return _HUGE
    return int(stripped) if stripped else 0


def parse_range(
    value: str, size: int, max_ranges: int = MAX_RANGES
) -> list[tuple[int, int]] | None:
    """Resolve a ``Range`` header against a representation of ``size`` bytes.

    Returns ``None`` when the header must be ignored (not the ``bytes`` unit, bad syntax,
    more than ``max_ranges`` specs): the caller answers 200 with the whole content. Returns
    an empty list when the header is valid but no range is satisfiable (answer 416). Otherwise
    returns half-open ``(start, stop)`` pairs with ``0 <= start < stop <= size``, sorted, with
    overlapping and adjacent ranges merged (RFC 9110 section 14.6 allows coalescing).
    """
    unit, eq, range_set = value.partition("=")
    if not eq or unit.strip(_OWS).lower() != "bytes":
        return None
    if range_set.count(",") >= max_ranges * 2:
        # Far too many specs, even allowing for empty list elements: ignore it outright
        # rather than split a huge header.
        return None
    specs = range_set.split(",")
    ranges: list[tuple[int, int]] = []
    count = 0
    for raw in specs:
        spec = raw.strip(_OWS)
        if not spec:
            continue  # RFC 9110 5.6.1: empty list elements are allowed and ignored.
        count += 1
        if count > max_ranges:
            return None
        first_text, dash, last_text = spec.partition("-")
        if not dash:
            return None
        if not first_text:
            # suffix-range: the last N bytes.
            length = _to_int(last_text)
            if length is None:
                return None
            if length > 0 and size > 0:
                ranges.append((max(size - length, 0), size))
            continue
        first = _to_int(first_text)
        if first is None:
            return None
        if last_text:
            last = _to_int(last_text)
            if last is None or last < first:
                return None
            stop = min(last + 1, size)
        else:
            stop = size
        if first < size:
            ranges.append((first, stop))
    if count == 0:
        return None
    if len(ranges) <= 1:
        return ranges
    ranges.sort()
    merged = [ranges[0]]
    for start, stop in ranges[1:]:
        last_start, last_stop = merged[-1]
        if start <= last_stop:
            if stop > last_stop:
                merged[-1] = (last_start, stop)
        else:
            merged.append((start, stop))
    return merged


# ------------------------------------------------------------------------------ validators
_ETAG = re.compile(r'[ \t]*(W/)?("[^"]*")[ \t]*(?:,|$)')


def parse_etag_list(value: str) -> list[tuple[bool, str]] | None:
    """Parse ``If-Match`` / ``If-None-Match``: ``*`` gives ``None``, else ``(weak, opaque)``.

    Malformed members are skipped (a member that cannot be parsed cannot match). The opaque
    tag keeps its quotes, so it compares directly with an ``ETag`` header value.
    """
    if value.strip(_OWS) == "*":
        return None
    tags: list[tuple[bool, str]] = []
    pos, end = 0, len(value)
    while pos < end:
        match = _ETAG.match(value, pos)
        if match is None:
            # Skip to the next comma and carry on: one bad member does not hide the rest.
            comma = value.find(",", pos)
            if comma < 0:
                break
            pos = comma + 1
            continue
        tags.append((match.group(1) is not None, match.group(2)))
        pos = match.end()
    return tags


def _split_tag(etag: str) -> tuple[bool, str]:
    if etag.startswith("W/"):
        return True, etag[2:]
    return False, etag


def etag_matches_weak(header: str, etag: str) -> bool:
    """``If-None-Match`` semantics: weak comparison, ``*`` matches any current ETag."""
    tags = parse_etag_list(header)
    if tags is None:
        return True
    opaque = _split_tag(etag)[1]
    return any(tag == opaque for _weak, tag in tags)


def etag_matches_strong(header: str, etag: str) -> bool:
    """``If-Match`` semantics: strong comparison (neither side weak), ``*`` matches any."""
    tags = parse_etag_list(header)
    if tags is None:
        return True
    weak, opaque = _split_tag(etag)
    if weak:
        return False
    return any(not tag_weak and tag == opaque for tag_weak, tag in tags)


def parse_http_date(value: str) -> int | None:
    """An HTTP-date (any of the three RFC 9110 formats) as a Unix timestamp; ``None`` if bad."""
    if len(value) > 64:
        return None
    try:
        parsed = parsedate_tz(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if parsed is None:
        return None
    year, month, day, hour, minute, second = parsed[:6]
    if not (
        1 <= month <= 12
        and 1 <= day <= 31
        and 0 <= hour < 24
        and 0 <= minute < 60
        and 0 <= second <= 60
        and 0 < year < 10000
    ):
        return None
    try:
        stamp = timegm((*parsed[:6], 0, 0, 0))
    except (TypeError, ValueError, OverflowError):
        return None
    offset = parsed[9] or 0
    return int(stamp - offset)
