"""lamina-gzip: gzip responses when the client accepts it and the body is worth it.

Settings (section ``[gzip]``, all optional, see :class:`GZipSettings`): ``minimum_size``
(500), ``level`` (6), ``thread_threshold`` (256 KiB), ``excluded_media_types``.

Hooks: ``lamina_settings_schema`` and ``lamina_register_middleware``,
which places :class:`GZipMiddleware` in the *transport* phase (priority 20: inside CORS).

:class:`GZipMiddleware` is plain ASGI middleware, usable without Lamina::

    app = GZipMiddleware(app, minimum_size=1000, level=5)
"""

from __future__ import annotations

from ._accept import accepts_gzip
from ._middleware import DEFAULT_EXCLUDED_MEDIA_TYPES, GZipMiddleware
from ._plugin import (
    GZipSettings,
    gzip_policy,
    lamina_register_middleware,
    lamina_settings_schema,
)

__all__ = [
    "DEFAULT_EXCLUDED_MEDIA_TYPES",
    "GZipMiddleware",
    "GZipSettings",
    "accepts_gzip",
    "gzip_policy",
    "lamina_register_middleware",
    "lamina_settings_schema",
]
