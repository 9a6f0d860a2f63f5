#!/usr/bin/env python
"""Over HTTP, in ONE run: the shared harness's peers under uvicorn, Lamina under uvicorn, and
Lamina under granian.

This is the shared harness's own driver (``http.py``: wrk pinned to CPU 1, servers pinned to
CPU 0, every scenario validated first, repeats interleaved A B C .. C B A, foreign-CPU guard,
medians), run unchanged, with two additions made from here rather than in the shared folder:

* the columns ``lamina`` (``bench/lamina_app.py``, under uvicorn by the harness's own
  ``serve.py``, exactly as the peers) and ``lamina_granian`` (``bench/lamina_granian_app.py``:
  the same app, started by ``bench/peers_serve.py`` as ``lamina serve --server granian``);
* a server's CPU time is counted over its process tree (granian serves from a worker
  process; the harness counted only the process it started, so the worker's time would show
  as another tenant's and every run would look contaminated).

Every server is one this script started (the harness stops them by PID: SIGTERM, then kill
after 10 s; ``lamina serve`` stops its granian worker). Run it with the bench venv, which has
the peers, Lamina (``pip install -e`` of this repository and its plugins) and granian::

    /tmp/benchvenv-new/bin/python bench/peers_http.py --duration 3 --repeats 3 \\
        --json /tmp/http.json

Other arguments go to the harness (``--frameworks``, ``--scenarios``, ``--connections``...).
The harness: ``$LAMINA_BENCH_HARNESS``, else ``../shared/bench`` beside the repository.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

HERE = Path(__file__).resolve().parent
COLUMNS = {"lamina": HERE / "lamina_app.py", "lamina_granian": HERE / "lamina_granian_app.py"}
PEERS = "raw_asgi,starlette,fastapi,litestar,blacksheep,falcon"


def harness_dir() -> Path:
    configured = os.environ.get("LAMINA_BENCH_HARNESS")
    folder = Path(configured) if configured else HERE.parent.parent / "shared" / "bench"
    if not (folder / "http.py").is_file():
        raise SystemExit(f"no shared harness at {folder}: set LAMINA_BENCH_HARNESS")
    return folder.resolve()


def load_driver(harness: Path) -> ModuleType:
    """The harness's ``http.py`` as a module (by path: its name is the stdlib's)."""
    spec = importlib.util.spec_from_file_location("shared_bench_http", harness / "http.py")
    assert spec is not None and spec.loader is not None
    driver = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(driver)
    for name in ("main", "_pid_seconds", "subprocess", "SERVER_CPU"):
        if not hasattr(driver, name):  # the shared driver changed: say so, do not guess
            raise SystemExit(f"{harness / 'http.py'} has no {name!r}; update bench/peers_http.py")
    return driver


def tree_seconds(pid: int) -> float:
    """CPU seconds (user + system) of ``pid`` and all its descendants."""
    total, pending = 0.0, [pid]
    ticks = os.sysconf("SC_CLK_TCK")
    while pending:
        current = pending.pop()
        try:
            with open(f"/proc/{current}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / ticks
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as children:
                    pending += [int(child) for child in children.read().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue  # ended between two reads
    return total


class Launcher:
    """``subprocess`` for the harness, except that a column declaring ``SERVER`` is started
    with ``peers_serve.py`` (``lamina serve --server SERVER``) instead of ``serve.py``."""

    def __init__(self, load: Any) -> None:
        self._load = load

    def __getattr__(self, name: str) -> Any:
        return getattr(subprocess, name)

    def Popen(self, command: list[str], **kwargs: Any) -> subprocess.Popen[Any]:
        if len(command) == 8 and Path(command[4]).name == "serve.py":
            taskset, cpu_flag, cpu, python, _serve, column, attr, port = command
            server = getattr(self._load(column), "SERVER", None)
            if server is not None:
                launcher = str(HERE / "peers_serve.py")
                command = [taskset, cpu_flag, cpu, python, launcher, server, column, attr, port]
        return subprocess.Popen(command, **kwargs)


def main(argv: list[str]) -> None:
    harness = harness_dir()
    os.environ["LAMINA_BENCH_HARNESS"] = str(harness)
    columns = ",".join(f"{name}={path}" for name, path in COLUMNS.items())
    extra = os.environ.get("BENCH_APPS")
    os.environ["BENCH_APPS"] = f"{extra},{columns}" if extra else columns
    # the column modules import lamina_app by name; the harness folder stays last
    sys.path = [p for p in sys.path if Path(p or ".").resolve() != HERE] + [str(HERE)]
    driver = load_driver(harness)
    driver.subprocess = Launcher(driver.load)
    driver._pid_seconds = tree_seconds
    if "--frameworks" not in argv:
        argv = ["--frameworks", f"{PEERS},{','.join(COLUMNS)}", *argv]
    sys.argv = [str(harness / "http.py"), *argv]
    driver.main()
    print(
        "\nlamina: bench/lamina_app.py under uvicorn, started like every peer (the harness's "
        "serve.py: httptools, uvloop, 1 worker). lamina_granian: the same app under "
        f"`lamina serve --server granian` (1 worker process, uvloop), pinned to CPU "
        f"{driver.SERVER_CPU} like the others; its CPU counted over the process tree."
    )


if __name__ == "__main__":
    main(sys.argv[1:])
