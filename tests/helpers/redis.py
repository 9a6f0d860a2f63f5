"""A real ``redis-server`` on a free loopback port, for the broadcast and session tests.

``ensure_redis_server`` installs Debian's ``redis-server`` with apt-get when it is missing
(as ``.ci/run`` does), so ``uv run pytest`` works on a fresh Debian machine. Each
:class:`RedisServer` is a child process we started, stopped by its PID; ``restart`` brings
it back on the same port (with its data when ``appendonly`` is on).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from functools import partial
from pathlib import Path

from tests.helpers.debian import apt_install
from tests.helpers.servers import free_port
from tests.helpers.waiting import process_exited, wait_until
from tests.helpers.workers import stop_processes

REDIS_SERVER = "/usr/bin/redis-server"
START_TIMEOUT = 10.0


def ensure_redis_server() -> str:
    """Return redis-server's path, installing Debian's package first if it is missing."""
    found = shutil.which("redis-server") or (REDIS_SERVER if os.path.exists(REDIS_SERVER) else None)
    if found:
        return found
    apt_install("redis-server", "the broadcast and session tests")
    return shutil.which("redis-server") or REDIS_SERVER


def ping(port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


class RedisServer:
    """``redis-server`` bound to 127.0.0.1 on a free port, data in ``directory``."""

    def __init__(self, directory: Path, *, appendonly: bool = False) -> None:
        self.binary = ensure_redis_server()
        self.directory = directory
        self.appendonly = appendonly
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def url(self, scheme: str = "redis", db: int = 0) -> str:
        return f"{scheme}://127.0.0.1:{self.port}/{db}"

    def start(self) -> None:
        assert self.process is None, "already running"
        command = [
            self.binary,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "yes" if self.appendonly else "no",
            "--appendfsync",
            "always",
            "--dir",
            str(self.directory),
            "--daemonize",
            "no",
            "--maxclients",
            "4096",
        ]
        self.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
        )
        try:
            wait_until(
                partial(ping, self.port),
                START_TIMEOUT,
                "redis-server to answer PING",
                gave_up=process_exited(self.process),
                error=RuntimeError,
            )
        except RuntimeError:
            self.stop()
            raise

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is not None:
            stop_processes([process], START_TIMEOUT)

    def restart(self) -> None:
        self.stop()
        self.start()

    def __enter__(self) -> RedisServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
