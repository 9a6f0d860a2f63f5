"""The authentication middleware: pure ASGI, sets ``scope["user"]`` and ``scope["auth"]``."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from lamina import HTTPConnection, PlainTextResponse, Response
from lamina.plugin import ASGIApp, Receive, Scope, Send

from ._backends import AuthenticationBackend, AuthenticationError
from ._types import AuthCredentials, UnauthenticatedUser

__all__ = ["CHALLENGES_KEY", "AuthMiddleware", "ErrorHandler"]

logger = logging.getLogger("lamina.auth")

#: Scope key holding the ``WWW-Authenticate`` challenges of the installed backends.
CHALLENGES_KEY = "lamina.auth.challenges"
ErrorHandler = Callable[[HTTPConnection, AuthenticationError], Response]


class AuthMiddleware:
    """Ask each backend in order; the first that recognises the connection wins.

    Nobody recognised: the anonymous user and empty credentials. A backend raising
    :class:`AuthenticationError`: ``on_error(connection, exc)`` answers (default: a plain
    ``error_status`` response with ``error_detail``; the exception text is only logged), and a
    WebSocket is refused before the handshake (with that response where the server supports
    the ``websocket.http.response`` extension, else closed with 1008). Any other exception
    from a backend is a bug and propagates (the kernel answers 500 without details unless
    debug is on).
    """

    #: It only awaits ``self.app(...)``: Lamina may hand it a plain callable returning an
    #: awaitable (one coroutine frame less per request; see lamina.plugin).
    lamina_accepts_plain_app = True

    def __init__(
        self,
        app: ASGIApp,
        *,
        backends: Sequence[AuthenticationBackend],
        on_error: ErrorHandler | None = None,
        error_status: int = 400,
        error_detail: str = "Invalid authentication credentials",
    ) -> None:
        self.app = app
        self.backends = tuple(backends)
        for backend in self.backends:
            if not callable(getattr(backend, "authenticate", None)):
                raise TypeError(f"{backend!r} has no authenticate(connection) method")
        self.challenges = tuple(
            c for c in (getattr(b, "www_authenticate", None) for b in self.backends) if c
        )
        self.on_error = on_error
        self.error_status = error_status
        self.error_detail = error_detail
        # A 401 must say how to authenticate (RFC 9110 §15.5.2): the backends' challenges.
        self._error_headers = (
            {"WWW-Authenticate": ", ".join(self.challenges)}
            if error_status == 401 and self.challenges
            else None
        )
        self._anonymous = UnauthenticatedUser()
        self._no_credentials = AuthCredentials()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope_type = scope["type"]
        if scope_type != "http" and scope_type != "websocket":
            await self.app(scope, receive, send)
            return
        if not self.backends:
            scope["auth"], scope["user"] = self._no_credentials, self._anonymous
            scope[CHALLENGES_KEY] = ()
            await self.app(scope, receive, send)
            return
        connection = HTTPConnection(scope)
        result = None
        try:
            for backend in self.backends:
                result = await backend.authenticate(connection)
                if result is not None:
                    break
        except AuthenticationError as exc:
            logger.info(
                "authentication failed for %s %s: %s",
                scope.get("method", "WEBSOCKET"),
                scope.get("path"),
                exc,
            )
            if scope_type == "websocket" and not _can_deny(scope):
                await send({"type": "websocket.close", "code": 1008})
                return
            await self._error_response(connection, exc)(scope, receive, send)
            return
        if result is None:
            scope["auth"], scope["user"] = self._no_credentials, self._anonymous
        else:
            scope["auth"], scope["user"] = result
        scope[CHALLENGES_KEY] = self.challenges
        await self.app(scope, receive, send)

    def _error_response(self, connection: HTTPConnection, exc: AuthenticationError) -> Any:
        if self.on_error is not None:
            return self.on_error(connection, exc)
        return PlainTextResponse(
            self.error_detail, status_code=self.error_status, headers=self._error_headers
        )


def _can_deny(scope: Scope) -> bool:
    """Whether the server lets a WebSocket handshake be refused with an HTTP response."""
    return "websocket.http.response" in (scope.get("extensions") or {})
