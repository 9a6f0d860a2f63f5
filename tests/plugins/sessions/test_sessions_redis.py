"""Server-side sessions in a real redis-server: the store's guarantees in-process (with an
injected clock), then across two real uvicorn workers."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import anyio
import httpx
import pytest
from lamina_sessions import RedisStore, SessionSigner
from redis.asyncio import Redis

from tests.helpers.redis import RedisServer
from tests.helpers.servers import free_port
from tests.helpers.workers import uvicorn_workers

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(60)]
HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    with RedisServer(tmp_path_factory.mktemp("redis")) as server:
        yield server


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def store(redis_server: RedisServer) -> AsyncIterator[tuple[RedisStore, Clock, Redis]]:
    clock = Clock()
    async with (
        RedisStore(redis_server.url(), lifetime=100, clock=clock) as opened,
        Redis.from_url(redis_server.url(), decode_responses=True) as raw,
    ):
        yield opened, clock, raw


async def test_sessions_are_json_under_a_random_key(
    store: tuple[RedisStore, Clock, Redis],
) -> None:
    sessions, _, raw = store
    await sessions.save("abc", {"user": "ann", "n": [1, 2]}, 60)
    record = json.loads(await raw.get("lamina:session:abc"))
    assert record["d"] == {"user": "ann", "n": [1, 2]}
    assert 0 < await raw.pttl("lamina:session:abc") <= 60_000
    assert await sessions.load("abc") == {"user": "ann", "n": [1, 2]}
    with pytest.raises(TypeError):
        await sessions.save("abc", {"not json": object()}, 60)


async def test_idle_expiry_and_an_absolute_lifetime_it_never_passes(
    store: tuple[RedisStore, Clock, Redis],
) -> None:
    sessions, clock, _ = store
    await sessions.save("s", {"v": 1}, 60)  # idle 60 s, lifetime 100 s
    clock.now += 59
    assert await sessions.load("s") == {"v": 1}
    assert await sessions.update("s", {"v": 2}, 60)  # idle deadline now t+119 -> capped at 100
    clock.now += 40  # t+99
    assert await sessions.load("s") == {"v": 2}
    clock.now += 1  # t+100: the absolute lifetime, though the last write was 41 s ago
    assert await sessions.load("s") is None
    assert not await sessions.update("s", {"v": 3}, 60)

    await sessions.save("idle", {"v": 1}, 60)
    clock.now += 60
    assert await sessions.load("idle") is None  # idle for max_age


async def test_update_never_resurrects_a_deleted_session(
    store: tuple[RedisStore, Clock, Redis],
) -> None:
    sessions, _, raw = store
    await sessions.save("gone", {"user": "ann"}, 60)
    await sessions.delete("gone")  # a concurrent logout
    assert not await sessions.update("gone", {"user": "ann", "cart": 1}, 60)
    assert await raw.exists("lamina:session:gone") == 0


async def test_replace_moves_the_session_atomically_keeping_its_creation(
    store: tuple[RedisStore, Clock, Redis],
) -> None:
    sessions, clock, raw = store
    await sessions.save("old", {"user": "ann"}, 60)
    created = json.loads(await raw.get("lamina:session:old"))["c"]
    clock.now += 50
    await sessions.replace("old", "new", {"user": "ann", "role": "admin"}, 60)
    assert await raw.exists("lamina:session:old") == 0
    record = json.loads(await raw.get("lamina:session:new"))
    assert record["c"] == created and record["d"] == {"user": "ann", "role": "admin"}
    assert record["e"] == created + 100_000  # regeneration does not extend the lifetime


async def test_an_unreachable_redis_is_a_503_not_a_500() -> None:
    from lamina.testclient import TestClient
    from redis_sessions_app import make

    signer = SessionSigner("test-secret")
    with TestClient(make(f"redis://127.0.0.1:{free_port()}/0")) as client:
        client.cookies.set("session", signer.dumps("some-id"))
        response = client.get("/me")
    assert response.status_code == 503
    assert response.text == "Service Unavailable"


# --------------------------------------------------------------------------- two workers
@pytest.fixture(scope="module")
def workers(redis_server: RedisServer) -> Iterator[list[str]]:
    env = {"SESSION_REDIS_URL": redis_server.url()}
    with uvicorn_workers("redis_sessions_app:app", 2, cwd=HERE, env=env) as running:
        yield running.base


async def test_login_on_one_worker_read_on_the_other(workers: list[str]) -> None:
    w1, w2 = workers
    async with httpx.AsyncClient() as client:
        assert (await client.post(f"{w1}/login?user=ann")).status_code == 200
        cookie = client.cookies["session"]
        assert "ann" not in cookie and len(cookie) < 200  # only a signed random id
        assert (await client.get(f"{w2}/me")).json() == {"user": "ann"}


async def test_regenerate_invalidates_the_old_id_on_every_worker(workers: list[str]) -> None:
    w1, w2 = workers
    async with httpx.AsyncClient() as client:
        await client.post(f"{w1}/login?user=ann")
        old = client.cookies["session"]
        await client.post(f"{w2}/login?user=bob")  # login again: regenerated
        assert client.cookies["session"] != old
        assert (await client.get(f"{w1}/me")).json() == {"user": "bob"}
    for base in workers:
        async with httpx.AsyncClient(cookies={"session": old}) as stale:
            assert (await stale.get(f"{base}/me")).json() == {}


async def test_logout_racing_a_request_does_not_resurrect_the_session(
    workers: list[str], redis_server: RedisServer
) -> None:
    w1, w2 = workers
    async with (
        httpx.AsyncClient(timeout=20) as client,
        Redis.from_url(redis_server.url()) as redis,
    ):
        await redis.delete("test:loaded", "test:go")
        await client.post(f"{w1}/login?user=ann")
        cookie = client.cookies["session"]
        result: dict[str, httpx.Response] = {}
        async with anyio.create_task_group() as group:

            async def racing() -> None:
                result["slow"] = await client.post(f"{w1}/slow")

            group.start_soon(racing)
            assert await redis.blpop(["test:loaded"], timeout=15)  # it has loaded the session
            async with httpx.AsyncClient(cookies={"session": cookie}) as other_tab:
                assert (await other_tab.post(f"{w2}/logout")).status_code == 200
            await redis.rpush("test:go", "1")
        assert result["slow"].json() == {"user": "ann"}
        async with httpx.AsyncClient(cookies={"session": cookie}) as again:
            assert (await again.get(f"{w2}/me")).json() == {}  # not brought back
        for key in await redis.keys("lamina:session:*"):
            assert b'"touched"' not in (await redis.get(key) or b"")
