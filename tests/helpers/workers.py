"""Several real uvicorn worker processes of one app, each on its own loopback port.

What ``uvicorn --workers N`` does, but with a port per worker, so that a test chooses which
worker each client talks to. The processes start in parallel; each is ours and is stopped
by its PID.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import IO

from tests.helpers.servers import ServerStartupError, free_port
from tests.helpers.waiting import listening, wait_until

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


def _exited(process: subprocess.Popen[bytes], log: IO[bytes]) -> Callable[[], str | None]:
    def check() -> str | None:
        if process.poll() is None:
            return None
        log.seek(0)
        output = log.read().decode(errors="replace")[-3000:]
        return f"a worker exited with {process.returncode}: {output}"

    return check


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
        for process, port, log in zip(processes, ports, logs, strict=True):
            wait_until(
                partial(listening, port),
                timeout,
                f"worker {process.pid} to listen on {port}",
                gave_up=_exited(process, log),
                error=ServerStartupError,
            )
        yield Workers(processes, ports)
    finally:
        stop_processes(processes, timeout)
        for log in logs:
            log.close()
