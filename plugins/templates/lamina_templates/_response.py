"""``TemplateResponse``: an HTML response rendered from a template."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lamina import HTMLResponse, Request
from lamina.plugin import Background, Receive, Scope, Send

from ._templates import Templates, templates

__all__ = ["TEMPLATE_SCOPE_KEY", "TESTING_SCOPE_KEY", "TemplateResponse"]

#: Set (truthy) on the scope by ``lamina.testclient``; only then is the rendering recorded.
TESTING_SCOPE_KEY = "lamina.testing"
#: Where a rendered response records ``{"template": name, "context": ctx}`` for the test
#: client, which exposes them as ``response.template`` and ``response.context``.
TEMPLATE_SCOPE_KEY = "lamina.template_response"


class TemplateResponse(HTMLResponse):
    """Render template ``name`` with ``context`` (plus ``request``, ``url_for`` and whatever the
    context processors add) using the app's :class:`Templates`, or ``templates=`` if given.

    The template is loaded at once (a missing template fails in the endpoint). It is
    rendered at once too, unless the environment is async or an async context processor is
    registered: then it renders when the response is sent, before any byte goes out, and
    ``body`` and ``context`` are filled in then. ``media_type`` defaults to ``text/html``.
    """

    def __init__(
        self,
        request: Request,
        name: str,
        context: Mapping[str, Any] | None = None,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        media_type: str | None = None,
        background: Background | None = None,
        *,
        templates: Templates | None = None,
    ) -> None:
        owner = templates if templates is not None else _app_templates(request)
        self.templates = owner
        self.request = request
        self.status_code = status_code
        if media_type is not None:
            self.media_type = media_type
        self.background = background
        #: The loaded ``jinja2.Template`` (its ``.name`` is ``name``).
        self.template = owner.get_template(name, request)
        self.template_name = name
        self.context: dict[str, Any] | None
        if owner.renders_eagerly:
            self.context = owner.context_for(request, context)
            self.body = owner.render_template(self.template, self.context, request).encode(
                self.charset
            )
            self._pending: Mapping[str, Any] | None = None
        else:
            self.context = None
            self._pending = context or {}
        self.raw_headers = self._init_headers(headers)

    async def render_now(self) -> None:
        """Render a deferred response (done by ``__call__``; call it to read ``body`` early)."""
        if self._pending is None:
            return
        owner = self.templates
        self.context = await owner.context_for_async(self.request, self._pending)
        text = await owner.render_template_async(self.template, self.context, self.request)
        self._pending = None
        self.body = text.encode(self.charset)
        if not (self.status_code < 200 or self.status_code in (204, 304)) and not any(
            k == b"content-length" for k, _ in self.raw_headers
        ):
            self.raw_headers.append((b"content-length", str(len(self.body)).encode()))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._pending is not None:
            await self.render_now()
        if scope.get(TESTING_SCOPE_KEY):
            scope[TEMPLATE_SCOPE_KEY] = {"template": self.template_name, "context": self.context}
        await super().__call__(scope, receive, send)


def _app_templates(request: Request) -> Templates:
    app = request.scope.get("app")
    if app is None:
        raise LookupError("TemplateResponse needs request.app (or pass templates=...)")
    return templates(app)
