"""Turning what users write (functions, classes, ASGI apps) into plain ASGI callables.

The work happens once per route at assembly; the wrapper a request goes through is one
coroutine that builds a :class:`lamina.Request`, awaits the endpoint and sends the response.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable
from typing import Any

import anyio.to_thread
from lamina import Request, Response
from lamina.plugin import (
    SCOPE_FAILED_AFTER_START,
    ASGIApp,
    Message,
    Receive,
    Scope,
    Send,
    track_response_start,
)

from ._matched import MatchedMount, MatchedRoute

__all__ = [
    "HTTP_VERBS",
    "EndpointCall",
    "HTTPEndpoint",
    "endpoint_app",
    "endpoint_kind",
    "head_app",
    "request_response",
]

#: An endpoint as one async call: the request in, the response (an ASGI callable) out.
EndpointCall = Callable[[Request], Awaitable[Any]]

#: The verbs a class-based endpoint may define, in the order ``Allow`` lists them.
HTTP_VERBS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT")


class HTTPEndpoint:
    """A class-based endpoint: define ``async def get(self, request)`` (or sync) per verb.

    One instance is created per request (``self.request`` is that request), so instance
    attributes are safe to use as per-request state. The route's methods are the verbs the
    class defines (``HEAD`` comes with ``GET``).
    """

    def __init__(self, request: Request) -> None:
        self.request = request

    @classmethod
    def defined_methods(cls) -> list[str]:
        return [v for v in HTTP_VERBS if callable(getattr(cls, v.lower(), None))]


def _is_async(func: Any) -> bool:
    while isinstance(func, functools.partial):
        func = func.func
    if inspect.iscoroutinefunction(func):
        return True
    call = type(func).__dict__.get("__call__") if not inspect.isfunction(func) else None
    return call is not None and inspect.iscoroutinefunction(call)


def endpoint_kind(endpoint: Any, asgi: bool | None) -> str:
    """``"asgi"``, ``"class"`` or ``"function"``.

    With ``asgi=None`` (the default): an :class:`HTTPEndpoint` subclass is ``"class"``;
    functions, bound methods and ``functools.partial`` objects are request/response
    functions, unless their parameters are exactly ``(scope, receive, send)``; any other
    object (an ASGI app instance, another class) is treated as a raw ASGI app.
    ``asgi=True``/``False`` forces the choice.
    """
    if inspect.isclass(endpoint) and issubclass(endpoint, HTTPEndpoint):
        return "class"
    if asgi is not None:
        return "asgi" if asgi else "function"
    if (
        inspect.isfunction(endpoint)
        or inspect.ismethod(endpoint)
        or isinstance(endpoint, functools.partial)
        or inspect.isbuiltin(endpoint)
    ):
        return "asgi" if _takes_scope_receive_send(endpoint) else "function"
    return "asgi"


def _takes_scope_receive_send(func: Any) -> bool:
    """``async def app(scope, receive, send)`` is an ASGI app, not a request endpoint."""
    try:
        params = list(inspect.signature(func).parameters)
    except (TypeError, ValueError):
        return False
    return params == ["scope", "receive", "send"]


async def _send_other(
    endpoint: Any, response: Any, scope: Scope, receive: Receive, send: Send
) -> None:
    """A response the wrapper does not send itself: a ``Response`` with background work
    (it records a failure after its start itself), or any other ASGI callable, watched by
    :func:`lamina.plugin.track_response_start`."""
    if response is None:
        raise _bad_response(endpoint, response)
    if type(response).__call__ is _SENDS_WHOLE:
        await response(scope, receive, send)
    else:
        await track_response_start(response)(scope, receive, send)


def _bad_response(endpoint: Any, response: Any) -> TypeError:
    name = getattr(endpoint, "__qualname__", repr(endpoint))
    return TypeError(
        f"endpoint {name} returned {response!r}; return a lamina Response (or any ASGI callable)"
    )


def request_response(
    func: Callable[..., Any], matched: MatchedRoute | None = None, top: bool = False
) -> ASGIApp:
    """Wrap ``func(request) -> Response`` (async, or sync run in a worker thread).

    ``matched``: the route the compiler matched, put on the scope by this wrapper (see
    :func:`endpoint_app`); ``None`` for the route's own, untagged app.
    """
    call: EndpointCall = func
    if not _is_async(func):
        run_sync = anyio.to_thread.run_sync

        def call(request: Request) -> Awaitable[Any]:
            return run_sync(func, request)

    return endpoint_app(call, func, matched, top)


def class_method_app(
    cls: type[HTTPEndpoint], verb: str, matched: MatchedRoute | None = None, top: bool = False
) -> ASGIApp:
    """The ASGI app serving ``verb`` with a fresh instance of ``cls`` per request."""
    method = getattr(cls, verb.lower())
    if _is_async(method):

        def call(request: Request) -> Awaitable[Any]:
            result: Awaitable[Any] = method(cls(request), request)
            return result
    else:
        run_sync = anyio.to_thread.run_sync

        def call(request: Request) -> Awaitable[Any]:
            return run_sync(method, cls(request), request)

    return endpoint_app(call, method, matched, top)


#: ``Response.__call__``: a response that keeps it is sent by the endpoint wrapper itself,
#: one coroutine frame fewer per request (callgrind, bench plaintext: -2.2k instructions).
_SENDS_WHOLE = Response.__call__


def endpoint_app(
    call: EndpointCall, endpoint: Any, matched: MatchedRoute | None, top: bool
) -> ASGIApp:
    """The one coroutine a request goes through: it builds the :class:`lamina.Request`,
    awaits ``call`` and sends the response.

    With ``matched``, it also puts the route on the scope, as :func:`._matched.tagged`
    does for other apps, without a wrapper call of its own (callgrind, bench plaintext:
    -1.5k instructions per request). ``top``: see :func:`._matched.tagged`.
    """
    tag = matched.endpoint if matched is not None else None

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if matched is not None:
            outer = scope.get("route") if top else None
            scope["route"] = matched if type(outer) is not MatchedMount else matched.under(outer)
            scope["endpoint"] = tag
        response = await call(Request(scope, receive, send))
        if type(response).__call__ is not _SENDS_WHOLE or response.background is not None:
            await _send_other(endpoint, response, scope, receive, send)
            return
        # what Response.__call__ sends for HTTP, decided before the start goes out
        body = b"" if scope["method"] == "HEAD" else response.body
        try:
            await send(
                {
                    "type": "http.response.start",
                    "status": response.status_code,
                    "headers": response.raw_headers,
                }
            )
            await send({"type": "http.response.body", "body": body})
        except Exception as exc:  # the response started: the error layers answer nothing
            scope[SCOPE_FAILED_AFTER_START] = exc
            raise

    return app


def head_app(app: ASGIApp) -> ASGIApp:
    """Serve HEAD with a GET app: same status and headers, and no body bytes sent."""

    async def head(scope: Scope, receive: Receive, send: Send) -> None:
        async def send_no_body(message: Message) -> None:
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return
                if message.get("body"):
                    message = {**message, "body": b""}
            await send(message)

        await app(scope, receive, send_no_body)

    return head
