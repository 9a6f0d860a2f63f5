"""The demo's pages: plain endpoints rendering templates.

Kept apart from ``app.py`` (which only assembles) so each page reads on its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lamina import HTTPException, RedirectResponse, Request, __version__
from lamina_templates import TemplateResponse


@dataclass(frozen=True)
class Feature:
    """One line of the home page: what a plugin does and, if the demo has one, its page."""

    title: str
    plugin: str
    summary: str
    route: str | None = None
    params: tuple[tuple[str, str], ...] = ()


FEATURES = (
    Feature(
        "Routing",
        "routing",
        "Compiled route table, path converters, mounts and reverse routing with url_for.",
        "hello",
        (("name", "Lamina"),),
    ),
    Feature(
        "Templates",
        "templates",
        "Jinja2 pages with request and url_for in every template; this page is one.",
        "home",
    ),
    Feature(
        "Static files",
        "staticfiles",
        "Files with ETags, ranges and precompressed "
        "variants; this page's stylesheet comes from /static.",
    ),
    Feature(
        "Plugins",
        "kernel",
        "Everything beyond the kernel is a pluggy plugin; see which ones this app loaded.",
        "plugins",
    ),
    Feature(
        "WebSockets and Server-Sent Events",
        "websocket, sse",
        "Live updates pushed from the server.",
        "live",
    ),
    Feature(
        "Sessions and authentication",
        "sessions, auth",
        "Signed-cookie sessions and a login flow.",
        "login",
    ),
    Feature("GZip", "gzip", "Responses compressed for clients that accept it."),
)


#: The header's links: (label, route name); a link appears once its route exists.
NAV = (("Home", "home"), ("Plugins", "plugins"), ("Live", "live"), ("Log in", "login"))


def site(request: Request) -> dict[str, Any]:
    """Context processor: the navigation and the version, for the base layout."""
    nav = []
    for label, route in NAV:
        try:
            href = str(request.app.url_path_for(route))
        except LookupError:
            continue
        nav.append((label, href, href == request.url.path))
    return {"nav": nav, "lamina_version": __version__}


def _link(request: Request, feature: Feature) -> str | None:
    """The feature's page, or ``None`` when this app has no route of that name."""
    if feature.route is None:
        return None
    try:
        return str(request.url_for(feature.route, **dict(feature.params)))
    except LookupError:
        return None


async def home(request: Request) -> TemplateResponse:
    features = [(feature, _link(request, feature)) for feature in FEATURES]
    return TemplateResponse(request, "home.html", {"features": features})


async def hello(request: Request) -> TemplateResponse:
    name = request.path_params["name"]
    if len(name) > 64:
        raise HTTPException(404)
    return TemplateResponse(request, "hello.html", {"name": name})


async def greet(request: Request) -> RedirectResponse:
    """``/hello?name=x`` (the form) redirects to ``/hello/x``."""
    name = request.query_params.get("name", "").strip() or "world"
    return RedirectResponse(request.url_for("hello", name=name[:64]), status_code=303)


async def plugins(request: Request) -> TemplateResponse:
    app = request.app
    infos = sorted(app.plugin_infos, key=lambda info: (not info.enabled, info.name))
    return TemplateResponse(request, "plugins.html", {"plugins": infos, "version": __version__})


async def not_found(request: Request, exc: Exception) -> TemplateResponse:
    """The app's 404 handler: a friendly page, still status 404."""
    return TemplateResponse(request, "404.html", status_code=404)
