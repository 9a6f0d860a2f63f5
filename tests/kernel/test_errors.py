"""Errors become responses inside the onion: 404/405/handled/500 all pass back out through
middleware; 500 leaks nothing unless debug; errors after the response started end cleanly."""

from __future__ import annotations

import logging

import pytest
from lamina import (
    ConflictError,
    HTTPException,
    JSONResponse,
    Middleware,
    PlainTextResponse,
    WebSocketException,
)
from lamina.testclient import TestClient, WebSocketDisconnect
from lamina.testing import make_app, plugin

from tests.helpers.apps import header_middleware, router_plugin


class PaymentRequired(Exception):
    pass


class CardDeclined(PaymentRequired):
    pass


def boom(request):
    raise RuntimeError("secret database password is hunter2")


def teapot(request):
    raise HTTPException(418, "short and stout", headers={"X-Pot": "tea"})


def declined(request):
    raise CardDeclined("card 4242 declined")


def paywall(request):
    raise PaymentRequired("pay up")


ROUTES = {
    "/ok": lambda request: PlainTextResponse("ok"),
    "/boom": boom,
    "/teapot": teapot,
    "/declined": declined,
    "/paywall": paywall,
    "/post-only": (lambda request: PlainTextResponse("posted"), {"POST"}),
}


def app_with(*plugins, **kwargs):
    kwargs.setdefault("middleware", [header_middleware("x-mw", "seen")])
    return make_app(router_plugin(ROUTES), *plugins, **kwargs)


def client_for(app, **kwargs) -> TestClient:
    kwargs.setdefault("raise_server_exceptions", False)
    return TestClient(app, **kwargs)


def test_404_and_405_pass_back_through_middleware():
    client = client_for(app_with())
    missing = client.get("/nope")
    assert (missing.status_code, missing.text, missing.headers["x-mw"]) == (
        404,
        "Not Found",
        "seen",
    )
    wrong = client.get("/post-only")
    assert (wrong.status_code, wrong.headers["allow"], wrong.headers["x-mw"]) == (
        405,
        "POST",
        "seen",
    )
    assert client.post("/post-only").text == "posted"


def test_http_exception_detail_and_headers():
    response = client_for(app_with()).get("/teapot")
    assert (response.status_code, response.text) == (418, "short and stout")
    assert (response.headers["x-pot"], response.headers["x-mw"]) == ("tea", "seen")


def test_500_leaks_nothing_without_debug(caplog):
    with caplog.at_level(logging.ERROR):
        response = client_for(app_with()).get("/boom")
    assert response.status_code == 500
    assert response.text == "Internal Server Error"
    assert "hunter2" not in response.text and "RuntimeError" not in response.text
    assert response.headers["x-mw"] == "seen"
    # the log has it once: the kernel re-raises, the server (here the test client) logs
    assert [r.name for r in caplog.records if "hunter2" in (r.exc_text or "")] == [
        "lamina.testclient"
    ]


def test_500_shows_a_readable_traceback_with_debug():
    response = client_for(app_with(debug=True)).get("/boom")
    assert response.status_code == 500
    assert response.headers["content-type"].startswith("text/html")
    text = response.text
    assert "RuntimeError: secret database password is hunter2" in text
    assert "<code>GET /boom</code>" in text
    assert "test_errors.py" in text and "<b>boom</b>" in text
    # the failing source line is shown, highlighted
    assert "class='hit'" in text and "raise RuntimeError(&quot;secret database" in text
    assert "Plain traceback" in text
    assert response.headers["x-mw"] == "seen"


def test_debug_page_shows_the_exception_chain():
    def chained(request):
        try:
            {}["missing"]
        except KeyError as exc:
            raise ValueError("lookup failed") from exc

    text = client_for(make_app(router_plugin({"/c": chained}), debug=True)).get("/c").text
    assert text.index("KeyError") < text.index("The above exception led to")
    assert text.index("The above exception led to") < text.index("ValueError: lookup failed")


def test_debug_page_escapes_html():
    def xss(request):
        raise ValueError("<script>alert(1)</script>")

    app = make_app(router_plugin({"/x": xss}), debug=True)
    text = client_for(app).get("/x").text
    assert "<script>alert" not in text and "&lt;script&gt;" in text


def test_server_exceptions_are_raised_in_tests_by_default():
    with pytest.raises(RuntimeError, match="hunter2"):
        TestClient(app_with()).get("/boom")


def test_handlers_by_status_and_class_from_app_and_plugins():
    def on_418(request, exc):
        return JSONResponse({"status": exc.status_code, "detail": exc.detail}, 418)

    async def on_payment(request, exc):
        return PlainTextResponse(f"payment: {exc}", 402)

    def on_declined(request, exc):
        return PlainTextResponse("declined specifically", 402)

    handlers = plugin(
        "handlers",
        lamina_register_exception_handlers=lambda register: (
            register(418, on_418),
            register(PaymentRequired, on_payment),
        ),
    )
    app = app_with(handlers, exception_handlers={CardDeclined: on_declined})
    client = client_for(app)
    teapot_response = client.get("/teapot")
    assert teapot_response.json() == {"status": 418, "detail": "short and stout"}
    assert teapot_response.headers["x-mw"] == "seen"
    assert client.get("/paywall").text == "payment: pay up"
    assert client.get("/declined").text == "declined specifically"  # most specific class wins
    assert client.get("/declined").headers["x-mw"] == "seen"
    assert app.exception_handler_owners == {
        418: "handlers",
        PaymentRequired: "handlers",
        CardDeclined: "app",
    }


def test_handler_for_404_and_500_by_status():
    app = app_with(
        exception_handlers={
            404: lambda request, exc: PlainTextResponse(f"no {request.url.path}", 404),
            500: lambda request, exc: PlainTextResponse(f"oops {type(exc).__name__}", 500),
        }
    )
    client = client_for(app)
    assert client.get("/missing").text == "no /missing"
    response = client.get("/boom")
    assert (response.status_code, response.text) == (500, "oops RuntimeError")
    assert response.headers["x-mw"] == "seen"


def test_app_handler_overrides_plugin_handler_and_plugins_conflict():
    def by(name):
        return lambda request, exc: PlainTextResponse(name, 418)

    one = plugin("one", lamina_register_exception_handlers=lambda register: register(418, by("1")))
    two = plugin("two", lamina_register_exception_handlers=lambda register: register(418, by("2")))
    assert (
        client_for(app_with(one, exception_handlers={418: by("app")})).get("/teapot").text == "app"
    )
    with pytest.raises(ConflictError) as info:
        app_with(one, two).assemble()
    assert "'one'" in str(info.value) and "'two'" in str(info.value)


def test_a_failing_handler_gives_a_plain_500():
    def broken(request, exc):
        raise KeyError("handler bug")

    app = app_with(exception_handlers={PaymentRequired: broken})
    response = client_for(app).get("/paywall")
    assert (response.status_code, response.text) == (500, "Internal Server Error")


def test_a_handler_returning_no_response_gives_a_plain_500_and_says_why(caplog):
    app = app_with(exception_handlers={PaymentRequired: lambda request, exc: None})
    with caplog.at_level(logging.ERROR):
        response = client_for(app).get("/paywall")
    assert (response.status_code, response.text) == (500, "Internal Server Error")
    assert response.headers["x-mw"] == "seen"  # still back out through the middleware
    logged = "\n".join(r.getMessage() + repr(r.exc_info) for r in caplog.records)
    assert "for PaymentRequired returned None, not a response" in logged
    with pytest.raises(TypeError, match="returned None, not a response"):
        client_for(app, raise_server_exceptions=True).get("/paywall")


def test_a_middleware_that_raises_gives_a_500_not_a_hang():
    def factory(app):
        async def broken(scope, receive, send):
            raise RuntimeError("middleware bug")

        return broken

    response = client_for(app_with(middleware=[Middleware(factory)])).get("/ok")
    assert (response.status_code, response.text) == (500, "Internal Server Error")


class HalfResponse:
    """Starts a response, sends part of the body, then fails."""

    async def __call__(self, scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"partial", "more_body": True})
        raise RuntimeError("failed mid-stream")


@pytest.mark.parametrize("middleware", [True, False], ids=["middleware", "bare"])
def test_error_after_the_response_started_reaches_the_server_and_ends_the_response(
    caplog, middleware
):
    """The router here is a foreign one (it does not record the failure itself): the kernel
    watches its sends, under OuterGuard with middleware and in Lamina.__call__ without."""
    app = make_app(
        router_plugin({"/half": lambda request: HalfResponse()}),
        middleware=[header_middleware()] if middleware else [],
    )
    with caplog.at_level(logging.ERROR):
        response = client_for(app).get("/half")
    # no second response start, no 500 body appended to the partial one
    assert response.status_code == 200
    assert response.content == b"partial"
    assert [r.name for r in caplog.records if "mid-stream" in (r.exc_text or "")] == [
        "lamina.testclient"
    ]
    with pytest.raises(RuntimeError, match="mid-stream"):
        TestClient(app).get("/half")


# ----------------------------------------------------------------------------- WebSocket
def ws_app(endpoint, **kwargs):
    """A plugin claims ``websocket`` with a handler that is the endpoint itself."""
    protocol = plugin(
        "ws",
        lamina_register_protocols=lambda register: register(
            "websocket", lambda endpoint_: endpoint_
        ),
    )
    return make_app(router_plugin({"/ws": endpoint}), protocol, **kwargs)


def test_the_kernel_wraps_nothing_around_a_claimed_protocol():
    """WebSocket error handling is the protocol handler's (lamina-websocket's): the kernel
    hands the scope to the handler the plugin registered and lets its exception through."""
    seen = []

    async def endpoint(scope, receive, send):
        seen.append(send)
        await receive()
        await send({"type": "websocket.accept"})
        raise WebSocketException(4403, "not allowed")

    with (
        pytest.raises(WebSocketException),
        TestClient(ws_app(endpoint)).websocket_connect("/ws") as ws,
    ):
        ws.receive_text()
    client = TestClient(ws_app(endpoint), raise_server_exceptions=False)
    with pytest.raises(WebSocketDisconnect) as info, client.websocket_connect("/ws") as ws:
        ws.receive_text()
    assert info.value.code == 1011  # what the test client reports for an app that raised
    # the endpoint got the (test) server's own send: no kernel layer in between
    assert [f.__qualname__ for f in seen] == ["WebSocketCore._app_send"] * 2


def test_websocket_without_a_protocol_plugin_is_refused():
    app = make_app(router_plugin({"/ok": lambda r: PlainTextResponse("ok")}))
    with pytest.raises(WebSocketDisconnect), TestClient(app).websocket_connect("/ws"):
        pass  # pragma: no cover


def test_the_500_handler_still_counts_as_a_server_error_in_tests():
    app = app_with(exception_handlers={500: lambda request, exc: PlainTextResponse("sorry", 500)})
    with pytest.raises(RuntimeError, match="hunter2"):
        TestClient(app).get("/boom")
    # a class handler is a deliberate answer: not re-raised
    app = app_with(
        exception_handlers={RuntimeError: lambda request, exc: PlainTextResponse("handled", 503)}
    )
    response = TestClient(app).get("/boom")
    assert (response.status_code, response.text) == (503, "handled")
