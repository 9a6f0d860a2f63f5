"""The demo app (what the README serves) under a real uvicorn on 127.0.0.1.

Checks that its pages are rendered from templates, link to each other, and are styled by
the stylesheet that lamina-staticfiles serves; one test starts it the README's way,
``lamina serve examples.demo.app:app``, in a subprocess.
"""

from __future__ import annotations

import os
import re
import sys
from functools import partial
from pathlib import Path

import httpx
import pytest

from tests.helpers.browser import launch as launch_chromium
from tests.helpers.servers import child_process, free_port, serve
from tests.helpers.waiting import answer, process_exited, wait_until

ROOT = Path(__file__).resolve().parents[2]
CSS = ROOT / "examples" / "demo" / "static" / "demo.css"


@pytest.fixture(scope="module")
def base_url():
    from examples.demo.app import app

    with serve(app) as url:
        yield url


def test_home_page_is_rendered_from_the_templates(base_url: str) -> None:
    response = httpx.get(base_url + "/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    html = response.text
    assert html.startswith("<!doctype html>")
    assert "<h1>A small kernel, and plugins for the rest</h1>" in html  # home.html
    assert '<footer class="site-footer">' in html  # base.html
    for title in ("Routing", "Templates", "Static files", "GZip"):
        assert f"{title}</" in html
    assert f'href="{base_url}/hello/Lamina"' in html  # url_for through the router
    assert f'<link rel="stylesheet" href="{base_url}/static/demo.css">' in html


def test_stylesheet_is_served_and_matches_the_file(base_url: str) -> None:
    response = httpx.get(base_url + "/static/demo.css", headers={"accept-encoding": "identity"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/css")
    assert response.content == CSS.read_bytes()
    assert "etag" in response.headers
    again = httpx.get(
        base_url + "/static/demo.css", headers={"if-none-match": response.headers["etag"]}
    )
    assert again.status_code == 304


def test_every_link_and_asset_on_the_home_page_resolves(base_url: str) -> None:
    html = httpx.get(base_url + "/").text
    targets = set(re.findall(r'(?:href|src)="(http://127\.0\.0\.1:\d+/[^"]*)"', html))
    assert len(targets) >= 5
    with httpx.Client() as client:
        for url in sorted(targets):
            assert client.get(url).status_code == 200, url


def test_path_parameter_page_escapes_html(base_url: str) -> None:
    response = httpx.get(base_url + "/hello/%3Cscript%3Ex%3C%2Fscript%3E")
    assert response.status_code in (200, 404)  # a '/' in a name may not match the route
    response = httpx.get(base_url + "/hello/%3Cscript%3Ealert(1)")
    assert response.status_code == 200
    assert "<h1>Hello, &lt;script&gt;alert(1)!</h1>" in response.text
    assert "<script>" not in response.text


def test_greeting_form_redirects_to_the_named_page(base_url: str) -> None:
    response = httpx.get(base_url + "/hello", params={"name": "Ada"})
    assert response.status_code == 303
    assert response.headers["location"] == base_url + "/hello/Ada"
    assert "Hello, Ada!" in httpx.get(response.headers["location"]).text


def test_plugins_page_lists_what_the_app_loaded(base_url: str) -> None:
    html = httpx.get(base_url + "/plugins").text
    for name in ("routing", "templates", "staticfiles"):
        assert re.search(rf'<tr class="on">\s*<td><code>{name}</code>', html), name


def test_unknown_page_gets_the_templated_404(base_url: str) -> None:
    response = httpx.get(base_url + "/no/such/page")
    assert response.status_code == 404
    assert "<h1>Nothing at /no/such/page</h1>" in response.text
    assert "/static/demo.css" in response.text


def test_lamina_serve_runs_the_demo_from_the_project_root() -> None:
    """The README's command, in a subprocess on a free port (bounded wait)."""
    port = free_port()
    lamina = Path(sys.executable).with_name("lamina")
    env = dict(os.environ)
    for name in ("LAMINA_DISABLE_PLUGIN_AUTOLOAD", "LAMINA_PLUGINS", "LAMINA_DISABLE_PLUGINS"):
        env.pop(name, None)
    cmd = [str(lamina), "serve", "examples.demo.app:app", "--port", str(port)]
    with child_process([*cmd, "--log-level", "warning"], cwd=ROOT, env=env) as child:
        response = wait_until(
            partial(answer, f"http://127.0.0.1:{port}/"),
            30,
            "lamina serve to answer",
            gave_up=process_exited(child.process),
        )
        assert response.status_code == 200
        assert "A small kernel, and plugins for the rest" in response.text
        css = httpx.get(f"http://127.0.0.1:{port}/static/demo.css", timeout=30)
        assert css.status_code == 200


def test_browser_applies_the_stylesheet(base_url: str) -> None:
    """Headless Chromium loads the home page: the CSS from /static styles it."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            page = browser.new_page(color_scheme="light")
            failed: list[str] = []
            page.on("requestfailed", lambda request: failed.append(request.url))
            page.goto(base_url + "/", wait_until="load", timeout=15_000)
            background = page.evaluate("getComputedStyle(document.body).backgroundColor")
            columns = page.evaluate("getComputedStyle(document.querySelector('.features')).display")
            page.get_by_role("link", name="Routing", exact=True).click()
            page.wait_for_url(base_url + "/hello/Lamina", timeout=5_000)
            heading = page.inner_text("h1")
        finally:
            browser.close()
    assert background == "rgb(247, 247, 251)"  # --bg in demo.css (light scheme)
    assert columns == "grid"
    assert heading == "Hello, Lamina!"
    assert failed == []


def test_the_demo_serves_its_openapi_document_and_docs_page(base_url: str) -> None:
    from openapi_spec_validator import validate

    response = httpx.get(base_url + "/openapi.json")
    assert response.status_code == 200
    document = response.json()
    validate(document)
    assert document["info"]["title"] == "Lamina demo"
    assert document["paths"]["/account"]["get"]["security"] == [{"session": ["authenticated"]}]
    cached = httpx.get(
        base_url + "/openapi.json", headers={"if-none-match": response.headers["etag"]}
    )
    assert cached.status_code == 304
    docs = httpx.get(base_url + "/docs")
    assert docs.status_code == 200 and "SwaggerUIBundle" in docs.text
