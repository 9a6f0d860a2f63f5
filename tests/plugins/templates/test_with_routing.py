"""With the real router: mounts, url_for through mounts, template exposure under a mount."""

from __future__ import annotations

from lamina.testclient import TestClient
from lamina.testing import make_app
from lamina_routing import Mount, Route
from lamina_templates import TemplateResponse


def test_mounted_endpoint_exposes_template_and_reverses_urls(lamina_clean_env, tdir) -> None:
    d = tdir("t", {"cart.html": "{{ url_for('shop:item', id=5) }} {{ url_for('home') }}"})

    async def cart(request):
        return TemplateResponse(request, "cart.html", {"items": 2})

    async def home(request):
        return TemplateResponse(request, "cart.html")

    routes = [
        Route("/", home, name="home"),
        Mount(
            "/shop",
            routes=[Route("/cart", cart, name="cart"), Route("/items/{id:int}", cart, name="item")],
            name="shop",
        ),
    ]
    app = make_app(
        "routing", "templates", routes=routes, settings={"templates": {"directories": [str(d)]}}
    )
    with TestClient(app) as client:
        response = client.get("/shop/cart")
    assert response.status_code == 200
    assert response.text == "http://testserver/shop/items/5 http://testserver/"
    assert response.template == "cart.html"
    assert response.context["items"] == 2
