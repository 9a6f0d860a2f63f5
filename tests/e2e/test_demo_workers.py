"""The demo's live page on two real uvicorn workers sharing a real redis-server, as the
README tells a user to run it: chat and event stream reach clients of the other worker."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import anyio
import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect

from tests.helpers.redis import RedisServer
from tests.helpers.workers import Workers, uvicorn_workers

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(60)]
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def workers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workers]:
    with RedisServer(tmp_path_factory.mktemp("redis")) as redis:
        env = {"LAMINA_DEMO_BROADCAST_URL": redis.url("redis+stream")}
        with uvicorn_workers("examples.demo.app:app", 2, cwd=ROOT, env=env) as running:
            yield running


async def chat_text(ws: ClientConnection, text: str, timeout: float = 10) -> None:
    """Read the room until the chat message ``text`` arrives (joins and leaves pass by)."""
    with anyio.fail_after(timeout):
        while True:
            envelope = json.loads(await ws.recv())
            if (envelope.get("data") or {}).get("text") == text:
                return


async def test_chat_and_event_stream_cross_workers(workers: Workers) -> None:
    w1, w2 = workers.base
    ws1_url, ws2_url = (base.replace("http://", "ws://") + "/live/ws" for base in workers.base)
    async with connect(ws1_url) as one, connect(ws2_url) as two:
        welcome_one, welcome_two = json.loads(await one.recv()), json.loads(await two.recv())
        assert welcome_one["worker"] != welcome_two["worker"]  # really two processes
        # The room subscribes right after the welcome: wait until a message gets through.
        for attempt in range(50):
            await one.send(f"ready-{attempt}")
            try:
                await chat_text(two, f"ready-{attempt}", timeout=0.5)
                break
            except TimeoutError:
                continue
        else:
            pytest.fail("no chat message ever crossed workers")
        await one.send("hello from worker one")
        await chat_text(one, "hello from worker one")
        await chat_text(two, "hello from worker one")
        async with httpx.AsyncClient(timeout=10) as client:
            async with client.stream("GET", f"{w1}/live/events") as stream:
                lines = stream.aiter_lines()
                with anyio.fail_after(10):
                    assert await anext(lines) == "retry: 500"
                response = await client.post(f"{w2}/live/say", data={"text": "from curl"})
                assert response.status_code == 202
                with anyio.fail_after(10):
                    async for line in lines:
                        if line.startswith("data: ") and "from curl" in line:
                            break
            await chat_text(one, "from curl")
