"""Run an ASGI app under a real server on 127.0.0.1, in a background thread.

::

    from tests.helpers.servers import serve

    with serve(app) as base_url:                    # uvicorn, asyncio
        httpx.get(base_url + "/")
    with serve(app, server="hypercorn", loop="trio") as base_url:
        ...

The listening socket is bound to port 0 before the server starts (no port races) and the
context waits until the app finished its lifespan startup. A startup failure raises
:class:`ServerStartupError` with the app's message. On exit the server shuts down gracefully
(lifespan shutdown runs) and the thread is joined, bounded by ``timeout``.

If the server itself dies while a test runs, its listening socket is shut at once (clients
get "connection refused" instead of waiting on a backlog nobody accepts from) and leaving
the context raises :class:`ServerCrashedError` with the server's exception: a crash is
never silent, and it fails the test that caused it rather than the ones after it.

hypercorn's trio worker (0.18) has a race that kills the whole server: see
:func:`_patch_hypercorn_trio`, which the trio server applies.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from functools import partial
from typing import Any, Literal

from tests.helpers.waiting import listening, process_exited, wait_until

__all__ = [
    "ServerCrashedError",
    "ServerStartupError",
    "ServerURL",
    "child_process",
    "free_port",
    "serve",
    "serve_hypercorn",
    "serve_subprocess",
    "serve_uvicorn",
]

Server = Literal["uvicorn", "hypercorn"]
Loop = Literal["asyncio", "trio"]


class ServerStartupError(RuntimeError):
    """The app reported ``lifespan.startup.failed`` or the server did not come up in time."""


class ServerCrashedError(RuntimeError):
    """The server thread died with an exception after it had started (see ``__cause__``)."""


class ServerURL(str):
    """The base URL :func:`serve` yields (a plain ``str`` to use), which also knows whether
    the server has died since: for a fixture that shares one server between tests and must
    not let one crash fail all the tests after it."""

    _errors: list[BaseException]

    def __new__(cls, url: str, errors: list[BaseException]) -> ServerURL:
        self = super().__new__(cls, url)
        self._errors = errors
        return self

    @property
    def crash(self) -> BaseException | None:
        """The exception the server thread died of, or ``None`` while it runs."""
        return self._errors[0] if self._errors else None

    def check(self) -> None:
        """Raise :class:`ServerCrashedError` if the server has died."""
        if self._errors:
            raise ServerCrashedError(
                f"the test server crashed: {self._errors[0]!r}"
            ) from self._errors[0]


def free_port() -> int:
    """A port that was free a moment ago (prefer :func:`serve`, which holds the socket)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _listening_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


class _StartupWatch:
    """Wraps the app to learn when its lifespan startup finished (or failed)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.ready = threading.Event()
        self.failure: str | None = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return

        async def watched_send(message: Any) -> None:
            if message["type"] == "lifespan.startup.failed":
                self.failure = message.get("message", "")
            if message["type"] in ("lifespan.startup.complete", "lifespan.startup.failed"):
                self.ready.set()
            await send(message)

        try:
            await self.app(scope, receive, watched_send)
        finally:
            # An app without lifespan support raises here; the server carries on anyway.
            self.ready.set()


@contextmanager
def _run_thread(
    target: Any, watch: _StartupWatch, stop: Any, timeout: float, sock: socket.socket
) -> Iterator[list[BaseException]]:
    errors: list[BaseException] = []

    def run() -> None:
        try:
            target()
        except BaseException as exc:  # reported to the test thread below
            errors.append(exc)
            # Nobody accepts any more: refuse new connections now rather than let clients
            # sit in the backlog until their own timeouts.
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            watch.ready.set()

    started = False
    thread = threading.Thread(target=run, name="lamina-test-server", daemon=True)
    thread.start()
    try:
        if not watch.ready.wait(timeout):
            raise ServerStartupError(f"server did not start within {timeout}s")
        if watch.failure is not None:  # uvicorn may also SystemExit(3) after this
            raise ServerStartupError(f"lifespan startup failed: {watch.failure}")
        if errors:
            raise ServerStartupError(f"server crashed: {errors[0]!r}") from errors[0]
        started = True
        yield errors
    finally:
        stop()
        thread.join(timeout)
        if thread.is_alive():  # pragma: no cover - a hang is a bug worth a loud failure
            raise RuntimeError("the test server did not stop in time")
        if started and errors:
            # Also while the test's own failure propagates (it becomes __context__): the
            # crash is the cause, a refused or timed-out client only its symptom.
            raise ServerCrashedError(f"the test server crashed: {errors[0]!r}") from errors[0]


@contextmanager
def serve_uvicorn(app: Any, *, timeout: float = 10.0, **config: Any) -> Iterator[ServerURL]:
    """uvicorn (asyncio only) on 127.0.0.1; ``config`` goes to ``uvicorn.Config``."""
    import uvicorn

    watch = _StartupWatch(app)
    sock = _listening_socket()
    port = sock.getsockname()[1]
    config.setdefault("log_level", "warning")
    config.setdefault("lifespan", "auto")
    server = uvicorn.Server(uvicorn.Config(watch, host="127.0.0.1", port=port, **config))

    def stop() -> None:
        server.should_exit = True

    try:
        with _run_thread(lambda: server.run(sockets=[sock]), watch, stop, timeout, sock) as errors:
            yield ServerURL(f"http://127.0.0.1:{port}", errors)
    finally:
        sock.close()


def _patch_hypercorn_trio() -> None:
    """Work around a hypercorn 0.18 trio-worker race that takes the whole server down.

    Per connection, hypercorn's trio ``TCPServer`` serialises ``send_all`` calls with a lock
    but closes with ``stream.send_eof()`` outside it, and trio's ``send_eof`` holds the
    stream's send-conflict detector across a checkpoint. When a WebSocket app closes and
    returns (its task closes the connection) while the reader task answers the client's own
    close frame, that ``send_all`` raises ``trio.BusyResourceError``; nothing catches it, so
    it escapes ``trio.serve_listeners`` and ends ``hypercorn.trio.serve`` for every client.
    Under load the window is wide: the e2e suite lost its server mid-module and every later
    test timed out. A bare ASGI app (accept, send, close) does it within a few connections.

    The subclass shuts the write side synchronously (no checkpoint, so no window) and then
    closes as upstream does. Installed process-wide, once; it only affects the trio worker.
    """
    import hypercorn.trio.run as trio_run
    from hypercorn.trio.tcp_server import TCPServer

    if getattr(trio_run.TCPServer, "_lamina_send_eof_fix", False):
        return

    class _TCPServer(TCPServer):
        _lamina_send_eof_fix = True

        async def _close(self) -> None:
            raw = getattr(self.stream, "socket", None)  # None for TLS streams
            if raw is not None and not raw.did_shutdown_SHUT_WR:
                with suppress(OSError):
                    raw.shutdown(socket.SHUT_WR)
            await self.stream.aclose()

    trio_run.TCPServer = _TCPServer  # type: ignore[misc]


@contextmanager
def serve_hypercorn(
    app: Any, *, loop: Loop = "asyncio", timeout: float = 10.0, **config: Any
) -> Iterator[ServerURL]:
    """hypercorn on 127.0.0.1 with the asyncio or the trio worker."""
    from hypercorn.config import Config

    watch = _StartupWatch(app)
    sock = _listening_socket()
    port = sock.getsockname()[1]
    cfg = Config()
    # hypercorn takes ownership of (and closes) the descriptor it is given: hand it a copy.
    cfg.bind = [f"fd://{os.dup(sock.fileno())}"]
    cfg.loglevel = "WARNING"
    cfg.graceful_timeout = 2.0
    for key, value in config.items():
        setattr(cfg, key, value)

    if loop == "trio":
        import trio
        from hypercorn.trio import serve as trio_serve

        _patch_hypercorn_trio()
        token: list[Any] = []

        async def trio_main() -> None:
            stopped = trio.Event()
            token.append((trio.lowlevel.current_trio_token(), stopped))

            async def shutdown_trigger() -> None:
                await stopped.wait()

            await trio_serve(watch, cfg, shutdown_trigger=shutdown_trigger)

        def run() -> None:
            trio.run(trio_main)

        def stop() -> None:
            if token:
                trio_token, stopped = token[0]
                with suppress(trio.RunFinishedError):
                    trio_token.run_sync_soon(stopped.set)

    else:
        import asyncio

        from hypercorn.asyncio import serve as asyncio_serve

        holder: list[Any] = []

        async def asyncio_main() -> None:
            stopped = asyncio.Event()
            holder.append((asyncio.get_running_loop(), stopped))
            await asyncio_serve(watch, cfg, shutdown_trigger=stopped.wait)

        def run() -> None:
            asyncio.run(asyncio_main())

        def stop() -> None:
            if holder:
                event_loop, stopped = holder[0]
                with suppress(RuntimeError):
                    event_loop.call_soon_threadsafe(stopped.set)

    try:
        with _run_thread(run, watch, stop, timeout, sock) as errors:
            yield ServerURL(f"http://127.0.0.1:{port}", errors)
    finally:
        sock.close()


@contextmanager
def serve(
    app: Any, *, server: Server = "uvicorn", loop: Loop = "asyncio", **options: Any
) -> Iterator[ServerURL]:
    """Serve ``app`` and yield its base URL (``http://127.0.0.1:PORT``), a :class:`ServerURL`."""
    if server == "uvicorn":
        if loop != "asyncio":
            raise ValueError("uvicorn runs on asyncio only; use server='hypercorn' for trio")
        with serve_uvicorn(app, **options) as url:
            yield url
    elif server == "hypercorn":
        with serve_hypercorn(app, loop=loop, **options) as url:
            yield url
    else:
        raise ValueError(f"unknown server {server!r}")


class Child:
    """A child process we started: ``process``, and its ``output`` once it has stopped."""

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        self.process = process
        self.output = ""


@contextmanager
def child_process(
    cmd: list[str],
    *,
    cwd: str | os.PathLike[str] | None = None,
    env: dict[str, str] | None = None,
    group: bool = False,
    timeout: float = 10.0,
) -> Iterator[Child]:
    """Run ``cmd`` (in ``env``, the whole environment, ``os.environ`` by default) with its
    output piped; on exit stop it and collect that output.

    It is stopped by its PID: SIGTERM, then SIGKILL if it lingers past ``timeout``. With
    ``group`` it runs in a process group of its own (a supervisor and its workers, a
    reloader and its child) and the signals go to that group, which is ours alone.
    """
    process = subprocess.Popen(
        cmd,
        cwd=cwd,
        env={**(os.environ if env is None else env), "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=group,
    )
    child = Child(process)

    def signal_it(signum: int) -> None:
        with suppress(ProcessLookupError):  # it may have exited (and its group with it)
            if group:
                os.killpg(process.pid, signum)
            else:
                process.send_signal(signum)

    try:
        yield child
    finally:
        signal_it(signal.SIGTERM)
        try:
            output, _ = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:  # pragma: no cover - a stuck child
            signal_it(signal.SIGKILL)
            output, _ = process.communicate(timeout=timeout)
        child.output = output.decode(errors="replace") if output else ""


@contextmanager
def serve_subprocess(
    target: str,
    *,
    server: Server | Literal["granian"] = "uvicorn",
    loop: Loop = "asyncio",
    cwd: str | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 20.0,
    args: tuple[str, ...] = (),
    new_session: bool = False,
) -> Iterator[tuple[str, Any]]:
    """Serve ``MODULE:APP`` in a child process; yield ``(base_url, popen)``.

    For what a thread cannot give: the server's own memory (``popen.pid``), signals, a
    crash that must not take the test process down. Readiness is a TCP connect; the process
    is terminated (then killed) on exit. ``args`` go to the server's command line (say
    ``("--workers", "2")``); ``new_session`` puts the server and its workers in a process
    group of their own, so a test can signal the group as a terminal's Ctrl+C does.
    """
    port = free_port()
    if server == "uvicorn" and loop != "asyncio":
        raise ValueError("uvicorn runs on asyncio only; use server='hypercorn' for trio")
    # each server's own spelling of "this app, on 127.0.0.1:port, quietly"
    server_args = {
        "granian": ["--interface", "asgi", "--host", "127.0.0.1", "--port", str(port), target],
        "uvicorn": [target, "--host", "127.0.0.1", "--port", str(port)],
        "hypercorn": [target, "--bind", f"127.0.0.1:{port}", "--worker-class", loop],
    }[server]
    quiet = ["--log-level", "WARNING" if server == "hypercorn" else "warning"]
    cmd = [sys.executable, "-m", server, *server_args, *quiet]
    with child_process(
        [*cmd, *args],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        group=new_session,
        timeout=timeout,
    ) as child:
        wait_until(
            partial(listening, port),
            timeout,
            f"{server} to listen",
            gave_up=process_exited(child.process),
            error=ServerStartupError,
        )
        yield f"http://127.0.0.1:{port}", child.process
