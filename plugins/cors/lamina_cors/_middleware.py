"""The CORS middleware: plain ASGI, usable in any ASGI app.

Everything that does not depend on the request is computed once in ``__init__``; a request
then costs a scan of its headers for ``Origin``, a set lookup and one header-list copy (with
``"*"`` and no credentials, not even the scan, except for ``OPTIONS``). The ``send`` handed
to the app is a plain function returning the server's awaitable: no coroutine per message.
Behaviour follows the Fetch standard's CORS protocol:

* a request without ``Origin`` is not a CORS request: the app answers it, and the response
  only gains ``Vary: Origin`` (the Fetch standard's advice, so that a cache never hands a
  grant-less response to a later CORS request for the same URL) — except with ``"*"`` and
  no credentials, where every response carries the same ``Access-Control-Allow-Origin: *``
  and nothing depends on the origin;
* ``OPTIONS`` with ``Origin`` and ``Access-Control-Request-Method`` is a preflight, answered
  here without calling the app: granted only when the origin, the method and every requested
  header are allowed;
* any other request with ``Origin`` is an actual request: an allowed origin gets
  ``Access-Control-Allow-Origin`` (plus credentials and exposed headers); a disallowed one
  gets nothing but ``Vary: Origin``.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Awaitable, Iterable, Sequence

from lamina.plugin import ASGIApp, Message, Receive, Scope, Send

__all__ = ["SAFELISTED_HEADERS", "CORSMiddleware", "InsecureCORSWarning"]

#: Request headers a browser may send without asking (CORS-safelisted request headers);
#: always allowed so that ``Content-Type: application/json`` works without configuration.
SAFELISTED_HEADERS = frozenset({"accept", "accept-language", "content-language", "content-type"})
#: CORS-safelisted methods: the browser accepts them whatever Allow-Methods says, and sends
#: them without a preflight when no other header needs one, so refusing them in a preflight
#: would only break requests that carry an allowed custom header.
SAFELISTED_METHODS = frozenset({"GET", "HEAD", "POST"})
_ORIGIN_RE = re.compile(r"^(null|[a-z][a-z0-9+.-]*://[^/?#\s]+)$")

_VARY_ORIGIN = (b"vary", b"Origin")
_VARY_ONLY = (_VARY_ORIGIN,)


class InsecureCORSWarning(UserWarning):
    """CORS settings that let every site make credentialed requests."""


def _normalise_origin(origin: str) -> str:
    value = origin.strip().rstrip("/").lower()
    if value != "*" and not _ORIGIN_RE.match(value):
        raise ValueError(
            f"invalid CORS origin {origin!r}: expected '*', 'null' or "
            "scheme://host[:port] (no path)"
        )
    return value


def _tokens(raw: bytes) -> list[str]:
    return [t.strip().lower() for t in raw.decode("latin-1").split(",") if t.strip()]


class CORSMiddleware:
    """Answer CORS preflights and add CORS grants to responses for allowed origins.

    ``allow_origins`` lists exact origins (``"https://app.example"``) or ``"*"``;
    ``allow_origin_regex`` additionally allows origins fully matching the pattern.
    ``allow_methods`` / ``allow_headers`` may be ``["*"]``. With ``allow_credentials`` the
    wildcard is never sent: the request's origin, method and headers are echoed instead.
    """

    __slots__ = (
        "allow_all_headers",
        "allow_all_origins",
        "allow_headers",
        "allow_methods",
        "app",
        "credentials",
        "expose_echo",
        "origin_regex",
        "origins",
        "preflight_headers",
        "private_network",
        "simple_headers",
        "star_headers",
        "star_origin",
    )

    #: It only awaits ``self.app(...)``: Lamina may hand it a plain callable returning an
    #: awaitable (one coroutine frame less per request; see lamina.plugin).
    lamina_accepts_plain_app = True

    def __init__(
        self,
        app: ASGIApp,
        allow_origins: Iterable[str] = (),
        allow_origin_regex: str | None = None,
        allow_methods: Iterable[str] = ("GET", "HEAD", "POST"),
        allow_headers: Iterable[str] = (),
        allow_credentials: bool = False,
        expose_headers: Sequence[str] = (),
        max_age: int | None = 600,
        allow_private_network: bool = False,
    ) -> None:
        self.app = app
        origins = [_normalise_origin(o) for o in allow_origins]
        self.allow_all_origins = "*" in origins
        self.origins = frozenset(o.encode("latin-1") for o in origins if o != "*")
        self.origin_regex = re.compile(allow_origin_regex) if allow_origin_regex else None
        self.credentials = bool(allow_credentials)
        if self.allow_all_origins and self.credentials and self.origin_regex is None:
            warnings.warn(
                "CORS allows credentials for every origin ('*' with allow_credentials): any "
                "website can make authenticated requests and read the answers. List the "
                "trusted origins, or use allow_origin_regex.",
                InsecureCORSWarning,
                stacklevel=2,
            )
        # With credentials the browser refuses a literal "*", so the origin is echoed.
        self.star_origin = self.allow_all_origins and not self.credentials

        methods = [m.strip().upper() for m in allow_methods]
        #: ``None`` means every method.
        self.allow_methods = None if "*" in methods else frozenset(methods)
        headers = [h.strip().lower() for h in allow_headers]
        self.allow_all_headers = "*" in headers
        self.allow_headers = frozenset(headers) | SAFELISTED_HEADERS
        self.private_network = bool(allow_private_network)

        expose = [h.strip() for h in expose_headers if h.strip()]
        #: With credentials a browser reads ``Access-Control-Expose-Headers: *`` as a header
        #: literally named "*"; "expose everything" is then honoured by listing the names of
        #: each granted response's headers.
        self.expose_echo = self.credentials and "*" in expose
        simple: list[tuple[bytes, bytes]] = []
        if self.credentials:
            simple.append((b"access-control-allow-credentials", b"true"))
        if expose and not self.expose_echo:
            simple.append((b"access-control-expose-headers", ", ".join(expose).encode("latin-1")))
        self.simple_headers = tuple(simple)
        #: With "*" and no credentials the grant is the same for every request, CORS or not:
        #: it goes on every response and nothing varies by Origin (the Fetch standard's
        #: advice for public resources), which keeps caches simple.
        self.star_headers = (*simple, (b"access-control-allow-origin", b"*"))

        pre: list[tuple[bytes, bytes]] = []
        if self.credentials:
            pre.append((b"access-control-allow-credentials", b"true"))
        if self.allow_methods is not None:
            listed = ", ".join(sorted(self.allow_methods)).encode("latin-1")
            pre.append((b"access-control-allow-methods", listed))
        elif not self.credentials:
            pre.append((b"access-control-allow-methods", b"*"))
        # else: every method, with credentials, where "*" is literal: the requested method
        # is echoed per preflight.
        if max_age is not None:
            pre.append((b"access-control-max-age", str(int(max_age)).encode()))
        self.preflight_headers = tuple(pre)

    # ------------------------------------------------------------------ matching
    def is_allowed_origin(self, origin: bytes) -> bool:
        if self.allow_all_origins or origin in self.origins:
            return True
        regex = self.origin_regex
        return regex is not None and regex.fullmatch(origin.decode("latin-1")) is not None

    # ------------------------------------------------------------------ ASGI
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.star_origin and scope["method"] != "OPTIONS":
            # The grant does not depend on Origin and only OPTIONS can be a preflight:
            # no need to look at the request headers at all.
            extra = self.star_headers
        else:
            origin = None
            for key, value in scope["headers"]:
                if key == b"origin":
                    origin = value
                    break
            if origin is None:
                extra = self.star_headers if self.star_origin else _VARY_ONLY
            else:
                if scope["method"] == "OPTIONS":
                    for key, value in scope["headers"]:
                        if key == b"access-control-request-method":
                            await self.preflight(scope, origin, value, send)
                            return
                if self.star_origin:
                    extra = self.star_headers
                elif origin in self.origins or self.is_allowed_origin(origin):
                    extra = (
                        *self.simple_headers,
                        (b"access-control-allow-origin", origin),
                        _VARY_ORIGIN,
                    )
                    if self.expose_echo:
                        await self.app(scope, receive, _exposing_send(send, extra))
                        return
                else:
                    extra = _VARY_ONLY

        # A plain function returning ``send``'s awaitable: no coroutine per message.
        def send_with_cors(message: Message) -> Awaitable[None]:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), *extra]
            return send(message)

        await self.app(scope, receive, send_with_cors)

    async def preflight(self, scope: Scope, origin: bytes, method: bytes, send: Send) -> None:
        """Answer a preflight: 204 with the grant, or 400 with no ``Access-Control-*``."""
        requested = b""
        private = False
        for key, value in scope["headers"]:
            if key == b"access-control-request-headers":
                requested = requested + b"," + value if requested else value
            elif key == b"access-control-request-private-network":
                private = value.strip().lower() == b"true"
        problems = []
        if not self.is_allowed_origin(origin):
            problems.append("origin")
        allowed_methods = self.allow_methods
        name = method.strip().decode("latin-1")
        if (
            allowed_methods is not None
            and name not in allowed_methods
            and (name not in SAFELISTED_METHODS)
        ):
            problems.append("method")
        names = _tokens(requested) if requested else []
        if not self.allow_all_headers and any(n not in self.allow_headers for n in names):
            problems.append("headers")
        if private and not self.private_network:
            problems.append("private network access")
        if problems:
            body = f"Disallowed CORS {', '.join(problems)}".encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": 400,
                    "headers": [
                        (b"content-type", b"text/plain; charset=utf-8"),
                        (b"content-length", str(len(body)).encode()),
                        (b"vary", b"Origin"),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        grant = b"*" if self.star_origin else origin
        headers = [(b"access-control-allow-origin", grant), *self.preflight_headers]
        if self.allow_methods is None and self.credentials:
            headers.append((b"access-control-allow-methods", method.strip()))
        if names:
            # Echoed rather than "*": a wildcard never covers Authorization, nor anything
            # when credentials are involved.
            headers.append((b"access-control-allow-headers", ", ".join(names).encode()))
        if private:
            headers.append((b"access-control-allow-private-network", b"true"))
        headers += [
            (b"vary", b"Origin, Access-Control-Request-Method, Access-Control-Request-Headers"),
            (b"content-length", b"0"),
        ]
        await send({"type": "http.response.start", "status": 204, "headers": headers})
        await send({"type": "http.response.body", "body": b""})


def _exposing_send(send: Send, extra: tuple[tuple[bytes, bytes], ...]) -> Send:
    """Add the grant plus an ``Access-Control-Expose-Headers`` naming the response's headers."""

    async def send_exposing(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers", ()))
            names = sorted({key.decode("latin-1").lower() for key, _ in headers})
            headers.extend(extra)
            if names:
                headers.append(
                    (b"access-control-expose-headers", ", ".join(names).encode("latin-1"))
                )
            message["headers"] = headers
        await send(message)

    return send_exposing
