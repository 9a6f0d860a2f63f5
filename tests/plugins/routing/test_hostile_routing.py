"""Issue 15, point 6: reversing never builds an off-site link, Host routes read Host with the
kernel's strict parser, and a standalone Router answers its own 404/405."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lamina import PlainTextResponse, RedirectResponse, Request
from lamina.plugin import parse_authority
from lamina.testclient import TestClient
from lamina.testing import make_app
from lamina_routing import Host, Mount, Route, Router
from routing_helpers import client

from tests.helpers.servers import serve_uvicorn


async def show(request: Request) -> PlainTextResponse:
    return PlainTextResponse(f"path={request.path_params.get('path')}")


async def go(request: Request) -> RedirectResponse:
    return RedirectResponse(request.url_for("file", path=request.query_params["to"]))


def test_url_path_for_never_starts_with_two_slashes() -> None:
    routes = [Route("/go", go), Route("/{path:path}", show, name="file")]
    with client(routes) as c:
        app = c.app
        assert app.url_path_for("file", path="/evil.example/a") == "/%2Fevil.example/a"
        assert app.url_path_for("file", path="a/b") == "/a/b"
        # the redirect stays on the site, and the link routes back to the same parameter
        r = c.get("/go", params={"to": "/evil.example/a"}, follow_redirects=False)
        location = r.headers["location"]
        assert urlsplit(location).netloc == "testserver", location
        assert c.get(location).text == "path=/evil.example/a"


def test_mounted_and_delegated_paths_stay_local_too() -> None:
    inner = Router([Route("/{path:path}", show, name="file")])
    routes = [Mount("", app=inner, name="inner"), Mount("/m", routes=[Route("/{p:path}", show)])]
    with client(routes) as c:
        assert not str(c.app.url_path_for("inner:file", path="//x")).startswith("//")


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("api.example.org", "api"),
        ("API.example.org:8080", "api"),
        ("api.example.org.", "api"),
        ("api.example.org:evil", "fallback"),
        ("api.example.org:", "fallback"),
        ("api.example.org:65536", "fallback"),
        ("a@api.example.org", "fallback"),
    ],
)
def test_host_route_matches_only_a_well_formed_host(host: str, expected: str) -> None:
    routes = [Host("api.example.org", PlainTextResponse("api")), Route("/", show)]
    with client(routes) as c:
        text = c.get("/", headers={"host": host}).text
        assert (text == "api") == (expected == "api"), (host, text)


def test_standalone_router_answers_404_and_405_under_uvicorn() -> None:
    router = Router([Route("/only-get", show)])
    with serve_uvicorn(router) as url, httpx.Client(base_url=url, timeout=5) as http:
        r = http.get("/missing")
        assert (r.status_code, r.text) == (404, "Not Found")
        r = http.post("/only-get")
        assert r.status_code == 405 and "GET" in r.headers["allow"]


def test_standalone_router_through_the_test_client() -> None:
    with TestClient(Router([Route("/x", show)])) as c:
        assert c.get("/nope").status_code == 404
        assert c.delete("/x").status_code == 405


# --- one property over every place that reads Host -------------------------------------
HOSTS = st.one_of(
    st.text(max_size=30),
    st.sampled_from(
        [
            "evil.example/x?",
            "a@evil.example",
            "testserver:65536",
            "[:::]",
            "[::ffff:999.999.999.999]",
            "api.example.org:evil",
            "[::1]:8080",
            "api.example.org",
            "xn--bcher-kva.example",
        ]
    ),
)


async def links(request: Request) -> PlainTextResponse:
    return PlainTextResponse(f"{request.url} {request.url_for('file', path='/a')}")


def full_app(**guards: object) -> object:
    return make_app(
        "routing",
        "guards",
        routes=[
            Host("api.example.org", PlainTextResponse("api")),
            Route("/links", links),
            Route("/{path:path}", show, name="file"),
        ],
        settings={"guards": guards},
    )


APPS = {
    "plain": TestClient(full_app(), follow_redirects=False),
    "guards": TestClient(
        full_app(trusted_hosts=["*"], https_redirect=True), follow_redirects=False
    ),
}


@settings(max_examples=200, deadline=None)
@given(host=HOSTS)
def test_any_host_value_no_500_no_off_site_location(host: str) -> None:
    try:
        raw = host.encode("latin-1")
    except UnicodeEncodeError:
        raw = host.encode("utf-8")
    if b"\r" in raw or b"\n" in raw or b"\x00" in raw:
        return  # no HTTP server passes these on
    for name, c in APPS.items():
        for path in ("/links", "/a"):
            r = c.get(path, headers=[(b"host", raw)])
            assert r.status_code < 500, (name, host, r.text)
            location = r.headers.get("location")
            if location is not None:
                # a redirect only ever goes to the host the request named, read strictly
                authority = parse_authority(raw)
                assert authority is not None, (host, location)
                assert urlsplit(location).hostname == authority.host.strip("[]"), location
