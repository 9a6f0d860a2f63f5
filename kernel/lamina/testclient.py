"""An httpx client that talks to an ASGI app in-process.

``TestClient`` is synchronous: the app runs on an anyio event loop in a portal thread
(asyncio or trio). ``AsyncTestClient`` runs the app on the caller's loop. Both run the
lifespan when used as context managers, persist cookies, and re-raise server exceptions by
default so a failing endpoint fails the test with its own traceback.

``client.stream(...)`` (or ``send(..., stream=True)``) reads the body incrementally while the
app is still running, so an endless Server-Sent Events endpoint can be read a few events at a
time; closing the response early tells the app ``http.disconnect`` and ends its task. Other
requests run the app to completion and return the whole response.

``client.websocket_connect(url)`` opens a WebSocket session against any ASGI app; it lives
in the kernel because it is the server's half of the protocol (see
``lamina._testclient.websocket``). The code is in :mod:`lamina._testclient`; this module is
its public face.
"""

from __future__ import annotations

from ._exceptions import WebSocketDisconnect
from ._testclient.clients import AsyncTestClient, ClientOptions, TestClient
from ._testclient.lifespan import LifespanNotRunWarning
from ._testclient.websocket import (
    AsyncWebSocketTestSession,
    WebSocketDenialResponse,
    WebSocketTestSession,
)

__all__ = [
    "AsyncTestClient",
    "AsyncWebSocketTestSession",
    "ClientOptions",
    "LifespanNotRunWarning",
    "TestClient",
    "WebSocketDenialResponse",
    "WebSocketDisconnect",
    "WebSocketTestSession",
]
