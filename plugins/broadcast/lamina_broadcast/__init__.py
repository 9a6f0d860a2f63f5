"""lamina-broadcast: events fanned out to SSE and WebSocket subscribers, across workers.

::

    from lamina_broadcast import broadcast_for, sse_response, relay

    async def post(request):                          # any worker
        await broadcast_for(request).publish("room:1", await request.json(), event="chat")

    async def stream(request):                        # any other worker
        return sse_response(request, "room:1")        # resumes from Last-Event-ID

    async def socket(websocket):
        await websocket.accept()
        await relay(websocket, "room:1")

Settings (section ``[broadcast]``, :class:`BroadcastSettings`)::

    url          "memory://"    memory:// | redis://HOST:PORT/DB | redis+stream://HOST:PORT/DB
    max_backlog  256            events queued per subscriber before the overflow policy
    overflow     "drop_oldest"  drop_oldest (the subscriber sees a gap) | close
    history      1000           events kept per channel for replay
    ttl          3600           seconds a channel's history lives after its last event

The plugin builds one :class:`Broadcast` per app (``broadcast_for``) and runs its listener
in the app's lifespan: one listening connection and one supervised task per process,
reconnecting with capped, jittered backoff. ``memory://`` is one process only: it warns at
startup when the server runs several workers.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, Literal

from lamina import AssemblyError, Lamina, hookimpl

from ._backoff import Backoff
from ._events import BroadcastUnavailable, Event, EventKind
from ._hub import Broadcast, redact
from ._publisher import Publisher
from ._subscription import Overflow, Subscription
from ._web import EXTENSION_KEY, as_json, as_sse, broadcast_for, relay, sse_response

__all__ = [
    "Backoff",
    "Broadcast",
    "BroadcastSettings",
    "BroadcastUnavailable",
    "Event",
    "EventKind",
    "Overflow",
    "Publisher",
    "Subscription",
    "as_json",
    "as_sse",
    "broadcast_for",
    "relay",
    "sse_response",
]

logger = logging.getLogger("lamina.broadcast")
PLUGIN = "broadcast"
#: Set by ``lamina serve --workers N`` (``WEB_CONCURRENCY`` is uvicorn's and gunicorn's).
WORKER_ENV = ("LAMINA_WORKERS", "WEB_CONCURRENCY")


@dataclass(frozen=True)
class BroadcastSettings:
    """The ``[broadcast]`` section. Read ``url`` from the environment in deployments:
    ``url = {env = "BROADCAST_URL", default = "memory://"}``; a password in it never
    appears in logs, errors or reprs."""

    url: str = "memory://"
    max_backlog: int = 256
    overflow: Literal["drop_oldest", "close"] = "drop_oldest"
    history: int = 1000
    ttl: float = 3600

    def __post_init__(self) -> None:
        if self.max_backlog < 1:
            raise ValueError(f"max_backlog must be at least 1, not {self.max_backlog}")
        if self.overflow not in ("drop_oldest", "close"):
            raise ValueError(f"overflow must be 'drop_oldest' or 'close', not {self.overflow!r}")
        if self.history < 0:
            raise ValueError(f"history must be >= 0, not {self.history}")
        if self.ttl <= 0:
            raise ValueError(f"ttl must be positive, not {self.ttl}")
        scheme = self.url.partition("://")[0].lower()
        if scheme.endswith("+stream") and self.history < 1:
            raise ValueError("redis+stream:// needs history >= 1 (the stream is the log)")


def configured_workers() -> int:
    """How many worker processes the server says it runs (1 if it does not say)."""
    for name in WORKER_ENV:
        value = os.environ.get(name, "")
        if value.isdigit():
            return int(value)
    return 1


@hookimpl
def lamina_settings_schema() -> type:
    return BroadcastSettings


@hookimpl
def lamina_configure(app: Lamina, settings: BroadcastSettings) -> None:
    try:
        make_backend_check(settings.url)
    except ValueError as exc:
        raise AssemblyError(f"[{PLUGIN}] url: {exc}") from None
    app.extensions[EXTENSION_KEY] = Broadcast(
        settings.url,
        max_backlog=settings.max_backlog,
        overflow=settings.overflow,
        history=settings.history,
        ttl=settings.ttl,
    )


def make_backend_check(url: str) -> None:
    scheme, sep, _ = url.partition("://")
    if not sep or scheme.lower() not in (
        "memory",
        "redis",
        "rediss",
        "redis+stream",
        "rediss+stream",
    ):
        raise ValueError(
            f"{redact(url)!r}: expected memory://, redis://HOST:PORT/DB or "
            "redis+stream://HOST:PORT/DB"
        )


@hookimpl
def lamina_lifespan(app: Lamina) -> Callable[[Lamina], AbstractAsyncContextManager[Any]]:
    broadcast: Broadcast = app.extensions[EXTENSION_KEY]

    def running(_app: Lamina) -> AbstractAsyncContextManager[Any]:
        workers = configured_workers()
        if workers > 1 and broadcast.url.startswith("memory:"):
            logger.warning(
                "[broadcast] url is memory:// but the server runs %d workers: an event reaches "
                "only the subscribers of the worker that published it. Set [broadcast] url to "
                "redis://HOST:PORT/DB or redis+stream://HOST:PORT/DB.",
                workers,
            )
        return broadcast.running()

    return running
