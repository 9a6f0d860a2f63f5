"""Open streams and WebSockets end cleanly when the server shuts down, under every server
and worker model, whichever process the signal reaches.

Each server runs in a process (group) of its own serving ``eco_served:app``. With an event
stream and a WebSocket open, the server is told to stop the way an operator does it:
``SIGTERM`` to the server's main process (``kill PID``, systemd, a container stop), or
``SIGINT`` to the whole process group (Ctrl+C in a terminal). The stream must end with its
last chunk (no "incomplete chunked read"), the WebSocket with a close frame (not 1006), the
lifespan state must have been there while serving, and the server must exit by itself.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tests.helpers.servers import serve_subprocess

HERE = Path(__file__).parent
ROOT = HERE.parents[1]

#: id -> (server, loop, extra command-line arguments)
SERVERS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "uvicorn": ("uvicorn", "asyncio", ()),
    "uvicorn-workers-2": ("uvicorn", "asyncio", ("--workers", "2")),
    "hypercorn-asyncio": ("hypercorn", "asyncio", ()),
    "hypercorn-asyncio-w0": ("hypercorn", "asyncio", ("--workers", "0")),
    "hypercorn-trio": ("hypercorn", "trio", ()),
    "hypercorn-trio-w0": ("hypercorn", "trio", ("--workers", "0")),
    "granian": ("granian", "asyncio", ()),  # a main process and one worker process
}
#: Servers whose workers are child processes: the group signal reaches them too.
MULTIPROCESS = ["uvicorn-workers-2", "hypercorn-asyncio", "hypercorn-trio", "granian"]

CASES = [(k, "SIGTERM-main") for k in SERVERS] + [(k, "SIGINT-group") for k in MULTIPROCESS]


@pytest.mark.parametrize(("kind", "how"), CASES, ids=[f"{k}-{h}" for k, h in CASES])
def test_streams_and_websockets_end_cleanly_on_shutdown(kind: str, how: str) -> None:
    server, loop, args = SERVERS[kind]
    env = {"PYTHONPATH": os.pathsep.join([str(HERE), str(ROOT)])}
    with serve_subprocess(
        "eco_served:app",
        server=server,  # type: ignore[arg-type]
        loop=loop,  # type: ignore[arg-type]
        cwd=str(HERE),
        env=env,
        args=args,
        new_session=True,
    ) as (base, process):
        assert httpx.get(f"{base}/state", timeout=10).json() == {
            "greeting": "hello from the lifespan"
        }
        with connect(base.replace("http", "ws", 1) + "/ws/lobby", open_timeout=10) as ws:
            ws.send("hi")
            assert ws.recv(timeout=10) == "lobby: hi"
            with httpx.stream("GET", f"{base}/events/news?hold=1", timeout=20) as response:
                lines = response.iter_lines()
                assert next(lines) == "id: 0"
                assert next(lines) == "data: news"

                if how == "SIGTERM-main":
                    process.send_signal(signal.SIGTERM)
                else:
                    os.killpg(process.pid, signal.SIGINT)

                # the body ends with its terminating chunk: httpx raises on a cut one
                rest: list[str] = list(lines)
            assert all(not line.startswith("data: news") for line in rest)
            closed = _close_frame(ws)
        assert closed.rcvd is not None, f"no close frame from the server: {closed!r}"
        assert closed.rcvd.code in (1000, 1001, 1012), closed.rcvd
        # 0, or killed by the very signal sent: uvicorn (since 0.29) re-raises the signal it
        # caught once it has shut down, as does an app-less default action
        sent = signal.SIGTERM if how == "SIGTERM-main" else signal.SIGINT
        assert process.wait(30) in (0, -sent), _output(process)


def _close_frame(ws: Any) -> ConnectionClosed:
    try:
        while True:
            ws.recv(timeout=20)
    except ConnectionClosed as exc:
        return exc


def _output(process: Any) -> str:
    return process.stdout.read().decode(errors="replace") if process.stdout else ""
