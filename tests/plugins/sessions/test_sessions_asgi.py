"""SessionMiddleware as plain ASGI: WebSockets, pass-through scopes, use without Lamina."""

from __future__ import annotations

from typing import Any

import anyio
import pytest
from lamina_sessions import Session, SessionMiddleware, SessionSigner

SECRET = "plain-asgi-secret"


async def run(app: Any, scope: dict[str, Any], incoming: list[dict[str, Any]]) -> list[Any]:
    sent: list[dict[str, Any]] = []
    queue = list(incoming)

    async def receive() -> dict[str, Any]:
        return queue.pop(0) if queue else {"type": "websocket.disconnect", "code": 1000}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent


def ws_scope(cookie: str | None = None) -> dict[str, Any]:
    headers = [(b"host", b"example.com")]
    if cookie is not None:
        headers.append((b"cookie", cookie.encode()))
    return {"type": "websocket", "path": "/ws", "headers": headers, "query_string": b""}


def test_websocket_reads_the_session_and_sets_the_cookie_on_accept() -> None:
    seen: list[Any] = []

    async def ws_app(scope: Any, receive: Any, send: Any) -> None:
        session: Session = scope["session"]
        seen.append(dict(session))
        session["visits"] = session.get("visits", 0) + 1
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.close", "code": 1000})

    app = SessionMiddleware(ws_app, secret_key=SECRET)
    token = SessionSigner(SECRET).dumps({"visits": 2})
    sent = anyio.run(run, app, ws_scope(f"session={token}"), [{"type": "websocket.connect"}])
    assert seen == [{"visits": 2}]
    accept = sent[0]
    assert accept["type"] == "websocket.accept"
    cookies = [v.decode() for k, v in accept["headers"] if k == b"set-cookie"]
    assert len(cookies) == 1
    value = cookies[0].split(";")[0].removeprefix("session=")
    assert SessionSigner(SECRET).loads(value, None) == {"visits": 3}
    assert not any(k == b"vary" for k, _ in accept["headers"])


def test_websocket_with_store_keeps_changes_after_accept() -> None:
    from lamina_sessions import MemoryStore

    store = MemoryStore()

    async def ws_app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "websocket.accept"})
        scope["session"]["late"] = True
        await send({"type": "websocket.close", "code": 1000})

    async def scenario() -> None:
        await store.save("abc", {"early": True}, None)
        app = SessionMiddleware(ws_app, secret_key=SECRET, store=store)
        token = SessionSigner(SECRET).dumps("abc")
        await run(app, ws_scope(f"session={token}"), [])
        assert await store.load("abc") == {"early": True, "late": True}

    anyio.run(scenario)


def test_websocket_with_store_forgets_a_session_cleared_after_accept() -> None:
    from lamina_sessions import MemoryStore

    store = MemoryStore()

    async def ws_app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "websocket.accept"})
        scope["session"].clear()  # a logout over the socket
        await send({"type": "websocket.close", "code": 1000})

    async def scenario() -> None:
        await store.save("abc", {"user": "alice"}, None)
        app = SessionMiddleware(ws_app, secret_key=SECRET, store=store)
        await run(app, ws_scope(f"session={SessionSigner(SECRET).dumps('abc')}"), [])
        assert await store.load("abc") is None

    anyio.run(scenario)


def test_cookie_session_changed_after_accept_is_not_lost_silently(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def ws_app(scope: Any, receive: Any, send: Any) -> None:
        scope["session"]["before"] = 1
        await send({"type": "websocket.accept"})
        scope["session"]["after"] = 2
        await send({"type": "websocket.close", "code": 1000})

    app = SessionMiddleware(ws_app, secret_key=SECRET)
    with caplog.at_level("WARNING", logger="lamina.sessions"):
        sent = anyio.run(run, app, ws_scope(), [])
    cookie = next(v.decode() for k, v in sent[0]["headers"] if k == b"set-cookie")
    value = cookie.split(";")[0].removeprefix("session=")
    assert SessionSigner(SECRET).loads(value, None) == {"before": 1}
    assert "changed after the handshake" in caplog.text and "/ws" in caplog.text


def test_cookie_session_unchanged_after_accept_logs_nothing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def ws_app(scope: Any, receive: Any, send: Any) -> None:
        scope["session"]["before"] = 1
        await send({"type": "websocket.accept"})
        assert scope["session"]["before"] == 1
        await send({"type": "websocket.close", "code": 1000})

    with caplog.at_level("WARNING", logger="lamina.sessions"):
        anyio.run(run, SessionMiddleware(ws_app, secret_key=SECRET), ws_scope(), [])
    assert caplog.text == ""


def test_websocket_denied_before_accept_writes_nothing() -> None:
    async def ws_app(scope: Any, receive: Any, send: Any) -> None:
        scope["session"]["x"] = 1
        await send({"type": "websocket.close", "code": 1008})

    app = SessionMiddleware(ws_app, secret_key=SECRET)
    sent = anyio.run(run, app, ws_scope(), [])
    assert sent == [{"type": "websocket.close", "code": 1008}]


def test_other_scope_types_pass_through_untouched() -> None:
    seen: list[Any] = []

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        seen.append(dict(scope))
        await send({"type": "lifespan.startup.complete"})

    app = SessionMiddleware(inner, secret_key=SECRET)
    sent = anyio.run(run, app, {"type": "lifespan"}, [])
    assert seen == [{"type": "lifespan"}]
    assert sent == [{"type": "lifespan.startup.complete"}]


def test_plain_http_without_lamina() -> None:
    async def http_app(scope: Any, receive: Any, send: Any) -> None:
        scope["session"]["hello"] = "world"
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"vary", b"Accept-Encoding")],
            }
        )
        await send({"type": "http.response.body", "body": b"ok"})

    app = SessionMiddleware(http_app, secret_key=[SECRET, "older"], cookie_name="s")
    scope = {"type": "http", "method": "GET", "path": "/", "headers": [], "query_string": b""}
    sent = anyio.run(run, app, scope, [{"type": "http.request", "body": b""}])
    headers = dict(sent[0]["headers"])
    assert headers[b"vary"] == b"Accept-Encoding, Cookie"
    value = headers[b"set-cookie"].decode().split(";")[0].removeprefix("s=")
    assert SessionSigner(SECRET).loads(value, None) == {"hello": "world"}


def test_cookie_found_among_others() -> None:
    async def http_app(scope: Any, receive: Any, send: Any) -> None:
        body = repr(dict(scope["session"])).encode()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body})

    app = SessionMiddleware(http_app, secret_key=SECRET)
    token = SessionSigner(SECRET).dumps({"a": 1})
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/",
        "query_string": b"",
        "headers": [
            (b"cookie", b"theme=dark; xsession=zz"),
            (b"cookie", f"other=1; session={token}".encode()),
        ],
    }
    sent = anyio.run(run, app, scope, [])
    assert sent[1]["body"] == b"{'a': 1}"


def test_session_is_lazy() -> None:
    calls: list[str] = []
    session = Session(loader=lambda: calls.append("load") or {"k": "v"})
    assert calls == [] and not session.accessed
    assert repr(session) == "Session(<not loaded>)"
    assert session["k"] == "v" and session.get("k") == "v"
    assert calls == ["load"] and session.accessed and not session.modified
    session["k"] = "w"
    assert session.modified


def http_scope() -> dict[str, Any]:
    return {"type": "http", "method": "GET", "path": "/stream", "headers": [], "query_string": b""}


def test_http_session_changed_while_streaming_is_not_lost_silently(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def streaming(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        scope["session"]["late"] = True  # e.g. inside a streaming body
        await send({"type": "http.response.body", "body": b"x"})

    with caplog.at_level("WARNING", logger="lamina.sessions"):
        sent = anyio.run(run, SessionMiddleware(streaming, secret_key=SECRET), http_scope(), [])
    assert not any(k == b"set-cookie" for k, _ in sent[0]["headers"])
    assert "GET /stream changed after the response headers were sent" in caplog.text
    assert 'store = "memory"' in caplog.text


def test_http_server_side_session_changed_while_streaming_is_saved(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from lamina_sessions import MemoryStore

    store = MemoryStore()

    async def streaming(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        scope["session"]["late"] = True
        await send({"type": "http.response.body", "body": b"x"})

    async def regenerating(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        scope["session"].regenerate()
        await send({"type": "http.response.body", "body": b"x"})

    async def scenario() -> None:
        await store.save("abc", {"early": True}, None)
        scope = http_scope()
        scope["headers"] = [(b"cookie", f"session={SessionSigner(SECRET).dumps('abc')}".encode())]
        await run(SessionMiddleware(streaming, secret_key=SECRET, store=store), scope, [])
        assert await store.load("abc") == {"early": True, "late": True}
        assert caplog.text == ""
        await run(SessionMiddleware(regenerating, secret_key=SECRET, store=store), scope, [])
        assert await store.load("abc") == {"early": True, "late": True}

    with caplog.at_level("WARNING", logger="lamina.sessions"):
        anyio.run(scenario)
    assert "the session was regenerated, but its new id is lost" in caplog.text
