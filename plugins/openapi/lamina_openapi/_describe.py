"""What an endpoint says about itself: its docstring, a YAML block in it, ``@operation``.

The docstring's first line is the operation's ``summary`` and the rest its
``description``, up to a line holding only ``---``; what follows that line is YAML merged
into the operation (``responses``, ``tags``, ``requestBody``...)::

    async def list_items(request):
        \"\"\"List the items.

        Newest first.
        ---
        tags: [items]
        responses:
          "200":
            description: The items.
        \"\"\"

:func:`operation` says the same from Python, and wins over the YAML for a field both set.
Parameters and return annotated with dataclasses or ``TypedDict``s (or ``body=`` /
``returns=`` on the decorator) become the JSON request body and the 200 response.
"""

from __future__ import annotations

import inspect
import re
import typing
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import yaml
from lamina import AssemblyError

__all__ = ["ATTRIBUTE", "EndpointDocs", "endpoint_docs", "operation"]

#: Where :func:`operation` keeps what it was told, on the endpoint function.
ATTRIBUTE = "__lamina_openapi__"

F = TypeVar("F", bound=Callable[..., Any])
#: libyaml's safe loader when PyYAML was built with it (about 10x faster), else the Python one.
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_SNAKE = re.compile(r"_([a-z])")


def operation(
    fields: Mapping[str, Any] | None = None,
    /,
    *,
    body: Any = None,
    returns: Any = None,
    **more: Any,
) -> Callable[[F], F]:
    """Describe an endpoint's operation beyond its docstring.

    ``fields`` and keyword arguments are OpenAPI Operation fields; keyword names may be
    snake_case (``request_body`` is ``requestBody``, ``operation_id`` is ``operationId``).
    ``body`` and ``returns`` take a type (a dataclass, ``TypedDict``, ``list[...]`` of one, or
    a class with pydantic's ``model_json_schema``) for the JSON request body and the 200
    response. Stacked decorators merge, the outer one winning::

        @operation(tags=["items"], returns=list[Item],
                   responses={"404": {"description": "No such shelf"}})
        async def shelf(request): ...
    """
    given = {**dict(fields or {}), **{_camel(k): v for k, v in more.items()}}
    if body is not None:
        given["x-lamina-body"] = body
    if returns is not None:
        given["x-lamina-returns"] = returns

    def decorate(func: F) -> F:
        inner = getattr(func, ATTRIBUTE, None) or {}
        setattr(func, ATTRIBUTE, {**inner, **given})
        return func

    return decorate


def _camel(name: str) -> str:
    return _SNAKE.sub(lambda m: m.group(1).upper(), name)


class EndpointDocs(typing.NamedTuple):
    """The operation fields an endpoint declares, and the types it annotates."""

    fields: dict[str, Any]
    body: Any
    returns: Any


def endpoint_docs(func: Any, where: str) -> EndpointDocs:
    """Read ``func``'s docstring, YAML block, ``@operation`` fields and annotations.

    ``where`` names the route in errors (a YAML block that does not parse, or is not a
    mapping, stops assembly)."""
    fields: dict[str, Any] = {}
    doc = inspect.getdoc(func)
    if doc:
        prose, _, block = _split(doc)
        summary, _, description = prose.strip().partition("\n")
        if summary.strip():
            fields["summary"] = summary.strip()
        if description.strip():
            fields["description"] = description.strip()
        if block.strip():
            fields.update(_yaml(block, where))
    declared = dict(getattr(func, ATTRIBUTE, None) or {})
    body = declared.pop("x-lamina-body", None)
    returns = declared.pop("x-lamina-returns", None)
    fields.update(declared)
    hinted_body, hinted_returns = _annotations(func)
    return EndpointDocs(
        fields, body if body is not None else hinted_body, returns or hinted_returns
    )


def _split(doc: str) -> tuple[str, str, str]:
    lines = doc.splitlines()
    for i, line in enumerate(lines):
        if line.strip() == "---":
            return "\n".join(lines[:i]), "---", "\n".join(lines[i + 1 :])
    return doc, "", ""


def _yaml(block: str, where: str) -> dict[str, Any]:
    try:
        loaded = yaml.load(block, Loader=_LOADER)  # a safe loader (no arbitrary objects)
    except yaml.YAMLError as exc:
        raise AssemblyError(
            f"{where}: the YAML block of the endpoint's docstring (after '---') does not "
            f"parse: {exc}"
        ) from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise AssemblyError(
            f"{where}: the YAML block of the endpoint's docstring (after '---') must be a "
            f"mapping of OpenAPI Operation fields, got {type(loaded).__name__}"
        )
    return {str(k): v for k, v in loaded.items()}


def _annotations(func: Any) -> tuple[Any, Any]:
    """The first non-connection parameter annotated with a model, and the return type, when
    they are models (see :func:`lamina_openapi._schema.model_of`)."""
    from ._schema import model_of

    target = func if inspect.isfunction(func) or inspect.ismethod(func) else None
    if target is None:
        return None, None
    try:
        hints = typing.get_type_hints(target, include_extras=True)
    except Exception:
        # annotations naming types only imported under TYPE_CHECKING: the endpoint still
        # serves; its schema just cannot come from them (use @operation(body=..., returns=...))
        return None, None
    returns = hints.pop("return", None)
    body = next((tp for tp in hints.values() if model_of(tp)), None)
    return body, returns if returns is not None and model_of(returns) else None
