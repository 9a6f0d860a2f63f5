"""The whole first-party stack, every plugin's middleware on, and ASGI fuzzing strategies.

Shared by the property test (bounded, in CI) and ``python -m tests.kernel.fuzz_stack N``,
the long run reported in the closing note of issue 15.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
from hypothesis import strategies as st
from lamina import JSONResponse, Lamina, PlainTextResponse, Request, StreamingResponse
from lamina.testing import make_app
from lamina_auth import requires
from lamina_routing import Mount, Route
from lamina_sse import EventSourceResponse
from lamina_websocket import WebSocket, WebSocketRoute

KNOWN_TYPES = ("http", "websocket", "lifespan")
#: the demo's static files: FileResponse (ranges, conditional requests) under fuzzing too
STATIC = Path(__file__).resolve().parents[2] / "examples" / "demo" / "static"
SECRET = "fuzz-secret-key-0123456789abcdef"


async def home(request: Request) -> PlainTextResponse:
    return PlainTextResponse(f"{request.method} {request.url.path}")


async def echo(request: Request) -> JSONResponse:
    session = request.session
    session["seen"] = session.get("seen", 0) + 1
    return JSONResponse(
        {
            "url": str(request.url),
            "query": dict(request.query_params),
            "cookies": request.cookies,
            "client": list(request.client or ()),
            "body": (await request.body()).decode("latin-1"),
            "session": session,
        }
    )


async def form(request: Request) -> JSONResponse:
    data = await request.form()
    return JSONResponse(sorted(data.keys()))


async def chunks() -> AsyncIterator[bytes]:
    for i in range(3):
        yield b"chunk %d\n" % i


async def stream(request: Request) -> StreamingResponse:
    return StreamingResponse(chunks(), media_type="text/plain")


async def events(request: Request) -> EventSourceResponse:
    async def source() -> AsyncIterator[str]:
        yield "one"
        yield "two"

    return EventSourceResponse(source())


@requires("authenticated")
async def private(request: Request) -> PlainTextResponse:
    return PlainTextResponse("secret")


async def ws_echo(websocket: WebSocket) -> None:
    await websocket.accept()
    text = await websocket.receive_text()
    websocket.session["ws"] = text
    await websocket.send_text(text)
    await websocket.close()


async def ws_deny(websocket: WebSocket) -> None:
    await websocket.close(code=4000)


def build_app() -> Lamina:
    """Every first-party plugin, every middleware on."""
    return make_app(
        "routing",
        "websocket",
        "sse",
        "sessions",
        "auth",
        "cors",
        "gzip",
        "guards",
        "background",
        "staticfiles",
        routes=[
            Route("/", home),
            Route("/echo", echo, methods=["GET", "POST"]),
            Route("/form", form, methods=["POST"]),
            Route("/stream", stream),
            Route("/events", events),
            Route("/private", private),
            Route("/items/{id:int}", home),
            Mount("/sub", routes=[Route("/x", home)]),
            WebSocketRoute("/ws", ws_echo),
            WebSocketRoute("/ws-deny", ws_deny),
        ],
        settings={
            "guards": {"trusted_hosts": ["*"], "https_redirect": True},
            "cors": {"allow_origins": ["https://app.example"], "allow_credentials": True},
            "gzip": {"minimum_size": 1},
            "sessions": {"secret_key": SECRET},
            "staticfiles": {"directories": [str(STATIC)], "prefix": "/static"},
        },
    )


# --------------------------------------------------------------------------- strategies
junk = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),
    st.text(max_size=8),
    st.binary(max_size=8),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.tuples(st.text(max_size=3)),
)
HEADER_NAMES = [
    b"host",
    b"cookie",
    b"origin",
    b"accept-encoding",
    b"content-type",
    b"content-length",
    b"authorization",
    b"last-event-id",
    b"sec-websocket-protocol",
    b"access-control-request-method",
    b"range",
    b"if-none-match",
    b"if-range",
    b"x-junk",
]
header_values = st.one_of(
    st.sampled_from(
        [
            b"testserver",
            b"[:::]",
            b"a@evil.example",
            b"gzip",
            b"application/json",
            b"multipart/form-data; boundary=x",
            b"application/x-www-form-urlencoded",
            b"-1",
            b"99999999999999999999",
            b"Basic !!!",
            b"Bearer x",
            b"session=not-a-signature",
            b"https://app.example",
            b"bytes=0-1",
            b"bytes=5-2,0-0,-1",
            b'"etag", W/"x"',
        ]
    ),
    st.binary(max_size=24),
)
good_header = st.tuples(st.sampled_from(HEADER_NAMES), header_values)
bad_header = st.one_of(junk, st.tuples(st.text(max_size=5), st.text(max_size=5)), st.tuples())
headers = st.one_of(
    st.lists(good_header, max_size=6).map(lambda h: [(b"host", b"testserver"), *h]),
    st.lists(good_header, max_size=6),
    st.lists(st.one_of(good_header, bad_header), max_size=4),
    junk,
)
paths = st.one_of(
    st.sampled_from(
        ["/", "/echo", "/form", "/stream", "/events", "/private", "/items/5", "/sub/x", "/ws"]
    ),
    st.sampled_from(["/ws-deny", "/missing", "//evil", "/items/x", "", "/static/demo.css"]),
    st.sampled_from(["/static/live.js", "/static/../pyproject.toml", "/static/%2e%2e/x"]),
    st.text(max_size=10),
)


def _valid(scope_type: str) -> dict[str, Any]:
    return {
        "type": scope_type,
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "https" if scope_type == "http" else "wss",
        "path": "/",
        "raw_path": b"/",
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 443),
        "subprotocols": [],
        "extensions": {"websocket.http.response": {}},
        "state": {},
    }


VALUE_STRATEGIES: dict[str, Any] = {
    "http_version": st.sampled_from(["1.0", "1.1", "2"]),
    "method": st.sampled_from(["GET", "POST", "HEAD", "OPTIONS", "PUT", "get", ""]),
    "scheme": st.sampled_from(["http", "https", "ws", "wss", ""]),
    "path": paths,
    "raw_path": st.binary(max_size=10),
    "root_path": st.sampled_from(["", "/api", "api"]),
    "query_string": st.sampled_from([b"", b"a=1&b=%ZZ", b"a=" + b"x" * 20]),
    "headers": headers,
    "client": st.sampled_from([("127.0.0.1", 5000), None, ("::1", 1)]),
    "server": st.sampled_from([("127.0.0.1", 443), None, ("::1", 8000), ("/sock", None)]),
    "subprotocols": st.lists(st.sampled_from(["chat", "x"]), max_size=2),
    "extensions": st.sampled_from([{}, {"websocket.http.response": {}}]),
}


@st.composite
def scopes(draw: st.DrawFn) -> dict[str, Any]:
    """Mostly known scope types; per case, no, few or many keys deleted or made junk."""
    pick = draw(st.integers(0, 19))
    scope_type: Any
    if pick < 9:
        scope_type = "http"
    elif pick < 16:
        scope_type = "websocket"
    elif pick < 18:
        scope_type = "lifespan"
    else:
        scope_type = draw(st.one_of(st.sampled_from(["webtransport", ""]), junk))
    scope = _valid(scope_type if scope_type in KNOWN_TYPES else "http")
    scope["type"] = scope_type
    broken = draw(st.sampled_from([0, 0, 30, 8]))  # one key in N is deleted or junk
    for key in list(scope):
        if key == "type":
            continue
        if broken and draw(st.integers(0, broken)) == 0:
            if draw(st.booleans()):
                del scope[key]
            else:
                scope[key] = draw(junk)
        elif key in VALUE_STRATEGIES and draw(st.integers(0, 2)) == 0:
            scope[key] = draw(VALUE_STRATEGIES[key])
    if draw(st.integers(0, 50)) == 0:
        del scope["type"]
    return scope


def _message(kinds: list[str]) -> Any:
    body = st.one_of(st.binary(max_size=30), junk)
    return st.one_of(
        st.builds(
            lambda t, b, m: {"type": t, "body": b, "more_body": m},
            st.sampled_from(kinds),
            body,
            st.one_of(st.booleans(), junk),
        ),
        st.builds(
            lambda t, text, data: {"type": t, "text": text, "bytes": data},
            st.sampled_from(kinds),
            st.one_of(st.none(), st.text(max_size=10), junk),
            st.one_of(st.none(), st.binary(max_size=10)),
        ),
        st.fixed_dictionaries({"type": st.sampled_from(kinds)}),
        st.dictionaries(st.sampled_from(["type", "body"]), junk, max_size=2),
    )


MESSAGE_KINDS = [
    "http.request",
    "http.disconnect",
    "websocket.connect",
    "websocket.receive",
    "websocket.disconnect",
    "lifespan.startup",
    "lifespan.shutdown",
    "unknown.message",
]
receive_sequences = st.one_of(
    st.lists(_message(MESSAGE_KINDS), max_size=6),
    st.lists(_message(["http.request", "http.disconnect"]), max_size=4),
    st.lists(
        _message(["websocket.connect", "websocket.receive", "websocket.disconnect"]), max_size=4
    ),
    st.just([{"type": "http.request", "body": b"{}", "more_body": False}]),
    st.just([{"type": "websocket.connect"}, {"type": "websocket.receive", "text": "hi"}]),
    st.just([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]),
)


# --------------------------------------------------------------------------- one case
class Violation(AssertionError):
    pass


def _final_message(scope_type: Any) -> dict[str, Any]:
    if scope_type == "websocket":
        return {"type": "websocket.disconnect", "code": 1006}
    if scope_type == "lifespan":
        return {"type": "lifespan.shutdown"}
    return {"type": "http.disconnect"}


def check_sent(scope_type: Any, sent: list[Any], client_left: bool) -> None:
    """Every response that starts also ends (unless the client left first): none half-sent."""
    if scope_type == "http" or scope_type == "websocket":
        prefix = "http" if scope_type == "http" else "websocket.http"
        started = False
        ended = False
        for message in sent:
            mtype = message.get("type")
            if mtype == f"{prefix}.response.start":
                if started:
                    raise Violation(f"two response starts: {sent!r}")
                started = True
            elif mtype == f"{prefix}.response.body":
                if not started or ended:
                    raise Violation(f"body outside a response: {sent!r}")
                if not message.get("more_body", False):
                    ended = True
        if started and not ended and not client_left:
            raise Violation(f"half-sent response: {sent!r}")


async def run_case(app: Lamina, scope: dict[str, Any], messages: list[Any]) -> list[Any]:
    """Drive one ASGI call like a server would; raise what escapes, or Violation for a
    broken answer.

    ``receive`` hands out ``messages``, then, as a server does: while an HTTP response is
    being sent it waits for it to end (the client is reading), and otherwise reports the
    client gone.
    """
    queue = list(messages)
    final = _final_message(scope.get("type"))
    sent: list[Any] = []
    finished = anyio.Event()
    left = streaming = False

    async def receive() -> Any:
        nonlocal left
        await anyio.lowlevel.checkpoint()
        if queue:
            message = queue.pop(0)
            if isinstance(message, dict) and message.get("type") == final["type"]:
                left = True
            return message
        if streaming and not finished.is_set():  # the client reads an HTTP response
            await finished.wait()
        left = True
        return dict(final)

    async def send(message: Any) -> None:
        nonlocal streaming
        await anyio.lowlevel.checkpoint()
        sent.append(message)
        mtype = message.get("type", "")
        if mtype == "http.response.start":
            streaming = True
        if mtype == "websocket.close" or (
            mtype.endswith("response.body") and not message.get("more_body", False)
        ):
            finished.set()

    with anyio.fail_after(10):  # a bound, not a measurement: a hang fails the case
        await app(scope, receive, send)
    check_sent(scope.get("type"), sent, left)
    return sent


def escapes_allowed(scope: dict[str, Any]) -> bool:
    """Only an unknown (or missing) scope type may raise, as the ASGI spec asks."""
    scope_type = scope.get("type")
    return not (isinstance(scope_type, str) and scope_type in KNOWN_TYPES)


if __name__ == "__main__":  # the long run: python -m tests.kernel.fuzz_stack 20000
    import logging
    import sys
    import time

    from hypothesis import HealthCheck, given, settings

    logging.disable(logging.CRITICAL)
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    APP = build_app()
    tally = {"cases": 0, "escaped": 0, "allowed_escapes": 0}

    @settings(
        max_examples=count,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(scopes(), receive_sequences)
    def one(scope: dict[str, Any], messages: list[Any]) -> None:
        tally["cases"] += 1
        try:
            anyio.run(run_case, APP, scope, messages)
        except Violation:
            raise
        except Exception:
            if not escapes_allowed(scope):
                tally["escaped"] += 1
                raise
            tally["allowed_escapes"] += 1

    started = time.perf_counter()
    one()
    print(f"{tally} in {time.perf_counter() - started:.0f}s")
