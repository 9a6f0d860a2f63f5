"""Fan-out across workers through Redis: lamina-broadcast beside Starlette 1.10 +
encode/broadcaster 0.3.1 and Litestar 2.25 Channels, doing the same job in one run.

For each system, two uvicorn worker processes (one each, distinct loopback ports) serve
``bench/broadcast_apps.py``: ``GET /sse`` subscribes to the channel ``bench`` and writes each
message as one SSE ``data:`` event; ``POST /publish`` publishes the request body. One asyncio
client process holds ``--subscribers`` SSE connections (raw sockets, split evenly over the two
workers) and publishes through worker 1. Reported per system:

* **latency**: publish-to-receipt over ``--messages`` messages published ``--interval`` s
  apart (each carries the client's monotonic send time; the receipt time is taken when the
  client reads the line): p50, p99 and max over every (message, subscriber) pair, and how
  many of those pairs never arrived;
* **memory per subscriber**: the two workers' resident memory with every subscriber
  connected minus before any connected, divided by the subscribers;
* **recovery**: Redis is stopped and started again; from the moment it answers, a probe is
  published every 50 ms through worker 1 until every subscriber got one (or ``--recovery``
  seconds pass: then "none"). Subscribers are not reconnected: this measures the listener.

Redis is a fresh ``redis-server`` on a free loopback port (no persistence). Every wait is
bounded, every process is ours and stopped by its PID. Run from the repository root::

    uv run --group bench-broadcast python bench/broadcast_bench.py [--subscribers 1000]
        [--messages 50] [--interval 0.02] [--systems lamina-redis,...] [--json out.json]

On a shared 2-core machine absolute figures move with the other tenants; compare the rows of
one run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.helpers.redis import RedisServer, ping  # noqa: E402
from tests.helpers.workers import uvicorn_workers  # noqa: E402

SYSTEMS = [
    "lamina-redis",
    "lamina-redis+stream",
    "starlette-broadcaster",
    "litestar-channels",
    "litestar-channels-stream",
]
CONNECT_BATCH = 100


def rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))


class Subscriber:
    """One SSE connection; records when each tagged message arrived."""

    def __init__(self) -> None:
        self.got: dict[str, int] = {}  # tag -> monotonic_ns at receipt
        self.ready = asyncio.Event()
        self.task: asyncio.Task[None] | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def run(self, port: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        self.writer = writer
        writer.write(b"GET /sse HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n")
        await reader.readuntil(b"\r\n\r\n")
        while True:
            line = await reader.readline()
            if not line:
                return
            if line.startswith(b"retry:"):
                self.ready.set()
            elif line.startswith(b"data: "):
                now = time.monotonic_ns()
                tag = line[6:].strip().strip(b'"').decode()
                self.got.setdefault(tag, now)
                self.ready.set()

    def close(self) -> None:
        if self.task is not None:
            self.task.cancel()
        if self.writer is not None:
            self.writer.close()


async def post(port: int, body: str) -> bool:
    """POST /publish with a fresh connection; True on a 200."""
    try:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection("127.0.0.1", port), timeout=2
        )
    except (TimeoutError, OSError):
        return False
    try:
        data = body.encode()
        writer.write(
            b"POST /publish HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
            b"Content-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s" % (len(data), data)
        )
        status = await asyncio.wait_for(reader.readline(), timeout=5)
        return b" 200 " in status
    except (TimeoutError, OSError):
        return False
    finally:
        writer.close()


async def wait_until(check: Any, timeout: float, step: float = 0.01) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        await asyncio.sleep(step)
    return bool(check())


async def measure(system: str, redis: RedisServer, args: argparse.Namespace) -> dict[str, Any]:
    env = {"BENCH_SYSTEM": system, "REDIS_URL": redis.url(), "PYTHONPATH": str(ROOT)}
    row: dict[str, Any] = {"system": system}
    with uvicorn_workers("broadcast_apps:app", 2, cwd=ROOT / "bench", env=env) as workers:
        ports = [int(base.rsplit(":", 1)[1]) for base in workers.base]
        pids = [p.pid for p in workers.processes]
        before = sum(rss_kb(pid) for pid in pids)
        subscribers = [Subscriber() for _ in range(args.subscribers)]
        try:
            # One subscriber per worker alone first: broadcaster 0.3.1 loses subscribers
            # whose first subscription to a channel overlaps another's (the second replaces
            # the first's queue set); with the channel already subscribed it does not.
            for i, sub in enumerate(subscribers[:2]):
                sub.task = asyncio.create_task(sub.run(ports[i % 2]))
                await asyncio.wait_for(sub.ready.wait(), timeout=30)
            for start in range(2, len(subscribers), CONNECT_BATCH):
                batch = subscribers[start : start + CONNECT_BATCH]
                for i, sub in enumerate(batch, start):
                    sub.task = asyncio.create_task(sub.run(ports[i % 2]))
                await asyncio.wait_for(asyncio.gather(*(s.ready.wait() for s in batch)), timeout=30)
            # Every subscriber is listening once a warm-up message reached all of them.
            for n in range(200):
                await post(ports[0], f"warm{n}")
                if await wait_until(lambda n=n: all(f"warm{n}" in s.got for s in subscribers), 0.2):
                    break
            else:
                row["error"] = "warm-up never reached every subscriber"
                return row
            after = sum(rss_kb(pid) for pid in pids)
            row["kb_per_subscriber"] = round((after - before) / len(subscribers), 1)

            sent: dict[str, int] = {}
            for n in range(args.messages):
                tag = f"m{n}"
                sent[tag] = time.monotonic_ns()
                await post(ports[0], tag)
                await asyncio.sleep(args.interval)
            everything = lambda: all(t in s.got for s in subscribers for t in sent)  # noqa: E731
            await wait_until(everything, 10, 0.05)
            latencies = [
                (s.got[tag] - t) / 1e6
                for s in subscribers
                for tag, t in sent.items()
                if tag in s.got
            ]
            expected = len(sent) * len(subscribers)
            row["lost"] = expected - len(latencies)
            latencies.sort()
            row["p50_ms"] = round(statistics.median(latencies), 2)
            row["p99_ms"] = round(latencies[int(0.99 * (len(latencies) - 1))], 2)
            row["max_ms"] = round(latencies[-1], 2)

            redis.stop()
            redis.start()
            back = time.monotonic()
            assert ping(redis.port)
            recovered = None
            probe = 0
            while time.monotonic() - back < args.recovery:
                tag = f"r{probe}"
                probe += 1
                await post(ports[0], tag)
                if await wait_until(
                    lambda: all(any(k.startswith("r") for k in s.got) for s in subscribers), 0.05
                ):
                    recovered = time.monotonic() - back
                    break
            row["recovery_s"] = round(recovered, 2) if recovered is not None else None
            row["workers_alive"] = workers.alive()
        finally:
            for sub in subscribers:
                sub.close()
            await asyncio.gather(*(s.task for s in subscribers if s.task), return_exceptions=True)
    return row


def table(rows: list[dict[str, Any]], args: argparse.Namespace) -> str:
    lines = [
        f"{args.subscribers} SSE subscribers over 2 uvicorn workers, {args.messages} messages "
        f"{args.interval * 1000:.0f} ms apart, Redis {args.redis_version}",
        "",
        "| system | p50 ms | p99 ms | max ms | lost | KiB/subscriber | recovery after restart |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        if "error" in row:
            lines.append(f"| {row['system']} | {row['error']} | | | | | |")
            continue
        recovery = (
            f"{row['recovery_s']} s"
            if row["recovery_s"] is not None
            else f"none in {args.recovery:.0f} s"
        )
        lines.append(
            f"| {row['system']} | {row['p50_ms']} | {row['p99_ms']} | {row['max_ms']} | "
            f"{row['lost']} | {row['kb_per_subscriber']} | {recovery} |"
        )
    return "\n".join(lines)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--messages", type=int, default=50)
    parser.add_argument("--interval", type=float, default=0.02)
    parser.add_argument("--recovery", type=float, default=15.0)
    parser.add_argument("--systems", default=",".join(SYSTEMS))
    parser.add_argument("--json", metavar="PATH")
    args = parser.parse_args()
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 65536), hard))
    version = subprocess.run(["redis-server", "--version"], capture_output=True, text=True)
    args.redis_version = version.stdout.split()[2].removeprefix("v=")
    rows = []
    with tempfile.TemporaryDirectory() as directory:
        for system in args.systems.split(","):
            with RedisServer(Path(directory)) as redis:  # a fresh Redis per system
                print(f"measuring {system}...", file=sys.stderr, flush=True)
                rows.append(await asyncio.wait_for(measure(system, redis, args), timeout=300))
    print(table(rows, args))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
