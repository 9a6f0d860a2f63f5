"""The ``[sessions]`` settings section."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from lamina import Secret

__all__ = ["SessionSettings"]


@dataclass(frozen=True)
class SessionSettings:
    """Validated by the kernel; ``secret_key`` has no default, so the app refuses to start
    without one (read it from the environment: ``{"env": "APP_SECRET"}``)."""

    #: The signing key, or a list of keys: the first signs, all verify (key rotation).
    secret_key: Secret | list[Secret]
    cookie_name: str = "session"
    #: Seconds a session lives after it was last written, enforced by the server from the
    #: signed timestamp and told to the browser as ``Max-Age``. ``None``: a browser-session
    #: cookie with no server-side expiry.
    max_age: int | None = 14 * 24 * 3600
    path: str = "/"
    domain: str | None = None
    samesite: Literal["lax", "strict", "none"] = "lax"
    #: Send the cookie over HTTPS only. Off by default so ``http://localhost`` works; turn it
    #: on in production.
    secure: bool = False
    httponly: bool = True
    #: CHIPS: a cookie partitioned by top-level site (requires ``secure``).
    partitioned: bool = False
    #: ``"cookie"`` (the data, signed, in the cookie), ``"memory"`` (in this process, only a
    #: signed id in the cookie), ``"redis"`` (shared by every worker; set ``redis_url``), or
    #: ``"package.module:name"`` of your own store.
    store: str = "cookie"
    #: ``redis://HOST:PORT/DB`` for ``store = "redis"`` (read it from the environment:
    #: ``{"env": "SESSION_REDIS_URL"}``; it is a secret when it carries a password).
    redis_url: Secret | None = None
    #: Absolute lifetime of a server-side session in seconds, counted from its creation
    #: (regeneration keeps it): writes extend the idle time (``max_age``), never past this.
    lifetime: int | None = 30 * 24 * 3600
    #: Namespaces the signatures (change it to invalidate every session at once).
    salt: str = "lamina.sessions"

    def __post_init__(self) -> None:
        keys: Any = self.secret_key
        if (isinstance(keys, list) and (not keys or not all(keys))) or not keys:
            raise ValueError("secret_key must be a non-empty string or a non-empty list of them")
        if self.max_age is not None and self.max_age <= 0:
            raise ValueError(f"max_age must be positive or null, not {self.max_age}")
        if self.lifetime is not None and self.lifetime <= 0:
            raise ValueError(f"lifetime must be positive or null, not {self.lifetime}")
        if self.store == "redis" and not self.redis_url:
            raise ValueError('store = "redis" needs redis_url (redis://HOST:PORT/DB)')
        from ._middleware import check_cookie_settings

        check_cookie_settings(
            self.cookie_name, self.path, self.domain, self.samesite, self.secure, self.partitioned
        )

    def middleware_options(self) -> dict[str, Any]:
        return {
            "secret_key": self.secret_key,
            "cookie_name": self.cookie_name,
            "max_age": self.max_age,
            "path": self.path,
            "domain": self.domain,
            "samesite": self.samesite,
            "secure": self.secure,
            "httponly": self.httponly,
            "partitioned": self.partitioned,
            "salt": self.salt,
        }
