"""WebSocket echo, in process: Lamina beside Starlette and a bare ASGI app, in the same run.

Each framework serves ``/echo`` (accept, then send back every text message until the client
leaves) written the way its users would: Lamina with lamina-routing + lamina-websocket
(``WebSocketRoute`` and ``websocket.iter_text()``), Starlette with ``WebSocketRoute``,
and a bare ASGI app handling the messages itself (the floor). The driver calls each app's ASGI
callable directly with a synthetic receive/send (no sockets, so only framework overhead is
measured): one connection handshake, then ``--messages`` text messages, each awaited back
before the next is sent. Repeated ``--repeats`` times, order reversed on odd repeats; the
median messages/s and the ratio to Starlette are printed.

    uv run python bench/websocket_bench.py [--messages 20000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import time
from typing import Any

FRAMEWORKS = ("raw", "starlette", "lamina")


def make_app(name: str) -> Any:
    if name == "lamina":
        from lamina import Lamina
        from lamina_websocket import WebSocket, WebSocketRoute

        async def echo(websocket: WebSocket) -> None:
            await websocket.accept()
            async for text in websocket.iter_text():
                await websocket.send_text(text)

        return Lamina(
            [WebSocketRoute("/echo", echo)], autoload=False, plugins=["routing", "websocket"]
        )
    if name == "starlette":
        from starlette.applications import Starlette
        from starlette.routing import WebSocketRoute as StarletteWebSocketRoute
        from starlette.websockets import WebSocket as StarletteWebSocket

        async def starlette_echo(websocket: StarletteWebSocket) -> None:
            await websocket.accept()
            async for text in websocket.iter_text():
                await websocket.send_text(text)

        return Starlette(routes=[StarletteWebSocketRoute("/echo", starlette_echo)])
    if name == "raw":

        async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
            if scope["type"] == "lifespan":
                while True:
                    message = await receive()
                    kind = message["type"].rsplit(".", 1)[-1]
                    await send({"type": f"lifespan.{kind}.complete"})
                    if kind == "shutdown":
                        return
            await receive()
            await send({"type": "websocket.accept"})
            while True:
                message = await receive()
                if message["type"] == "websocket.disconnect":
                    return
                await send({"type": "websocket.send", "text": message["text"]})

        return app
    raise ValueError(name)


async def lifespan(
    app: Any, event: str, inbox: asyncio.Queue[Any], outbox: asyncio.Queue[Any]
) -> None:
    await inbox.put({"type": f"lifespan.{event}"})
    message = await asyncio.wait_for(outbox.get(), 10)
    assert message["type"] == f"lifespan.{event}.complete", message


async def one_run(app: Any, messages: int) -> float:
    """Seconds for ``messages`` round trips on one connection (after the handshake)."""
    scope = {
        "type": "websocket",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "scheme": "ws",
        "path": "/echo",
        "raw_path": b"/echo",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"bench")],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 80),
        "subprotocols": [],
        "state": {},
    }
    loop = asyncio.get_running_loop()
    pending: asyncio.Future[Any] | None = None
    incoming: list[dict[str, Any]] = [{"type": "websocket.connect"}]
    waiting: asyncio.Future[Any] | None = None

    async def receive() -> dict[str, Any]:
        nonlocal waiting
        if incoming:
            return incoming.pop()
        waiting = loop.create_future()
        return await waiting  # type: ignore[no-any-return]

    async def send(message: dict[str, Any]) -> None:
        if pending is not None and not pending.done():
            pending.set_result(message)

    def deliver(message: dict[str, Any]) -> None:
        nonlocal waiting
        if waiting is not None and not waiting.done():
            w, waiting = waiting, None
            w.set_result(message)
        else:
            incoming.insert(0, message)

    pending = loop.create_future()
    task = asyncio.ensure_future(app(scope, receive, send))
    accepted = await asyncio.wait_for(pending, 10)
    assert accepted["type"] == "websocket.accept", accepted
    payload = {"type": "websocket.receive", "text": "hello"}
    t0 = time.perf_counter()
    for _ in range(messages):
        pending = loop.create_future()
        deliver(payload)
        reply = await pending
        assert reply.get("text") == "hello"
    elapsed = time.perf_counter() - t0
    pending = None
    deliver({"type": "websocket.disconnect", "code": 1000})
    await asyncio.wait_for(task, 10)
    return elapsed


async def main_async(args: argparse.Namespace) -> dict[str, list[float]]:
    apps = {}
    for name in args.frameworks:
        app = make_app(name)
        inbox: asyncio.Queue[Any] = asyncio.Queue()
        outbox: asyncio.Queue[Any] = asyncio.Queue()
        scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
        task = asyncio.ensure_future(app(scope, inbox.get, outbox.put))
        await lifespan(app, "startup", inbox, outbox)
        await one_run(app, 200)  # warm-up
        apps[name] = (app, inbox, outbox, task)
    rates: dict[str, list[float]] = {name: [] for name in args.frameworks}
    for repeat in range(args.repeats):
        order = list(args.frameworks) if repeat % 2 == 0 else list(reversed(args.frameworks))
        for name in order:
            gc.collect()
            elapsed = await one_run(apps[name][0], args.messages)
            rates[name].append(args.messages / elapsed)
    for app, inbox, outbox, task in apps.values():
        await lifespan(app, "shutdown", inbox, outbox)
        await asyncio.wait_for(task, 10)
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=20000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--frameworks", type=lambda s: s.split(","), default=list(FRAMEWORKS))
    args = parser.parse_args()
    try:
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    except ImportError:
        pass
    rates = asyncio.run(main_async(args))
    base = statistics.median(rates["starlette"]) if "starlette" in rates else None
    print(
        f"\nWebSocket echo in process, {args.messages} messages x {args.repeats} repeats (median)\n"
    )
    print("| framework | messages/s | µs/message | vs starlette |")
    print("|---|---|---|---|")
    for name, values in rates.items():
        median = statistics.median(values)
        ratio = f"{median / base:.2f}x" if base else "-"
        print(f"| {name} | {median:,.0f} | {1e6 / median:.1f} | {ratio} |")


if __name__ == "__main__":
    main()
