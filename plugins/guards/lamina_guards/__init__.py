"""lamina-guards: request hygiene, trusted hosts and the HTTPS redirect, one distribution.

Settings (section ``[guards]``, see :class:`GuardsSettings`); each guard is enabled on its
own and absent from the onion otherwise:

* ``request_hygiene`` (``True``) and ``max_header_size`` (32 KiB): 431 for a header
  section over the limit, 400 for an HTTP/1.1 request without ``Host`` or with two
  (:class:`RequestHygieneMiddleware`); on by default, so every app that loads the plugin
  (``lamina serve`` included) has it whatever server is in front;
* ``trusted_hosts`` (``None``): host names and ``*.domain`` wildcards; any other, missing,
  malformed or repeated ``Host`` gets 400, a WebSocket handshake too where the server has
  the ``websocket.http.response`` extension (:class:`TrustedHostMiddleware`);
* ``https_redirect`` (``False``) and ``https_redirect_status`` (307 or 308): ``http`` to
  ``https`` and ``ws`` to ``wss`` (:class:`HTTPSRedirectMiddleware`).

Hooks: ``lamina_settings_schema`` and ``lamina_register_middleware``; all guards sit in
the *outermost* phase: hygiene (priority 5), trusted host (10), then the redirect (20).
Every middleware is plain ASGI, usable without Lamina.
"""

from __future__ import annotations

from ._httpsredirect import HTTPSRedirectMiddleware
from ._hygiene import RequestHygieneMiddleware
from ._plugin import (
    GuardsSettings,
    lamina_register_middleware,
    lamina_settings_schema,
)
from ._trustedhost import TrustedHostMiddleware

__all__ = [
    "GuardsSettings",
    "HTTPSRedirectMiddleware",
    "RequestHygieneMiddleware",
    "TrustedHostMiddleware",
    "lamina_register_middleware",
    "lamina_settings_schema",
]
