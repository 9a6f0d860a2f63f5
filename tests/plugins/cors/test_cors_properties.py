"""Property tests: a grant only ever goes to an allowed origin, and names exactly it."""

from __future__ import annotations

import anyio
from hypothesis import given, settings
from hypothesis import strategies as st
from lamina_cors import CORSMiddleware

ALLOWED = ["https://app.example", "http://localhost:3000"]
origins = st.one_of(
    st.sampled_from([*ALLOWED, "https://app.example.evil", "null", "https://APP.example"]),
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=40),
)


async def endpoint(scope, receive, send):  # type: ignore[no-untyped-def]
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b""})


def grant(mw: CORSMiddleware, method: str, headers: list[tuple[bytes, bytes]]) -> dict:
    sent: list = []

    async def send(message):  # type: ignore[no-untyped-def]
        sent.append(message)

    scope = {"type": "http", "method": method, "path": "/", "headers": headers}
    anyio.run(mw, scope, None, send)
    out: dict = {}
    for k, v in sent[0]["headers"]:
        out.setdefault(k, []).append(v)
    return out


@settings(max_examples=150, deadline=None)
@given(origins, st.booleans())
def test_grant_only_for_allowed_origins(origin: str, credentials: bool) -> None:
    mw = CORSMiddleware(
        endpoint, allow_origins=ALLOWED, allow_credentials=credentials, allow_methods=["GET", "PUT"]
    )
    raw = origin.encode()
    for method, extra in (("GET", []), ("OPTIONS", [(b"access-control-request-method", b"PUT")])):
        headers = grant(mw, method, [(b"origin", raw), *extra])
        acao = headers.get(b"access-control-allow-origin")
        if origin in ALLOWED:
            assert acao == [raw]
        else:
            assert acao is None
            assert not any(k.startswith(b"access-control-") for k in headers)
        assert any(b"Origin" in v for v in headers[b"vary"])
