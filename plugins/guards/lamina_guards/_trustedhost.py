"""Trusted hosts: refuse requests whose ``Host`` is not one the app serves.

Guards against Host-header attacks (poisoned password-reset links, cache poisoning,
DNS rebinding). Plain ASGI middleware, usable in any ASGI app. ``Host`` is read with the
kernel's one strict parser (:func:`lamina.plugin.parse_authority`), the same one URL
building, host routing and the HTTPS redirect use.
"""

from __future__ import annotations

from collections.abc import Iterable

from lamina.plugin import ASGIApp, Receive, Scope, Send, parse_authority

from ._refuse import refuse

__all__ = ["TrustedHostMiddleware", "normalise_pattern"]

_BODY = b"Invalid host header"


def normalise_pattern(pattern: str) -> str:
    """``"Example.COM."`` -> ``"example.com"``; ``"*.x.org"`` and ``"*"`` kept; else ValueError."""
    value = pattern.strip()
    if value == "*":
        return value
    wildcard = value.startswith("*.")
    authority = parse_authority(value[2:] if wildcard else value)
    if authority is None or authority.port is not None:
        raise ValueError(
            f"invalid trusted host {pattern!r}: expected a host name, '*.domain' or '*'"
        )
    return "*." + authority.host if wildcard else authority.host


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
        patterns = [normalise_pattern(p) for p in allowed_hosts]
        if not patterns:
            raise ValueError("allowed_hosts is empty: every request would be refused")
        self.allow_any = "*" in patterns
        self.exact = frozenset(p for p in patterns if not p.startswith("*"))
        #: ".example.com" for "*.example.com": checked against each suffix of the host.
        self.suffixes = frozenset(p[1:] for p in patterns if p.startswith("*."))

    def is_allowed(self, raw: bytes) -> bool:
        authority = parse_authority(raw)
        if authority is None:
            return False
        host = authority.host
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
        await refuse(scope, send, 400, _BODY)
