"""The ``[auth]`` settings section."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["AuthSettings"]


@dataclass(frozen=True)
class AuthSettings:
    #: Backend names in the order they are asked (``["session", "basic"]``); ``None``: every
    #: registered backend, in plugin order.
    backends: list[str] | None = None
    #: The response to credentials a backend rejects as malformed (AuthenticationError).
    error_status: int = 400
    error_detail: str = "Invalid authentication credentials"
    #: ``"package.module:function"``: ``function(connection, exc) -> Response`` replaces the
    #: default error response.
    on_error: str | None = None

    def __post_init__(self) -> None:
        if not 400 <= self.error_status <= 599:
            raise ValueError(f"error_status must be a 4xx or 5xx status, not {self.error_status}")
        if self.backends is not None and len(set(self.backends)) != len(self.backends):
            raise ValueError(f"backends lists a name twice: {self.backends}")
