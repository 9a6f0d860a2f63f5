"""Lamina glue: the ``[guards]`` section decides which guards are placed in the onion."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, Literal

from lamina import Middleware, hookimpl

from ._httpsredirect import HTTPSRedirectMiddleware
from ._hygiene import DEFAULT_MAX_HEADER_SIZE, RequestHygieneMiddleware
from ._trustedhost import TrustedHostMiddleware, normalise_pattern

__all__ = [
    "GuardsSettings",
    "lamina_register_middleware",
    "lamina_settings_schema",
]

PHASE: Final = "outermost"
#: Hygiene first: an oversized or Host-less request is refused before anything reads it.
HYGIENE_PRIORITY: Final = 5
#: Trusted host first: a redirect is built from the Host header, so only a validated Host
#: may reach it (otherwise a forged Host would yield a redirect to an attacker's site).
TRUSTED_HOST_PRIORITY = 10
HTTPS_REDIRECT_PRIORITY = 20


@dataclass(frozen=True)
class GuardsSettings:
    """The ``[guards]`` section. Request hygiene is on by default; the other two guards are
    off until their setting turns them on."""

    #: 431 for oversized headers, 400 for an HTTP/1.1 request without ``Host`` or with two.
    request_hygiene: bool = True
    #: Total bytes of header names and values above which a request gets 431.
    max_header_size: int = DEFAULT_MAX_HEADER_SIZE

    #: Host names the app answers to (``"example.com"``, ``"*.example.com"``); ``None``
    #: (the default) leaves the trusted-host guard out of the onion.
    trusted_hosts: list[str] | None = None
    #: Redirect ``http``/``ws`` to ``https``/``wss``.
    https_redirect: bool = False
    #: 307 keeps the method and is not cached; 308 is permanent.
    https_redirect_status: Literal[307, 308] = 307

    def __post_init__(self) -> None:
        if self.max_header_size < 1:
            raise ValueError(f"max_header_size must be 1 or more, got {self.max_header_size}")
        if self.trusted_hosts is not None:
            if not self.trusted_hosts:
                raise ValueError(
                    "trusted_hosts is empty: every request would be refused; "
                    "omit it to turn the trusted-host guard off"
                )
            for pattern in self.trusted_hosts:
                normalise_pattern(pattern)


@hookimpl
def lamina_settings_schema() -> type:
    return GuardsSettings


@hookimpl
def lamina_register_middleware(settings: GuardsSettings, register: Any) -> None:
    s = settings
    if s.request_hygiene:
        register(
            Middleware(
                RequestHygieneMiddleware,
                phase=PHASE,
                priority=HYGIENE_PRIORITY,
                max_header_size=s.max_header_size,
            )
        )
    if s.trusted_hosts is not None:
        register(
            Middleware(
                TrustedHostMiddleware,
                phase=PHASE,
                priority=TRUSTED_HOST_PRIORITY,
                allowed_hosts=tuple(s.trusted_hosts),
            )
        )
    if s.https_redirect:
        register(
            Middleware(
                HTTPSRedirectMiddleware,
                phase=PHASE,
                priority=HTTPS_REDIRECT_PRIORITY,
                status_code=s.https_redirect_status,
            )
        )
