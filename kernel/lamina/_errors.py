"""Turning exceptions into responses, inside the middleware onion.

The error layer sits between the middleware and the router, so 404, 405, handled exceptions
and 500 all travel back out through every middleware (CORS headers stay on errors). A guard
outside the onion catches what a middleware itself raises.

A server error — an exception no handler answered except the 500 fallback, or one raised
after the response started — is raised again once the 500 is sent (or the half-sent
response given up), as Starlette does: outer middleware (Sentry, OpenTelemetry) records it
as unhandled, and the server logs it and closes what is left of the response. Lamina does
not log it itself, so the log has it once, from the server.
"""

from __future__ import annotations

import html
import inspect
import linecache
import logging
import traceback
from collections.abc import Awaitable, Callable, Mapping
from types import MethodType
from typing import Any

from ._asgicheck import input_problem
from ._exceptions import HTTPException
from ._requests import ClientDisconnect, Request
from ._responses import HTMLResponse, PlainTextResponse, Response
from ._scopekeys import CLEANUP_KEY, FAILED_AFTER_START_KEY, run_cleanups
from .types import ASGIApp, Message, Receive, Scope, Send

logger = logging.getLogger("lamina.error")

__all__ = [
    "RAISE_KEY",
    "ExceptionHandlers",
    "HTTPErrorLayer",
    "Handler",
    "OuterGuard",
    "has_denial_extension",
    "http_exception_response",
    "marks_response_start",
    "raise_unless_malformed",
    "server_error_response",
    "track_response_start",
]
Handler = Callable[[Request, BaseException], Any]
#: Set on the scope by the test client: whether it raises server errors into the test.
RAISE_KEY = "lamina.raise_server_exceptions"


class ExceptionHandlers:
    """Frozen lookup tables: status code -> handler, exception class -> handler."""

    def __init__(self, handlers: Mapping[int | type[BaseException], Handler]) -> None:
        self.by_status = {k: v for k, v in handlers.items() if isinstance(k, int)}
        self.by_class = {k: v for k, v in handlers.items() if isinstance(k, type)}

    def lookup(self, exc: BaseException) -> Handler | None:
        """Status handler for an ``HTTPException``, else the most specific class handler;
        an exception that would become a 500 falls back to a handler registered for 500."""
        if isinstance(exc, HTTPException):
            handler = self.by_status.get(exc.status_code)
            if handler is not None:
                return handler
        handler = self.class_handler(exc)
        if handler is None and not isinstance(exc, HTTPException):
            return self.by_status.get(500)
        return handler

    def class_handler(self, exc: BaseException) -> Handler | None:
        for cls in type(exc).__mro__:
            handler = self.by_class.get(cls)
            if handler is not None:
                return handler
        return None

    def is_server_error_fallback(self, exc: BaseException) -> bool:
        """The 500 handler answers ``exc`` only because nothing more specific did: the error
        is still a server error (logged, and re-raised in tests)."""
        return not isinstance(exc, HTTPException) and self.class_handler(exc) is None


def http_exception_response(exc: HTTPException) -> Response:
    if exc.status_code in (204, 304):
        return Response(status_code=exc.status_code, headers=exc.headers)
    return PlainTextResponse(exc.detail, status_code=exc.status_code, headers=exc.headers)


def server_error_response(exc: BaseException, debug: bool, scope: Scope | None = None) -> Response:
    """A 500: a bare "Internal Server Error" normally; with ``debug`` a traceback page
    (request line, the exception chain, each frame with a few lines of source)."""
    if not debug:
        return PlainTextResponse("Internal Server Error", status_code=500)
    return HTMLResponse(_debug_page(exc, scope or {}), status_code=500)


_PAGE_STYLE = (
    "body{font-family:system-ui,sans-serif;margin:2rem;color:#222}"
    "h1{color:#b00}.frame{margin:1rem 0;border:1px solid #ddd;border-radius:4px}"
    ".where{background:#f3f3f3;padding:.4rem .6rem;font-family:monospace}"
    "pre{margin:0;padding:.4rem .6rem;overflow:auto}.hit{background:#fee}"
)


def _debug_page(exc: BaseException, scope: Scope) -> str:
    esc = html.escape
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>500 Server Error</title>",
        f"<style>{_PAGE_STYLE}</style></head><body><h1>500 Server Error</h1>",
    ]
    if scope.get("method"):
        parts.append(
            f"<p><code>{esc(str(scope['method']))} {esc(str(scope.get('path', '')))}</code></p>"
        )
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or (
            None if current.__suppress_context__ else current.__context__
        )
    for position, error in enumerate(reversed(chain)):
        if position:
            parts.append("<p><em>The above exception led to:</em></p>")
        parts.append(f"<h2>{esc(type(error).__name__)}: {esc(str(error))}</h2>")
        for note in getattr(error, "__notes__", ()):
            parts.append(f"<p>{esc(str(note))}</p>")
        for frame in traceback.extract_tb(error.__traceback__):
            parts.append(
                "<div class='frame'><div class='where'>"
                f"{esc(frame.filename)}:{frame.lineno} in <b>{esc(frame.name)}</b></div>"
            )
            lineno = frame.lineno or 0
            lines = []
            for number in range(max(1, lineno - 3), lineno + 3):
                source = linecache.getline(frame.filename, number)
                if not source:
                    continue
                css = " class='hit'" if number == lineno else ""
                lines.append(f"<span{css}>{number:>5} {esc(source.rstrip())}</span>")
            if lines:
                parts.append("<pre>" + "\n".join(lines) + "</pre>")
            parts.append("</div>")
    parts.append("<h3>Plain traceback</h3><pre>")
    parts.append(esc("".join(traceback.format_exception(type(exc), exc, exc.__traceback__))))
    parts.append("</pre></body></html>")
    return "".join(parts)


async def _call_handler(handler: Handler, request: Request, exc: BaseException) -> ASGIApp:
    result = handler(request, exc)
    if inspect.isawaitable(result):
        result = await result
    if not callable(result):
        # raised here, it is answered (and logged) like any failing handler: a plain 500
        raise TypeError(
            f"exception handler {getattr(handler, '__qualname__', handler)!r} "
            f"for {type(exc).__name__} returned {result!r}, not a response"
        )
    answer: ASGIApp = result  # any callable answer is served: a foreign framework's too
    return answer


def track_response_start(app: ASGIApp) -> ASGIApp:
    """``app`` with its HTTP response start watched, for the error layers above it.

    An exception escaping ``app`` after it handed ``http.response.start`` to ``send`` is
    recorded on the scope (``FAILED_AFTER_START_KEY``), so the error layers know the
    response is under way and answer nothing themselves. Lamina's own responses and the
    router's endpoint wrapper record it without wrapping ``send``; code that does not (a raw
    ASGI app, a mounted app, route middleware, a router of another plugin) is wrapped in
    this. The result is an ``async def`` ASGI 3 app.
    """

    async def tracked(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        started = False

        def tracking_send(message: Message) -> Awaitable[None]:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            return send(message)

        try:
            await app(scope, receive, tracking_send)
        except Exception as exc:
            if started:
                scope[FAILED_AFTER_START_KEY] = exc
            raise

    tracked.marks_response_start = True  # type: ignore[attr-defined]  # see marks_response_start
    return tracked


def marks_response_start(app: object) -> bool:
    """Whether ``app`` records an exception after the response start itself (see
    :func:`track_response_start`): it says so with a true ``marks_response_start``
    attribute, as lamina-routing's router does."""
    return getattr(app, "marks_response_start", False) is True


def _bound_call(app: ASGIApp) -> ASGIApp:
    """An instance with a Python ``__call__`` as that method bound to it: calling a bound
    method costs less than calling the instance (callgrind, bench plaintext: -0.7k
    instructions per request, the router being such an instance)."""
    call = inspect.getattr_static(app, "__call__", None)
    if inspect.isfunction(call):
        bound: ASGIApp = MethodType(call, app)
        return bound
    return app


def _answered(scope: Scope, exc: Exception) -> None:
    """``exc`` goes on after a response was sent for it: outer error layers answer nothing."""
    scope[FAILED_AFTER_START_KEY] = exc
    raise_unless_malformed(scope, exc)


class HTTPErrorLayer:
    """Answers exceptions raised under it; the innermost layer the kernel owns.

    Without middleware, :class:`lamina.Lamina` runs it in its own frame (``inner`` and
    ``failed``, with the cleanups), one coroutine fewer per request.
    """

    __slots__ = ("debug", "handlers", "inner")

    def __init__(self, app: ASGIApp, handlers: ExceptionHandlers, debug: bool) -> None:
        #: What it guards; it records a failure after the response start itself.
        self.inner = _bound_call(app if marks_response_start(app) else track_response_start(app))
        self.handlers = handlers
        self.debug = debug

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self.inner(scope, receive, send)
        except Exception as exc:
            await self.failed(scope, receive, send, exc)
        finally:
            if CLEANUP_KEY in scope:  # forms/uploads the endpoint left open
                await run_cleanups(scope)

    async def failed(self, scope: Scope, receive: Receive, send: Send, exc: Exception) -> None:
        """Answer ``exc``; a server error is re-raised once its 500 is sent (see the module
        docstring), a client that went away is not an error."""
        if scope.get(FAILED_AFTER_START_KEY) is exc:  # the response is under way
            if isinstance(exc, ClientDisconnect):
                logger.debug(
                    "client went away during %s %s", scope.get("method"), scope.get("path")
                )
                return
            raise_unless_malformed(scope, exc)  # the server ends the half-sent response
            return
        request = Request(scope, receive, send)
        handler = self.handlers.lookup(exc)
        if handler is None and isinstance(exc, ClientDisconnect):
            logger.debug("client disconnected during %s %s", scope.get("method"), scope.get("path"))
            return
        if handler is not None:
            server_error = self.handlers.is_server_error_fallback(exc)
            try:
                response = await _call_handler(handler, request, exc)
            except Exception as handler_exc:
                exc, handler = handler_exc, None
            else:
                await response(scope, receive, send)
                if server_error:
                    _answered(scope, exc)
                return
        # no handler, or the handler itself failed
        if isinstance(exc, HTTPException):
            await http_exception_response(exc)(scope, receive, send)
            return
        await server_error_response(exc, self.debug, scope)(scope, receive, send)
        _answered(scope, exc)


def handle_errors(app: ASGIApp) -> ASGIApp:
    """``app`` with the app's error handling right around it, for routes under middleware of
    their own (a mount's or a route's): 404, 405, handled exceptions and 500s raised in
    ``app`` are answered here, with the app's exception handlers, so the answer passes back
    out through that middleware (CORS headers on a mount's 404), as app-wide errors pass
    through the app's. A server error still goes on to the server after its 500, through
    every outer layer (an error tracker there records it)."""
    return _ScopedErrorLayer(app)


class _ScopedErrorLayer:
    """See :func:`handle_errors`. The handlers are the app's (``scope["app"]``), resolved on
    the first request, when the app is assembled."""

    __slots__ = ("_errors", "app")

    def __init__(self, app: ASGIApp) -> None:
        self.app = app if marks_response_start(app) else track_response_start(app)
        self._errors: HTTPErrorLayer | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self.app(scope, receive, send)
        except Exception as exc:
            if scope["type"] != "http":
                raise
            errors = self._errors
            if errors is None:
                errors = self._errors = _errors_of(scope.get("app"))
            await errors.failed(scope, receive, send, exc)


def _errors_of(app: Any) -> HTTPErrorLayer:
    """An error layer answering like ``app``'s (a bare one outside a Lamina app)."""
    assembly = getattr(app, "_assembly", None)
    handlers = getattr(assembly, "exception_handlers", None) or {}
    return HTTPErrorLayer(_no_app, ExceptionHandlers(handlers), bool(getattr(app, "debug", False)))


async def _no_app(scope: Scope, receive: Receive, send: Send) -> None:
    raise RuntimeError("only the error handling of this layer is used")


class OuterGuard:
    """Outside the onion: whatever a middleware raises still gets a complete answer (never a
    hang), and then goes on to the server, like every server error.

    HTTP gets a whole 500 when nothing was sent yet (a response already started is left to
    the server to cut off). A WebSocket gets a 500 denial before the handshake where the
    server supports ``websocket.http.response``, otherwise (and after accept) a close with
    1011. An error caused by malformed ASGI input (see :mod:`lamina._asgicheck`) is logged
    here, once, and goes no further: the server sent it, the server cannot fix it.

    :class:`lamina.Lamina` runs its HTTP part (``inner``, ``failed``) in its own frame.
    """

    __slots__ = ("app", "inner")

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        #: The onion, watched: middleware is foreign code.
        self.inner = track_response_start(app)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope_type = scope["type"]
        if scope_type == "websocket":
            await self._websocket(scope, receive, send)
            return
        if scope_type != "http":
            await self.app(scope, receive, send)
            return
        try:
            await self.inner(scope, receive, send)
        except Exception as exc:
            await self.failed(scope, receive, send, exc)

    async def failed(self, scope: Scope, receive: Receive, send: Send, exc: Exception) -> None:
        if scope.get(FAILED_AFTER_START_KEY) is not exc:
            await send_plain_error(send, "http", 500, b"Internal Server Error")
        raise_unless_malformed(scope, exc)

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        state = _WebSocketState(send)
        try:
            await self.app(scope, receive, state.send)
        except Exception as exc:
            if not state.closed:
                if not state.accepted and has_denial_extension(scope):
                    await send_plain_error(send, "websocket.http", 500, b"Internal Server Error")
                else:
                    await send({"type": "websocket.close", "code": 1011, "reason": ""})
            raise_unless_malformed(scope, exc)


def raise_unless_malformed(scope: Scope, exc: Exception) -> None:
    """Re-raise an application's error (the server logs it); log one caused by malformed
    ASGI input, once, and end the request there."""
    problem = input_problem(scope, exc)
    if problem is None or scope.get(RAISE_KEY):
        raise exc
    logger.error(
        "malformed ASGI input (%s) for %s %s; answered with an error",
        problem,
        scope.get("type"),
        scope.get("path"),
        exc_info=exc,
    )


def has_denial_extension(scope: Scope) -> bool:
    """Whether the server lets a WebSocket handshake be answered with an HTTP response
    (checked defensively: a malformed scope may carry anything under ``extensions``)."""
    extensions = scope.get("extensions")
    return isinstance(extensions, dict) and "websocket.http.response" in extensions


async def send_plain_error(send: Send, prefix: str, status: int, body: bytes) -> None:
    """A complete plain-text answer, built from nothing the request carried.

    ``prefix`` is ``"http"`` or ``"websocket.http"`` (a denial response)."""
    headers = [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", str(len(body)).encode()),
    ]
    await send({"type": f"{prefix}.response.start", "status": status, "headers": headers})
    await send({"type": f"{prefix}.response.body", "body": body})


class _WebSocketState:
    """Follows what the app sent, so the error path sends only what is still legal."""

    __slots__ = ("_send", "accepted", "closed")

    def __init__(self, send: Send) -> None:
        self._send = send
        self.accepted = False
        self.closed = False

    def send(self, message: Message) -> Awaitable[None]:
        mtype = message.get("type") if isinstance(message, dict) else None
        if mtype == "websocket.accept":
            self.accepted = True
        elif mtype == "websocket.close" or mtype == "websocket.http.response.start":
            self.closed = True
        return self._send(message)
