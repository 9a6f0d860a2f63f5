"""The plugin side: ``[staticfiles]`` settings, contributed directories, route registration.

Everything here runs at assembly. The app's own directory (from settings) and every
directory contributed through ``lamina_staticfiles_register_dirs`` become one
``lamina_routing.Mount(prefix, StaticFiles(...), name=...)`` each; after that, requests only
meet :class:`~lamina_staticfiles.StaticFiles`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from lamina import AssemblyError, Lamina, hookimpl
from lamina.plugin import Contribution, collect_contributions, reject_duplicates
from lamina_routing import Mount

from ._app import StaticFiles

__all__ = ["StaticDir", "StaticFilesSettings"]

PLUGIN = "staticfiles"


@dataclass(frozen=True)
class StaticFilesSettings:
    """The ``[staticfiles]`` section. Nothing is served from the app unless ``directories``
    or ``packages`` is set; plugin-contributed directories are served either way."""

    #: Directories layered in order (the first holding a path wins).
    directories: list[str] = field(default_factory=list)
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


@dataclass(frozen=True)
class _Mounted:
    prefix: str
    app: StaticFiles
    name: str | None


@hookimpl
def lamina_add_hookspecs(pluginmanager: Any) -> None:
    from . import hookspecs

    pluginmanager.add_hookspecs(hookspecs)


@hookimpl
def lamina_settings_schema() -> type:
    return StaticFilesSettings


@hookimpl
def lamina_register_dependencies(settings: StaticFilesSettings, register: Any) -> None:
    if settings.directories or settings.packages:
        register("routing", "the [staticfiles] directories are mounted through the router")


def _check_static_dir(value: object) -> None:
    if not isinstance(value, StaticDir):
        raise TypeError("use lamina_staticfiles.StaticDir(prefix, directory=...)")


def _own(settings: StaticFilesSettings) -> list[Contribution[_Mounted]]:
    """The app's own directories (from ``[staticfiles]``), if any, as one mount."""
    if not (settings.directories or settings.packages):
        return []
    try:
        served = StaticFiles(
            settings.directories or None,
            packages=settings.packages,
            html=settings.html,
            spa=settings.spa,
            **_common(settings),
        )
    except AssemblyError as exc:
        raise AssemblyError(f"[{PLUGIN}] {exc}") from None
    prefix = settings.prefix.rstrip("/")
    return [Contribution(_Mounted(prefix, served, settings.name), "app")]


def _contributed(settings: StaticFilesSettings, item: StaticDir, who: str) -> _Mounted:
    try:
        served = StaticFiles(
            item.directory,
            html=item.html,
            packages=[item.package] if item.package else None,
            **_common(settings),
        )
    except AssemblyError as exc:
        raise AssemblyError(f"{who}: {exc}") from None
    return _Mounted(item.prefix.rstrip("/"), served, item.name)


def _common(settings: StaticFilesSettings) -> dict[str, Any]:
    return {
        "follow_symlinks": settings.follow_symlinks,
        "precompressed": settings.precompressed,
        "cache_control": settings.cache_control,
    }


@hookimpl
def lamina_assemble(app: Lamina, settings: StaticFilesSettings) -> None:
    """The app's directories and every contributed one, each built into a StaticFiles app
    once; two of them on one prefix, or under one route name, is a conflict."""
    dirs = collect_contributions(
        app, "lamina_staticfiles_register_dirs", what="static directory", check=_check_static_dir
    )
    mounts = _own(settings) + [
        Contribution(_contributed(settings, d, app.describe_plugin(p)), p) for d, p in dirs
    ]
    reject_duplicates(app, mounts, what="static prefix", key=lambda m: m.prefix)
    named = [m for m in mounts if m.value.name is not None]
    reject_duplicates(app, named, what="static route name", key=lambda m: m.name)
    app.extensions[PLUGIN] = [m.value for m in mounts]


@hookimpl
def lamina_register_routes(app: Lamina, register: Callable[[Any], None]) -> None:
    for mount in app.extensions[PLUGIN]:
        register(Mount(mount.prefix, mount.app, name=mount.name))


@hookimpl(optionalhook=True)
def lamina_openapi_contribute(app: Lamina, openapi: Any) -> None:
    """The OpenAPI document (lamina-openapi, when installed): one ``GET`` per static mount,
    which the router cannot describe (it sees a mounted app)."""
    mounts: list[_Mounted] = app.extensions.get(PLUGIN, [])
    for mount in mounts:
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
