"""Headers, MutableHeaders, QueryParams, URL, URLPath, State."""

from __future__ import annotations

import pytest
from lamina._datastructures import (
    URL,
    Address,
    Headers,
    MutableHeaders,
    QueryParams,
    State,
    URLPath,
    url_from_scope,
)


def test_headers_case_insensitive_multi_valued() -> None:
    h = Headers(raw=[(b"content-type", b"text/plain"), (b"x-a", b"1"), (b"x-a", b"2")])
    assert h["Content-Type"] == "text/plain"
    assert h["X-A"] == "1"
    assert h.getlist("x-a") == ["1", "2"]
    assert "X-a" in h
    assert "missing" not in h
    assert 3 not in h  # type: ignore[operator]
    assert h.get("missing", "d") == "d"
    assert h.keys() == ["content-type", "x-a", "x-a"]
    assert h.values() == ["text/plain", "1", "2"]
    assert len(h) == 3
    assert list(h) == ["content-type", "x-a", "x-a"]
    with pytest.raises(KeyError):
        h["nope"]
    assert h.get("ü") is None  # a key that is not latin-1 is simply absent
    assert h.getlist("☃") == []
    assert "☃" not in h


def test_headers_constructors_and_equality() -> None:
    a = Headers({"X-One": "1", "Two": "2"})
    b = Headers([("two", "2"), ("x-one", "1")])
    assert a == b
    assert a != Headers({"x-one": "1"})
    assert a.__eq__("x") is NotImplemented
    assert Headers().raw == []
    scope = {"headers": [(b"a", b"b")]}
    h = Headers(scope=scope)
    assert h["a"] == "b"
    assert h.raw is not scope["headers"]  # a copy: mutating it does not touch the scope
    assert repr(Headers({"a": "b"})) == "Headers([('a', 'b')])"


def test_mutable_headers() -> None:
    h = MutableHeaders(raw=[(b"a", b"1"), (b"a", b"2"), (b"b", b"x")])
    h["A"] = "3"
    assert h.raw == [(b"a", b"3"), (b"b", b"x")]
    h["c"] = "4"
    assert h.getlist("c") == ["4"]
    h.append("c", "5")
    assert h.getlist("c") == ["4", "5"]
    del h["c"]
    assert "c" not in h
    assert h.setdefault("b", "y") == "x"
    assert h.setdefault("d", "z") == "z"
    h.update({"e": "1", "a": "9"})
    assert h["a"] == "9"
    assert h["e"] == "1"
    copy = Headers(raw=[(b"k", b"v")]).mutablecopy()
    copy["k"] = "w"
    assert copy["k"] == "w"


def test_vary_header_merging() -> None:
    h = MutableHeaders()
    h.add_vary_header("Origin")
    h.add_vary_header("origin")
    h.add_vary_header("Accept-Encoding")
    assert h["vary"] == "Origin, Accept-Encoding"
    star = MutableHeaders({"vary": "*"})
    star.add_vary_header("Origin")
    assert star["vary"] == "*"


def test_query_params() -> None:
    q = QueryParams(b"a=1&b=2&a=3&empty=&plus=x+y&pct=%26%3D")
    assert q["a"] == "3"
    assert q.getlist("a") == ["1", "3"]
    assert q["empty"] == ""
    assert q["plus"] == "x y"
    assert q["pct"] == "&="
    assert list(q) == ["a", "b", "empty", "plus", "pct"]
    assert len(q) == 5
    assert q.multi_items()[0] == ("a", "1")
    assert QueryParams("a=1&a=3&b=2&empty=&plus=x+y&pct=%26%3D") == q
    assert QueryParams({"x": 1}).multi_items() == [("x", "1")]
    assert QueryParams([("x", 1), ("x", 2)]).getlist("x") == ["1", "2"]
    assert str(QueryParams([("a b", "&")])) == "a+b=%26"
    assert repr(QueryParams("a=1")) == "QueryParams('a=1')"
    assert QueryParams() == QueryParams(b"")
    assert QueryParams().__eq__(1) is NotImplemented


def test_query_params_raw_utf8_and_latin1_bytes() -> None:
    assert QueryParams("q=é".encode())["q"] == "é"
    assert QueryParams(b"q=\xe9")["q"] == "é"  # not UTF-8: read as latin-1, never an error


def test_url_parts_and_replace() -> None:
    u = URL("https://user@example.org:8443/a/b?x=1#frag")
    assert (u.scheme, u.netloc, u.hostname, u.port, u.path, u.query, u.fragment) == (
        "https",
        "user@example.org:8443",
        "example.org",
        8443,
        "/a/b",
        "x=1",
        "frag",
    )
    assert u.is_secure
    assert str(u.replace(path="/c")) == "https://user@example.org:8443/c?x=1#frag"
    assert str(u.replace(scheme="http", port=80, hostname="h")) == ("http://user@h:80/a/b?x=1#frag")
    assert str(URL("http://[::1]:80/").replace(port=81)) == "http://[::1]:81/"
    assert str(URL("http://h/p?a=1&b=2").include_query_params(a=3, c="x")) == (
        "http://h/p?b=2&a=3&c=x"
    )
    assert URL("http://h:99999/").port is None
    assert URL("http://h/") == "http://h/"
    assert URL("http://h/") == URL("http://h/")
    assert URL("http://h/").__eq__(1) is NotImplemented
    assert len({URL("http://h/"), URL("http://h/")}) == 1
    assert repr(URL("http://h/")) == "URL('http://h/')"


def test_url_from_scope() -> None:
    scope = {
        "scheme": "https",
        "server": ("s", 443),
        "path": "/p",
        "root_path": "",
        "query_string": b"a=1",
        "headers": [],
    }
    assert url_from_scope(scope) == "https://s/p?a=1"
    scope["server"] = ("s", 8443)
    assert url_from_scope(scope) == "https://s:8443/p?a=1"
    scope["headers"] = [(b"host", b"example.org:1")]
    assert url_from_scope(scope, with_query=False) == "https://example.org:1/p"
    scope.update(root_path="/api", path="/api/p")
    assert url_from_scope(scope) == "https://example.org:1/api/p?a=1"
    scope.update(path="/p")  # servers that leave root_path out of path
    assert url_from_scope(scope) == "https://example.org:1/api/p?a=1"
    assert url_from_scope({"headers": [], "path": "/"}) == "http://localhost/"


def test_url_path() -> None:
    path = URLPath("/ws/1", protocol="websocket")
    assert path == "/ws/1"
    assert str(path.make_absolute_url("https://h/root/")) == "wss://h/root/ws/1"
    assert str(URLPath("/x", "http").make_absolute_url(URL("https://h"))) == "https://h/x"
    assert str(URLPath("/x").make_absolute_url("http://h/")) == "http://h/x"


def test_state_and_address() -> None:
    backing: dict[str, object] = {}
    state = State(backing)
    state.db = 1
    assert backing == {"db": 1}
    assert state.db == 1
    assert "db" in state
    del state.db
    assert "db" not in state
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        state.nope  # noqa: B018
    assert Address("1.2.3.4", 5).host == "1.2.3.4"
