"""Hooks that lamina-routing defines for other plugins (added via ``lamina_add_hookspecs``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from lamina import hookspec

if TYPE_CHECKING:
    from lamina import Lamina

    from ._converters import Converter


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
