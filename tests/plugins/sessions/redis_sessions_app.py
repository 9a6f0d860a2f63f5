"""A sessions app on the Redis store, served by the cross-worker tests as real workers.

``/slow`` loads the session, says so (RPUSH ``test:loaded``), waits for the test's go-ahead
(BLPOP ``test:go``: an event, not a sleep) and then writes the session: the request that
races a logout.
"""

from __future__ import annotations

import os

from lamina import JSONResponse, Lamina, Request
from lamina.testing import make_app
from lamina_routing import Route
from lamina_sessions import regenerate_session
from redis.asyncio import Redis

URL = os.environ.get("SESSION_REDIS_URL", "redis://127.0.0.1:1/0")


async def login(request: Request) -> JSONResponse:
    request.session["user"] = request.query_params["user"]
    regenerate_session(request)
    return JSONResponse({"ok": True})


async def me(request: Request) -> JSONResponse:
    return JSONResponse(dict(request.session))


async def logout(request: Request) -> JSONResponse:
    request.session.clear()
    return JSONResponse({"ok": True})


async def slow(request: Request) -> JSONResponse:
    user = request.session.get("user")
    async with Redis.from_url(URL) as redis:
        await redis.rpush("test:loaded", "1")
        await redis.blpop(["test:go"], timeout=20)
    request.session["touched"] = True
    return JSONResponse({"user": user})


def make(url: str = URL, **settings: object) -> Lamina:
    return make_app(
        "routing",
        "sessions",
        routes=[
            Route("/login", login, methods=["POST"]),
            Route("/me", me),
            Route("/logout", logout, methods=["POST"]),
            Route("/slow", slow, methods=["POST"]),
        ],
        settings={
            "sessions": {
                "secret_key": "test-secret",
                "store": "redis",
                "redis_url": url,
                **settings,
            }
        },
    )


app = make()
