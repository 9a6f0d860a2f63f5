"""lamina-templates: Jinja2 templates for Lamina apps.

Render from an endpoint::

    from lamina_templates import TemplateResponse

    async def home(request):
        return TemplateResponse(request, "home.html", {"title": "Hello"})

Every template sees ``request`` and ``url_for`` (``request.url_for``), plus what context
processors add; the endpoint's context wins. ``.html``, ``.htm`` and ``.xml`` files are
autoescaped.

Settings (``[templates]``, all optional; see :class:`TemplatesSettings`):
``directories`` (the app's own, searched first), ``auto_reload`` (default: follows
``debug``), ``enable_async``, ``strict_undefined``, ``autoescape_extensions``,
``trim_blocks``, ``lstrip_blocks``.

Hooks this plugin defines (:mod:`lamina_templates.hookspecs`), each called once at
assembly: ``lamina_templates_register_directories``,
``lamina_templates_register_context_processors``, ``lamina_templates_configure_environment``.

Per-app state: ``app.extensions["templates"]``, a :class:`Templates`; get it with
``templates(app)`` or ``Templates.for_app(app)``.

Async rendering: set ``enable_async`` (or register an async context processor) and
``TemplateResponse`` renders while the response is sent;
``await templates(app).render_async(name, ctx)`` renders to a string in either mode.

Debug: with ``app.debug`` on, a template that fails to load or render raises
:class:`TemplateRenderError`, whose message starts with ``name:line``; the plugin's
exception handler answers it with a page showing the template source around that line
(under a test client that re-raises server errors, the error propagates instead).

Assembly: the plugin resolves contributions in its ``lamina_assemble`` implementation (the
kernel calls it once, after every plugin is configured and before routes are collected);
nothing in this plugin runs through pluggy per request.

Testing: under ``lamina.testclient`` (scope key ``"lamina.testing"``) a rendered response
records ``{"template": name, "context": ctx}`` on ``scope["lamina.template_response"]``; the
client exposes them as ``response.template`` and ``response.context``.
"""

from __future__ import annotations

from . import hookspecs
from ._errors import TemplateRenderError
from ._plugin import (
    lamina_add_hookspecs,
    lamina_assemble,
    lamina_configure,
    lamina_register_exception_handlers,
    lamina_settings_schema,
)
from ._response import TEMPLATE_SCOPE_KEY, TESTING_SCOPE_KEY, TemplateResponse
from ._settings import TemplatesSettings
from ._templates import ContextProcessor, Templates, TemplateSource, templates

__all__ = [
    "TEMPLATE_SCOPE_KEY",
    "TESTING_SCOPE_KEY",
    "ContextProcessor",
    "TemplateRenderError",
    "TemplateResponse",
    "TemplateSource",
    "Templates",
    "TemplatesSettings",
    "hookspecs",
    "lamina_add_hookspecs",
    "lamina_assemble",
    "lamina_configure",
    "lamina_register_exception_handlers",
    "lamina_settings_schema",
    "templates",
]
