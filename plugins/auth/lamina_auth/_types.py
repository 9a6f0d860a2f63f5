"""Users and credentials: what ``request.user`` and ``request.auth`` hold."""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["AuthCredentials", "BaseUser", "SimpleUser", "UnauthenticatedUser"]


class AuthCredentials:
    """The scopes a connection was granted (``"authenticated"`` by convention once logged in).

    Scopes are kept as a tuple: credentials are decided by the backend, not edited later.
    """

    __slots__ = ("scopes",)

    def __init__(self, scopes: Iterable[str] = ()) -> None:
        self.scopes: tuple[str, ...] = tuple(scopes)

    def __contains__(self, scope: object) -> bool:
        return scope in self.scopes

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AuthCredentials) and other.scopes == self.scopes

    def __hash__(self) -> int:
        return hash(self.scopes)

    def __repr__(self) -> str:
        return f"AuthCredentials({list(self.scopes)!r})"


class BaseUser:
    """What every user type offers; subclass it for your own user model."""

    @property
    def is_authenticated(self) -> bool:
        raise NotImplementedError

    @property
    def display_name(self) -> str:
        raise NotImplementedError

    @property
    def identity(self) -> str:
        """A stable id (what the session stores to recognise the user again)."""
        raise NotImplementedError


class SimpleUser(BaseUser):
    """An authenticated user known by a name."""

    __slots__ = ("_display_name", "username")

    def __init__(self, username: str, display_name: str | None = None) -> None:
        self.username = username
        self._display_name = display_name

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def display_name(self) -> str:
        return self._display_name if self._display_name is not None else self.username

    @property
    def identity(self) -> str:
        return self.username

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, SimpleUser)
            and other.username == self.username
            and other.display_name == self.display_name
        )

    def __hash__(self) -> int:
        return hash(self.username)

    def __repr__(self) -> str:
        return f"SimpleUser({self.username!r})"


class UnauthenticatedUser(BaseUser):
    """The anonymous user: what ``request.user`` is when no backend recognised anyone."""

    __slots__ = ()

    @property
    def is_authenticated(self) -> bool:
        return False

    @property
    def display_name(self) -> str:
        return ""

    @property
    def identity(self) -> str:
        return ""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, UnauthenticatedUser)

    def __hash__(self) -> int:
        return hash(UnauthenticatedUser)

    def __repr__(self) -> str:
        return "UnauthenticatedUser()"
