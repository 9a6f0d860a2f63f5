"""Hooks that lamina-staticfiles defines: how other plugins ship their own assets."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from lamina import hookspec

if TYPE_CHECKING:
    from lamina import Lamina

    from ._plugin import StaticDir


@hookspec
def lamina_staticfiles_register_dirs(app: Lamina, register: Callable[[StaticDir], None]) -> None:
    """Contribute a directory of static files, served under the plugin's own URL prefix.

    When: at assembly, while lamina-staticfiles registers its routes (it needs the routing
    plugin, which mounts each directory with ``lamina_routing.Mount``). A missing directory
    stops the app from starting with a message naming the plugin; two contributions with the
    same prefix (or the app's own ``[staticfiles] prefix``) are a conflict naming both.

    Returns: nothing; call ``register(StaticDir(prefix, directory=... or package=...,
    name=...))``. Each directory is served read-only, with the app's ``cache_control``,
    ``precompressed`` and ``follow_symlinks`` settings; ``name`` makes it reversible with
    ``url_for(name, path="/app.css")``.

    Example::

        from lamina_staticfiles import StaticDir

        @hookimpl
        def lamina_staticfiles_register_dirs(register):
            register(StaticDir("/_admin/static", package="lamina_admin", name="admin:static"))
    """
