"""One HTTP exchange whose response the caller reads while the app is still sending.

``client.stream(...)`` needs it, so that an endless Server-Sent Events endpoint can be read a
few events at a time and closed early; requests read whole go through the simpler
``ASGIHandler.handle`` (:mod:`.transport`). Both check the order of the app's messages with
:class:`ResponseProgress`.
"""

from __future__ import annotations

from typing import Any

import anyio
import anyio.abc
import httpx

from ..types import ASGIApp, Message

__all__ = ["Exchange", "ResponseProgress", "Start", "complete_response", "http_receive"]


class _ClientGone(OSError):
    """Raised from the app's ``send`` after the client closed the response early.

    ASGI 2.4 servers raise an ``OSError`` from ``send`` once the client is gone; the test
    client does the same, and does not report this one as a server exception.
    """


_BODY_BUFFER = 64  # body messages held before the app's send waits for the reader
_DISCONNECT_GRACE = 1.0  # seconds an app may take to finish after the client closed early


def http_receive(body: bytes, disconnected: anyio.Event) -> Any:
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


class ResponseProgress:
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


class Start:
    """What the app produced by the time the client can return a response."""

    __slots__ = ("chunks", "complete", "headers", "status")

    def __init__(
        self, status: int, headers: list[tuple[bytes, bytes]], chunks: list[bytes], complete: bool
    ) -> None:
        self.status = status
        self.headers = headers
        self.chunks = chunks
        self.complete = complete


class Exchange:
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
        self._progress = ResponseProgress()
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

    async def run(self, *, task_status: anyio.abc.TaskStatus[Start | None]) -> None:
        """The whole exchange as one task (the sync client starts it in its portal)."""
        self.open()
        async with anyio.create_task_group() as tg:
            tg.start_soon(self.run_app)
            task_status.started(await self.wait_start())

    async def wait_start(self) -> Start | None:
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
        return Start(first["status"], list(first.get("headers") or []), chunks, complete)

    async def run_app(self) -> None:
        with self._cancel:
            try:
                await self.app(self.scope, http_receive(self.body, self._disconnect), self._send)
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


def complete_response(
    request: httpx.Request, exchange: Exchange, start: Start | None
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
