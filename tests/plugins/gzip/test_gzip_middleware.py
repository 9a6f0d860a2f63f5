"""GZipMiddleware as plain ASGI middleware."""

from __future__ import annotations

import gzip
import threading
import zlib
from typing import Any

import anyio
import pytest
from gzip_harness import body_app, request, request_async, stream_app
from lamina_gzip import GZipMiddleware

GZ = {"accept-encoding": "gzip, deflate"}
BIG = b"hello lamina " * 100  # 1300 bytes, compresses well


def test_compresses_a_large_body_with_correct_length_and_vary() -> None:
    r = request(GZipMiddleware(body_app(BIG)), headers=GZ)
    assert r.status == 200
    assert r.header("content-encoding") == "gzip"
    assert r.header("vary") == "Accept-Encoding"
    assert int(r.header("content-length")) == len(r.body) < len(BIG)
    assert gzip.decompress(r.body) == BIG
    assert r.header("content-type") == "text/plain"


def test_level_is_applied() -> None:
    fast = request(GZipMiddleware(body_app(BIG * 10), level=1), headers=GZ).body
    best = request(GZipMiddleware(body_app(BIG * 10), level=9), headers=GZ).body
    assert gzip.decompress(fast) == gzip.decompress(best) == BIG * 10
    assert fast != best


def test_no_compression_without_accept_encoding_or_with_q0() -> None:
    for headers in (
        {},
        {"accept-encoding": "gzip;q=0"},
        {"accept-encoding": "br"},
        {"accept-encoding": "*;q=0"},
    ):
        r = request(GZipMiddleware(body_app(BIG)), headers=headers)
        assert r.header("content-encoding") is None, headers
        assert r.body == BIG
        assert r.header("content-length") == str(len(BIG))


def test_wildcard_accept_encoding_allows_gzip() -> None:
    r = request(GZipMiddleware(body_app(BIG)), headers={"accept-encoding": "*"})
    assert r.header("content-encoding") == "gzip"


@pytest.mark.parametrize("length", [True, False])
def test_small_bodies_pass_untouched(length: bool) -> None:
    body = b"x" * 499
    app = body_app(body, length=length)
    r = request(GZipMiddleware(app), headers=GZ)
    assert r.body == body and r.header("content-encoding") is None
    assert r.header("vary") is None
    assert r.headers == app.headers  # type: ignore[attr-defined]


def test_minimum_size_boundary_and_setting() -> None:
    at = request(GZipMiddleware(body_app(b"a" * 500)), headers=GZ)
    assert at.header("content-encoding") == "gzip"
    custom = request(GZipMiddleware(body_app(BIG), minimum_size=5000), headers=GZ)
    assert custom.header("content-encoding") is None


@pytest.mark.parametrize(
    ("content_type", "extra", "status"),
    [
        ("text/plain", [(b"content-encoding", b"br")], 200),
        ("text/plain", [], 206),
        ("text/event-stream", [], 200),
        ("image/png", [], 200),
        ("video/mp4", [], 200),
        ("audio/ogg", [], 200),
        ("application/zip", [], 200),
        ("application/gzip", [], 200),
        ("font/woff2", [], 200),
        ("text/plain", [(b"cache-control", b"public, no-transform")], 200),
    ],
)
def test_passes_through_untouched(content_type: str, extra: list[Any], status: int) -> None:
    app = body_app(BIG, content_type=content_type, extra=extra, status=status)
    r = request(GZipMiddleware(app), headers=GZ)
    assert r.status == status
    assert r.body == BIG
    assert r.headers == app.headers  # type: ignore[attr-defined]


def test_svg_is_compressed_despite_image_family() -> None:
    r = request(GZipMiddleware(body_app(BIG, content_type="image/svg+xml")), headers=GZ)
    assert r.header("content-encoding") == "gzip"


def test_strong_etag_becomes_weak() -> None:
    app = body_app(BIG, extra=[(b"etag", b'"abc"')])
    r = request(GZipMiddleware(app), headers=GZ)
    assert r.header("etag") == 'W/"abc"'
    assert app.headers[1] == (b"etag", b'"abc"')  # type: ignore[attr-defined]


def test_head_with_declared_length_says_what_get_would() -> None:
    r = request(GZipMiddleware(body_app(BIG)), method="HEAD", headers=GZ)
    assert r.body == b""
    assert r.header("content-encoding") == "gzip"
    assert r.header("vary") == "Accept-Encoding"
    assert r.header("content-length") is None


def test_head_small_is_untouched() -> None:
    r = request(GZipMiddleware(body_app(b"tiny")), method="HEAD", headers=GZ)
    assert r.header("content-encoding") is None and r.header("content-length") == "4"


def test_streaming_is_compressed_incrementally_with_a_flush_per_chunk() -> None:
    chunks = [b"event %d " % i * 20 for i in range(5)]
    r = request(GZipMiddleware(stream_app(chunks)), headers=GZ)
    assert r.header("content-encoding") == "gzip"
    assert r.header("content-length") is None
    assert gzip.decompress(r.body) == b"".join(chunks)
    # Each chunk sent is decodable on its own, in order: it was flushed.
    decoder = zlib.decompressobj(31)
    for sent, original in zip(r.chunks[:5], chunks, strict=True):
        assert decoder.decompress(sent) == original


def test_streaming_chunk_reaches_client_before_the_next_is_produced() -> None:
    release = anyio.Event()
    received: list[bytes] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"text/plain")],
            }
        )
        await send({"type": "http.response.body", "body": b"first " * 10, "more_body": True})
        await release.wait()
        await send({"type": "http.response.body", "body": b"second", "more_body": False})

    decoder = zlib.decompressobj(31)

    async def on_message(message: Any) -> None:
        if message["type"] == "http.response.body" and message["body"]:
            received.append(decoder.decompress(message["body"]))
            release.set()

    async def main() -> None:
        with anyio.fail_after(5):
            await request_async(GZipMiddleware(app), headers=GZ, on_message=on_message)

    anyio.run(main)
    assert received[0] == b"first " * 10
    assert b"".join(received) == b"first " * 10 + b"second"


def test_large_bodies_are_compressed_off_the_event_loop() -> None:
    threads: set[str] = set()
    original = zlib.compress

    body = bytes(range(256)) * 2048  # 512 KiB
    loop_thread = threading.current_thread().name

    def spy(data: bytes, level: int, wbits: int) -> bytes:
        threads.add(threading.current_thread().name)
        return original(data, level, wbits)

    mp = pytest.MonkeyPatch()
    mp.setattr(zlib, "compress", spy)
    try:
        big = request(GZipMiddleware(body_app(body), thread_threshold=256 * 1024), headers=GZ)
        assert threads and loop_thread not in threads
        threads.clear()
        request(GZipMiddleware(body_app(BIG)), headers=GZ)
        assert threads == {loop_thread}
    finally:
        mp.undo()
    assert gzip.decompress(big.body) == body


def test_non_http_scopes_and_pathsend_pass_through() -> None:
    seen: list[Any] = []

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope["type"])

    anyio.run(GZipMiddleware(inner), {"type": "websocket", "headers": []}, None, None)
    assert seen == ["websocket"]

    async def pathsend_app(scope: Any, receive: Any, send: Any) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"text/plain")],
            }
        )
        await send({"type": "http.response.pathsend", "path": "/tmp/x"})

    r = request(GZipMiddleware(pathsend_app), headers=GZ)
    assert [m["type"] for m in r.messages] == ["http.response.start", "http.response.pathsend"]
    assert r.header("content-encoding") is None


def test_invalid_level_is_refused() -> None:
    with pytest.raises(ValueError, match="level"):
        GZipMiddleware(body_app(b""), level=10)


def test_large_streamed_chunks_are_compressed_off_the_event_loop() -> None:
    """Each streamed chunk of ``thread_threshold`` bytes or more is compressed in a worker
    thread; smaller chunks stay on the loop (a thread hop would cost more than it saves)."""
    import lamina_gzip._middleware as gzip_module

    loop_thread = threading.current_thread().name
    threads: list[tuple[int, str]] = []
    original = gzip_module._step

    def spy(compressor: Any, body: bytes, mode: int) -> bytes:
        threads.append((len(body), threading.current_thread().name))
        return original(compressor, body, mode)

    big = bytes(range(256)) * 512  # 128 KiB
    chunks = [big, b"small tail " * 10, big]
    mp = pytest.MonkeyPatch()
    mp.setattr(gzip_module, "_step", spy)
    try:
        r = request(GZipMiddleware(stream_app(chunks), thread_threshold=64 * 1024), headers=GZ)
    finally:
        mp.undo()
    assert gzip.decompress(r.body) == b"".join(chunks)
    # Both big chunks went through the worker-thread helper, off the loop thread.
    assert [size for size, _ in threads] == [len(big), len(big)]
    assert all(name != loop_thread for _, name in threads)


def test_the_apps_vary_is_kept_next_to_accept_encoding() -> None:
    app = body_app(BIG, extra=[(b"vary", b"Cookie")])
    r = request(GZipMiddleware(app), headers=GZ)
    assert r.header("content-encoding") == "gzip"
    assert r.header_list("vary") == ["Cookie", "Accept-Encoding"]


@pytest.mark.parametrize(
    "accept", ["identity", "gzip;q=0, identity", "identity;q=1, *;q=0", "GZIP;Q=0", "gzip;q=0.000"]
)
def test_identity_only_clients_get_the_body_as_is(accept: str) -> None:
    r = request(GZipMiddleware(body_app(BIG)), headers={"accept-encoding": accept})
    assert r.header("content-encoding") is None
    assert r.body == BIG and r.header("content-length") == str(len(BIG))


@pytest.mark.parametrize(
    ("declared", "held"),
    [
        (b"0", False),
        (b"99", False),
        (b"499", False),
        (b"0499", False),
        (b"500", True),
        (b"1000", True),
        (b"00500", True),
        (b"-1", True),
        (b"+49", False),
        (b"abc", False),
    ],
)
def test_declared_length_decides_at_the_start(declared: bytes, held: bool) -> None:
    """A declared Content-Length below the minimum lets the start through at once."""
    sent: list[dict[str, Any]] = []
    seen_before_body: list[bool] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-length", declared), (b"content-type", b"text/plain")],
            }
        )
        seen_before_body.append(bool(sent))
        await send({"type": "http.response.body", "body": b"x" * 600})

    async def send(message: Any) -> None:
        sent.append(message)

    async def receive() -> Any:
        return {"type": "http.request", "body": b"", "more_body": False}

    scope = {
        "type": "http",
        "method": "GET",
        "path": "/",
        "headers": [(b"accept-encoding", b"gzip")],
    }
    anyio.run(GZipMiddleware(app), scope, receive, send)
    assert seen_before_body == [not held]
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.body"]
    encoded = (b"content-encoding", b"gzip") in sent[0]["headers"]
    assert encoded == held  # a held start is decided by the real (600-byte) body


def test_content_type_decisions_stay_right_past_the_memo_limit() -> None:
    """Many distinct Content-Type values (more than the memo holds), each asked twice."""
    types = [f"image/x-{i}" if i % 2 else f"text/x-{i}" for i in range(300)]

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", scope["path"][1:].encode())],
            }
        )
        await send({"type": "http.response.body", "body": BIG})

    mw = GZipMiddleware(app)
    for _ in range(2):
        for media in types:
            r = request(mw, path="/" + media, headers=GZ)
            compressed = r.header("content-encoding") == "gzip"
            assert compressed == media.startswith("text/"), media
