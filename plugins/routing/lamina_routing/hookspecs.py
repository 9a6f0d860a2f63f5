"""Hooks that lamina-routing defines for other plugins (added via ``lamina_add_hookspecs``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from lamina import hookspec

if TYPE_CHECKING:
    from lamina import Lamina

    from ._converters import Converter
    from ._router import Router


@hookspec
def lamina_routing_register_converters(
    app: Lamina, register: Callable[[str, Converter], None]
) -> None:
    """Contribute path converters usable as ``{param:name}`` in every route of the app.

    When: at assembly, just before the router compiles the route table (once per app; there
    is no global registry, so two apps can give one name different meanings).

    Returns: nothing; call ``register(name, converter)`` where ``converter`` has a ``regex``
    (the text it accepts within one segment), ``convert(text) -> value`` (raise
    ``ValueError`` to refuse a match) and ``to_string(value) -> text`` for reverse routing.
    Two plugins registering one name, or a built-in name (str, int, float, uuid, path), is an
    error naming both.

    Example::

        class SlugConverter(lamina_routing.Converter):
            regex = "[a-z0-9]+(?:-[a-z0-9]+)*"

        @hookimpl
        def lamina_routing_register_converters(register):
            register("slug", SlugConverter())
    """


@hookspec
def lamina_routing_router_compiled(app: Lamina, settings: Any, router: Router) -> None:
    """Read the app's compiled route table, once, before anything is served.

    ``settings`` is the implementing plugin's own validated settings (``None`` without a
    schema), as with every kernel hook.

    When: at assembly, right after the router compiled every route (its own, the app's and
    every plugin's) and before the kernel collects middleware; plugins in plugin order.
    Not called per request. It is the place for tools that describe the app (an OpenAPI
    document, a route map) to read :func:`lamina_routing.describe_routes` and freeze what
    they make of it. Implement it with ``@hookimpl(optionalhook=True)`` when your plugin
    does not depend on lamina-routing.

    Returns: nothing. Raise :class:`lamina.AssemblyError` to stop startup.

    Example::

        @hookimpl
        def lamina_routing_router_compiled(app, router):
            app.extensions["sitemap"] = [r.path for r in describe_routes(router)
                                         if r.kind == "http" and "GET" in (r.methods or ())]
    """
