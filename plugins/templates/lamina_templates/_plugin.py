"""The plugin's hook implementations: settings, the per-app instance, freezing at assembly."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy
from lamina import hookimpl

from . import hookspecs
from ._debug import debug_handler
from ._errors import TemplateRenderError
from ._settings import TemplatesSettings
from ._templates import Templates

if TYPE_CHECKING:
    from lamina import Lamina

NAME = "templates"


@hookimpl
def lamina_add_hookspecs(pluginmanager: pluggy.PluginManager) -> None:
    pluginmanager.add_hookspecs(hookspecs)


@hookimpl
def lamina_settings_schema() -> type:
    return TemplatesSettings


@hookimpl
def lamina_configure(app: Lamina, settings: TemplatesSettings) -> None:
    app.extensions[NAME] = Templates(
        settings.directories,
        auto_reload=settings.auto_reload,
        enable_async=settings.enable_async,
        strict_undefined=settings.strict_undefined,
        autoescape_extensions=settings.autoescape_extensions,
        env_options={"trim_blocks": settings.trim_blocks, "lstrip_blocks": settings.lstrip_blocks},
        app=app,
    )


@hookimpl
def lamina_assemble(app: Lamina) -> None:
    """Every plugin is configured: collect template directories, context processors and
    environment hooks, and freeze the environment (once, before any request)."""
    instance: Templates | None = app.extensions.get(NAME)
    if instance is not None:
        instance.freeze()


@hookimpl
def lamina_register_exception_handlers(app: Lamina, register: Any) -> None:
    """Answer template errors with a page showing the template's source around the line."""
    instance: Templates | None = app.extensions.get(NAME)
    if instance is None:
        return
    register(TemplateRenderError, debug_handler(instance))
