"""Forms and uploads: request.form() (lamina._forms and its parsers) through a real app
(error layer included); the data structures alone are in test_formdata.py."""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import pytest
from lamina import JSONResponse, Request, Response
from lamina._formdata import FormData, UploadFile
from lamina._formparsing import parse_options_header
from lamina._scopekeys import BODY_KEY, FORM_KEY
from lamina.testclient import TestClient
from lamina.testing import make_app, plugin

from tests.helpers.asgi import body_messages, drive, http_scope

Endpoint = Callable[[Request], Awaitable[Response]]


def app_for(endpoint: Endpoint, **kernel: Any) -> Any:
    """An app whose only 'route' is ``endpoint`` (a local router plugin)."""

    async def router(scope: Any, receive: Any, send: Any) -> None:
        response = await endpoint(Request(scope, receive, send))
        await response(scope, receive, send)

    def make_router(app: Any, routes: Any) -> Any:
        return router

    settings = {"lamina": kernel} if kernel else None
    return make_app(plugin("router", make_router=make_router), settings=settings)


async def describe(form: FormData) -> list[Any]:
    out: list[Any] = []
    for name, value in form.multi_items():
        if isinstance(value, UploadFile):
            data = await value.read()
            out.append(
                [
                    name,
                    {
                        "filename": value.filename,
                        "type": value.content_type,
                        "size": value.size,
                        "data": data.decode("latin-1"),
                    },
                ]
            )
        else:
            out.append([name, value])
    return out


async def echo(request: Request) -> Response:
    async with request.form() as form:
        return JSONResponse(await describe(form))


def multipart(*parts: bytes, boundary: str = "XyZ") -> tuple[bytes, dict[str, str]]:
    b = boundary.encode()
    body = b"".join(b"--" + b + b"\r\n" + p + b"\r\n" for p in parts) + b"--" + b + b"--\r\n"
    return body, {"content-type": f"multipart/form-data; boundary={boundary}"}


def text_part(name: str, value: str, extra: str = "") -> bytes:
    return (f'Content-Disposition: form-data; name="{name}"\r\n{extra}\r\n{value}').encode()


def file_part(name: str, filename: str, data: bytes, ctype: str = "text/plain") -> bytes:
    head = (
        f'Content-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
        f"Content-Type: {ctype}\r\n\r\n"
    )
    return head.encode() + data


# --------------------------------------------------------------------------- urlencoded
def test_urlencoded_decoding_and_multiple_values() -> None:
    with TestClient(app_for(echo)) as client:
        r = client.post(
            "/",
            content=b"a=1&b=x+y&a=%C3%A9%26&empty=&flag&=anon",
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
    assert r.status_code == 200
    assert r.json() == [
        ["a", "1"],
        ["b", "x y"],
        ["a", "é&"],
        ["empty", ""],
        ["flag", ""],
        ["", "anon"],
    ]


def test_urlencoded_getitem_is_last_value_getlist_all() -> None:
    async def endpoint(request: Request) -> Response:
        form = await request.form()
        return JSONResponse(
            {"a": form["a"], "all": form.getlist("a"), "len": len(form), "keys": list(form)}
        )

    with TestClient(app_for(endpoint)) as client:
        r = client.post("/", data={"a": ["1", "2"], "b": "3"})
    assert r.json() == {"a": "2", "all": ["1", "2"], "len": 2, "keys": ["a", "b"]}


def test_urlencoded_content_type_with_charset_parameter() -> None:
    with TestClient(app_for(echo)) as client:
        r = client.post(
            "/",
            content=b"x=1",
            headers={"content-type": "Application/X-WWW-Form-URLEncoded; charset=UTF-8"},
        )
    assert r.json() == [["x", "1"]]


def test_urlencoded_invalid_utf8_is_400() -> None:
    with TestClient(app_for(echo)) as client:
        r = client.post(
            "/", content=b"x=%FF%FE", headers={"content-type": "application/x-www-form-urlencoded"}
        )
    assert r.status_code == 400
    assert "not valid utf-8" in r.text


def test_urlencoded_limits() -> None:
    with TestClient(app_for(echo, max_form_fields=3, max_form_part_size=10)) as client:
        ct = {"content-type": "application/x-www-form-urlencoded"}
        assert client.post("/", content=b"a=1&b=2&c=3", headers=ct).status_code == 200
        r = client.post("/", content=b"a=1&b=2&c=3&d=4", headers=ct)
        assert r.status_code == 400
        assert "Too many form fields" in r.text
        r = client.post("/", content=b"a=" + b"x" * 20, headers=ct)
        assert r.status_code == 413
        # the limit counts name and value: a huge name is caught too
        assert client.post("/", content=b"x" * 20 + b"=1", headers=ct).status_code == 413


# --------------------------------------------------------------------------- multipart
def test_multipart_fields_and_files_in_wire_order() -> None:
    body, headers = multipart(
        text_part("title", "Hello"),
        file_part("doc", "a.txt", b"first file"),
        text_part("title", "again"),
        file_part("doc", "b.bin", b"\x00\x01\xff", "application/octet-stream"),
    )
    with TestClient(app_for(echo)) as client:
        r = client.post("/", content=body, headers=headers)
    assert r.status_code == 200
    assert r.json() == [
        ["title", "Hello"],
        ["doc", {"filename": "a.txt", "type": "text/plain", "size": 10, "data": "first file"}],
        ["title", "again"],
        [
            "doc",
            {
                "filename": "b.bin",
                "type": "application/octet-stream",
                "size": 3,
                "data": "\x00\x01\xff",
            },
        ],
    ]


def test_httpx_generated_multipart() -> None:
    with TestClient(app_for(echo)) as client:
        r = client.post("/", data={"a": "1"}, files={"f": ("n.txt", b"hello", "text/plain")})
    assert r.json() == [
        ["a", "1"],
        ["f", {"filename": "n.txt", "type": "text/plain", "size": 5, "data": "hello"}],
    ]


def test_part_without_filename_is_a_text_field_and_empty_filename_is_a_file() -> None:
    body, headers = multipart(
        b'Content-Disposition: form-data; name="notes"\r\nContent-Type: text/plain\r\n\r\nhi',
        b'Content-Disposition: form-data; name="pick"; filename=""\r\n'
        b"Content-Type: application/octet-stream\r\n\r\n",
    )
    with TestClient(app_for(echo)) as client:
        r = client.post("/", content=body, headers=headers)
    assert r.json() == [
        ["notes", "hi"],
        ["pick", {"filename": "", "type": "application/octet-stream", "size": 0, "data": ""}],
    ]


def test_filenames_utf8_quoted_and_rfc5987() -> None:
    body, headers = multipart(
        'Content-Disposition: form-data; name="a"; filename="résumé \\"v2\\".txt"\r\n\r\nx'.encode(),  # noqa: E501
        b"Content-Disposition: form-data; name=\"b\"; filename*=UTF-8''%E2%82%AC.txt\r\n\r\ny",
        b'Content-Disposition: form-data; name="c"; filename="C:\\dir\\f.txt"\r\n\r\nz',
    )
    with TestClient(app_for(echo)) as client:
        r = client.post("/", content=body, headers=headers)
    names = [item[1]["filename"] for item in r.json()]
    assert names == ['résumé "v2".txt', "€.txt", "C:\\dir\\f.txt"]


def test_text_part_charset_is_honoured() -> None:
    body, headers = multipart(
        b'Content-Disposition: form-data; name="t"\r\nContent-Type: text/plain; charset=latin-1'
        b"\r\n\r\ncaf\xe9",
    )
    with TestClient(app_for(echo)) as client:
        r = client.post("/", content=body, headers=headers)
    assert r.json() == [["t", "café"]]


def test_upload_headers_and_api() -> None:
    async def endpoint(request: Request) -> Response:
        form = await request.form()
        upload = form["f"]
        assert isinstance(upload, UploadFile)
        first = await upload.read(3)
        rest = await upload.read()
        await upload.seek(0)
        again = await upload.read()
        await upload.write(b"!")
        return JSONResponse(
            {
                "first": first.decode(),
                "rest": rest.decode(),
                "again": again.decode(),
                "size": upload.size,
                "x": upload.headers["x-extra"],
                "repr": repr(upload),
            }
        )

    body, headers = multipart(
        b'Content-Disposition: form-data; name="f"; filename="f.txt"\r\n'
        b"Content-Type: text/plain\r\nX-Extra: yes\r\n\r\nabcdef",
    )
    with TestClient(app_for(endpoint)) as client:
        r = client.post("/", content=body, headers=headers)
    assert r.json() == {
        "first": "abc",
        "rest": "def",
        "again": "abcdef",
        "size": 7,
        "x": "yes",
        "repr": "UploadFile(filename='f.txt', size=7, content_type='text/plain')",
    }


def test_large_upload_rolls_to_disk_and_keeps_data() -> None:
    data = bytes(range(256)) * 400  # 100 KiB
    seen: dict[str, Any] = {}

    async def endpoint(request: Request) -> Response:
        form = await request.form(spool_size=10_000)
        upload = form["f"]
        assert isinstance(upload, UploadFile)
        seen["in_memory"] = upload.in_memory
        seen["data"] = await upload.read()
        small = form["s"]
        assert isinstance(small, UploadFile)
        seen["small_in_memory"] = small.in_memory
        return Response(b"ok")

    body, headers = multipart(file_part("f", "big.bin", data), file_part("s", "s.txt", b"tiny"))
    with TestClient(app_for(endpoint)) as client:
        assert client.post("/", content=body, headers=headers).status_code == 200
    assert seen == {"in_memory": False, "data": data, "small_in_memory": True}


def test_spool_size_setting_from_app() -> None:
    seen = {}

    async def endpoint(request: Request) -> Response:
        upload = (await request.form())["f"]
        assert isinstance(upload, UploadFile)
        seen["in_memory"] = upload.in_memory
        return Response(b"")

    body, headers = multipart(file_part("f", "x", b"12345"))
    with TestClient(app_for(endpoint, upload_spool_size=4)) as client:
        client.post("/", content=body, headers=headers)
    assert seen == {"in_memory": False}


def asgi_call(app: Any, body_chunks: list[bytes], headers: dict[str, str]) -> tuple[int, bytes]:
    """Drive the app directly, delivering the body in the given chunks."""
    sent = drive(app, http_scope("POST", "/", headers), body_messages(body_chunks))
    return sent.status, sent.body


@pytest.mark.parametrize("size", [1, 2, 3, 7, 64])
def test_multipart_streamed_in_small_chunks(size: int) -> None:
    """Boundaries and headers split across chunks parse exactly like one chunk."""
    body, headers = multipart(
        text_part("a", "value with --XyZ inside"),
        file_part("f", "f.txt", b"--XyZ\r\n--Xy\r\n\r\n-"),
        text_part("b", ""),
    )
    chunks = [body[i : i + size] for i in range(0, len(body), size)]
    app = app_for(echo)
    status, out = asgi_call(app, chunks, headers)
    assert status == 200, out
    status1, out1 = asgi_call(app, [body], headers)
    assert (status, out) == (status1, out1)
    assert b'"value with --XyZ inside"' in out
    assert b'"data":"--XyZ\\r\\n--Xy\\r\\n\\r\\n-"' in out


def test_form_is_parsed_from_the_stream_not_a_buffered_body() -> None:
    seen = {}

    async def endpoint(request: Request) -> Response:
        await request.form()
        seen["buffered"] = BODY_KEY in request.scope
        return Response(b"")

    body, headers = multipart(file_part("f", "f", b"x" * 1000))
    asgi_call(app_for(endpoint), [body[:100], body[100:]], headers)
    assert seen == {"buffered": False}


def test_form_after_body_uses_the_cached_body() -> None:
    async def endpoint(request: Request) -> Response:
        raw = await request.body()
        form = await request.form()
        again = await request.form()
        assert again is form
        return JSONResponse({"len": len(raw), "form": await describe(form)})

    with TestClient(app_for(endpoint)) as client:
        r = client.post("/", data={"a": "1"})
    assert r.json() == {"len": 3, "form": [["a", "1"]]}


def test_epilogue_after_closing_boundary_is_ignored() -> None:
    body, headers = multipart(text_part("a", "1"))
    with TestClient(app_for(echo)) as client:
        r = client.post("/", content=body + b"trailing junk\r\n", headers=headers)
    assert r.json() == [["a", "1"]]


# --------------------------------------------------------------------------- limits
def test_too_many_files_and_fields_are_400_and_overridable_per_call() -> None:
    body, headers = multipart(*(file_part(f"f{i}", "x", b"1") for i in range(3)))
    fbody, fheaders = multipart(*(text_part(f"t{i}", "1") for i in range(3)))

    async def strict(request: Request) -> Response:
        async with request.form(max_files=2, max_fields=2) as form:
            return JSONResponse(len(form))

    with TestClient(app_for(strict)) as client:
        r = client.post("/", content=body, headers=headers)
        assert (r.status_code, r.text) == (400, "Too many files in the form: the limit is 2")
        r = client.post("/", content=fbody, headers=fheaders)
        assert (r.status_code, r.text) == (400, "Too many form fields: the limit is 2")
    with TestClient(app_for(echo, max_form_files=2)) as client:
        assert client.post("/", content=body, headers=headers).status_code == 400
        assert client.post("/", content=fbody, headers=fheaders).status_code == 200
    with TestClient(app_for(echo)) as client:
        assert client.post("/", content=body, headers=headers).status_code == 200


def test_text_part_too_large_is_413_but_files_are_not_limited_by_it() -> None:
    ok_body, headers = multipart(file_part("f", "big", b"x" * 5000), text_part("t", "y" * 100))
    bad_body, _ = multipart(text_part("t", "y" * 101))
    with TestClient(app_for(echo, max_form_part_size=100)) as client:
        assert client.post("/", content=ok_body, headers=headers).status_code == 200
        r = client.post("/", content=bad_body, headers=headers)
    assert r.status_code == 413
    assert "Form field 't' exceeds the limit of 100 bytes" in r.text


def test_part_headers_too_large_is_413() -> None:
    big = "x" * 300
    body, headers = multipart(
        f'Content-Disposition: form-data; name="a"\r\nX-Pad: {big}\r\n\r\nv'.encode()
    )
    with TestClient(app_for(echo, max_form_part_header_size=256)) as client:
        r = client.post("/", content=body, headers=headers)
        assert r.status_code == 413
        assert "headers of a form part" in r.text
    with TestClient(app_for(echo)) as client:
        assert client.post("/", content=body, headers=headers).status_code == 200


def test_too_many_part_headers_is_400() -> None:
    extra = "".join(f"X-H{i}: v\r\n" for i in range(20))
    body, headers = multipart(f'Content-Disposition: form-data; name="a"\r\n{extra}\r\nv'.encode())
    with TestClient(app_for(echo)) as client:
        r = client.post("/", content=body, headers=headers)
    assert r.status_code == 400


def test_body_size_limit_applies_to_forms() -> None:
    body, headers = multipart(file_part("f", "big", b"x" * 2000))
    with TestClient(app_for(echo, max_body_size=1000)) as client:
        r = client.post("/", content=body, headers=headers)
    assert r.status_code == 413
    # without Content-Length the limit is enforced while streaming
    status, _ = asgi_call(app_for(echo, max_body_size=1000), [body[:600], body[600:]], headers)
    assert status == 413


# --------------------------------------------------------------------------- malformed
@pytest.mark.parametrize(
    ("content_type", "body", "reason"),
    [
        ("multipart/form-data", b"--x\r\n", "no boundary"),
        ("multipart/form-data; boundary=" + "b" * 300, b"", "invalid boundary"),
        ("multipart/form-data; boundary=a\x7fb", b"", "invalid boundary"),
        ("multipart/form-data; boundary=XyZ", b"", "truncated"),
        (
            "multipart/form-data; boundary=XyZ",
            b'--XyZ\r\nContent-Disposition: form-data; name="a"\r\n\r\nunfinished',
            "truncated",
        ),
        (
            "multipart/form-data; boundary=XyZ",
            b"--XyZ\r\nno colon here\r\n\r\nv\r\n--XyZ--",
            "Malformed multipart body",
        ),
        (
            "multipart/form-data; boundary=XyZ",
            b"--XyZ\r\nContent-Type: text/plain\r\n\r\nv\r\n--XyZ--\r\n",
            "no Content-Disposition",
        ),
        (
            "multipart/form-data; boundary=XyZ",
            b"--XyZ\r\nContent-Disposition: form-data\r\n\r\nv\r\n--XyZ--\r\n",
            "has no name",
        ),
        (
            "multipart/form-data; boundary=XyZ",
            b'--XyZ\r\nContent-Disposition: attachment; name="a"\r\n\r\nv\r\n--XyZ--\r\n',
            "is not form-data",
        ),
        (
            "multipart/form-data; boundary=XyZ",
            b'--XyZ\r\nContent-Disposition: form-data; name="a"\r\n\r\n\xff\r\n--XyZ--\r\n',
            "not valid utf-8",
        ),
        (
            "multipart/form-data; boundary=XyZ",
            b'--XyZ\r\nContent-Disposition: form-data; name="a"\r\nContent-Type: text/plain; '
            b"charset=klingon\r\n\r\nv\r\n--XyZ--\r\n",
            "unknown charset",
        ),
        ("multipart/form-data; boundary=XyZ", b"--Other\r\n\r\n", "Malformed multipart body"),
    ],
)
def test_malformed_multipart_is_400_with_reason(
    content_type: str, body: bytes, reason: str
) -> None:
    with TestClient(app_for(echo)) as client:
        r = client.post("/", content=body, headers={"content-type": content_type})
    assert r.status_code == 400
    assert reason in r.text


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (
            b'--XyZ\r\nContent-Disposition: form-data; name="a"\nX: 1\r\n\r\nv\r\n--XyZ--',
            "bare CR or LF",
        ),
        (
            b'--XyZ\r\nContent-Disposition: form-data; name="a"\rX: 1\r\n\r\nv\r\n--XyZ--',
            "bare CR or LF",
        ),
        (
            b'--XyZ\r\nContent-Disposition: form-data; name="a"\r\n X: folded\r\n\r\nv\r\n--XyZ--',
            "invalid part header",
        ),
        (b"--XyZ\r\nBad Name: 1\r\n\r\nv\r\n--XyZ--", "invalid part header"),
        (b"--XyZ\r\n: empty name\r\n\r\nv\r\n--XyZ--", "invalid part header"),
        (
            b'--XyZjunk\r\nContent-Disposition: form-data; name="a"\r\n\r\nv\r\n--XyZ--',
            "after a boundary",
        ),
        (
            b'preamble\r\n--XyZ\r\nContent-Disposition: form-data; name="a"\r\n\r\nv\r\n--XyZ--',
            "does not start with its boundary",
        ),
    ],
)
def test_multipart_grammar_is_enforced(body: bytes, reason: str) -> None:
    """Header names are tokens, header lines end in CRLF (no bare CR or LF), a delimiter line
    holds nothing but padding: each violation is a 400 saying which."""
    headers = {"content-type": "multipart/form-data; boundary=XyZ"}
    for chunks in ([body], [body[i : i + 3] for i in range(0, len(body), 3)]):
        status, out = asgi_call(app_for(echo), chunks, headers)
        assert status == 400, out
        assert reason.encode() in out, out


def test_multipart_leniencies_leading_crlf_padding_and_no_final_crlf() -> None:
    """What RFC 2046 allows and clients send: CRLFs before the first delimiter, spaces and
    tabs after a delimiter, a header with no space after its colon, no CRLF after the closing
    delimiter; a delimiter's prefix inside the data is data. (A whole delimiter followed by
    anything else is refused above: RFC 2046 forbids it inside a part.)"""
    body = (
        b"\r\n\r\n--XyZ \t\r\n"
        b'content-disposition:form-data; name="a"\r\n\r\n1\r\n'
        b"--XyZ\r\n"
        b'Content-Disposition: form-data; name="f"; filename="f.txt"\r\n\r\n\r\n--Xy\r\n'
        b"--XyZ--"
    )
    headers = {"content-type": "multipart/form-data; boundary=XyZ"}
    for size in (len(body), 1, 5):
        status, out = asgi_call(
            app_for(echo), [body[i : i + size] for i in range(0, len(body), size)], headers
        )
        assert status == 200, out
        assert out == (
            b'[["a","1"],["f",{"filename":"f.txt","type":null,"size":6,"data":"\\r\\n--Xy"}]]'
        ), out


def test_part_headers_still_arriving_are_bounded_by_the_header_limit() -> None:
    """A part whose blank line never comes is refused once its headers pass the limit,
    without waiting for (or buffering) the rest of the body."""
    start = b'--XyZ\r\nContent-Disposition: form-data; name="a"\r\nX-Pad: '
    chunks = [start] + [b"y" * 100] * 50
    headers = {"content-type": "multipart/form-data; boundary=XyZ"}
    status, out = asgi_call(app_for(echo, max_form_part_header_size=1000), chunks, headers)
    assert status == 413
    assert b"headers of a form part exceed the limit of 1000 bytes" in out


@pytest.mark.parametrize("headers", [{"content-type": "application/json"}, {}])
def test_non_form_content_type_is_415(headers: dict[str, str]) -> None:
    with TestClient(app_for(echo)) as client:
        r = client.post("/", content=b"{}", headers=headers)
    assert r.status_code == 415


# --------------------------------------------------------------------------- cleanup
def test_form_closed_when_request_ends_without_async_with() -> None:
    kept: list[UploadFile] = []

    async def endpoint(request: Request) -> Response:
        form = await request.form(spool_size=10)
        upload = form["f"]
        assert isinstance(upload, UploadFile)
        kept.append(upload)
        assert not upload.file.closed
        return Response(b"")

    body, headers = multipart(file_part("f", "f", b"x" * 100))
    with TestClient(app_for(endpoint)) as client:
        client.post("/", content=body, headers=headers)
    assert kept[0].file.closed
    assert not kept[0].in_memory


def test_form_closed_when_endpoint_raises() -> None:
    kept: list[UploadFile] = []

    async def endpoint(request: Request) -> Response:
        upload = (await request.form())["f"]
        assert isinstance(upload, UploadFile)
        kept.append(upload)
        raise RuntimeError("boom")

    body, headers = multipart(file_part("f", "f", b"x"))
    with TestClient(app_for(endpoint), raise_server_exceptions=False) as client:
        assert client.post("/", content=body, headers=headers).status_code == 500
    assert kept[0].file.closed


def test_async_with_closes_at_block_exit() -> None:
    states = []

    async def endpoint(request: Request) -> Response:
        async with request.form() as form:
            upload = form["f"]
            assert isinstance(upload, UploadFile)
            states.append(upload.file.closed)
        states.append(upload.file.closed)
        return Response(b"")

    body, headers = multipart(file_part("f", "f", b"x"))
    with TestClient(app_for(endpoint)) as client:
        client.post("/", content=body, headers=headers)
    assert states == [False, True]


def test_files_closed_when_parsing_fails_midway_and_error_is_cached() -> None:
    seen: dict[str, Any] = {}

    async def endpoint(request: Request) -> Response:
        try:
            await request.form()
        except Exception as exc:
            form = request.scope.get(FORM_KEY)
            seen["first"] = type(exc).__name__
        try:
            await request.form()
        except Exception as exc:
            seen["second"] = type(exc).__name__
            seen["same"] = exc is form
        raise RuntimeError("unreachable") from None

    # the first file is complete, then the body is truncated inside the second part
    body = b"--XyZ\r\n" + file_part("a", "a", b"data") + b"\r\n--XyZ\r\n" + text_part("b", "cut")
    with TestClient(app_for(endpoint), raise_server_exceptions=False) as client:
        client.post(
            "/", content=body, headers={"content-type": "multipart/form-data; boundary=XyZ"}
        )
    assert seen == {"first": "RequestError", "second": "RequestError", "same": True}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (
            'form-data; name="a"; filename="b.txt"',
            ("form-data", {"name": "a", "filename": "b.txt"}),
        ),
        ('form-data; name="a;b"', ("form-data", {"name": "a;b"})),
        ("FORM-DATA;NAME=a", ("form-data", {"name": "a"})),
        ('x; a="1"; a="2"', ("x", {"a": "1"})),
        ("x; filename*=UTF-8''%C3%A9; filename=plain", ("x", {"filename": "plain"})),
        ("x; filename*=bogus", ("x", {})),
        ('x; a="unterminated', ("x", {"a": '"unterminated'})),
        ("text/plain", ("text/plain", {})),
        ("", ("", {})),
    ],
)
def test_parse_options_header(value: str, expected: tuple[str, dict[str, str]]) -> None:
    assert parse_options_header(value) == expected


# --------------------------------------------------------------------------- memory bounds
def test_in_memory_uploads_are_bounded_later_files_go_to_disk() -> None:
    seen: list[bool] = []

    async def endpoint(request: Request) -> Response:
        form = await request.form()
        seen.extend(f.in_memory for f in form.files())
        return Response(b"")

    size = 1024 * 1024  # each fits the 1 MiB spool size
    body, headers = multipart(*(file_part(f"f{i}", "x", b"y" * size) for i in range(10)))
    with TestClient(app_for(endpoint, max_body_size=None)) as client:
        assert client.post("/", content=body, headers=headers).status_code == 200
    assert seen[:8] == [True] * 8  # 8 MiB budget
    assert seen[8:] == [False, False]


def test_text_fields_are_capped_in_total() -> None:
    mib = 1024 * 1024
    body, headers = multipart(*(text_part(f"t{i}", "z" * (mib - 100)) for i in range(17)))
    with TestClient(app_for(echo, max_body_size=None)) as client:
        r = client.post("/", content=body, headers=headers)
    assert r.status_code == 413
    assert "text fields exceed 16777216 bytes in total" in r.text


# --------------------------------------------------------------------------- disconnects
def test_client_disconnect_during_upload_closes_files_and_sends_nothing() -> None:
    kept: list[FormData] = []

    async def endpoint(request: Request) -> Response:
        reader = request.form(spool_size=10)
        try:
            await reader
        finally:
            kept.append(request.scope[FORM_KEY])
        raise AssertionError("unreachable")

    body, headers = multipart(file_part("f", "f", b"x" * 1000))
    scope = http_scope(
        "POST", "/", headers, client=None, server=None, **{"lamina.raise_server_exceptions": True}
    )
    messages = [
        {"type": "http.request", "body": body[:500], "more_body": True},
        {"type": "http.disconnect"},
    ]
    sent = drive(app_for(endpoint), scope, messages).messages
    assert sent == []
    assert isinstance(kept[0], Exception)  # the failure is remembered for later readers


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_forms_on_both_backends(backend: str) -> None:
    body, headers = multipart(text_part("a", "1"), file_part("f", "f.txt", b"x" * 5000))
    with TestClient(app_for(echo, upload_spool_size=100), backend=backend) as client:
        r = client.post("/", content=body, headers=headers)
    assert r.json()[1][1]["size"] == 5000


# --------------------------------------------------------------------------- real servers
@pytest.mark.parametrize(("server", "loop"), [("uvicorn", "asyncio"), ("hypercorn", "trio")])
def test_streamed_upload_through_a_real_server(server: str, loop: str) -> None:
    import hashlib

    import httpx

    from tests.helpers.servers import serve

    async def endpoint(request: Request) -> Response:
        async with request.form() as form:
            upload = form["f"]
            assert isinstance(upload, UploadFile)
            digest = hashlib.sha256()
            while chunk := await upload.read(65536):
                digest.update(chunk)
            return JSONResponse(
                {
                    "sha": digest.hexdigest(),
                    "size": upload.size,
                    "disk": not upload.in_memory,
                    "note": form["note"],
                }
            )

    piece = bytes(range(256)) * 64  # 16 KiB
    count = 200  # 3.125 MiB
    expected = hashlib.sha256(piece * count).hexdigest()
    head = (
        b'--B\r\nContent-Disposition: form-data; name="note"\r\n\r\nhi\r\n--B\r\n'
        b'Content-Disposition: form-data; name="f"; filename="x.bin"\r\n\r\n'
    )

    def body() -> Any:
        yield head
        for _ in range(count):
            yield piece
        yield b"\r\n--B--\r\n"

    with serve(app_for(endpoint, max_body_size=None), server=server, loop=loop) as url:
        r = httpx.post(
            url + "/",
            content=body(),
            timeout=30,
            headers={"content-type": "multipart/form-data; boundary=B"},
        )
    assert r.json() == {"sha": expected, "size": len(piece) * count, "disk": True, "note": "hi"}


def test_urlencoded_charset_parameter_is_honoured() -> None:
    with TestClient(app_for(echo)) as client:
        r = client.post(
            "/",
            content=b"caf%E9=%E9t%E9",
            headers={"content-type": "application/x-www-form-urlencoded; charset=ISO-8859-1"},
        )
        assert r.json() == [["café", "été"]]
        r = client.post(
            "/",
            content=b"a=1",
            headers={"content-type": "application/x-www-form-urlencoded; charset=nope"},
        )
        assert (r.status_code, r.text) == (400, "A form field name: unknown charset 'nope'")


@pytest.mark.parametrize("charset", ["undefined", "punycode"])
def test_codecs_that_raise_unicode_error_are_400_not_500(charset: str) -> None:
    """Some codecs raise the base ``UnicodeError`` (not ``UnicodeDecodeError``) on decoding;
    the client picks the charset, so that must be a 400 like any other undecodable text."""
    with TestClient(app_for(echo)) as client:
        r = client.post(
            "/",
            content=b"%FF%80=1",
            headers={"content-type": f"application/x-www-form-urlencoded; charset={charset}"},
        )
        assert (r.status_code, r.text) == (400, f"A form field name is not valid {charset}")
        body, headers = multipart(
            text_part("t", "\xff\x80", extra=f"Content-Type: text/plain; charset={charset}\r\n")
        )
        r = client.post("/", content=body, headers=headers)
        assert (r.status_code, r.text) == (400, f"Form field 't' is not valid {charset}")
        # an RFC 5987 parameter in a charset that cannot decode it is ignored, not a 500
        body, headers = multipart(
            f"Content-Disposition: form-data; name=\"f\"; filename*={charset}''%FF%80; "
            'filename="plain.txt"\r\n\r\nx'.encode()
        )
        r = client.post("/", content=body, headers=headers)
        assert r.status_code == 200
        assert r.json()[0][1]["filename"] == "plain.txt"


def test_upload_disk_writes_and_reads_run_off_the_event_loop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Once an upload spills to disk, every write/read/seek/close happens in a worker thread;
    while it is in memory they stay on the loop (no thread hop for small files)."""
    import io
    import threading
    from tempfile import TemporaryFile

    import lamina._formdata

    calls: list[tuple[str, bool]] = []  # (operation on the disk file, on the loop thread)

    def note(op: str) -> None:
        calls.append((op, threading.current_thread() is loop_thread[0]))

    class Spy:
        """The temporary file an upload rolls over to, noting where each call runs."""

        def __init__(self) -> None:
            note("create")
            self._file = TemporaryFile()  # noqa: SIM115  # closed through close()

        def __getattr__(self, name: str) -> Any:
            method = getattr(self._file, name)
            if name not in ("write", "read", "seek", "close"):
                return method

            def noted(*args: Any) -> Any:
                note(name)
                return method(*args)

            return noted

    monkeypatch.setattr(lamina._formdata, "new_disk_file", Spy)
    loop_thread: list[threading.Thread] = []
    data = bytes(range(256)) * 200  # 50 KiB, streamed in small chunks below

    async def endpoint(request: Request) -> Response:
        loop_thread.append(threading.current_thread())
        async with request.form(spool_size=1000) as form:
            upload = form["f"]
            assert isinstance(upload, UploadFile) and not upload.in_memory
            got = await upload.read()
            small = form["s"]
            assert isinstance(small, UploadFile) and small.in_memory
            assert type(small.file) is io.BytesIO  # in memory: no file I/O to move off the loop
            return Response(got + b"|" + await small.read())

    body, headers = multipart(file_part("s", "s.txt", b"tiny"), file_part("f", "f.bin", data))
    pieces = [body[i : i + 4096] for i in range(0, len(body), 4096)]
    status, out = asgi_call(app_for(endpoint), pieces, headers)
    assert (status, out) == (200, data + b"|tiny")
    ops = [op for op, _ in calls]
    assert ops[0] == "create" and ops.count("create") == 1, ops
    assert ops.count("write") > 5 and "read" in ops and "close" in ops, ops
    assert not any(on_loop for _, on_loop in calls), calls


def test_a_background_task_can_still_read_the_upload_then_it_is_closed() -> None:
    """Without a spawner the response's background runs inside the request, before the
    request's cleanups: it can process the upload, and the upload is closed afterwards."""
    seen: dict[str, Any] = {}

    async def endpoint(request: Request) -> Response:
        form = await request.form(spool_size=10)
        upload = form["f"]
        assert isinstance(upload, UploadFile)

        async def process() -> None:
            seen["data"] = await upload.read()
            seen["closed_during"] = upload.file.closed

        seen["upload"] = upload
        return Response(b"accepted", status_code=202, background=process)

    body, headers = multipart(file_part("f", "f.bin", b"y" * 1000))
    with TestClient(app_for(endpoint)) as client:
        r = client.post("/", content=body, headers=headers)
    assert (r.status_code, r.content) == (202, b"accepted")
    assert seen["data"] == b"y" * 1000 and seen["closed_during"] is False
    assert seen["upload"].file.closed


def _spawn_app(endpoint: Endpoint, *plugins: Any, **kwargs: Any) -> Any:
    async def router(scope: Any, receive: Any, send: Any) -> None:
        response = await endpoint(Request(scope, receive, send))
        await response(scope, receive, send)

    return make_app(plugin("router", make_router=lambda app, routes: router), *plugins, **kwargs)


def test_a_spawned_background_task_can_read_the_upload_and_closes_it_after() -> None:
    """Handed to a spawner (lamina-background), the work outlives the request: the form's
    cleanup moves to the end of the work instead of closing the upload under it."""
    from lamina import Middleware
    from lamina._responses import SPAWN_KEY

    spawned: list[Any] = []
    seen: dict[str, Any] = {}

    def with_spawner(app: Any) -> Any:
        async def middleware(scope: Any, receive: Any, send: Any) -> None:
            scope[SPAWN_KEY] = spawned.append
            await app(scope, receive, send)

        return middleware

    async def endpoint(request: Request) -> Response:
        form = await request.form(spool_size=10)
        upload = form["f"]
        assert isinstance(upload, UploadFile)
        seen["upload"] = upload

        async def process() -> None:
            seen["data"] = await upload.read()

        return Response(b"queued", background=process)

    body, headers = multipart(file_part("f", "f.bin", b"z" * 500))
    app = _spawn_app(endpoint, middleware=[Middleware(with_spawner)])
    with TestClient(app) as client:
        assert client.post("/", content=body, headers=headers).content == b"queued"
    upload = seen["upload"]
    assert not upload.file.closed  # the request ended, the work has not run yet
    assert len(spawned) == 1
    anyio.run(spawned[0])
    assert seen["data"] == b"z" * 500
    assert upload.file.closed


def test_uploads_in_a_real_lamina_background_task() -> None:
    seen: dict[str, Any] = {}
    responded = threading.Event()

    async def endpoint(request: Request) -> Response:
        form = await request.form(spool_size=10)
        upload = form["f"]
        assert isinstance(upload, UploadFile)
        seen["upload"] = upload

        async def process() -> None:
            # the response is gone: the client has it (an event, not a guess at a delay)
            assert await anyio.to_thread.run_sync(responded.wait, 10)
            seen["data"] = await upload.read()

        return Response(b"queued", background=process)

    body, headers = multipart(file_part("f", "f.bin", b"w" * 300))
    with TestClient(_spawn_app(endpoint, "background")) as client:
        assert client.post("/", content=body, headers=headers).content == b"queued"
        responded.set()
    # leaving the block ran the lifespan shutdown, which drains the background tasks
    assert seen["data"] == b"w" * 300
    assert seen["upload"].file.closed


def test_limits_are_kept_per_frozen_settings_and_recomputed_for_mutable_ones() -> None:
    """The kernel's settings are frozen, so their limits are computed once; a foreign app's
    settings object may change, so its limits are read again on every form."""
    from lamina._formparsing import default_limits
    from lamina._settings import KernelSettings

    class ForeignSettings:
        max_form_fields = 1

    foreign = ForeignSettings()
    assert default_limits(foreign).max_fields == 1
    foreign.max_form_fields = 2
    assert default_limits(foreign).max_fields == 2
    kernel = KernelSettings()
    assert default_limits(kernel) is default_limits(kernel)
    assert default_limits(None).max_fields == 1000
