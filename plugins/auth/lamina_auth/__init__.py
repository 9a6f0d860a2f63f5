"""lamina-auth: authentication backends, users, scopes, ``requires()``, session login.

Settings (``[auth]``, see :class:`AuthSettings`)::

    backends      null (all registered, plugin order) or e.g. ["session", "basic"]
    error_status  400          error_detail  "Invalid authentication credentials"
    on_error      null or "package.module:function"

Backends come from the ``lamina_auth_register_backends(app, register)`` hook (see
:mod:`lamina_auth.hookspecs`), collected once at ``lamina_assemble``; this plugin registers
``"session"``, and while it is selected (the default) the plugin declares that it needs the
``sessions`` plugin (``lamina_register_dependencies``). Use::

    @requires("authenticated", redirect="login")
    async def account(request):
        return PlainTextResponse(f"Hello {request.user.display_name}")

    async def do_login(request):
        ...
        login(request, SimpleUser("alice"))
        return RedirectResponse(safe_next(request.query_params.get("next")), 303)

With lamina-openapi installed, the app's OpenAPI document gets a security scheme per
configured backend (``basic``, ``bearer``; the ``session`` backend is lamina-sessions'
cookie) and a security requirement on every operation guarded by ``requires(...)``.

The middleware runs in the ``"auth"`` phase (inside ``"session"``) and is plain ASGI
(:class:`AuthMiddleware`), usable outside Lamina.
"""

from __future__ import annotations

import importlib
from typing import Any

import pluggy
from lamina import AssemblyError, Lamina, Middleware, hookimpl
from lamina.plugin import collect_contributions

from ._backends import (
    SESSION_USER_KEY,
    AuthenticationBackend,
    AuthenticationError,
    AuthResult,
    BasicAuthBackend,
    BearerAuthBackend,
    SessionAuthBackend,
)
from ._login import is_local_path, login, logout, safe_next
from ._middleware import CHALLENGES_KEY, AuthMiddleware, ErrorHandler
from ._requires import REQUIRED_SCOPES_ATTRIBUTE, has_required_scope, requires
from ._settings import AuthSettings
from ._types import AuthCredentials, BaseUser, SimpleUser, UnauthenticatedUser

__all__ = [
    "CHALLENGES_KEY",
    "REQUIRED_SCOPES_ATTRIBUTE",
    "SESSION_USER_KEY",
    "AuthCredentials",
    "AuthMiddleware",
    "AuthResult",
    "AuthSettings",
    "AuthenticationBackend",
    "AuthenticationError",
    "BaseUser",
    "BasicAuthBackend",
    "BearerAuthBackend",
    "ErrorHandler",
    "SessionAuthBackend",
    "SimpleUser",
    "UnauthenticatedUser",
    "has_required_scope",
    "is_local_path",
    "login",
    "logout",
    "requires",
    "safe_next",
]

PLUGIN = "auth"


@hookimpl
def lamina_add_hookspecs(pluginmanager: pluggy.PluginManager) -> None:
    from . import hookspecs

    pluginmanager.add_hookspecs(hookspecs)


@hookimpl
def lamina_settings_schema() -> type:
    return AuthSettings


@hookimpl
def lamina_auth_register_backends(register: Any) -> None:
    register("session", SessionAuthBackend())


@hookimpl
def lamina_register_dependencies(settings: AuthSettings, register: Any) -> None:
    if settings.backends is None or "session" in settings.backends:
        register("sessions", "the 'session' auth backend reads the user from request.session")


def _check_backend(value: tuple[str, AuthenticationBackend]) -> None:
    if not callable(getattr(value[1], "authenticate", None)):
        raise TypeError("it has no authenticate(connection) method")


def _import_on_error(settings: AuthSettings) -> ErrorHandler | None:
    if settings.on_error is None:
        return None
    module_name, _, attr = settings.on_error.partition(":")
    try:
        handler: ErrorHandler = getattr(importlib.import_module(module_name), attr)
        return handler
    except (ImportError, AttributeError, ValueError) as exc:
        raise AssemblyError(
            f"[{PLUGIN}] on_error {settings.on_error!r} cannot be imported: {exc}"
        ) from None


@hookimpl
def lamina_assemble(app: Lamina, settings: AuthSettings) -> None:
    """Collect the backends plugins register and pick those the settings name, in the order
    they are asked (``app.extensions["auth"]["named"]``: ``(name, backend)`` pairs)."""
    available = {
        name: backend
        for (name, backend), _plugin in collect_contributions(
            app,
            "lamina_auth_register_backends",
            what="auth backend",
            arity=2,
            check=_check_backend,
        )
    }
    if settings.backends is None:
        named = list(available.items())
    else:
        unknown = [n for n in settings.backends if n not in available]
        if unknown:
            raise AssemblyError(
                f"[{PLUGIN}] backends: {', '.join(map(repr, unknown))} not registered "
                f"(registered: {', '.join(sorted(available)) or 'none'}); a plugin provides "
                "backends through the lamina_auth_register_backends hook"
            )
        named = [(n, available[n]) for n in settings.backends]
    app.extensions[PLUGIN] = {
        "named": named,
        "backends": [backend for _name, backend in named],
        "on_error": _import_on_error(settings),
    }


@hookimpl
def lamina_register_middleware(app: Lamina, settings: AuthSettings, register: Any) -> None:
    assembled = app.extensions[PLUGIN]
    register(
        Middleware(
            AuthMiddleware,
            phase="auth",
            name="AuthMiddleware",
            backends=assembled["backends"],
            on_error=assembled["on_error"],
            error_status=settings.error_status,
            error_detail=settings.error_detail,
        )
    )


@hookimpl(optionalhook=True)
def lamina_openapi_contribute(app: Lamina, openapi: Any) -> None:
    """The OpenAPI document (lamina-openapi, when installed): a security scheme per
    configured backend that declares one, and on every operation guarded by ``requires``
    one security requirement per backend (any of them will do), listing the scopes."""
    schemes: list[str] = []
    for name, backend in app.extensions[PLUGIN]["named"]:
        scheme = getattr(backend, "openapi_security_scheme", None)
        if scheme is not None:
            openapi.add_component("securitySchemes", name, scheme)
            schemes.append(name)
        elif isinstance(other := getattr(backend, "openapi_scheme_name", None), str):
            schemes.append(other)  # a scheme another plugin defines (sessions' cookie)

    def security(operation: Any) -> dict[str, Any] | None:
        scopes = getattr(operation.endpoint, REQUIRED_SCOPES_ATTRIBUTE, None)
        if scopes is None or not schemes:
            return None
        return {"security": [{scheme: list(scopes)} for scheme in schemes]}

    openapi.add_operation_details(security)
