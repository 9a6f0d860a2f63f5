"""The docs page in a real browser: headless Chromium opens ``/docs`` of an app under
uvicorn, the page loads Swagger UI 5 (the assets the ``swagger-ui-py`` package ships, served
by lamina-staticfiles from the URLs the settings name) and renders the operations of the
app's document, fetched from ``/openapi.json``. (The URLs under a ``root_path`` are
checked in tests/plugins/openapi: a browser needs a proxy in front to follow them.)"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
import swagger_ui
from lamina import PlainTextResponse
from lamina.testing import make_app
from lamina_routing import Route
from playwright.sync_api import sync_playwright

from tests.helpers.browser import launch as launch_chromium
from tests.helpers.servers import serve_uvicorn

pytestmark = pytest.mark.browser

SWAGGER_ASSETS = os.path.join(os.path.dirname(swagger_ui.__file__), "static")


async def get_item(request: Any) -> PlainTextResponse:
    """Fetch one item.

    By its number.
    ---
    tags: [items]
    responses:
      "404":
        description: No such item.
    """
    return PlainTextResponse("item")


async def delete_item(request: Any) -> PlainTextResponse:
    """Remove an item."""
    return PlainTextResponse("gone")


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    app = make_app(
        "routing",
        "staticfiles",
        "openapi",
        routes=[
            Route("/items/{id:int}", get_item, name="item"),
            Route("/items/{id:int}", delete_item, methods=["DELETE"], name="delete_item"),
        ],
        settings={
            "staticfiles": {"directories": [SWAGGER_ASSETS], "prefix": "/assets", "name": "assets"},
            "openapi": {
                "title": "Shop",
                "docs": "swagger",
                "swagger_js_url": "/assets/swagger-ui-bundle.js",
                "swagger_css_url": "/assets/swagger-ui.css",
            },
        },
    )
    with serve_uvicorn(app) as url:
        yield url


def test_swagger_ui_renders_the_document(base_url: str) -> None:
    with sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            page = browser.new_page()
            failed: list[str] = []
            page.on("requestfailed", lambda request: failed.append(request.url))
            page.goto(base_url + "/docs")
            # Swagger UI fetched /openapi.json and drew one block per operation
            page.wait_for_selector(".opblock", timeout=20_000)
            summaries = page.locator(".opblock-summary-description").all_inner_texts()
            paths = page.locator(".opblock-summary-path").all_inner_texts()
            title = page.locator(".info .title").inner_text()
            page.locator("#operations-items-item .opblock-summary").click()
            page.wait_for_selector(".parameters", timeout=10_000)
            parameters = page.locator(".parameters .parameter__name").all_inner_texts()
            errors = page.locator(".errors-wrapper").count()
        finally:
            browser.close()
    # the staticfiles mount serving the assets describes itself too
    assert sorted(summaries) == ["Fetch one item.", "Remove an item.", "Static files under /assets"]
    assert {p.replace("\u200b", "") for p in paths} == {"/items/{id}", "/assets/{path}"}
    assert title.startswith("Shop")
    assert any(name.startswith("id") for name in parameters)
    assert errors == 0
    assert failed == []
