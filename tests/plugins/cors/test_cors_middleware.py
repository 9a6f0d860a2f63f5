"""CORSMiddleware as plain ASGI middleware: simple requests, preflights, Vary."""

from __future__ import annotations

import pytest
from cors_harness import Endpoint
from lamina.testclient import TestClient
from lamina_cors import CORSMiddleware, InsecureCORSWarning

ORIGIN = "https://app.example"
OTHER = "https://evil.example"


def client(**options: object) -> tuple[TestClient, Endpoint]:
    endpoint = Endpoint()
    return TestClient(CORSMiddleware(endpoint, **options)), endpoint


def vary(response: object) -> set[str]:
    values = response.headers.get_list("vary")  # type: ignore[attr-defined]
    return {v.strip().lower() for value in values for v in value.split(",")}


def acao(response: object) -> str | None:
    return response.headers.get("access-control-allow-origin")  # type: ignore[attr-defined]


# ---------------------------------------------------------------------------- non-CORS
def test_request_without_origin_reaches_app_without_grant_but_with_vary() -> None:
    c, endpoint = client(allow_origins=[ORIGIN])
    r = c.get("/")
    assert r.status_code == 200 and r.text == "ok"
    assert endpoint.calls == 1
    assert not [k for k in r.headers if k.startswith("access-control-")]
    assert vary(r) == {"origin"}


# ---------------------------------------------------------------------------- simple
def test_allowed_origin_is_echoed_with_vary() -> None:
    c, _ = client(allow_origins=[ORIGIN, "https://other.example"])
    r = c.get("/", headers={"origin": ORIGIN})
    assert acao(r) == ORIGIN
    assert "origin" in vary(r)
    assert "access-control-allow-credentials" not in r.headers
    assert r.headers["x-custom"] == "1"


def test_disallowed_origin_gets_no_grant_but_the_app_still_answers() -> None:
    c, endpoint = client(allow_origins=[ORIGIN])
    r = c.get("/", headers={"origin": OTHER})
    assert r.status_code == 200 and endpoint.calls == 1
    assert not [k for k in r.headers if k.startswith("access-control-")]
    assert vary(r) == {"origin"}


def test_origin_matching_is_exact_not_prefix() -> None:
    c, _ = client(allow_origins=[ORIGIN])
    for origin in (ORIGIN + ".evil", "http://app.example", ORIGIN + ":8443", "null"):
        assert acao(c.get("/", headers={"origin": origin})) is None, origin


def test_configured_origin_is_normalised() -> None:
    c, _ = client(allow_origins=["HTTPS://App.Example/"])
    assert acao(c.get("/", headers={"origin": ORIGIN})) == ORIGIN


def test_wildcard_without_credentials_sends_star_on_every_response_without_vary() -> None:
    c, _ = client(allow_origins=["*"], expose_headers=["X-Custom"])
    for headers in ({"origin": OTHER}, {}):
        r = c.get("/", headers=headers)
        assert acao(r) == "*"
        assert r.headers["access-control-expose-headers"] == "X-Custom"
        assert "access-control-allow-credentials" not in r.headers
        assert "vary" not in r.headers  # the answer does not depend on Origin


def test_credentials_and_exposed_headers() -> None:
    c, _ = client(
        allow_origins=[ORIGIN], allow_credentials=True, expose_headers=["X-Custom", "X-Total"]
    )
    r = c.get("/", headers={"origin": ORIGIN})
    assert acao(r) == ORIGIN
    assert r.headers["access-control-allow-credentials"] == "true"
    assert r.headers["access-control-expose-headers"] == "X-Custom, X-Total"


def test_credentials_with_wildcard_echo_the_origin_and_warn() -> None:
    with pytest.warns(InsecureCORSWarning, match="credentials"):
        c, _ = client(allow_origins=["*"], allow_credentials=True)
    r = c.get("/", headers={"origin": OTHER})
    assert acao(r) == OTHER
    assert r.headers["access-control-allow-credentials"] == "true"
    assert "origin" in vary(r)
    pre = c.options("/", headers={"origin": OTHER, "access-control-request-method": "GET"})
    assert acao(pre) == OTHER


def test_credentials_with_wildcard_and_regex_do_not_warn() -> None:
    # filterwarnings=error: a warning here fails the test.
    CORSMiddleware(
        Endpoint(), allow_origins=["*"], allow_origin_regex=r"https://.*", allow_credentials=True
    )


def test_origin_regex_must_match_fully() -> None:
    c, _ = client(allow_origin_regex=r"https://[a-z]+\.example\.com")
    assert acao(c.get("/", headers={"origin": "https://api.example.com"})) == (
        "https://api.example.com"
    )
    assert acao(c.get("/", headers={"origin": "https://api.example.com.evil.org"})) is None
    assert acao(c.get("/", headers={"origin": "https://example.com"})) is None


def test_the_apps_header_list_is_never_mutated() -> None:
    c, endpoint = client(allow_origins=[ORIGIN], expose_headers=["X-Custom"])
    before = list(endpoint.response.raw_headers)
    for _ in range(3):
        r = c.get("/", headers={"origin": ORIGIN})
        assert r.headers.get_list("access-control-allow-origin") == [ORIGIN]
        c.get("/")
    assert endpoint.response.raw_headers == before


def test_options_without_request_method_is_an_actual_request() -> None:
    c, endpoint = client(allow_origins=[ORIGIN])
    r = c.options("/", headers={"origin": ORIGIN})
    assert endpoint.calls == 1 and r.text == "ok"
    assert acao(r) == ORIGIN
    assert "access-control-allow-methods" not in r.headers


# ---------------------------------------------------------------------------- preflight
def preflight(
    c: TestClient,
    origin: str = ORIGIN,
    method: str = "PUT",
    headers: str | None = None,
    **extra: str,
) -> object:
    h = {"origin": origin, "access-control-request-method": method, **extra}
    if headers is not None:
        h["access-control-request-headers"] = headers
    return c.options("/", headers=h)


def test_allowed_preflight_is_answered_without_calling_the_app() -> None:
    c, endpoint = client(
        allow_origins=[ORIGIN],
        allow_methods=["GET", "PUT"],
        allow_headers=["X-Token"],
        max_age=1234,
        allow_credentials=True,
    )
    r = preflight(c, headers="x-token, content-type")
    assert endpoint.calls == 0
    assert r.status_code == 204 and r.content == b""
    assert acao(r) == ORIGIN
    assert set(r.headers["access-control-allow-methods"].split(", ")) == {"GET", "PUT"}
    assert r.headers["access-control-allow-headers"] == "x-token, content-type"
    assert r.headers["access-control-max-age"] == "1234"
    assert r.headers["access-control-allow-credentials"] == "true"
    assert {"origin", "access-control-request-method", "access-control-request-headers"} <= vary(r)


@pytest.mark.parametrize(
    ("origin", "method", "headers", "reason"),
    [
        (OTHER, "PUT", None, "origin"),
        (ORIGIN, "DELETE", None, "method"),
        (ORIGIN, "PUT", "x-token, x-unknown", "headers"),
    ],
)
def test_disallowed_preflight_gets_no_grant(
    origin: str, method: str, headers: str | None, reason: str
) -> None:
    c, endpoint = client(allow_origins=[ORIGIN], allow_methods=["PUT"], allow_headers=["x-token"])
    r = preflight(c, origin, method, headers)
    assert endpoint.calls == 0
    assert r.status_code == 400
    assert reason in r.text
    assert not [k for k in r.headers if k.startswith("access-control-")]
    assert "origin" in vary(r)


def test_safelisted_methods_pass_the_preflight_method_check() -> None:
    c, _ = client(allow_origins=[ORIGIN], allow_methods=["PUT"], allow_headers=["x-token"])
    r = preflight(c, method="GET", headers="x-token")
    assert r.status_code == 204
    assert preflight(c, method="PATCH", headers="x-token").status_code == 400


def test_safelisted_request_headers_are_always_allowed() -> None:
    c, _ = client(allow_origins=[ORIGIN], allow_methods=["POST"])
    r = preflight(c, method="POST", headers="Content-Type,Accept")
    assert r.status_code == 204
    assert r.headers["access-control-allow-headers"] == "content-type, accept"


def test_wildcard_headers_and_methods_echo_what_was_asked() -> None:
    c, _ = client(allow_origins=[ORIGIN], allow_methods=["*"], allow_headers=["*"])
    r = preflight(c, method="PROPFIND", headers="authorization, x-anything")
    assert r.status_code == 204
    # "*" would not cover Authorization, so the names are echoed.
    assert r.headers["access-control-allow-headers"] == "authorization, x-anything"
    assert r.headers["access-control-allow-methods"] == "*"


def test_wildcard_methods_with_credentials_echo_the_method() -> None:
    # With credentials "*" is a literal method name to the browser: echo what was asked.
    c, _ = client(allow_origins=[ORIGIN], allow_methods=["*"], allow_credentials=True)
    for method in ("PATCH", "PROPFIND"):
        r = preflight(c, method=method)
        assert r.status_code == 204
        assert r.headers.get_list("access-control-allow-methods") == [method]


def test_max_age_none_sends_no_max_age() -> None:
    c, _ = client(allow_origins=[ORIGIN], allow_methods=["PUT"], max_age=None)
    assert "access-control-max-age" not in preflight(c).headers


def test_private_network_access_granted_when_enabled() -> None:
    c, _ = client(allow_origins=[ORIGIN], allow_methods=["GET"], allow_private_network=True)
    r = preflight(c, method="GET", **{"access-control-request-private-network": "true"})
    assert r.status_code == 204
    assert r.headers["access-control-allow-private-network"] == "true"
    plain = preflight(c, method="GET")
    assert "access-control-allow-private-network" not in plain.headers


def test_private_network_access_refused_by_default() -> None:
    c, _ = client(allow_origins=[ORIGIN], allow_methods=["GET"])
    r = preflight(c, method="GET", **{"access-control-request-private-network": "true"})
    assert r.status_code == 400
    assert "access-control-allow-private-network" not in r.headers
    assert acao(r) is None


# ---------------------------------------------------------------------------- other scopes
def test_non_http_scopes_pass_through_untouched() -> None:
    import anyio

    seen = []

    async def inner(scope: object, receive: object, send: object) -> None:
        seen.append(scope)

    mw = CORSMiddleware(inner, allow_origins=[ORIGIN])
    scope = {"type": "websocket", "headers": [(b"origin", OTHER.encode())]}
    anyio.run(mw, scope, None, None)
    assert seen == [scope]


def test_invalid_origin_configuration_is_refused() -> None:
    with pytest.raises(ValueError, match="invalid CORS origin"):
        CORSMiddleware(Endpoint(), allow_origins=["https://app.example/path"])


def test_expose_all_with_credentials_lists_the_response_header_names() -> None:
    # With credentials "*" would expose a header literally named "*": list the names.
    c, _ = client(allow_origins=[ORIGIN], allow_credentials=True, expose_headers=["*"])
    r = c.get("/", headers={"origin": ORIGIN})
    assert acao(r) == ORIGIN
    exposed = r.headers.get_list("access-control-expose-headers")
    assert len(exposed) == 1 and "*" not in exposed[0]
    assert "x-custom" in exposed[0].split(", ")
    # A disallowed origin gets no grant and nothing exposed.
    denied = c.get("/", headers={"origin": OTHER})
    assert not [k for k in denied.headers if k.startswith("access-control-")]
    # Without credentials "*" means every header to the browser and is sent as it is.
    c2, _ = client(allow_origins=[ORIGIN], expose_headers=["*"])
    assert c2.get("/", headers={"origin": ORIGIN}).headers["access-control-expose-headers"] == "*"


def test_wildcard_grant_on_every_method_and_preflights_still_answered() -> None:
    """With "*" and no credentials only OPTIONS needs the request headers read."""
    c, endpoint = client(allow_origins=["*"], allow_methods=["GET", "PUT"])
    for method in ("POST", "PUT", "DELETE", "OPTIONS"):
        for headers in ({"origin": OTHER}, {}):
            r = c.request(method, "/", headers=headers)
            assert r.status_code == 200 and r.text == "ok", (method, headers)
            assert acao(r) == "*" and "vary" not in r.headers
    assert endpoint.calls == 8
    r = preflight(c, origin=OTHER)
    assert r.status_code == 204 and acao(r) == "*"
    assert r.headers["access-control-allow-methods"] == "GET, PUT"
    assert endpoint.calls == 8
