"""``requires()``: guard an endpoint (function, class method, or WebSocket) by scopes."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Sequence
from typing import Any, TypeVar
from urllib.parse import urlencode

from lamina import (
    HTTPConnection,
    HTTPException,
    PlainTextResponse,
    RedirectResponse,
    WebSocketException,
)

from ._middleware import CHALLENGES_KEY

__all__ = ["REQUIRED_SCOPES_ATTRIBUTE", "has_required_scope", "requires"]

#: Set by :func:`requires` on the guarded endpoint: the scopes it requires (a tuple), so
#: tools describing the app (lamina-openapi) can tell which endpoints are guarded.
REQUIRED_SCOPES_ATTRIBUTE = "__lamina_requires__"

F = TypeVar("F", bound=Callable[..., Any])


def has_required_scope(connection: HTTPConnection, scopes: Sequence[str]) -> bool:
    """Whether the connection's credentials hold every scope in ``scopes``."""
    auth = connection.scope.get("auth")
    if auth is None:
        raise RuntimeError(
            "no credentials on this connection: install and enable the lamina-auth plugin "
            "(or wrap the app in lamina_auth.AuthMiddleware)"
        )
    granted = auth.scopes
    return all(scope in granted for scope in scopes)


def _find_connection(args: tuple[Any, ...], kwargs: dict[str, Any]) -> HTTPConnection:
    for value in (*args, *kwargs.values()):
        if isinstance(value, HTTPConnection):
            return value
    raise TypeError("requires() guards endpoints that receive a request or a websocket")


def requires(
    scopes: str | Sequence[str], status_code: int = 403, redirect: str | None = None
) -> Callable[[F], F]:
    """Let the endpoint run only for connections holding all of ``scopes``.

    Otherwise: with ``redirect``, an HTTP request is sent (303) to the route of that name
    with ``?next=<this path>`` (read it back with :func:`lamina_auth.safe_next`); without,
    :class:`lamina.HTTPException` ``status_code`` is raised (a 401 carries the backends'
    ``WWW-Authenticate`` challenges). A WebSocket is refused before the handshake: with an
    HTTP ``status_code`` response when the server supports the ``websocket.http.response``
    extension and the connection offers ``send_denial_response``, else closed with 1008.

    Works on ``async def`` and plain functions, on class-based endpoint methods
    (``def get(self, request)``) and on WebSocket endpoints.
    """
    required = (scopes,) if isinstance(scopes, str) else tuple(scopes)

    def deny_http(request: HTTPConnection) -> Any:
        if redirect is not None:
            target = request.url
            here = target.path + (f"?{target.query}" if target.query else "")
            # A relative Location: the Host header (client-controlled) never picks the target.
            root = request.scope.get("root_path", "").rstrip("/")
            login_path = root + str(request.app.url_path_for(redirect))
            location = f"{login_path}?{urlencode({'next': here})}"
            return RedirectResponse(location, status_code=303)
        headers = None
        if status_code == 401:
            challenges = request.scope.get(CHALLENGES_KEY)
            if challenges:
                headers = {"WWW-Authenticate": ", ".join(challenges)}
        raise HTTPException(status_code, headers=headers)

    def decorator(func: F) -> F:
        guard = _async_guard(func) if inspect.iscoroutinefunction(func) else _sync_guard(func)
        inner = getattr(func, REQUIRED_SCOPES_ATTRIBUTE, ())
        scopes = (*inner, *(s for s in required if s not in inner))  # stacked guards: all hold
        setattr(guard, REQUIRED_SCOPES_ATTRIBUTE, scopes)
        return guard  # type: ignore[return-value]  # functools.wraps: func's own signature

    def _async_guard(func: F) -> Callable[..., Any]:
        @functools.wraps(func)
        async def async_guard(*args: Any, **kwargs: Any) -> Any:
            connection = _find_connection(args, kwargs)
            if has_required_scope(connection, required):
                return await func(*args, **kwargs)
            if connection.scope["type"] == "websocket":
                await _deny_websocket(connection, status_code)
                return None
            return deny_http(connection)

        return async_guard

    def _sync_guard(func: F) -> Callable[..., Any]:
        @functools.wraps(func)
        def sync_guard(*args: Any, **kwargs: Any) -> Any:
            connection = _find_connection(args, kwargs)
            if has_required_scope(connection, required):
                return func(*args, **kwargs)
            if connection.scope["type"] == "websocket":
                raise WebSocketException(1008)
            return deny_http(connection)

        return sync_guard

    return decorator


async def _deny_websocket(websocket: Any, status_code: int) -> None:
    extensions = websocket.scope.get("extensions") or {}
    deny = getattr(websocket, "send_denial_response", None)
    if "websocket.http.response" in extensions and deny is not None:
        challenges = websocket.scope.get(CHALLENGES_KEY) if status_code == 401 else None
        headers = {"WWW-Authenticate": ", ".join(challenges)} if challenges else None
        await deny(
            PlainTextResponse(_reason(status_code), status_code=status_code, headers=headers)
        )
        return
    close = getattr(websocket, "close", None)
    if close is None:
        raise WebSocketException(1008)
    await close(code=1008)


def _reason(status_code: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status_code).phrase
    except ValueError:
        return "Forbidden"
