"""lamina-sse: Server-Sent Events as a first-class response.

Return an :class:`EventSourceResponse` from any endpoint::

    from lamina_sse import EventSourceResponse, ServerSentEvent, last_event_id

    async def ticks(request):
        start = int(last_event_id(request) or 0)   # the browser resends it on reconnect

        async def events():
            for n in range(start + 1, start + 100):
                yield ServerSentEvent({"n": n}, id=n)
                await anyio.sleep(1)

        return EventSourceResponse(events())

The plugin contributes no routes or middleware. It supplies the defaults below and one
lifespan context that ends every open stream when the server starts shutting down, whichever
process the signal reaches (see :class:`lamina.plugin.ShutdownRegistry` for why that cannot
wait for the lifespan shutdown itself).

Settings (section ``[sse]``, :class:`SSESettings`):

``heartbeat_interval`` (float, 15.0)
    Seconds of silence after which a ``: ping`` comment is sent, keeping proxies from timing
    the stream out and noticing dead clients. ``0`` disables it.
``send_timeout`` (float | None, 30.0)
    Seconds one write may block (a client that stopped reading) before the client is dropped.
``close_on_signal`` (bool, True)
    End open streams as soon as the server starts shutting down: chain in front of the
    server's SIGINT/SIGTERM handlers (main thread only), and in a hypercorn worker process
    watch the event its parent sets.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any

from lamina import Lamina, hookimpl
from lamina.plugin import ShutdownRegistry

from ._event import ServerSentEvent, encode_event
from ._response import EXTENSION_KEY, EventSourceResponse, SSEConfig, last_event_id

#: The registry of open streams (the kernel's :class:`lamina.plugin.ShutdownRegistry`).
StreamRegistry = ShutdownRegistry

__all__ = [
    "EventSourceResponse",
    "SSEConfig",
    "SSESettings",
    "ServerSentEvent",
    "StreamRegistry",
    "close_streams",
    "encode_event",
    "last_event_id",
    "open_streams",
]


@dataclass(frozen=True)
class SSESettings:
    """The ``[sse]`` settings section."""

    heartbeat_interval: float = 15.0
    send_timeout: float | None = 30.0
    close_on_signal: bool = True

    def __post_init__(self) -> None:
        if self.heartbeat_interval < 0:
            raise ValueError("heartbeat_interval must be >= 0 (0 disables heartbeats)")
        if self.send_timeout is not None and self.send_timeout <= 0:
            raise ValueError("send_timeout must be > 0, or None to wait forever")


def _config(app: Lamina) -> SSEConfig:
    config: SSEConfig | None = app.extensions.get(EXTENSION_KEY)
    if config is None:
        raise LookupError("the sse plugin is not configured on this app")
    return config


def close_streams(app: Lamina) -> None:
    """End every open event stream of ``app`` (thread-safe; for custom server integrations)."""
    _config(app).registry.close_all_threadsafe()


def open_streams(app: Lamina) -> int:
    """How many event streams ``app`` is serving right now."""
    return len(_config(app).registry)


@hookimpl
def lamina_settings_schema() -> type:
    return SSESettings


@hookimpl
def lamina_configure(app: Lamina, settings: SSESettings) -> None:
    app.extensions[EXTENSION_KEY] = SSEConfig(
        heartbeat_interval=settings.heartbeat_interval,
        send_timeout=settings.send_timeout,
        close_on_signal=settings.close_on_signal,
        registry=ShutdownRegistry(),
    )


@hookimpl
def lamina_lifespan(app: Lamina) -> Callable[[Lamina], AbstractAsyncContextManager[Any]]:
    config = _config(app)

    def streams(_app: Lamina) -> AbstractAsyncContextManager[None]:
        return config.registry.running(handle_signals=config.close_on_signal)

    return streams
