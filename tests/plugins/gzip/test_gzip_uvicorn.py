"""Streaming compression over a real socket: each chunk reaches the client on its own."""

from __future__ import annotations

import threading

import anyio.to_thread
import httpx
from lamina import StreamingResponse
from lamina.testing import make_app
from lamina_routing import Route

from tests.helpers.servers import serve_uvicorn


def test_each_streamed_chunk_is_decodable_before_the_next_is_produced() -> None:
    go_on = threading.Event()

    async def produce():  # type: ignore[no-untyped-def]
        yield "first chunk " * 10
        # The client must decode the first chunk before the second exists.
        assert await anyio.to_thread.run_sync(go_on.wait, 5)
        yield "second chunk " * 10

    async def stream(request: object) -> StreamingResponse:
        return StreamingResponse(produce(), media_type="text/plain")

    app = make_app("routing", "gzip", routes=[Route("/stream", stream)])
    with (
        serve_uvicorn(app) as url,
        httpx.Client(base_url=url, timeout=5) as client,
        client.stream("GET", "/stream", headers={"accept-encoding": "gzip"}) as r,
    ):
        assert r.headers["content-encoding"] == "gzip"
        assert "content-length" not in r.headers
        chunks = r.iter_bytes()
        first = b""
        while len(first) < len("first chunk " * 10):
            first += next(chunks)
        assert first == b"first chunk " * 10
        go_on.set()
        assert b"".join(chunks) == b"second chunk " * 10
