"""Property tests: whatever a client sends, parsing never raises an unhandled exception, and
what we write we read back the same."""

from __future__ import annotations

import string
from typing import Any
from urllib.parse import urlencode

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lamina import JSONResponse, Request
from lamina._cookies import build_set_cookie
from lamina._datastructures import URL, Headers, QueryParams
from lamina._formdata import UploadFile
from lamina._formparsing import parse_options_header
from lamina._requests import parse_cookie_header
from lamina.testing import make_app, plugin

from tests.helpers.asgi import body_messages, drive, http_scope

SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
text = st.text(st.characters(exclude_categories=["Cs"]), max_size=40)
header_bytes = st.binary(max_size=60)


# --------------------------------------------------------------------------- headers
@SETTINGS
@given(raw=st.lists(st.tuples(header_bytes.map(bytes.lower), header_bytes), max_size=8), key=text)
def test_headers_lookups_never_raise(raw: list[tuple[bytes, bytes]], key: str) -> None:
    headers = Headers(raw=raw)
    assert len(headers.items()) == len(raw)
    assert (headers.get(key) is not None) == (key in headers) == bool(headers.getlist(key))
    for name in headers:  # ASGI names are lower-case bytes
        assert headers.getlist(name)


@SETTINGS
@given(
    pairs=st.lists(
        st.tuples(
            st.text(string.ascii_letters + "-", min_size=1, max_size=10),
            st.text(
                st.characters(min_codepoint=32, max_codepoint=255, exclude_characters="\x7f"),
                max_size=20,
            ),
        ),
        max_size=6,
    )
)
def test_headers_from_str_pairs_round_trip(pairs: list[tuple[str, str]]) -> None:
    headers = Headers(pairs)
    for name, _ in pairs:
        assert headers.getlist(name) == [v for n, v in pairs if n.lower() == name.lower()]
    assert headers.mutablecopy() == headers


# --------------------------------------------------------------------------- cookies
@SETTINGS
@given(value=text)
def test_cookie_header_parsing_never_raises(value: str) -> None:
    cookies = parse_cookie_header(value)
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in cookies.items())


@SETTINGS
@given(raw=header_bytes)
def test_request_cookies_from_any_bytes(raw: bytes) -> None:
    request = Request({"type": "http", "headers": [(b"cookie", raw)]})
    assert isinstance(request.cookies, dict)


cookie_name = st.text(
    st.sampled_from(string.ascii_letters + string.digits + "!#$%&'*+-.^_`|~"),
    min_size=1,
    max_size=12,
)
cookie_value = st.text(
    st.characters(exclude_categories=["Cs"], exclude_characters="\r\n\x00"), max_size=30
)


@SETTINGS
@given(name=cookie_name, value=cookie_value, other=cookie_value)
def test_set_cookie_round_trips_through_the_cookie_header(
    name: str, value: str, other: str
) -> None:
    pair = build_set_cookie(name, value).split("; ")[0]
    other_pair = build_set_cookie("zz_other", other).split("; ")[0]
    header = f"{pair}; {other_pair}".encode().decode("latin-1")
    # the header travels as bytes; the request decodes them again
    request = Request({"type": "http", "headers": [(b"cookie", header.encode("latin-1"))]})
    assert request.cookies[name] == value
    if name != "zz_other":
        assert request.cookies["zz_other"] == other


# --------------------------------------------------------------------------- query strings
@SETTINGS
@given(raw=st.binary(max_size=80))
def test_query_params_from_any_bytes(raw: bytes) -> None:
    params = QueryParams(raw)
    for key in params:
        assert params.getlist(key)[-1] == params[key]
    QueryParams(str(params))


@SETTINGS
@given(pairs=st.lists(st.tuples(text, text), max_size=8))
def test_query_params_round_trip(pairs: list[tuple[str, str]]) -> None:
    params = QueryParams(pairs)
    assert QueryParams(str(params)).multi_items() == pairs
    assert QueryParams(urlencode(pairs).encode()).multi_items() == pairs


# --------------------------------------------------------------------------- URLs
@SETTINGS
@given(
    host=header_bytes,
    path=text,
    query=st.binary(max_size=30),
    root=st.sampled_from(["", "/api", "/a b"]),
    scheme=st.sampled_from(["http", "https", "ws", "wss"]),
)
def test_url_from_any_scope(host: bytes, path: str, query: bytes, root: str, scheme: str) -> None:
    scope = {
        "type": "http",
        "scheme": scheme,
        "path": "/" + path,
        "root_path": root,
        "query_string": query,
        "headers": [(b"host", host)],
        "server": ("srv", 80),
    }
    request = Request(scope)
    url = request.url
    assert url.scheme == scheme
    url.port  # noqa: B018 - must not raise
    assert "#" not in url.path and "?" not in url.path
    assert str(URL(str(url))) == str(url)
    request.base_url  # noqa: B018
    request.query_params  # noqa: B018


@SETTINGS
@given(value=text)
def test_parse_options_header_never_raises(value: str) -> None:
    main, params = parse_options_header(value)
    assert main == main.lower()
    assert all(k == k.lower() for k in params)


# --------------------------------------------------------------------------- forms
def form_app() -> Any:
    async def router(scope: Any, receive: Any, send: Any) -> None:
        request = Request(scope, receive, send)
        form = await request.form()
        out: list[Any] = []
        for name, value in form.multi_items():
            if isinstance(value, UploadFile):
                out.append([name, value.filename, (await value.read()).hex()])
            else:
                out.append([name, value])
        await JSONResponse(out)(scope, receive, send)

    return make_app(plugin("router", make_router=lambda app, routes: router))


APP = form_app()


def post(body_chunks: list[bytes], content_type: str) -> tuple[int, Any]:
    """Send through the whole app: an unhandled exception would surface here (raise on)."""
    scope = http_scope(
        "POST",
        "/",
        [(b"content-type", content_type.encode("latin-1", "replace"))],
        client=None,
        server=None,
        **{"lamina.raise_server_exceptions": True},
    )
    sent = drive(APP, scope, body_messages(body_chunks), then_block=False, timeout=5)
    return sent.status, (sent.json() if sent.status == 200 else sent.body.decode())


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    out, last = [], 0
    for p in points:
        out.append(data[last:p])
        last = p
    out.append(data[last:])
    return out


@SETTINGS
@given(
    body=st.binary(max_size=300),
    boundary=st.sampled_from(["XyZ", "a", "-" * 10, "b b"]),
    cuts=st.lists(st.integers(0, 400), max_size=4),
)
def test_multipart_any_body_is_200_or_4xx(body: bytes, boundary: str, cuts: list[int]) -> None:
    status, _ = post(split(body, cuts), f"multipart/form-data; boundary={boundary}")
    assert status in (200, 400, 413)


@SETTINGS
@given(
    prefix=st.sampled_from(
        [
            b"--XyZ\r\n",
            b"--XyZ\r\nContent-Disposition: form-data; ",
            b'--XyZ\r\nContent-Disposition: form-data; name="a"\r\n\r\n',
        ]
    ),
    rest=st.binary(max_size=200),
    cuts=st.lists(st.integers(0, 300), max_size=3),
)
def test_multipart_plausible_prefixes_then_garbage(
    prefix: bytes, rest: bytes, cuts: list[int]
) -> None:
    status, _ = post(split(prefix + rest, cuts), "multipart/form-data; boundary=XyZ")
    assert status in (200, 400, 413)


field_name = st.text(
    st.characters(exclude_categories=["Cs"], exclude_characters='"\r\n\\%'), max_size=12
)
part = st.one_of(
    st.tuples(st.just("field"), field_name, text),
    st.tuples(st.just("file"), field_name, st.binary(max_size=200)),
)


@SETTINGS
@given(parts=st.lists(part, max_size=6), cuts=st.lists(st.integers(0, 2000), max_size=5))
def test_multipart_round_trip(parts: list[tuple[str, str, Any]], cuts: list[int]) -> None:
    boundary = "lamina-boundary-7f3a9c"
    chunks = []
    expected: list[Any] = []
    for i, (kind, name, value) in enumerate(parts):
        if kind == "field":
            head = f'Content-Disposition: form-data; name="{name}"\r\n\r\n'
            data = value.encode()
            expected.append([name, value])
        else:
            head = (
                f'Content-Disposition: form-data; name="{name}"; filename="f{i}"\r\n'
                "Content-Type: application/octet-stream\r\n\r\n"
            )
            data = value
            expected.append([name, f"f{i}", value.hex()])
        chunks.append(f"--{boundary}\r\n".encode() + head.encode() + data + b"\r\n")
    body = b"".join(chunks) + f"--{boundary}--\r\n".encode()
    if not parts:
        return  # an empty multipart body is not something a client can send meaningfully
    assert f"\r\n--{boundary}".encode() not in b"".join(
        p[2].encode() if isinstance(p[2], str) else p[2] for p in parts
    )
    status, got = post(split(body, cuts), f"multipart/form-data; boundary={boundary}")
    assert status == 200, got
    assert got == expected


@SETTINGS
@given(body=st.binary(max_size=200), cuts=st.lists(st.integers(0, 300), max_size=4))
def test_urlencoded_any_body_is_200_or_4xx(body: bytes, cuts: list[int]) -> None:
    status, _ = post(split(body, cuts), "application/x-www-form-urlencoded")
    assert status in (200, 400, 413)


@SETTINGS
@given(
    pairs=st.lists(st.tuples(text.filter(bool), text), max_size=8),
    cuts=st.lists(st.integers(0, 500), max_size=4),
)
def test_urlencoded_round_trip(pairs: list[tuple[str, str]], cuts: list[int]) -> None:
    status, got = post(split(urlencode(pairs).encode(), cuts), "application/x-www-form-urlencoded")
    assert status == 200
    assert got == [[k, v] for k, v in pairs]


@SETTINGS
@given(content_type=text)
def test_any_content_type_is_handled(content_type: str) -> None:
    status, _ = post([b"a=1"], content_type)
    assert status in (200, 400, 413, 415)


# --------------------------------------------------------------------------- a whole request
def inspect_app() -> Any:
    """An endpoint that reads every parsed view of the request (what a real one might)."""

    async def router(scope: Any, receive: Any, send: Any) -> None:
        request = Request(scope, receive, send)
        url = request.url
        out = {
            "url": str(url),
            "host": url.hostname,
            "port": url.port,
            "path": url.path,
            "base": str(request.base_url),
            "headers": request.headers.items(),
            "ua": request.headers.get("user-agent"),
            "cookies": request.cookies,
            "query": request.query_params.multi_items(),
            "client": request.client,
        }
        await JSONResponse(out)(scope, receive, send)

    return make_app(plugin("router", make_router=lambda app, routes: router))


INSPECT = inspect_app()
header_name = st.one_of(
    st.sampled_from([b"host", b"cookie", b"user-agent", b"content-type"]),
    st.binary(min_size=1, max_size=12).map(bytes.lower),
)


@SETTINGS
@given(
    headers=st.lists(st.tuples(header_name, header_bytes), max_size=8),
    query=st.binary(max_size=60),
    path=text,
    root=st.sampled_from(["", "/mount", "/é x"]),
)
def test_any_request_head_is_served_never_a_500(
    headers: list[tuple[bytes, bytes]], query: bytes, path: str, root: str
) -> None:
    """Arbitrary header bytes, query string and path through the whole app, with the error
    layer raising anything unhandled: every view of the request parses without error."""
    scope = http_scope(
        "GET",
        root + "/" + path,
        headers,
        query_string=query,
        client=("127.0.0.1", 9),
        server=None,
        raw_path=b"/",
        root_path=root,
        **{"lamina.raise_server_exceptions": True},
    )
    sent = drive(INSPECT, scope, body_messages([]), then_block=False, timeout=5)
    assert sent.status == 200
    data = sent.json()
    assert len(data["headers"]) == len(headers)
    assert data["url"].startswith("http://")


# --------------------------------------------------------------------------- header injection
@SETTINGS
@given(value=text)
def test_response_header_values_never_carry_cr_lf_nul(value: str) -> None:
    from lamina import Response

    try:
        response = Response(b"", headers={"x-h": value})
    except ValueError:  # CR/LF/NUL refused; UnicodeEncodeError (not latin-1) is a ValueError
        assert set(value) & {"\r", "\n", "\x00"} or not value.isascii()
        return
    for _, v in response.raw_headers:
        assert not set(v) & {13, 10, 0}


@SETTINGS
@given(url=text)
def test_redirect_location_is_always_safe(url: str) -> None:
    from lamina import RedirectResponse

    location = RedirectResponse(url).headers["location"]
    assert location.isascii()
    assert not set(location) & {"\r", "\n", "\x00", " "}
