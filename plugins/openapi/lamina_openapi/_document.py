"""Assembling the document: operations from the compiled routes, then every plugin's part.

Order, once per app at assembly, when the router has compiled the route table:

1. Each HTTP route with ``include_in_schema`` gives one operation per declared method
   (``HEAD`` and ``OPTIONS`` only when declared), with its path parameters typed from the
   converters, its docstring, YAML block, ``@operation`` fields and annotated models.
   WebSocket routes and mounted ASGI apps are left out (a plugin may describe a mounted
   app's operations through the hook).
2. The operations plugins described through ``lamina_openapi_contribute`` (called earlier,
   at ``lamina_assemble``, each plugin with its own :class:`Contributions`, so each
   component, operation and operation field knows who gave it) are added. The same thing
   given twice identically is fine; given twice differently it is a
   :class:`lamina.ConflictError` naming both contributors.
3. Operation details from plugins (``add_operation_details``) are applied to every
   operation, in plugin order.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from lamina import AssemblyError, ConflictError, Lamina, RouteLike
from lamina.plugin import call_hook
from lamina_routing import PathParameter, RouteInfo, describe_routes

from ._describe import EndpointDocs, endpoint_docs
from ._schema import SchemaRegistry
from ._settings import OpenAPISettings

__all__ = ["Contributions", "OperationInfo", "build_document", "collect"]

HOOK = "lamina_openapi_contribute"
logger = logging.getLogger("lamina.openapi")
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
#: The kinds of reusable objects an OpenAPI 3.1 ``components`` section holds.
COMPONENT_KINDS = frozenset(
    {
        "schemas",
        "responses",
        "parameters",
        "examples",
        "requestBodies",
        "headers",
        "securitySchemes",
        "links",
        "callbacks",
        "pathItems",
    }
)


@dataclass(frozen=True)
class OperationInfo:
    """One operation of the document, as plugins see it in ``add_operation_details``.

    ``path`` is the OpenAPI path (``/items/{id}``), ``method`` lower case. ``endpoint`` is
    what serves this method: the function, or a class endpoint's method (so decorators
    such as ``lamina_auth.requires`` can be recognised on it); ``None`` for an operation a
    plugin added. ``route`` is the route object (``None`` likewise), ``plugin`` who
    contributed the route or the operation (``"app"`` for the app's own). ``fields`` is the
    operation as declared so far (read it, do not change it).
    """

    path: str
    method: str
    operation_id: str | None
    endpoint: Any
    route: RouteLike | None
    plugin: str
    fields: Mapping[str, Any]


@dataclass
class _Operation:
    info: OperationInfo
    fields: dict[str, Any]
    #: who set each field: ``field`` or ``field/key`` for fields merged key by key
    owners: dict[str, str] = field(default_factory=dict)


#: Operation fields whose value is a mapping merged key by key (two contributors may each
#: add their own responses); every other field belongs to whoever set it first.
_MERGED = frozenset({"responses", "callbacks"})


class Contributions:
    """What ``lamina_openapi_contribute`` receives as ``openapi``: one per plugin, so the
    document knows who contributed what.

    Hook implementations use only these four methods, so a plugin can contribute without
    importing lamina-openapi (and still load when it is not installed).
    """

    def __init__(self, builder: _Builder, plugin: str) -> None:
        self._builder = builder
        self._plugin = plugin

    def add_component(self, kind: str, name: str, value: Mapping[str, Any]) -> str:
        """Add ``components[kind][name]`` (``kind``: ``schemas``, ``securitySchemes``...);
        returns its ``$ref`` string. The same value twice is fine, a different one is a
        conflict naming both plugins."""
        return self._builder.add_component(kind, name, value, self._plugin)

    def add_schema(self, annotation: Any) -> dict[str, Any]:
        """The JSON Schema of a type (dataclass, ``TypedDict``, pydantic model,
        ``list[...]``...), its named parts added to ``components.schemas``; returns the
        schema to use (often ``{"$ref": ...}``)."""
        return self._builder.schemas.describe(annotation, self._plugin)

    def add_operation(self, path: str, method: str, operation: Mapping[str, Any]) -> None:
        """Describe an operation the router does not know (a mounted app's, say). Describing
        one that a route or another plugin already gives is a conflict naming both (found
        when the document is built, once the routes are known)."""
        self._builder.pending.append((path, method, dict(operation), self._plugin))

    def add_operation_details(
        self, details: Callable[[OperationInfo], Mapping[str, Any] | None]
    ) -> None:
        """Have ``details(operation)`` called for every operation once all are known; the
        fields it returns are added to that operation (``responses`` and ``callbacks``
        merge key by key). A field that someone else set already is a conflict naming
        both."""
        self._builder.details.append((self._plugin, details))


class _Builder:
    def __init__(self, app: Lamina, settings: OpenAPISettings) -> None:
        self.app = app
        self.settings = settings
        self.describe = app.describe_plugin
        self.schemas = SchemaRegistry(self.describe)
        self.components: dict[str, dict[str, Any]] = {}
        self.component_owners: dict[tuple[str, str], str] = {}
        self.operations: dict[tuple[str, str], _Operation] = {}
        self.details: list[tuple[str, Callable[[OperationInfo], Mapping[str, Any] | None]]] = []
        #: operations plugins described, added after the routes' own
        self.pending: list[tuple[str, str, dict[str, Any], str]] = []

    # ------------------------------------------------------------------ contributions
    def add_component(self, kind: str, name: str, value: Mapping[str, Any], owner: str) -> str:
        if kind not in COMPONENT_KINDS:
            raise AssemblyError(
                f"{self.describe(owner)} adds an OpenAPI component of kind {kind!r}; the kinds are "
                f"{', '.join(sorted(COMPONENT_KINDS))}"
            )
        if not isinstance(name, str) or not name:
            raise AssemblyError(f"{self.describe(owner)} adds an OpenAPI component without a name")
        if kind == "schemas":
            return self.schemas.add(name, value, owner, "a component it added")
        table = self.components.setdefault(kind, {})
        if name in table and table[name] != value:
            first = self.component_owners[(kind, name)]
            raise ConflictError(
                f"OpenAPI component {kind}/{name} is defined twice, differently: by "
                f"{self.describe(first)} and by {self.describe(owner)}; rename one, or disable one "
                "of the plugins"
            )
        table[name] = dict(value)
        self.component_owners.setdefault((kind, name), owner)
        return f"#/components/{kind}/{name}"

    def add_operation(
        self,
        path: str,
        method: str,
        fields: dict[str, Any],
        owner: str,
        endpoint: Any = None,
        route: RouteLike | None = None,
    ) -> _Operation:
        method = method.lower()
        if method not in METHODS:
            raise AssemblyError(
                f"{self.describe(owner)} describes the operation {method.upper()} {path}: OpenAPI "
                f"knows only the methods {', '.join(m.upper() for m in METHODS)}"
            )
        if not isinstance(path, str) or not path.startswith("/"):
            raise AssemblyError(
                f"{self.describe(owner)} describes an operation on {path!r}; paths start with '/'"
            )
        key = (path, method)
        existing = self.operations.get(key)
        if existing is not None:
            raise ConflictError(
                f"OpenAPI operation {method.upper()} {path} is described twice: by "
                f"{self.describe(existing.info.plugin)} and by {self.describe(owner)}; remove "
                "one, or disable one of the plugins"
            )
        info = OperationInfo(
            path,
            method,
            fields.get("operationId"),
            endpoint,
            route,
            owner,
            MappingProxyType(fields),
        )
        op = _Operation(info, fields, dict.fromkeys(fields, owner))
        self.operations[key] = op
        return op

    def apply_details(self) -> None:
        for plugin, details in self.details:
            for op in self.operations.values():
                try:
                    extra = details(op.info)
                except Exception as exc:
                    exc.add_note(
                        f"raised by the operation details of {self.describe(plugin)} for "
                        f"{op.info.method.upper()} {op.info.path}"
                    )
                    raise
                if extra:
                    _merge(op, dict(extra), plugin, self.describe)

    # ------------------------------------------------------------------ routes
    def add_routes(self, routes: Iterable[RouteInfo]) -> None:
        for info in routes:
            route = info.route
            if info.kind != "http" or info.methods is None:
                continue
            if not getattr(route, "include_in_schema", True):
                continue
            path = openapi_path(info.path)
            methods = [m for m in METHODS if m.upper() in info.methods]
            for method in methods:
                where = f"{self.describe(info.plugin)}: {method.upper()} {info.path}"
                endpoint = _endpoint_for(route, method)
                docs = endpoint_docs(endpoint, where)
                fields = self._route_fields(info, docs, method, len(methods) > 1)
                if info.host is not None and self._same_path_other_host(
                    path, method, fields, endpoint
                ):
                    continue
                self.add_operation(path, method, fields, info.plugin, endpoint, route)

    def _same_path_other_host(
        self, path: str, method: str, fields: dict[str, Any], endpoint: Any
    ) -> bool:
        """Two hosts serving one path and method: OpenAPI has one operation per path and
        method. The same endpoint gets both hosts as servers; a different one cannot be
        described, which is logged (the first stays)."""
        existing = self.operations.get((path, method))
        if existing is None:
            return False
        if existing.info.endpoint is endpoint and "servers" in existing.fields:
            existing.fields["servers"] = [*existing.fields["servers"], *fields["servers"]]
        else:
            logger.warning(
                "OpenAPI: %s %s is served by several hosts with different endpoints; the "
                "document describes the first (%s) only",
                method.upper(),
                path,
                existing.fields.get("servers", [{"url": "any host"}])[0]["url"],
            )
        return True

    def _route_fields(
        self, info: RouteInfo, docs: EndpointDocs, method: str, several: bool
    ) -> dict[str, Any]:
        fields: dict[str, Any] = {}
        if info.name:
            fields["operationId"] = f"{info.name}_{method}" if several else info.name
        fields.update(docs.fields)
        params = [_path_parameter(p) for p in info.params]
        declared = list(fields.get("parameters") or ())
        taken = {(p.get("name"), p.get("in")) for p in declared if isinstance(p, Mapping)}
        merged = [p for p in params if (p["name"], "path") not in taken] + declared
        if merged:
            fields["parameters"] = merged
        if docs.body is not None and "requestBody" not in fields:
            fields["requestBody"] = {
                "required": True,
                "content": {
                    "application/json": {"schema": self.schemas.describe(docs.body, info.plugin)}
                },
            }
        if docs.returns is not None:
            responses = dict(fields.get("responses") or {})
            ok = dict(responses.get("200") or {"description": "Successful response"})
            ok.setdefault(
                "content",
                {"application/json": {"schema": self.schemas.describe(docs.returns, info.plugin)}},
            )
            responses["200"] = ok
            fields["responses"] = responses
        if info.host is not None and "servers" not in fields:
            fields["servers"] = [_host_server(info.host, info.host_params)]
        return fields

    # ------------------------------------------------------------------ the document
    def document(self) -> dict[str, Any]:
        self._check_operation_ids()
        s = self.settings
        info: dict[str, Any] = {"title": s.title, "version": s.version}
        if s.description:
            info["description"] = s.description
        doc: dict[str, Any] = {"openapi": "3.1.0", "info": info}
        if s.servers:
            doc["servers"] = [{"url": url} for url in s.servers]
        paths: dict[str, dict[str, Any]] = {}
        for (path, method), op in self.operations.items():
            paths.setdefault(path, {})[method] = op.fields
        doc["paths"] = {p: dict(sorted(ops.items(), key=_method_rank)) for p, ops in paths.items()}
        components = {kind: dict(table) for kind, table in self.components.items() if table}
        if self.schemas.schemas:
            components["schemas"] = dict(self.schemas.schemas)
        if components:
            doc["components"] = dict(sorted(components.items()))
        return doc

    def _check_operation_ids(self) -> None:
        seen: dict[str, _Operation] = {}
        for op in self.operations.values():
            op_id = op.fields.get("operationId")
            if not isinstance(op_id, str):
                continue
            first = seen.setdefault(op_id, op)
            if first is not op:
                raise ConflictError(
                    f"OpenAPI operationId {op_id!r} is used twice: {self._where(first)} and "
                    f"{self._where(op)}; name the routes apart or set operationId with "
                    "@operation"
                )

    def _where(self, op: _Operation) -> str:
        owner = op.owners.get("operationId", op.info.plugin)
        return f"{op.info.method.upper()} {op.info.path} (from {self.describe(owner)})"


def _merge(
    op: _Operation, extra: dict[str, Any], owner: str, describe: Callable[[str], str]
) -> None:
    where = f"OpenAPI operation {op.info.method.upper()} {op.info.path}"
    for name, value in extra.items():
        if name in _MERGED and isinstance(value, Mapping):
            current = dict(op.fields.get(name) or {})
            for key, item in value.items():
                slot = f"{name}/{key}"
                if key in current and current[key] != item:
                    first = op.owners.get(slot, op.owners.get(name, op.info.plugin))
                    raise ConflictError(
                        f"{where}: {name} {key!r} is given by {describe(first)} and by "
                        f"{describe(owner)}; keep one of them"
                    )
                current[key] = item
                op.owners.setdefault(slot, owner)
            op.fields[name] = current
            continue
        if name in op.fields and op.fields[name] != value:
            raise ConflictError(
                f"{where}: the field {name!r} is set by {describe(op.owners[name])} and by "
                f"{describe(owner)}; keep one of them"
            )
        op.fields[name] = value
        op.owners.setdefault(name, owner)


def _method_rank(item: tuple[str, Any]) -> int:
    return METHODS.index(item[0])


def _endpoint_for(route: RouteLike, method: str) -> Any:
    """What serves ``method``: a class endpoint's method function (``head`` falls back to
    ``get``), else the endpoint itself."""
    endpoint = getattr(route, "endpoint", None)
    if isinstance(endpoint, type):
        handler = getattr(endpoint, method, None)
        if handler is None and method == "head":
            handler = getattr(endpoint, "get", None)
        if handler is not None:
            return handler
    return endpoint


def openapi_path(template: str) -> str:
    """``/items/{id:int}`` -> ``/items/{id}``: OpenAPI paths name parameters only."""
    out: list[str] = []
    pos = 0
    while True:
        start = template.find("{", pos)
        if start < 0:
            out.append(template[pos:])
            break
        end = template.find("}", start)
        out.append(template[pos:start])
        out.append("{" + template[start + 1 : end].partition(":")[0].strip() + "}")
        pos = end + 1
    return "".join(out) or "/"


def parameter_schema(param: PathParameter) -> dict[str, Any]:
    """A converter's ``openapi_schema``, or a string matching its regex."""
    declared = getattr(param.converter, "openapi_schema", None)
    if declared is not None:
        return dict(declared)
    return {"type": "string", "pattern": f"^(?:{param.converter.regex})$"}


def _path_parameter(param: PathParameter) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": param.name,
        "in": "path",
        "required": True,
        "schema": parameter_schema(param),
    }
    if getattr(param.converter, "spans_segments", False):
        out["description"] = "The rest of the path; may contain '/'."
    return out


def _host_server(host: str, params: tuple[PathParameter, ...]) -> dict[str, Any]:
    server: dict[str, Any] = {"url": "//" + openapi_path(host).lstrip("/")}
    if params:
        server["variables"] = {p.name: {"default": p.name} for p in params}
    return server


def collect(app: Lamina, settings: OpenAPISettings) -> _Builder:
    """Call ``lamina_openapi_contribute`` on every plugin (at ``lamina_assemble``, where
    plugin-defined hooks run); the document is built from it once the router compiled."""
    builder = _Builder(app, settings)
    call_hook(app, HOOK, bind=lambda plugin: {"openapi": Contributions(builder, plugin)})
    return builder


def build_document(builder: _Builder, router: object) -> dict[str, Any]:
    """The OpenAPI document: the compiled ``router``'s operations, then what plugins gave."""
    try:
        routes = list(describe_routes(router))
    except TypeError:
        raise AssemblyError(
            "plugin 'openapi' reads the routes from lamina-routing's router, and the app has "
            "none; enable the 'routing' plugin, or disable 'openapi'"
        ) from None
    builder.add_routes(routes)
    for path, method, fields, owner in builder.pending:
        builder.add_operation(path, method, fields, owner)
    builder.apply_details()
    return builder.document()
