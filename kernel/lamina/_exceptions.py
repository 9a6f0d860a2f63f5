"""Every error the kernel raises on purpose.

::

    LaminaError
    ├── AssemblyError            the app cannot be assembled (plugins, settings, conflicts)
    │   ├── PluginLoadError      a plugin failed to import
    │   ├── SettingsError        one or more settings sections are invalid
    │   └── ConflictError        two plugins claim the same thing
    ├── LifespanNotRun           (also AttributeError, KeyError) request.state lacks what
    │                            the app's startup would have put there: it never ran
    ├── HTTPException            answered with an HTTP error response
    │   └── RequestError (400), PayloadTooLarge (413), UnsupportedMediaType (415)
    └── WebSocketException       answered by closing the WebSocket with a code

    WebSocketDisconnect          not an error: the WebSocket is closed (``code``, ``reason``)

``HTTPException`` is what endpoints raise; the kernel turns it into a response that still
passes back through the middleware.
"""

from __future__ import annotations

__all__ = [
    "AssemblyError",
    "ConflictError",
    "HTTPException",
    "LaminaError",
    "LifespanNotRun",
    "PayloadTooLarge",
    "PluginLoadError",
    "RequestError",
    "SettingsError",
    "UnsupportedMediaType",
    "WebSocketDisconnect",
    "WebSocketException",
]

from collections.abc import Mapping
from http import HTTPStatus


class LaminaError(Exception):
    """Base of every error raised by Lamina on purpose."""


class AssemblyError(LaminaError):
    """The app cannot be assembled; the message says which plugin and what to do."""


class PluginLoadError(AssemblyError):
    """A plugin's entry point failed to import or register."""


class SettingsError(AssemblyError):
    """Settings failed validation; ``errors`` lists every problem at once."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = errors
        super().__init__("invalid settings:\n  " + "\n  ".join(errors))


class PluginSelectionWarning(UserWarning):
    """A plugin selection names a plugin that is not installed (a typo disables nothing)."""


class ConflictError(AssemblyError):
    """Two contributors claimed the same name, route or protocol."""


class LifespanNotRun(LaminaError, AttributeError, KeyError):
    """``request.state`` has no such attribute (or key) because the app's lifespan never ran.

    The server did not run the ASGI lifespan protocol (daphne, a parent app that does not
    forward it, a test client used outside ``with``), so the startup work that fills the
    state was skipped. An ``AttributeError`` (and a ``KeyError``) still, so
    ``getattr(state, name, default)`` and ``hasattr`` keep working.
    """


class HTTPException(LaminaError):
    """Raise from anywhere under an endpoint to answer with ``status_code``."""

    def __init__(
        self,
        status_code: int,
        detail: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        if detail is None:
            try:
                detail = HTTPStatus(status_code).phrase
            except ValueError:
                detail = "Error"
        self.status_code = status_code
        self.detail = detail
        self.headers = dict(headers) if headers else None
        super().__init__(status_code, detail)

    def __str__(self) -> str:
        return f"{self.status_code}: {self.detail}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status_code={self.status_code!r}, detail={self.detail!r})"


class RequestError(HTTPException):
    """The request is malformed (400); ``detail`` says why."""

    def __init__(self, detail: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(400, detail, headers)


class PayloadTooLarge(HTTPException):
    """The request body exceeds a configured limit (413)."""

    def __init__(self, detail: str = "Request body too large") -> None:
        super().__init__(413, detail)


class UnsupportedMediaType(HTTPException):
    """The request body has a content type the reader cannot parse (415)."""

    def __init__(self, detail: str = "Unsupported media type") -> None:
        super().__init__(415, detail)


class WebSocketException(LaminaError):
    """Raise in a WebSocket endpoint to close the connection with ``code``."""

    def __init__(self, code: int, reason: str | None = None) -> None:
        self.code = code
        self.reason = reason or ""
        super().__init__(code, self.reason)

    def __str__(self) -> str:
        return f"{self.code}: {self.reason}"


class WebSocketDisconnect(Exception):
    """The WebSocket is closed, with ``code`` and ``reason``; nothing more can be sent on it.

    One class for both sides, so a test and an endpoint catch the same thing: the
    websocket plugin raises it from the receive methods when the client left, and
    :mod:`lamina.testclient` raises it when the app closed the connection or refused the
    handshake. It is not a :class:`LaminaError`: a closed connection is not a mistake.
    """

    def __init__(self, code: int = 1000, reason: str = "") -> None:
        self.code = code
        self.reason = reason or ""  # an ASGI close message may carry reason None
        super().__init__(code, self.reason)

    def __str__(self) -> str:
        suffix = f": {self.reason}" if self.reason else ""
        return f"WebSocket closed with code {self.code}{suffix}"
