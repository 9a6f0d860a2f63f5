"""lamina-sessions: signed-cookie sessions, or server-side ones with a signed id in the cookie.

Settings (``[sessions]``, see :class:`SessionSettings`)::

    secret_key   required; a string or a list (first signs, all verify: rotation)
    cookie_name  "session"        max_age    1209600 (14 days; server-enforced)
    path         "/"              domain     none
    samesite     "lax"            secure     false       httponly    true
    partitioned  false            store      "cookie" | "memory" | "redis" | "pkg.module:name"
    redis_url    (store "redis")  lifetime   2592000 (30 days, absolute, server-side stores)
    salt         "lamina.sessions"

Use::

    app = Lamina(routes, settings={"sessions": {"secret_key": {"env": "APP_SECRET"}}})

    async def visit(request):
        request.session["visits"] = request.session.get("visits", 0) + 1
        ...
        regenerate_session(request)   # new id, same data: call at login

With lamina-openapi installed, the app's OpenAPI document describes the cookie as the
security scheme ``session``.

The middleware runs in the ``"session"`` phase and is plain ASGI
(:class:`SessionMiddleware`), usable outside Lamina. Server-side stores implement
:class:`SessionStore`; :class:`MemoryStore` ships.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from lamina import AssemblyError, Lamina, Middleware, hookimpl
from lamina.plugin import settings_from

from ._middleware import MAX_COOKIE_SIZE, SessionError, SessionMiddleware, SessionTooLarge
from ._redis_store import RedisStore
from ._session import SESSION_KEY, Session, get_session, regenerate_session
from ._settings import SessionSettings
from ._signing import DEFAULT_SALT, SessionSigner
from ._stores import MemoryStore, SessionStore, SessionStoreUnavailable, resolve_store

__all__ = [
    "DEFAULT_SALT",
    "MAX_COOKIE_SIZE",
    "SESSION_KEY",
    "MemoryStore",
    "RedisStore",
    "Session",
    "SessionError",
    "SessionMiddleware",
    "SessionSettings",
    "SessionSigner",
    "SessionStore",
    "SessionStoreUnavailable",
    "SessionTooLarge",
    "get_session",
    "regenerate_session",
    "resolve_store",
    "session_policy",
]

PLUGIN = "sessions"


@hookimpl
def lamina_settings_schema() -> type:
    return SessionSettings


@hookimpl
def lamina_assemble(app: Lamina, settings: SessionSettings) -> None:
    """The app's one store, shared by the middleware and (when it holds connections) the
    lifespan."""
    store: SessionStore | None
    if settings.store == "redis":
        url: Any = settings.redis_url
        store = RedisStore(
            url.reveal() if hasattr(url, "reveal") else url, lifetime=settings.lifetime
        )
    else:
        try:
            store = resolve_store(settings.store)
        except ValueError as exc:
            raise AssemblyError(f"[{PLUGIN}] store: {exc}") from None
    app.extensions[PLUGIN] = {"store": store}


@hookimpl
def lamina_lifespan(app: Lamina) -> Callable[[Lamina], AbstractAsyncContextManager[Any]] | None:
    """A store that holds connections (Redis) is opened and closed with the app."""
    store = app.extensions[PLUGIN]["store"]
    if not isinstance(store, AbstractAsyncContextManager):
        return None
    return lambda _app: store


@hookimpl
def lamina_register_middleware(app: Lamina, settings: SessionSettings, register: Any) -> None:
    register(
        Middleware(
            SessionMiddleware,
            phase="session",
            name="SessionMiddleware",
            store=app.extensions[PLUGIN]["store"],
            **settings.middleware_options(),
        )
    )


@hookimpl(optionalhook=True)
def lamina_openapi_contribute(app: Lamina, openapi: Any) -> None:
    """The OpenAPI document (lamina-openapi, when installed): the session cookie as the
    security scheme ``session``, which lamina-auth's session login refers to."""
    openapi.add_component(
        "securitySchemes",
        "session",
        {
            "type": "apiKey",
            "in": "cookie",
            "name": app.settings_for(PLUGIN).cookie_name,
            "description": "The signed session cookie set by lamina-sessions.",
        },
    )


def session_policy(**settings: Any) -> Middleware:
    """Sessions for one ``Mount`` (or route), with the ``[sessions]`` settings given here::

        Mount("/admin", routes=admin, middleware=[
            session_policy(secret_key={"env": "ADMIN_SECRET"}, cookie_name="admin",
                           path="/admin", samesite="strict", secure=True)])

    Validated like the section (``SettingsError``; ``secret_key`` is required). The store
    is ``"cookie"``, ``"memory"`` or ``"package.module:name"``; ``"redis"`` holds
    connections opened with the app's lifespan, so it is app-wide only. Beside app-wide
    sessions, give the mount its own ``cookie_name`` (and ``path``).
    """
    validated = settings_from(PLUGIN, SessionSettings, settings)
    if validated.store == "redis":
        raise AssemblyError(
            f"[{PLUGIN}] session_policy: the redis store is opened with the app's lifespan; "
            "configure it app-wide in [sessions], or pass a store of your own"
        )
    try:
        store = resolve_store(validated.store)
    except ValueError as exc:
        raise AssemblyError(f"[{PLUGIN}] session_policy store: {exc}") from None
    return Middleware(
        SessionMiddleware,
        phase="session",
        name="SessionMiddleware",
        store=store,
        **validated.middleware_options(),
    )
