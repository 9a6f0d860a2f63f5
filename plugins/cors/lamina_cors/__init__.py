"""lamina-cors: CORS as the Fetch standard describes it.

Settings (section ``[cors]``, see :class:`CORSSettings`): ``allow_origins`` (required),
``allow_origin_regex``, ``allow_methods``, ``allow_headers``, ``allow_credentials``,
``expose_headers``, ``max_age``, ``allow_private_network``.

Hooks: ``lamina_settings_schema`` and ``lamina_register_middleware``,
which places :class:`CORSMiddleware` in the *transport* phase (priority 10: outside gzip).

:func:`cors_policy` configures CORS for one ``Mount`` (or route) with the same settings.

:class:`CORSMiddleware` is plain ASGI middleware, usable without Lamina::

    app = CORSMiddleware(app, allow_origins=["https://app.example"])
"""

from __future__ import annotations

from ._middleware import SAFELISTED_HEADERS, CORSMiddleware, InsecureCORSWarning
from ._plugin import (
    CORSSettings,
    cors_policy,
    lamina_register_middleware,
    lamina_settings_schema,
)

__all__ = [
    "SAFELISTED_HEADERS",
    "CORSMiddleware",
    "CORSSettings",
    "InsecureCORSWarning",
    "cors_policy",
    "lamina_register_middleware",
    "lamina_settings_schema",
]
