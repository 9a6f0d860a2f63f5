"""lamina-guards: the trusted-host and HTTPS-redirect guards, one distribution.

Settings (section ``[guards]``, see :class:`GuardsSettings`); each guard is enabled on its
own and absent from the onion otherwise:

* ``trusted_hosts`` (``None``): host names and ``*.domain`` wildcards; any other, missing,
  malformed or repeated ``Host`` gets 400, a WebSocket handshake too where the server has
  the ``websocket.http.response`` extension (:class:`TrustedHostMiddleware`);
* ``https_redirect`` (``False``) and ``https_redirect_status`` (307 or 308): ``http`` to
  ``https`` and ``ws`` to ``wss`` (:class:`HTTPSRedirectMiddleware`).

Hooks: ``lamina_settings_schema``, ``lamina_configure``, ``lamina_register_middleware``; both
guards sit in the *outermost* phase, trusted host (priority 10) outside the redirect (20).
Both middlewares are plain ASGI, usable without Lamina.
"""

from __future__ import annotations

from ._httpsredirect import HTTPSRedirectMiddleware
from ._plugin import (
    GuardsSettings,
    lamina_configure,
    lamina_register_middleware,
    lamina_settings_schema,
)
from ._trustedhost import TrustedHostMiddleware, parse_host

__all__ = [
    "GuardsSettings",
    "HTTPSRedirectMiddleware",
    "TrustedHostMiddleware",
    "lamina_configure",
    "lamina_register_middleware",
    "lamina_settings_schema",
    "parse_host",
]
