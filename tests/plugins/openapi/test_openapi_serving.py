"""Serving the document (real uvicorn on 127.0.0.1): ETag and 304, a configurable path,
``enabled = false``, the docs page; ``lamina openapi MODULE:APP``; and the documents of the
demo app and of an app with every first-party plugin validate against OpenAPI 3.1."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from lamina import PlainTextResponse
from lamina.testclient import TestClient
from lamina.testing import make_app
from lamina_auth import requires
from lamina_openapi import openapi_document
from lamina_routing import Route
from lamina_sse import EventSourceResponse
from lamina_websocket import WebSocketRoute
from openapi_spec_validator import validate

from tests.helpers.servers import serve_uvicorn

ROOT = Path(__file__).resolve().parents[3]


async def hello(request):
    """Say hello."""
    return PlainTextResponse("hello")


def test_the_document_is_served_frozen_with_an_etag_under_uvicorn():
    app = make_app("routing", "openapi", routes=[Route("/hello", hello, name="hello")])
    with serve_uvicorn(app) as url, httpx.Client(base_url=url, timeout=10) as client:
        first = client.get("/openapi.json")
        assert first.status_code == 200
        assert first.headers["content-type"] == "application/json"
        document = first.json()
        validate(document)
        assert document["paths"]["/hello"]["get"]["summary"] == "Say hello."
        etag = first.headers["etag"]
        assert etag.startswith('"') and etag.endswith('"')
        again = client.get("/openapi.json", headers={"if-none-match": etag})
        assert again.status_code == 304 and again.content == b""
        assert again.headers["etag"] == etag
        weak = client.get("/openapi.json", headers={"if-none-match": f'"other", W/{etag}'})
        assert weak.status_code == 304
        changed = client.get("/openapi.json", headers={"if-none-match": '"stale"'})
        assert changed.status_code == 200 and changed.content == first.content
        head = client.head("/openapi.json")
        assert head.status_code == 200 and head.headers["etag"] == etag
        assert client.post("/openapi.json").status_code == 405
    # the served document is frozen: changing a copy changes nothing
    copy = openapi_document(app)
    copy["paths"].clear()
    assert openapi_document(app)["paths"]


def test_the_path_is_configurable_and_the_etag_follows_the_content():
    def served(title):
        app = make_app(
            "routing",
            "openapi",
            routes=[Route("/hello", hello)],
            settings={"openapi": {"path": "/api/schema.json", "title": title}},
        )
        with TestClient(app) as client:
            assert client.get("/openapi.json").status_code == 404
            response = client.get("/api/schema.json")
            assert response.json()["info"]["title"] == title
            return response.headers["etag"]

    assert served("One") == served("One")
    assert served("One") != served("Two")


def test_enabled_false_serves_nothing_but_the_document_still_builds():
    app = make_app(
        "routing",
        "openapi",
        routes=[Route("/hello", hello)],
        settings={"openapi": {"enabled": False, "docs": "swagger"}},
    )
    with TestClient(app) as client:
        assert client.get("/openapi.json").status_code == 404
        assert client.get("/docs").status_code == 404
    assert list(openapi_document(app)["paths"]) == ["/hello"]


@pytest.mark.parametrize("bad", ["openapi.json", "/{x}.json"])
def test_a_bad_path_setting_is_refused_at_startup(bad):
    from lamina import SettingsError

    with pytest.raises(SettingsError, match="path must be a plain path"):
        make_app("routing", "openapi", settings={"openapi": {"path": bad}})


def test_swagger_ui_page_with_configurable_assets_under_a_root_path():
    app = make_app(
        "routing",
        "openapi",
        routes=[Route("/hello", hello)],
        settings={
            "openapi": {
                "docs": "swagger",
                "title": "Shop </title><script>alert(1)</script>",
                "swagger_js_url": "/assets/swagger-ui-bundle.js",
                "swagger_css_url": "/assets/swagger-ui.css",
            }
        },
    )
    with TestClient(app, root_path="/shop") as client:
        page = client.get("/docs")
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    html = page.text
    assert '<script src="/assets/swagger-ui-bundle.js"></script>' in html
    assert '<link rel="stylesheet" href="/assets/swagger-ui.css">' in html
    assert 'SwaggerUIBundle({"url": "/shop/openapi.json", "dom_id": "#swagger-ui"})' in html
    assert "<script>alert(1)</script>" not in html  # the title is escaped
    assert "Shop &lt;/title&gt;" in html


def test_redoc_page():
    app = make_app(
        "routing",
        "openapi",
        settings={"openapi": {"docs": "redoc", "redoc_js_url": "/r.js", "docs_path": "/ref"}},
    )
    with TestClient(app) as client:
        html = client.get("/ref").text
        assert client.get("/docs").status_code == 404
    assert '<redoc spec-url="/openapi.json"></redoc>' in html
    assert '<script src="/r.js"></script>' in html


def test_the_cli_prints_the_document(tmp_path):
    module = tmp_path / "cli_openapi_app.py"
    module.write_text(
        "from lamina import PlainTextResponse\n"
        "from lamina.testing import make_app\n"
        "from lamina_routing import Route\n"
        "async def items(request):\n"
        "    '''All the items.'''\n"
        "    return PlainTextResponse('x')\n"
        "app = make_app('routing', 'openapi', routes=[Route('/items/{id:int}', items)],\n"
        "               settings={'openapi': {'enabled': False, 'title': 'CLI'}})\n"
        "many = [Route(f'/r{i}/{{id:int}}', items, name=f'r{i}') for i in range(2000)]\n"
        "big = make_app('routing', 'openapi', routes=many)\n"
    )
    result = subprocess.run(
        [str(Path(sys.executable).parent / "lamina"), "openapi", "cli_openapi_app:app"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    validate(document)
    assert document["info"]["title"] == "CLI"
    assert document["paths"]["/items/{id}"]["get"]["summary"] == "All the items."
    # a reader that leaves early (`| head -c 20`) is no error, even when the document is
    # far larger than the pipe holds
    lamina = subprocess.Popen(
        [str(Path(sys.executable).parent / "lamina"), "openapi", "cli_openapi_app:big"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert lamina.stdout is not None and lamina.stderr is not None
    assert lamina.stdout.read(12) == b'{\n  "openapi'
    lamina.stdout.close()
    assert lamina.wait(timeout=60) == 0
    assert lamina.stderr.read() == b""
    lamina.stderr.close()
    out = tmp_path / "doc.json"
    from lamina.cli import main

    sys.path.insert(0, str(tmp_path))
    try:
        assert main(["openapi", "cli_openapi_app:app", "--indent", "0", "-o", str(out)]) == 0
    finally:
        sys.path.remove(str(tmp_path))
    assert json.loads(out.read_text()) == document


def test_the_demo_apps_document_validates_and_lists_every_http_route():
    from examples.demo.app import app

    document = openapi_document(app)
    validate(document)
    from lamina_routing import describe_routes

    app.assemble()
    expected = set()
    for info in describe_routes(app.router):
        if info.kind == "websocket" or not getattr(info.route, "include_in_schema", True):
            continue
        path = info.path.replace("{name}", "{name}").replace("{path:path}", "{path}")
        expected |= {(path, m.lower()) for m in (info.methods or {"GET"})}
    listed = {(p, m) for p, ops in document["paths"].items() for m in ops}
    assert listed == expected
    assert ("/hello/{name}", "get") in listed and ("/static/{path}", "get") in listed
    [param] = document["paths"]["/hello/{name}"]["get"]["parameters"]
    assert param == {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}
    # the guarded page carries the session login's security requirement
    account = document["paths"]["/account"]["get"]
    assert account["security"] == [{"session": ["authenticated"]}]
    assert document["components"]["securitySchemes"]["session"]["in"] == "cookie"
    # the demo's WebSocket route is left out
    assert not any("ws" in p for p in document["paths"])


def test_an_app_with_every_first_party_plugin_validates():
    from lamina_background import BackgroundTask  # noqa: F401 - the plugin is part of the app

    @requires("authenticated", status_code=401)
    async def private(request):
        return PlainTextResponse("private")

    async def events(request):
        async def stream():
            yield {"data": "one"}

        return EventSourceResponse(stream())

    async def socket(websocket):
        await websocket.accept()
        await websocket.close()

    first_party = sorted(p.name for p in (ROOT / "plugins").iterdir() if p.is_dir())
    app = make_app(
        *first_party,
        routes=[
            Route("/private", private, name="private"),
            Route("/events", events, name="events"),
            WebSocketRoute("/ws", socket, name="ws"),
        ],
        settings={
            "sessions": {"secret_key": "k" * 32},
            "cors": {"allow_origins": ["https://app.example"]},
            "guards": {"trusted_hosts": ["testserver"]},
            "openapi": {"docs": "redoc"},
        },
    )
    assert "openapi" in first_party and "auth" in first_party
    with TestClient(app) as client:
        response = client.get("/openapi.json")
        assert response.status_code == 200
        document = response.json()
    validate(document)
    assert set(document["paths"]) == {"/private", "/events"}
    assert document["paths"]["/private"]["get"]["security"] == [{"session": ["authenticated"]}]
