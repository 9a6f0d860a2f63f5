"""The hook lamina-openapi defines for other plugins (added through ``lamina_add_hookspecs``).

Implement it with ``@hookimpl(optionalhook=True)`` so your plugin still loads in an app
without lamina-openapi; the ``openapi`` argument has four methods, so there is nothing to
import from lamina-openapi either.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lamina import hookspec

if TYPE_CHECKING:
    from lamina import Lamina

    from ._document import Contributions

__all__ = ["lamina_openapi_contribute"]


@hookspec
def lamina_openapi_contribute(app: Lamina, settings: Any, openapi: Contributions) -> None:
    """Contribute to the app's OpenAPI document: components, operations, operation details.

    ``settings`` is the implementing plugin's own validated settings (``None`` without a
    schema), as with every kernel hook.

    When: once, at assembly, from lamina-openapi's ``lamina_assemble`` (marked ``trylast``,
    so after every other plugin's ``lamina_assemble``), before routes are collected. What
    you add is kept; the document is built from it right after the router compiled the
    route table (with ``[openapi] enabled = false``: when ``lamina openapi`` or
    :func:`lamina_openapi.openapi_document` first asks). Operation details are therefore
    callbacks, called once every operation is known. Never per request.

    Returns: nothing; call the methods of ``openapi`` (a :class:`lamina_openapi.Contributions`
    bound to your plugin):

    * ``add_component(kind, name, value)`` adds ``components[kind][name]`` and returns
      its ``$ref`` (``kind``: ``schemas``, ``securitySchemes``, ``responses``...);
    * ``add_schema(type)`` returns the JSON Schema of a dataclass, ``TypedDict`` or pydantic
      model, adding its named parts to ``components.schemas``;
    * ``add_operation(path, method, operation)`` describes an operation the router cannot
      see (a mounted ASGI app's);
    * ``add_operation_details(fn)`` has ``fn(operation)`` (a
      :class:`lamina_openapi.OperationInfo`) called for every operation once all are known;
      the mapping it returns is added to that operation.

    Two plugins giving the same component, operation or operation field different values is
    an error naming both.

    Example::

        @hookimpl(optionalhook=True)
        def lamina_openapi_contribute(openapi):
            openapi.add_component("securitySchemes", "apiKey",
                                  {"type": "apiKey", "in": "header", "name": "X-API-Key"})
            openapi.add_operation_details(
                lambda op: {"security": [{"apiKey": []}]} if op.path.startswith("/api/") else None
            )
    """
