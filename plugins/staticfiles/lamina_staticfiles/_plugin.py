"""The plugin side: ``[staticfiles]`` settings, contributed directories, route registration.

Everything here runs at assembly. The app's own directory (from settings) and every
directory contributed through ``lamina_staticfiles_register_dirs`` become one
``lamina_routing.Mount(prefix, StaticFiles(...), name=...)`` each; after that, requests only
meet :class:`~lamina_staticfiles.StaticFiles`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lamina import AssemblyError, ConflictError, Lamina, hookimpl
from lamina.plugin import call_attributed

from ._app import StaticFiles

__all__ = ["StaticDir", "StaticFilesSettings"]

PLUGIN = "staticfiles"


@dataclass(frozen=True)
class StaticFilesSettings:
    """The ``[staticfiles]`` section. Nothing is served from the app unless ``directory``
    or ``packages`` is set; plugin-contributed directories are served either way."""

    #: A directory, or a list of directories layered in order (the first holding a path wins).
    directory: str | list[str] | None = None
    #: Packages whose ``static`` folder is served (``"pkg"`` or ``"pkg:folder"``), after
    #: the directories.
    packages: list[str] | None = None
    #: URL prefix of the app's static files.
    prefix: str = "/static"
    #: Route name for reversing: ``url_for("static", path="/app.css")``.
    name: str = "static"
    #: ``index.html`` for directories and ``404.html`` for unknown paths.
    html: bool = False
    #: Single-page app: unknown paths asked for as HTML get the root ``index.html``.
    spa: bool = False
    #: Serve symlinks that lead outside the directory (off: they answer 404).
    follow_symlinks: bool = False
    #: Serve ``name.br`` / ``name.gz`` beside ``name`` to clients that accept them.
    precompressed: bool = True
    #: ``Cache-Control`` sent with every file (also on contributed directories).
    cache_control: str | None = None

    def __post_init__(self) -> None:
        if not self.prefix.startswith("/"):
            raise ValueError(f"prefix {self.prefix!r} must start with '/'")


@dataclass(frozen=True)
class StaticDir:
    """A directory a plugin contributes, served under ``prefix``.

    Give ``directory`` (a path) or ``package`` (``"pkg"`` serves ``pkg/static``,
    ``"pkg:assets"`` serves ``pkg/assets``).
    """

    prefix: str
    directory: str | os.PathLike[str] | None = None
    package: str | None = None
    name: str | None = None
    html: bool = False

    def __post_init__(self) -> None:
        if (self.directory is None) == (self.package is None):
            raise ValueError("StaticDir needs exactly one of directory= or package=")
        if not self.prefix.startswith("/") or self.prefix.rstrip("/") == "":
            raise ValueError(
                f"StaticDir prefix {self.prefix!r} must start with '/' and not be the root"
            )


@dataclass
class _Mounted:
    prefix: str
    app: StaticFiles
    name: str | None
    plugin: str


def _describe(app: Lamina, plugin: str) -> str:
    if plugin == "app":
        return "the app's [staticfiles] settings"
    for info in app.plugin_infos:
        if info.name == plugin:
            return info.describe()
    return f"plugin {plugin!r}"


@hookimpl
def lamina_add_hookspecs(pluginmanager: Any) -> None:
    from . import hookspecs

    pluginmanager.add_hookspecs(hookspecs)


@hookimpl
def lamina_settings_schema() -> type:
    return StaticFilesSettings


@hookimpl
def lamina_configure(app: Lamina, settings: StaticFilesSettings) -> None:
    app.extensions[PLUGIN] = {"settings": settings, "mounts": []}


def _collect(app: Lamina, settings: StaticFilesSettings) -> list[_Mounted]:
    common: dict[str, Any] = {
        "follow_symlinks": settings.follow_symlinks,
        "precompressed": settings.precompressed,
        "cache_control": settings.cache_control,
    }
    mounts: list[_Mounted] = []
    if settings.directory is not None or settings.packages:
        directory = settings.directory
        try:
            served = StaticFiles(
                directory,
                packages=settings.packages,
                html=settings.html,
                spa=settings.spa,
                **common,
            )
        except AssemblyError as exc:
            raise AssemblyError(f"[{PLUGIN}] {exc}") from None
        mounts.append(_Mounted(settings.prefix.rstrip("/"), served, settings.name, "app"))

    contributed: list[tuple[str, Any]] = []

    def kwargs_for(plugin: str) -> dict[str, Any]:
        def register(item: StaticDir) -> None:
            contributed.append((plugin, item))

        return {"app": app, "register": register}

    call_attributed(app.pm, "lamina_staticfiles_register_dirs", kwargs_for)
    for plugin, item in contributed:
        who = _describe(app, plugin)
        if not isinstance(item, StaticDir):
            raise AssemblyError(
                f"{who} registered {item!r} as a static directory; "
                "use lamina_staticfiles.StaticDir(prefix, directory=...)"
            )
        try:
            served = StaticFiles(
                item.directory,
                html=item.html,
                packages=[item.package] if item.package else None,
                **common,
            )
        except AssemblyError as exc:
            raise AssemblyError(f"{who}: {exc}") from None
        mounts.append(_Mounted(item.prefix.rstrip("/"), served, item.name, plugin))

    seen: dict[str, _Mounted] = {}
    names: dict[str, _Mounted] = {}
    for mount in mounts:
        other = seen.get(mount.prefix)
        if other is not None:
            raise ConflictError(
                f"static prefix {mount.prefix!r}: {_describe(app, mount.plugin)} and "
                f"{_describe(app, other.plugin)} both serve it; change one prefix"
            )
        seen[mount.prefix] = mount
        if mount.name is not None:
            named = names.get(mount.name)
            if named is not None:
                raise ConflictError(
                    f"static route name {mount.name!r}: {_describe(app, mount.plugin)} and "
                    f"{_describe(app, named.plugin)} both use it; change one name"
                )
            names[mount.name] = mount
    return mounts


@hookimpl
def lamina_assemble(app: Lamina) -> None:
    """Resolve the mounts once (this calls ``lamina_staticfiles_register_dirs``), so the
    routes and the OpenAPI description read the same list."""
    state = app.extensions[PLUGIN]
    state["mounts"] = _collect(app, state["settings"])


@hookimpl
def lamina_register_routes(app: Lamina, register: Callable[[Any], None]) -> None:
    mounts: list[_Mounted] = app.extensions[PLUGIN]["mounts"]
    if not mounts:
        return
    try:
        from lamina_routing import Mount
    except ImportError:
        routing = False
    else:
        routing = app.pm.get_plugin("routing") is not None
    if not routing:
        raise AssemblyError(
            f"plugin {PLUGIN!r} mounts static files with the routing plugin, which is not "
            "enabled; install and enable lamina-routing, or mount "
            "lamina_staticfiles.StaticFiles(...) in your own router"
        )
    for mount in mounts:
        register(Mount(mount.prefix, mount.app, name=mount.name))


@hookimpl(optionalhook=True)
def lamina_openapi_contribute(app: Lamina, openapi: Any) -> None:
    """The OpenAPI document (lamina-openapi, when installed): one ``GET`` per static mount,
    which the router cannot describe (it sees a mounted app)."""
    state = app.extensions.get(PLUGIN)
    for mount in state["mounts"] if state else ():
        operation: dict[str, Any] = {
            "summary": f"Static files under {mount.prefix or '/'}",
            "parameters": [
                {
                    "name": "path",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string"},
                    "description": "The file's path below the prefix; may contain '/'.",
                }
            ],
            "responses": {
                "200": {"description": "The file"},
                "304": {"description": "Not modified since the client's copy"},
                "404": {"description": "No such file"},
            },
        }
        if mount.name:
            operation["operationId"] = mount.name
        openapi.add_operation(f"{mount.prefix}/{{path}}", "get", operation)
