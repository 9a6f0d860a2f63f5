"""HTTPS redirect: send ``http`` requests to ``https`` and ``ws`` handshakes to ``wss``.

Plain ASGI middleware. Behind a TLS-terminating proxy the scheme the app sees must come from
the proxy (for uvicorn: ``--proxy-headers`` and ``--forwarded-allow-ips``), or every request
would look like plain HTTP and loop.

The ``Location`` host comes from ``Host`` read by the kernel's strict parser
(:func:`lamina.plugin.parse_authority`): a ``Host`` it refuses (``evil.example/x?``,
``a@evil.example``, a port out of range) gets 400, never a redirect, so no request can
steer the redirect to another site.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from lamina.plugin import ASGIApp, Authority, Receive, Scope, Send, parse_authority

from ._refuse import refuse

__all__ = ["HTTPSRedirectMiddleware"]

_SECURE = {"http": "https", "ws": "wss"}
_BODY = b"Invalid host header"
#: Characters a path from the scope may not carry into ``Location``.
_UNSAFE = str.maketrans("", "", "\r\n\x00")


class HTTPSRedirectMiddleware:
    """Redirect insecure requests to the same URL over TLS (``status_code`` 307 or 308).

    307 (the default) keeps the method and body and is not cached; 308 is permanent and
    browsers remember it. The port is dropped when it is a default one (80 or 443) and kept
    otherwise. WebSocket handshakes get the redirect when the server supports the
    ``websocket.http.response`` extension, and a policy close (403) otherwise.
    """

    __slots__ = ("app", "status_code")

    #: It only awaits ``self.app(...)``: Lamina may hand it a plain callable returning an
    #: awaitable (one coroutine frame less per request; see lamina.plugin).
    lamina_accepts_plain_app = True

    def __init__(self, app: ASGIApp, status_code: int = 307) -> None:
        if status_code not in (301, 302, 307, 308):
            raise ValueError(f"redirect status must be 307 or 308 (or 301/302), got {status_code}")
        self.app = app
        self.status_code = status_code

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        secure = _SECURE.get(scope.get("scheme", ""))
        if secure is None or scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        location = self.location(scope, secure)
        if location is None:
            await refuse(scope, send, 400, _BODY)
            return
        headers = [(b"location", location.encode("latin-1")), (b"content-length", b"0")]
        if scope["type"] == "http":
            await send(
                {"type": "http.response.start", "status": self.status_code, "headers": headers}
            )
            await send({"type": "http.response.body", "body": b""})
        elif "websocket.http.response" in (scope.get("extensions") or ()):
            await send(
                {
                    "type": "websocket.http.response.start",
                    "status": self.status_code,
                    "headers": headers,
                }
            )
            await send({"type": "websocket.http.response.body", "body": b""})
        else:
            await send({"type": "websocket.close", "code": 1008})

    @staticmethod
    def location(scope: Scope, secure: str) -> str | None:
        """The ``https``/``wss`` URL of this request; ``None`` when its ``Host`` is invalid."""
        authority: Authority | None = None
        for key, value in scope["headers"]:
            if key == b"host":
                authority = parse_authority(value)
                if authority is None:
                    return None
                break
        if authority is None:  # no Host at all (HTTP/1.0): the server's own address
            server = scope.get("server")
            authority = parse_authority(_server_authority(server)) if server else None
            if authority is None:
                authority = Authority("localhost", None)
        if authority.port in (80, 443):
            authority = Authority(authority.host, None)
        raw_path = scope.get("raw_path")
        path = raw_path.decode("latin-1") if raw_path else quote(scope.get("path", "/"))
        if not path.startswith("/"):
            path = "/" + path
        query = scope.get("query_string", b"")
        url = f"{secure}://{authority.netloc()}{path}"
        if query:
            url += "?" + query.decode("latin-1")
        return url.translate(_UNSAFE)


def _server_authority(server: Sequence[Any]) -> str:
    host, port = str(server[0]), server[1]
    host = f"[{host}]" if ":" in host else host
    return host if port is None else f"{host}:{port}"
