"""Server-side stores, regeneration, the store setting, and the store interface."""

from __future__ import annotations

import time
from typing import Any

import anyio
import pytest
from lamina import AssemblyError, JSONResponse, PlainTextResponse, Request
from lamina.testclient import TestClient
from lamina_sessions import MemoryStore, SessionSigner, SessionStore, regenerate_session
from sessions_harness import SECRET, session_app


async def set_value(request: Request) -> JSONResponse:
    request.session["user"] = request.query_params.get("v", "alice")
    return JSONResponse({"id": request.session.id})


async def get_value(request: Request) -> JSONResponse:
    return JSONResponse({"data": dict(request.session), "id": request.session.id})


async def regenerate(request: Request) -> JSONResponse:
    before = request.session.id
    regenerate_session(request)
    return JSONResponse({"before": before})


async def clear(request: Request) -> PlainTextResponse:
    request.session.clear()
    return PlainTextResponse("cleared")


ENDPOINTS = {"/set": set_value, "/get": get_value, "/regenerate": regenerate, "/clear": clear}


def store_of(app: Any) -> MemoryStore:
    app.assemble()
    (layer,) = [m for m in app.middleware_layers if m.plugin == "sessions"]
    store = layer.middleware.options["store"]
    assert isinstance(store, MemoryStore)
    return store


def test_memory_store_keeps_only_a_signed_id_in_the_cookie() -> None:
    app = session_app(ENDPOINTS, store="memory")
    with TestClient(app) as c:
        c.get("/set?v=bob")
        cookie = c.cookies["session"]
        session_id = SessionSigner(SECRET).loads(cookie, None)
        assert isinstance(session_id, str) and len(session_id) >= 32
        assert "bob" not in cookie
        r = c.get("/get")
        assert r.json() == {"data": {"user": "bob"}, "id": session_id}
        assert "set-cookie" not in r.headers
        assert anyio.run(store_of(app).load, session_id) == {"user": "bob"}


def test_regenerate_gives_a_new_id_and_forgets_the_old_one() -> None:
    app = session_app(ENDPOINTS, store="memory")
    with TestClient(app) as c:
        c.get("/set?v=carol")
        old_id = c.get("/get").json()["id"]
        assert c.get("/regenerate").json() == {"before": old_id}
        new = c.get("/get").json()
        assert new["data"] == {"user": "carol"}
        assert new["id"] != old_id
        store = store_of(app)
        assert anyio.run(store.load, old_id) is None
        assert len(store) == 1
        # The old cookie no longer opens anything (fixation defence).
        c.cookies.clear()
        stale = SessionSigner(SECRET).dumps(old_id)
        r = c.get("/get", headers={"cookie": f"session={stale}"})
        assert r.json() == {"data": {}, "id": None}


def test_regenerate_with_cookie_storage_resigns_the_cookie() -> None:
    app = session_app(ENDPOINTS)
    with TestClient(app) as c:
        c.get("/set")
        r = c.get("/regenerate")
        assert "set-cookie" in r.headers
        assert SessionSigner(SECRET).loads(c.cookies["session"], None) == {"user": "alice"}


def test_clear_deletes_the_store_entry_and_the_cookie() -> None:
    app = session_app(ENDPOINTS, store="memory")
    with TestClient(app) as c:
        c.get("/set")
        assert len(store_of(app)) == 1
        r = c.get("/clear")
        assert "Max-Age=0" in r.headers["set-cookie"]
        assert len(store_of(app)) == 0


def test_forged_or_unknown_ids_are_empty_sessions() -> None:
    app = session_app(ENDPOINTS, store="memory")
    with TestClient(app) as c:
        unknown = SessionSigner(SECRET).dumps("no-such-id")
        unsigned = "no-such-id"
        for cookie in (unknown, unsigned, "garbage.garbage.garbage"):
            r = c.get("/get", headers={"cookie": f"session={cookie}"})
            assert r.json() == {"data": {}, "id": None}


def test_store_entries_expire_and_signed_ids_expire() -> None:
    now = [1000.0]
    store = MemoryStore(clock=lambda: now[0])

    async def scenario() -> None:
        await store.save("a", {"x": 1}, 10)
        await store.save("b", {"x": 2}, None)
        assert await store.load("a") == {"x": 1}
        now[0] += 11
        assert await store.load("a") is None
        assert await store.load("b") == {"x": 2}

    anyio.run(scenario)
    app = session_app(ENDPOINTS, store="memory", max_age=60)
    with TestClient(app) as c:
        c.get("/set")
        session_id = c.get("/get").json()["id"]
        old = SessionSigner(SECRET, clock=lambda: time.time() - 120).dumps(session_id)
        r = c.get("/get", headers={"cookie": f"session={old}"})
        assert r.json() == {"data": {}, "id": None}


def test_memory_store_is_bounded() -> None:
    store = MemoryStore(max_entries=3)

    async def scenario() -> None:
        for i in range(5):
            await store.save(str(i), {"i": i}, None)
        assert len(store) == 3
        assert await store.load("0") is None
        assert await store.load("4") == {"i": 4}

    anyio.run(scenario)


def test_memory_store_refuses_non_json() -> None:
    async def scenario() -> None:
        await MemoryStore().save("a", {"x": object()}, None)

    with pytest.raises(TypeError):
        anyio.run(scenario)


class RecordingStore:
    """A custom store found through a dotted path in the settings."""

    instances: list[RecordingStore] = []

    def __init__(self) -> None:
        self.data: dict[str, dict[str, Any]] = {}
        RecordingStore.instances.append(self)

    async def load(self, session_id: str) -> dict[str, Any] | None:
        return self.data.get(session_id)

    async def save(self, session_id: str, data: dict[str, Any], max_age: int | None) -> None:
        self.data[session_id] = data

    async def delete(self, session_id: str) -> None:
        self.data.pop(session_id, None)


def test_store_from_a_dotted_path() -> None:
    assert isinstance(RecordingStore(), SessionStore)
    app = session_app(ENDPOINTS, store="test_sessions_store:RecordingStore")
    with TestClient(app) as c:
        c.get("/set?v=dora")
    store = RecordingStore.instances[-1]
    assert list(store.data.values()) == [{"user": "dora"}]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("nowhere.at_all:Store", "cannot be imported"),
        ("test_sessions_store:ENDPOINTS", "lacks async load"),
        ("justaword", "expected 'cookie', 'memory'"),
    ],
)
def test_bad_store_setting_refuses_to_start(spec: str, message: str) -> None:
    with pytest.raises(AssemblyError, match=r"\[sessions\] store: .*" + message):
        session_app(ENDPOINTS, store=spec).assemble()
