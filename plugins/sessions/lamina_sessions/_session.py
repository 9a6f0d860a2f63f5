"""The dict-like session object a request sees as ``request.session``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

__all__ = ["SESSION_KEY", "Session", "get_session", "regenerate_session"]

#: Where the middleware puts the session on the ASGI scope.
SESSION_KEY = "session"


class _Placeholder:
    __slots__ = ()

    def __repr__(self) -> str:
        return "<session not loaded>"


_UNLOADED: Any = ((_Placeholder(), None),)


class Session(dict[str, Any]):
    """A ``dict`` that remembers whether it was read and whether it changed.

    A real ``dict`` subclass, as documented: ``json.dumps(request.session)`` and
    ``JSONResponse({"session": request.session})`` work, and so does ``isinstance(…, dict)``.
    A cookie-stored session is decoded lazily, on first access: a request that never
    touches its session never pays for verifying the signature. Every read and write goes
    through the methods below, which load first. Only top-level writes are seen; after
    mutating a nested value in place (``session["cart"].append(x)``) set
    ``session.modified = True``.
    """

    __slots__ = ("_loader", "accessed", "id", "modified", "regenerated")

    def __init__(
        self,
        data: dict[str, Any] | None = None,
        *,
        loader: Callable[[], dict[str, Any]] | None = None,
        session_id: str | None = None,
    ) -> None:
        self._loader = loader if data is None else None
        # Unloaded, the dict holds one placeholder entry: C code that looks at the raw size
        # before calling any method (json's encoder writes "{}" for a size of 0) then still
        # asks ``items()``, which loads. No method ever shows the placeholder.
        super().__init__(data or (() if self._loader is None else _UNLOADED))
        #: The server-side store's id for this session (``None`` for cookie-stored sessions).
        self.id = session_id
        #: Read or written during this request: the response then varies on ``Cookie``.
        self.accessed = False
        #: Changed during this request: the cookie (and store entry) will be written.
        self.modified = False
        #: :meth:`regenerate` was called: a new id (store) or a fresh signature (cookie).
        self.regenerated = False

    def _load(self) -> Session:
        self.accessed = True
        loader = self._loader
        if loader is not None:
            self._loader = None
            dict.clear(self)
            dict.update(self, loader())
        return self

    def _write(self) -> Session:
        self._load()
        self.modified = True
        return self

    @property
    def data(self) -> dict[str, Any]:
        """The session itself, loaded (reading it counts as an access)."""
        return self._load()

    # reads: load first
    def __getitem__(self, key: str) -> Any:
        return dict.__getitem__(self._load(), key)

    def __iter__(self) -> Iterator[str]:
        return dict.__iter__(self._load())

    def __reversed__(self) -> Iterator[str]:
        return dict.__reversed__(self._load())

    def __len__(self) -> int:
        return dict.__len__(self._load())

    def __contains__(self, key: object) -> bool:
        return dict.__contains__(self._load(), key)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Session):
            other._load()
        return dict.__eq__(self._load(), other)

    def __ne__(self, other: object) -> bool:
        return not self == other

    __hash__ = None

    # a plain dict out, not dict's overloads: a merge must not be a second live session
    def __or__(self, other: dict[str, Any]) -> dict[str, Any]:  # type: ignore[override]  # see above
        return dict(self._load()) | other

    def __ror__(self, other: dict[str, Any]) -> dict[str, Any]:  # type: ignore[override]  # see above
        return other | dict(self._load())

    def get(self, key: str, default: Any = None) -> Any:
        return dict.get(self._load(), key, default)

    def keys(self) -> Any:
        return dict.keys(self._load())

    def values(self) -> Any:
        return dict.values(self._load())

    def items(self) -> Any:
        return dict.items(self._load())

    def copy(self) -> dict[str, Any]:
        """A plain ``dict`` copy (changing it does not change the session)."""
        return dict(self._load())

    # writes: load first, then mark modified
    def __setitem__(self, key: str, value: Any) -> None:
        dict.__setitem__(self._write(), key, value)

    def __delitem__(self, key: str) -> None:
        dict.__delitem__(self._write(), key)

    # dict types |= with its own overloads; this one goes through update(), loading first
    def __ior__(self, other: Any) -> Session:  # type: ignore[override,misc]  # see above
        self.update(other)
        return self

    def pop(self, key: str, *default: Any) -> Any:
        return dict.pop(self._write(), key, *default)

    def popitem(self) -> tuple[str, Any]:
        return dict.popitem(self._write())

    def setdefault(self, key: str, default: Any = None) -> Any:
        if dict.__contains__(self._load(), key):
            return dict.__getitem__(self, key)
        dict.__setitem__(self._write(), key, default)
        return default

    def update(self, *args: Any, **kwargs: Any) -> None:
        dict.update(self._write(), *args, **kwargs)

    def clear(self) -> None:
        """Empty the session; the response deletes the cookie (and the store entry)."""
        dict.clear(self._write())

    def regenerate(self) -> None:
        """Keep the data under a new identity: call it at login to prevent session fixation.

        With a server-side store the session gets a new id and the old entry is deleted;
        with cookie storage the cookie is re-signed now.
        """
        self._write()
        self.regenerated = True

    def __reduce__(self) -> Any:
        return (dict, (dict(self._load()),))

    def __repr__(self) -> str:
        if self._loader is not None:
            return "Session(<not loaded>)"
        # never the id: with a server-side store it is the bearer secret
        keys = sorted(dict.keys(self))
        return f"Session(keys={keys!r}, modified={self.modified})"


def get_session(connection: Any) -> Session:
    """The session of a request or WebSocket (``connection.session`` says the same)."""
    scope = connection.scope if hasattr(connection, "scope") else connection
    try:
        session: Session = scope[SESSION_KEY]
        return session
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
