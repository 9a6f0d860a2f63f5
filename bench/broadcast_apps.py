"""The apps ``broadcast_bench.py`` serves: one SSE fan-out endpoint and one publish endpoint
per system, all doing the same job (subscribe to ``bench``, write each message as one SSE
``data:`` event; publish the request body to ``bench``). ``BENCH_SYSTEM`` picks the system,
``REDIS_URL`` the Redis; the peers come from the ``bench-broadcast`` dependency group.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

SYSTEM = os.environ.get("BENCH_SYSTEM", "lamina-redis")
REDIS = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
CHANNEL = "bench"

if SYSTEM.startswith("litestar"):  # litestar resolves handler annotations from module globals
    from litestar import Request as LitestarRequest
    from litestar.channels import ChannelsPlugin
    from litestar.response import Stream
RETRY = b"retry: 1000\n\n"


def lamina_app(url: str) -> Any:
    from lamina import PlainTextResponse, Request
    from lamina.testing import make_app
    from lamina_broadcast import broadcast_for, sse_response
    from lamina_routing import Route

    async def sse(request: Request) -> Any:
        return sse_response(request, CHANNEL)

    async def publish(request: Request) -> PlainTextResponse:
        await broadcast_for(request).publish(CHANNEL, (await request.body()).decode())
        return PlainTextResponse("ok")

    return make_app(
        "routing",
        "sse",
        "broadcast",
        routes=[Route("/sse", sse), Route("/publish", publish, methods=["POST"])],
        settings={"broadcast": {"url": url}, "sse": {"heartbeat_interval": 0}},
    )


def starlette_broadcaster_app() -> Any:
    from broadcaster import Broadcast
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse, StreamingResponse
    from starlette.routing import Route

    broadcast = Broadcast(REDIS)

    async def sse(request: Request) -> StreamingResponse:
        async def events() -> AsyncIterator[bytes]:
            async with broadcast.subscribe(CHANNEL) as subscriber:
                yield RETRY
                async for event in subscriber:  # type: ignore[union-attr]
                    yield b"data: " + event.message.encode() + b"\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    async def publish(request: Request) -> PlainTextResponse:
        await broadcast.publish(CHANNEL, (await request.body()).decode())
        return PlainTextResponse("ok")

    @asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        await broadcast.connect()
        # Workaround, or broadcaster 0.3.1 delivers nothing with redis-py 8: its listener
        # starts ``pubsub.listen()`` as soon as the first subscribe is announced, before the
        # SUBSCRIBE is sent; listen() returns at once with no channel, and the listener then
        # waits for an announcement that never comes again for that channel. A channel held
        # for the app's lifetime keeps listen() running for every later subscription.
        async with broadcast.subscribe("bench-keepalive"):
            try:
                yield
            finally:
                await broadcast.disconnect()

    return Starlette(
        routes=[Route("/sse", sse), Route("/publish", publish, methods=["POST"])],
        lifespan=lifespan,
    )


def litestar_app(streams: bool) -> Any:
    from litestar import Litestar, get, post
    from litestar.channels.backends.redis import (
        RedisChannelsPubSubBackend,
        RedisChannelsStreamBackend,
    )
    from redis.asyncio import Redis

    redis = Redis.from_url(REDIS)
    backend: Any = (
        RedisChannelsStreamBackend(redis=redis, history=1000)
        if streams
        else RedisChannelsPubSubBackend(redis=redis)
    )
    plugin = ChannelsPlugin(backend=backend, arbitrary_channels_allowed=True)

    @get("/sse")
    async def sse(channels: ChannelsPlugin) -> Stream:
        async def events() -> AsyncIterator[bytes]:
            async with channels.start_subscription([CHANNEL]) as subscriber:
                yield RETRY
                async for event in subscriber.iter_events():
                    yield b"data: " + event + b"\n\n"

        return Stream(events(), media_type="text/event-stream")

    @post("/publish", status_code=200)
    async def publish(request: LitestarRequest[Any, Any, Any], channels: ChannelsPlugin) -> str:
        await channels.wait_published(await request.body(), [CHANNEL])
        return "ok"

    return Litestar(route_handlers=[sse, publish], plugins=[plugin])


def build() -> Any:
    if SYSTEM == "lamina-redis":
        return lamina_app(REDIS)
    if SYSTEM == "lamina-redis+stream":
        return lamina_app(REDIS.replace("redis://", "redis+stream://", 1))
    if SYSTEM == "starlette-broadcaster":
        return starlette_broadcaster_app()
    if SYSTEM == "litestar-channels":
        return litestar_app(streams=False)
    if SYSTEM == "litestar-channels-stream":
        return litestar_app(streams=True)
    raise SystemExit(f"unknown BENCH_SYSTEM {SYSTEM!r}")


app = build()
