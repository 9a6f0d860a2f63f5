"""StaticFiles as a plain ASGI app: methods, types, html mode, layering, precompression."""

from __future__ import annotations

import gzip
import sys
from pathlib import Path
from urllib.parse import unquote

import pytest
from lamina import AssemblyError
from lamina_staticfiles import StaticFiles, content_type_for
from static_harness import request


@pytest.fixture
def site(tmp_path: Path) -> Path:
    root = tmp_path / "site"
    (root / "css").mkdir(parents=True)
    (root / "docs").mkdir()
    (root / "empty").mkdir()
    (root / "hello.txt").write_text("hello world\n")
    (root / "css" / "app.css").write_text("body{color:red}\n" * 100)
    (root / "css" / "app.css.gz").write_bytes(gzip.compress(b"body{color:red}\n" * 100))
    (root / "css" / "app.css.br").write_bytes(b"pretend-brotli")
    (root / "index.html").write_text("<h1>home</h1>")
    (root / "docs" / "index.html").write_text("<h1>docs</h1>")
    (root / "404.html").write_text("<h1>missing</h1>")
    (root / "logo.png").write_bytes(b"\x89PNG....")
    (root / "data.bin").write_bytes(bytes(range(256)) * 10)
    return root


def test_get_file(site: Path) -> None:
    app = StaticFiles(site)
    r = request(app, "/hello.txt")
    assert r.status == 200
    assert r.body == b"hello world\n"
    assert r.headers["content-type"] == "text/plain; charset=utf-8"
    assert r.headers["content-length"] == "12"
    assert "etag" in r.headers and "last-modified" in r.headers
    assert "vary" not in r.headers


def test_nested_file_and_content_types(site: Path) -> None:
    r = request(StaticFiles(site, precompressed=False), "/css/app.css")
    assert r.status == 200
    assert r.headers["content-type"] == "text/css; charset=utf-8"
    assert request(StaticFiles(site), "/logo.png").headers["content-type"] == "image/png"
    assert content_type_for("a/b.JS") == "text/javascript; charset=utf-8"
    assert content_type_for("x.svg") == "image/svg+xml; charset=utf-8"
    assert content_type_for("x.woff2") == "font/woff2"
    assert content_type_for("noext") == "application/octet-stream"
    assert content_type_for("dir.d/noext") == "application/octet-stream"


def test_head(site: Path) -> None:
    r = request(StaticFiles(site), "/hello.txt", method="HEAD")
    assert r.status == 200 and r.body == b"" and r.headers["content-length"] == "12"


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"])
def test_other_methods_405(site: Path, method: str) -> None:
    r = request(StaticFiles(site), "/hello.txt", method=method)
    assert r.status == 405
    assert r.headers["allow"] == "GET, HEAD"


def test_missing_and_directories_404_without_html(site: Path) -> None:
    app = StaticFiles(site)
    assert request(app, "/nope.txt").status == 404
    assert request(app, "/docs").status == 404
    assert request(app, "/docs/").status == 404
    assert request(app, "/").status == 404
    assert request(app, "/hello.txt/").status == 404  # a file is not a directory


def test_conditional_and_ranges(site: Path) -> None:
    app = StaticFiles(site)
    first = request(app, "/data.bin")
    r = request(app, "/data.bin", headers=[("if-none-match", first.headers["etag"])])
    assert r.status == 304 and r.body == b""
    r = request(app, "/data.bin", headers=[("if-modified-since", first.headers["last-modified"])])
    assert r.status == 304
    r = request(app, "/data.bin", headers=[("if-none-match", '"stale"')])
    assert r.status == 200 and r.body == first.body  # read deferred, then done
    r = request(app, "/data.bin", headers=[("range", "bytes=256-511")])
    assert r.status == 206 and r.body == bytes(range(256))
    r = request(app, "/data.bin", headers=[("range", "bytes=9999-")])
    assert r.status == 416 and r.headers["content-range"] == "bytes */2560"


def test_cache_control(site: Path) -> None:
    app = StaticFiles(site, cache_control="public, max-age=3600")
    r = request(app, "/hello.txt")
    assert r.headers["cache-control"] == "public, max-age=3600"
    r = request(app, "/hello.txt", headers=[("if-none-match", r.headers["etag"])])
    assert r.status == 304 and r.headers["cache-control"] == "public, max-age=3600"


def test_html_mode(site: Path) -> None:
    app = StaticFiles(site, html=True)
    r = request(app, "/docs/")
    assert r.status == 200 and r.body == b"<h1>docs</h1>"
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    r = request(app, "/docs", query=b"a=1")
    assert r.status == 307 and r.headers["location"] == "/docs/?a=1"
    r = request(app, "/static/docs", root_path="/static")
    assert r.status == 307 and r.headers["location"] == "/static/docs/"
    r = request(app, "/static", root_path="/static")
    assert r.status == 307 and r.headers["location"] == "/static/"
    r = request(app, "/static/", root_path="/static")
    assert r.status == 200 and r.body == b"<h1>home</h1>"
    r = request(app, "/nope")
    assert r.status == 404 and r.body == b"<h1>missing</h1>"
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    r = request(app, "/empty/")  # a directory without index.html
    assert r.status == 404 and r.body == b"<h1>missing</h1>"
    r = request(app, "/docs/", method="HEAD")
    assert r.status == 200 and r.body == b""


def test_html_mode_without_404_page(site: Path) -> None:
    (site / "404.html").unlink()
    r = request(StaticFiles(site, html=True), "/nope")
    assert r.status == 404 and r.body == b"Not Found"


def test_spa_fallback(site: Path) -> None:
    app = StaticFiles(site, spa=True)
    r = request(app, "/users/42", headers=[("accept", "text/html,application/xhtml+xml")])
    assert r.status == 200 and r.body == b"<h1>home</h1>"
    r = request(app, "/missing.js", headers=[("accept", "*/*")])
    assert r.status == 404
    r = request(app, "/hello.txt", headers=[("accept", "text/html")])
    assert r.body == b"hello world\n"  # existing files still win


def test_layered_sources(site: Path, tmp_path: Path) -> None:
    override = tmp_path / "override"
    override.mkdir()
    (override / "hello.txt").write_text("overridden")
    app = StaticFiles([override, site])
    assert request(app, "/hello.txt").body == b"overridden"
    assert request(app, "/logo.png").status == 200  # falls through to the second source


def test_package_sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pkg = tmp_path / "pkgroot" / "demo_static_pkg"
    (pkg / "static").mkdir(parents=True)
    (pkg / "assets").mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "static" / "a.txt").write_text("from package")
    (pkg / "assets" / "b.txt").write_text("from assets")
    monkeypatch.syspath_prepend(str(tmp_path / "pkgroot"))
    try:
        app = StaticFiles(packages=["demo_static_pkg", ("demo_static_pkg", "assets")])
        assert request(app, "/a.txt").body == b"from package"
        assert request(app, "/b.txt").body == b"from assets"
        with pytest.raises(AssemblyError, match="does not exist"):
            StaticFiles(packages=["demo_static_pkg:nope"])
        with pytest.raises(AssemblyError, match="cannot import"):
            StaticFiles(packages=["no_such_pkg_xyz"])
    finally:
        sys.modules.pop("demo_static_pkg", None)


def test_missing_directory_fails_at_construction(tmp_path: Path) -> None:
    with pytest.raises(AssemblyError, match=r"does not exist.*fix the setting"):
        StaticFiles(tmp_path / "nope")
    (tmp_path / "file").write_text("x")
    with pytest.raises(AssemblyError, match="is not a directory"):
        StaticFiles(tmp_path / "file")
    with pytest.raises(ValueError, match="needs a directory"):
        StaticFiles()
    app = StaticFiles(tmp_path / "later", check_dir=False)
    assert request(app, "/x").status == 404


def test_precompressed(site: Path) -> None:
    app = StaticFiles(site)
    r = request(app, "/css/app.css", headers=[("accept-encoding", "gzip, deflate")])
    assert r.status == 200
    assert r.headers["content-encoding"] == "gzip"
    assert r.headers["vary"] == "Accept-Encoding"
    assert r.headers["content-type"] == "text/css; charset=utf-8"
    assert gzip.decompress(r.body) == b"body{color:red}\n" * 100
    r = request(app, "/css/app.css", headers=[("accept-encoding", "gzip, br")])
    assert r.headers["content-encoding"] == "br" and r.body == b"pretend-brotli"
    r = request(app, "/css/app.css", headers=[("accept-encoding", "br;q=0, gzip;q=0.5")])
    assert r.headers["content-encoding"] == "gzip"
    r = request(app, "/css/app.css", headers=[("accept-encoding", "*;q=0")])
    assert "content-encoding" not in r.headers
    r = request(app, "/css/app.css", headers=[("accept-encoding", "*")])
    assert r.headers["content-encoding"] == "br"
    r = request(app, "/css/app.css")
    assert "content-encoding" not in r.headers and r.body == b"body{color:red}\n" * 100
    assert r.headers["vary"] == "Accept-Encoding"  # others get a sibling: caches must know
    r = request(app, "/hello.txt", headers=[("accept-encoding", "gzip")])
    assert "content-encoding" not in r.headers  # no sibling
    assert "vary" not in r.headers  # nothing to negotiate
    assert "vary" not in request(app, "/hello.txt").headers
    # ETags differ between encodings, so caches and If-Range never mix them up.
    gz = request(app, "/css/app.css", headers=[("accept-encoding", "gzip")])
    plain = request(app, "/css/app.css")
    assert gz.headers["etag"] != plain.headers["etag"]
    off = StaticFiles(site, precompressed=False)
    r = request(off, "/css/app.css", headers=[("accept-encoding", "gzip")])
    assert "content-encoding" not in r.headers and "vary" not in r.headers


def test_vary_when_only_an_unaccepted_sibling_exists(site: Path) -> None:
    (site / "css" / "app.css.gz").unlink()  # only app.css.br is left
    app = StaticFiles(site)
    r = request(app, "/css/app.css", headers=[("accept-encoding", "gzip")])
    assert "content-encoding" not in r.headers
    assert r.headers["vary"] == "Accept-Encoding"
    r = request(app, "/css/app.css", headers=[("accept-encoding", "br")])
    assert (r.headers["content-encoding"], r.headers["vary"]) == ("br", "Accept-Encoding")
    # The 404 page is never negotiated.
    (site / "404.html.gz").write_bytes(gzip.compress(b"<h1>missing</h1>"))
    r = request(StaticFiles(site, html=True), "/nope")
    assert r.status == 404 and "vary" not in r.headers


def test_sibling_without_original_is_not_served(site: Path) -> None:
    (site / "only.js.gz").write_bytes(gzip.compress(b"x"))
    r = request(StaticFiles(site), "/only.js", headers=[("accept-encoding", "gzip")])
    assert r.status == 404


def test_large_file_streams(site: Path) -> None:
    blob = bytes(range(256)) * 4096  # 1 MiB
    (site / "big.bin").write_bytes(blob)
    app = StaticFiles(site, chunk_size=64 * 1024)
    r = request(app, "/big.bin")
    assert r.status == 200 and r.body == blob
    r = request(app, "/big.bin", headers=[("range", "bytes=1000-70000")])
    assert r.status == 206 and r.body == blob[1000:70001]


def test_websocket_scope_is_closed(site: Path) -> None:
    import anyio

    sent: list[dict[str, object]] = []

    async def main() -> None:
        async def receive() -> dict[str, object]:
            return {"type": "websocket.connect"}

        async def send(message: dict[str, object]) -> None:
            sent.append(message)

        await StaticFiles(site)({"type": "websocket", "path": "/x", "headers": []}, receive, send)

    anyio.run(main)
    assert sent == [{"type": "websocket.close", "code": 1000}]


def test_on_trio(site: Path) -> None:
    import anyio

    messages: list[dict[str, object]] = []

    async def main() -> None:
        async def receive() -> dict[str, object]:
            await anyio.sleep_forever()
            return {}

        async def send(message: dict[str, object]) -> None:
            messages.append(message)

        scope = {
            "type": "http",
            "method": "GET",
            "path": "/data.bin",
            "root_path": "",
            "headers": [(b"range", b"bytes=0-9")],
        }
        await StaticFiles(site)(scope, receive, send)

    anyio.run(main, backend="trio")
    assert messages[0]["status"] == 206
    assert messages[1]["body"] == bytes(range(10))


@pytest.mark.parametrize(
    ("name", "encoded"),
    [
        ("a?b", "a%3Fb"),
        ("a#b", "a%23b"),
        ("%2e%2e", "%252e%252e"),
        ("sp ace", "sp%20ace"),
        ("é", "%C3%A9"),
        ("a;b=c", "a;b=c"),
    ],
)
def test_directory_redirect_keeps_odd_names_in_the_path(
    tmp_path: Path, name: str, encoded: str
) -> None:
    (tmp_path / name).mkdir()
    (tmp_path / name / "index.html").write_text("inside")
    app = StaticFiles(tmp_path, html=True)
    r = request(app, "/" + name, query=b"x=1")
    assert r.status == 307
    assert r.headers["location"] == f"/{encoded}/?x=1"
    # Following it (a server decodes the path once) lands on the directory's index.
    target = unquote(r.headers["location"].partition("?")[0])
    assert request(app, target).body == b"inside"
