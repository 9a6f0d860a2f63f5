"""Server-Sent Events at scale: 1,000 concurrent clients on loopback, Lamina beside sse-starlette.

Each server is its own uvicorn process (httptools, uvloop when installed, 1 worker) pinned to
CPU 0 on 127.0.0.1; the clients are one asyncio process (raw sockets, no HTTP library
overhead) pinned to CPU 1. The servers, measured one after the other in the same run:

* ``lamina``        — lamina-routing + lamina-sse, ``EventSourceResponse`` over an async
                      generator of ``ServerSentEvent`` (the plugin loaded, default settings);
* ``sse_starlette`` — Starlette + sse-starlette's ``EventSourceResponse`` over its
                      ``ServerSentEvent`` (``sep="\\n"``, so both put the same bytes on the wire);
* ``raw``           — a bare ASGI app writing the same bytes: the floor, with none of the
                      features (no disconnect watcher, no heartbeat, no shutdown handling).

Both real servers send ``id: <n>\\ndata: tick\\n\\n`` per event; heartbeats are off in both so
that only events are counted. Two phases per server, each with ``--clients`` connections:

1. *hold*: every stream sends one event per ``--hold-interval`` seconds for ``--hold`` seconds.
   Reported: the server's resident memory before the clients connected, with all of them
   connected, and the difference per connection; how many clients got events.
2. *flood*: every stream sends events back to back (its generator awaits ``sleep(0)``
   between events, as a producer that awaits something does; a generator that never awaits
   would let one stream starve the others), for ``--duration`` seconds. Reported: events/s
   received by all clients together, the server's CPU use, and its CPU time per 1,000
   events. On a shared 2-core machine events/s swings with the other tenants (and with the
   client process, which may be the bottleneck); CPU time per event is the steadier figure,
   and the last column compares it with sse-starlette (lower is better).

Everything is bounded: connection set-up, each phase and the whole run have deadlines, and the
servers are stopped by the PIDs this script started. The open-file limit is raised for this
process and the servers (``resource.setrlimit``).

    uv run python bench/sse_bench.py [--clients 1000] [--hold 3] [--duration 4] [--json out]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import signal
import socket
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from typing import Any

SERVERS = ("lamina", "sse_starlette", "raw")
EVENT_DATA = "tick"
#: Largest number of connections opened at once while setting up (keeps the backlog sane).
CONNECT_BATCH = 100
FD_HEADROOM = 200


# ------------------------------------------------------------------------------ the apps
def _params(scope: dict[str, Any]) -> tuple[float, int]:
    from urllib.parse import parse_qs

    query = parse_qs(scope.get("query_string", b"").decode())
    return float(query.get("interval", ["0"])[0]), int(query.get("count", ["1000000"])[0])


def make_app(name: str) -> Any:
    if name == "lamina":
        import anyio
        from lamina import Lamina, Request
        from lamina_routing import Route
        from lamina_sse import EventSourceResponse, ServerSentEvent

        async def sse(request: Request) -> EventSourceResponse:
            interval, count = _params(request.scope)

            async def events() -> Any:
                for n in range(1, count + 1):
                    yield ServerSentEvent(EVENT_DATA, id=n)
                    await anyio.sleep(interval)

            return EventSourceResponse(events())

        return Lamina(
            [Route("/sse", sse)],
            autoload=False,
            plugins=["routing", "sse"],
            settings={"sse": {"heartbeat_interval": 0}},
        )

    if name == "sse_starlette":
        import anyio
        from sse_starlette import EventSourceResponse, ServerSentEvent
        from starlette.applications import Starlette
        from starlette.requests import Request as StarletteRequest
        from starlette.routing import Route as StarletteRoute

        async def sse_view(request: StarletteRequest) -> EventSourceResponse:
            interval, count = _params(request.scope)

            async def events() -> Any:
                for n in range(1, count + 1):
                    yield ServerSentEvent(data=EVENT_DATA, id=str(n), sep="\n")
                    await anyio.sleep(interval)

            # ping=None would mean sse-starlette's default (15 s); an hour keeps it silent.
            return EventSourceResponse(events(), sep="\n", ping=3600)

        return Starlette(routes=[StarletteRoute("/sse", sse_view)])

    if name == "raw":
        import asyncio as aio

        headers = [
            (b"content-type", b"text/event-stream; charset=utf-8"),
            (b"cache-control", b"no-store"),
        ]

        async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
            if scope["type"] == "lifespan":
                while True:
                    message = await receive()
                    kind = message["type"].rsplit(".", 1)[-1]
                    await send({"type": f"lifespan.{kind}.complete"})
                    if kind == "shutdown":
                        return
            interval, count = _params(scope)
            gone = aio.Event()

            async def watch() -> None:
                while (await receive())["type"] != "http.disconnect":
                    pass
                gone.set()

            watcher = aio.ensure_future(watch())
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            for n in range(1, count + 1):
                if gone.is_set():
                    return
                body = f"id: {n}\ndata: {EVENT_DATA}\n\n".encode()
                await send({"type": "http.response.body", "body": body, "more_body": True})
                await aio.sleep(interval)
            watcher.cancel()
            await send({"type": "http.response.body", "body": b""})

        return app
    raise ValueError(name)


# ------------------------------------------------------------------------------ plumbing
def raise_fd_limit(wanted: int) -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def pin(cpu: int) -> None:
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > cpu:
        os.sched_setaffinity(0, {cpu})


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(name: str, port: int, clients: int) -> None:
    """Server mode (a child process): run one app under uvicorn."""
    raise_fd_limit(clients + FD_HEADROOM)
    pin(0)
    import uvicorn

    try:
        import uvloop  # noqa: F401

        loop = "uvloop"
    except ImportError:
        loop = "asyncio"
    uvicorn.run(
        make_app(name),
        host="127.0.0.1",
        port=port,
        loop=loop,
        http="httptools",
        log_level="warning",
        interface="asgi3",
        backlog=2048,
        lifespan="on",
        timeout_graceful_shutdown=2,
    )


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks  # utime + stime


# ------------------------------------------------------------------------------ clients
@dataclass
class Client:
    events: int = 0
    ok: bool = False
    error: str | None = None
    writer: asyncio.StreamWriter | None = field(default=None, repr=False)


async def run_client(
    port: int, query: str, client: Client, connected: asyncio.Event, stop: asyncio.Event
) -> None:
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError as exc:
        client.error = repr(exc)
        connected.set()
        return
    client.writer = writer
    writer.write(
        f"GET /sse?{query} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Accept: text/event-stream\r\n\r\n".encode()
    )
    try:
        head = await reader.readuntil(b"\r\n\r\n")
        client.ok = head.startswith(b"HTTP/1.1 200")
        connected.set()
        tail = b""
        reading = asyncio.ensure_future(reader.read(65536))
        stopping = asyncio.ensure_future(stop.wait())
        while True:
            done, _ = await asyncio.wait({reading, stopping}, return_when=asyncio.FIRST_COMPLETED)
            if stopping in done:
                reading.cancel()
                break
            chunk = reading.result()
            if not chunk:
                stopping.cancel()
                break
            # Events end with a blank line; count terminators across chunk boundaries.
            data = tail + chunk
            client.events += data.count(b"\n\n") - tail.count(b"\n\n")
            tail = data[-3:]
            reading = asyncio.ensure_future(reader.read(65536))
    except (OSError, asyncio.IncompleteReadError) as exc:
        client.error = repr(exc)
        connected.set()
    finally:
        writer.close()


async def phase(
    port: int, clients: int, query: str, seconds: float, on_connected: Any = None
) -> tuple[list[Client], float, int, float]:
    """Open ``clients`` streams, keep them ``seconds``, close them. Returns the clients,
    the measured window, the events received in it and the time it took to connect."""
    stop = asyncio.Event()
    states = [Client() for _ in range(clients)]
    tasks = []
    t0 = time.perf_counter()
    for start in range(0, clients, CONNECT_BATCH):
        batch = []
        for state in states[start : start + CONNECT_BATCH]:
            connected = asyncio.Event()
            tasks.append(asyncio.ensure_future(run_client(port, query, state, connected, stop)))
            batch.append(connected.wait())
        await asyncio.wait_for(asyncio.gather(*batch), 30)
    connect_time = time.perf_counter() - t0
    if on_connected is not None:
        await on_connected(states)
    base_events = sum(c.events for c in states)
    window_start = time.perf_counter()
    await asyncio.sleep(seconds)
    window = time.perf_counter() - window_start
    counted = sum(c.events for c in states) - base_events
    stop.set()
    t1 = time.perf_counter()
    await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 30)
    print(f"  closed in {time.perf_counter() - t1:.2f}s", file=sys.stderr)
    return states, window, counted, connect_time


@dataclass
class Result:
    server: str
    clients: int
    hold_connected: int = 0
    hold_with_events: int = 0
    rss_idle_kib: int = 0
    rss_held_kib: int = 0
    kib_per_connection: float = 0.0
    flood_connected: int = 0
    flood_events: int = 0
    flood_seconds: float = 0.0
    events_per_second: float = 0.0
    cpu_ms_per_1000_events: float = 0.0
    server_cpu_percent: float = 0.0
    connect_seconds: float = 0.0
    errors: list[str] = field(default_factory=list)


def wait_ready(port: int, proc: subprocess.Popen[bytes], deadline: float) -> None:
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"GET /sse?count=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                data = b""
                while chunk := s.recv(4096):
                    data += chunk
                if b"data: tick" in data:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError("server did not become ready")


def measure(name: str, args: argparse.Namespace) -> Result:
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            __file__,
            "--serve",
            name,
            "--port",
            str(port),
            "--clients",
            str(args.clients),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    result = Result(server=name, clients=args.clients)
    try:
        wait_ready(port, proc, time.monotonic() + 20)
        time.sleep(0.3)
        result.rss_idle_kib = rss_kib(proc.pid)

        async def held(states: list[Client]) -> None:
            # Let every stream deliver its first event, then read the server's memory.
            deadline = time.monotonic() + max(5.0, args.hold_interval * 3)
            while time.monotonic() < deadline and sum(c.events > 0 for c in states) < len(
                [c for c in states if c.ok]
            ):
                await asyncio.sleep(0.05)
            result.rss_held_kib = rss_kib(proc.pid)

        hold_query = f"interval={args.hold_interval}"
        states, _, _, connect_time = asyncio.run(
            phase(port, args.clients, hold_query, args.hold, on_connected=held)
        )
        result.connect_seconds = round(connect_time, 2)
        result.hold_connected = sum(c.ok for c in states)
        result.hold_with_events = sum(c.events > 0 for c in states)
        result.kib_per_connection = round(
            (result.rss_held_kib - result.rss_idle_kib) / max(result.hold_connected, 1), 2
        )
        result.errors += sorted({c.error for c in states if c.error})[:3]

        cpu_before: list[float] = []

        async def flood_started(states: list[Client]) -> None:
            cpu_before.append(cpu_seconds(proc.pid))

        states, window, counted, _ = asyncio.run(
            phase(port, args.clients, "interval=0", args.duration, on_connected=flood_started)
        )
        cpu_used = cpu_seconds(proc.pid) - cpu_before[0]
        result.flood_connected = sum(c.ok for c in states)
        result.flood_events = counted
        result.flood_seconds = round(window, 2)
        result.events_per_second = round(counted / window)
        result.cpu_ms_per_1000_events = round(cpu_used * 1000 / max(counted, 1) * 1000, 2)
        result.server_cpu_percent = round(cpu_used / window * 100, 1)
        result.errors += sorted({c.error for c in states if c.error})[:3]
    finally:
        t1 = time.perf_counter()
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        print(f"  server stopped in {time.perf_counter() - t1:.2f}s", file=sys.stderr)
        if proc.stderr is not None:
            err = proc.stderr.read().decode(errors="replace").strip()
            if err and proc.returncode not in (0, -signal.SIGINT):
                result.errors.append(err[-500:])
            proc.stderr.close()
    return result


def table(results: list[Result]) -> str:
    by = {r.server: r for r in results}
    base = by.get("sse_starlette")
    lines = [
        "| server | connected | got events | RSS idle MiB | RSS held MiB | KiB/conn "
        "| events/s (flood) | server CPU % | CPU ms / 1k events | CPU/event vs sse-starlette |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        ratio = (
            f"{r.cpu_ms_per_1000_events / base.cpu_ms_per_1000_events:.2f}x"
            if (base and base.cpu_ms_per_1000_events)
            else "-"
        )
        lines.append(
            f"| {r.server} | {r.hold_connected}/{r.clients} | {r.hold_with_events} "
            f"| {r.rss_idle_kib / 1024:.1f} | {r.rss_held_kib / 1024:.1f} "
            f"| {r.kib_per_connection:.1f} | {r.events_per_second:,} "
            f"| {r.server_cpu_percent:.0f} | {r.cpu_ms_per_1000_events:.1f} | {ratio} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--hold", type=float, default=3.0, help="seconds in the hold phase")
    parser.add_argument("--hold-interval", type=float, default=1.0)
    parser.add_argument("--duration", type=float, default=4.0, help="seconds of flood")
    parser.add_argument("--servers", default=",".join(SERVERS))
    parser.add_argument("--json", help="write the results here")
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.port, args.clients)
        return
    limit = raise_fd_limit(args.clients + FD_HEADROOM)
    if limit < args.clients + 50:
        sys.exit(f"open-file limit {limit} is too low for {args.clients} clients")
    pin(1)
    try:
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    except ImportError:
        pass
    results = []
    for name in args.servers.split(","):
        print(f"measuring {name} ...", file=sys.stderr, flush=True)
        results.append(measure(name, args))
    print(
        f"\n{args.clients} concurrent SSE clients on 127.0.0.1 "
        f"(hold: 1 event/{args.hold_interval}s for {args.hold}s; flood: {args.duration}s)\n"
    )
    print(table(results))
    for r in results:
        if r.errors:
            print(f"\n{r.server} errors: {r.errors}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump([asdict(r) for r in results], fh, indent=2)


if __name__ == "__main__":
    main()
