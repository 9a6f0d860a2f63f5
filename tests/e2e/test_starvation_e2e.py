"""Issue 15, point 1: a producer that never awaits cannot take a uvicorn worker down.

A child uvicorn (default settings) serves an endless stream from an async generator that
never awaits. While one client reads it, another client's requests are answered (each probe
has a 0.5 s timeout: the bound is 100 ms, asserted generously; before the fix a probe
waited 788 ms at p50). When the streaming client leaves, the generator is closed, the
worker goes idle, and SIGTERM stops it within 2 s (before the fix it spun at 100% CPU and
ignored SIGTERM).
"""

from __future__ import annotations

import signal
import socket
import subprocess
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests.helpers.servers import serve_subprocess
from tests.helpers.waiting import wait_until

HERE = Path(__file__).parent


def cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime, in clock ticks


class Reader:
    """A client that reads a stream as fast as it comes, from a raw socket in a thread."""

    def __init__(self, url: str, path: str) -> None:
        parts = urlsplit(url)
        self.sock = socket.create_connection((parts.hostname, parts.port), timeout=5)
        self.sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
        self.received = 0
        self.started = threading.Event()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                data = self.sock.recv(1 << 16)
            except OSError:
                return
            if not data:
                return
            self.received += len(data)
            if self.received > 1 << 20:
                self.started.set()

    def leave(self) -> None:
        self.stop.set()
        self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()
        self.thread.join(5)


@pytest.mark.parametrize(("path", "kind"), [("/endless", "stream"), ("/endless-sse", "sse")])
def test_a_never_awaiting_producer_does_not_starve_the_worker(path: str, kind: str) -> None:
    with serve_subprocess("starving_app:app", cwd=str(HERE)) as (url, process):
        reader = Reader(url, path)
        assert reader.started.wait(10), "the stream never started"
        with httpx.Client(base_url=url, timeout=0.5) as probe:
            for _ in range(20):  # each one answered within the probe's timeout
                assert probe.get("/plain").text == "ok"
                assert reader.thread.is_alive()  # the stream is still flowing meanwhile
        before = reader.received
        wait_until(lambda: reader.received > before, 5, "the stream to keep flowing")
        reader.leave()

        with httpx.Client(base_url=url, timeout=2) as client:
            wait_until(lambda: client.get("/closed").json()[kind] == 1, 5, "the producer closed")

        # idle: its CPU time stops growing (a spinning worker adds ticks every poll)
        last = [cpu_ticks(process.pid)]

        def settled() -> bool:
            time.sleep(0.3)
            now = cpu_ticks(process.pid)
            still, last[0] = now == last[0], now
            return still

        wait_until(settled, 10, "the worker to go idle")

        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            pytest.fail("the worker did not stop within 2 s of SIGTERM")
