"""Function middleware: ``async def mw(request, call_next) -> response``.

How it avoids what Starlette users report about ``BaseHTTPMiddleware``:

* Nothing is buffered. The app runs in a child task until it sends ``http.response.start``;
  ``call_next`` then returns a :class:`PassThroughResponse` holding that status and those
  headers (the middleware may change them). Serving it releases the app, which sends the
  (changed) start and then every body message straight to the server's ``send``.
* Context variables set before ``call_next`` are seen by the endpoint (the child task starts
  from a copy of the middleware's context), and those the endpoint set before its response
  started are copied back into the middleware's context when ``call_next`` returns, as if
  both had run in one task.
* The endpoint still reads the body: both requests share the scope, where the body a reader
  took is kept; the app gets the real ``receive``, so disconnects reach it unchanged.
* Exceptions stay plain: the child never lets one escape into the task group; the app's
  error is raised by ``call_next`` (before the response started) or by serving the response
  (after), so outer layers see the same exception they would without this layer.

WebSocket and lifespan scopes pass straight through.
"""

from __future__ import annotations

import contextvars
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import anyio.abc

from ._requests import Request
from ._responses import Response, run_background
from .types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["CallNext", "FunctionMiddleware", "PassThroughResponse", "function_middleware"]

CallNext = Callable[[Request], Awaitable[Response]]
FunctionMiddleware = Callable[[Request, CallNext], Awaitable[Any]]
_MISSING = object()


def function_middleware(func: FunctionMiddleware) -> Callable[[ASGIApp], ASGIApp]:
    """The middleware factory for ``func``: ``factory(app)`` is the layer around ``app``."""

    def factory(app: ASGIApp) -> ASGIApp:
        return FunctionLayer(app, func)

    factory.__name__ = getattr(func, "__name__", "function_middleware")
    factory.__qualname__ = getattr(func, "__qualname__", factory.__name__)
    # the layer only ever awaits app(...): a plain callable returning an awaitable will do
    factory.lamina_accepts_plain_app = True  # type: ignore[attr-defined]  # a marker attribute
    return factory


class FunctionLayer:
    """The ASGI layer running one function middleware."""

    __slots__ = ("app", "func")

    def __init__(self, app: ASGIApp, func: FunctionMiddleware) -> None:
        self.app = app
        self.func = func

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        error: Exception | None = None
        async with anyio.create_task_group() as tg:
            exchange = _Exchange(self.app, tg)
            try:
                response = await self.func(Request(scope, receive, send), exchange.call_next)
                if not callable(response):
                    raise TypeError(
                        f"function middleware {getattr(self.func, '__qualname__', self.func)!r}"
                        f" returned {response!r}, not a response"
                    )
                await response(scope, receive, send)
            except Exception as exc:
                error = exc  # raised below, outside the task group: never an ExceptionGroup
            # an app whose response was replaced is still waiting to send it: stop it
            # (only then: cancelling a scope costs more than the rest of the exchange)
            if exchange.called and not exchange.finished.is_set():
                tg.cancel_scope.cancel()
        if error is not None:
            raise error


class _Exchange:
    """One request's trip through ``call_next``: the app in a child task, its response start
    handed over, its body sent straight to whatever ``send`` serves the response."""

    __slots__ = (
        "app",
        "called",
        "context",
        "error",
        "finished",
        "released",
        "start",
        "started",
        "target",
        "tg",
    )

    def __init__(self, app: ASGIApp, tg: anyio.abc.TaskGroup) -> None:
        self.app = app
        self.tg = tg
        self.called = False
        self.start: Message | None = None
        self.context: contextvars.Context | None = None
        self.error: Exception | None = None
        self.target: Send | None = None
        self.started = anyio.Event()  # the start arrived, or the app ended without one
        self.released = anyio.Event()  # the response is being served: ``target`` is set
        self.finished = anyio.Event()

    async def call_next(self, request: Request) -> Response:
        if self.called:
            raise RuntimeError("call_next() may be called only once per request")
        self.called = True
        # start_soon copies the current context: what the middleware set is seen inside
        self.tg.start_soon(self._run, request.scope, request.receive)
        await self.started.wait()
        if self.start is None:
            if self.error is not None:
                raise self.error
            raise RuntimeError("the app returned without sending http.response.start")
        if self.context is not None:
            _adopt(self.context)
        return PassThroughResponse(self, self.start)

    async def _run(self, scope: Scope, receive: Receive) -> None:
        try:
            await self.app(scope, receive, self._send)
        except Exception as exc:
            self.error = exc
        finally:
            self.started.set()
            self.finished.set()

    async def _send(self, message: Message) -> None:
        target = self.target
        if target is None:
            if message["type"] != "http.response.start":
                raise RuntimeError(f"the app sent {message['type']!r} before http.response.start")
            self.start = message
            self.context = contextvars.copy_context()
            self.started.set()
            await self.released.wait()
            target = self.target
            assert target is not None and self.start is not None
            message = self.start  # the start as the middleware left it
        await target(message)

    async def serve(self, start: Message, send: Send) -> None:
        if self.target is not None:
            raise RuntimeError("the response call_next() returned was already sent")
        self.start = start
        self.target = send
        self.released.set()
        await self.finished.wait()
        if self.error is not None:
            raise self.error


def _adopt(context: contextvars.Context) -> None:
    """Make the values the endpoint's task had current in this task too."""
    for var, value in context.items():
        if var.get(_MISSING) is not value:
            var.set(value)


class PassThroughResponse(Response):
    """The app's response as ``call_next`` returns it: status and headers can be changed;
    the body is not here, it streams from the app when this response is served."""

    def __init__(self, exchange: _Exchange, start: Message) -> None:
        self._exchange = exchange
        self._start = start
        self.status_code = int(start["status"])
        self.background = None
        self.body = b""
        self.raw_headers = [(bytes(k), bytes(v)) for k, v in start.get("headers", ())]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        start = {**self._start, "status": self.status_code, "headers": self.raw_headers}
        await self._exchange.serve(start, send)
        if self.background is not None:
            await run_background(scope, self.background)

    def __repr__(self) -> str:
        return f"<PassThroughResponse status={self.status_code}>"
