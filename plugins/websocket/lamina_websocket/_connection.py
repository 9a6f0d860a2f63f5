"""The ``WebSocket`` connection object: the ASGI WebSocket protocol with its order enforced.

Why the state checks: the ASGI messages are easy to send out of order (send before accept,
receive after the client left), and servers answer that with confusing low-level errors. The
object keeps one state per direction and says exactly what went wrong and what to call.
"""

from __future__ import annotations

import enum
import json
from collections.abc import AsyncIterator, Iterable, Mapping
from typing import Any, Literal

from lamina import HTTPConnection, WebSocketDisconnect, WebSocketException
from lamina.plugin import Message, Receive, Scope, Send

__all__ = [
    "MAX_CLOSE_REASON_BYTES",
    "MAX_MESSAGE_SIZE_KEY",
    "RECORD_KEY",
    "ConnectionRecord",
    "WebSocket",
    "WebSocketDisconnect",
    "WebSocketState",
    "check_close_code",
    "close_reason",
]

#: Scope key holding the message size limit in bytes (``None``: no limit). The protocol
#: handler sets the plugin's setting; a ``WebSocketRoute`` may override it.
MAX_MESSAGE_SIZE_KEY = "lamina.websocket.max_message_size"
#: The ASGI extension that lets an app answer the handshake with an HTTP response.
HTTP_RESPONSE_EXTENSION = "websocket.http.response"


def can_deny(scope: Scope) -> bool:
    """Whether the server takes an HTTP response in place of the handshake (checked
    defensively: a malformed scope may hold anything under ``extensions``)."""
    extensions = scope.get("extensions")
    return isinstance(extensions, dict) and HTTP_RESPONSE_EXTENSION in extensions


# Close codes (RFC 6455 section 7.4.1).
CLOSE_NORMAL = 1000
CLOSE_GOING_AWAY = 1001
CLOSE_POLICY_VIOLATION = 1008
CLOSE_UNSUPPORTED_DATA = 1003
CLOSE_TOO_BIG = 1009
CLOSE_INTERNAL_ERROR = 1011


def check_close_code(code: int) -> int:
    """``code`` if a close frame may carry it (RFC 6455 section 7.4), else ``ValueError``.

    Why check: 1005, 1006 and 1015 only describe what happened and must never be sent, and
    codes below 1000 or above 4999 are invalid; servers answer them inconsistently (an
    abnormal 1006 end, a silently different code, or a crash in the server's encoder).
    """
    if type(code) is not int or not (
        1000 <= code <= 1003 or 1007 <= code <= 1014 or 3000 <= code <= 4999
    ):
        raise ValueError(
            f"{code!r} is not a close code an endpoint may send: use 1000-1003, "
            "1007-1014 or 3000-4999 (4000-4999 are for applications)"
        )
    return code


def _check_mode(mode: str) -> None:
    if mode != "text" and mode != "binary":
        raise ValueError(f"mode must be 'text' or 'binary', got {mode!r}")


#: A close frame's payload is at most 125 bytes: the 2-byte code, then the reason in UTF-8
#: (RFC 6455 sections 5.5 and 7.1.6).
MAX_CLOSE_REASON_BYTES = 123


def close_reason(reason: str | None) -> str:
    """``reason`` cut to the 123 UTF-8 bytes a close frame holds, on a character boundary.

    Why: servers disagree about a longer one. uvicorn's ``websockets`` implementations drop
    the connection without a close frame (the client sees 1006) while wsproto cuts it; cut
    here, every server sends the same close. A lone surrogate cannot be encoded for the wire
    and becomes ``?``.
    """
    if not reason:
        return ""
    try:
        raw = reason.encode("utf-8")
    except UnicodeEncodeError:
        raw = reason.encode("utf-8", "replace")
    else:
        if len(raw) <= MAX_CLOSE_REASON_BYTES:
            return reason
    return raw[:MAX_CLOSE_REASON_BYTES].decode("utf-8", "ignore")


#: Scope key of the :class:`ConnectionRecord` the protocol handler reads once the endpoint
#: ended (normally or by raising).
RECORD_KEY = "lamina.websocket.record"


class ConnectionRecord:
    """How far one connection got, for the protocol handler's error path.

    Every :class:`WebSocket` built on the scope keeps it up to date on the rare transitions
    (accept, close, denial, client gone), so the handler needs no wrapper around every
    message. ``tracked`` stays false when the endpoint never built a WebSocket (a raw ASGI
    endpoint): the handler then only does what is safe without knowing the state.
    """

    __slots__ = ("accepted", "client_gone", "done", "tracked")

    def __init__(self) -> None:
        self.accepted = False
        #: Closed, or answered with an HTTP response: nothing more may be sent.
        self.done = False
        self.client_gone = False
        self.tracked = False


class WebSocketState(enum.Enum):
    """Where one direction of the connection stands."""

    CONNECTING = 0
    CONNECTED = 1
    DISCONNECTED = 2
    #: The handshake was answered with an HTTP response instead of being accepted.
    RESPONSE = 3


class WebSocket(HTTPConnection):
    """A WebSocket connection; also an :class:`lamina.HTTPConnection`, so headers, cookies,
    ``url``, ``state`` and what session/auth plugins put on the scope work as for requests.
    """

    __slots__ = (
        "_receive",
        "_record",
        "_send",
        "application_state",
        "client_state",
        "max_message_size",
    )

    def __init__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket":
            raise ValueError(f"WebSocket needs a 'websocket' scope, got {scope['type']!r}")
        super().__init__(scope)
        self._receive = receive
        self._send = send
        #: What the client did: connecting, connected (handshake received), disconnected.
        self.client_state = WebSocketState.CONNECTING
        #: What this side did: connecting, connected (accepted), disconnected (closed),
        #: or answered the handshake with an HTTP response.
        self.application_state = WebSocketState.CONNECTING
        self.max_message_size: int | None = scope.get(MAX_MESSAGE_SIZE_KEY)
        record = scope.get(RECORD_KEY)
        if record is None:
            record = ConnectionRecord()
        record.tracked = True
        self._record: ConnectionRecord = record

    # ------------------------------------------------------------------ properties
    @property
    def subprotocols(self) -> list[str]:
        """What the client offered in ``Sec-WebSocket-Protocol``, in its order."""
        return list(self.scope.get("subprotocols", ()))

    @property
    def connected(self) -> bool:
        return (
            self.application_state is WebSocketState.CONNECTED
            and self.client_state is WebSocketState.CONNECTED
        )

    # ------------------------------------------------------------------ raw messages
    async def receive(self) -> Message:
        """The next ASGI message, checked against the protocol order and the size limit."""
        state = self.client_state
        if state is WebSocketState.CONNECTED:
            message = await self._receive()
            mtype = message["type"]
            if mtype == "websocket.receive":
                limit = self.max_message_size
                if limit is not None:
                    # Inline fast check; UTF-8 takes at most 4 bytes per character.
                    text = message.get("text")
                    if (
                        len(text) * 4 > limit
                        if text is not None
                        else len(message.get("bytes") or b"") > limit
                    ):
                        await self._check_size(message, limit)
                return message
            if mtype == "websocket.disconnect":
                self.client_state = WebSocketState.DISCONNECTED
                self._record.client_gone = True
                return message
            raise RuntimeError(f"unexpected ASGI message {mtype!r} on a connected WebSocket")
        if state is WebSocketState.DISCONNECTED:
            raise RuntimeError("cannot receive: the client already disconnected")
        message = await self._receive()
        mtype = message["type"]
        if mtype == "websocket.connect":
            self.client_state = WebSocketState.CONNECTED
        elif mtype == "websocket.disconnect":
            self.client_state = WebSocketState.DISCONNECTED
            self._record.client_gone = True
        else:
            raise RuntimeError(f"expected 'websocket.connect' first, got {mtype!r}")
        return message

    async def _check_size(self, message: Message, limit: int) -> None:
        data = message.get("bytes")
        if data is not None:
            too_big = len(data) > limit
        else:
            text = message.get("text") or ""
            # UTF-8 takes at most 4 bytes per character: encode only when it could matter.
            too_big = len(text) > limit or (
                len(text) * 4 > limit and len(text.encode("utf-8")) > limit
            )
        if too_big:
            reason = f"message larger than {limit} bytes"
            await self.close(CLOSE_TOO_BIG, reason)
            self.client_state = WebSocketState.DISCONNECTED
            raise WebSocketDisconnect(CLOSE_TOO_BIG, reason)

    async def send(self, message: Message) -> None:
        """Send one ASGI message, refusing what the current state does not allow."""
        state = self.application_state
        mtype = message["type"]
        if mtype == "websocket.close" and message.get("reason"):
            message = {**message, "reason": close_reason(message["reason"])}
        if state is WebSocketState.CONNECTED:
            if mtype == "websocket.close":
                self.application_state = WebSocketState.DISCONNECTED
                self._record.done = True
            elif mtype != "websocket.send":
                raise RuntimeError(f"cannot send {mtype!r} on an accepted WebSocket")
        elif state is WebSocketState.CONNECTING:
            if mtype == "websocket.accept":
                self.application_state = WebSocketState.CONNECTED
                self._record.accepted = True
            elif mtype == "websocket.close":
                self.application_state = WebSocketState.DISCONNECTED
                self._record.done = True
            elif mtype == "websocket.http.response.start":
                if not can_deny(self.scope):
                    raise RuntimeError(
                        "the server does not support the 'websocket.http.response' extension"
                    )
                self.application_state = WebSocketState.RESPONSE
                self._record.done = True
            else:
                raise RuntimeError(
                    f"cannot send {mtype!r} before the connection is accepted: call accept() first"
                )
        elif state is WebSocketState.RESPONSE:
            if mtype != "websocket.http.response.body":
                raise RuntimeError(f"cannot send {mtype!r} while sending an HTTP response")
            if not message.get("more_body", False):
                self.application_state = WebSocketState.DISCONNECTED
        else:
            raise RuntimeError(f"cannot send {mtype!r}: the WebSocket is already closed")
        await self._send(message)

    # ------------------------------------------------------------------ handshake
    async def accept(
        self,
        subprotocol: str | None = None,
        headers: Mapping[str, str] | Iterable[tuple[bytes, bytes]] | None = None,
    ) -> None:
        """Complete the handshake, optionally choosing one of :attr:`subprotocols`."""
        if self.client_state is WebSocketState.CONNECTING:
            await self.receive()
        if self.client_state is WebSocketState.DISCONNECTED:
            raise WebSocketDisconnect(CLOSE_NORMAL, "the client left before the handshake")
        if self.application_state is not WebSocketState.CONNECTING:
            raise RuntimeError("accept() called twice, or after close()")
        if subprotocol is not None and subprotocol not in self.scope.get("subprotocols", ()):
            # A client fails the handshake when the server picks what it did not offer.
            raise ValueError(
                f"subprotocol {subprotocol!r} was not offered by the client "
                f"(offered: {self.subprotocols}); pick one of them or None"
            )
        raw: list[tuple[bytes, bytes]] = []
        if headers is not None:
            items = headers.items() if isinstance(headers, Mapping) else headers
            for key, value in items:
                k = key.lower().encode("latin-1") if isinstance(key, str) else key.lower()
                v = value.encode("latin-1") if isinstance(value, str) else value
                if b"\r" in v or b"\n" in v or b"\x00" in v:
                    raise ValueError(f"header {k!r} contains CR, LF or NUL")
                raw.append((k, v))
        message: Message = {"type": "websocket.accept", "headers": raw}
        if subprotocol is not None:
            message["subprotocol"] = subprotocol
        await self.send(message)

    async def close(self, code: int = CLOSE_NORMAL, reason: str | None = None) -> None:
        """Close (or, before accept, refuse: the server answers the handshake with 403).

        ``code`` must be one a close frame may carry (see :func:`check_close_code`).
        """
        check_close_code(code)
        await self.send({"type": "websocket.close", "code": code, "reason": reason or ""})

    async def send_denial_response(self, response: Any) -> None:
        """Refuse the handshake with an HTTP response (any :class:`lamina.Response`).

        Uses the ``websocket.http.response`` extension; where the server lacks it, the
        connection is closed with 1008 instead, which the server answers with a 403.
        """
        if self.application_state is not WebSocketState.CONNECTING:
            raise RuntimeError("a denial response can only be sent before accept()")
        if not can_deny(self.scope):
            await self.close(CLOSE_POLICY_VIOLATION)
            return

        async def send_as_websocket(message: Message) -> None:
            if message["type"].startswith("http."):  # a response that only speaks HTTP
                message = {**message, "type": "websocket." + message["type"]}
            await self.send(message)

        await response(self.scope, self._receive, send_as_websocket)

    # ------------------------------------------------------------------ data
    def _check_accepted(self) -> None:
        if self.application_state is not WebSocketState.CONNECTED:
            if self.application_state is WebSocketState.CONNECTING:
                raise RuntimeError("the WebSocket is not accepted yet: call accept() first")
            raise RuntimeError("the WebSocket is already closed")

    async def _receive_data(self, key: str, refusal: str) -> Any:
        """``message[key]`` of the next message; the other kind is refused with 1003."""
        self._check_accepted()
        message = await self.receive()
        if message["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(
                message.get("code", CLOSE_NORMAL), message.get("reason") or ""
            )
        data = message.get(key)
        if data is None:
            raise WebSocketException(CLOSE_UNSUPPORTED_DATA, refusal)
        return data

    async def receive_text(self) -> str:
        """The next text message; a binary message is refused with close code 1003."""
        text: str = await self._receive_data("text", "expected a text message")
        return text

    async def receive_bytes(self) -> bytes:
        """The next binary message; a text message is refused with close code 1003."""
        data: bytes = await self._receive_data("bytes", "expected a binary message")
        return data

    async def receive_json(self, mode: Literal["text", "binary"] = "text") -> Any:
        """The next message parsed as JSON; a wrong frame kind or invalid JSON closes 1003."""
        _check_mode(mode)
        raw: str | bytes = (
            await self.receive_text() if mode == "text" else await self.receive_bytes()
        )
        try:
            return json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise WebSocketException(CLOSE_UNSUPPORTED_DATA, "invalid JSON") from None

    def iter_text(self) -> AsyncIterator[str]:
        """Text messages until the client disconnects."""
        return self._iter_data("text", "expected a text message")

    def iter_bytes(self) -> AsyncIterator[bytes]:
        """Binary messages until the client disconnects."""
        return self._iter_data("bytes", "expected a binary message")

    async def _iter_data(self, key: str, refusal: str) -> AsyncIterator[Any]:
        """``message[key]`` of each message until the client disconnects; a message of the
        other kind is refused with close code 1003. Runs lazily, like an async generator
        method: the accepted check happens on the first iteration."""
        self._check_accepted()
        receive = self.receive
        try:
            while True:
                message = await receive()
                data = message.get(key)
                if data is None:
                    if message["type"] == "websocket.disconnect":
                        return
                    raise WebSocketException(CLOSE_UNSUPPORTED_DATA, refusal)
                yield data
        except WebSocketDisconnect:  # closed for a message over the size limit
            return

    async def iter_json(self, mode: Literal["text", "binary"] = "text") -> AsyncIterator[Any]:
        """JSON messages until the client disconnects."""
        _check_mode(mode)
        try:
            while True:
                yield await self.receive_json(mode)
        except WebSocketDisconnect:
            return

    async def send_text(self, data: str) -> None:
        if self.application_state is not WebSocketState.CONNECTED:
            self._check_accepted()
        await self._send({"type": "websocket.send", "text": data})

    async def send_bytes(self, data: bytes) -> None:
        if self.application_state is not WebSocketState.CONNECTED:
            self._check_accepted()
        await self._send({"type": "websocket.send", "bytes": bytes(data)})

    async def send_json(self, data: Any, mode: Literal["text", "binary"] = "text") -> None:
        """Compact JSON, UTF-8 kept as is; NaN and Infinity are refused (not JSON)."""
        _check_mode(mode)
        text = json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        if mode == "text":
            await self.send_text(text)
        else:
            await self.send_bytes(text.encode("utf-8"))
