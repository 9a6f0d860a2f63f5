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
        env_options={"trim_blocks": settings.trim_blocks,
                     "lstrip_blocks": settings.lstrip_blocks},
        app=app,
    )


@hookimpl
def lamina_register_exception_handlers(app: Lamina, register: Any) -> None:
    """Freeze the environment while the app assembles (contributions are resolved here, once)
    and answer template errors with a page showing the template's source around the line."""
    instance: Templates | None = app.extensions.get(NAME)
    if instance is None:
        return
    instance.freeze()
    register(TemplateRenderError, debug_handler(instance))
