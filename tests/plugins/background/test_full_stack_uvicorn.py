"""Every onion plugin of issue 6 together under a real uvicorn on 127.0.0.1."""

from __future__ import annotations

import gzip
import logging
import threading

import anyio
import httpx
import pytest
from lamina import JSONResponse, PlainTextResponse
from lamina.testing import make_app
from lamina_background import BackgroundTask, BackgroundTasks
from lamina_routing import Route

from tests.helpers.servers import serve_uvicorn
from tests.helpers.waiting import wait_until

ORIGIN = "https://app.example"
BIG = {"rows": [{"n": i, "text": "lamina " * 4} for i in range(200)]}


def test_guards_cors_gzip_background_under_uvicorn() -> None:
    finished: list[int] = []
    looked = threading.Event()

    async def job() -> None:
        # runs on only once the test has looked (an event, not a race against a sleep)
        assert await anyio.to_thread.run_sync(looked.wait, 30, abandon_on_cancel=True)
        finished.append(1)

    async def big(request: object) -> JSONResponse:
        return JSONResponse(BIG, background=BackgroundTask(job))

    async def small(request: object) -> PlainTextResponse:
        return PlainTextResponse("hi")

    app = make_app(
        "routing",
        "guards",
        "cors",
        "gzip",
        "background",
        routes=[Route("/big", big), Route("/small", small)],
        settings={
            "guards": {"trusted_hosts": ["127.0.0.1"]},
            "cors": {"allow_origins": [ORIGIN]},
            "background": {"grace_period": 5},
        },
    )
    with serve_uvicorn(app) as url:
        with httpx.Client(base_url=url, timeout=5) as c:
            r = c.get("/big", headers={"origin": ORIGIN, "accept-encoding": "gzip"})
            # The response came back while the task is still waiting: it was not inline.
            assert not finished
            assert r.headers["content-encoding"] == "gzip"
            assert r.json() == BIG
            vary = {v.strip().lower() for v in r.headers["vary"].split(",")}
            assert vary == {"origin", "accept-encoding"}
            assert r.headers["access-control-allow-origin"] == ORIGIN

            with c.stream("GET", "/big", headers={"accept-encoding": "gzip"}) as raw:
                body = b"".join(raw.iter_raw())
            assert int(raw.headers["content-length"]) == len(body)
            assert gzip.decompress(body).startswith(b'{"rows":')

            small_r = c.get("/small", headers={"origin": "https://evil.example"})
            assert small_r.text == "hi" and "access-control-allow-origin" not in small_r.headers

            bad = c.get("/small", headers={"host": "evil.example"})
            assert bad.status_code == 400
            missing = c.get("/nowhere", headers={"origin": ORIGIN})
            assert missing.status_code == 404
            assert missing.headers["access-control-allow-origin"] == ORIGIN
        assert finished == []
        looked.set()
    # Leaving serve_uvicorn ran the lifespan shutdown, which waited for both tasks.
    assert finished == [1, 1]


def test_failures_and_shutdown_cancellation_under_uvicorn(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Through uvicorn's real lifespan: a failing task is logged with its traceback and the
    tasks after it (in the same response and in later ones) still run; at shutdown a task
    still running after the grace period is cancelled and named in the log."""
    ran: list[str] = []
    cancelled: list[str] = []

    def broken() -> None:
        raise LookupError("task exploded")

    async def endless() -> None:
        try:
            await anyio.sleep_forever()
        except anyio.get_cancelled_exc_class():
            cancelled.append("endless")
            raise

    async def fail(request: object) -> PlainTextResponse:
        tasks = BackgroundTasks()
        tasks.add_task(ran.append, "before")
        tasks.add_task(broken)
        tasks.add_task(ran.append, "after")
        return PlainTextResponse("fine", background=tasks)

    async def later(request: object) -> PlainTextResponse:
        return PlainTextResponse("later", background=BackgroundTask(ran.append, "later"))

    async def hang(request: object) -> PlainTextResponse:
        return PlainTextResponse("hang", background=BackgroundTask(endless))

    app = make_app(
        "routing",
        "background",
        routes=[Route("/fail", fail), Route("/later", later), Route("/hang", hang)],
        settings={"background": {"grace_period": 0.2}},
    )
    # Leaving serve_uvicorn runs the lifespan shutdown: grace period, then cancellation.
    with (
        caplog.at_level(logging.WARNING, logger="lamina.background"),
        serve_uvicorn(app) as url,
        httpx.Client(base_url=url, timeout=5) as c,
    ):
        assert c.get("/fail").text == "fine"
        assert c.get("/later").text == "later"
        assert c.get("/hang").text == "hang"
        wait_until(lambda: len(ran) >= 3, 5, "the three background tasks")
    assert sorted(ran) == ["after", "before", "later"]
    assert ran.index("before") < ran.index("after")
    assert cancelled == ["endless"]
    records = [r for r in caplog.records if r.name == "lamina.background"]
    [failure] = [r for r in records if r.levelno == logging.ERROR]
    assert "broken" in failure.getMessage()
    assert failure.exc_info is not None and failure.exc_info[0] is LookupError
    formatted = logging.Formatter().format(failure)
    assert "Traceback (most recent call last)" in formatted
    assert "LookupError: task exploded" in formatted and "in broken" in formatted
    warnings = [r.getMessage() for r in records if r.levelno == logging.WARNING]
    assert any("cancelling 1 background task" in m and "endless" in m for m in warnings)
    assert any("cancelled" in m and "grace period" in m for m in warnings)
