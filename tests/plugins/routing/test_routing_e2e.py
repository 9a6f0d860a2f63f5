"""The router under real servers (uvicorn; hypercorn on asyncio and trio) with real clients:
what a server does to paths (percent-decoding, root_path, raw bytes) reaches the router."""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

import httpx
import pytest
from lamina import JSONResponse, PlainTextResponse, Request
from lamina_routing import Mount, Route
from routing_helpers import make

from tests.helpers.servers import serve


async def params(request: Request) -> JSONResponse:
    return JSONResponse(
        {
            "params": request.path_params,
            "root": request.scope.get("root_path"),
            "self": str(request.url_for("user", id=7)),
        }
    )


async def text(request: Request) -> PlainTextResponse:
    return PlainTextResponse("x" * 100)


def build():
    return make(
        [
            Route("/users/{id:int}", params, name="user"),
            Route("/names/{name}", params),
            Route("/files/{rest:path}", params),
            Route("/text", text, methods=["GET", "DELETE"]),
            Mount("/api", [Route("/", params), Route("/x/{name}", params)]),
        ]
    )


SERVERS = [("uvicorn", "asyncio"), ("hypercorn", "asyncio"), ("hypercorn", "trio")]


@pytest.mark.parametrize(("server", "loop"), SERVERS)
def test_routing_through_a_real_server(server: str, loop: str) -> None:
    with serve(build(), server=server, loop=loop) as base, httpx.Client(base_url=base) as c:
        r = c.get("/users/42")
        assert r.json()["params"] == {"id": 42}
        assert r.json()["self"] == f"{base}/users/7"
        assert c.get("/names/caf%C3%A9%20x").json()["params"] == {"name": "café x"}
        assert c.get("/files/a/b%2Fc").json()["params"]["rest"] == "a/b/c"
        assert c.get("/api").json()["root"] == "/api"
        assert c.get("/api/x/n").json()["params"] == {"name": "n"}
        r = c.post("/text")
        assert r.status_code == 405 and r.headers["allow"] == "GET, HEAD, DELETE, OPTIONS"
        r = c.head("/text")
        assert r.status_code == 200 and r.headers["content-length"] == "100" and r.content == b""
        r = c.get("/users/42/?a=1", follow_redirects=False)
        assert r.status_code == 307 and r.headers["location"] == f"{base}/users/42?a=1"
        assert c.get("/users/42/", follow_redirects=True).json()["params"] == {"id": 42}


def test_root_path_from_the_server() -> None:
    # behind a proxy that strips /prefix: uvicorn puts it back in front of scope["path"]
    with serve(build(), root_path="/prefix") as base, httpx.Client(base_url=base) as c:
        r = c.get("/users/1")
        assert r.status_code == 200 and r.json()["params"] == {"id": 1}
        assert r.json()["self"] == f"{base}/prefix/users/7"
        r = c.get("/users/1/", follow_redirects=False)
        assert r.headers["location"] == f"{base}/prefix/users/1"


def _raw_request(base: str, target: bytes) -> int:
    host, port = urlsplit(base).hostname, urlsplit(base).port
    with socket.create_connection((host, port), timeout=5) as s:
        s.sendall(b"GET " + target + b" HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    return int(data.split(b" ", 2)[1])


@pytest.mark.parametrize(
    "target",
    [
        b"/names/%ff%fe",
        b"/users/..%2F..%2Fetc",
        b"/files/../../etc/passwd",
        b"/a/./b/../c",
        b"/names/%2F",
        b"/names/%00",
        b"/" + b"x" * 6000,
        b"/files/" + b"%e2%82" * 100,
        b"/api/%c0%af",
        b"//double//slashes//",
        b"/users/" + b"1" * 5000,
    ],
)
def test_malformed_targets_never_give_500(target: bytes) -> None:
    with serve(build()) as base:
        status = _raw_request(base, target)
    assert status in (200, 307, 400, 404, 405, 414), (target, status)


def test_a_router_alone_is_an_asgi3_app_for_servers() -> None:
    from lamina_routing import Router

    with serve(Router([Route("/u/{id:int}", params, name="user")])) as base:
        r = httpx.get(base + "/u/3")
    assert r.status_code == 200 and r.json()["params"] == {"id": 3}
