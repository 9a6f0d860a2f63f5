"""Trusted hosts: refuse requests whose ``Host`` is not one the app serves.

Guards against Host-header attacks (poisoned password-reset links, cache poisoning,
DNS rebinding). Plain ASGI middleware, usable in any ASGI app.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from lamina.plugin import ASGIApp, Receive, Scope, Send

__all__ = ["TrustedHostMiddleware", "parse_host"]

# A DNS name (labels of letters, digits, hyphens, underscores), IPv4, or bracketed IPv6.
_NAME = re.compile(
    r"^(\[[0-9a-f:.]+\]|[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?"
    r"(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*)$"
)
_BODY = b"Invalid host header"
#: 253 characters of DNS name (RFC 1035), a trailing dot, and ``:`` plus a 5-digit port.
_MAX_HOST = 253 + 1 + 6
_HEADERS = (
    (b"content-type", b"text/plain; charset=utf-8"),
    (b"content-length", str(len(_BODY)).encode()),
)


def parse_host(raw: bytes) -> str | None:
    """The lower-cased host name of a ``Host`` value without its port; ``None`` if invalid."""
    if len(raw) > _MAX_HOST:  # no DNS name is that long: refuse before any regex work
        return None
    try:
        value = raw.decode("ascii").strip().lower()
    except UnicodeDecodeError:
        return None
    if value.startswith("["):
        end = value.find("]")
        if end < 0:
            return None
        name, rest = value[: end + 1], value[end + 1 :]
    else:
        name, sep, port = value.partition(":")
        rest = ":" + port if sep else ""
    if rest and not (rest[0] == ":" and rest[1:].isdigit() and len(rest) <= 6):
        return None
    name = name.removesuffix(".")
    if not name or len(name) > 253 or not _NAME.match(name):
        return None
    return name


def _normalise_pattern(pattern: str) -> str:
    value = pattern.strip().lower().removesuffix(".")
    if value == "*":
        return value
    bare = value[2:] if value.startswith("*.") else value
    if not bare or not _NAME.match(bare):
        raise ValueError(
            f"invalid trusted host {pattern!r}: expected a host name, '*.domain' or '*'"
        )
    return value


class TrustedHostMiddleware:
    """Answer 400 unless ``Host`` is listed exactly or matches a ``*.domain`` wildcard.

    ``*.example.com`` matches every subdomain of ``example.com`` at any depth but not
    ``example.com`` itself (list it too). ``"*"`` allows any valid host. A missing,
    malformed or repeated ``Host`` is always refused with 400; a WebSocket handshake gets
    that 400 when the server supports the ``websocket.http.response`` extension, and a
    close (which the server answers with 403) otherwise.
    """

    __slots__ = ("allow_any", "app", "exact", "suffixes")

    #: It only awaits ``self.app(...)``: Lamina may hand it a plain callable returning an
    #: awaitable (one coroutine frame less per request; see lamina.plugin).
    lamina_accepts_plain_app = True

    def __init__(self, app: ASGIApp, allowed_hosts: Iterable[str]) -> None:
        self.app = app
        patterns = [_normalise_pattern(p) for p in allowed_hosts]
        if not patterns:
            raise ValueError("allowed_hosts is empty: every request would be refused")
        self.allow_any = "*" in patterns
        self.exact = frozenset(p for p in patterns if not p.startswith("*"))
        #: ".example.com" for "*.example.com": checked against each suffix of the host.
        self.suffixes = frozenset(p[1:] for p in patterns if p.startswith("*."))

    def is_allowed(self, raw: bytes) -> bool:
        host = parse_host(raw)
        if host is None:
            return False
        if self.allow_any or host in self.exact:
            return True
        if self.suffixes:
            dot = host.find(".")
            while dot >= 0:
                if host[dot:] in self.suffixes:
                    return True
                dot = host.find(".", dot + 1)
        return False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope_type = scope["type"]
        if scope_type != "http" and scope_type != "websocket":
            await self.app(scope, receive, send)
            return
        host = None
        for key, value in scope["headers"]:
            if key == b"host":
                if host is not None:  # RFC 9112 section 3.2: more than one Host is a 400
                    host = None
                    break
                host = value
        if host is not None and self.is_allowed(host):
            await self.app(scope, receive, send)
            return
        if scope_type == "websocket":
            if "websocket.http.response" in (scope.get("extensions") or ()):
                # The server lets us answer the handshake with a real HTTP response: 400.
                await send(
                    {
                        "type": "websocket.http.response.start",
                        "status": 400,
                        "headers": list(_HEADERS),
                    }
                )
                await send({"type": "websocket.http.response.body", "body": _BODY})
            else:
                await send({"type": "websocket.close", "code": 1008})
            return
        await send({"type": "http.response.start", "status": 400, "headers": list(_HEADERS)})
        await send({"type": "http.response.body", "body": _BODY})
