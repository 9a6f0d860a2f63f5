"""lamina-websocket under real servers on 127.0.0.1, driven by the ``websockets`` client.

Echo, JSON, binary, close codes, subprotocol negotiation, handshake denial, the size limit
and a 1 MiB message, under uvicorn (websockets and wsproto implementations) and hypercorn
(trio worker).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from contextlib import ExitStack, suppress
from typing import Any

import pytest
from lamina import HTTPException, WebSocketException
from lamina.testing import make_app
from lamina_websocket import WebSocket, WebSocketEndpoint, WebSocketRoute
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.helpers.servers import ServerCrashedError, ServerURL, serve

MIB = 1024 * 1024


async def echo(ws: WebSocket) -> None:
    await ws.accept()
    while True:
        message = await ws.receive()
        if message["type"] == "websocket.disconnect":
            return
        if message.get("text") is not None:
            await ws.send_text(message["text"])
        else:
            await ws.send_bytes(message["bytes"])


async def json_echo(ws: WebSocket) -> None:
    await ws.accept()
    async for data in ws.iter_json():
        await ws.send_json({"echo": data, "room": ws.path_params["room"]})


async def close_with(ws: WebSocket) -> None:
    await ws.accept()
    await ws.close(ws.path_params["code"], "bye now")


async def chat(ws: WebSocket) -> None:
    offered = ws.subprotocols
    chosen = next((p for p in ("chat.v2", "chat.v1") if p in offered), None)
    await ws.accept(subprotocol=chosen)
    await ws.send_text(f"{chosen}|{','.join(offered)}")
    await ws.close()


async def hello_bye(ws: WebSocket) -> None:
    await ws.accept()
    await ws.send_text("hello")
    await ws.close()


async def deny(ws: WebSocket) -> None:
    raise HTTPException(401, "log in first")


async def refuse(ws: WebSocket) -> None:
    await ws.accept()
    raise WebSocketException(4001, "not allowed")


async def bad_code(ws: WebSocket) -> None:
    await ws.accept()
    raise WebSocketException(1006, "abnormal is not sendable")


#: (reason sent, reason the client gets): a close frame holds 123 bytes of UTF-8.
LONG_REASONS = [
    ("é" * 120, "é" * 61),  # 240 bytes: uvicorn's websockets dropped the connection (1006)
    ("a" + "😀" * 40, "a" + "😀" * 30),  # cut on a character boundary: 121 bytes
]


async def long_reason(ws: WebSocket) -> None:
    """Closes with ``LONG_REASONS[case]`` in the way ``how`` names."""
    reason = LONG_REASONS[ws.path_params["case"]][0]
    await ws.accept()
    how = ws.path_params["how"]
    if how == "close":
        await ws.close(4000, reason)
    elif how == "raw-send":  # went out whole before: uvicorn's websockets then dropped it
        await ws.send({"type": "websocket.close", "code": 4000, "reason": reason})
    elif how == "websocket-exception":
        raise WebSocketException(4000, reason)
    else:
        raise HTTPException(403, reason)


async def unoffered(ws: WebSocket) -> None:
    await ws.accept(subprotocol="never-offered")


async def crash(ws: WebSocket) -> None:
    await ws.accept()
    await ws.receive_text()
    raise RuntimeError("boom")


async def sized(ws: WebSocket) -> None:
    await ws.accept()
    async for data in ws.iter_bytes():
        await ws.send_text(str(len(data)))
        await ws.send_bytes(data)


class Counter(WebSocketEndpoint):
    encoding = "text"

    async def on_connect(self, websocket: WebSocket) -> None:
        self.count = 0
        await websocket.accept()

    async def on_receive(self, websocket: WebSocket, data: Any) -> None:
        self.count += 1
        await websocket.send_text(f"{self.count}:{data}")


def build_app() -> Any:
    return make_app(
        "routing",
        "websocket",
        routes=[
            WebSocketRoute("/echo", echo),
            WebSocketRoute("/json/{room}", json_echo),
            WebSocketRoute("/close/{code:int}", close_with),
            WebSocketRoute("/chat", chat),
            WebSocketRoute("/hello-bye", hello_bye),
            WebSocketRoute("/deny", deny),
            WebSocketRoute("/refuse", refuse),
            WebSocketRoute("/crash", crash),
            WebSocketRoute("/bad-code", bad_code),
            WebSocketRoute("/unoffered", unoffered),
            WebSocketRoute("/reason/{how}/{case:int}", long_reason),
            WebSocketRoute("/sized", sized, max_message_size=2 * MIB),
            WebSocketRoute("/small", sized, name="small", max_message_size=1000),
            WebSocketRoute("/counter", Counter),
        ],
    )


#: (server, event loop, uvicorn's WebSocket implementation)
SERVERS = [
    ("uvicorn", "asyncio", "websockets-sansio"),
    ("uvicorn", "asyncio", "wsproto"),
    ("hypercorn", "trio", ""),
]


class SharedServer:
    """One server per module and kind (a server per test would cost uvicorn's 0.2 s stop
    each time), replaced as soon as it is found dead: a crash then fails the test it happened
    in (or is reported at the module's end if it surfaced between tests), never the tests
    after it, which would otherwise each wait out their timeout on a dead port."""

    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        self.stack = ExitStack()
        self.url: ServerURL | None = None
        self.missed: list[str] = []  # crashes seen only when the next test started

    def url_for(self, test: str) -> ServerURL:
        if self.url is None or self.url.crash is not None:
            if self.url is not None:
                self.missed.append(f"after the test before {test}: {self.url.crash!r}")
            self.stop()
            self.stack = ExitStack()
            self.url = self.stack.enter_context(serve(build_app(), **self.options))
        return self.url

    def discard(self) -> None:
        """Stop the server now; the next test gets a new one (its crash is reported)."""
        self.stop()
        self.url = None

    def stop(self) -> None:
        # A crash is reported by the test that saw it (or at the end), not again here.
        with suppress(ServerCrashedError):
            self.stack.close()


@pytest.fixture(
    scope="module", params=SERVERS, ids=["-".join(filter(None, params)) for params in SERVERS]
)
def shared_server(request: pytest.FixtureRequest) -> Iterator[SharedServer]:
    server, loop, ws = request.param
    options: dict[str, Any] = {"server": server, "loop": loop}
    if server == "uvicorn":
        options["ws_max_size"] = 16 * MIB
        options["ws"] = ws
    else:
        options["websocket_max_message_size"] = 16 * MIB
    shared = SharedServer(options)
    try:
        yield shared
    finally:
        shared.stop()
    if shared.missed:
        raise ServerCrashedError("the server died between tests: " + "; ".join(shared.missed))


@pytest.fixture
def ws_url(shared_server: SharedServer, request: pytest.FixtureRequest) -> Iterator[str]:
    base = shared_server.url_for(request.node.name)
    yield base.replace("http://", "ws://")
    if base.crash is not None:  # died during this test: it fails with the server's exception
        shared_server.discard()
        base.check()


def run(coro: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(coro(), 10))


def test_echo_text_and_binary(ws_url: str) -> None:
    async def go() -> None:
        async with connect(ws_url + "/echo") as ws:
            await ws.send("héllo")
            assert await ws.recv() == "héllo"
            await ws.send(b"\x00\x01\xff")
            assert await ws.recv() == b"\x00\x01\xff"
            for i in range(20):
                await ws.send(f"m{i}")
            assert [await ws.recv() for _ in range(20)] == [f"m{i}" for i in range(20)]

    run(go)


def test_json_and_path_params(ws_url: str) -> None:
    async def go() -> None:
        async with connect(ws_url + "/json/lobby") as ws:
            await ws.send('{"a": [1, 2, "é"]}')
            assert await ws.recv() == '{"echo":{"a":[1,2,"é"]},"room":"lobby"}'

    run(go)


def test_invalid_json_closes_1003(ws_url: str) -> None:
    async def go() -> None:
        async with connect(ws_url + "/json/x") as ws:
            await ws.send("{not json")
            with pytest.raises(ConnectionClosed) as info:
                await ws.recv()
            assert info.value.rcvd is not None and info.value.rcvd.code == 1003

    run(go)


@pytest.mark.parametrize("code", [1000, 1001, 3000, 4999])
def test_close_codes_and_reason_reach_the_client(ws_url: str, code: int) -> None:
    async def go() -> None:
        async with connect(ws_url + f"/close/{code}") as ws:
            with pytest.raises(ConnectionClosed) as info:
                await ws.recv()
            assert info.value.rcvd is not None
            assert (info.value.rcvd.code, info.value.rcvd.reason) == (code, "bye now")

    run(go)


def test_websocket_exception_closes_with_its_code(ws_url: str) -> None:
    async def go() -> None:
        async with connect(ws_url + "/refuse") as ws:
            with pytest.raises(ConnectionClosed) as info:
                await ws.recv()
            assert info.value.rcvd is not None
            assert (info.value.rcvd.code, info.value.rcvd.reason) == (4001, "not allowed")

    run(go)


@pytest.mark.parametrize("how", ["close", "raw-send", "websocket-exception", "http-exception"])
@pytest.mark.parametrize("case", range(len(LONG_REASONS)))
def test_a_long_close_reason_arrives_cut_to_what_a_frame_holds(
    ws_url: str, how: str, case: int
) -> None:
    expected = LONG_REASONS[case][1]

    async def go() -> None:
        async with connect(ws_url + f"/reason/{how}/{case}") as ws:
            with pytest.raises(ConnectionClosed) as info:
                await ws.recv()
            assert info.value.rcvd is not None  # a close frame came, not a dropped connection
            code = 1008 if how == "http-exception" else 4000
            assert (info.value.rcvd.code, info.value.rcvd.reason) == (code, expected)

    run(go)


def test_unhandled_error_closes_1011(ws_url: str, caplog: pytest.LogCaptureFixture) -> None:
    async def go() -> None:
        async with connect(ws_url + "/crash") as ws:
            await ws.send("x")
            with pytest.raises(ConnectionClosed) as info:
                await ws.recv()
            assert info.value.rcvd is not None and info.value.rcvd.code == 1011

    run(go)
    assert "boom" in caplog.text


def test_unsendable_close_code_becomes_1011_everywhere(ws_url: str) -> None:
    """Without the check uvicorn ended with 1006, wsproto/hypercorn sent 1000."""

    async def go() -> None:
        async with connect(ws_url + "/bad-code") as ws:
            with pytest.raises(ConnectionClosed) as info:
                await ws.recv()
            assert info.value.rcvd is not None and info.value.rcvd.code == 1011

    run(go)


def test_unoffered_subprotocol_is_a_clean_500(ws_url: str) -> None:
    """Without the check the servers broke the handshake in three different ways."""

    async def go() -> None:
        with pytest.raises(InvalidStatus) as info:
            async with connect(ws_url + "/unoffered", subprotocols=["chat"]):  # type: ignore[list-item]
                pass
        assert info.value.response.status_code == 500

    run(go)


@pytest.mark.parametrize(
    ("offered", "expected"),
    [(["chat.v1", "chat.v2"], "chat.v2"), (["chat.v1", "other"], "chat.v1")],
)
def test_subprotocol_negotiation(ws_url: str, offered: list[str], expected: str) -> None:
    async def go() -> None:
        async with connect(ws_url + "/chat", subprotocols=offered) as ws:  # type: ignore[arg-type]
            assert ws.subprotocol == expected
            assert await ws.recv() == f"{expected}|{','.join(offered)}"

    run(go)


def test_both_sides_closing_at_once_leaves_the_server_up(ws_url: str) -> None:
    """The server closes and returns while the client closes too (it leaves right after the
    message). hypercorn 0.18's trio worker crashed on this race, taking every other
    connection with it (see tests/helpers/servers.py); each round widens the window."""

    async def go() -> None:
        for _ in range(60):
            async with connect(ws_url + "/hello-bye") as ws:
                assert await ws.recv() == "hello"
        async with connect(ws_url + "/echo") as ws:  # still serving
            await ws.send("still here")
            assert await ws.recv() == "still here"

    run(go)


def test_http_exception_before_accept_denies_the_handshake(ws_url: str) -> None:
    async def go() -> None:
        with pytest.raises(InvalidStatus) as info:
            async with connect(ws_url + "/deny"):
                pass
        assert info.value.response.status_code == 401
        assert info.value.response.body == b"log in first"

    run(go)


def test_unknown_path_is_refused(ws_url: str) -> None:
    async def go() -> None:
        with pytest.raises(InvalidStatus) as info:
            async with connect(ws_url + "/nowhere"):
                pass
        assert info.value.response.status_code == 403

    run(go)


def test_one_mib_message_both_ways(ws_url: str) -> None:
    payload = bytes(range(256)) * (MIB // 256)

    async def go() -> None:
        async with connect(ws_url + "/sized", max_size=4 * MIB) as ws:
            await ws.send(payload)
            assert await ws.recv() == str(MIB)
            assert await ws.recv() == payload

    run(go)


def test_message_over_the_limit_closes_1009(ws_url: str) -> None:
    async def go() -> None:
        async with connect(ws_url + "/small") as ws:
            await ws.send(b"x" * 1000)
            assert await ws.recv() == "1000"
            assert await ws.recv() == b"x" * 1000
            await ws.send(b"x" * 1001)
            with pytest.raises(ConnectionClosed) as info:
                await ws.recv()
            assert info.value.rcvd is not None and info.value.rcvd.code == 1009

    run(go)


def test_class_endpoint_keeps_per_connection_state(ws_url: str) -> None:
    async def go() -> None:
        async with connect(ws_url + "/counter") as a, connect(ws_url + "/counter") as b:
            await a.send("x")
            await a.send("y")
            await b.send("z")
            assert [await a.recv(), await a.recv(), await b.recv()] == ["1:x", "2:y", "1:z"]
            await b.send(b"binary")
            with pytest.raises(ConnectionClosed) as info:
                await b.recv()
            assert info.value.rcvd is not None and info.value.rcvd.code == 1003

    run(go)
