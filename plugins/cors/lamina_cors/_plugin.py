"""Lamina glue: the ``[cors]`` settings section and the hooks that place the middleware."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

from lamina import Middleware, hookimpl
from lamina.plugin import settings_from

from ._middleware import CORSMiddleware, _normalise_origin

__all__ = [
    "CORSSettings",
    "cors_policy",
    "lamina_register_middleware",
    "lamina_settings_schema",
]

#: Where the layer sits: the transport phase, outside compression (see docs/middleware.md).
PHASE: Final = "transport"
PRIORITY = 10


@dataclass(frozen=True)
class CORSSettings:
    """The ``[cors]`` section. ``allow_origins`` is required: CORS has no safe default."""

    #: Exact origins (``"https://app.example.com"``), ``"null"``, or ``"*"`` for any origin.
    #: An empty list is allowed only together with ``allow_origin_regex``.
    allow_origins: list[str]
    #: Origins fully matching this regular expression are allowed too.
    allow_origin_regex: str | None = None
    allow_methods: list[str] = field(default_factory=lambda: ["GET", "HEAD", "POST"])
    #: Request headers a preflight may ask for (the CORS-safelisted ones always pass).
    allow_headers: list[str] = field(default_factory=list)
    allow_credentials: bool = False
    expose_headers: list[str] = field(default_factory=list)
    #: Seconds a browser may cache a preflight answer; ``None`` sends no Max-Age.
    max_age: int | None = 600
    #: Answer Private Network Access preflights (``Access-Control-Request-Private-Network``).
    allow_private_network: bool = False

    def __post_init__(self) -> None:
        for origin in self.allow_origins:
            _normalise_origin(origin)  # raises ValueError, reported as a settings error
        if not self.allow_origins and not self.allow_origin_regex:
            raise ValueError(
                "allow_origins is empty and no allow_origin_regex is set: "
                "nothing would be allowed; list the trusted origins"
            )
        if self.max_age is not None and self.max_age < 0:
            raise ValueError("max_age must be >= 0")

    def middleware_options(self) -> dict[str, Any]:
        return {
            "allow_origins": list(self.allow_origins),
            "allow_origin_regex": self.allow_origin_regex,
            "allow_methods": list(self.allow_methods),
            "allow_headers": list(self.allow_headers),
            "allow_credentials": self.allow_credentials,
            "expose_headers": list(self.expose_headers),
            "max_age": self.max_age,
            "allow_private_network": self.allow_private_network,
        }


@hookimpl
def lamina_settings_schema() -> type:
    return CORSSettings


@hookimpl
def lamina_register_middleware(settings: CORSSettings, register: Any) -> None:
    register(
        Middleware(CORSMiddleware, phase=PHASE, priority=PRIORITY, **settings.middleware_options())
    )


def cors_policy(**settings: Any) -> Middleware:
    """A CORS layer for one ``Mount`` (or route): the ``[cors]`` settings, given here::

        Mount("/api", routes=api, middleware=[cors_policy(allow_origins=["https://a.example"])])

    Validated like the section (``SettingsError`` on a bad or missing key). The mount's 404,
    405 and 500 answers carry the grants too. Use it where the app has no app-wide CORS (the
    plugin disabled, or not installed as a plugin): an app-wide layer would answer again.
    """
    validated = settings_from("cors", CORSSettings, settings)
    return Middleware(
        CORSMiddleware, phase=PHASE, priority=PRIORITY, **validated.middleware_options()
    )
