"""lamina-openapi: an OpenAPI 3.1 document of the app, assembled once, served frozen.

Everything the plugin offers is named here:

* Settings, section ``[openapi]`` (:class:`OpenAPISettings`)::

      enabled  true              path       "/openapi.json"
      title    "Lamina API"      version    "0.1.0"        description  none
      servers  none              docs       none | "swagger" | "redoc"
      docs_path "/docs"          swagger_js_url, swagger_css_url, redoc_js_url (CDN defaults)

* The document is built once the app is assembled (the kernel's ``lamina_assembled``), from
  the route table the router compiled (``app.router``): one operation per
  declared method of every HTTP route with ``include_in_schema`` (``HEAD``/``OPTIONS`` only
  when declared), path parameters typed by their converters (a converter's
  ``openapi_schema``), mount prefixes in the paths and hosts as operation ``servers``,
  ``operationId`` from the route name, summary and description from the docstring, more
  from a YAML block after ``---`` in the docstring or from :func:`operation`; dataclass and
  ``TypedDict`` annotations become ``components.schemas``. WebSocket routes are left out.
* The hook ``lamina_openapi_contribute(app, openapi)`` (:mod:`lamina_openapi.hookspecs`),
  called at ``lamina_assemble``, lets any plugin add components, operations and operation
  details through :class:`Contributions`; conflicts name both plugins.
* Serving: ``GET /openapi.json`` with an ``ETag`` (304 on ``If-None-Match``), and with
  ``docs`` set, a Swagger UI or Redoc page. Nothing else is served differently: no
  middleware, no per-request work on other routes.
* :func:`openapi_document` returns the document of an app (a copy);
  ``lamina openapi MODULE:APP`` prints it.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import pluggy
from lamina import Lamina, hookimpl
from lamina_routing import Route

from ._describe import operation
from ._document import Contributions, OperationInfo, _Builder, build_document, collect
from ._serve import DocsPage, ServedDocument
from ._settings import OpenAPISettings

__all__ = [
    "Contributions",
    "OpenAPISettings",
    "OperationInfo",
    "openapi_document",
    "operation",
]

PLUGIN = "openapi"


@dataclass
class _State:
    """This app's document: the contributions collected at ``lamina_assemble``, then the
    document and its served bytes at ``lamina_assembled``."""

    contributions: _Builder
    served: ServedDocument = field(default_factory=ServedDocument)
    document: dict[str, Any] | None = None


def openapi_document(app: Lamina) -> dict[str, Any]:
    """The app's OpenAPI document (a copy: the served one stays frozen). Assembles the app
    if needed; with ``enabled = false`` the document is built on this first call."""
    app.assemble()
    state: _State | None = app.extensions.get(PLUGIN)
    if state is None:
        raise LookupError(
            "the app does not enable the 'openapi' plugin; add it (for example "
            "Lamina(plugins=['openapi']) or its allow-list) to describe the app"
        )
    if state.document is None:
        state.document = build_document(state.contributions, app.router)
    return copy.deepcopy(state.document)


@hookimpl
def lamina_add_hookspecs(pluginmanager: pluggy.PluginManager) -> None:
    from . import hookspecs

    pluginmanager.add_hookspecs(hookspecs)


@hookimpl
def lamina_settings_schema() -> type:
    return OpenAPISettings


@hookimpl
def lamina_register_dependencies(register: Any) -> None:
    register("routing", "the document is read from lamina-routing's compiled route table")


@hookimpl(trylast=True)
def lamina_assemble(app: Lamina, settings: OpenAPISettings) -> None:
    # last: what other plugins contribute may depend on what they resolve in theirs
    app.extensions[PLUGIN] = _State(collect(app, settings))


@hookimpl
def lamina_register_routes(app: Lamina, settings: OpenAPISettings, register: Any) -> None:
    if not settings.enabled:
        return
    served = app.extensions[PLUGIN].served
    register(Route(settings.path, served, name="openapi", asgi=False, include_in_schema=False))
    if settings.docs is not None:
        register(
            Route(
                settings.docs_path,
                DocsPage(settings),
                asgi=False,
                name="openapi_docs",
                include_in_schema=False,
            )
        )


@hookimpl
def lamina_assembled(app: Lamina, settings: OpenAPISettings) -> None:
    """Build the document from the compiled router (``app.router``) and freeze it, so a
    route the document cannot describe fails startup, not the first ``GET``."""
    state: _State = app.extensions[PLUGIN]
    if settings.enabled:
        state.document = build_document(state.contributions, app.router)
        state.served.freeze(state.document)


@hookimpl
def lamina_register_commands(register: Any) -> None:
    from lamina.plugin import Command

    from . import _cli

    register(
        Command(
            "openapi",
            "Print the app's OpenAPI 3.1 document (JSON).",
            run=_cli.run,
            add_arguments=_cli.add_arguments,
        )
    )
