"""Responses: a status, headers and a body, sent as ASGI messages.

Headers are encoded once, when the response is built; ``__call__`` only sends.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterable, Awaitable, Callable, Iterable, Mapping
from datetime import datetime
from email.utils import format_datetime
from typing import Any, Literal
from urllib.parse import quote

import anyio

from .datastructures import URL, MutableHeaders
from .types import Receive, Scope, Send

__all__ = [
    "HTMLResponse",
    "JSONResponse",
    "PlainTextResponse",
    "RedirectResponse",
    "Response",
    "StreamingResponse",
]

Background = Callable[[], Awaitable[Any]]
#: Scope key under which a plugin (lamina-background) offers to own background work.
SPAWN_KEY = "lamina.spawn"


def _check(name: str, value: str) -> str:
    if "\r" in value or "\n" in value or "\x00" in value:
        raise ValueError(f"header {name!r} contains CR, LF or NUL: refusing a header injection")
    return value


async def run_background(scope: Scope, background: Background) -> None:
    spawn = scope.get(SPAWN_KEY)
    if spawn is None:
        await background()
    else:
        spawn(background)


class Response:
    """A complete body sent in one message."""

    media_type: str | None = None
    charset = "utf-8"

    def __init__(
        self,
        content: Any = None,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        media_type: str | None = None,
        background: Background | None = None,
    ) -> None:
        self.status_code = status_code
        if media_type is not None:
            self.media_type = media_type
        self.background = background
        self.body = self.render(content)
        self.raw_headers = self._init_headers(headers)

    def render(self, content: Any) -> bytes:
        if content is None:
            return b""
        if isinstance(content, (bytes, memoryview)):
            return bytes(content)
        return content.encode(self.charset)  # type: ignore[no-any-return]

    def _init_headers(self, headers: Mapping[str, str] | None) -> list[tuple[bytes, bytes]]:
        raw: list[tuple[bytes, bytes]] = []
        has_length = has_type = False
        if headers:
            for k, v in headers.items():
                lk = k.lower()
                raw.append((lk.encode("latin-1"), _check(k, v).encode("latin-1")))
                has_length = has_length or lk == "content-length"
                has_type = has_type or lk == "content-type"
        body = getattr(self, "body", None)
        if body is not None and not has_length and not (
            self.status_code < 200 or self.status_code in (204, 304)
        ):
            raw.append((b"content-length", str(len(body)).encode()))
        mt = self.media_type
        if mt is not None and not has_type:
            if mt.startswith("text/") and "charset=" not in mt:
                mt = f"{mt}; charset={self.charset}"
            raw.append((b"content-type", mt.encode("latin-1")))
        return raw

    @property
    def headers(self) -> MutableHeaders:
        return MutableHeaders(raw=self.raw_headers)

    def set_cookie(
        self,
        key: str,
        value: str = "",
        max_age: int | None = None,
        expires: datetime | str | int | None = None,
        path: str | None = "/",
        domain: str | None = None,
        secure: bool = False,
        httponly: bool = False,
        samesite: Literal["lax", "strict", "none"] | None = "lax",
        partitioned: bool = False,
    ) -> None:
        """Add a ``Set-Cookie`` header; CR, LF, NUL and ``;`` in names or values are refused."""
        for part_name, part in (("name", key), ("value", value), ("path", path or ""),
                                ("domain", domain or "")):
            if any(c in part for c in "\r\n\x00;"):
                raise ValueError(f"cookie {part_name} {part!r} contains a forbidden character")
        if not key or any(c in key for c in ' \t",=()<>@:/[]?{}\\'):
            raise ValueError(f"invalid cookie name {key!r}")
        quoted = value
        if any(c in value for c in ' ",\\') or any(ord(c) < 0x21 or ord(c) > 0x7E for c in value):
            quoted = '"' + "".join(f"\\{oct(ord(c))[2:]:0>3}" if (ord(c) < 0x20 or ord(c) > 0x7E or c in '"\\') else c for c in value) + '"'
        parts = [f"{key}={quoted}"]
        if max_age is not None:
            parts.append(f"Max-Age={int(max_age)}")
        if expires is not None:
            if isinstance(expires, datetime):
                parts.append(f"Expires={format_datetime(expires, usegmt=True)}")
            elif isinstance(expires, int):
                from email.utils import formatdate

                import time as _time

                parts.append(f"Expires={formatdate(_time.time() + expires, usegmt=True)}")
            else:
                _check("expires", expires)
                parts.append(f"Expires={expires}")
        if path is not None:
            parts.append(f"Path={path}")
        if domain is not None:
            parts.append(f"Domain={domain}")
        if secure or partitioned or samesite == "none":
            parts.append("Secure")
        if httponly:
            parts.append("HttpOnly")
        if samesite is not None:
            if samesite.lower() not in ("lax", "strict", "none"):
                raise ValueError("samesite must be 'lax', 'strict' or 'none'")
            parts.append(f"SameSite={samesite.capitalize()}")
        if partitioned:
            parts.append("Partitioned")
        self.raw_headers.append((b"set-cookie", "; ".join(parts).encode("latin-1")))

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
        self.set_cookie(
            key, "", max_age=0, expires="Thu, 01 Jan 1970 00:00:00 GMT", path=path,
            domain=domain, secure=secure, httponly=httponly, samesite=samesite,
            partitioned=partitioned,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status_code,
                    "headers": self.raw_headers})
        if scope.get("method") == "HEAD":
            await send({"type": "http.response.body", "body": b""})
        else:
            await send({"type": "http.response.body", "body": self.body})
        if self.background is not None:
            await run_background(scope, self.background)


class PlainTextResponse(Response):
    media_type = "text/plain"


class HTMLResponse(Response):
    media_type = "text/html"


class JSONResponse(Response):
    """JSON with no spaces and UTF-8 kept as is; NaN and Infinity are refused."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return json.dumps(
            content, ensure_ascii=False, allow_nan=False, separators=(",", ":")
        ).encode("utf-8")


class RedirectResponse(Response):
    def __init__(
        self,
        url: str | URL,
        status_code: int = 307,
        headers: Mapping[str, str] | None = None,
        background: Background | None = None,
    ) -> None:
        super().__init__(b"", status_code=status_code, headers=headers, background=background)
        location = quote(str(url), safe=":/%#?=@[]!$&'()*+,;~")
        self.raw_headers.append((b"location", _check("location", location).encode("latin-1")))


ContentStream = AsyncIterable[str | bytes] | Iterable[str | bytes]


class StreamingResponse(Response):
    """A body produced by an iterator; sync iterators run in a worker thread.

    The stream stops as soon as the client disconnects.
    """

    def __init__(
        self,
        content: ContentStream,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        media_type: str | None = None,
        background: Background | None = None,
    ) -> None:
        self.body_iterator = content
        self.status_code = status_code
        if media_type is not None:
            self.media_type = media_type
        self.background = background
        self.raw_headers = self._init_headers(headers)

    async def _iterate(self) -> AsyncIterable[str | bytes]:
        content = self.body_iterator
        if hasattr(content, "__aiter__"):
            async for chunk in content:  # type: ignore[union-attr]
                yield chunk
            return
        iterator = iter(content)  # type: ignore[arg-type]
        sentinel = object()
        while True:
            chunk = await anyio.to_thread.run_sync(next, iterator, sentinel)
            if chunk is sentinel:
                return
            yield chunk  # type: ignore[misc]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status_code,
                    "headers": self.raw_headers})
        if scope.get("method") == "HEAD":
            await send({"type": "http.response.body", "body": b""})
        else:
            async with anyio.create_task_group() as tg:

                async def watch_disconnect() -> None:
                    while True:
                        message = await receive()
                        if message["type"] == "http.disconnect":
                            tg.cancel_scope.cancel()
                            return

                tg.start_soon(watch_disconnect)
                charset = self.charset
                async for chunk in self._iterate():
                    if not isinstance(chunk, (bytes, memoryview)):
                        chunk = chunk.encode(charset)
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
                await send({"type": "http.response.body", "body": b""})
                tg.cancel_scope.cancel()
        if self.background is not None:
            await run_background(scope, self.background)
