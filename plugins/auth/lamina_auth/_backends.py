"""Authentication backends: the protocol, and the three that ship (Basic, bearer, session).

A backend looks at a connection (request or WebSocket) and answers one of three things:
``(credentials, user)`` -- recognised; ``None`` -- not mine / nothing presented (the next
backend is asked); or it raises :class:`AuthenticationError` -- credentials were presented
but are malformed, which ends the request with the configured error response (400).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import inspect
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any, Protocol, runtime_checkable

from lamina import HTTPConnection

from ._types import AuthCredentials, BaseUser, SimpleUser

__all__ = [
    "SESSION_USER_KEY",
    "AuthResult",
    "AuthenticationBackend",
    "AuthenticationError",
    "BasicAuthBackend",
    "BearerAuthBackend",
    "SessionAuthBackend",
]

AuthResult = tuple[AuthCredentials, BaseUser]
#: Where :func:`lamina_auth.login` keeps the user in the session.
SESSION_USER_KEY = "_auth_user"


class AuthenticationError(Exception):
    """Credentials were presented but cannot be used (malformed, unsupported).

    The message is logged, never sent: clients get the configured error response.
    """


@runtime_checkable
class AuthenticationBackend(Protocol):
    """``async authenticate(connection) -> (AuthCredentials, BaseUser) | None``.

    A backend may also have a ``www_authenticate`` string: the challenge sent with 401
    responses from :func:`lamina_auth.requires` (``status_code=401``), and for the app's
    OpenAPI document (lamina-openapi) an ``openapi_security_scheme`` (an OpenAPI Security
    Scheme Object, added to ``components.securitySchemes`` under the backend's name) or an
    ``openapi_scheme_name`` naming a scheme another plugin defines. Operations guarded by
    ``requires(...)`` then list one security requirement per such backend.
    """

    async def authenticate(self, connection: HTTPConnection) -> AuthResult | None: ...


async def _maybe_await(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


def _authorization(connection: HTTPConnection, scheme: str) -> str | None:
    """The credentials after ``scheme`` in the Authorization header (case-insensitive)."""
    for key, value in connection.scope["headers"]:
        if key == b"authorization":
            text: str = value.decode("latin-1")
            found, _, rest = text.partition(" ")
            if found.lower() == scheme:
                return rest.strip()
            return None
    return None


class BasicAuthBackend:
    """HTTP Basic (RFC 7617) against a ``users`` mapping or a ``verify`` callable.

    ``users`` maps user names to passwords and is compared in constant time (fine for
    internal tools and demos); for stored hashes pass ``verify(username, password)`` (sync or
    async) returning a bool, a :class:`BaseUser`, or ``None``. Wrong credentials are
    ``None`` (anonymous): ``requires(..., status_code=401)`` then answers with the challenge.
    """

    openapi_security_scheme: Mapping[str, str] = {"type": "http", "scheme": "basic"}

    def __init__(
        self,
        users: Mapping[str, str] | None = None,
        *,
        verify: Callable[[str, str], Any] | None = None,
        realm: str = "Restricted",
        scopes: Iterable[str] = ("authenticated",),
    ) -> None:
        if (users is None) == (verify is None):
            raise ValueError("BasicAuthBackend needs exactly one of users= or verify=")
        if '"' in realm or "\\" in realm:
            raise ValueError("realm must not contain quotes or backslashes")
        self._users = {
            name.encode("utf-8"): password.encode("utf-8")
            for name, password in (users or {}).items()
        }
        self._verify = verify
        self.scopes = tuple(scopes)
        self.www_authenticate = f'Basic realm="{realm}", charset="UTF-8"'

    async def authenticate(self, connection: HTTPConnection) -> AuthResult | None:
        encoded = _authorization(connection, "basic")
        if encoded is None:
            return None
        try:
            decoded = base64.b64decode(encoded, validate=True).decode("utf-8")
        except (binascii.Error, ValueError):
            raise AuthenticationError("malformed Basic credentials (not base64 UTF-8)") from None
        username, sep, password = decoded.partition(":")
        if not sep:
            raise AuthenticationError("malformed Basic credentials (no ':')")
        if self._verify is not None:
            verdict = await _maybe_await(self._verify(username, password))
            if isinstance(verdict, BaseUser):
                return AuthCredentials(self.scopes), verdict
            return (AuthCredentials(self.scopes), SimpleUser(username)) if verdict is True else None
        return self._check_table(username, password)

    def _check_table(self, username: str, password: str) -> AuthResult | None:
        expected = self._users.get(username.encode("utf-8"))
        given = password.encode("utf-8")
        # Compare against something even for unknown users, so timing does not tell them apart.
        ok = hmac.compare_digest(given, expected if expected is not None else given + b"\0")
        if expected is None or not ok:
            return None
        return AuthCredentials(self.scopes), SimpleUser(username)


class BearerAuthBackend:
    """``Authorization: Bearer <token>`` (RFC 6750) checked by ``verify(token)``.

    ``verify`` (sync or async) returns ``None`` for an unknown token, a :class:`BaseUser`
    (granted ``scopes``), or ``(AuthCredentials, BaseUser)`` to decide the scopes itself.
    """

    openapi_security_scheme: Mapping[str, str] = {"type": "http", "scheme": "bearer"}

    def __init__(
        self,
        verify: Callable[[str], Any],
        *,
        realm: str = "api",
        scopes: Iterable[str] = ("authenticated",),
    ) -> None:
        if '"' in realm or "\\" in realm:
            raise ValueError("realm must not contain quotes or backslashes")
        self._verify = verify
        self.scopes = tuple(scopes)
        self.www_authenticate = f'Bearer realm="{realm}"'

    async def authenticate(self, connection: HTTPConnection) -> AuthResult | None:
        token = _authorization(connection, "bearer")
        if token is None:
            return None
        if not token or any(c.isspace() for c in token):
            raise AuthenticationError("malformed Bearer credentials")
        result = await _maybe_await(self._verify(token))
        if result is None:
            return None
        if isinstance(result, BaseUser):
            return AuthCredentials(self.scopes), result
        if (
            isinstance(result, tuple)
            and len(result) == 2
            and isinstance(result[0], AuthCredentials)
            and isinstance(result[1], BaseUser)
        ):
            return result
        raise TypeError(
            f"bearer verify() returned {result!r}; expected None, a BaseUser, "
            "or (AuthCredentials, BaseUser)"
        )


UserLoader = Callable[[str], Awaitable[BaseUser | None] | BaseUser | None]


class SessionAuthBackend:
    """The user that :func:`lamina_auth.login` put in the session (lamina-sessions).

    By default the user comes back as a :class:`SimpleUser` with the scopes granted at login
    (the session is signed, so they cannot be forged). Pass ``user_loader(identity)`` to load
    your own user model instead; returning ``None`` (a deleted account) means anonymous.
    """

    #: In OpenAPI documents this backend is the session cookie, the security scheme
    #: lamina-sessions contributes under this name.
    openapi_scheme_name = "session"

    def __init__(self, user_loader: UserLoader | None = None) -> None:
        self._load = user_loader

    async def authenticate(self, connection: HTTPConnection) -> AuthResult | None:
        session = connection.scope.get("session")
        if session is None:
            return None
        stored = session.get(SESSION_USER_KEY)
        if not isinstance(stored, dict) or not isinstance(stored.get("id"), str):
            return None
        scopes = stored.get("scopes")
        credentials = AuthCredentials(
            ["authenticated", *(s for s in scopes if isinstance(s, str) and s != "authenticated")]
            if isinstance(scopes, list)
            else ["authenticated"]
        )
        if self._load is not None:
            user = await _maybe_await(self._load(stored["id"]))
            return None if user is None else (credentials, user)
        name = stored.get("name")
        return credentials, SimpleUser(stored["id"], name if isinstance(name, str) else None)
