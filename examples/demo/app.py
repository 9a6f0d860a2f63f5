"""The demo app that the README serves: ``uv run lamina serve examples.demo.app:app``.

This module only assembles: which plugins run, their settings, the routes. The pages are in
``pages.py``, the HTML in ``templates/``, the stylesheet in ``static/``.
"""

from __future__ import annotations

from pathlib import Path

from lamina import Lamina
from lamina_routing import Route
from lamina_templates import templates

from . import auth_pages, live, pages

HERE = Path(__file__).resolve().parent

routes = [
    Route("/", pages.home, name="home"),
    Route("/hello", pages.greet, name="greet"),
    Route("/hello/{name}", pages.hello, name="hello"),
    Route("/plugins", pages.plugins, name="plugins"),
    *auth_pages.routes,
    *live.routes,
]

app = Lamina(
    routes=routes,
    # Every workspace plugin is installed in development; the demo names the ones it uses
    # so that plugins needing settings (a session secret, CORS origins) stay out of it.
    only=[
        "routing",
        "templates",
        "staticfiles",
        "gzip",
        "sessions",
        "auth",
        "websocket",
        "sse",
        "broadcast",
        "openapi",
    ],
    settings={
        # LAMINA_DEMO_SECRET in production; the default is for local development only.
        "sessions": auth_pages.SESSION_SETTINGS,
        "templates": {"directories": [str(HERE / "templates")]},
        # The live page's chat and event stream: memory:// serves one process; point it at
        # Redis (redis+stream://127.0.0.1:6379/0) to run several workers or hosts.
        "broadcast": {"url": {"env": "LAMINA_DEMO_BROADCAST_URL", "default": "memory://"}},
        "staticfiles": {
            "directories": [str(HERE / "static")],
            "prefix": "/static",
            "name": "static",
        },
        "openapi": {"title": "Lamina demo", "docs": "swagger"},
    },
    exception_handlers={404: pages.not_found},
)
templates(app).add_context_processor(pages.site)
