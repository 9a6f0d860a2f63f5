"""Lamina's column for the peer benchmark harness (/work/shared/bench, "Adding your own column").

Written the way a user would write the app: plain endpoint functions, ``lamina_routing``
routes, plugins enabled by name with autoload off. ``app`` serves every scenario route;
``mw_app`` is the same app with the lamina-cors and lamina-gzip plugins enabled.
Scenarios the installed plugins cannot serve yet are listed in ``SKIP`` with the reason.
"""

from __future__ import annotations

import lamina
from apps._common import (  # type: ignore[import-not-found]
    GZIP_MIN_SIZE,
    JSON_PAYLOAD,
    PLAINTEXT,
    SSE_DATA,
    SSE_EVENTS,
    STATIC_DIR,
    table_paths,
)
from lamina import JSONResponse, Lamina, PlainTextResponse
from lamina_routing import Mount, Route
from lamina_sse import EventSourceResponse
from lamina_staticfiles import StaticFiles

VERSION = lamina.__version__
SKIP: dict[str, str] = {}
NOTES: dict[str, str] = {
    "sse": "lamina-sse EventSourceResponse over an async generator of strings (plugin loaded)",
    "routing": "lamina-routing: static paths in a dict, parameterised paths in a segment trie",
    "static": "lamina-staticfiles StaticFiles under Mount('/static'): one thread hop per file",
}


async def plaintext(request):
    return PlainTextResponse(PLAINTEXT)


async def json_view(request):
    return JSONResponse(JSON_PAYLOAD)


async def item(request):
    p = request.path_params
    return JSONResponse({"id": p["id"], "name": p["name"]})


async def sse(request):
    async def events():
        for _ in range(SSE_EVENTS):
            yield SSE_DATA

    return EventSourceResponse(events())


async def form(request):
    async with request.form() as f:
        return JSONResponse({"count": len(f.multi_items())})


def _routes() -> list:
    routes = [
        Route("/plaintext", plaintext),
        Route("/mw/plaintext", plaintext),
        Route("/json", json_view),
        Route("/form", form, methods=["POST"]),
        Route("/sse", sse),
        Mount("/static", StaticFiles(STATIC_DIR), name="static"),
    ]
    # sse / static: filled in by the owners of lamina-sse / lamina-staticfiles.
    routes += [Route(p, item) for _, p in table_paths("starlette")]
    return routes


def build(middleware: bool) -> Lamina:
    plugins = ["routing", "sse"]
    settings: dict = {}
    if middleware:
        plugins += ["cors", "gzip"]
        settings = {"cors": {"allow_origins": ["*"]}, "gzip": {"minimum_size": GZIP_MIN_SIZE}}
    return Lamina(_routes(), autoload=False, plugins=plugins, settings=settings)


app = build(False)
try:
    mw_app = build(True)
    NOTES["middleware"] = "lamina-cors + lamina-gzip plugins, enabled by name"
except lamina.LaminaError as exc:  # a plugin not installed or not ready
    mw_app = None
    SKIP["middleware"] = f"lamina-cors/lamina-gzip unavailable: {exc}"
