"""prometheus-client in a Lamina app: ``make_asgi_app()`` mounted at ``/metrics`` (bare and
with the slash), or served by one route, and metrics labelled by route template through
``scope["route"]``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from eco_apps import PLUGINS, make_routes
from lamina import Middleware
from lamina.testing import make_app
from lamina_routing import Mount, Route
from prometheus_client import CollectorRegistry, Counter, make_asgi_app


def count_by_route(registry: CollectorRegistry) -> Callable[[Any], Any]:
    """A small pure-ASGI middleware counting responses by route template: the pattern a user
    writes (or prometheus exporters implement) once the router puts the route on the scope."""
    requests = Counter(
        "app_requests", "Responses by route", ["method", "route", "status"], registry=registry
    )

    def factory(app: Any) -> Any:
        async def middleware(scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            status: list[int] = []

            def remember(message: Any) -> Awaitable[None]:
                if message["type"] == "http.response.start":
                    status.append(message["status"])
                return send(message)  # type: ignore[no-any-return]

            try:
                await app(scope, receive, remember)
            finally:
                route = scope.get("route")
                template = route.path if route is not None else "<unmatched>"
                code = str(status[0]) if status else "500"
                requests.labels(scope["method"], template, code).inc()

        return middleware

    return factory


@pytest.mark.parametrize("how", ["mount", "route"])
def test_metrics_endpoint_bare_and_slashed(how: str, live: Any) -> None:
    registry = CollectorRegistry()
    metrics = make_asgi_app(registry=registry)
    served = Mount("/metrics", metrics) if how == "mount" else Route("/metrics", metrics)
    app = make_app(
        *PLUGINS,
        routes=[*make_routes(), served],
        middleware=[Middleware(count_by_route(registry), phase="outermost")],
    )
    base = live(app)
    for user in ("1", "2"):
        assert httpx.get(f"{base}/users/{user}").status_code == 200
    assert httpx.get(f"{base}/api/items/5").status_code == 200
    assert httpx.get(f"{base}/nope").status_code == 404

    paths = ["/metrics", "/metrics/"] if how == "mount" else ["/metrics"]
    for path in paths:
        response = httpx.get(f"{base}{path}")
        assert response.status_code == 200, path
        assert response.headers["content-type"].startswith("text/plain")
        body = response.text
        assert 'app_requests_total{method="GET",route="/users/{id}",status="200"} 2.0' in body
        assert (
            'app_requests_total{method="GET",route="/api/items/{item:int}",status="200"} 1.0'
            in body
        )
        assert 'route="<unmatched>",status="404"' in body
        assert "/users/1" not in body  # raw paths never become labels
    if how == "route":
        # a Route is exact: the slashed path redirects to it (the routing plugin's default)
        slashed = httpx.get(f"{base}/metrics/")
        assert slashed.status_code == 307
        assert slashed.headers["location"] == f"{base}/metrics"
