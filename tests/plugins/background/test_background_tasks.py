"""BackgroundTask / BackgroundTasks on their own and inline (no lifespan)."""

from __future__ import annotations

import logging
import threading
from typing import Any

import anyio
import pytest
from lamina import PlainTextResponse
from lamina.testclient import TestClient
from lamina_background import BackgroundTask, BackgroundTasks


def test_sync_task_runs_in_a_worker_thread_with_its_arguments() -> None:
    seen: list[Any] = []

    def work(a: int, *, b: str) -> None:
        seen.append((a, b, threading.current_thread() is threading.main_thread()))

    anyio.run(BackgroundTask(work, 1, b="x"))
    assert seen == [(1, "x", False)]


def test_async_task_is_awaited_on_the_loop() -> None:
    seen: list[Any] = []

    async def work(a: int) -> None:
        await anyio.sleep(0)
        seen.append((a, threading.current_thread() is threading.main_thread()))

    anyio.run(BackgroundTask(work, 2))
    assert seen == [(2, True)]


def test_failing_task_is_logged_and_later_tasks_still_run(
    caplog: pytest.LogCaptureFixture,
) -> None:
    seen: list[str] = []

    def broken() -> None:
        raise ValueError("kaput")

    tasks = BackgroundTasks()
    tasks.add_task(seen.append, "first")
    tasks.add_task(broken)
    tasks.add_task(seen.append, "third")
    assert len(tasks) == 3
    with caplog.at_level(logging.ERROR, logger="lamina.background"):
        anyio.run(tasks)
    assert seen == ["first", "third"]
    [record] = caplog.records
    assert record.name == "lamina.background"
    assert "broken" in record.getMessage()
    assert record.exc_info is not None and record.exc_info[0] is ValueError


def test_inline_without_the_plugin_runs_after_the_response() -> None:
    order: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        async def tracking_send(message: Any) -> None:
            if message["type"] == "http.response.body":
                order.append("body sent")
            await send(message)

        response = PlainTextResponse("hi", background=BackgroundTask(order.append, "task"))
        await response(scope, receive, tracking_send)

    r = TestClient(app).get("/")
    assert r.text == "hi"
    assert order == ["body sent", "task"]


def test_failing_task_does_not_affect_the_response(caplog: pytest.LogCaptureFixture) -> None:
    async def broken() -> None:
        raise RuntimeError("after the response")

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await PlainTextResponse("fine", background=BackgroundTask(broken))(scope, receive, send)

    with caplog.at_level(logging.ERROR, logger="lamina.background"):
        r = TestClient(app).get("/")  # re-raises server exceptions: none reached it
    assert r.status_code == 200 and r.text == "fine"
    assert any(
        "after the response" in (rec.exc_text or "") or rec.exc_info for rec in caplog.records
    )


def test_repr_names_the_function() -> None:
    def send_mail() -> None: ...

    assert "send_mail" in repr(BackgroundTask(send_mail))
    tasks = BackgroundTasks([BackgroundTask(send_mail)])
    assert "send_mail" in repr(tasks)
