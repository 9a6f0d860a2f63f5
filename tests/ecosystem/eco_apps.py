"""The one app the ecosystem suite serves, and the places a user puts a foreign middleware.

Routes (each a template a tracer or a metric should report, never the raw path):

* ``GET /users/{id}`` answers JSON; ``GET /users/{id}/boom`` raises ``RuntimeError``;
* ``GET /events/{topic}`` streams ``?n=`` events (3 by default); with ``?hold=1`` it sends one
  event and then waits until :data:`RELEASE` is set, so a test can look at the world while
  the stream is open;
* ``WS /ws/{room}`` echoes text messages prefixed with the room until the client leaves;
* ``GET /api/items/{item:int}``, a route under a ``Mount`` of routes;
* ``GET /link/{id}`` answers ``url_for("user")`` and ``base_url``; ``GET /go/{id}``
  redirects there; ``GET /whoami`` answers the ``asgi-correlation-id`` context variable.

:func:`placed` builds that app with a foreign middleware in one of :data:`PLACEMENTS` and
returns the path prefix the requests take (``/m`` for the mount placement).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import anyio
import anyio.from_thread
import anyio.lowlevel
from lamina import JSONResponse, Lamina, Middleware, RedirectResponse, Request
from lamina_routing import Mount, Route
from lamina_sse import EventSourceResponse, ServerSentEvent
from lamina_websocket import WebSocket, WebSocketRoute

__all__ = ["PLACEMENTS", "RELEASE", "TEMPLATES", "make_routes", "placed"]

#: wrapped around the app, the two ends of the onion, on each route, on a mount.
PLACEMENTS = ("wrapped", "outermost", "innermost", "route", "mount")


class Release:
    """Lets held streams go: each waits on an event of its own loop, which the test's
    thread sets through the loop's token (no polling, no thread left blocked)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._released = False
        self._waiters: list[tuple[Any, anyio.Event]] = []

    async def wait(self) -> None:
        event = anyio.Event()
        with self._lock:
            if self._released:
                return
            self._waiters.append((anyio.lowlevel.current_token(), event))
        await event.wait()

    def set(self) -> None:
        with self._lock:
            self._released = True
            waiters, self._waiters = self._waiters, []
        for token, event in waiters:
            with contextlib.suppress(Exception):  # that server's loop may be gone
                anyio.from_thread.run_sync(event.set, token=token)

    def clear(self) -> None:
        with self._lock:
            self._released = False
            self._waiters.clear()


#: Set by a test to let every held stream (``?hold=1``) finish.
RELEASE = Release()

TEMPLATES = {
    "user": "/users/{id}",
    "boom": "/users/{id}/boom",
    "events": "/events/{topic}",
    "ws": "/ws/{room}",
    "item": "/api/items/{item:int}",
}


async def user(request: Request) -> JSONResponse:
    return JSONResponse({"id": request.path_params["id"]})


async def boom(request: Request) -> JSONResponse:
    raise RuntimeError(f"boom for user {request.path_params['id']}")


async def item(request: Request) -> JSONResponse:
    return JSONResponse({"item": request.path_params["item"]})


async def events(request: Request) -> EventSourceResponse:
    count = int(request.query_params.get("n", "3"))
    hold = request.query_params.get("hold") == "1"

    async def stream() -> AsyncIterator[ServerSentEvent]:
        yield ServerSentEvent(request.path_params["topic"], id=0)
        if hold:  # until the test (another thread) sets RELEASE, or shutdown cancels us
            await RELEASE.wait()
        for n in range(1, count):
            yield ServerSentEvent(f"{request.path_params['topic']} {n}", id=n)

    return EventSourceResponse(stream())


async def link(request: Request) -> JSONResponse:
    url = request.url_for("user", id=request.path_params["id"])
    return JSONResponse({"url": str(url), "base": str(request.base_url)})


async def go(request: Request) -> RedirectResponse:
    return RedirectResponse(request.url_for("user", id=request.path_params["id"]))


async def whoami(request: Request) -> JSONResponse:
    from asgi_correlation_id import correlation_id

    return JSONResponse({"correlation_id": correlation_id.get()})


async def echo(websocket: WebSocket) -> None:
    """Echo each text message, prefixed with the room, until the client leaves."""
    await websocket.accept()
    async for text in websocket.iter_text():
        await websocket.send_text(f"{websocket.path_params['room']}: {text}")


def make_routes(middleware: Sequence[Middleware] = ()) -> list[Any]:
    """The suite's routes; ``middleware`` goes on each route (the "route" placement)."""
    mw = list(middleware)
    return [
        Route(TEMPLATES["user"], user, name="user", middleware=mw),
        Route(TEMPLATES["boom"], boom, name="boom", middleware=mw),
        Route(TEMPLATES["events"], events, name="events", middleware=mw),
        WebSocketRoute(TEMPLATES["ws"], echo, name="ws", middleware=mw),
        Mount("/api", routes=[Route("/items/{item:int}", item, name="item", middleware=mw)]),
        Route("/link/{id}", link, middleware=mw),
        Route("/go/{id}", go, middleware=mw),
        Route("/whoami", whoami, middleware=mw),
    ]


PLUGINS = ("routing", "websocket", "sse")


def placed(factory: Callable[..., Any], where: str, **options: Any) -> tuple[Any, Lamina, str]:
    """``(asgi_app, lamina_app, prefix)``: the suite's app with ``factory(app, **options)``
    placed ``where``; requests go to ``prefix + path``."""
    from lamina.testing import make_app

    if where == "wrapped":
        app = make_app(*PLUGINS, routes=make_routes())
        return factory(app, **options), app, ""
    if where in ("outermost", "innermost"):
        layer = Middleware(factory, phase=where, **options)
        app = make_app(*PLUGINS, routes=make_routes(), middleware=[layer])
        return app, app, ""
    if where == "route":
        app = make_app(*PLUGINS, routes=make_routes([Middleware(factory, **options)]))
        return app, app, ""
    if where == "mount":
        mount = Mount("/m", routes=make_routes(), middleware=[Middleware(factory, **options)])
        app = make_app(*PLUGINS, routes=[mount])
        return app, app, "/m"
    raise ValueError(f"unknown placement {where!r}")
