"""The app the broadcast tests serve, in-process and as real uvicorn workers.

``from_env()`` is the uvicorn ``--factory`` target: its settings come from ``BROADCAST_*``
environment variables, so each worker process of a test is configured by its launcher.
"""

from __future__ import annotations

import os
from typing import Any

from lamina import JSONResponse, Lamina, Request
from lamina.testing import make_app
from lamina_broadcast import BroadcastUnavailable, Subscription, broadcast_for, relay, sse_response
from lamina_routing import Route
from lamina_websocket import WebSocket, WebSocketRoute

#: Server-side subscriptions that never read: the "slow subscriber" of the tests (with
#: their context managers, which must stay referenced or their cleanup would run).
held: list[Subscription] = []
_managers: list[Any] = []


async def publish(request: Request) -> JSONResponse:
    body = await request.json()
    try:
        event_id = await broadcast_for(request).publish(
            request.path_params["channel"], body.get("data"), event=body.get("event")
        )
    except BroadcastUnavailable as exc:
        return JSONResponse({"error": str(exc)}, 503)
    return JSONResponse({"id": event_id})


async def stream(request: Request) -> Any:
    return sse_response(request, *request.path_params["channels"].split(","))


async def socket(websocket: WebSocket) -> None:
    await websocket.accept()
    await relay(websocket, *websocket.path_params["channels"].split(","))


async def hold(request: Request) -> JSONResponse:
    """Subscribe and never read (the subscription lives until the worker stops)."""
    manager = broadcast_for(request).subscribe(request.path_params["channel"])
    held.append(await manager.__aenter__())
    _managers.append(manager)
    return JSONResponse({"held": len(held)})


async def stats(request: Request) -> JSONResponse:
    broadcast = broadcast_for(request)
    with open(f"/proc/{os.getpid()}/status") as status:
        rss_kb = next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))
    return JSONResponse(
        {
            "pid": os.getpid(),
            "connected": broadcast.connected,
            "connects": broadcast.connects,
            "subscribers": sum(len(c.subscribers) for c in broadcast._channels.values()),
            "dropped": [s.dropped for c in broadcast._channels.values() for s in c.subscribers],
            "held": [{"dropped": s.dropped, "queued": len(s._queue)} for s in held],
            "rss_kb": rss_kb,
        }
    )


def make(**settings: Any) -> Lamina:
    return make_app(
        "routing",
        "sse",
        "websocket",
        "broadcast",
        routes=[
            Route("/publish/{channel}", publish, methods=["POST"]),
            Route("/sse/{channels}", stream),
            Route("/hold/{channel}", hold, methods=["POST"]),
            Route("/stats", stats),
            WebSocketRoute("/ws/{channels}", socket),
        ],
        settings={"broadcast": settings, "sse": {"heartbeat_interval": 0}},
    )


def from_env() -> Lamina:
    settings: dict[str, Any] = {"url": os.environ.get("BROADCAST_URL", "memory://")}
    for key in ("max_backlog", "history"):
        value = os.environ.get("BROADCAST_" + key.upper())
        if value:
            settings[key] = int(value)
    return make(**settings)


#: The ``MODULE:APP`` target of the worker processes (configured by the environment).
app = from_env()
