"""The test client's WebSocket session: the server's half of an ASGI WebSocket, in-process.

Why here, in the kernel, and not in lamina-websocket: the session plays the part a server
plays (uvicorn, hypercorn) and speaks only the ASGI WebSocket messages of the ASGI spec. It
works against any ASGI app (a raw ASGI endpoint, a mounted Starlette app, a Lamina app with
or without lamina-websocket), and ``TestClient.websocket_connect`` has to exist whatever
plugins are installed, since the kernel never imports a plugin. The protocol logic of the
*app* side (accepting, the connection object, the close rules) is the plugin's.

:class:`WebSocketCore` runs one conversation on the event loop; the sync and async sessions
are thin I/O wrappers around it (a portal call, or an await).
"""

from __future__ import annotations

import base64
import contextlib
import json
import math
import os
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol, TypeVar

import anyio
import anyio.abc
import anyio.from_thread
import httpx

from .._exceptions import WebSocketDisconnect
from ..types import ASGIApp, Message

_T = TypeVar("_T")

__all__ = [
    "AsyncWebSocketTestSession",
    "WebSocketCore",
    "WebSocketDenialResponse",
    "WebSocketTestSession",
    "websocket_scope",
]


class _PortalSource(Protocol):
    """What the sync session needs from its client: an event loop to run on."""

    def _portal_for_request(self) -> AbstractContextManager[anyio.from_thread.BlockingPortal]: ...


class WebSocketDenialResponse(Exception):
    """The app refused the handshake with an HTTP response (``websocket.http.response``)."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self.status_code = response.status_code
        super().__init__(f"WebSocket handshake denied with HTTP {response.status_code}")


_APP_EXIT = "lamina.testclient.app_exit"
#: What a close frame holds of a reason (RFC 6455 section 5.5: 125 bytes minus the code).
MAX_CLOSE_REASON_BYTES = 123


class WebSocketCore:
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
            reason = message.get("reason") or ""
            size = len(reason.encode("utf-8", "replace"))
            if size > MAX_CLOSE_REASON_BYTES:
                # uvicorn drops the connection without a close frame (the client sees 1006),
                # wsproto cuts the reason: refuse it here, so a test sees the bug
                raise RuntimeError(
                    f"the app sent a close reason of {size} bytes; a close frame holds "
                    f"{MAX_CLOSE_REASON_BYTES} bytes of UTF-8"
                )
            self.app_closed = (message.get("code", 1000), reason)
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
    text: str = _payload(message, "text", "text")
    return text


def _bytes_of(message: Message) -> bytes:
    return bytes(_payload(message, "bytes", "binary"))


def _json_message(data: Any, mode: str) -> Message:
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    if mode == "text":
        return {"type": "websocket.receive", "text": text}
    if mode == "binary":
        return {"type": "websocket.receive", "bytes": text.encode()}
    raise ValueError(f"mode must be 'text' or 'binary', got {mode!r}")


def websocket_scope(http_scope: dict[str, Any], subprotocols: Sequence[str]) -> dict[str, Any]:
    """The handshake's scope, made from the scope the same request would have over HTTP."""
    scope = http_scope
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
    _core: WebSocketCore

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

    def __init__(self, client: _PortalSource, core: WebSocketCore) -> None:
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
    def _call(self, fn: Callable[..., Awaitable[_T]], *args: Any) -> _T:
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
        return self._call(self._core.receive)

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

    def __init__(self, core: WebSocketCore) -> None:
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
