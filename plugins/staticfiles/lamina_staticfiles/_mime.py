"""Content types by file suffix, cached: ``mimetypes`` is slow and platform-dependent.

The table pins the types that matter on the web (``mimetypes`` on some systems still says
``application/javascript`` or nothing at all for ``.wasm`` / ``.webmanifest``); the rest come
from ``mimetypes`` once per suffix. Text types get ``charset=utf-8``.
"""

from __future__ import annotations

import mimetypes

__all__ = ["content_type_for"]

_PINNED = {
    ".html": "text/html",
    ".htm": "text/html",
    ".css": "text/css",
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".json": "application/json",
    ".map": "application/json",
    ".webmanifest": "application/manifest+json",
    ".txt": "text/plain",
    ".md": "text/markdown",
    ".csv": "text/csv",
    ".xml": "text/xml",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".avif": "image/avif",
    ".ico": "image/vnd.microsoft.icon",
    ".wasm": "application/wasm",
    ".woff": "font/woff",
    ".woff2": "font/woff2",
    ".ttf": "font/ttf",
    ".otf": "font/otf",
    ".pdf": "application/pdf",
    ".zip": "application/zip",
    ".gz": "application/gzip",
    ".br": "application/octet-stream",
    ".mp4": "video/mp4",
    ".webm": "video/webm",
    ".mp3": "audio/mpeg",
}
_TEXTUAL = ("text/", "application/json", "application/manifest+json", "image/svg+xml")
_cache: dict[str, str] = {}


def _with_charset(media_type: str) -> str:
    if media_type.startswith(_TEXTUAL) and "charset=" not in media_type:
        return f"{media_type}; charset=utf-8"
    return media_type


def content_type_for(name: str) -> str:
    """The ``Content-Type`` for a file name, ``application/octet-stream`` when unknown."""
    dot = name.rfind(".")
    suffix = name[dot:].lower() if dot > name.rfind("/") else ""
    cached = _cache.get(suffix)
    if cached is not None:
        return cached
    media_type = _PINNED.get(suffix)
    if media_type is None:
        media_type = mimetypes.guess_type("f" + suffix)[0] if suffix else None
    result = _with_charset(media_type or "application/octet-stream")
    if len(_cache) < 1024:
        _cache[suffix] = result
    return result
