"""The session is the dict it is documented to be: JSON-serialisable, loaded lazily."""

from __future__ import annotations

import json
import pickle

from lamina import JSONResponse, PlainTextResponse, Request
from lamina.testclient import TestClient
from lamina_sessions import Session
from sessions_harness import session_app


async def login(request: Request) -> PlainTextResponse:
    request.session.update(user="ada", roles=["admin"])
    return PlainTextResponse("ok")


async def show(request: Request) -> JSONResponse:
    # was a 500: "Object of type Session is not JSON serializable"
    return JSONResponse({"session": request.session, "dumps": json.dumps(request.session)})


def test_json_response_of_the_session_through_a_real_app() -> None:
    with TestClient(session_app({"/login": login, "/show": show})) as client:
        assert client.get("/show").json() == {"session": {}, "dumps": "{}"}
        client.get("/login")
        r = client.get("/show")
        assert r.status_code == 200
        assert r.json()["session"] == {"user": "ada", "roles": ["admin"]}
        assert json.loads(r.json()["dumps"]) == {"user": "ada", "roles": ["admin"]}


def test_a_lazy_session_serialises_what_it_loads() -> None:
    session = Session(loader=lambda: {"a": 1})
    assert not session.accessed
    assert isinstance(session, dict)
    assert json.dumps(session) == '{"a": 1}'
    assert session.accessed and not session.modified
    assert dict(Session(loader=lambda: {"b": 2})) == {"b": 2}
    assert {**Session(loader=lambda: {"c": 3})} == {"c": 3}
    assert Session(loader=lambda: {"d": 4}) == {"d": 4}
    assert pickle.loads(pickle.dumps(Session({"e": 5}))) == {"e": 5}


def test_every_write_marks_it_modified() -> None:
    writes = [
        lambda s: s.__setitem__("k", 1),
        lambda s: s.update(k=1),
        lambda s: s.setdefault("new", 1),
        lambda s: s.pop("a"),
        lambda s: s.popitem(),
        lambda s: s.clear(),
        lambda s: s.__delitem__("a"),
        lambda s: s.__ior__({"k": 1}),
    ]
    for write in writes:
        session = Session(loader=lambda: {"a": 1})
        write(session)
        assert session.modified, write
    reads = [
        lambda s: s.get("a"),
        lambda s: list(s.items()),
        lambda s: s.setdefault("a", 2),
        lambda s: s.copy(),
        lambda s: "a" in s,
        lambda s: s | {"x": 1},
    ]
    for read in reads:
        session = Session(loader=lambda: {"a": 1})
        read(session)
        assert session.accessed and not session.modified, read


def test_repr_never_shows_the_id() -> None:
    session = Session({"a": 1}, session_id="secret-id")
    assert "secret-id" not in repr(session)
