"""FileResponse: validators, conditional requests, ranges, HEAD, streaming, disposition."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from email.utils import formatdate
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lamina import FileResponse
from lamina._fileio import FileSnapshot, open_snapshot
from lamina._files import content_disposition

CONTENT = bytes(range(256)) * 40  # 10240 bytes, every offset recognisable


class Result:
    def __init__(self, messages: list[dict[str, Any]]) -> None:
        start = messages[0]
        assert start["type"] == "http.response.start"
        self.status: int = start["status"]
        self.raw_headers: list[tuple[bytes, bytes]] = start["headers"]
        self.headers = {k.decode(): v.decode() for k, v in start["headers"]}
        bodies = messages[1:]
        assert bodies, "no body message"
        assert all(m["type"] == "http.response.body" for m in bodies)
        assert all(m.get("more_body", False) for m in bodies[:-1])
        assert not bodies[-1].get("more_body", False)
        self.body = b"".join(m.get("body", b"") for m in bodies)
        self.messages = bodies


def call(
    make: Callable[[], Any],
    method: str = "GET",
    headers: Iterable[tuple[str, str]] = (),
    backend: str = "asyncio",
) -> Result:
    messages: list[dict[str, Any]] = []
    scope = {
        "type": "http",
        "method": method,
        "path": "/",
        "headers": [(k.lower().encode(), v.encode("latin-1")) for k, v in headers],
    }

    async def main() -> None:
        done = anyio.Event()

        async def receive() -> dict[str, Any]:
            await done.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            messages.append(message)

        await make()(scope, receive, send)
        done.set()

    anyio.run(main, backend=backend)
    return Result(messages)


@pytest.fixture
def datafile(tmp_path: Path) -> Path:
    path = tmp_path / "data.bin"
    path.write_bytes(CONTENT)
    return path


def test_plain_get_sends_validators(datafile: Path) -> None:
    r = call(lambda: FileResponse(datafile))
    st_ = datafile.stat()
    assert r.status == 200
    assert r.body == CONTENT
    assert r.headers["content-length"] == str(len(CONTENT))
    assert r.headers["accept-ranges"] == "bytes"
    assert r.headers["last-modified"] == formatdate(st_.st_mtime, usegmt=True)
    assert re.fullmatch(r'"[0-9a-f]+-[0-9a-f]+"', r.headers["etag"])
    assert r.headers["content-type"] == "application/octet-stream"
    assert len(r.messages) == 1  # a small file goes out in one message


def test_media_type_guess_and_charset(tmp_path: Path) -> None:
    page = tmp_path / "page.html"
    page.write_text("<p>hi</p>")
    r = call(lambda: FileResponse(page))
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    r = call(lambda: FileResponse(page, media_type="image/png"))
    assert r.headers["content-type"] == "image/png"


def test_head_sends_headers_only(datafile: Path) -> None:
    r = call(lambda: FileResponse(datafile), method="HEAD")
    assert r.status == 200
    assert r.body == b""
    assert r.headers["content-length"] == str(len(CONTENT))
    assert "etag" in r.headers


def test_head_ignores_range(datafile: Path) -> None:
    r = call(lambda: FileResponse(datafile), method="HEAD", headers=[("range", "bytes=0-9")])
    assert r.status == 200 and r.body == b""


def test_if_none_match_gives_304(datafile: Path) -> None:
    etag = call(lambda: FileResponse(datafile)).headers["etag"]
    for header in [etag, f"W/{etag}", f'"nope", {etag}', "*"]:
        r = call(
            lambda: FileResponse(datafile, headers={"cache-control": "max-age=60"}),
            headers=[("if-none-match", header)],
        )
        assert r.status == 304, header
        assert r.body == b""
        assert r.headers["etag"] == etag
        assert r.headers["cache-control"] == "max-age=60"
        assert "content-length" not in r.headers
    r = call(lambda: FileResponse(datafile), headers=[("if-none-match", '"other"')])
    assert r.status == 200 and r.body == CONTENT


def test_if_none_match_on_post_gives_412(datafile: Path) -> None:
    etag = call(lambda: FileResponse(datafile)).headers["etag"]
    r = call(lambda: FileResponse(datafile), method="POST", headers=[("if-none-match", etag)])
    assert r.status == 412


def test_if_modified_since(datafile: Path) -> None:
    mtime = int(datafile.stat().st_mtime)
    r = call(
        lambda: FileResponse(datafile),
        headers=[("if-modified-since", formatdate(mtime, usegmt=True))],
    )
    assert r.status == 304
    r = call(
        lambda: FileResponse(datafile),
        headers=[("if-modified-since", formatdate(mtime - 10, usegmt=True))],
    )
    assert r.status == 200 and r.body == CONTENT
    r = call(lambda: FileResponse(datafile), headers=[("if-modified-since", "garbage")])
    assert r.status == 200
    # If-None-Match takes precedence over If-Modified-Since.
    r = call(
        lambda: FileResponse(datafile),
        headers=[("if-modified-since", formatdate(mtime, usegmt=True)), ("if-none-match", '"x"')],
    )
    assert r.status == 200


def test_if_match_and_if_unmodified_since(datafile: Path) -> None:
    etag = call(lambda: FileResponse(datafile)).headers["etag"]
    assert call(lambda: FileResponse(datafile), headers=[("if-match", etag)]).status == 200
    assert call(lambda: FileResponse(datafile), headers=[("if-match", '"x"')]).status == 412
    assert call(lambda: FileResponse(datafile), headers=[("if-match", f"W/{etag}")]).status == 412
    old = formatdate(datafile.stat().st_mtime - 100, usegmt=True)
    assert (
        call(lambda: FileResponse(datafile), headers=[("if-unmodified-since", old)]).status == 412
    )


def test_single_range(datafile: Path) -> None:
    r = call(lambda: FileResponse(datafile), headers=[("range", "bytes=10-19")])
    assert r.status == 206
    assert r.body == CONTENT[10:20]
    assert r.headers["content-range"] == f"bytes 10-19/{len(CONTENT)}"
    assert r.headers["content-length"] == "10"
    r = call(lambda: FileResponse(datafile), headers=[("range", "bytes=-5")])
    assert r.body == CONTENT[-5:]
    size = len(CONTENT)
    assert r.headers["content-range"] == f"bytes {size - 5}-{size - 1}/{size}"


def test_whole_file_range_is_a_200(datafile: Path) -> None:
    r = call(lambda: FileResponse(datafile), headers=[("range", "bytes=0-")])
    assert r.status == 200 and r.body == CONTENT


def parse_multipart(r: Result) -> list[tuple[str, str, bytes]]:
    match = re.fullmatch(r"multipart/byteranges; boundary=(\S+)", r.headers["content-type"])
    assert match
    boundary = match.group(1).encode()
    assert r.body.endswith(b"\r\n--" + boundary + b"--\r\n")
    assert int(r.headers["content-length"]) == len(r.body)
    parts = []
    body = r.body[: -len(b"\r\n--" + boundary + b"--\r\n")]
    for chunk in body.split(b"--" + boundary + b"\r\n")[1:]:
        head, _, data = chunk.partition(b"\r\n\r\n")
        if data.endswith(b"\r\n"):
            data = data[:-2]
        fields = dict(line.split(b": ", 1) for line in head.split(b"\r\n"))
        parts.append((fields[b"content-type"].decode(), fields[b"content-range"].decode(), data))
    return parts


def test_multiple_ranges_multipart(datafile: Path) -> None:
    r = call(
        lambda: FileResponse(datafile, media_type="text/plain"),
        headers=[("range", "bytes=500-509, 0-4")],
    )
    assert r.status == 206
    parts = parse_multipart(r)
    size = len(CONTENT)
    assert parts == [
        ("text/plain; charset=utf-8", f"bytes 0-4/{size}", CONTENT[0:5]),
        ("text/plain; charset=utf-8", f"bytes 500-509/{size}", CONTENT[500:510]),
    ]


def test_overlapping_ranges_are_coalesced(datafile: Path) -> None:
    header = "bytes=" + ",".join(["0-99"] * 50 + ["50-149"])
    r = call(lambda: FileResponse(datafile), headers=[("range", header)])
    assert r.status == 206
    assert r.headers["content-range"] == f"bytes 0-149/{len(CONTENT)}"
    assert r.body == CONTENT[:150]


def test_thousands_of_ranges_give_the_whole_file(datafile: Path) -> None:
    header = "bytes=" + ",".join(f"{i}-{i}" for i in range(0, 10000, 2))
    r = call(lambda: FileResponse(datafile), headers=[("range", header)])
    assert r.status == 200
    assert r.body == CONTENT


def test_unsatisfiable_range_gives_416(datafile: Path) -> None:
    for header in ["bytes=99999-", "bytes=" + "9" * 5000 + "-", "bytes=-0"]:
        r = call(lambda: FileResponse(datafile), headers=[("range", header)])
        assert r.status == 416
        assert r.headers["content-range"] == f"bytes */{len(CONTENT)}"
        assert r.body == b""


def test_bad_range_syntax_gives_200(datafile: Path) -> None:
    for header in ["bytes=5-1", "lines=1-2", "bytes=abc", "bytes"]:
        r = call(lambda: FileResponse(datafile), headers=[("range", header)])
        assert r.status == 200 and r.body == CONTENT


def test_range_is_ignored_when_conditional_gives_304(datafile: Path) -> None:
    etag = call(lambda: FileResponse(datafile)).headers["etag"]
    r = call(
        lambda: FileResponse(datafile), headers=[("range", "bytes=0-1"), ("if-none-match", etag)]
    )
    assert r.status == 304


def test_if_range(datafile: Path) -> None:
    first = call(lambda: FileResponse(datafile))
    etag, last_modified = first.headers["etag"], first.headers["last-modified"]
    for value, status in [
        (etag, 206),
        (last_modified, 206),
        ('"stale"', 200),
        (f"W/{etag}", 200),
        (formatdate(0, usegmt=True), 200),
        ("junk", 200),
    ]:
        r = call(
            lambda: FileResponse(datafile), headers=[("range", "bytes=0-1"), ("if-range", value)]
        )
        assert r.status == status, value
        assert r.body == (CONTENT[:2] if status == 206 else CONTENT)


def test_range_on_non_200_status_is_ignored(datafile: Path) -> None:
    r = call(lambda: FileResponse(datafile, status_code=404), headers=[("range", "bytes=0-1")])
    assert r.status == 404 and r.body == CONTENT


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_large_file_is_streamed_in_chunks(tmp_path: Path, backend: str) -> None:
    big = tmp_path / "big.bin"
    payload = os.urandom(300_000)
    big.write_bytes(payload)
    r = call(lambda: FileResponse(big, chunk_size=64 * 1024), backend=backend)
    assert r.status == 200 and r.body == payload
    assert len(r.messages) >= 5
    assert max(len(m["body"]) for m in r.messages) <= 64 * 1024
    r = call(
        lambda: FileResponse(big, chunk_size=64 * 1024),
        backend=backend,
        headers=[("range", "bytes=100-200000")],
    )
    assert r.status == 206 and r.body == payload[100:200001]
    r = call(
        lambda: FileResponse(big, chunk_size=64 * 1024),
        backend=backend,
        headers=[("range", "bytes=0-9,100000-100009,299990-")],
    )
    parts = parse_multipart(r)
    assert [p[2] for p in parts] == [payload[:10], payload[100000:100010], payload[299990:]]


def test_streaming_stops_when_client_disconnects(tmp_path: Path) -> None:
    big = tmp_path / "big.bin"
    big.write_bytes(b"x" * 2_000_000)
    sent: list[int] = []

    async def main() -> None:
        disconnected = anyio.Event()

        async def receive() -> dict[str, Any]:
            await disconnected.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.body":
                sent.append(len(message["body"]))
                if len(sent) == 2:
                    disconnected.set()
                await anyio.sleep(0)  # a checkpoint: a server's send yields to the loop

        with anyio.fail_after(5):
            await FileResponse(big, chunk_size=16 * 1024)(
                {"type": "http", "method": "GET", "headers": []}, receive, send
            )

    anyio.run(main)
    assert 2 <= len(sent) < 20  # 2 MB in 16 KiB chunks would be 123 messages


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="does not exist"):
        call(lambda: FileResponse(tmp_path / "nope.txt"))
    with pytest.raises(RuntimeError, match="not a regular file"):
        call(lambda: FileResponse(tmp_path))


def test_content_disposition() -> None:
    assert content_disposition("attachment", "report.pdf") == 'attachment; filename="report.pdf"'
    value = content_disposition("inline", "résumé €.pdf")
    assert value == (
        "inline; filename=\"r_sum_ _.pdf\"; filename*=UTF-8''r%C3%A9sum%C3%A9%20%E2%82%AC.pdf"
    )
    quoted = content_disposition("attachment", 'a"b.txt')
    assert quoted.startswith('attachment; filename="a\\"b.txt"')
    with pytest.raises(ValueError):
        content_disposition("attachment", "evil\r\nset-cookie: x=1")


def test_filename_header(datafile: Path) -> None:
    r = call(lambda: FileResponse(datafile, filename="données.csv"))
    assert r.headers["content-disposition"].startswith('attachment; filename="donn_es.csv"')
    assert "filename*=UTF-8''donn%C3%A9es.csv" in r.headers["content-disposition"]
    assert r.headers["content-type"].startswith("text/csv")


@pytest.mark.parametrize("kind", ["mapping", "pairs", "generator"])
def test_headers_take_a_mapping_or_pairs_like_other_responses(datafile: Path, kind: str) -> None:
    pairs = [
        ("Link", "</a.css>; rel=preload"),
        ("Link", "</b.js>; rel=preload"),
        ("Cache-Control", "no-store"),
        ("Content-Disposition", "inline"),
    ]
    headers: Any = {
        "mapping": dict(pairs[2:]),
        "pairs": pairs,
        "generator": (p for p in pairs),
    }[kind]
    r = call(lambda: FileResponse(datafile, headers=headers, filename="data.bin"))
    assert r.status == 200 and r.body == CONTENT
    links = [v for k, v in r.raw_headers if k == b"link"]
    assert links == (
        [] if kind == "mapping" else [b"</a.css>; rel=preload", b"</b.js>; rel=preload"]
    )  # both kept
    assert r.headers["cache-control"] == "no-store"
    dispositions = [v for k, v in r.raw_headers if k == b"content-disposition"]
    assert dispositions == [b"inline"]  # the caller's wins over filename=, in every form
    assert r.headers["etag"] and r.headers["content-length"] == str(len(CONTENT))


def test_header_pairs_are_validated_like_other_responses(datafile: Path) -> None:
    with pytest.raises(ValueError):
        FileResponse(datafile, headers=[("x-evil", "a\r\nset-cookie: x=1")])


def test_snapshot_is_used_without_reopening(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_bytes(b"hello")
    snapshot = open_snapshot(path, 1024)
    path.unlink()  # proves the response serves what the snapshot holds
    r = call(lambda: FileResponse(path, snapshot=snapshot))
    assert r.body == b"hello"
    big = tmp_path / "b.bin"
    big.write_bytes(b"y" * 5000)
    snap = open_snapshot(big, 1024)
    assert isinstance(snap, FileSnapshot) and snap.file is not None and snap.data is None
    r = call(lambda: FileResponse(big, snapshot=snap, chunk_size=1024))
    assert r.body == b"y" * 5000
    assert snap.file is None  # closed after sending


def test_empty_file(tmp_path: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    r = call(lambda: FileResponse(empty))
    assert r.status == 200 and r.body == b"" and r.headers["content-length"] == "0"
    r = call(lambda: FileResponse(empty), headers=[("range", "bytes=0-")])
    assert r.status == 416 and r.headers["content-range"] == "bytes */0"


def test_through_httpx(datafile: Path) -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await FileResponse(datafile)(scope, receive, send)

    async def main() -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            r = await client.get("/", headers={"range": "bytes=1-3"})
            assert r.status_code == 206 and r.content == CONTENT[1:4]

    anyio.run(main)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.text(alphabet="bytes=0123456789-, ", max_size=40))
def test_range_responses_fuzz(datafile: Path, header: str) -> None:
    r = call(lambda: FileResponse(datafile), headers=[("range", header)])
    assert r.status in (200, 206, 416)
    assert int(r.headers["content-length"]) == len(r.body)
    if r.status == 200:
        assert r.body == CONTENT
    elif r.status == 206 and "content-range" in r.headers:
        match = re.match(r"bytes (\d+)-(\d+)/", r.headers["content-range"])
        assert match
        start, end = map(int, match.groups())
        assert r.body == CONTENT[start : end + 1]


@settings(max_examples=200, deadline=None)
@given(st.floats(min_value=0, max_value=253402300799, allow_nan=False))
def test_http_date_matches_the_stdlib(timestamp: float) -> None:
    from lamina._files import http_date

    assert http_date(timestamp) == formatdate(timestamp, usegmt=True)


def test_caller_supplied_etag_is_the_validator(datafile: Path) -> None:
    r = call(lambda: FileResponse(datafile, headers={"etag": '"v1"'}))
    assert [v for k, v in r.raw_headers if k == b"etag"] == [b'"v1"']
    r = call(
        lambda: FileResponse(datafile, headers={"etag": '"v1"'}),
        headers=[("if-none-match", '"v1"')],
    )
    assert r.status == 304


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.dictionaries(
        st.sampled_from(
            [
                "if-match",
                "if-none-match",
                "if-modified-since",
                "if-unmodified-since",
                "if-range",
                "range",
            ]
        ),
        st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=255), max_size=40),
    )
)
def test_precondition_fuzz(datafile: Path, headers: dict[str, str]) -> None:
    for method in ("GET", "HEAD", "POST"):
        r = call(lambda: FileResponse(datafile), method=method, headers=list(headers.items()))
        assert r.status in (200, 206, 304, 412, 416)
        if r.status == 200:
            assert r.body == (CONTENT if method != "HEAD" else b"")


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_file_is_opened_and_read_in_chunks_off_the_event_loop(
    tmp_path: Path,
    backend: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import threading

    import lamina._files

    big = tmp_path / "big.bin"
    payload = os.urandom(200_000)
    big.write_bytes(payload)
    threads: list[tuple[str, threading.Thread]] = []
    real_open, real_read = lamina._files.open_snapshot, lamina._files.read_at

    def spy_open(*args: Any, **kwargs: Any) -> Any:
        threads.append(("open", threading.current_thread()))
        return real_open(*args, **kwargs)

    def spy_read(*args: Any) -> Any:
        threads.append(("read", threading.current_thread()))
        return real_read(*args)

    monkeypatch.setattr(lamina._files, "open_snapshot", spy_open)
    monkeypatch.setattr(lamina._files, "read_at", spy_read)
    loop_thread = threading.current_thread()  # anyio.run runs the loop in this thread
    r = call(lambda: FileResponse(big, chunk_size=16 * 1024), backend=backend)
    assert r.body == payload
    assert [op for op, _ in threads].count("open") == 1
    assert [op for op, _ in threads].count("read") >= 10  # 200 KB in 16 KiB chunks
    assert all(thread is not loop_thread for _, thread in threads)
