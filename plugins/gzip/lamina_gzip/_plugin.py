"""Lamina glue: the ``[gzip]`` settings section and the hooks that place the middleware."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

from lamina import Middleware, hookimpl
from lamina.plugin import settings_from

from ._middleware import DEFAULT_EXCLUDED_MEDIA_TYPES, GZipMiddleware

__all__ = [
    "GZipSettings",
    "gzip_policy",
    "lamina_register_middleware",
    "lamina_settings_schema",
]

#: Transport phase, inside CORS (priority 10) so CORS headers never need recompression.
PHASE: Final = "transport"
PRIORITY = 20


@dataclass(frozen=True)
class GZipSettings:
    """The ``[gzip]`` section; every key has a default, so gzip works with no settings."""

    #: Bodies smaller than this many bytes are sent uncompressed.
    minimum_size: int = 500
    #: zlib level, 1 (fastest) to 9 (smallest); 6 is zlib's own balance.
    level: int = 6
    #: Bodies (or streamed chunks) this big are compressed in a worker thread.
    thread_threshold: int = 256 * 1024
    #: Media types never compressed; ``type/*`` matches a whole family.
    excluded_media_types: list[str] = field(
        default_factory=lambda: list(DEFAULT_EXCLUDED_MEDIA_TYPES)
    )

    def __post_init__(self) -> None:
        if not 1 <= self.level <= 9:
            raise ValueError(f"level must be between 1 and 9, got {self.level}")
        if self.minimum_size < 0:
            raise ValueError("minimum_size must be >= 0")
        if self.thread_threshold < 1:
            raise ValueError("thread_threshold must be >= 1")


@hookimpl
def lamina_settings_schema() -> type:
    return GZipSettings


@hookimpl
def lamina_register_middleware(settings: GZipSettings, register: Any) -> None:
    register(_layer(settings))


def gzip_policy(**settings: Any) -> Middleware:
    """A GZip layer for one ``Mount`` (or route), with the ``[gzip]`` settings given here::

        Mount("/reports", routes=reports, middleware=[gzip_policy(minimum_size=1024)])

    Validated like the section (``SettingsError``). The mount's error answers pass through
    it too. Use it where the app has no app-wide gzip layer (the plugin disabled).
    """
    return _layer(settings_from("gzip", GZipSettings, settings))


def _layer(s: GZipSettings) -> Middleware:
    return Middleware(
        GZipMiddleware,
        phase=PHASE,
        priority=PRIORITY,
        minimum_size=s.minimum_size,
        level=s.level,
        thread_threshold=s.thread_threshold,
        excluded_media_types=tuple(s.excluded_media_types),
    )
