"""The plugin in an app: settings, lifespan, ``sse_response`` and ``relay`` in-process."""

from __future__ import annotations

import json
import logging

import pytest
from broadcast_app import make
from lamina import SettingsError
from lamina.testclient import TestClient
from lamina_broadcast import Broadcast, broadcast_for

from tests.helpers import sse

pytestmark = pytest.mark.timeout(20)


def test_broadcast_for_an_app_and_its_connections() -> None:
    app = make()
    with TestClient(app) as client:
        assert isinstance(broadcast_for(app), Broadcast)
        assert client.get("/stats").json()["connected"] is True


def test_sse_response_subscribes_sends_ids_and_resumes() -> None:
    app = make()
    with TestClient(app) as client:
        with client.stream("GET", "/sse/news") as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            lines = response.iter_lines()
            assert sse.take(lines, 1) == [{"retry": "1000"}]  # subscribed
            ids = [
                client.post("/publish/news", json={"data": {"n": n}, "event": "tick"}).json()["id"]
                for n in range(3)
            ]
            got = sse.take(lines, 3)
        assert got == [
            {"id": ids[n], "event": "tick", "data": json.dumps({"n": n}, separators=(",", ":"))}
            for n in range(3)
        ]
        later = [client.post("/publish/news", json={"data": n}).json()["id"] for n in range(2)]
        with client.stream("GET", "/sse/news", headers={"last-event-id": ids[2]}) as response:
            lines = response.iter_lines()
            got = sse.take(lines, 3)
        assert got[1:] == [{"id": later[0], "data": "0"}, {"id": later[1], "data": "1"}]
        with client.stream("GET", "/sse/news", headers={"last-event-id": "nonsense"}) as response:
            got = sse.take(response.iter_lines(), 2)
        assert got[1] == {"event": "reset", "data": '{"channel":"news"}'}


def test_relay_forwards_events_to_a_websocket() -> None:
    app = make()
    with TestClient(app) as client, client.websocket_connect("/ws/room,other") as ws:
        client.post("/publish/other", json={"data": "first"})
        client.post("/publish/room", json={"data": {"text": "hi"}, "event": "chat"})
        first, second = ws.receive_json(), ws.receive_json()
    assert first["channel"] == "other" and first["data"] == "first"
    assert second == {
        "channel": "room",
        "id": second["id"],
        "event": "chat",
        "data": {"text": "hi"},
        "kind": "message",
    }


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"url": "http://example"}, "url"),
        ({"max_backlog": 0}, "max_backlog"),
        ({"overflow": "block"}, "overflow"),
        ({"ttl": 0}, "ttl"),
        ({"url": "redis+stream://127.0.0.1:1/0", "history": 0}, "history"),
    ],
)
def test_invalid_settings_refuse_to_start(settings: dict[str, object], message: str) -> None:
    with pytest.raises(Exception, match=message) as info:
        make(**settings).assemble()
    assert isinstance(info.value, SettingsError) or "broadcast" in str(info.value)


def test_a_password_in_the_url_never_shows() -> None:
    broadcast = Broadcast("redis://user:s3cret@127.0.0.1:1/0")
    assert "s3cret" not in repr(broadcast)
    with pytest.raises(Exception) as info:
        make(url="postgres://user:s3cret@host/db").assemble()
    assert "s3cret" not in str(info.value)


def test_memory_warns_when_the_server_runs_several_workers(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "lamina.broadcast")
    with TestClient(make()):
        pass
    assert not caplog.records
    monkeypatch.setenv("LAMINA_WORKERS", "2")
    with TestClient(make()):
        pass
    (record,) = caplog.records
    assert "2 workers" in record.getMessage() and "[broadcast] url" in record.getMessage()
