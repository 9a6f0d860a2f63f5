"""The demo's live page in headless Chromium (Debian's ``chromium``, driven by Playwright).

The page uses ``new WebSocket(...)`` for a chat room and ``new EventSource(...)`` for a
stream the server ends after every five events. The test checks that chat messages reach
every open page, and that EventSource reconnects by itself sending ``Last-Event-ID``, with
the server carrying on from that id.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.helpers.servers import serve

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 15_000


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    from examples.demo.app import app

    with serve(app) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    try:
        yield page
    finally:
        context.close()


def ticks(page: Page) -> list[dict[str, Any]]:
    return page.eval_on_selector_all(  # type: ignore[no-any-return]
        "#sse-log li",
        "items => items.map(li => ({n: Number(li.dataset.n), lastEventId: li.dataset.lastEventId,"
        " resumedFrom: li.dataset.resumedFrom, connection: Number(li.dataset.connection)}))",
    )


def test_websocket_chat_reaches_every_open_page(
    browser: Browser, page: Page, base_url: str
) -> None:
    page.goto(base_url + "/live")
    page.wait_for_selector("#ws-status[data-state=open]")
    assert page.text_content("#ws-you", timeout=TIMEOUT_MS) != "…"

    other = browser.new_context().new_page()
    other.set_default_timeout(TIMEOUT_MS)
    try:
        other.goto(base_url + "/live")
        other.wait_for_selector("#ws-status[data-state=open]")
        page.fill("#chat-input", "hello from page one <b>not bold</b>")
        page.click("#chat-form button")
        for p in (page, other):
            item = p.wait_for_selector("#chat-log li[data-kind=message]")
            assert item is not None
            assert item.get_attribute("data-text") == "hello from page one <b>not bold</b>"
            # Shown as text, never parsed as HTML.
            assert p.query_selector("#chat-log b") is None
        other.fill("#chat-input", "and back")
        other.press("#chat-input", "Enter")
        page.wait_for_selector("#chat-log li[data-kind=message][data-text='and back']")
        assert int(page.text_content("#ws-online") or 0) >= 2
    finally:
        other.context.close()


def test_event_source_reconnects_with_last_event_id(page: Page, base_url: str) -> None:
    page.goto(base_url + "/live?interval=0.05")
    # Five events per stream: event 12 needs three connections, two of them resumed.
    page.wait_for_selector("#sse-log li[data-n='12']")
    seen = ticks(page)
    numbers = [t["n"] for t in seen]
    assert numbers[:12] == list(range(1, 13)), "events were lost or repeated across reconnects"
    for tick in seen[:12]:
        assert tick["lastEventId"] == str(tick["n"])
    first, resumed, again = seen[0], seen[5], seen[10]
    assert first["resumedFrom"] == "" and first["connection"] == 1
    # The browser sent Last-Event-ID: 5 by itself, and the server continued after it.
    assert (resumed["n"], resumed["resumedFrom"], resumed["connection"]) == (6, "5", 2)
    assert (again["n"], again["resumedFrom"], again["connection"]) == (11, "10", 3)
    assert int(page.text_content("#sse-connections") or 0) >= 3
