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
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from tests.helpers.servers import ServerStartupError, free_port

__all__ = ["Workers", "stop_processes", "uvicorn_workers"]


def stop_processes(processes: list[subprocess.Popen[bytes]], timeout: float = 10.0) -> None:
    """Terminate processes we started (by PID), all at once; kill those that linger."""
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout)


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
    # Files, not pipes: a full pipe would block a worker. Closed in the finally below.
    logs = [tempfile.TemporaryFile() for _ in ports]  # noqa: SIM115
    processes = [
        subprocess.Popen(
            [*command, "--port", str(port), "--log-level", "warning"],
            cwd=cwd,
            env={**os.environ, **(env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        for port, log in zip(ports, logs, strict=True)
    ]
    try:
        deadline = time.monotonic() + timeout
        for process, port in zip(processes, ports, strict=True):
            while not _listening(port):
                if process.poll() is not None:
                    log = logs[processes.index(process)]
                    log.seek(0)
                    output = log.read().decode(errors="replace")[-3000:]
                    raise ServerStartupError(f"a worker exited with {process.returncode}: {output}")
                if time.monotonic() > deadline:
                    raise ServerStartupError(f"a worker did not listen within {timeout}s")
                time.sleep(0.05)
        yield Workers(processes, ports)
    finally:
        stop_processes(processes, timeout)
        for log in logs:
            log.close()
