"""Traversal battery: nothing outside the served directory is ever served, never a 500.

Two layers: the ASGI app called with paths exactly as a server hands them over (already
percent-decoded once), and a real uvicorn fed raw request targets over a socket, so the
server's own decoding of ``%2e``, ``%2f``, ``%5c``, ``%00`` and double encoding is covered.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lamina import Lamina
from lamina_staticfiles import StaticFiles
from static_harness import request

from tests.helpers.servers import serve

SECRET = b"TOPSECRET-do-not-serve"


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """tmp/secret.txt, tmp/outside/secret2.txt, tmp/site/{...} with symlinks out and in."""
    (tmp_path / "secret.txt").write_bytes(SECRET)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret2.txt").write_bytes(SECRET)
    (outside / "index.html").write_bytes(SECRET)
    site = tmp_path / "site"
    (site / "sub").mkdir(parents=True)
    (site / "hello.txt").write_text("hello")
    (site / "index.html").write_text("<h1>spa</h1>")
    (site / "404.html").write_text("<h1>nope</h1>")
    (site / "sub" / "inner.txt").write_text("inner")
    (site / "%2e%2e").mkdir()  # a directory literally named like an encoded "..": harmless
    (site / "%2e%2e" / "literal.txt").write_text("literal")
    os.symlink(tmp_path / "secret.txt", site / "link_out")
    os.symlink("../secret.txt", site / "rel_link_out")
    os.symlink(outside, site / "dir_out")
    os.symlink(site / "hello.txt", site / "link_in")
    os.symlink(site / "sub", site / "dir_in")
    os.symlink(tmp_path / "secret.txt", site / "sub" / "deep_out.txt")
    (site / "hello.txt.gz").symlink_to(tmp_path / "secret.txt")  # a sibling leading out
    return tmp_path


def decoded_attacks(tmp: Path) -> list[str]:
    secret = str(tmp / "secret.txt")
    return [
        "/../secret.txt",
        "/..",
        "/../",
        "/sub/../../secret.txt",
        "/./../secret.txt",
        "/sub/./../../secret.txt",
        "/../site/../secret.txt",
        "/..\\secret.txt",
        "/sub\\..\\..\\secret.txt",
        "/\\..\\secret.txt",
        "/hello.txt\x00",
        "/\x00/../secret.txt",
        "/hello.txt\x00.png",
        "/" + secret,
        "//" + secret.lstrip("/"),
        "/" * 5 + secret,
        "/link_out",
        "/rel_link_out",
        "/dir_out/secret2.txt",
        "/dir_out/",
        "/dir_out",
        "/sub/deep_out.txt",
        "/dir_in/deep_out.txt",
        "/%2e%2e/../../secret.txt",
        "/" + "../" * 50 + "etc/passwd",
        "/C:\\Windows\\win.ini",
        "/sub/..",
        "/ /../secret.txt",
    ]


#: Not traversal for us, only odd literal names; they are unknown files (404), except that
#: SPA mode answers unknown paths with its index page, which is what SPA mode is for.
ODD_LITERALS = [
    "/..;/secret.txt",
    "/.../secret.txt",
    "/\u2025/secret.txt",
    "/%2e%2e/secret.txt",
    "/%c0%ae%c0%ae/secret.txt",
    "/" + "a" * 5000,
]


@pytest.mark.parametrize("mode", ["plain", "html", "spa", "layered"])
def test_decoded_path_battery(tree: Path, mode: str) -> None:
    site = tree / "site"
    app = {
        "plain": lambda: StaticFiles(site),
        "html": lambda: StaticFiles(site, html=True),
        "spa": lambda: StaticFiles(site, spa=True),
        "layered": lambda: StaticFiles([site / "sub", site], html=True),
    }[mode]()
    for path in decoded_attacks(tree) + ODD_LITERALS:
        for accept in ("*/*", "text/html"):
            r = request(app, path, headers=[("accept", accept), ("accept-encoding", "gzip")])
            assert SECRET not in r.body, (mode, path)
            if mode == "spa" and accept == "text/html" and path in ODD_LITERALS:
                assert r.status == 200 and r.body == b"<h1>spa</h1>"
            else:
                assert r.status == 404, (mode, path, r.status)


def test_symlinks_inside_and_literal_names_are_fine(tree: Path) -> None:
    app = StaticFiles(tree / "site")
    assert request(app, "/link_in").body == b"hello"
    assert request(app, "/dir_in/inner.txt").body == b"inner"
    assert request(app, "/%2e%2e/literal.txt").body == b"literal"
    # The gz sibling is a symlink leading out: the original is served instead.
    r = request(app, "/hello.txt", headers=[("accept-encoding", "gzip")])
    assert r.body == b"hello" and "content-encoding" not in r.headers


def test_follow_symlinks_opt_in(tree: Path) -> None:
    app = StaticFiles(tree / "site", follow_symlinks=True)
    assert request(app, "/link_out").body == SECRET  # explicitly allowed by the setting
    assert request(app, "/../secret.txt").status == 404  # ".." is still refused


def _raw_get(base_url: str, target: bytes) -> tuple[int, bytes]:
    host, port = base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(
            b"GET " + target + b" HTTP/1.1\r\nHost: t\r\nAccept: text/html\r\n"
            b"Accept-Encoding: gzip\r\nConnection: close\r\n\r\n"
        )
        data = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    status_line = data.split(b"\r\n", 1)[0]
    return int(status_line.split()[1]), data


RAW_TARGETS = [
    b"/static/../secret.txt",
    b"/static/..%2fsecret.txt",
    b"/static/%2e%2e/secret.txt",
    b"/static/%2e%2e%2fsecret.txt",
    b"/static/%2E%2E/%2E%2E/secret.txt",
    b"/static/%252e%252e/secret.txt",
    b"/static/%252e%252e%252fsecret.txt",
    b"/static/..%5csecret.txt",
    b"/static/%5c..%5csecret.txt",
    b"/static/..\\secret.txt",
    b"/static/%00",
    b"/static/hello.txt%00.png",
    b"/static/%2fetc%2fpasswd",
    b"/static//etc/passwd",
    b"/static/link_out",
    b"/static/rel_link_out",
    b"/static/dir_out/secret2.txt",
    b"/static/dir_out/",
    b"/static/sub/deep_out.txt",
    b"/static/%c0%ae%c0%ae/secret.txt",
    b"/static/sub/%2e%2e/%2e%2e/secret.txt",
    b"/static/.%2e/secret.txt",
    b"/static/%2e./secret.txt",
]


def test_real_server_battery(tree: Path) -> None:
    app = Lamina(
        autoload=False,
        plugins=["routing", "staticfiles"],
        settings={"staticfiles": {"directories": [str(tree / "site")], "html": True}},
    )
    with serve(app) as base_url:
        status, data = _raw_get(base_url, b"/static/hello.txt")
        assert status == 200 and data.endswith(b"hello")
        for target in RAW_TARGETS:
            status, data = _raw_get(base_url, target)
            assert SECRET not in data, target
            assert status == 404, (target, status)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    path=st.lists(
        st.one_of(
            st.sampled_from(
                [
                    "..",
                    ".",
                    "",
                    "sub",
                    "hello.txt",
                    "link_out",
                    "dir_out",
                    "%2e%2e",
                    "index.html",
                    "\\",
                    "\x00",
                    "secret.txt",
                    "\ud800",
                    "\udc80",
                ]
            ),
            st.text(max_size=12),
        ),
        max_size=8,
    ).map(lambda parts: "/" + "/".join(parts))
)
def test_fuzzed_paths_never_escape_or_fail(tree: Path, path: str) -> None:
    for app in (StaticFiles(tree / "site", html=True), StaticFiles(tree / "site", spa=True)):
        r = request(app, path, headers=[("accept", "text/html"), ("accept-encoding", "br")])
        assert SECRET not in r.body
        assert r.status in (200, 307, 404), (path, r.status)
