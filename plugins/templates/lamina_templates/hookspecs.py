"""Hooks that lamina-templates defines for other plugins.

All three are called once, when the app assembles (or when the app's :class:`Templates` is
first used, if that comes earlier), never per request. Implement them with
``@hookimpl(optionalhook=True)`` so your plugin still loads in an app that does not use
lamina-templates::

    from lamina import hookimpl

    @hookimpl(optionalhook=True)
    def lamina_templates_register_directories(register):
        register(Path(__file__).parent / "templates")
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from lamina import hookspec

if TYPE_CHECKING:
    import jinja2
    from lamina import Lamina

    from ._templates import ContextProcessor, TemplateSource

__all__ = [
    "lamina_templates_configure_environment",
    "lamina_templates_register_context_processors",
    "lamina_templates_register_directories",
]


@hookspec
def lamina_templates_register_directories(
    app: Lamina, register: Callable[[TemplateSource], None]
) -> None:
    """Contribute directories (or Jinja2 loaders) that templates are looked up in.

    When: once, at assembly. The app's own directories (``[templates] directories``) are
    searched first, then each plugin's in plugin order, so an app overrides a plugin's
    template by putting a file with the same name in its own directory. By convention a
    plugin keeps its templates under a folder named after itself (``auth/login.html``).

    Returns: nothing; call ``register(path)`` with a directory (``str`` or path-like) or a
    ``jinja2.BaseLoader`` (for example ``jinja2.PackageLoader("my_plugin")``). A directory
    that does not exist stops the assembly with an error naming the plugin.

    Example::

        @hookimpl(optionalhook=True)
        def lamina_templates_register_directories(register):
            register(Path(__file__).parent / "templates")
    """


@hookspec
def lamina_templates_register_context_processors(
    app: Lamina, register: Callable[[ContextProcessor], None]
) -> None:
    """Contribute context processors: functions adding variables to every template.

    When: once, at assembly; the processors are frozen into a tuple and called directly for
    each rendered template (processors run in plugin order, after the app's own, and the
    endpoint's explicit context wins over all of them).

    Returns: nothing; call ``register(processor)`` where ``processor(request)`` returns a
    mapping, or is ``async def`` and returns one. One async processor makes every
    :class:`~lamina_templates.TemplateResponse` render when it is sent rather than when it
    is built.

    Example::

        @hookimpl(optionalhook=True)
        def lamina_templates_register_context_processors(register):
            register(lambda request: {"user": request.scope.get("user")})
    """


@hookspec
def lamina_templates_configure_environment(app: Lamina, env: jinja2.Environment) -> None:
    """Adjust the app's Jinja2 environment: add filters, tests, globals or extensions.

    When: once, right after the environment is built (at assembly, or on first use of the
    app's :class:`~lamina_templates.Templates` if that is earlier), before any template is
    loaded.

    Returns: nothing; mutate ``env``.

    Example::

        @hookimpl(optionalhook=True)
        def lamina_templates_configure_environment(env):
            env.filters["money"] = lambda cents: f"{cents / 100:.2f}"
    """
