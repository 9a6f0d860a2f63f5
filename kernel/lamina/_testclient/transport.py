"""The test client's transport: httpx requests turned into ASGI HTTP calls and back.

:class:`ASGIHandler` builds the scope and runs one request to completion (the usual case);
an :class:`~.exchange.Exchange` runs one whose caller reads the body as a stream while the app
is still sending (``client.stream(...)``). :class:`SyncTransport` and :class:`AsyncTransport`
plug both into httpx; a body still streaming is a ``_SyncBody`` or an ``_AsyncBody``.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any
from urllib.parse import unquote

import anyio
import anyio.abc
import anyio.from_thread
import httpx

from .._errors import RAISE_KEY
from ..types import ASGIApp, Message
from .exchange import Exchange, ResponseProgress, Start, complete_response, http_receive

__all__ = ["STREAM_KEY", "ASGIHandler", "AsyncTransport", "SyncTransport"]


STREAM_KEY = "lamina.stream"  # request extension: the caller reads the body as a stream
#: Where a swallowed server error is logged (``raise_server_exceptions=False``), once, as a
#: server logs what an app raises (the kernel re-raises a 500's exception, never logs it).
logger = logging.getLogger("lamina.testclient")


class ASGIHandler:
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
        progress = ResponseProgress()
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
            await self.app(scope, http_receive(request.read(), response_done), send)
        except Exception as exc:
            if self.raise_server_exceptions:
                raise
            logger.error("Exception in ASGI application", exc_info=exc)
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

    def exchange_for(self, request: httpx.Request) -> tuple[Exchange, dict[str, Any]]:
        scope = self.scope_for(request)
        return Exchange(self.app, scope, request.read(), self.raise_server_exceptions), scope


class _OpenBody:
    """What a still-streaming body shares in both clients: the exchange, the chunks read
    ahead, and its place in the client's set of open bodies (closed on client exit)."""

    def __init__(self, open_bodies: set[Any], exchange: Exchange, start: Start) -> None:
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
    request: httpx.Request, start: Start, body: httpx.SyncByteStream | httpx.AsyncByteStream
) -> httpx.Response:
    return httpx.Response(start.status, headers=start.headers, stream=body, request=request)


class _SyncBody(_OpenBody, httpx.SyncByteStream):
    """A body the app is still sending; every read hops to the portal's event loop."""

    def __init__(
        self,
        open_bodies: set[Any],
        portal: anyio.from_thread.BlockingPortal,
        exchange: Exchange,
        start: Start,
        stack: contextlib.ExitStack,
    ) -> None:
        super().__init__(open_bodies, exchange, start)
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


class SyncTransport(httpx.BaseTransport):
    """The sync client's transport: each request hops to an event loop in a portal thread
    (the client's while its ``with`` block runs, else one opened for the request)."""

    def __init__(
        self,
        handler: ASGIHandler,
        portal_for_request: Callable[[], AbstractContextManager[anyio.from_thread.BlockingPortal]],
        open_bodies: set[Any],
    ) -> None:
        self.handler = handler
        self.portal_for_request = portal_for_request
        self.open_bodies = open_bodies

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if not request.extensions.get(STREAM_KEY):  # read whole: one call, app finished
            with self.portal_for_request() as portal:
                return portal.call(self.handler.handle, request)
        exchange, scope = self.handler.exchange_for(request)
        stack = contextlib.ExitStack()
        try:
            portal = stack.enter_context(self.portal_for_request())
            future, start = portal.start_task(exchange.run)
            stack.callback(future.result)
            response = complete_response(request, exchange, start)
        except BaseException:
            stack.close()
            raise
        if response is None:
            assert start is not None
            response = _streaming_response(
                request, start, _SyncBody(self.open_bodies, portal, exchange, start, stack)
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
        open_bodies: set[Any],
        exchange: Exchange,
        start: Start,
        task_group: anyio.abc.TaskGroup,
    ) -> None:
        super().__init__(open_bodies, exchange, start)
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


class AsyncTransport(httpx.AsyncBaseTransport):
    """The async client's transport: the app runs on the caller's event loop."""

    def __init__(self, handler: ASGIHandler, open_bodies: set[Any]) -> None:
        self.handler = handler
        self.open_bodies = open_bodies

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if not request.extensions.get(STREAM_KEY):
            return await self.handler.handle(request)
        exchange, scope = self.handler.exchange_for(request)
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
            response = complete_response(request, exchange, start)
            assert response is not None
        else:
            response = _streaming_response(
                request, start, _AsyncBody(self.open_bodies, exchange, start, tg)
            )
        response.extensions["lamina.scope"] = scope
        return response
