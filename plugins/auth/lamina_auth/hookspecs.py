"""Hooks that lamina-auth defines (added through ``lamina_add_hookspecs``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from lamina import hookspec

if TYPE_CHECKING:
    from lamina import Lamina

    from ._backends import AuthenticationBackend


@hookspec
def lamina_auth_register_backends(
    app: Lamina, register: Callable[[str, AuthenticationBackend], None]
) -> None:
    """Contribute authentication backends, each under a name.

    When: at assembly, when lamina-auth builds its middleware (after configuration). The
    app's ``[auth] backends`` setting lists the names to use, in the order they are asked;
    without it every registered backend is used in plugin order. lamina-auth itself
    registers ``"session"`` (the user that ``login()`` stored). Two plugins registering one
    name is an error naming both.

    Returns: nothing; call ``register(name, backend)`` where ``backend`` has
    ``async authenticate(connection) -> (AuthCredentials, BaseUser) | None`` and,
    optionally, a ``www_authenticate`` challenge string.

    Example::

        @hookimpl
        def lamina_auth_register_backends(register):
            register("basic", BasicAuthBackend(verify=check_password, realm="admin"))
            register("token", BearerAuthBackend(verify=lookup_token))
    """
