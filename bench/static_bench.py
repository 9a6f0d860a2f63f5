"""Static files over HTTP: Lamina's StaticFiles beside Starlette's, in the same run.

Serves a 4 KiB and a 1 MiB file from one temporary directory with three servers, each a
uvicorn process (httptools, uvloop, 1 worker) pinned to CPU 0 on 127.0.0.1:

* ``lamina``    — a Lamina app with lamina-routing + lamina-staticfiles configured from settings
                  (``{"staticfiles": {"directories": [...]}}``), the way a user would;
* ``starlette`` — Starlette with ``Mount("/static", StaticFiles(directory=...))``;
* ``raw``       — a bare ASGI app that reads the file synchronously on the event loop (an upper
                  bound, not a fair competitor: it blocks the loop).

Load comes from ``wrk -t1`` pinned to CPU 1 (``apt-get install -y wrk``); without wrk, a
bounded httpx loop is used instead. Each repeat measures every server back to back (order
reversed on odd repeats) and the median requests/s is reported with the Lamina/Starlette ratio.

    uv run python bench/static_bench.py [--duration 4] [--repeats 3] [--connections 32]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

SMALL = 4 * 1024
LARGE = 1024 * 1024
SERVERS = ("lamina", "starlette", "raw")


# ------------------------------------------------------------------------------ the apps
def make_app(name: str, directory: str) -> Any:
    if name == "lamina":
        from lamina import Lamina

        return Lamina(
            autoload=False,
            plugins=["routing", "staticfiles"],
            settings={"staticfiles": {"directories": [directory]}},
        )
    if name == "starlette":
        from starlette.applications import Starlette
        from starlette.routing import Mount
        from starlette.staticfiles import StaticFiles

        return Starlette(routes=[Mount("/static", app=StaticFiles(directory=directory))])
    if name == "raw":
        files = {f"/static/{p.name}": str(p) for p in Path(directory).iterdir()}

        async def raw(scope, receive, send):  # type: ignore[no-untyped-def]
            if scope["type"] == "lifespan":
                while True:
                    message = await receive()
                    if message["type"] == "lifespan.startup":
                        await send({"type": "lifespan.startup.complete"})
                    else:
                        await send({"type": "lifespan.shutdown.complete"})
                        return
            path = files.get(scope["path"])
            if path is None:
                await send({"type": "http.response.start", "status": 404, "headers": []})
                await send({"type": "http.response.body", "body": b""})
                return
            with open(path, "rb") as f:
                data = f.read()
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [
                        (b"content-type", b"text/plain"),
                        (b"content-length", str(len(data)).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": data})

        return raw
    raise ValueError(name)


def serve(name: str, directory: str, sock_fd: int) -> None:
    import uvicorn

    sock = socket.socket(fileno=sock_fd)
    config = uvicorn.Config(
        make_app(name, directory),
        loop="uvloop",
        http="httptools",
        log_level="warning",
        access_log=False,
        lifespan="on",
    )
    uvicorn.Server(config).run(sockets=[sock])


# ------------------------------------------------------------------------------ driver
def start_servers(directory: str, servers: dict[str, tuple[subprocess.Popen[bytes], int]]) -> None:
    """Start every server (filling ``servers`` as it goes, so the caller can stop them)."""
    for name in SERVERS:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        sock.listen(1024)
        port = sock.getsockname()[1]
        sock.set_inheritable(True)
        cmd = [
            sys.executable,
            __file__,
            "--serve",
            name,
            "--dir",
            directory,
            "--fd",
            str(sock.fileno()),
        ]
        if shutil.which("taskset"):
            cmd = ["taskset", "-c", "0", *cmd]
        proc = subprocess.Popen(cmd, pass_fds=(sock.fileno(),))
        sock.close()
        servers[name] = (proc, port)
    for name, (proc, port) in servers.items():
        wait_ready(name, proc, port)


def wait_ready(name: str, proc: subprocess.Popen[bytes], port: int) -> None:
    import httpx

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} server exited with {proc.returncode}")
        try:
            r = httpx.get(f"http://127.0.0.1:{port}/static/small.txt", timeout=2)
            if r.status_code == 200 and len(r.content) == SMALL:
                r = httpx.get(f"http://127.0.0.1:{port}/static/large.bin", timeout=5)
                assert r.status_code == 200 and len(r.content) == LARGE, (name, r.status_code)
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{name} did not come up")


def stop_servers(servers: dict[str, tuple[subprocess.Popen[bytes], int]]) -> None:
    for proc, _port in servers.values():
        proc.send_signal(signal.SIGTERM)
    for proc, _port in servers.values():
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def run_wrk(url: str, duration: float, connections: int) -> float:
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(duration))}s", url]
    warm = ["wrk", "-t1", f"-c{connections}", "-d1s", url]
    if shutil.which("taskset"):
        cmd = ["taskset", "-c", "1", *cmd]
        warm = ["taskset", "-c", "1", *warm]
    subprocess.run(warm, capture_output=True, check=True, timeout=30)
    out = subprocess.run(
        cmd, capture_output=True, text=True, check=True, timeout=duration + 30
    ).stdout
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise RuntimeError(f"wrk saw {errors.group(1)} error responses from {url}")
    assert match, out
    return float(match.group(1))


def run_httpx(url: str, duration: float, connections: int) -> float:
    """Fallback load generator: bounded in time and in requests."""
    import anyio
    import httpx

    count = 0
    limit = 200_000

    async def main() -> None:
        nonlocal count
        deadline = time.monotonic() + duration
        async with httpx.AsyncClient(limits=httpx.Limits(max_connections=connections)) as c:

            async def worker() -> None:
                nonlocal count
                while time.monotonic() < deadline and count < limit:
                    r = await c.get(url)
                    assert r.status_code == 200
                    count += 1

            async with anyio.create_task_group() as tg:
                for _ in range(connections):
                    tg.start_soon(worker)

    start = time.monotonic()
    anyio.run(main)
    return count / (time.monotonic() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=4.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--serve")
    parser.add_argument("--dir")
    parser.add_argument("--fd", type=int)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.dir, args.fd)
        return

    load = run_wrk if shutil.which("wrk") else run_httpx
    with tempfile.TemporaryDirectory(prefix="lamina-static-bench-") as directory:
        Path(directory, "small.txt").write_bytes((b"0123456789abcdef" * 256)[:SMALL])
        Path(directory, "large.bin").write_bytes(os.urandom(LARGE))
        servers: dict[str, tuple[subprocess.Popen[bytes], int]] = {}
        results: dict[tuple[str, str], list[float]] = {}
        try:
            start_servers(directory, servers)
            for label, filename in (("4 KiB", "small.txt"), ("1 MiB", "large.bin")):
                for repeat in range(args.repeats):
                    order = SERVERS if repeat % 2 == 0 else tuple(reversed(SERVERS))
                    for name in order:
                        port = servers[name][1]
                        rps = load(
                            f"http://127.0.0.1:{port}/static/{filename}",
                            args.duration,
                            args.connections,
                        )
                        results.setdefault((label, name), []).append(rps)
        finally:
            stop_servers(servers)

    print(
        f"\nstatic files over HTTP (uvicorn+httptools+uvloop on CPU 0, "
        f"{'wrk -t1' if load is run_wrk else 'httpx loop'} -c{args.connections} on CPU 1, "
        f"{args.duration:g}s x {args.repeats}, median req/s)"
    )
    print(f"{'file':<8}{'lamina':>12}{'starlette':>12}{'raw':>12}{'lamina/starlette':>19}")
    for label in ("4 KiB", "1 MiB"):
        med = {n: statistics.median(results[(label, n)]) for n in SERVERS}
        print(
            f"{label:<8}{med['lamina']:>12.0f}{med['starlette']:>12.0f}{med['raw']:>12.0f}"
            f"{med['lamina'] / med['starlette']:>18.2f}x"
        )


if __name__ == "__main__":
    main()
