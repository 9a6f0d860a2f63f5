"""Request hygiene: refuse oversized header sections and a missing or repeated ``Host``.

Some servers leave these to the app: uvicorn's default (httptools) parser serves a request
with a 1 MiB header, and HTTP/1.1 requests with no ``Host`` or with two. RFC 9112 section
3.2 asks for a 400 for the latter; a header section over a limit gets 431 (RFC 6585).
Plain ASGI middleware, usable in any ASGI app.

Why a plugin layer and not the kernel: the check has to look at every header of every
request, which costs 0.2-0.5 µs in CPython (``bench/hostile_bench.py``, in the peer harness), over
the kernel's per-request budget of 0.2 µs. The guards plugin turns it on by default.
"""

from __future__ import annotations

from lamina.plugin import ASGIApp, Receive, Scope, Send

from ._refuse import refuse

__all__ = ["DEFAULT_MAX_HEADER_SIZE", "RequestHygieneMiddleware"]

#: Total bytes of header names and values; browsers' largest cookie jars stay well under.
DEFAULT_MAX_HEADER_SIZE = 32 * 1024
_TOO_LARGE = b"Request header fields too large"
_NO_HOST = b"Missing Host header"
_TWO_HOSTS = b"More than one Host header"


class RequestHygieneMiddleware:
    """431 when the headers total more than ``max_header_size`` bytes (names and values);
    400 when an HTTP/1.1 request (or WebSocket handshake) has no ``Host`` or more than one.

    HTTP/2 and HTTP/3 requests carry ``:authority`` instead, which servers turn into ``Host``
    or leave out, so only the repeat is refused for them. A WebSocket handshake gets the
    same answers when the server supports ``websocket.http.response``, a 1008 close
    otherwise.
    """

    __slots__ = ("app", "max_header_size")
    #: Awaits ``app`` and nothing else: the kernel may hand it its plain fast-path callable.
    lamina_accepts_plain_app = True

    def __init__(self, app: ASGIApp, max_header_size: int = DEFAULT_MAX_HEADER_SIZE) -> None:
        if max_header_size < 1:
            raise ValueError(f"max_header_size must be 1 or more, got {max_header_size}")
        self.app = app
        self.max_header_size = max_header_size

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope_type = scope["type"]
        if scope_type != "http" and scope_type != "websocket":
            await self.app(scope, receive, send)
            return
        size = hosts = 0
        for key, value in scope["headers"]:
            size += len(key) + len(value)
            if key == b"host":
                hosts += 1
        if size > self.max_header_size:
            await refuse(scope, send, 431, _TOO_LARGE)
        elif hosts > 1:
            await refuse(scope, send, 400, _TWO_HOSTS)
        elif not hosts and scope.get("http_version", "1.1") == "1.1":
            await refuse(scope, send, 400, _NO_HOST)
        else:
            await self.app(scope, receive, send)
