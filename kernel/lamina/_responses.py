"""Responses: a status, headers and a body, sent as ASGI messages.

Headers are validated and encoded once, when the response is built (a value with CR, LF or
NUL is a ``ValueError`` there, so no header injection can reach the wire); ``__call__`` only
sends. ``FileResponse`` lives in :mod:`lamina._files`.

Every response has a ``background`` slot: an async callable run after the body is sent. If
a plugin put a spawner on the scope (``scope["lamina.spawn"]``, the background plugin does),
the work is handed to it instead of being awaited in the request task.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, AsyncIterable, Awaitable, Callable, Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any, Literal
from urllib.parse import quote

import anyio
import anyio.to_thread
from anyio.lowlevel import checkpoint

from ._cookies import build_set_cookie
from ._datastructures import URL, MutableHeaders
from ._requests import ClientDisconnect
from ._scopekeys import (
    BODY_DONE_KEY,
    CLEANUP_KEY,
    FAILED_AFTER_START_KEY,
    STREAMED_KEY,
    run_cleanups,
)
from .types import Message, Receive, Scope, Send

__all__ = [
    "HTMLResponse",
    "JSONResponse",
    "PlainTextResponse",
    "RedirectResponse",
    "Response",
    "StreamingResponse",
]

Background = Callable[[], Awaitable[Any]]
#: Extra headers: a mapping, or ``(name, value)`` pairs when a name repeats (``Link``).
HeadersArg = Mapping[str, str] | Iterable[tuple[str, str]] | None
#: Scope key under which a plugin (lamina-background) offers to own background work.
SPAWN_KEY = "lamina.spawn"

_FORBIDDEN = frozenset("\r\n\x00")
#: Characters a header name may not contain (RFC 9110 token); checked once per header.
_NAME_FORBIDDEN = frozenset('\r\n\x00 \t:"(),/;<=>?@[\\]{}')


def _check(name: str, value: str) -> str:
    """Refuse a header value that would split the header (CR, LF) or end C strings (NUL)."""
    if "\r" in value or "\n" in value or "\x00" in value:
        raise ValueError(
            f"header {name!r} value {value!r} contains CR, LF or NUL: refusing a header injection"
        )
    return value


def _check_name(name: str) -> str:
    if not name or not _NAME_FORBIDDEN.isdisjoint(name):
        raise ValueError(f"invalid header name {name!r}")
    return name


async def run_background(scope: Scope, background: Background) -> None:
    """Run a response's background work, or hand it to the spawner a plugin installed.

    Handed to a spawner, the work outlives the request; so do the request's cleanups (the
    form and its uploads): they move to the end of the work, so a background task can still
    read an upload, as it can when it runs inline.
    """
    spawn = scope.get(SPAWN_KEY)
    if spawn is None:
        await background()
        return
    cleanups = scope.pop(CLEANUP_KEY, None)
    if not cleanups:
        spawn(background)
        return
    try:
        spawn(_ThenCleanup(background, cleanups))
    except BaseException:
        scope[CLEANUP_KEY] = cleanups  # not handed over: the request still owns them
        raise


class _ThenCleanup:
    """Background work followed by the cleanups of the request that spawned it."""

    __slots__ = ("cleanups", "work")

    def __init__(self, work: Background, cleanups: list[Callable[[], Awaitable[Any]]]) -> None:
        self.work = work
        self.cleanups = cleanups

    async def __call__(self) -> None:
        try:
            await self.work()
        finally:
            await run_cleanups({CLEANUP_KEY: self.cleanups})  # each shields what needs it

    def __repr__(self) -> str:
        return repr(self.work)  # what the spawner logs is the user's work


#: (media type, charset) -> the header; a None media type is never a key, so it misses.
_TYPE_HEADERS: dict[tuple[str | None, str], tuple[bytes, bytes]] = {}


def _type_header(media_type: str, charset: str) -> tuple[bytes, bytes]:
    """The encoded ``Content-Type`` header, computed once per (media type, charset)."""
    header = _TYPE_HEADERS.get((media_type, charset))
    if header is None:
        mt = media_type
        if mt.startswith("text/") and "charset=" not in mt:
            mt = f"{mt}; charset={charset}"
        header = (b"content-type", _check("content-type", mt).encode("latin-1"))
        if len(_TYPE_HEADERS) < 256:  # media types are few; never let input grow this
            _TYPE_HEADERS[(media_type, charset)] = header
    return header


def _no_body_status(status: int) -> bool:
    return status < 200 or status == 204 or status == 304


class Response:
    """A complete body sent in one message.

    ``content`` is bytes, str (encoded with ``charset``) or None; subclasses override
    ``render``. ``Content-Length`` and ``Content-Type`` (with ``charset`` for ``text/*``) are
    added unless ``headers`` sets them.
    """

    media_type: str | None = None
    charset = "utf-8"

    def __init__(
        self,
        content: Any = None,
        status_code: int = 200,
        headers: HeadersArg = None,
        media_type: str | None = None,
        background: Background | None = None,
    ) -> None:
        self.status_code = status_code
        if media_type is not None:
            self.media_type = media_type
        self.background = background
        if type(content) is str and type(self).render is _render_text:
            # render() inlined for text (callgrind, bench plaintext: -0.5k instructions)
            body = self.body = content.encode(self.charset)
        else:
            body = self.body = self.render(content)
        if headers is None and status_code >= 200 and status_code != 204 and status_code != 304:
            # The common response (no headers of its own, a status with a body, a media type
            # seen before) lists its two headers here: -1.1k instructions per request against
            # _init_headers (callgrind, bench plaintext).
            type_header = _TYPE_HEADERS.get((self.media_type, self.charset))
            if type_header is not None:
                self.raw_headers = [(b"content-length", str(len(body)).encode()), type_header]
                return
        self.raw_headers = self._init_headers(headers)

    def render(self, content: Any) -> bytes:
        if content is None:
            return b""
        if isinstance(content, bytes):
            return content
        if isinstance(content, str):
            return content.encode(self.charset)
        if isinstance(content, (bytearray, memoryview)):
            return bytes(content)
        raise TypeError(
            f"{type(self).__name__} content must be bytes or str, not {type(content).__name__}"
            " (use JSONResponse for data)"
        )

    def _init_headers(self, headers: HeadersArg) -> list[tuple[bytes, bytes]]:
        raw: list[tuple[bytes, bytes]] = []
        has_length = has_type = False
        if headers:
            for k, v in headers.items() if isinstance(headers, Mapping) else headers:
                lk = _check_name(k).lower()
                raw.append((lk.encode("latin-1"), _check(k, v).encode("latin-1")))
                if lk == "content-length":
                    has_length = True
                elif lk == "content-type":
                    has_type = True
        body = getattr(self, "body", None)
        if body is not None and not has_length and not _no_body_status(self.status_code):
            raw.append((b"content-length", str(len(body)).encode()))
        if self.media_type is not None and not has_type:
            raw.append(_type_header(self.media_type, self.charset))
        return raw

    @property
    def headers(self) -> MutableHeaders:
        """A mutable view over ``raw_headers`` (changes are sent)."""
        return MutableHeaders(raw=self.raw_headers)

    def set_cookie(
        self,
        key: str,
        value: str = "",
        max_age: int | timedelta | None = None,
        expires: datetime | str | int | None = None,
        path: str | None = "/",
        domain: str | None = None,
        secure: bool = False,
        httponly: bool = False,
        samesite: Literal["lax", "strict", "none"] | None = "lax",
        partitioned: bool = False,
    ) -> None:
        """Add a ``Set-Cookie`` header (RFC 6265 plus ``Partitioned``/CHIPS).

        The value is sent as is when it is a plain cookie-octet string, else quoted with
        octal escapes (the form ``SimpleCookie`` and :func:`lamina._requests.parse_cookie_header`
        read back), so any text round-trips. CR, LF and NUL anywhere, and ``;`` in the name,
        path or domain, are a ``ValueError``. ``samesite="none"`` and ``partitioned`` imply
        ``Secure`` (browsers drop such cookies otherwise). ``expires`` is a datetime (naive
        means UTC), a number of seconds from now, or a preformatted string.
        """
        header = build_set_cookie(
            key,
            value,
            max_age=max_age,
            expires=expires,
            path=path,
            domain=domain,
            secure=secure,
            httponly=httponly,
            samesite=samesite,
            partitioned=partitioned,
        )
        self.raw_headers.append((b"set-cookie", header.encode("latin-1")))

    def delete_cookie(
        self,
        key: str,
        path: str = "/",
        domain: str | None = None,
        secure: bool = False,
        httponly: bool = False,
        samesite: Literal["lax", "strict", "none"] | None = "lax",
        partitioned: bool = False,
    ) -> None:
        """Expire the cookie now; pass the same path/domain/partitioned it was set with."""
        self.set_cookie(
            key,
            "",
            max_age=0,
            expires="Thu, 01 Jan 1970 00:00:00 GMT",
            path=path,
            domain=domain,
            secure=secure,
            httponly=httponly,
            samesite=samesite,
            partitioned=partitioned,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            # decided before the start goes out: nothing between the two sends can fail,
            # so a response is sent whole or not at all (even for a scope with no method)
            body = b"" if scope.get("method") == "HEAD" else self.body
            start_type, body_type = _HTTP_MESSAGES
        else:  # a WebSocket handshake denied with an HTTP response (ASGI extension)
            body = self.body
            start_type, body_type = _DENIAL_MESSAGES
        start = {"type": start_type, "status": self.status_code, "headers": self.raw_headers}
        try:
            await send(start)
            await send({"type": body_type, "body": body})
            if self.background is not None:
                await run_background(scope, self.background)
        except Exception as exc:
            # the start went out: the error layers must not answer (FAILED_AFTER_START_KEY)
            scope[FAILED_AFTER_START_KEY] = exc
            raise


_HTTP_MESSAGES = ("http.response.start", "http.response.body")
_DENIAL_MESSAGES = ("websocket.http.response.start", "websocket.http.response.body")


_render_text = Response.render


# --------------------------------------------------------------------------- subclasses
class PlainTextResponse(Response):
    media_type = "text/plain"


class HTMLResponse(Response):
    media_type = "text/html"


class JSONResponse(Response):
    """JSON with no spaces and UTF-8 kept as is; NaN and Infinity are refused."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        if _encode_json is not None:
            try:
                return "".join(_encode_json(content, 0)).encode("utf-8")
            except RecursionError:
                pass  # a circular structure: let json.dumps say so
        return json.dumps(
            content, ensure_ascii=False, allow_nan=False, separators=(",", ":")
        ).encode("utf-8")


def _json_default(value: Any) -> Any:
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


# json.dumps with non-default options builds a new encoder on every call (~1.5 us); the C
# encoder built once does the same work, so a JSON response costs a third of it. No
# circular-reference markers (they would be shared between threads); a cycle ends in
# RecursionError, and render() then lets json.dumps produce its usual error.
_encode_json: Callable[[Any, int], Any] | None = (
    json.encoder.c_make_encoder(  # type: ignore[attr-defined]  # C accelerator, not in typeshed
        None,
        _json_default,
        json.encoder.encode_basestring,
        None,
        ":",
        ",",
        False,
        False,
        False,
    )
    if getattr(json.encoder, "c_make_encoder", None) is not None
    else None
)


class RedirectResponse(Response):
    """A redirect (307 by default) to ``url``, percent-encoding what a URL cannot hold.

    CR and LF are encoded, never sent, so a redirect target taken from user input cannot
    inject headers; it can still point anywhere, so validate open redirects yourself.
    """

    def __init__(
        self,
        url: str | URL,
        status_code: int = 307,
        headers: HeadersArg = None,
        background: Background | None = None,
    ) -> None:
        super().__init__(b"", status_code=status_code, headers=headers, background=background)
        location = quote(str(url), safe=":/%#?=@[]!$&'()*+,;~")
        self.raw_headers.append((b"location", _check("location", location).encode("latin-1")))


ContentStream = AsyncIterable[str | bytes] | Iterable[str | bytes]


class StreamingResponse(Response):
    """A body produced by an iterator; sync iterators are advanced in a worker thread.

    Between two chunks of an async iterator the event loop gets a turn, so a producer that
    never awaits cannot starve other requests or hide the client's disconnect (a sync
    iterator is stepped in a thread, which is a turn already).

    Between two chunks of an async iterator the event loop gets a turn, so a producer that
    never awaits cannot starve other requests or hide the client's disconnect (a sync
    iterator is stepped in a thread, which is a turn already).

    The stream stops as soon as the client disconnects: a task watches ``receive`` for
    ``http.disconnect`` (unless the iterator itself is streaming the request body, which
    needs ``receive``), and an ``OSError`` from ``send`` (what ASGI 2.4 servers raise after a
    disconnect) ends it quietly too. The iterator is closed either way, so its ``finally``
    blocks run; ``background`` still runs.
    """

    def __init__(
        self,
        content: ContentStream,
        status_code: int = 200,
        headers: HeadersArg = None,
        media_type: str | None = None,
        background: Background | None = None,
    ) -> None:
        self.body_iterator = content
        self.status_code = status_code
        if media_type is not None:
            self.media_type = media_type
        self.background = background
        self.raw_headers = self._init_headers(headers)

    async def _iterate(self) -> AsyncGenerator[str | bytes, None]:
        content = self.body_iterator
        if hasattr(content, "__aiter__"):
            try:
                async for chunk in content:
                    yield chunk
                    # A turn for the event loop between chunks: a generator that never
                    # awaits, sent to a server whose ``send`` does not wait either, would
                    # otherwise hold the worker (no other request, no disconnect, no
                    # SIGTERM) for as long as it produces. Costs one loop pass per chunk.
                    await checkpoint()
            finally:
                await self._close_iterator()
            return
        iterator = iter(content)
        sentinel = object()
        try:
            while True:
                chunk = await anyio.to_thread.run_sync(next, iterator, sentinel)
                if chunk is sentinel:
                    return
                yield chunk
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:
                close()

    async def _close_iterator(self) -> None:
        aclose = getattr(self.body_iterator, "aclose", None)
        if aclose is not None:
            with anyio.CancelScope(shield=True):
                await aclose()
        else:
            close = getattr(self.body_iterator, "close", None)
            if close is not None:
                close()

    async def _stream(self, send: Send) -> None:
        charset = self.charset
        chunks = self._iterate()
        try:
            async for chunk in chunks:
                if isinstance(chunk, str):
                    chunk = chunk.encode(charset)
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        finally:
            with anyio.CancelScope(shield=True):
                await chunks.aclose()
        await send({"type": "http.response.body", "body": b""})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await send(
                {
                    "type": "http.response.start",
                    "status": self.status_code,
                    "headers": self.raw_headers,
                }
            )
            if scope.get("method") == "HEAD":
                await send({"type": "http.response.body", "body": b""})
            elif scope.get(STREAMED_KEY) and not scope.get(BODY_DONE_KEY):
                await self._stream(send)  # the iterator reads the body: receive is its own
            else:
                error: Exception | None = None
                async with anyio.create_task_group() as tg:
                    tg.start_soon(_cancel_on_disconnect, receive, tg.cancel_scope)
                    try:
                        await self._stream(send)
                    except Exception as exc:  # re-raised below, not as an ExceptionGroup
                        error = exc
                    tg.cancel_scope.cancel()
                if error is not None:
                    raise error
        except (OSError, ClientDisconnect):
            pass  # the client went away; nothing left to send it
        finally:
            await self._close_iterator()  # idempotent; covers a stream that never started
        if self.background is not None:
            await run_background(scope, self.background)


async def _cancel_on_disconnect(receive: Receive, cancel_scope: anyio.CancelScope) -> None:
    try:
        while True:
            message: Message = await receive()
            if message.get("type") == "http.disconnect":  # anything else: keep watching
                break
    except Exception:  # a receive channel that fails is a client we can no longer reach
        pass
    cancel_scope.cancel()
