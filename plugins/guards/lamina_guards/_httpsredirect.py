"""HTTPS redirect: send ``http`` requests to ``https`` and ``ws`` handshakes to ``wss``.

Plain ASGI middleware. Behind a TLS-terminating proxy the scheme the app sees must come from
the proxy (for uvicorn: ``--proxy-headers`` and ``--forwarded-allow-ips``), or every request
would look like plain HTTP and loop.
"""

from __future__ import annotations

from urllib.parse import quote

from lamina.plugin import ASGIApp, Receive, Scope, Send

__all__ = ["HTTPSRedirectMiddleware"]

_SECURE = {"http": "https", "ws": "wss"}


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
        location = self.location(scope, secure).encode("latin-1")
        headers = [(b"location", location), (b"content-length", b"0")]
        if scope["type"] == "http":
            await send(
                {"type": "http.response.start", "status": self.status_code, "headers": headers}
            )
            await send({"type": "http.response.body", "body": b""})
        elif "websocket.http.response" in scope.get("extensions", {}):
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
    def location(scope: Scope, secure: str) -> str:
        host = ""
        for key, value in scope["headers"]:
            if key == b"host":
                host = value.decode("latin-1")
                break
        if not host:
            server = scope.get("server")
            host = f"{server[0]}:{server[1]}" if server else "localhost"
        name, port = host, None
        if host.startswith("["):
            end = host.find("]")
            name, rest = host[: end + 1], host[end + 1 :]
            port = rest[1:] if rest.startswith(":") else None
        elif ":" in host:
            name, _, port = host.rpartition(":")
        if port is not None and (not port.isdigit() or int(port) in (80, 443)):
            port = None
        netloc = f"{name}:{port}" if port else name
        raw_path = scope.get("raw_path")
        path = raw_path.decode("latin-1") if raw_path else quote(scope.get("path", "/"))
        query = scope.get("query_string", b"")
        url = f"{secure}://{netloc}{path}"
        if query:
            url += "?" + query.decode("latin-1")
        for ch in "\r\n\x00":
            if ch in url:
                url = url.replace(ch, "")
        return url
