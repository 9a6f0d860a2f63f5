"""Property tests: whatever the app streams, the client decodes exactly that."""

from __future__ import annotations

import gzip

from gzip_harness import body_app, request, stream_app
from hypothesis import given, settings
from hypothesis import strategies as st
from lamina_gzip import GZipMiddleware

GZ = {"accept-encoding": "gzip"}
chunks = st.lists(st.binary(max_size=2000), max_size=8)


@settings(max_examples=60, deadline=None)
@given(chunks, st.integers(min_value=0, max_value=3000))
def test_streamed_chunks_round_trip(parts: list[bytes], minimum: int) -> None:
    r = request(GZipMiddleware(stream_app(parts), minimum_size=minimum), headers=GZ)
    # Any message with more_body=True commits to streaming compression; with no chunks at
    # all the only message is a complete empty body, judged by size like any other.
    assert (r.header("content-encoding") == "gzip") == (bool(parts) or minimum == 0)
    body = gzip.decompress(r.body) if r.header("content-encoding") else r.body
    assert body == b"".join(parts)


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=5000), st.integers(min_value=0, max_value=3000), st.booleans())
def test_single_body_round_trip(body: bytes, minimum: int, declare_length: bool) -> None:
    r = request(
        GZipMiddleware(body_app(body, length=declare_length), minimum_size=minimum), headers=GZ
    )
    compressed = r.header("content-encoding") == "gzip"
    assert compressed == (len(body) >= minimum)
    assert (gzip.decompress(r.body) if compressed else r.body) == body
    length = r.header("content-length")
    if compressed or declare_length:
        assert length == str(len(r.body))


def test_headers_given_as_a_tuple_are_handled() -> None:
    async def app(scope, receive, send):  # type: ignore[no-untyped-def]
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": ((b"content-type", b"text/plain"),),
            }
        )
        await send({"type": "http.response.body", "body": b"z" * 1000})

    r = request(GZipMiddleware(app), headers=GZ)
    assert r.header("content-encoding") == "gzip" and r.header("content-type") == "text/plain"
