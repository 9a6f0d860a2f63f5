"""After assembly, authenticating a request makes no pluggy call: the backends contributed
through ``lamina_auth_register_backends`` are frozen into the middleware at assembly."""

from __future__ import annotations

import base64

from auth_harness import auth_app, whoami
from lamina import JSONResponse, Request
from lamina.testclient import TestClient
from lamina_auth import BasicAuthBackend, BearerAuthBackend, SimpleUser, login
from lamina_routing import Route


async def do_login(request: Request) -> JSONResponse:
    login(request, SimpleUser("sam"))
    return await whoami(request)


def test_no_hook_call_while_authenticating() -> None:
    registered: list[str] = []
    backends = {
        "basic": BasicAuthBackend({"alice": "pw"}),
        "bearer": BearerAuthBackend(lambda token: SimpleUser("tok") if token == "t" else None),
    }
    app = auth_app([Route("/me", whoami), Route("/login", do_login)], backends)
    basic = "Basic " + base64.b64encode(b"alice:pw").decode()
    calls: list[str] = []
    with TestClient(app) as client:
        client.get("/me")  # assembled and warm
        undo = app.pm.add_hookcall_monitoring(
            lambda name, impls, kwargs: calls.append(name), lambda *args: None
        )
        try:
            seen = set()
            for i in range(60):
                headers = ({}, {"authorization": basic}, {"authorization": "Bearer t"})[i % 3]
                seen.add(client.get("/me", headers=headers).json()["name"])
            assert client.get("/login").json()["name"] == "sam"
            seen.add(client.get("/me").json()["name"])  # the session backend
        finally:
            undo()
        # The monitor works: an explicit call is seen.
        undo = app.pm.add_hookcall_monitoring(
            lambda name, impls, kwargs: calls.append(name), lambda *args: None
        )
        app.pm.hook.lamina_auth_register_backends(
            app=app, register=lambda name, backend: registered.append(name)
        )
        undo()
    assert seen == {"", "alice", "tok", "sam"}
    assert calls == ["lamina_auth_register_backends"]
    assert sorted(registered) == ["basic", "bearer", "session"]
