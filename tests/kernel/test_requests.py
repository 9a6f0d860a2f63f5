"""Request: URL parts, headers, cookies, state, url_for, and the body in all its forms."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import anyio
import pytest
from lamina import (
    JSONResponse,
    Middleware,
    PlainTextResponse,
    Request,
    Response,
    URLPath,
)
from lamina._exceptions import PayloadTooLarge, RequestError
from lamina._requests import ClientDisconnect, parse_cookie_header
from lamina._scopekeys import BODY_KEY, MAX_BODY_KEY, add_cleanup, run_cleanups
from lamina.testclient import TestClient
from lamina.testing import make_app, plugin

from tests.helpers.asgi import http_scope, receiver

Endpoint = Callable[[Request], Awaitable[Response]]


def app_for(endpoint: Endpoint, *, router_extra: Any = None, **kwargs: Any) -> Any:
    class Router:
        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            response = await endpoint(Request(scope, receive, send))
            await response(scope, receive, send)

        def url_path_for(self, name: str, **params: Any) -> URLPath:
            return URLPath(f"/{name}/" + "/".join(f"{k}={v}" for k, v in sorted(params.items())))

    def make_router(app: Any, routes: Any) -> Any:
        return Router()

    kernel = kwargs.pop("kernel", None)
    settings = {"lamina": kernel} if kernel else None
    return make_app(plugin("router", make_router=make_router), settings=settings, **kwargs)


def scope_for(headers: list[tuple[bytes, bytes]] | None = None, **extra: Any) -> dict[str, Any]:
    """A POST to ``/`` (``extra`` overrides any key, ``path`` without touching ``raw_path``)."""
    return http_scope("POST", "/", headers or [], server=("srv", 8000), **extra)


def chunk(body: bytes, more: bool = True) -> dict[str, Any]:
    return {"type": "http.request", "body": body, "more_body": more}


def run(coro_fn: Callable[[], Awaitable[Any]]) -> Any:
    async def main() -> Any:
        with anyio.fail_after(5):
            return await coro_fn()

    return anyio.run(main)


# --------------------------------------------------------------------------- connection
def test_url_parts_headers_query_and_client() -> None:
    async def endpoint(request: Request) -> Response:
        url = request.url
        return JSONResponse(
            {
                "url": str(url),
                "scheme": url.scheme,
                "host": url.hostname,
                "port": url.port,
                "path": url.path,
                "query": url.query,
                "base": str(request.base_url),
                "method": request.method,
                "q": request.query_params.getlist("q"),
                "q_last": request.query_params["q"],
                "x": request.headers.getlist("X-Multi"),
                "x_get": request.headers["x-multi"],
                "client": list(request.client or ()),
                "path_params": request.path_params,
            }
        )

    with TestClient(app_for(endpoint), base_url="http://example.org:8080") as client:
        r = client.get("/a/b?q=1&q=%C3%A9&z", headers=[("X-Multi", "1"), ("x-multi", "2")])
    assert r.json() == {
        "url": "http://example.org:8080/a/b?q=1&q=%C3%A9&z",
        "scheme": "http",
        "host": "example.org",
        "port": 8080,
        "path": "/a/b",
        "query": "q=1&q=%C3%A9&z",
        "base": "http://example.org:8080/",
        "method": "GET",
        "q": ["1", "é"],
        "q_last": "é",
        "x": ["1", "2"],
        "x_get": "1",
        "client": ["testclient", 50000],
        "path_params": {},
    }


def test_root_path_is_honoured() -> None:
    async def endpoint(request: Request) -> Response:
        return JSONResponse(
            {
                "url": str(request.url),
                "base": str(request.base_url),
                "for": str(request.url_for("item", id=3)),
            }
        )

    with TestClient(app_for(endpoint), root_path="/api") as client:
        r = client.get("/items")
    assert r.json() == {
        "url": "http://testserver/api/items",
        "base": "http://testserver/api/",
        "for": "http://testserver/api/item/id=3",
    }


def test_headers_are_immutable() -> None:
    request = Request(scope_for([(b"a", b"1")]))
    with pytest.raises(TypeError):
        request.headers["a"] = "2"  # type: ignore[index]


def test_hostile_host_header_falls_back_to_server_address() -> None:
    for host in (b"evil.com/path?x", b"[::1", b"a b", b"user@host", b"h:port"):
        request = Request(scope_for([(b"host", host)]))
        assert str(request.url) == "http://srv:8000/", host
    assert str(Request(scope_for([(b"host", b"[::1]:81")])).url) == "http://[::1]:81/"


def test_path_characters_that_would_break_the_url_are_encoded() -> None:
    request = Request(scope_for(path="/a?b#c d", query_string=b"x=1"))
    assert str(request.url) == "http://srv:8000/a%3Fb%23c%20d?x=1"
    assert request.url.path == "/a%3Fb%23c%20d"
    assert Request(scope_for(path="/café")).url.path == "/café"


def test_cookies_lenient() -> None:
    headers = [
        (b"cookie", b'a=1; bad; =x; b="q\\"uoted\\073"; c=2; a=dup; d="x y"'),
        (b"cookie", b"e=5; c=again"),
        (b"cookie", "u=é".encode()),
    ]
    assert Request(scope_for(headers)).cookies == {
        "a": "1",
        "b": 'q"uoted;',
        "c": "2",
        "d": "x y",
        "e": "5",
        "u": "é",
    }
    assert parse_cookie_header("a b=1; ok=2; semi") == {"ok": "2"}
    assert parse_cookie_header('x="\\303\\251"') == {"x": "é"}


def test_state_from_lifespan_reaches_request() -> None:
    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[dict[str, Any]]:
        yield {"db": "connected"}

    async def endpoint(request: Request) -> Response:
        request.state.per_request = 1
        return PlainTextResponse(request.state.db)

    with TestClient(app_for(endpoint, lifespan=lifespan)) as client:
        assert client.get("/").text == "connected"


def test_url_for_without_router_support() -> None:
    app = make_app()
    request = Request(scope_for(app=app))
    with pytest.raises(LookupError):
        request.url_for("x")


# --------------------------------------------------------------------------- body
def test_body_read_by_middleware_is_readable_again_by_endpoint() -> None:
    def reader(app: Any) -> Any:
        async def middleware(scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] == "http":
                scope["seen"] = await Request(scope, receive).body()
            await app(scope, receive, send)

        return middleware

    async def endpoint(request: Request) -> Response:
        return JSONResponse(
            {
                "mw": request.scope["seen"].decode(),
                "body": (await request.body()).decode(),
                "again": (await request.body()).decode(),
                "json": await request.json(),
                "stream": b"".join([c async for c in request.stream()]).decode(),
            }
        )

    with TestClient(app_for(endpoint, middleware=[Middleware(reader)])) as client:
        r = client.post("/", json={"k": 1})
    assert r.json() == {
        "mw": '{"k":1}',
        "body": '{"k":1}',
        "again": '{"k":1}',
        "json": {"k": 1},
        "stream": '{"k":1}',
    }


def test_stream_yields_chunks_then_body_cannot_be_reread() -> None:
    async def main() -> None:
        request = Request(scope_for(), receiver(chunk(b"ab"), chunk(b""), chunk(b"c", False)))
        assert [c async for c in request.stream()] == [b"ab", b"c"]
        with pytest.raises(RuntimeError, match="already consumed"):
            await request.body()
        with pytest.raises(RuntimeError, match="already consumed"):
            request.stream()

    run(main)


def test_empty_body() -> None:
    async def main() -> None:
        request = Request(scope_for(), receiver(chunk(b"", False)))
        assert await request.body() == b""
        assert [c async for c in request.stream()] == []

    run(main)


def test_invalid_json_is_400_with_reason() -> None:
    async def endpoint(request: Request) -> Response:
        return JSONResponse(await request.json())

    with TestClient(app_for(endpoint)) as client:
        r = client.post("/", content=b"{not json")
        assert r.status_code == 400
        assert r.text.startswith("Invalid JSON body: Expecting property name")
        r = client.post("/", content=b"\xff\xfe")
        assert r.status_code == 400
        assert client.post("/", content=b"[1]").json() == [1]
        for constant in (b"NaN", b"[Infinity]", b'{"a": -Infinity}'):  # not JSON (RFC 8259)
            r = client.post("/", content=constant)
            assert r.status_code == 400, constant
            assert r.text.startswith("Invalid JSON body: ") and "is not valid JSON" in r.text


def test_declared_content_length_over_limit_is_413_before_reading() -> None:
    async def main() -> None:
        receive = receiver(chunk(b"x" * 10, False))
        request = Request(scope_for([(b"content-length", b"11")], **{MAX_BODY_KEY: 10}), receive)
        with pytest.raises(PayloadTooLarge, match="11 bytes exceeds the limit of 10"):
            await request.body()
        assert receive.calls["n"] == 0
        bad = Request(scope_for([(b"content-length", b"-1")]), receiver())
        with pytest.raises(RequestError, match="Content-Length"):
            await bad.body()
        bad = Request(scope_for([(b"content-length", b"ten")]), receiver())
        with pytest.raises(RequestError, match="Content-Length"):
            await bad.body()

    run(main)


@pytest.mark.parametrize("value", [b"+5", b"5_0", b" 5", b"5 ", b"1e3", "٣".encode(), b""])
def test_content_length_must_be_plain_ascii_digits(value: bytes) -> None:
    """int() accepts all of these; RFC 9110 allows only 1*DIGIT."""

    async def main() -> None:
        request = Request(scope_for([(b"content-length", value)]), receiver(chunk(b"x", False)))
        with pytest.raises(RequestError, match="Invalid Content-Length"):
            await request.body()

    run(main)


def test_content_length_with_thousands_of_digits_is_413_not_a_crash() -> None:
    """int() refuses digit strings over 4300 characters (ValueError); it must not be called."""

    async def main() -> None:
        scope = scope_for([(b"content-length", b"9" * 5000)], **{MAX_BODY_KEY: 10})
        with pytest.raises(PayloadTooLarge, match="more than 10\\*\\*18 bytes"):
            await Request(scope, receiver()).body()
        for limit in (None, 10):  # leading zeros do not make a length large
            scope = scope_for([(b"content-length", b"0" * 5000 + b"1")], **{MAX_BODY_KEY: limit})
            assert await Request(scope, receiver(chunk(b"x", False))).body() == b"x"

    run(main)


def test_limit_enforced_while_streaming() -> None:
    async def main() -> None:
        receive = receiver(chunk(b"x" * 6), chunk(b"x" * 6), chunk(b"x" * 100, False))
        request = Request(scope_for(**{MAX_BODY_KEY: 10}), receive)
        got = []
        with pytest.raises(PayloadTooLarge):
            async for c in request.stream():
                got.append(c)
        assert got == [b"x" * 6]
        assert receive.calls["n"] == 2

    run(main)


def test_app_and_route_limits() -> None:
    async def endpoint(request: Request) -> Response:
        return PlainTextResponse(str(len(await request.body())))

    def per_route(app: Any) -> Any:  # what a router does for a route with its own limit
        async def middleware(scope: Any, receive: Any, send: Any) -> None:
            if scope.get("path") == "/big":
                scope[MAX_BODY_KEY] = 100
            await app(scope, receive, send)

        return middleware

    app = app_for(endpoint, kernel={"max_body_size": 10}, middleware=[Middleware(per_route)])
    with TestClient(app) as client:
        assert client.post("/", content=b"x" * 10).text == "10"
        r = client.post("/", content=b"x" * 11)
        assert (r.status_code, r.text) == (
            413,
            "Request body of 11 bytes exceeds the limit of 10 bytes",
        )
        assert client.post("/big", content=b"x" * 50).text == "50"
    with TestClient(app_for(endpoint, kernel={"max_body_size": None})) as client:
        assert client.post("/", content=b"x" * 20_000_000).text == "20000000"
    with TestClient(app_for(endpoint)) as client:  # the default is on: 10 MiB
        assert client.post("/", content=b"x" * (10 * 1024 * 1024 + 1)).status_code == 413


def test_client_disconnect_while_reading() -> None:
    async def main() -> None:
        request = Request(scope_for(), receiver(chunk(b"ab"), {"type": "http.disconnect"}))
        with pytest.raises(ClientDisconnect):
            await request.body()
        assert await request.is_disconnected()

    run(main)


def test_client_disconnect_is_not_a_500() -> None:
    sent: list[dict[str, Any]] = []

    async def endpoint(request: Request) -> Response:
        await request.body()
        raise AssertionError("unreachable")

    async def main() -> None:
        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        scope = scope_for(**{"lamina.raise_server_exceptions": True})
        await app_for(endpoint)(scope, receiver(chunk(b"a"), {"type": "http.disconnect"}), send)

    run(main)
    assert sent == []


def test_is_disconnected_never_blocks_and_keeps_body_chunks() -> None:
    async def main() -> None:
        request = Request(scope_for(), receiver())  # receive would block forever
        assert await request.is_disconnected() is False
        request = Request(scope_for(), receiver(chunk(b"a"), chunk(b"b", False)))
        assert await request.is_disconnected() is False
        assert await request.is_disconnected() is False
        assert await request.body() == b"ab"
        request = Request(scope_for(), receiver({"type": "http.disconnect"}))
        assert await request.is_disconnected() is True
        assert await request.is_disconnected() is True

    run(main)


def test_is_disconnected_after_body_and_while_streaming() -> None:
    async def main() -> None:
        request = Request(
            scope_for(), receiver(chunk(b"a", False), {"type": "http.disconnect"}, then_block=False)
        )
        assert await request.body() == b"a"
        assert await request.is_disconnected() is True
        request = Request(scope_for(), receiver(chunk(b"a"), chunk(b"b", False)))
        stream = request.stream()
        assert await stream.__anext__() == b"a"
        assert await request.is_disconnected() is False  # must not steal the next chunk
        assert [c async for c in stream] == [b"b"]

    run(main)


def test_request_without_receive() -> None:
    async def main() -> None:
        with pytest.raises(RuntimeError, match="without a receive"):
            await Request(scope_for()).body()

    run(main)


def test_cleanups_run_in_reverse_and_survive_failures(caplog: pytest.LogCaptureFixture) -> None:
    order: list[str] = []

    async def first() -> None:
        order.append("first")

    async def broken() -> None:
        order.append("broken")
        raise ValueError("x")

    async def main() -> None:
        scope: dict[str, Any] = {}
        add_cleanup(scope, first)
        add_cleanup(scope, broken)
        await run_cleanups(scope)
        await run_cleanups(scope)  # nothing left

    run(main)
    assert order == ["broken", "first"]
    assert "cleanup" in caplog.text


def test_cleanups_run_after_the_endpoint_through_the_error_layer() -> None:
    order: list[str] = []

    async def endpoint(request: Request) -> Response:
        async def cleanup() -> None:
            order.append("cleanup")

        add_cleanup(request.scope, cleanup)
        order.append("endpoint")
        return PlainTextResponse("ok")

    with TestClient(app_for(endpoint)) as client:
        client.get("/")
    assert order == ["endpoint", "cleanup"]


def test_request_close_closes_the_form() -> None:
    async def endpoint(request: Request) -> Response:
        form = await request.form()
        upload = form["f"]
        await request.close()
        return PlainTextResponse(str(upload.file.closed))  # type: ignore[union-attr]

    with TestClient(app_for(endpoint)) as client:
        assert client.post("/", files={"f": ("a", b"x")}).text == "True"


def test_body_cached_on_scope() -> None:
    async def main() -> None:
        scope = scope_for()
        await Request(scope, receiver(chunk(b"z", False))).body()
        assert scope[BODY_KEY] == b"z"
        assert await Request(scope, receiver()).body() == b"z"

    run(main)


def test_deeply_nested_json_is_400_not_500() -> None:
    async def endpoint(request: Request) -> Response:
        return JSONResponse(await request.json())

    with TestClient(app_for(endpoint)) as client:
        r = client.post("/", content=b"[" * 200_000 + b"]" * 200_000)
    assert (r.status_code, r.text) == (400, "Invalid JSON body: nested too deeply")


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_is_disconnected_on_both_backends(backend: str) -> None:
    async def endpoint(request: Request) -> Response:
        first = await request.is_disconnected()
        body = await request.body()
        return JSONResponse([first, body.decode()])

    with TestClient(app_for(endpoint), backend=backend) as client:
        assert client.post("/", content=b"data").json() == [False, "data"]
