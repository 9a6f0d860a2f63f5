"""The debug page for a template error: the template's name, line and source around it."""

from __future__ import annotations

import html
import logging
import traceback
from collections.abc import Awaitable, Callable

import jinja2
from lamina import HTMLResponse, Request
from lamina.plugin import SCOPE_RAISE_SERVER_EXCEPTIONS

from ._errors import TemplateRenderError
from ._templates import Templates

logger = logging.getLogger("lamina.templates")
CONTEXT_LINES = 5


def _excerpt(env: jinja2.Environment, exc: TemplateRenderError) -> str:
    if exc.template is None or exc.lineno is None or env.loader is None:
        return ""
    try:
        source = env.loader.get_source(env, exc.template)[0]
    except Exception:  # the file may be gone or the name a filename: no excerpt then
        return ""
    lines = source.splitlines()
    first = max(exc.lineno - CONTEXT_LINES, 1)
    last = min(exc.lineno + CONTEXT_LINES, len(lines))
    rows = []
    for number in range(first, last + 1):
        mark = ' class="hit"' if number == exc.lineno else ""
        rows.append(f"<span{mark}>{number:>5} | {html.escape(lines[number - 1])}</span>")
    return "<pre class='src'>" + "\n".join(rows) + "</pre>"


def debug_handler(
    templates: Templates,
) -> Callable[[Request, BaseException], Awaitable[HTMLResponse]]:
    """An exception handler for :class:`TemplateRenderError` (raised only in debug mode).

    Under a test client that re-raises server errors it re-raises too, so tests fail with
    the template error itself.
    """

    async def handle(request: Request, exc: BaseException) -> HTMLResponse:
        if request.scope.get(SCOPE_RAISE_SERVER_EXCEPTIONS) or not isinstance(
            exc, TemplateRenderError
        ):
            raise exc
        logger.error(
            "template error in %s %s",
            request.scope.get("method"),
            request.scope.get("path"),
            exc_info=exc,
        )
        where = exc.template or "<template>"
        if exc.lineno is not None:
            where = f"{where}:{exc.lineno}"
        frames = "".join(traceback.format_exception(exc))
        page = (
            "<!doctype html><html><head><meta charset='utf-8'><title>Template error</title>"
            "<style>body{font-family:system-ui,sans-serif;margin:2rem}"
            "pre{background:#f6f6f6;padding:1rem;overflow:auto}"
            ".hit{background:#ffd7d7;display:inline-block;width:100%}</style></head><body>"
            f"<h1>Template error in {html.escape(where)}</h1>"
            f"<h2>{html.escape(str(exc))}</h2>{_excerpt(templates.env, exc)}"
            f"<h3>Traceback</h3><pre>{html.escape(frames)}</pre></body></html>"
        )
        return HTMLResponse(page, status_code=500)

    return handle
