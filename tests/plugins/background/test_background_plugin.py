"""lamina-background in a Lamina app: lifespan-owned tasks, grace period, cancellation."""

from __future__ import annotations

import logging
import threading
from typing import Any

import anyio
import pytest
from lamina import PlainTextResponse, SettingsError
from lamina.plugin import SCOPE_SPAWN
from lamina.testclient import LifespanNotRunWarning, TestClient
from lamina.testing import make_app, plugin
from lamina_background import (
    BackgroundMiddleware,
    BackgroundTask,
    BackgroundTasks,
    TaskRunner,
)
from trio.testing import MockClock


def app_with(tasks: dict[str, Any], **settings: Any) -> Any:
    """``GET /<name>`` answers ``ok`` with ``tasks[name]`` (a zero-argument callable)."""
    spawned: list[bool] = []

    async def router(scope: Any, receive: Any, send: Any) -> None:
        spawned.append(SCOPE_SPAWN in scope)
        func = tasks[scope["path"].lstrip("/")]
        await PlainTextResponse("ok", background=BackgroundTask(func))(scope, receive, send)

    app = make_app(
        "background",
        plugin("table-router", lamina_make_router=lambda app, routes: router),
        settings={"background": settings},
    )
    app.spawned = spawned
    return app


def watch_shutdown(app: Any) -> tuple[Any, threading.Event]:
    """``app`` wrapped so that an event is set the moment the server asks it to shut down
    (before the app itself hears of it): a task can then prove it was waited for."""
    shutting_down = threading.Event()

    async def watched(scope: Any, receive: Any, send: Any) -> None:
        async def receive_and_watch() -> Any:
            message = await receive()
            if message["type"] == "lifespan.shutdown":
                shutting_down.set()
            return message

        await app(scope, receive_and_watch if scope["type"] == "lifespan" else receive, send)

    return watched, shutting_down


async def until_set(event: threading.Event) -> None:
    """Wait for ``event`` from a worker thread (bounded: a hang fails the test)."""
    assert await anyio.to_thread.run_sync(event.wait, 30, abandon_on_cancel=True)


def test_placement_and_settings() -> None:
    app = app_with({}, grace_period=1.5)
    assert app.describe_middleware() == [
        {
            "name": "BackgroundMiddleware",
            "phase": "outermost",
            "priority": 100,
            "plugin": "background",
        }
    ]
    assert app.extensions["background"].grace_period == 1.5
    with pytest.raises(SettingsError):
        app_with({}, grace_period=-1)


def test_with_lifespan_the_response_does_not_wait_for_the_task() -> None:
    started, release, done = threading.Event(), threading.Event(), threading.Event()

    def slow() -> None:
        started.set()
        assert release.wait(5)
        done.set()

    app = app_with({"slow": slow})
    with TestClient(app) as c:
        r = c.get("/slow")  # inline, this would block until `release` (never set yet)
        assert r.text == "ok"
        assert app.spawned == [True]
        assert started.wait(5)
        assert not done.is_set()
        assert app.extensions["background"].outstanding == 1
        release.set()
        assert done.wait(5)


def test_shutdown_waits_for_outstanding_tasks_within_the_grace_period() -> None:
    finished: list[str] = []

    async def short() -> None:
        await until_set(shutting_down)  # still busy when the shutdown starts, by construction
        finished.append("short")

    app, shutting_down = watch_shutdown(app_with({"short": short}, grace_period=5))
    with TestClient(app) as c:
        c.get("/short")
        assert finished == []
    assert finished == ["short"]  # exiting the client ran the shutdown, which waited


def test_shutdown_cancels_and_logs_tasks_past_the_grace_period(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def forever() -> None:
        await anyio.sleep_forever()

    app = app_with({"forever": forever}, grace_period=0.05)
    with caplog.at_level(logging.WARNING, logger="lamina.background"), TestClient(app) as c:
        c.get("/forever")  # the test's own timeout bounds the shutdown; the log says why
    messages = [r.getMessage() for r in caplog.records if r.name == "lamina.background"]
    assert any("cancelling 1 background task" in m and "forever" in m for m in messages)
    assert any("cancelled" in m and "grace period" in m for m in messages)
    assert app.extensions["background"].outstanding == 0


def test_failing_task_in_the_task_group_is_logged_and_the_app_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    ran = threading.Event()

    def broken() -> None:
        raise KeyError("nope")

    app = app_with({"broken": broken, "fine": ran.set})
    with caplog.at_level(logging.ERROR, logger="lamina.background"), TestClient(app) as c:
        assert c.get("/broken").text == "ok"
        assert c.get("/fine").text == "ok"
        assert ran.wait(5)
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert errors and errors[0].exc_info is not None and errors[0].exc_info[0] is KeyError


def test_without_lifespan_tasks_run_inline() -> None:
    seen: list[str] = []
    app = app_with({"t": lambda: seen.append("ran")})
    with pytest.warns(LifespanNotRunWarning):
        r = TestClient(app).get("/t")
    assert r.text == "ok"
    assert seen == ["ran"]  # finished before the response was handed back
    assert app.spawned == [False]


def test_plain_asgi_middleware_owns_its_runner_through_the_lifespan() -> None:
    finished = threading.Event()
    marks: list[bool] = []

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                kind = message["type"].rpartition(".")[2]
                await send({"type": f"lifespan.{kind}.complete"})
                if kind == "shutdown":
                    return
        marks.append(SCOPE_SPAWN in scope)

        async def later() -> None:
            await until_set(shutting_down)  # still running when the shutdown starts
            finished.set()

        await PlainTextResponse("x", background=later)(scope, receive, send)

    mw = BackgroundMiddleware(inner, grace_period=5)
    watched, shutting_down = watch_shutdown(mw)
    with TestClient(watched) as c:
        c.get("/")
        assert not finished.is_set()
    assert finished.is_set()  # drained before the inner app heard of the shutdown
    assert marks == [True]
    # After shutdown the runner no longer takes work: inline again.
    TestClient(mw).get("/")
    assert marks == [True, False]


def test_runner_cannot_run_twice() -> None:
    runner = TaskRunner()

    async def main() -> None:
        async with runner.running():
            with pytest.raises(RuntimeError, match="already running"):
                async with runner.running():
                    pass

    anyio.run(main)


def test_sync_task_past_the_grace_period_is_abandoned_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    release = threading.Event()
    app = app_with({"block": lambda: release.wait(5)}, grace_period=0.05)
    try:
        with caplog.at_level(logging.WARNING, logger="lamina.background"), TestClient(app) as c:
            c.get("/block")
    finally:
        release.set()
    assert any("cancelling 1 background task" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_task_group_works_on_both_backends(backend: str) -> None:
    done = threading.Event()

    async def work() -> None:
        await anyio.sleep(0)  # a real await (a checkpoint) on either backend
        done.set()

    app = app_with({"w": work}, grace_period=5)
    with TestClient(app, backend=backend) as c:
        c.get("/w")
    assert done.is_set()
    assert app.spawned == [True]


def test_work_offered_after_the_lifespan_ended_is_logged_not_raised(
    caplog: pytest.LogCaptureFixture,
) -> None:
    runner = TaskRunner()
    spawns: list[Any] = []

    async def main() -> None:
        async with runner.running():
            spawns.append(runner.spawn)
        assert runner.spawn is None
        spawns[0](BackgroundTask(print))  # a response that captured the spawner too early

    with caplog.at_level(logging.ERROR, logger="lamina.background"):
        anyio.run(main)
    assert any("dropped" in r.getMessage() for r in caplog.records)


def test_a_task_ignoring_cancellation_is_named_in_the_log(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    import lamina_background._runner as runner_module

    monkeypatch.setattr(runner_module, "CANCEL_TIMEOUT", 0.1)
    runner = TaskRunner(grace_period=0.05)

    finished: list[bool] = []

    async def stubborn() -> None:
        with anyio.CancelScope(shield=True):
            await anyio.sleep(0.5)
        finished.append(True)

    async def main() -> None:
        # virtual time: the shutdown waits out the stubborn task's shielded 0.5 s, no longer
        with anyio.fail_after(0.51):
            async with runner.running():
                assert runner.spawn is not None
                runner.spawn(stubborn)
                await anyio.lowlevel.checkpoint()

    # trio's mock clock: virtual time jumps whenever every task waits, so the grace period
    # (0.05), the cancel timeout (0.1) and the stubborn task's 0.5 s elapse exactly,
    # whatever the machine's load: shutdown names the task, then waits for it to finish
    clock = MockClock(autojump_threshold=0)
    with caplog.at_level(logging.WARNING, logger="lamina.background"):
        anyio.run(main, backend="trio", backend_options={"clock": clock})
    assert finished == [True]
    assert any("ignored cancellation" in r.getMessage() for r in caplog.records)


def test_any_response_type_hands_its_tasks_to_the_runner(tmp_path: Any) -> None:
    from lamina import (
        FileResponse,
        HTMLResponse,
        JSONResponse,
        RedirectResponse,
        Response,
        StreamingResponse,
    )

    path = tmp_path / "f.txt"
    path.write_bytes(b"file body")
    ran: list[str] = []
    marked: list[bool] = []

    async def chunks() -> Any:
        yield b"a"
        yield b"b"

    makers = {
        "plain": lambda bg: PlainTextResponse("p", background=bg),
        "raw": lambda bg: Response(b"r", background=bg),
        "html": lambda bg: HTMLResponse("<p>h</p>", background=bg),
        "json": lambda bg: JSONResponse({"j": 1}, background=bg),
        "redirect": lambda bg: RedirectResponse("/elsewhere", background=bg),
        "stream": lambda bg: StreamingResponse(chunks(), background=bg),
        "file": lambda bg: FileResponse(path, background=bg),
    }

    async def router(scope: Any, receive: Any, send: Any) -> None:
        name = scope["path"].lstrip("/")
        marked.append(SCOPE_SPAWN in scope)
        tasks = BackgroundTasks()
        tasks.add_task(ran.append, name)
        await makers[name](tasks)(scope, receive, send)

    app = make_app(
        "background", plugin("table-router", lamina_make_router=lambda app, routes: router)
    )
    bodies = {}
    with TestClient(app, follow_redirects=False) as c:
        for name in makers:
            bodies[name] = c.get("/" + name).content
    assert sorted(ran) == sorted(makers)  # the shutdown drained them all
    assert marked == [True] * len(makers)
    assert bodies["stream"] == b"ab" and bodies["file"] == b"file body"
