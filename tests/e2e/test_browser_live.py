"""The demo's live page in headless Chromium (Debian's ``chromium``, driven by Playwright).

The page uses ``new WebSocket(...)`` for a chat room and ``new EventSource(...)`` for a
stream the server ends after every five events, both fed by one lamina-broadcast channel.
The test checks that chat messages reach every open page, and that EventSource reconnects
by itself sending ``Last-Event-ID``, with the stream carrying on right after that id.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from tests.helpers.browser import launch as launch_chromium
from tests.helpers.servers import serve

pytestmark = pytest.mark.browser

TIMEOUT_MS = 15_000


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    from examples.demo.app import app

    with serve(app) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
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


def stream_items(page: Page) -> list[dict[str, Any]]:
    return page.eval_on_selector_all(  # type: ignore[no-any-return]
        "#sse-log li",
        "items => items.map(li => ({id: li.dataset.id, text: li.dataset.text,"
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
    finally:
        other.context.close()


def test_event_source_resumes_with_last_event_id_through_the_broadcast(
    page: Page, base_url: str
) -> None:
    page.goto(base_url + "/live")
    page.wait_for_selector("#sse-status[data-state=open]")
    # Subscribed once a message published now shows up (bounded: 40 tries).
    for attempt in range(40):
        httpx.post(base_url + "/live/say", data={"text": f"ready-{attempt}"}, timeout=5)
        try:
            page.wait_for_selector(f"#sse-log li[data-text='ready-{attempt}']", timeout=500)
            break
        except PlaywrightTimeoutError:
            continue
    else:
        pytest.fail("the event stream never delivered a message")
    texts = [f"m{n}" for n in range(1, 13)]
    for text in texts:
        assert httpx.post(base_url + "/live/say", data={"text": text}, timeout=5).status_code == 202
    # Five events per stream: twelve messages need at least three connections.
    page.wait_for_selector("#sse-log li[data-text='m12']")
    items = [i for i in stream_items(page) if i["text"] in texts or i["text"].startswith("ready")]
    mine = [i for i in items if i["text"] in texts]
    assert [i["text"] for i in mine] == texts, "events were lost or repeated across reconnects"
    ids = [int(i["id"]) for i in items]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    resumed = [
        (before, after)
        for before, after in itertools.pairwise(items)
        if after["connection"] != before["connection"]
    ]
    assert len(resumed) >= 2
    for before, after in resumed:
        # The browser sent the last id it saw, and the stream went on right after it.
        assert after["resumedFrom"] == before["id"]
    assert int(page.text_content("#sse-connections") or 0) >= 3
