"""lamina-staticfiles: static files from directories and packages.

Use it two ways:

* as a plain ASGI app, mountable anywhere::

      from lamina_staticfiles import StaticFiles
      Mount("/static", StaticFiles("static", html=False, cache_control="max-age=3600"))

* as a plugin configured from settings (it mounts through lamina-routing)::

      app = Lamina(settings={"staticfiles": {"directories": ["static"], "prefix": "/static"}})

Settings (``[staticfiles]``, see :class:`StaticFilesSettings`): ``directories`` (a list),
``packages``, ``prefix="/static"``, ``name="static"``, ``html=false``, ``spa=false``,
``follow_symlinks=false``, ``precompressed=true``, ``cache_control=None``.

Hook for other plugins (``lamina_staticfiles.hookspecs``):
``lamina_staticfiles_register_dirs(app, register)`` with ``register(StaticDir(prefix, ...))``.

Files are answered by :class:`lamina.FileResponse`: ETag / Last-Modified, 304, byte ranges.
Every path that would leave a served directory (``..``, encoded slashes or dots, backslashes,
NUL, symlinks outside) answers 404.
"""

from __future__ import annotations

from ._app import StaticFiles
from ._mime import content_type_for
from ._plugin import (
    StaticDir,
    StaticFilesSettings,
    lamina_add_hookspecs,
    lamina_assemble,
    lamina_openapi_contribute,
    lamina_register_dependencies,
    lamina_register_routes,
    lamina_settings_schema,
)

__all__ = [
    "StaticDir",
    "StaticFiles",
    "StaticFilesSettings",
    "content_type_for",
    "lamina_add_hookspecs",
    "lamina_assemble",
    "lamina_openapi_contribute",
    "lamina_register_dependencies",
    "lamina_register_routes",
    "lamina_settings_schema",
]
