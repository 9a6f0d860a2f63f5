"""Static files through a real uvicorn: large files, ranges, 304, HEAD, precompressed."""

from __future__ import annotations

import gzip
import os
import socket
from pathlib import Path

import httpx
from lamina.testing import make_app

from tests.helpers.servers import serve


def test_over_http(tmp_path: Path) -> None:
    root = tmp_path / "www"
    root.mkdir()
    blob = os.urandom(3 * 1024 * 1024 + 17)
    (root / "big.bin").write_bytes(blob)
    (root / "app.js").write_text("let x = 1;\n" * 200)
    (root / "app.js.gz").write_bytes(gzip.compress(b"let x = 1;\n" * 200))
    app = make_app("routing", "staticfiles", settings={"staticfiles": {"directories": [str(root)]}})
    with serve(app) as base, httpx.Client(base_url=base, timeout=10) as client:
        r = client.get("/static/big.bin")
        assert r.status_code == 200 and r.content == blob
        etag = r.headers["etag"]
        assert client.get("/static/big.bin", headers={"if-none-match": etag}).status_code == 304
        r = client.get("/static/big.bin", headers={"range": "bytes=1000000-2999999"})
        assert r.status_code == 206 and r.content == blob[1000000:3000000]
        r = client.get("/static/big.bin", headers={"range": "bytes=0-9,-10"})
        assert r.status_code == 206
        assert r.headers["content-type"].startswith("multipart/byteranges; boundary=")
        assert blob[:10] in r.content and blob[-10:] in r.content
        r = client.head("/static/big.bin")
        assert r.status_code == 200 and r.headers["content-length"] == str(len(blob))
        assert r.content == b""
        r = client.get("/static/app.js", headers={"accept-encoding": "gzip"})
        assert r.headers["content-encoding"] == "gzip" and r.text == "let x = 1;\n" * 200
        assert r.headers["vary"] == "Accept-Encoding"

        # A client that goes away mid-download does not wedge the server.
        host, port = base.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=5) as sock:
            sock.sendall(b"GET /static/big.bin HTTP/1.1\r\nHost: t\r\n\r\n")
            assert sock.recv(65536).startswith(b"HTTP/1.1 200")
        assert client.get("/static/app.js").status_code == 200
