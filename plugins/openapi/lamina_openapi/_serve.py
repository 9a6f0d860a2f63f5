"""Serving: the frozen document with its ETag, and the docs page.

The document's bytes and ETag are computed once, when the app assembles; a request for it
compares ``If-None-Match`` and sends those bytes. The docs page is HTML produced here, with
the asset URLs from the settings and the document's URL (under the request's
``root_path``) escaped for where each lands.
"""

from __future__ import annotations

import hashlib
import html
import json
from typing import Any

from lamina import HTMLResponse, Request, Response

from ._settings import OpenAPISettings

__all__ = ["DocsPage", "ServedDocument"]


class ServedDocument:
    """The endpoint of ``GET /openapi.json``: filled at assembly, then read-only."""

    def __init__(self) -> None:
        self.body = b""
        self.etag = ""

    def freeze(self, document: dict[str, Any]) -> None:
        self.body = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
        self.etag = '"' + hashlib.sha256(self.body).hexdigest()[:32] + '"'

    async def __call__(self, request: Request) -> Response:
        headers = {"ETag": self.etag, "Cache-Control": "no-cache"}
        if _matches(request.headers.get("if-none-match"), self.etag):
            return Response(b"", status_code=304, headers=headers)
        return Response(self.body, media_type="application/json", headers=headers)


def _matches(header: str | None, etag: str) -> bool:
    """``If-None-Match`` holds ``*`` or our tag (weak comparison, as RFC 9110 asks)."""
    if not header:
        return False
    for candidate in header.split(","):
        candidate = candidate.strip()
        if candidate == "*" or candidate.removeprefix("W/") == etag:
            return True
    return False


class DocsPage:
    """The endpoint of ``GET /docs``: Swagger UI or Redoc pointed at the document."""

    def __init__(self, settings: OpenAPISettings) -> None:
        self.settings = settings

    async def __call__(self, request: Request) -> HTMLResponse:
        spec_url = request.scope.get("root_path", "").rstrip("/") + self.settings.path
        return HTMLResponse(render_docs(self.settings, spec_url))


def render_docs(settings: OpenAPISettings, spec_url: str) -> str:
    title = html.escape(settings.title)
    if settings.docs == "redoc":
        return (
            '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f"<title>{title}</title>\n"
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            "</head>\n<body>\n"
            f'<redoc spec-url="{html.escape(spec_url)}"></redoc>\n'
            f'<script src="{html.escape(settings.redoc_js_url)}"></script>\n'
            "</body>\n</html>\n"
        )
    config = _script_json({"url": spec_url, "dom_id": "#swagger-ui"})
    return (
        '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{title}</title>\n"
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<link rel="stylesheet" href="{html.escape(settings.swagger_css_url)}">\n'
        "</head>\n<body>\n"
        '<div id="swagger-ui"></div>\n'
        f'<script src="{html.escape(settings.swagger_js_url)}"></script>\n'
        f"<script>window.ui = SwaggerUIBundle({config});</script>\n"
        "</body>\n</html>\n"
    )


def _script_json(value: Any) -> str:
    """JSON that cannot end the ``<script>`` element it sits in, whatever the strings hold."""
    text = json.dumps(value)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
