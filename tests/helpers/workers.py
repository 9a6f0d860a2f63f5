"""Several real uvicorn worker processes of one app, each on its own loopback port.

What ``uvicorn --workers N`` does, but with a port per worker, so that a test chooses which
worker each client talks to. The processes start in parallel; each is ours and is stopped
by its PID.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from tests.helpers.servers import ServerStartupError, free_port

__all__ = ["Workers", "uvicorn_workers"]


class Workers:
    def __init__(self, processes: list[subprocess.Popen[bytes]], ports: list[int]) -> None:
        self.processes = processes
        self.base = [f"http://127.0.0.1:{port}" for port in ports]

    def alive(self) -> bool:
        return all(process.poll() is None for process in self.processes)


def _listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True
    except OSError:
        return False


@contextmanager
def uvicorn_workers(
    target: str,
    n: int,
    *,
    cwd: Path,
    env: Mapping[str, str] | None = None,
    timeout: float = 30.0,
) -> Iterator[Workers]:
    """``n`` uvicorn processes serving ``MODULE:APP`` (importable from ``cwd``)."""
    ports = [free_port() for _ in range(n)]
    command = [sys.executable, "-m", "uvicorn", target, "--host", "127.0.0.1"]
    processes = [
        subprocess.Popen(
            [*command, "--port", str(port), "--log-level", "warning"],
            cwd=cwd,
            env={**os.environ, **(env or {})},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for port in ports
    ]
    try:
        deadline = time.monotonic() + timeout
        for process, port in zip(processes, ports, strict=True):
            while not _listening(port):
                if process.poll() is not None:
                    raise ServerStartupError(f"a worker exited with {process.returncode}")
                if time.monotonic() > deadline:
                    raise ServerStartupError(f"a worker did not listen within {timeout}s")
                time.sleep(0.05)
        yield Workers(processes, ports)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout)
