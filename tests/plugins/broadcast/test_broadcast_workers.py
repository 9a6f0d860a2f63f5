"""Across real uvicorn worker processes on distinct ports, through a real redis-server.

Three workers per backend (pub/sub and Streams) share one Redis; each test picks which
worker each client talks to. Clients are real: httpx streaming for SSE, the ``websockets``
library. Every wait is bounded and awaits a condition, never a fixed sleep.
"""

from __future__ import annotations

import itertools
import json
import os
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from lamina_broadcast import Publisher
from websockets.asyncio.client import connect

from tests.helpers import sse as sse_lines
from tests.helpers.redis import RedisServer
from tests.helpers.servers import child_process, free_port
from tests.helpers.waiting import answer, process_exited, wait_until
from tests.helpers.workers import Workers, uvicorn_workers

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(60)]
HERE = Path(__file__).resolve().parent
HISTORY = 50
BACKLOG = 64
_names = itertools.count()


def channel() -> str:
    return f"w{os.getpid()}-{next(_names)}"


@dataclass
class Cluster:
    """Three workers of ``broadcast_app:app`` sharing the backend ``url``."""

    url: str
    workers: Workers

    @property
    def base(self) -> list[str]:
        return self.workers.base

    def alive(self) -> bool:
        return self.workers.alive()


@pytest.fixture(scope="module", params=["redis", "redis+stream"])
def cluster(request: pytest.FixtureRequest, redis_server: RedisServer) -> Iterator[Cluster]:
    url = redis_server.url(request.param)
    env = {
        "BROADCAST_URL": url,
        "BROADCAST_HISTORY": str(HISTORY),
        "BROADCAST_MAX_BACKLOG": str(BACKLOG),
    }
    with uvicorn_workers("broadcast_app:app", 3, cwd=HERE, env=env) as workers:
        yield Cluster(url, workers)


def is_stream(cluster: Cluster) -> bool:
    return cluster.url.startswith("redis+stream")


async def wait_for(check: Any, timeout: float = 10.0) -> None:
    """Poll an async condition until true; fails only on timeout."""
    with anyio.fail_after(timeout):
        while not await check():
            await anyio.sleep(0.02)


async def stats(client: httpx.AsyncClient, base: str) -> dict[str, Any]:
    return (await client.get(base + "/stats")).json()  # type: ignore[no-any-return]


class SSEReader:
    """One open event stream and its parsed events (dicts of fields)."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self.lines = response.aiter_lines()  # keep referenced: dropping it closes the stream

    async def take(self, n: int, timeout: float = 10.0) -> list[dict[str, str]]:
        with anyio.fail_after(timeout):
            return await sse_lines.take_async(self.lines, n)


@asynccontextmanager
async def sse(
    client: httpx.AsyncClient, base: str, name: str, last_id: str | None = None
) -> AsyncIterator[SSEReader]:
    headers = {"last-event-id": last_id} if last_id else {}
    async with client.stream("GET", f"{base}/sse/{name}", headers=headers) as response:
        assert response.status_code == 200
        reader = SSEReader(response)
        assert await reader.take(1) == [{"retry": "1000"}]  # subscribed from here on
        yield reader


async def publish(client: httpx.AsyncClient, base: str, name: str, data: Any) -> httpx.Response:
    return await client.post(f"{base}/publish/{name}", json={"data": data})


def data(events: list[dict[str, str]]) -> list[Any]:
    return [json.loads(e["data"]) for e in events]


async def test_sse_and_websocket_subscribers_get_every_event_once_in_order(
    cluster: Cluster,
) -> None:
    name = channel()
    w1, w2, w3 = cluster.base
    async with httpx.AsyncClient(timeout=10) as client, sse(client, w1, name) as reader:
        ws_url = w2.replace("http://", "ws://") + f"/ws/{name}"
        async with connect(ws_url) as ws:

            async def subscribed() -> bool:
                return bool((await stats(client, w2))["subscribers"] >= 1)

            await wait_for(subscribed)
            for n in range(20):
                assert (await publish(client, w3, name, n)).status_code == 200
            async with Publisher.from_url(cluster.url, history=HISTORY) as publisher:
                for n in range(20, 25):
                    await publisher.publish(name, n)
            got_sse = await reader.take(25)
            with anyio.fail_after(10):
                got_ws = [json.loads(await ws.recv()) for _ in range(25)]
            # No duplicate follows: the next event is the next one published.
            await publish(client, w3, name, "last")
            assert data(await reader.take(1)) == ["last"]
            assert json.loads(await ws.recv())["data"] == "last"
    assert data(got_sse) == list(range(25))
    assert [m["data"] for m in got_ws] == list(range(25))
    assert {m["kind"] for m in got_ws} == {"message"}
    if is_stream(cluster):
        assert [e["id"] for e in got_sse] == [m["id"] for m in got_ws]
        assert len({e["id"] for e in got_sse}) == 25


@pytest.mark.parametrize("cluster", ["redis+stream"], indirect=True)
async def test_last_event_id_resumes_on_another_worker(cluster: Cluster) -> None:
    name = channel()
    w1, w2, w3 = cluster.base
    async with httpx.AsyncClient(timeout=10) as client:
        async with sse(client, w1, name) as reader:
            for n in range(5):
                await publish(client, w3, name, n)
            first = await reader.take(5)
        assert data(first) == list(range(5))
        for n in range(5, 15):
            await publish(client, w3, name, n)
        async with sse(client, w2, name, last_id=first[-1]["id"]) as reader:
            await publish(client, w3, name, "live")
            resumed = await reader.take(11)
        assert data(resumed) == [*range(5, 15), "live"]

        # An id older than the retained history: reset, then live.
        old = channel()
        oldest = (await publish(client, w3, old, 0)).json()["id"]
        async with Publisher.from_url(cluster.url, history=HISTORY) as publisher:
            for n in range(1, 400):
                await publisher.publish(old, n)
        async with sse(client, w2, old, last_id=oldest) as reader:
            await publish(client, w3, old, "live")
            got = await reader.take(2)
        assert got[0] == {"event": "reset", "data": json.dumps({"channel": old}).replace(" ", "")}
        assert data(got[1:]) == ["live"]


async def test_a_subscriber_that_never_reads_costs_bounded_memory_and_delays_no_one(
    cluster: Cluster,
) -> None:
    name = channel()
    w1, w2, _ = cluster.base
    payload = "x" * 64 * 1024
    batches, per_batch = 10, 50
    async with httpx.AsyncClient(timeout=10) as client:
        assert (await client.post(f"{w1}/hold/{name}")).status_code == 200  # never reads
        before = (await stats(client, w1))["rss_kb"]
        async with (
            sse(client, w1, name) as stuck,  # a real client that stops reading here
            sse(client, w1, name) as near,
            sse(client, w2, name) as far,
            Publisher.from_url(cluster.url, history=HISTORY) as publisher,
        ):
            del stuck
            for batch in range(batches):
                for n in range(per_batch):
                    await publisher.publish(name, {"n": batch * per_batch + n, "pad": payload})
                for reader in (near, far):  # the readers keep up: paced by what they got
                    got = await reader.take(per_batch)
                    assert [json.loads(e["data"])["n"] for e in got] == [
                        batch * per_batch + n for n in range(per_batch)
                    ]
            after = await stats(client, w1)
    total = batches * per_batch
    (held,) = [h for h in after["held"] if h["queued"] == BACKLOG]
    assert held["dropped"] == total - BACKLOG  # drop_oldest applied and counted, exactly
    # The held subscriber, the stuck SSE one and both readers: the stuck one dropped too.
    assert sum(1 for d in after["dropped"] if d > 0) >= 2
    pushed_kb = total * len(payload) // 1024  # 31 MiB went through this worker
    assert after["rss_kb"] - before < pushed_kb / 2, (before, after["rss_kb"])


async def test_redis_restart_mid_stream_with_hundreds_of_subscribers(
    cluster: Cluster, redis_server: RedisServer
) -> None:
    name = channel()
    w1, w2, w3 = cluster.base
    per_worker = 150
    limits = httpx.Limits(max_connections=2 * per_worker + 20)
    async with httpx.AsyncClient(timeout=15, limits=limits) as client:
        readers: list[SSEReader] = []
        async with anyio.create_task_group() as group:
            opened: list[Any] = []

            async def open_one(base: str) -> None:
                manager = sse(client, base, name)
                readers.append(await manager.__aenter__())
                opened.append(manager)

            with anyio.fail_after(30):
                for i in range(2 * per_worker):
                    group.start_soon(open_one, (w1, w2)[i % 2])
        try:
            await publish(client, w3, name, "before")
            await check_all(readers, [{"data": '"before"'}])

            redis_server.stop()

            async def all_down() -> bool:
                return not any([(await stats(client, b))["connected"] for b in cluster.base])

            await wait_for(all_down)
            refused = await publish(client, w3, name, "during")
            assert refused.status_code == 503
            assert "unreachable" in refused.json()["error"]

            redis_server.start()
            if is_stream(cluster):  # published before the listeners are back: kept
                async with Publisher.from_url(cluster.url, history=HISTORY) as publisher:
                    await publisher.publish(name, "early")

            async def all_up() -> bool:
                return all([(await stats(client, b))["connected"] for b in cluster.base])

            # The "back within 2 s" is the backoff's cap (0.5 s, checked without a clock
            # in test_broadcast_memory.py); here a generous bound only catches a hang.
            await wait_for(all_up)
            assert cluster.alive()
            await publish(client, w3, name, "after")
            if is_stream(cluster):
                await check_all(readers, [{"data": '"early"'}, {"data": '"after"'}])
            else:
                reset = {"event": "reset", "data": json.dumps({"channel": name}).replace(" ", "")}
                await check_all(readers, [reset, {"data": '"after"'}])
        finally:
            with anyio.CancelScope(shield=True):
                for manager in opened:
                    await manager.__aexit__(None, None, None)
    assert cluster.alive()


async def check_all(readers: list[SSEReader], expected: list[dict[str, str]]) -> None:
    async def check(reader: SSEReader) -> None:
        got = await reader.take(len(expected), timeout=15)
        assert [{k: v for k, v in e.items() if k != "id"} for e in got] == expected

    async with anyio.create_task_group() as group:
        for reader in readers:
            group.start_soon(check, reader)


def test_lamina_serve_workers_with_memory_warns_naming_the_setting() -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("BROADCAST_")}
    cmd = [sys.executable, "-m", "lamina.cli", "serve", "broadcast_app:app", "--port", str(port)]

    def started() -> bool:
        response = answer(f"http://127.0.0.1:{port}/stats")
        return response is not None and response.status_code == 200

    # the supervisor and its workers: one process group, ours
    with child_process(
        [*cmd, "--workers", "2", "--log-level", "warning"], cwd=HERE, env=env, group=True
    ) as child:
        wait_until(started, 30, "lamina serve to start", gave_up=process_exited(child.process))
    output = child.output
    assert "memory:// but the server runs 2 workers" in output
    assert "Set [broadcast] url to redis://" in output
