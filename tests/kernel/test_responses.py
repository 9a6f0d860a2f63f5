"""Responses: headers, cookies, redirects, JSON, streaming, background."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

import anyio
import pytest
from lamina import (
    HTMLResponse,
    JSONResponse,
    MutableHeaders,
    PlainTextResponse,
    RedirectResponse,
    Request,
    Response,
    StreamingResponse,
)
from lamina._responses import SPAWN_KEY


class Recorder:
    def __init__(self, fail_after: int | None = None) -> None:
        self.messages: list[dict[str, Any]] = []
        self.fail_after = fail_after

    async def __call__(self, message: dict[str, Any]) -> None:
        if self.fail_after is not None and len(self.messages) >= self.fail_after:
            raise OSError("client went away")  # what an ASGI 2.4 server raises
        self.messages.append(message)

    @property
    def status(self) -> int:
        return self.messages[0]["status"]  # type: ignore[no-any-return]

    @property
    def headers(self) -> list[tuple[bytes, bytes]]:
        return self.messages[0]["headers"]  # type: ignore[no-any-return]

    @property
    def body(self) -> bytes:
        return b"".join(m.get("body", b"") for m in self.messages[1:])


def scope_for(method: str = "GET", **extra: Any) -> dict[str, Any]:
    scope = {
        "type": "http",
        "method": method,
        "path": "/",
        "headers": [],
        "query_string": b"",
        "asgi": {"version": "3.0"},
    }
    scope.update(extra)
    return scope


async def never_receive() -> dict[str, Any]:
    await anyio.sleep_forever()
    raise AssertionError


def call(
    response: Response,
    method: str = "GET",
    receive: Any = never_receive,
    send: Recorder | None = None,
    **scope: Any,
) -> Recorder:
    recorder = send or Recorder()

    async def main() -> None:
        with anyio.fail_after(5):
            await response(scope_for(method, **scope), receive, recorder)

    anyio.run(main)
    return recorder


# --------------------------------------------------------------------------- basics
def test_plain_response_headers() -> None:
    sent = call(PlainTextResponse("héllo", headers={"X-Thing": "1"}))
    assert sent.status == 200
    assert sent.headers == [
        (b"x-thing", b"1"),
        (b"content-length", b"6"),
        (b"content-type", b"text/plain; charset=utf-8"),
    ]
    assert sent.body == "héllo".encode()


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, b""),
        (b"raw", b"raw"),
        (bytearray(b"ba"), b"ba"),
        (memoryview(b"mv"), b"mv"),
        ("text", b"text"),
    ],
)
def test_content_types_accepted(content: Any, expected: bytes) -> None:
    assert Response(content).body == expected


def test_explicit_content_type_and_length_win() -> None:
    r = HTMLResponse("<b>x</b>", headers={"Content-Type": "text/html; charset=latin-1"})
    assert r.headers.getlist("content-type") == ["text/html; charset=latin-1"]
    r = Response(b"abc", media_type="application/octet-stream")
    assert r.headers["content-type"] == "application/octet-stream"
    assert r.headers["content-length"] == "3"


@pytest.mark.parametrize("status", [101, 204, 304])
def test_no_content_length_for_bodiless_statuses(status: int) -> None:
    assert "content-length" not in Response(status_code=status).headers


def test_head_sends_headers_only() -> None:
    sent = call(PlainTextResponse("body"), method="HEAD")
    assert (b"content-length", b"4") in sent.headers
    assert sent.body == b""


def test_json_response() -> None:
    assert JSONResponse({"a": [1, "é"], "b": None}).body == '{"a":[1,"é"],"b":null}'.encode()
    assert JSONResponse([]).headers["content-type"] == "application/json"
    with pytest.raises(ValueError):
        JSONResponse({"x": float("nan")})


def test_status_code_can_change_after_construction() -> None:
    response = PlainTextResponse("x")
    response.status_code = 201
    assert call(response).status == 201


def test_mutable_headers_view_changes_what_is_sent() -> None:
    response = PlainTextResponse("x")
    response.headers["x-added"] = "yes"
    response.headers.append("vary", "a")
    response.headers.add_vary_header("b")
    sent = call(response)
    assert (b"x-added", b"yes") in sent.headers
    assert (b"vary", b"a, b") in sent.headers


# --------------------------------------------------------------------------- injection
@pytest.mark.parametrize("bad", ["a\r\nSet-Cookie: x=1", "a\nb", "a\rb", "a\x00b"])
def test_header_values_with_cr_lf_nul_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="CR, LF or NUL"):
        Response(headers={"x-h": bad})
    with pytest.raises(ValueError, match="CR, LF or NUL"):
        MutableHeaders()["x-h"] = bad
    with pytest.raises(ValueError, match="CR, LF or NUL"):
        MutableHeaders().append("x-h", bad)
    with pytest.raises(ValueError):
        Response(b"", media_type=bad)


@pytest.mark.parametrize("bad", ["", "a b", "a:b", "a\r\nb", "x(y)"])
def test_invalid_header_names_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="invalid header name"):
        Response(headers={bad: "v"})
    with pytest.raises(ValueError, match="invalid header name"):
        MutableHeaders()[bad] = "v"


def test_redirect_location_is_encoded() -> None:
    r = RedirectResponse("/next?a=1&b=é#frag")
    assert r.status_code == 307
    assert r.headers["location"] == "/next?a=1&b=%C3%A9#frag"
    r = RedirectResponse("/x\r\nSet-Cookie: evil=1", status_code=303)
    assert r.headers["location"] == "/x%0D%0ASet-Cookie:%20evil=1"
    assert r.status_code == 303
    assert "set-cookie" not in r.headers
    assert r.headers["content-length"] == "0"


# --------------------------------------------------------------------------- cookies
def test_set_cookie_with_every_attribute() -> None:
    r = Response()
    r.set_cookie(
        "sid",
        "abc",
        max_age=60,
        expires=datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC),
        path="/app",
        domain="example.org",
        secure=True,
        httponly=True,
        samesite="strict",
        partitioned=True,
    )
    assert r.headers.getlist("set-cookie") == [
        "sid=abc; Max-Age=60; Expires=Wed, 02 Jan 2030 03:04:05 GMT; Path=/app; "
        "Domain=example.org; Secure; HttpOnly; SameSite=Strict; Partitioned"
    ]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"key": ""},
        {"key": "a b"},
        {"key": "a;b"},
        {"key": "a=b"},
        {"key": "é"},
        {"key": "k", "value": "v\r\nSet-Cookie: x"},
        {"key": "k", "value": "\x00"},
        {"key": "k", "path": "/;x"},
        {"key": "k", "domain": "a\nb"},
        {"key": "k", "expires": "x\r\n"},
        {"key": "k", "samesite": "sometimes"},
    ],
)
def test_set_cookie_refuses_injection(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        Response().set_cookie(**kwargs)


def test_delete_cookie() -> None:
    r = Response()
    r.delete_cookie("sid", path="/app", domain="example.org", partitioned=True)
    assert r.headers["set-cookie"] == (
        "sid=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/app; "
        "Domain=example.org; Secure; SameSite=Lax; Partitioned"
    )


# --------------------------------------------------------------------------- background
def test_background_runs_after_the_body_is_sent() -> None:
    recorder = Recorder()
    seen: list[int] = []

    async def task() -> None:
        seen.append(len(recorder.messages))

    call(PlainTextResponse("x", background=task), send=recorder)
    assert seen == [2]


def test_background_is_handed_to_a_spawner_when_present() -> None:
    spawned: list[Any] = []

    async def task() -> None:
        raise AssertionError("must not run in the request")

    call(PlainTextResponse("x", background=task), **{SPAWN_KEY: spawned.append})
    assert spawned == [task]


def test_websocket_denial_response() -> None:
    sent = call(PlainTextResponse("no", status_code=403), type="websocket")
    assert [m["type"] for m in sent.messages] == [
        "websocket.http.response.start",
        "websocket.http.response.body",
    ]
    assert sent.status == 403
    assert sent.body == b"no"


# --------------------------------------------------------------------------- streaming
def test_streaming_async_and_str_chunks() -> None:
    async def gen() -> AsyncIterator[str | bytes]:
        yield "é"
        yield b"b"

    sent = call(StreamingResponse(gen(), media_type="text/plain"))
    assert sent.body == "éb".encode()
    assert sent.messages[-1] == {"type": "http.response.body", "body": b""}
    assert all(m.get("more_body") for m in sent.messages[1:-1])
    assert (b"content-type", b"text/plain; charset=utf-8") in sent.headers
    assert not any(k == b"content-length" for k, _ in sent.headers)


def test_streaming_sync_iterator_runs_in_a_worker_thread() -> None:
    threads: list[str] = []

    def gen() -> Iterator[bytes]:
        for i in range(3):
            threads.append(threading.current_thread().name)
            yield str(i).encode()

    sent = call(StreamingResponse(gen()))
    assert sent.body == b"012"
    assert threading.main_thread().name not in threads
    assert call(StreamingResponse([b"a", "b"])).body == b"ab"


def test_streaming_stops_when_the_client_disconnects() -> None:
    closed = []
    produced = []
    recorder = Recorder()
    disconnected = anyio.Event()

    async def endless() -> AsyncIterator[bytes]:
        try:
            for i in range(10_000):
                produced.append(i)
                if i == 3:
                    disconnected.set()
                yield b"x"
                await anyio.sleep(0)
        finally:
            closed.append(True)

    async def receive() -> dict[str, Any]:
        await disconnected.wait()
        return {"type": "http.disconnect"}

    ran = []

    async def task() -> None:
        ran.append(True)

    call(StreamingResponse(endless(), background=task), receive=receive, send=recorder)
    assert len(produced) < 50
    assert closed == [True]
    assert ran == [True]


def test_streaming_ignores_unread_request_body_messages() -> None:
    messages = [{"type": "http.request", "body": b"ignored", "more_body": False}]

    async def receive() -> dict[str, Any]:
        if messages:
            return messages.pop()
        await anyio.sleep_forever()
        raise AssertionError

    assert call(StreamingResponse(iter([b"a", b"b"])), receive=receive).body == b"ab"


def test_streaming_survives_oserror_from_send() -> None:
    closed: list[bool] = []

    def gen() -> Iterator[bytes]:
        try:
            for _ in range(10_000):
                yield b"x"
        finally:
            closed.append(True)

    recorder = Recorder(fail_after=3)
    call(StreamingResponse(gen()), send=recorder)
    assert len(recorder.messages) == 3
    assert closed == [True]


def test_streaming_head_sends_no_body_and_closes_the_iterator() -> None:
    closed: list[bool] = []

    async def gen() -> AsyncIterator[bytes]:
        try:
            yield b"never"
        finally:
            closed.append(True)

    iterator = gen()
    sent = call(StreamingResponse(iterator), method="HEAD")
    assert sent.body == b""
    assert len(sent.messages) == 2


def test_streaming_response_can_echo_the_request_body() -> None:
    """The stream owns ``receive``: the disconnect watcher must not steal body chunks."""
    chunks = [
        {"type": "http.request", "body": bytes([65 + i]), "more_body": i < 4} for i in range(5)
    ]

    async def receive() -> dict[str, Any]:
        if chunks:
            await anyio.sleep(0)
            return chunks.pop(0)
        await anyio.sleep_forever()
        raise AssertionError

    recorder = Recorder()

    async def main() -> None:
        scope = scope_for("POST")
        request = Request(scope, receive)
        with anyio.fail_after(5):
            await StreamingResponse(request.stream())(scope, receive, recorder)

    anyio.run(main)
    assert recorder.body == b"ABCDE"


def test_streaming_error_in_iterator_propagates() -> None:
    async def gen() -> AsyncIterator[bytes]:
        yield b"a"
        raise KeyError("boom")

    with pytest.raises(KeyError):
        call(StreamingResponse(gen()))


# --------------------------------------------------------------------------- real servers
@pytest.mark.parametrize(("server", "loop"), [("uvicorn", "asyncio"), ("hypercorn", "trio")])
def test_stream_stops_when_a_real_client_goes_away(server: str, loop: str) -> None:
    import httpx
    from lamina.testing import make_app, plugin

    from tests.helpers.servers import serve

    finished = threading.Event()
    exhausted: list[bool] = []

    async def endless() -> AsyncIterator[bytes]:
        try:
            for _ in range(100_000):  # bounded: about 100 s at the pace below
                yield b"tick\n"
                await anyio.sleep(0.001)  # pacing only, so the bound above is far off
            exhausted.append(True)
        finally:
            finished.set()

    async def router(scope: Any, receive: Any, send: Any) -> None:
        await StreamingResponse(endless(), media_type="text/plain")(scope, receive, send)

    app = make_app(plugin("router", make_router=lambda app, routes: router))
    with serve(app, server=server, loop=loop) as url, httpx.Client(timeout=10) as client:
        with client.stream("GET", url + "/") as r:
            lines = r.iter_lines()
            assert [next(lines) for _ in range(3)] == ["tick"] * 3
        assert finished.wait(30), "the generator kept running after the client left"
    assert not exhausted  # closed early by the disconnect, not run to its end


def test_headers_as_pairs_allow_repeated_names() -> None:
    r = Response(b"", headers=[("Link", "<a>; rel=x"), ("link", "<b>; rel=y")])
    assert r.headers.getlist("link") == ["<a>; rel=x", "<b>; rel=y"]


def test_content_of_the_wrong_type_is_a_clear_error() -> None:
    with pytest.raises(TypeError, match="must be bytes or str, not dict"):
        PlainTextResponse({"a": 1})


# --------------------------------------------------------------------------- background, all types
def _file(tmp: Any, size: int) -> str:
    path = tmp / f"f{size}.bin"
    path.write_bytes(bytes(range(256)) * (size // 256))
    return str(path)


async def _agen() -> AsyncIterator[bytes]:
    yield b"a"
    yield b"b"


BACKGROUND_CASES: dict[str, Any] = {
    "Response": lambda tmp: Response(b"x"),
    "PlainTextResponse": lambda tmp: PlainTextResponse("x"),
    "HTMLResponse": lambda tmp: HTMLResponse("<p>x</p>"),
    "JSONResponse": lambda tmp: JSONResponse({"a": 1}),
    "RedirectResponse": lambda tmp: RedirectResponse("/next"),
    "StreamingResponse-async": lambda tmp: StreamingResponse(_agen()),
    "StreamingResponse-sync": lambda tmp: StreamingResponse(iter([b"a", b"b"])),
    "FileResponse-small": lambda tmp: _file_response(_file(tmp, 1024)),
    "FileResponse-streamed": lambda tmp: _file_response(_file(tmp, 1024 * 1024), chunk_size=65536),
    "FileResponse-multirange": lambda tmp: (
        _file_response(_file(tmp, 1024 * 1024), chunk_size=65536),
        [(b"range", b"bytes=0-9,500000-500009")],
    ),
    "FileResponse-416": lambda tmp: (
        _file_response(_file(tmp, 1024)),
        [(b"range", b"bytes=5000-")],
    ),
    "FileResponse-HEAD": lambda tmp: (_file_response(_file(tmp, 1024)), [], "HEAD"),
}


def _file_response(path: str, **kwargs: Any) -> Response:
    from lamina import FileResponse

    return FileResponse(path, **kwargs)


def _build(case: str, tmp: Any) -> tuple[Response, list[tuple[bytes, bytes]], str]:
    made = BACKGROUND_CASES[case](tmp)
    if isinstance(made, tuple):
        response, headers, *method = made
        return response, headers, (method[0] if method else "GET")
    return made, [], "GET"


@pytest.mark.parametrize("case", list(BACKGROUND_CASES))
def test_every_response_type_runs_background_after_the_last_body_message(
    case: str,
    tmp_path: Any,
) -> None:
    response, headers, method = _build(case, tmp_path)
    recorder = Recorder()
    seen: list[list[dict[str, Any]]] = []

    async def task() -> None:
        seen.append(list(recorder.messages))

    response.background = task
    call(response, method=method, send=recorder, headers=headers)
    assert len(seen) == 1, "background did not run exactly once"
    sent = seen[0]
    assert sent == recorder.messages  # nothing was sent after it ran
    assert sent[-1]["type"] == "http.response.body" and not sent[-1].get("more_body", False)


@pytest.mark.parametrize("case", list(BACKGROUND_CASES))
def test_every_response_type_hands_background_to_a_spawner(case: str, tmp_path: Any) -> None:
    response, headers, method = _build(case, tmp_path)
    spawned: list[Any] = []

    async def task() -> None:
        raise AssertionError("must not run in the request")

    response.background = task
    recorder = call(response, method=method, headers=headers, **{SPAWN_KEY: spawned.append})
    assert spawned == [task]
    assert not recorder.messages[-1].get("more_body", False)


def test_background_given_to_the_constructor_of_every_type(tmp_path: Any) -> None:
    """The ``background=`` keyword exists on every response class and is stored."""
    from lamina import FileResponse

    async def task() -> None:
        pass

    path = _file(tmp_path, 256)
    made = [
        Response(b"", background=task),
        PlainTextResponse("", background=task),
        HTMLResponse("", background=task),
        JSONResponse(None, background=task),
        RedirectResponse("/", background=task),
        StreamingResponse(iter([b""]), background=task),
        FileResponse(path, background=task),
    ]
    assert all(r.background is task for r in made)


# --------------------------------------------------------------------------- injection, end to end
def test_no_header_injection_through_redirects_cookies_or_headers() -> None:
    """User input with CR/LF reaches a redirect target, a cookie and a header through a real
    app: the redirect is percent-encoded, the cookie and the header are refused (an error,
    never a split header)."""
    from lamina.testclient import TestClient
    from lamina.testing import make_app, plugin

    async def router(scope: Any, receive: Any, send: Any) -> None:
        request = Request(scope, receive, send)
        what, value = request.query_params["what"], request.query_params["v"]
        response: Response
        if what == "redirect":
            response = RedirectResponse(value)
        elif what == "cookie":
            response = PlainTextResponse("ok")
            response.set_cookie("c", value)
        elif what == "cookie-path":
            response = PlainTextResponse("ok")
            response.set_cookie("c", "1", path=value)
        elif what == "header":
            response = PlainTextResponse("ok", headers={"x-echo": value})
        else:
            response = PlainTextResponse("ok")
            response.headers["x-echo"] = value
        await response(scope, receive, send)

    app = make_app(plugin("router", make_router=lambda app, routes: router))
    evil = "/x\r\nSet-Cookie: evil=1\r\n\r\n<script>"
    with TestClient(app, raise_server_exceptions=False, follow_redirects=False) as client:
        r = client.get("/", params={"what": "redirect", "v": evil})
        assert r.status_code == 307
        assert r.headers["location"] == "/x%0D%0ASet-Cookie:%20evil=1%0D%0A%0D%0A%3Cscript%3E"
        assert "set-cookie" not in r.headers
        for what in ("cookie", "cookie-path", "header", "mutable-header"):
            for value in (evil, "a\rb", "a\nb"):
                r = client.get("/", params={"what": what, "v": value})
                assert r.status_code == 500, (what, value)
                assert "set-cookie" not in r.headers and "x-echo" not in r.headers
                assert "evil" not in r.text
    with TestClient(app) as client, pytest.raises(ValueError, match="CR, LF or NUL"):
        client.get("/", params={"what": "header", "v": evil})
