"""An httpx client that talks to an ASGI app in-process.

``TestClient`` is synchronous: the app runs on an anyio event loop in a portal thread
(asyncio or trio). ``AsyncTestClient`` runs the app on the caller's loop. Both run the
lifespan when used as context managers, persist cookies, and re-raise server exceptions by
default so a failing endpoint fails the test with its own traceback.

``client.stream(...)`` (or ``send(..., stream=True)``) reads the body incrementally while the
app is still running, so an endless Server-Sent Events endpoint can be read a few events at a
time; closing the response early tells the app ``http.disconnect`` and ends its task. Other
requests run the app to completion and return the whole response.
"""

from __future__ import annotations

import base64
import contextlib
import json
import math
import os
import warnings
from collections.abc import AsyncIterator, Iterator, Sequence
from types import TracebackType
from typing import Any
from urllib.parse import unquote

import anyio
import anyio.abc
import anyio.from_thread
import httpx

from ._errors import RAISE_KEY
from ._exceptions import WebSocketDisconnect
from .types import ASGIApp, Message

__all__ = [
    "AsyncTestClient",
    "AsyncWebSocketTestSession",
    "LifespanNotRunWarning",
    "TestClient",
    "WebSocketDenialResponse",
    "WebSocketDisconnect",
    "WebSocketTestSession",
]


class LifespanNotRunWarning(UserWarning):
    """The app has startup work but the client was used outside ``with``."""


def _has_lifespan_work(app: Any) -> bool:
    own = getattr(type(app), "has_lifespan_work", None)
    if isinstance(own, property):  # a Lamina app knows exactly
        return bool(app.has_lifespan_work)
    if getattr(app, "lifespan_context", None) is not None:
        return True
    pm = getattr(app, "pm", None)
    if pm is None:
        return False
    hooks = (pm.hook.lamina_lifespan, pm.hook.lamina_startup, pm.hook.lamina_shutdown)
    return any(h.get_hookimpls() for h in hooks)


class _Lifespan:
    """Drives the ASGI lifespan protocol for one client context.

    An app that raises on the lifespan scope before sending anything does not support the
    protocol; like uvicorn's ``lifespan="auto"`` the client carries on without it. A startup
    or shutdown failure reported by the app raises ``RuntimeError`` with its message.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.state: dict[str, Any] = {}
        self.supported = True

    def prepare(self) -> None:
        self._stop = anyio.Event()

    async def run(self, task_status: anyio.abc.TaskStatus[None]) -> None:
        to_app, app_inbox = anyio.create_memory_object_stream[Message](math.inf)
        app_outbox, from_app = anyio.create_memory_object_stream[Message](math.inf)
        scope = {
            "type": "lifespan",
            "asgi": {"version": "3.0", "spec_version": "2.0"},
            "state": self.state,
        }
        sent_any = False

        async def send(message: Message) -> None:
            nonlocal sent_any
            sent_any = True
            await app_outbox.send(message)

        async def guard() -> None:
            try:
                await self.app(scope, app_inbox.receive, send)
            except Exception as exc:
                if sent_any:
                    raise
                self.supported = False
                app_outbox.send_nowait(
                    {
                        "type": "lamina.lifespan.unsupported",
                        "message": f"{type(exc).__name__}: {exc}",
                    }
                )

        failure = ""
        with to_app, app_inbox, app_outbox, from_app:
            # Failures are raised after the task group closed, so the caller sees a plain
            # RuntimeError rather than an exception group.
            async with anyio.create_task_group() as tg:
                tg.start_soon(guard)
                await to_app.send({"type": "lifespan.startup"})
                message = await from_app.receive()
                if message["type"] == "lifespan.startup.failed":
                    failure = f"lifespan startup failed: {message.get('message', '')}"
                    tg.cancel_scope.cancel()
                else:
                    task_status.started()
                    await self._stop.wait()
                    if self.supported:
                        await to_app.send({"type": "lifespan.shutdown"})
                        message = await from_app.receive()
                        if message["type"] == "lifespan.shutdown.failed":
                            failure = f"lifespan shutdown failed: {message.get('message', '')}"
        if failure:
            raise RuntimeError(failure)


class _ClientGone(OSError):
    """Raised from the app's ``send`` after the client closed the response early.

    ASGI 2.4 servers raise an ``OSError`` from ``send`` once the client is gone; the test
    client does the same, and does not report this one as a server exception.
    """


_STREAM_KEY = "lamina.stream"  # request extension: the caller reads the body as a stream
_BODY_BUFFER = 64  # body messages held before the app's send waits for the reader
_DISCONNECT_GRACE = 1.0  # seconds an app may take to finish after the client closed early


def _http_receive(body: bytes, disconnected: anyio.Event) -> Any:
    """The app's ``receive``: the whole request body once, then ``http.disconnect`` once
    ``disconnected`` is set (the response completed, the app ended or the client left)."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await disconnected.wait()
        return {"type": "http.disconnect"}

    return receive


class _ResponseProgress:
    """Checks the order of the app's response messages, for both ways of reading them."""

    __slots__ = ("complete", "started")

    def __init__(self) -> None:
        self.started = False
        self.complete = False

    def advance(self, message: Message) -> bool:
        """Whether ``message`` is part of the httpx response (start or body); raises
        ``RuntimeError`` for one out of order. Trailers and other extensions are not."""
        mtype = message["type"]
        if mtype == "http.response.start":
            if self.started:
                raise RuntimeError("the app sent http.response.start twice")
            self.started = True
            return True
        if mtype == "http.response.body":
            if not self.started:
                raise RuntimeError("the app sent a body before http.response.start")
            if self.complete:
                raise RuntimeError("the app sent a body after the response completed")
            if not message.get("more_body", False):
                self.complete = True
            return True
        return False


class _Start:
    """What the app produced by the time the client can return a response."""

    __slots__ = ("chunks", "complete", "headers", "status")

    def __init__(
        self, status: int, headers: list[tuple[bytes, bytes]], chunks: list[bytes], complete: bool
    ) -> None:
        self.status = status
        self.headers = headers
        self.chunks = chunks
        self.complete = complete


class _Exchange:
    """One HTTP request/response with the app, on the event loop that runs the app.

    ``run`` starts the app and reports, as its start value, the response status and headers
    together with the body sent so far. A response whose body is complete by then (the
    usual case) is delivered whole after the app returned, exactly like a server that
    buffers it; otherwise the app keeps running and the body is read incrementally through
    a bounded memory stream (``next_chunks``), so an endless stream can be tested.
    ``close`` before the body is complete tells the app ``http.disconnect`` and makes its
    later sends raise, waits up to ``_DISCONNECT_GRACE`` seconds and then cancels it.
    """

    def __init__(
        self, app: ASGIApp, scope: dict[str, Any], body: bytes, raise_server_exceptions: bool
    ) -> None:
        self.app = app
        self.scope = scope
        self.body = body
        self.raise_server_exceptions = raise_server_exceptions
        self.exception: BaseException | None = None
        self._progress = _ResponseProgress()
        self.client_closed = False
        self.closed = False

    @property
    def body_complete(self) -> bool:
        return self._progress.complete

    def open(self) -> None:
        """Create the stream and events; must run on the loop that will run the app."""
        self._outbox, self._inbox = anyio.create_memory_object_stream[Message](_BODY_BUFFER)
        self._disconnect = anyio.Event()
        self.done = anyio.Event()
        self._cancel = anyio.CancelScope()

    async def run(self, *, task_status: anyio.abc.TaskStatus[_Start | None]) -> None:
        """The whole exchange as one task (the sync client starts it in its portal)."""
        self.open()
        async with anyio.create_task_group() as tg:
            tg.start_soon(self.run_app)
            task_status.started(await self.wait_start())

    async def wait_start(self) -> _Start | None:
        """Wait for the response start; ``None`` if the app ended without one."""
        try:
            first = await self._inbox.receive()
        except anyio.EndOfStream:  # the app returned or raised before starting
            self._inbox.close()
            return None
        chunks, complete = self._drain()
        if complete:
            await self.done.wait()
            self._inbox.close()
        return _Start(first["status"], list(first.get("headers") or []), chunks, complete)

    async def run_app(self) -> None:
        with self._cancel:
            try:
                await self.app(self.scope, _http_receive(self.body, self._disconnect), self._send)
            except Exception as exc:
                if not (self.client_closed and _only_client_gone(exc)):
                    self.exception = exc
            finally:
                self.done.set()
                self._disconnect.set()
                self._outbox.close()

    async def _send(self, message: Message) -> None:
        if self.client_closed:
            raise _ClientGone("the client closed the response")
        if not self._progress.advance(message):
            return
        if self._progress.complete:
            self._disconnect.set()
        try:
            self._outbox.send_nowait(message)  # no checkpoint: a plain response stays whole
        except anyio.WouldBlock:
            try:
                await self._outbox.send(message)
            except anyio.BrokenResourceError:
                raise _ClientGone("the client closed the response") from None
        except anyio.BrokenResourceError:
            raise _ClientGone("the client closed the response") from None

    def _drain(self) -> tuple[list[bytes], bool]:
        """Body chunks already sent, and whether the body (or the app) has ended."""
        chunks: list[bytes] = []
        while True:
            try:
                message = self._inbox.receive_nowait()
            except anyio.WouldBlock:
                return chunks, False
            except anyio.EndOfStream:
                return chunks, True
            chunks.append(bytes(message.get("body", b"")))
            if not message.get("more_body", False):
                return chunks, True

    async def next_chunks(self) -> tuple[list[bytes], bool]:
        """Wait for more body; at its end wait for the app and raise what it raised."""
        try:
            message = await self._inbox.receive()
        except anyio.EndOfStream:
            chunks, ended = [], True
        else:
            chunks = [bytes(message.get("body", b""))]
            ended = not message.get("more_body", False)
            if not ended:
                more, ended = self._drain()
                chunks += more
        if ended:
            await self.done.wait()
            self._inbox.close()
            self.raise_exception()
        return chunks, ended

    async def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if not self.done.is_set():
            if not self.body_complete:
                self._disconnect.set()  # an app watching receive() ends on its own...
                await anyio.sleep(0)
                self.client_closed = True  # ...and one that only sends gets an OSError
                self._inbox.close()
                with anyio.move_on_after(_DISCONNECT_GRACE):
                    await self.done.wait()
                if not self.done.is_set():
                    self._cancel.cancel()
            await self.done.wait()
        self._inbox.close()
        self.raise_exception()

    def raise_exception(self) -> None:
        exc, self.exception = self.exception, None
        if exc is not None and self.raise_server_exceptions:
            raise exc


def _only_client_gone(exc: BaseException) -> bool:
    """Whether ``exc`` is (a group made only of) the test client's own disconnect error."""
    if isinstance(exc, BaseExceptionGroup):
        return all(_only_client_gone(inner) for inner in exc.exceptions)
    return isinstance(exc, _ClientGone)


def _complete_response(
    request: httpx.Request, exchange: _Exchange, start: _Start | None
) -> httpx.Response | None:
    """The whole response when the app is done with it; ``None`` while it still streams.

    Raises the app's exception (``raise_server_exceptions``) or answers 500 for one raised
    before the response started.
    """
    if start is None:
        exc = exchange.exception
        exchange.raise_exception()
        if exc is None:
            raise RuntimeError("the app returned without sending a response")
        return httpx.Response(500, content=b"Internal Server Error", request=request)
    if not start.complete:
        return None
    exchange.raise_exception()
    return httpx.Response(
        start.status, headers=start.headers, content=b"".join(start.chunks), request=request
    )


class _ASGIHandler:
    """Turns one httpx request into one ASGI HTTP call and back."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        raise_server_exceptions: bool,
        root_path: str,
        client: tuple[str, int],
        state: dict[str, Any],
    ) -> None:
        self.app = app
        self.raise_server_exceptions = raise_server_exceptions
        self.root_path = root_path
        self.client = client
        self.state = state

    def scope_for(self, request: httpx.Request) -> dict[str, Any]:
        url = request.url
        scheme = url.scheme
        default_port = {"http": 80, "https": 443, "ws": 80, "wss": 443}.get(scheme, 80)
        port = url.port or default_port
        headers = [(k.lower(), v) for k, v in request.headers.raw]
        if not any(k == b"host" for k, _ in headers):
            host = url.host if url.port is None else f"{url.host}:{url.port}"
            headers.insert(0, (b"host", host.encode("latin-1")))
        raw_path = url.raw_path.split(b"?", 1)[0]
        path = unquote(raw_path.decode("ascii", "replace"))
        root = self.root_path
        return {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.4"},
            "http_version": "1.1",
            "method": request.method,
            "scheme": scheme,
            "path": root + path if root else path,
            "raw_path": (root.encode() + raw_path) if root else raw_path,
            "root_path": root,
            "query_string": url.query,
            "headers": headers,
            "client": self.client,
            "server": (url.host, port),
            "state": dict(self.state),
            "extensions": {"http.response.trailers": {}},
            RAISE_KEY: self.raise_server_exceptions,
            "lamina.testing": True,
        }

    async def handle(self, request: httpx.Request) -> httpx.Response:
        scope = self.scope_for(request)
        response_done = anyio.Event()
        progress = _ResponseProgress()
        status: int | None = None
        headers: list[tuple[bytes, bytes]] = []
        chunks: list[bytes] = []

        async def send(message: Message) -> None:
            nonlocal status, headers
            if not progress.advance(message):
                return
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                return
            chunks.append(bytes(message.get("body", b"")))
            if progress.complete:
                response_done.set()

        try:
            await self.app(scope, _http_receive(request.read(), response_done), send)
        except Exception:
            if self.raise_server_exceptions:
                raise
            if status is None:
                status, headers, chunks = 500, [], [b"Internal Server Error"]
        finally:
            response_done.set()
            progress.complete = True  # a late send from a leftover task raises, as before
        if status is None:
            raise RuntimeError("the app returned without sending a response")
        response = httpx.Response(
            status_code=status,
            headers=headers,
            content=b"".join(chunks),
            request=request,
        )
        response.extensions["lamina.scope"] = scope
        return response

    def exchange_for(self, request: httpx.Request) -> tuple[_Exchange, dict[str, Any]]:
        scope = self.scope_for(request)
        return _Exchange(self.app, scope, request.read(), self.raise_server_exceptions), scope


class _OpenBody:
    """What a still-streaming body shares in both clients: the exchange, the chunks read
    ahead, and its place in the client's set of open bodies (closed on client exit)."""

    def __init__(self, open_bodies: set[Any], exchange: _Exchange, start: _Start) -> None:
        self._open_bodies = open_bodies
        self._exchange = exchange
        self._chunks = start.chunks
        self._ended = False
        self._closed = False
        open_bodies.add(self)

    def _mark_closed(self) -> bool:
        """Whether this call closes the body (``False`` when it was closed already)."""
        if self._closed:
            return False
        self._closed = True
        self._open_bodies.discard(self)
        return True


def _streaming_response(
    request: httpx.Request, start: _Start, body: httpx.SyncByteStream | httpx.AsyncByteStream
) -> httpx.Response:
    return httpx.Response(start.status, headers=start.headers, stream=body, request=request)


class _SyncBody(_OpenBody, httpx.SyncByteStream):
    """A body the app is still sending; every read hops to the portal's event loop."""

    def __init__(
        self,
        client: TestClient,
        portal: anyio.from_thread.BlockingPortal,
        exchange: _Exchange,
        start: _Start,
        stack: contextlib.ExitStack,
    ) -> None:
        super().__init__(client._open_bodies, exchange, start)
        self._portal = portal
        self._stack = stack

    def __iter__(self) -> Iterator[bytes]:
        chunks, self._chunks = self._chunks, []
        yield from chunks
        while not self._ended and not self._closed:
            chunks, self._ended = self._portal.call(self._exchange.next_chunks)
            yield from chunks

    def close(self) -> None:
        if not self._mark_closed():
            return
        try:
            self._portal.call(self._exchange.close)
        finally:
            self._stack.close()  # joins the app's task; ends a portal opened for this request


class _SyncTransport(httpx.BaseTransport):
    def __init__(self, client: TestClient) -> None:
        self.client = client

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if not request.extensions.get(_STREAM_KEY):  # read whole: one call, app finished
            with self.client._portal_for_request() as portal:
                return portal.call(self.client._handler.handle, request)
        exchange, scope = self.client._handler.exchange_for(request)
        stack = contextlib.ExitStack()
        try:
            portal = stack.enter_context(self.client._portal_for_request())
            future, start = portal.start_task(exchange.run)
            stack.callback(future.result)
            response = _complete_response(request, exchange, start)
        except BaseException:
            stack.close()
            raise
        if response is None:
            assert start is not None
            response = _streaming_response(
                request, start, _SyncBody(self.client, portal, exchange, start, stack)
            )
        else:
            stack.close()
        response.extensions["lamina.scope"] = scope
        return response


class _AsyncBody(_OpenBody, httpx.AsyncByteStream):
    """A body the app is still sending; closing it ends the task group that runs the app.

    Close it in the task that sent the request (``async with client.stream(...)`` does).
    """

    def __init__(
        self,
        client: AsyncTestClient,
        exchange: _Exchange,
        start: _Start,
        task_group: anyio.abc.TaskGroup,
    ) -> None:
        super().__init__(client._open_bodies, exchange, start)
        self._task_group = task_group

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self  # a plain iterator, not an async generator left for the GC to finalise

    async def __anext__(self) -> bytes:
        while not self._chunks:
            if self._ended or self._closed:
                raise StopAsyncIteration
            self._chunks, self._ended = await self._exchange.next_chunks()
        return self._chunks.pop(0)

    async def aclose(self) -> None:
        if not self._mark_closed():
            return
        try:
            await self._exchange.close()
        finally:
            await self._task_group.__aexit__(None, None, None)


class _AsyncTransport(httpx.AsyncBaseTransport):
    def __init__(self, client: AsyncTestClient) -> None:
        self.client = client

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if not request.extensions.get(_STREAM_KEY):
            return await self.client._handler.handle(request)
        exchange, scope = self.client._handler.exchange_for(request)
        exchange.open()
        tg = anyio.create_task_group()
        await tg.__aenter__()
        try:
            tg.start_soon(exchange.run_app)
            start = await exchange.wait_start()
        except BaseException as exc:
            await tg.__aexit__(type(exc), exc, exc.__traceback__)
            raise
        if start is None or start.complete:  # the app is done: raise outside the group
            await tg.__aexit__(None, None, None)
            response = _complete_response(request, exchange, start)
            assert response is not None
        else:
            response = _streaming_response(
                request, start, _AsyncBody(self.client, exchange, start, tg)
            )
        response.extensions["lamina.scope"] = scope
        return response


def _expose_template(response: httpx.Response) -> None:
    scope = response.extensions.get("lamina.scope") or {}
    rendered = scope.get("lamina.template_response")
    if rendered is not None:
        response.template = rendered.get("template")  # type: ignore[attr-defined]
        response.context = rendered.get("context")  # type: ignore[attr-defined]


class _AppClient:
    """What both clients keep about the app: its lifespan, the handler that turns requests
    into ASGI calls, the bodies still streaming, and the once-only lifespan warning."""

    def _init_app(
        self,
        app: ASGIApp,
        *,
        raise_server_exceptions: bool,
        root_path: str,
        client: tuple[str, int],
    ) -> None:
        self.app = app
        self._lifespan = _Lifespan(app)
        self._handler = _ASGIHandler(
            app,
            raise_server_exceptions=raise_server_exceptions,
            root_path=root_path,
            client=client,
            state=self._lifespan.state,
        )
        self._warned = False
        self._open_bodies: set[Any] = set()

    def _lifespan_warning_due(self) -> bool:
        """True once, the first time it is asked, if the app has lifespan work to do."""
        if self._warned or not _has_lifespan_work(self.app):
            return False
        self._warned = True
        return True

    def _websocket_core(
        self, request: httpx.Request, subprotocols: Sequence[str], close_timeout: float
    ) -> _WebSocketCore:
        scope = _websocket_scope(self._handler, request, subprotocols)
        return _WebSocketCore(self.app, scope, self._handler.raise_server_exceptions, close_timeout)


def _default_headers(headers: dict[str, str] | None) -> dict[str, str]:
    return {"user-agent": "testclient", **(headers or {})}


class TestClient(_AppClient, httpx.Client):
    """Synchronous client: ``with TestClient(app) as client: client.get("/")``."""

    __test__ = False  # not a pytest test class

    def __init__(
        self,
        app: ASGIApp,
        base_url: str = "http://testserver",
        *,
        raise_server_exceptions: bool = True,
        root_path: str = "",
        client: tuple[str, int] = ("testclient", 50000),
        backend: str = "asyncio",
        backend_options: dict[str, Any] | None = None,
        follow_redirects: bool = True,
        cookies: httpx._types.CookieTypes | None = None,
        headers: dict[str, str] | None = None,
        timeout: float | None = None,
    ) -> None:
        self._init_app(
            app, raise_server_exceptions=raise_server_exceptions, root_path=root_path, client=client
        )
        self.backend = backend
        self.backend_options = backend_options or {}
        self._portal: anyio.from_thread.BlockingPortal | None = None
        self._exit_stack: contextlib.ExitStack | None = None
        super().__init__(
            base_url=base_url,
            transport=_SyncTransport(self),
            follow_redirects=follow_redirects,
            cookies=cookies,
            headers=_default_headers(headers),
            timeout=timeout if timeout is not None else math.inf,
            event_hooks={"response": [_expose_template]},
        )

    @contextlib.contextmanager
    def _portal_for_request(self) -> Iterator[anyio.from_thread.BlockingPortal]:
        if self._portal is not None:
            yield self._portal
            return
        if self._lifespan_warning_due():
            warnings.warn(
                "TestClient used without running the app's lifespan (startup hooks and "
                "lifespan contexts did not run); use `with TestClient(app) as client:`",
                LifespanNotRunWarning,
                stacklevel=6,
            )
        with anyio.from_thread.start_blocking_portal(self.backend, self.backend_options) as portal:
            yield portal

    def send(
        self,
        request: httpx.Request,
        *,
        stream: bool = False,  # type: ignore[override]
        **kwargs: Any,
    ) -> httpx.Response:
        request.extensions[_STREAM_KEY] = stream  # `client.stream(...)` reads incrementally
        return super().send(request, stream=stream, **kwargs)

    def websocket_connect(
        self,
        url: str,
        subprotocols: Sequence[str] = (),
        *,
        headers: dict[str, str] | None = None,
        close_timeout: float = 5.0,
    ) -> WebSocketTestSession:
        """Open a WebSocket to the app; use the result as a context manager.

        The handshake happens on ``__enter__``: a refusal raises :class:`WebSocketDisconnect`
        (the app closed) or :class:`WebSocketDenialResponse` (the app answered with HTTP).
        Cookies and default headers of the client are sent.
        """
        request = self.build_request("GET", url, headers=headers)
        return WebSocketTestSession(
            self, self._websocket_core(request, subprotocols, close_timeout)
        )

    def __enter__(self) -> TestClient:
        stack = contextlib.ExitStack()
        portal = stack.enter_context(
            anyio.from_thread.start_blocking_portal(self.backend, self.backend_options)
        )
        try:
            self._lifespan.prepare()
            future, _ = portal.start_task(self._lifespan.run)
            stack.callback(self._stop_lifespan, portal, future)
        except BaseException:
            stack.close()
            raise
        self._portal = portal
        self._exit_stack = stack
        return self

    def _stop_lifespan(self, portal: anyio.from_thread.BlockingPortal, future: Any) -> None:
        portal.call(self._lifespan._stop.set)
        future.result()

    def __exit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc: BaseException | None = None,
        tb: TracebackType | None = None,
    ) -> None:
        for body in list(self._open_bodies):  # a stream left open must not hang the exit
            body.close()
        self._portal = None
        stack, self._exit_stack = self._exit_stack, None
        if stack is not None:
            stack.close()
        super().__exit__(exc_type, exc, tb)


class AsyncTestClient(_AppClient, httpx.AsyncClient):
    """Async client: ``async with AsyncTestClient(app) as client: await client.get("/")``."""

    __test__ = False

    def __init__(
        self,
        app: ASGIApp,
        base_url: str = "http://testserver",
        *,
        raise_server_exceptions: bool = True,
        root_path: str = "",
        client: tuple[str, int] = ("testclient", 50000),
        follow_redirects: bool = True,
        cookies: httpx._types.CookieTypes | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self._init_app(
            app, raise_server_exceptions=raise_server_exceptions, root_path=root_path, client=client
        )
        self._task_group: anyio.abc.TaskGroup | None = None
        super().__init__(
            base_url=base_url,
            transport=_AsyncTransport(self),
            follow_redirects=follow_redirects,
            cookies=cookies,
            headers=_default_headers(headers),
            event_hooks={"response": [self._expose]},
        )

    @staticmethod
    async def _expose(response: httpx.Response) -> None:
        _expose_template(response)

    def websocket_connect(
        self,
        url: str,
        subprotocols: Sequence[str] = (),
        *,
        headers: dict[str, str] | None = None,
        close_timeout: float = 5.0,
    ) -> AsyncWebSocketTestSession:
        """Open a WebSocket to the app: ``async with client.websocket_connect("/ws") as ws``."""
        self._warn_without_lifespan()
        request = self.build_request("GET", url, headers=headers)
        return AsyncWebSocketTestSession(self._websocket_core(request, subprotocols, close_timeout))

    def _warn_without_lifespan(self) -> None:
        if self._task_group is None and self._lifespan_warning_due():
            warnings.warn(
                "AsyncTestClient used without running the app's lifespan (startup hooks and "
                "lifespan contexts did not run); use `async with AsyncTestClient(app) as c:`",
                LifespanNotRunWarning,
                stacklevel=3,
            )

    async def send(
        self,
        request: httpx.Request,
        *,
        stream: bool = False,  # type: ignore[override]
        **kwargs: Any,
    ) -> httpx.Response:
        self._warn_without_lifespan()
        request.extensions[_STREAM_KEY] = stream
        return await super().send(request, stream=stream, **kwargs)

    async def __aenter__(self) -> AsyncTestClient:
        await super().__aenter__()
        self._task_group = anyio.create_task_group()
        await self._task_group.__aenter__()
        self._lifespan.prepare()
        await self._task_group.start(self._lifespan.run)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc: BaseException | None = None,
        tb: TracebackType | None = None,
    ) -> None:
        for body in list(self._open_bodies):
            await body.aclose()
        if self._task_group is not None:
            self._lifespan._stop.set()
            await self._task_group.__aexit__(None, None, None)
            self._task_group = None
        await super().__aexit__(exc_type, exc, tb)


# --------------------------------------------------------------------------- WebSocket
class WebSocketDenialResponse(Exception):
    """The app refused the handshake with an HTTP response (``websocket.http.response``)."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self.status_code = response.status_code
        super().__init__(f"WebSocket handshake denied with HTTP {response.status_code}")


_APP_EXIT = "lamina.testclient.app_exit"


class _WebSocketCore:
    """One WebSocket conversation with the app, on the portal's (or caller's) event loop.

    The app runs as a task; two unbounded queues carry the ASGI messages either way. When
    the app returns or raises, a sentinel wakes any waiting receiver.
    """

    def __init__(
        self,
        app: ASGIApp,
        scope: dict[str, Any],
        raise_server_exceptions: bool,
        close_timeout: float,
    ) -> None:
        self.app = app
        self.scope = scope
        self.raise_server_exceptions = raise_server_exceptions
        self.close_timeout = close_timeout
        self.accepted_subprotocol: str | None = None
        self.extra_headers: list[tuple[bytes, bytes]] = []
        self.exception: BaseException | None = None
        self.client_closed = False
        self.app_closed: tuple[int, str] | None = None

    def open_streams(self) -> None:
        """Create the queues and events; must run on the loop that will use them."""
        self._to_app, self._app_inbox = anyio.create_memory_object_stream[Message](math.inf)
        self._app_outbox, self._from_app = anyio.create_memory_object_stream[Message](math.inf)
        self.done = anyio.Event()
        self._cancel = anyio.CancelScope()

    async def run_app(self) -> None:
        with self._cancel:
            try:
                await self.app(self.scope, self._app_inbox.receive, self._app_send)
            except Exception as exc:
                self.exception = exc
            finally:
                self.done.set()
                self._app_outbox.send_nowait({"type": _APP_EXIT})

    async def _app_send(self, message: Message) -> None:
        if self.app_closed is not None and message["type"] != "websocket.http.response.body":
            raise RuntimeError(f"the app sent {message['type']!r} after closing the WebSocket")
        if message["type"] == "websocket.close":
            self.app_closed = (message.get("code", 1000), message.get("reason") or "")
        await self._app_outbox.send(message)

    async def _next(self) -> Message:
        message = await self._from_app.receive()
        if message["type"] == _APP_EXIT:
            self._app_outbox.send_nowait(message)  # later receivers see it too
            if self.exception is not None:
                if self.raise_server_exceptions:
                    exc, self.exception = self.exception, None
                    raise exc
                raise WebSocketDisconnect(1011, "server error")
            raise WebSocketDisconnect(1006, "the app returned without closing the WebSocket")
        return message

    async def connect(self) -> None:
        await self._to_app.send({"type": "websocket.connect"})
        message = await self._next()
        mtype = message["type"]
        if mtype == "websocket.accept":
            self.accepted_subprotocol = message.get("subprotocol")
            self.extra_headers = list(message.get("headers") or [])
            return
        if mtype == "websocket.close":
            raise WebSocketDisconnect(message.get("code", 1000), message.get("reason") or "")
        if mtype == "websocket.http.response.start":
            status, headers = message["status"], list(message.get("headers") or [])
            chunks: list[bytes] = []
            while True:
                body = await self._next()
                if body["type"] != "websocket.http.response.body":
                    raise RuntimeError(
                        f"expected websocket.http.response.body, got {body['type']!r}"
                    )
                chunks.append(bytes(body.get("body", b"")))
                if not body.get("more_body", False):
                    break
            response = httpx.Response(status, headers=headers, content=b"".join(chunks))
            raise WebSocketDenialResponse(response)
        raise RuntimeError(f"the app sent {mtype!r} during the WebSocket handshake")

    async def send(self, message: Message) -> None:
        await self._to_app.send(message)

    async def receive(self) -> Message:
        return await self._next()

    async def close(self, code: int, reason: str | None) -> None:
        """Tell the app the client went away, then let it finish (bounded) and re-raise."""
        if not self.client_closed:
            self.client_closed = True
            await self._to_app.send(
                {"type": "websocket.disconnect", "code": code, "reason": reason or ""}
            )
        with anyio.move_on_after(self.close_timeout):
            await self.done.wait()
        if not self.done.is_set():
            self._cancel.cancel()
            await self.done.wait()
        for stream in (self._to_app, self._app_inbox, self._app_outbox, self._from_app):
            stream.close()
        if self.exception is not None and self.raise_server_exceptions:
            exc, self.exception = self.exception, None
            raise exc


def _payload(message: Message, key: str, kind: str) -> Any:
    """``message[key]`` of a ``websocket.send``; the app's close raises WebSocketDisconnect."""
    if message["type"] == "websocket.close":
        raise WebSocketDisconnect(message.get("code", 1000), message.get("reason") or "")
    data = message.get(key)
    if data is None:
        raise TypeError(f"expected a {kind} message, got {message!r}")
    return data


def _text_of(message: Message) -> str:
    return _payload(message, "text", "text")  # type: ignore[no-any-return]


def _bytes_of(message: Message) -> bytes:
    return bytes(_payload(message, "bytes", "binary"))


def _json_message(data: Any, mode: str) -> Message:
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    if mode == "text":
        return {"type": "websocket.receive", "text": text}
    if mode == "binary":
        return {"type": "websocket.receive", "bytes": text.encode()}
    raise ValueError(f"mode must be 'text' or 'binary', got {mode!r}")


def _websocket_scope(
    handler: _ASGIHandler, request: httpx.Request, subprotocols: Sequence[str]
) -> dict[str, Any]:
    scope = handler.scope_for(request)
    del scope["method"]
    scheme = {"http": "ws", "https": "wss"}.get(scope["scheme"], scope["scheme"])
    headers = [(k, v) for k, v in scope["headers"] if k not in _WS_HANDSHAKE_HEADERS]
    headers += [
        (b"connection", b"upgrade"),
        (b"upgrade", b"websocket"),
        (b"sec-websocket-version", b"13"),
        (b"sec-websocket-key", base64.b64encode(os.urandom(16))),
    ]
    if subprotocols:
        headers.append((b"sec-websocket-protocol", ", ".join(subprotocols).encode("latin-1")))
    scope.update(
        type="websocket",
        scheme=scheme,
        headers=headers,
        subprotocols=list(subprotocols),
        extensions={"websocket.http.response": {}},
    )
    return scope


_WS_HANDSHAKE_HEADERS = frozenset(
    {
        b"connection",
        b"upgrade",
        b"sec-websocket-version",
        b"sec-websocket-key",
        b"sec-websocket-protocol",
        b"content-length",
        b"accept-encoding",
    }
)


def _text_message(data: str) -> Message:
    return {"type": "websocket.receive", "text": data}


def _bytes_message(data: bytes) -> Message:
    return {"type": "websocket.receive", "bytes": bytes(data)}


def _json_of(message: Message, mode: str) -> Any:
    raw = _text_of(message) if mode == "text" else _bytes_of(message).decode()
    return json.loads(raw)


class _WebSocketSession:
    """What both session classes read straight from the core; their I/O differs (a portal
    call for the sync one, an await for the async one), the messages do not."""

    __test__ = False
    _core: _WebSocketCore

    @property
    def accepted_subprotocol(self) -> str | None:
        return self._core.accepted_subprotocol

    @property
    def extra_headers(self) -> list[tuple[bytes, bytes]]:
        """Headers the app sent with ``websocket.accept``."""
        return self._core.extra_headers


class WebSocketTestSession(_WebSocketSession):
    """A synchronous WebSocket conversation: ``with client.websocket_connect("/ws") as ws``.

    Leaving the ``with`` block closes the connection (code 1000), waits for the app to
    finish (cancelling it after ``close_timeout`` seconds) and re-raises its exception.
    """

    def __init__(self, client: TestClient, core: _WebSocketCore) -> None:
        self._client = client
        self._core = core
        self._stack = contextlib.ExitStack()
        self._portal: anyio.from_thread.BlockingPortal | None = None

    def __enter__(self) -> WebSocketTestSession:
        stack = self._stack
        portal = stack.enter_context(self._client._portal_for_request())
        self._portal = portal
        try:
            portal.call(self._core.open_streams)
            future = portal.start_task_soon(self._core.run_app)
            stack.callback(future.result)
            stack.callback(self._shutdown)
            portal.call(self._core.connect)
        except BaseException:
            self._stack.close()
            raise
        return self

    def _shutdown(self) -> None:
        """Used when the handshake failed or the block exits: never leave the app running."""
        assert self._portal is not None
        self._portal.call(self._core.close, 1000, None)

    def __exit__(self, *exc_info: object) -> None:
        self._stack.close()

    # sending ---------------------------------------------------------------
    def _call(self, fn: Any, *args: Any) -> Any:
        if self._portal is None:
            raise RuntimeError("use the session inside `with client.websocket_connect(...)`")
        return self._portal.call(fn, *args)

    def send(self, message: Message) -> None:
        """Send a raw ASGI message to the app (``websocket.receive`` normally)."""
        self._call(self._core.send, message)

    def send_text(self, data: str) -> None:
        self.send(_text_message(data))

    def send_bytes(self, data: bytes) -> None:
        self.send(_bytes_message(data))

    def send_json(self, data: Any, mode: str = "text") -> None:
        self.send(_json_message(data, mode))

    # receiving -------------------------------------------------------------
    def receive(self) -> Message:
        """The next raw ASGI message from the app (``websocket.send`` or ``websocket.close``)."""
        return self._call(self._core.receive)  # type: ignore[no-any-return]

    def receive_text(self) -> str:
        return _text_of(self.receive())

    def receive_bytes(self) -> bytes:
        return _bytes_of(self.receive())

    def receive_json(self, mode: str = "text") -> Any:
        return _json_of(self.receive(), mode)

    def close(self, code: int = 1000, reason: str | None = None) -> None:
        """Close from the client side and wait for the app to finish."""
        self._call(self._core.close, code, reason)


class AsyncWebSocketTestSession(_WebSocketSession):
    """The async twin of :class:`WebSocketTestSession`.

    ``async with client.websocket_connect("/ws") as ws: await ws.send_text("hi")``
    """

    def __init__(self, core: _WebSocketCore) -> None:
        self._core = core
        self._task_group: anyio.abc.TaskGroup | None = None

    async def __aenter__(self) -> AsyncWebSocketTestSession:
        self._core.open_streams()
        tg = anyio.create_task_group()
        await tg.__aenter__()
        self._task_group = tg
        tg.start_soon(self._core.run_app)
        try:
            await self._core.connect()
        except BaseException as exc:
            await self._finish()
            await tg.__aexit__(type(exc), exc, exc.__traceback__)
            raise
        return self

    async def _finish(self) -> None:
        await self._core.close(1000, None)

    async def __aexit__(self, *exc_info: Any) -> None:
        tg, self._task_group = self._task_group, None
        try:
            await self._finish()
        finally:
            if tg is not None:
                await tg.__aexit__(None, None, None)

    async def send(self, message: Message) -> None:
        await self._core.send(message)

    async def send_text(self, data: str) -> None:
        await self.send(_text_message(data))

    async def send_bytes(self, data: bytes) -> None:
        await self.send(_bytes_message(data))

    async def send_json(self, data: Any, mode: str = "text") -> None:
        await self.send(_json_message(data, mode))

    async def receive(self) -> Message:
        return await self._core.receive()

    async def receive_text(self) -> str:
        return _text_of(await self.receive())

    async def receive_bytes(self) -> bytes:
        return _bytes_of(await self.receive())

    async def receive_json(self, mode: str = "text") -> Any:
        return _json_of(await self.receive(), mode)

    async def close(self, code: int = 1000, reason: str | None = None) -> None:
        await self._core.close(code, reason)
