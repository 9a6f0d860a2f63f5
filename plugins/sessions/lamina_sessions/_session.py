"""The dict-like session object a request sees as ``request.session``."""

from __future__ import annotations

from collections.abc import Callable, Iterator, MutableMapping
from typing import Any

__all__ = ["SESSION_KEY", "Session", "get_session", "regenerate_session"]

#: Where the middleware puts the session on the ASGI scope.
SESSION_KEY = "session"


class Session(MutableMapping[str, Any]):
    """A mutable mapping that remembers whether it was read and whether it changed.

    A cookie-stored session is decoded lazily, on first access: a request that never
    touches its session never pays for verifying the signature. Only top-level writes are
    seen; after mutating a nested value in place (``session["cart"].append(x)``) set
    ``session.modified = True``.
    """

    __slots__ = ("_data", "_loader", "accessed", "id", "modified", "regenerated")

    def __init__(
        self,
        data: dict[str, Any] | None = None,
        *,
        loader: Callable[[], dict[str, Any]] | None = None,
        session_id: str | None = None,
    ) -> None:
        self._data = data if data is not None or loader is not None else {}
        self._loader = loader
        #: The server-side store's id for this session (``None`` for cookie-stored sessions).
        self.id = session_id
        #: Read or written during this request: the response then varies on ``Cookie``.
        self.accessed = False
        #: Changed during this request: the cookie (and store entry) will be written.
        self.modified = False
        #: :meth:`regenerate` was called: a new id (store) or a fresh signature (cookie).
        self.regenerated = False

    def _load(self) -> dict[str, Any]:
        self.accessed = True
        data = self._data
        if data is None:
            loader, self._loader = self._loader, None
            data = self._data = loader() if loader is not None else {}
        return data

    @property
    def data(self) -> dict[str, Any]:
        """The underlying dict (reading it counts as an access)."""
        return self._load()

    def __getitem__(self, key: str) -> Any:
        return self._load()[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self._load()[key] = value
        self.modified = True

    def __delitem__(self, key: str) -> None:
        del self._load()[key]
        self.modified = True

    def __iter__(self) -> Iterator[str]:
        return iter(self._load())

    def __len__(self) -> int:
        return len(self._load())

    def __contains__(self, key: object) -> bool:
        return key in self._load()

    def get(self, key: str, default: Any = None) -> Any:
        return self._load().get(key, default)

    def clear(self) -> None:
        """Empty the session; the response deletes the cookie (and the store entry)."""
        self._load().clear()
        self.modified = True

    def regenerate(self) -> None:
        """Keep the data under a new identity: call it at login to prevent session fixation.

        With a server-side store the session gets a new id and the old entry is deleted;
        with cookie storage the cookie is re-signed now.
        """
        self._load()
        self.regenerated = True
        self.modified = True

    def __repr__(self) -> str:
        if self._data is None:
            return "Session(<not loaded>)"
        return f"Session(id={self.id!r}, keys={sorted(self._data)!r}, modified={self.modified})"


def get_session(connection: Any) -> Session:
    """The session of a request or WebSocket (``connection.session`` says the same)."""
    scope = connection.scope if hasattr(connection, "scope") else connection
    try:
        return scope[SESSION_KEY]  # type: ignore[no-any-return]
    except KeyError:
        raise RuntimeError(
            "no session on this connection: install and enable the lamina-sessions plugin "
            "(or wrap the app in lamina_sessions.SessionMiddleware)"
        ) from None


def regenerate_session(connection: Any) -> Session:
    """Give the connection's session a new identity, same data (see Session.regenerate)."""
    session = get_session(connection)
    session.regenerate()
    return session
