"""The gzip middleware: plain ASGI, usable in any ASGI app.

The response start is held back until the first body message says how big the body is:

* one complete body below ``minimum_size`` goes out untouched;
* one complete body at or above it is compressed in one go (in a worker thread above
  ``thread_threshold``, so a large body never stalls the event loop) and gets a correct
  ``Content-Length``;
* a streamed body is compressed chunk by chunk, each chunk flushed (``Z_SYNC_FLUSH``) so the
  client sees it at once, and ``Content-Length`` is removed.

Responses the client did not ask to compress, responses already ``Content-Encoding``'d, 206
partial content, ``text/event-stream``, already-compressed media types and ``Cache-Control:
no-transform`` pass through untouched, without being held back.
"""

from __future__ import annotations

import zlib
from collections.abc import Awaitable, Iterable
from typing import Any

import anyio.to_thread
from lamina.plugin import ASGIApp, Message, Receive, Scope, Send

from ._accept import _CACHE as _ACCEPT_CACHE
from ._accept import accepts_gzip

__all__ = ["DEFAULT_EXCLUDED_MEDIA_TYPES", "GZipMiddleware"]

#: Media types that are already compressed (or must stream unbuffered) and are never gzipped.
DEFAULT_EXCLUDED_MEDIA_TYPES = (
    "text/event-stream",
    "image/*",
    "video/*",
    "audio/*",
    "font/woff",
    "font/woff2",
    "application/zip",
    "application/gzip",
    "application/x-gzip",
    "application/x-bzip2",
    "application/x-xz",
    "application/zstd",
    "application/x-7z-compressed",
    "application/x-rar-compressed",
    "application/vnd.rar",
    "application/pdf",
    "application/wasm",
    "application/octet-stream",
)
#: Excluded even when ``excluded_media_types`` leaves them out.
_ALWAYS_EXCLUDED = frozenset({b"text/event-stream"})
#: Exceptions to the ``image/*`` rule: text formats that compress well.
COMPRESSIBLE_IMAGES = frozenset(
    {b"image/svg+xml", b"image/bmp", b"image/x-icon", b"image/vnd.microsoft.icon"}
)

_MEDIA_CACHE_LIMIT = 256
#: No body, or a partial one: never compressed.
_NO_COMPRESS_STATUS = frozenset({204, 206, 304})

_WAIT, _HELD, _THROUGH, _STREAM = 0, 1, 2, 3


class GZipMiddleware:
    """Compress responses with gzip when the client accepts it and it pays off."""

    __slots__ = (
        "_media_cache",
        "_min_digits",
        "_min_text",
        "app",
        "excluded",
        "excluded_prefixes",
        "level",
        "minimum_size",
        "thread_threshold",
    )

    #: It only awaits ``self.app(...)``: Lamina may hand it a plain callable returning an
    #: awaitable (one coroutine frame less per request; see lamina.plugin).
    lamina_accepts_plain_app = True

    def __init__(
        self,
        app: ASGIApp,
        minimum_size: int = 500,
        level: int = 6,
        thread_threshold: int = 256 * 1024,
        excluded_media_types: Iterable[str] = DEFAULT_EXCLUDED_MEDIA_TYPES,
    ) -> None:
        if not 0 <= level <= 9:
            raise ValueError(f"gzip level must be between 0 and 9, got {level}")
        self.app = app
        self.minimum_size = max(0, int(minimum_size))
        #: ``minimum_size`` as ASCII digits: a Content-Length with fewer digits, or as
        #: many and sorting lower, is below it.
        self._min_text = str(self.minimum_size).encode()
        self._min_digits = len(self._min_text)
        self.level = level
        self.thread_threshold = int(thread_threshold)
        types = [t.strip().lower().encode("latin-1") for t in excluded_media_types]
        # Event streams must reach the client event by event: never compressed, whatever
        # the configured list says.
        self.excluded = frozenset(t for t in types if not t.endswith(b"/*")) | _ALWAYS_EXCLUDED
        self.excluded_prefixes = tuple(t[:-1] for t in types if t.endswith(b"/*"))
        #: Content-Type value -> excluded?; apps send a handful of distinct values.
        self._media_cache: dict[bytes, bool] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        accepted: bool | None = False
        if scope["type"] == "http":
            for key, value in scope["headers"]:
                if key == b"accept-encoding":
                    accepted = _ACCEPT_CACHE.get(value)  # the memo, without a call
                    if accepted is None:
                        accepted = accepts_gzip(value)
                    break
        if not accepted:
            await self.app(scope, receive, send)
            return
        # [state, held-back start, compressor]: what ``_deferred`` reads and updates
        box: list[Any] = [_WAIT, None, None]

        # The ``send`` the app gets: a plain function returning an awaitable. A message
        # passed through returns ``send(message)`` itself, so a response left alone (too
        # small, excluded, already encoded) costs no extra coroutine per message; only a
        # held-back start or a compressed body goes through ``_deferred``.
        def gzip_send(message: Message) -> Awaitable[None]:
            state = box[0]
            if state == _THROUGH:
                return send(message)
            if (
                state == _WAIT
                and message["type"] == "http.response.start"
                and (self._passes(message))
            ):
                box[0] = _THROUGH
                return send(message)
            return self._deferred(scope, send, box, message)

        await self.app(scope, receive, gzip_send)

    # ------------------------------------------------------------------ decisions
    def _passes(self, message: Message) -> bool:
        """Whether a response start is passed through untouched (else: decide on the body).

        Every early answer is "pass", so the first header that settles it ends the scan
        (a declared ``Content-Length`` below the minimum usually does, at once).
        """
        status = message["status"]
        if status < 200 or status in _NO_COMPRESS_STATUS:
            return True
        headers = message.get("headers", ())
        if type(headers) is not list:  # any iterable is valid ASGI; it is read twice
            headers = message["headers"] = list(headers)
        for key, value in headers:
            if key == b"content-length":
                # Plain digits compare as text when their count settles it (no int()).
                size = len(value)
                if (
                    size < self._min_digits or (size == self._min_digits and value < self._min_text)
                ) and value.isdigit():
                    return True
                try:
                    length = int(value)
                except ValueError:
                    return True
                if 0 <= length < self.minimum_size:
                    return True
            elif key == b"content-type":
                excluded = self._media_cache.get(value)
                if excluded is None:
                    excluded = self._excluded_media(value)
                if excluded:
                    return True
            elif key == b"content-encoding" or (
                key == b"cache-control" and b"no-transform" in value.lower()
            ):
                return True
        return False

    def _excluded_media(self, content_type: bytes) -> bool:
        """Whether a ``Content-Type`` value is never compressed; memoised (bounded)."""
        media = content_type.partition(b";")[0].strip().lower()
        excluded = media in self.excluded or (
            media.startswith(self.excluded_prefixes) and media not in COMPRESSIBLE_IMAGES
        )
        cache = self._media_cache
        if len(cache) >= _MEDIA_CACHE_LIMIT:
            cache.clear()
        cache[content_type] = excluded
        return excluded

    async def _compress(self, body: bytes) -> bytes:
        if len(body) >= self.thread_threshold:
            return await anyio.to_thread.run_sync(zlib.compress, body, self.level, 31)
        return zlib.compress(body, self.level, 31)

    # ------------------------------------------------------------------ per response
    async def _deferred(self, scope: Scope, send: Send, box: list[Any], message: Message) -> None:
        """Every message that is not a plain pass-through (see ``__call__``)."""
        mtype = message["type"]
        minimum = self.minimum_size
        threshold = self.thread_threshold
        if box[0] == _STREAM:
            if mtype != "http.response.body":
                await send(message)
                return
            compressor = box[2]
            body = message.get("body", b"")
            more = message.get("more_body", False)
            if body or not more:
                mode = zlib.Z_SYNC_FLUSH if more else zlib.Z_FINISH
                if len(body) >= threshold:
                    data = await anyio.to_thread.run_sync(_step, compressor, body, mode)
                else:
                    data = compressor.compress(body) + compressor.flush(mode)
                message["body"] = data
            await send(message)
            return
        if box[0] == _WAIT:  # nothing sent yet; gzip_send found the start worth holding
            if mtype != "http.response.start":
                await send(message)
                return
            if scope["method"] == "HEAD":
                # The body is empty; the headers still say what a GET would get when the
                # declared length makes that certain.
                box[0] = _THROUGH
                if _declared_length(message) >= minimum:
                    message["headers"] = _rewrite(message.get("headers", ()), None)
                await send(message)
                return
            box[0] = _HELD
            box[1] = message
            return
        start: Message = box[1]  # _HELD
        if mtype != "http.response.body":
            box[0] = _THROUGH
            await send(start)
            await send(message)
            return
        body = message.get("body", b"")
        if not message.get("more_body", False):
            box[0] = _THROUGH
            if len(body) < minimum:
                await send(start)
                await send(message)
                return
            data = await self._compress(body)
            start["headers"] = _rewrite(start.get("headers", ()), len(data))
            message["body"] = data
            await send(start)
            await send(message)
            return
        box[0] = _STREAM
        compressor = box[2] = zlib.compressobj(self.level, zlib.DEFLATED, 31)
        start["headers"] = _rewrite(start.get("headers", ()), None)
        await send(start)
        if len(body) >= threshold:
            data = await anyio.to_thread.run_sync(_step, compressor, body, zlib.Z_SYNC_FLUSH)
        else:
            data = compressor.compress(body) + compressor.flush(zlib.Z_SYNC_FLUSH)
        message["body"] = data
        await send(message)


def _step(compressor: zlib._Compress, body: bytes, mode: int) -> bytes:
    return compressor.compress(body) + compressor.flush(mode)


def _declared_length(message: Message) -> int:
    for key, value in message.get("headers", ()):
        if key == b"content-length":
            try:
                return int(value)
            except ValueError:
                return -1
    return -1


def _rewrite(
    headers: Iterable[tuple[bytes, bytes]], length: int | None
) -> list[tuple[bytes, bytes]]:
    """Headers of the gzipped response: a new list, never the app's (it may be reused)."""
    out = []
    for key, value in headers:
        if key == b"content-length":
            continue
        if key == b"etag" and not value.startswith(b"W/"):
            value = b"W/" + value  # the compressed bytes differ: a strong validator would lie
        out.append((key, value))
    out.append((b"content-encoding", b"gzip"))
    out.append((b"vary", b"Accept-Encoding"))
    if length is not None:
        out.append((b"content-length", str(length).encode()))
    return out
