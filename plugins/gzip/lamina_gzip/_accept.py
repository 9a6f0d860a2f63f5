"""``Accept-Encoding`` parsing (RFC 9110, section 12.5.3), memoised per header value.

Clients send a handful of distinct ``Accept-Encoding`` values, so the answer for each raw
value is cached (bounded) and a request costs one dict lookup.
"""

from __future__ import annotations

__all__ = ["accepts_gzip"]

_CACHE: dict[bytes, bool] = {}
_CACHE_LIMIT = 512


def _parse(raw: bytes) -> bool:
    gzip_q: float | None = None
    star_q: float | None = None
    for item in raw.decode("latin-1").split(","):
        coding, _, params = item.partition(";")
        coding = coding.strip().lower()
        if not coding:
            continue
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value.strip())
                except ValueError:
                    q = 0.0  # a malformed weight grants nothing
                if not 0.0 <= q <= 1.0:
                    q = 0.0
        if coding in ("gzip", "x-gzip"):
            gzip_q = q if gzip_q is None else max(gzip_q, q)
        elif coding == "*":
            star_q = q
    if gzip_q is not None:
        return gzip_q > 0
    return star_q is not None and star_q > 0


def accepts_gzip(raw: bytes) -> bool:
    """Whether ``raw`` (an Accept-Encoding value) lets the server answer in gzip.

    ``gzip;q=0`` refuses gzip even when ``*`` would allow it; ``*`` with a positive weight
    allows gzip when gzip is not named.
    """
    try:
        return _CACHE[raw]
    except KeyError:
        pass
    result = _parse(raw)
    if len(_CACHE) >= _CACHE_LIMIT:
        _CACHE.clear()
    _CACHE[raw] = result
    return result
