"""lamina.plugin's shorthands: settings_schema, contributes, send_with_headers, Register."""

from __future__ import annotations

import types
from dataclasses import dataclass

import pytest
from lamina import Lamina, Middleware, PlainTextResponse, SettingsError, hookimpl
from lamina.plugin import Register, contributes, send_with_headers, settings_schema
from lamina.testclient import TestClient
from lamina.types import ASGIApp, Receive, Scope, Send
from lamina_routing import Route


@dataclass(frozen=True)
class Tag:
    value: str = "on"


def tag_layer(app: ASGIApp, value: str) -> ASGIApp:
    async def tagging(scope: Scope, receive: Receive, send: Send) -> None:
        await app(scope, receive, send_with_headers(send, [(b"x-tag", value.encode())]))

    return tagging


#: One response object served for every request: its own header list must never grow.
CONSTANT = PlainTextResponse("same object")


def tagging_plugin() -> types.ModuleType:
    """A plugin module written with the shorthands, as a third party would."""
    module = types.ModuleType("lamina_tagging")
    module.lamina_settings_schema = settings_schema(Tag)
    module.lamina_register_routes = contributes(Route("/constant", CONSTANT, methods=["GET"]))

    @hookimpl
    def lamina_register_middleware(settings: Tag, register: Register[Middleware]) -> None:
        register(Middleware(tag_layer, phase="outermost", value=settings.value))

    module.lamina_register_middleware = lamina_register_middleware
    return module


def test_shorthand_hooks_are_ordinary_hook_implementations() -> None:
    app = Lamina(autoload=False, plugins=["routing", tagging_plugin()])
    info = app.plugin_info("tagging")
    assert info.hooks == [
        "lamina_register_middleware",
        "lamina_register_routes",
        "lamina_settings_schema",
    ]
    with TestClient(app) as client:
        assert client.get("/constant").headers["x-tag"] == "on"
    # the schema is validated like any other: a typo is refused, with a guess
    with pytest.raises(SettingsError, match=r"unknown setting 'valeu' \(did you mean 'value'"):
        Lamina(
            autoload=False,
            plugins=["routing", tagging_plugin()],
            settings={"tagging": {"valeu": "x"}},
        ).assemble()


def test_send_with_headers_never_mutates_the_apps_header_list() -> None:
    before = list(CONSTANT.raw_headers)
    app = Lamina(
        autoload=False,
        plugins=["routing", tagging_plugin()],
        settings={"tagging": {"value": "v"}},
    )
    with TestClient(app) as client:
        for _ in range(3):
            response = client.get("/constant")
            assert response.headers.get_list("x-tag") == ["v"]  # once, every time
            assert response.text == "same object"
    assert CONSTANT.raw_headers == before


def test_send_with_headers_adds_to_a_websocket_accept_and_passes_other_messages() -> None:
    async def ws_app(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()  # websocket.connect
        await send({"type": "websocket.accept", "headers": [(b"x-own", b"1")]})
        await send({"type": "websocket.send", "text": "hi"})
        await send({"type": "websocket.close", "code": 1000})

    client = TestClient(tag_layer(ws_app, "ws"))
    with client.websocket_connect("/") as ws:
        assert ws.extra_headers == [(b"x-own", b"1"), (b"x-tag", b"ws")]
        assert ws.receive_text() == "hi"
