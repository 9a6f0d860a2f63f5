"""Session login and logout, and the ``next`` parameter check that prevents open redirects."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from lamina import HTTPConnection
from lamina_sessions import get_session

from ._backends import SESSION_USER_KEY
from ._types import AuthCredentials, BaseUser, UnauthenticatedUser

__all__ = ["is_local_path", "login", "logout", "safe_next"]


def login(connection: HTTPConnection, user: BaseUser, scopes: Iterable[str] = ()) -> None:
    """Log ``user`` in: regenerate the session (no fixation), remember the user in it.

    The rest of this request already sees the user (``request.user``, ``request.auth``).
    ``scopes`` are granted on top of ``"authenticated"``.
    """
    identity = user.identity
    if not isinstance(identity, str) or not identity or not user.is_authenticated:
        # The session backend would not recognise it: the user would be silently logged out.
        raise ValueError(
            f"login({user!r}): the user must be authenticated and have a "
            f"non-empty string identity, not {identity!r}"
        )
    session = get_session(connection)
    granted = ["authenticated", *(s for s in scopes if s != "authenticated")]
    session.regenerate()
    session[SESSION_USER_KEY] = {
        "id": identity,
        "name": user.display_name,
        "scopes": granted[1:],
    }
    connection.scope["user"] = user
    connection.scope["auth"] = AuthCredentials(granted)


def logout(connection: HTTPConnection) -> None:
    """Clear the whole session (the cookie is deleted) and make the rest of the request
    anonymous."""
    get_session(connection).clear()
    connection.scope["user"] = UnauthenticatedUser()
    connection.scope["auth"] = AuthCredentials()


def is_local_path(url: str) -> bool:
    """True for a path on this site (``/account?tab=1``), never for anything a browser could
    read as another host: ``//evil``, ``/\\evil``, ``https://evil``, ``javascript:``, or
    paths hiding control characters (browsers strip tabs and newlines)."""
    if not url or url[0] != "/" or len(url) > 2048:
        return False
    if url.startswith("//") or "\\" in url:
        return False
    if any(ord(c) < 0x21 or ord(c) == 0x7F for c in url):
        return False
    parts = urlsplit(url)
    return not parts.scheme and not parts.netloc


def safe_next(url: str | None, default: str = "/") -> str:
    """``url`` if it is a local path (see :func:`is_local_path`), else ``default``."""
    return url if url is not None and is_local_path(url) else default
