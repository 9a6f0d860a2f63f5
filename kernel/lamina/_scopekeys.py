"""The keys the kernel keeps in an ASGI scope, and the request's cleanups.

Below the request and form modules so both can use them without importing each other.
Plugins get the keys they may use from :mod:`lamina.plugin` (``SCOPE_*``).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from .types import Scope

__all__ = [
    "APP_ROOT_KEY",
    "BODY_DONE_KEY",
    "BODY_KEY",
    "CLEANUP_KEY",
    "DISCONNECTED_KEY",
    "FAILED_AFTER_START_KEY",
    "FORM_KEY",
    "MAX_BODY_KEY",
    "PENDING_KEY",
    "STREAMED_KEY",
    "add_cleanup",
    "run_cleanups",
]

logger = logging.getLogger("lamina.request")

#: Scope keys the kernel uses; plugins may read them.
BODY_KEY = "lamina.body"
MAX_BODY_KEY = "lamina.max_body_size"
#: Set when the body has been (or is being) consumed as a stream.
STREAMED_KEY = "lamina.body_streamed"
#: Set when the last body chunk was received.
BODY_DONE_KEY = "lamina.body_done"
#: ``http.request`` messages picked up by ``is_disconnected()`` before any body reader.
PENDING_KEY = "lamina.body_pending"
DISCONNECTED_KEY = "lamina.disconnected"
#: Where this Lamina app is mounted, set by its router on entering a mount of the app's own
#: routes (``root_path`` has grown by the mount prefix there); absent, ``root_path`` is it.
APP_ROOT_KEY = "lamina.app_root_path"
#: The parsed form (one per request, whoever asks first).
FORM_KEY = "lamina.form"
#: Async callables run when the request ends (see :func:`run_cleanups`).
CLEANUP_KEY = "lamina.cleanup"
#: The exception that escaped after the HTTP response start went to ``send``: set by the
#: code that saw it go (``Response``, the router's endpoint wrapper, or a tracking wrapper
#: around foreign code), read by the error layers, which then answer nothing themselves.
#: It replaces a send wrapper per error layer on every request.
FAILED_AFTER_START_KEY = "lamina.failed_after_start"


def add_cleanup(scope: Scope, cleanup: Callable[[], Awaitable[Any]]) -> None:
    """Run ``cleanup`` when the request ends (the kernel's HTTP error layer calls it).

    The request task may be cancelled by then: a cleanup that awaits real work must shield
    itself (``anyio.CancelScope(shield=True)``), as ``FormData.close`` does.
    """
    scope.setdefault(CLEANUP_KEY, []).append(cleanup)


async def run_cleanups(scope: Scope) -> None:
    """Run and forget the request's cleanups; one failing does not stop the others."""
    cleanups = scope.pop(CLEANUP_KEY, None)
    if not cleanups:
        return
    for cleanup in reversed(cleanups):
        try:
            await cleanup()
        except Exception:  # a cleanup must never mask the response or another cleanup
            logger.exception("request cleanup %r failed", cleanup)
