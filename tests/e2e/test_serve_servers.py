"""``lamina serve --server uvicorn|granian|hypercorn``, each server for real.

Every test starts ``lamina serve`` as a child process on a free 127.0.0.1 port, waits until
the app answers (a bounded poll: there is no event to await across processes), talks HTTP to
it, stops it with a signal sent to the PID it started, and checks that the process exits by
itself and that the app's lifespan shutdown ran in every worker that started.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.helpers.servers import free_port
from tests.helpers.waiting import answer, wait_until

SERVERS = ["uvicorn", "granian", "hypercorn"]

APP = """
import contextlib
import os

from lamina import JSONResponse, PlainTextResponse
from lamina.testing import make_app
from lamina_routing import Route
from lamina_sse import EventSourceResponse

GREETING = "hello from the lifespan"


def record(event):
    with open(os.environ["SERVED_MARKS"], "a") as marks:
        marks.write(f"{event} {os.getpid()}\\n")


@contextlib.asynccontextmanager
async def lifespan(app):
    record("startup")
    yield {"greeting": GREETING}
    record("shutdown")


async def home(request):
    return PlainTextResponse(GREETING)


async def state(request):
    return JSONResponse(
        {
            "greeting": request.state.greeting,
            "asgi": request.scope["asgi"],
            "pid": os.getpid(),
            "workers": os.environ.get("LAMINA_WORKERS"),
        }
    )


async def events(request):
    async def ticks():
        for n in range(3):
            yield f"tick {n}"

    return EventSourceResponse(ticks())


app = make_app(
    "routing",
    "sse",
    routes=[Route("/", home), Route("/state", state), Route("/events", events)],
    lifespan=lifespan,
)
"""


@dataclass
class Served:
    base: str
    process: subprocess.Popen[bytes]
    marks: Path
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]

    def exited(self) -> str | None:
        """A ``gave_up`` for :func:`wait_until`: the server exited, with its output."""
        if self.process.poll() is None:
            return None
        return f"it exited with {self.process.returncode}:\n{self.output()}"

    def events(self, kind: str) -> list[int]:
        lines = self.marks.read_text().splitlines() if self.marks.exists() else []
        return [int(line.split()[1]) for line in lines if line.split()[0] == kind]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "servedapp").mkdir()
    (tmp_path / "servedapp" / "__init__.py").write_text("")
    (tmp_path / "servedapp" / "app.py").write_text(textwrap.dedent(APP))
    return tmp_path


@contextmanager
def lamina_serve(project: Path, server: str, *args: str) -> Iterator[Served]:
    """``lamina serve servedapp.app:app --server SERVER ARGS`` until its state answers."""
    port = free_port()
    log, marks = project / f"{server}.log", project / "marks.txt"
    command = [
        *(sys.executable, "-m", "lamina.cli", "serve", "servedapp.app:app"),
        *("--server", server, "--port", str(port), "--log-level", "warning", *args),
    ]
    env = {**os.environ, "SERVED_MARKS": str(marks), "PYTHONUNBUFFERED": "1"}
    with log.open("wb") as out:
        # a session of its own: if the server does not stop, its whole group is killed
        process = subprocess.Popen(
            command, cwd=project, env=env, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    served = Served(f"http://127.0.0.1:{port}", process, marks, log)
    try:
        wait_until_serving(served)
        yield served
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)


def wait_until_serving(served: Served, timeout: float = 30.0) -> None:
    wait_until(
        lambda: (r := answer(served.base + "/state")) is not None and r.status_code == 200,
        timeout,
        f"lamina serve on {served.base}",
        gave_up=served.exited,
    )


def stop(served: Served, sig: signal.Signals) -> None:
    """Signal the PID we started; it must exit by itself (0, or killed by that very signal:
    uvicorn re-raises the one it caught once it has shut down)."""
    served.process.send_signal(sig)
    try:
        status = served.process.wait(30)
    except subprocess.TimeoutExpired:
        pytest.fail(f"lamina serve did not exit after {sig.name}:\n{served.output()}")
    assert status in (0, -sig), served.output()


CASES = [(server, sig) for server in SERVERS for sig in (signal.SIGINT, signal.SIGTERM)]


@pytest.mark.parametrize(("server", "sig"), CASES, ids=[f"{s}-{g.name}" for s, g in CASES])
def test_serves_routes_lifespan_state_and_a_stream(
    project: Path, server: str, sig: signal.Signals
) -> None:
    with lamina_serve(project, server) as served:
        assert httpx.get(served.base + "/", timeout=10).text == "hello from the lifespan"
        state = httpx.get(served.base + "/state", timeout=10).json()
        assert state["greeting"] == "hello from the lifespan"
        assert state["asgi"]["version"] == "3.0"  # called as an ASGI 3 app
        assert state["workers"] is None  # one process: nothing to warn plugins about
        with httpx.stream("GET", served.base + "/events", timeout=10) as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            data = [line for line in response.iter_lines() if line.startswith("data:")]
        assert data == ["data: tick 0", "data: tick 1", "data: tick 2"]
        stop(served, sig)
        assert served.events("startup") == [state["pid"]]
        assert served.events("shutdown") == [state["pid"]], served.output()


@pytest.mark.parametrize("server", SERVERS)
def test_workers_each_run_the_lifespan(project: Path, server: str) -> None:
    with lamina_serve(project, server, "--workers", "2") as served:
        states: dict[int, dict[str, object]] = {}

        def both_workers_answered() -> bool:  # a new connection each time: the kernel spreads them
            state = httpx.get(served.base + "/state", timeout=5).json()
            states[state["pid"]] = state
            return len(states) == 2

        wait_until(both_workers_answered, 30, "both workers to answer", gave_up=served.exited)
        assert {s["workers"] for s in states.values()} == {"2"}
        assert all(s["greeting"] == "hello from the lifespan" for s in states.values())
        stop(served, signal.SIGTERM)
        assert sorted(served.events("shutdown")) == sorted(states), served.output()


@pytest.mark.parametrize("server", ["granian", "hypercorn"])  # uvicorn's: tests/kernel/test_cli
def test_reload_restarts_when_the_code_changes(project: Path, server: str) -> None:
    source = project / "servedapp" / "app.py"
    changed = source.read_text().replace('"hello from the lifespan"', '"reloaded"')

    written = [0.0]

    def reloaded() -> bool:
        # The app answers before the reloader watches (granian starts its workers first), so
        # the change is written again (once a second) until it is seen: a change the watcher
        # missed is not what this test is about.
        response = answer(served.base + "/")
        if response is not None and response.text == "reloaded":
            return True
        if time.monotonic() - written[0] > 1.0:
            source.write_text(changed)
            written[0] = time.monotonic()
        return False

    with lamina_serve(project, server, "--reload") as served:
        wait_until(reloaded, 45, "the changed code to be served", gave_up=served.exited)
        stop(served, signal.SIGTERM)


FAILING_APP = """
import contextlib
from lamina.testing import make_app


@contextlib.asynccontextmanager
async def lifespan(app):
    raise RuntimeError("database unreachable")
    yield


app = make_app("routing", lifespan=lifespan)
"""


@pytest.mark.parametrize("server", SERVERS)
def test_a_failed_startup_ends_the_server_with_an_error(project: Path, server: str) -> None:
    (project / "servedapp" / "failing.py").write_text(textwrap.dedent(FAILING_APP))
    command = [
        *(sys.executable, "-m", "lamina.cli", "serve", "servedapp.failing:app"),
        *("--server", server, "--port", str(free_port()), "--log-level", "warning"),
    ]
    # it ends by itself: no signal, no poll
    result = subprocess.run(command, cwd=project, capture_output=True, text=True, timeout=50)
    assert result.returncode not in (0, None)
    assert "RuntimeError: database unreachable" in result.stderr + result.stdout
