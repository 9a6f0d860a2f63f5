"""``root_path`` by the ASGI spec: ``url_for``, ``base_url`` and redirects under any parent.

The same Lamina app is served under Starlette's ``Mount``, under Lamina's own mounts (of an
app, and of its own routes), through Starlette inside Lamina, behind ``uvicorn
--root-path`` and hypercorn's ``root_path``; every URL it builds carries the full prefix,
and a trailing-slash redirect lands on a page that answers.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from lamina import JSONResponse, Lamina
from lamina.testing import make_app
from lamina_routing import Mount, Route
from starlette.applications import Starlette
from starlette.routing import Mount as StarletteMount

from tests.helpers.servers import serve


async def urls(request: Any) -> JSONResponse:
    return JSONResponse(
        {
            "item": str(request.url_for("item", id=9)),
            "here": str(request.url_for("sub:here")),
            "base": str(request.base_url),
            "url": str(request.url),
        }
    )


def lamina_app() -> Lamina:
    return make_app(
        "routing",
        routes=[
            Route("/items/{id}", urls, name="item"),
            Route("/slash/", urls, name="slash"),
            Mount("/sub", routes=[Route("/here", urls, name="here")], name="sub"),
        ],
    )


def expected(prefix: str, base: str = "http://testserver") -> dict[str, str]:
    return {
        "item": f"{base}{prefix}/items/9",
        "here": f"{base}{prefix}/sub/here",
        "base": f"{base}{prefix}/",
    }


PARENTS = {
    "starlette-mount": (
        lambda: Starlette(routes=[StarletteMount("/lam", app=lamina_app())]),
        "/lam",
    ),
    "lamina-mount-app": (
        lambda: make_app("routing", routes=[Mount("/lam", app=lamina_app())]),
        "/lam",
    ),
    "lamina-routes-then-starlette": (
        lambda: make_app(
            "routing",
            routes=[
                Mount(
                    "/outer",
                    routes=[
                        Mount(
                            "/s", app=Starlette(routes=[StarletteMount("/lam", app=lamina_app())])
                        )
                    ],
                )
            ],
        ),
        "/outer/s/lam",
    ),
    "starlette-in-starlette": (
        lambda: Starlette(
            routes=[
                StarletteMount(
                    "/a", app=Starlette(routes=[StarletteMount("/lam", app=lamina_app())])
                )
            ]
        ),
        "/a/lam",
    ),
}


@pytest.mark.anyio
@pytest.mark.parametrize("parent", list(PARENTS))
async def test_urls_and_redirects_carry_the_whole_prefix(parent: str) -> None:
    build, prefix = PARENTS[parent]
    transport = httpx.ASGITransport(app=build())
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        for path in ("/items/1", "/sub/here"):
            body = (await client.get(prefix + path)).json()
            assert {k: body[k] for k in ("item", "here", "base")} == expected(prefix)
            assert body["url"] == f"http://testserver{prefix}{path}"
        redirect = await client.get(prefix + "/slash")
        assert redirect.status_code in (307, 308)
        assert redirect.headers["location"] == f"http://testserver{prefix}/slash/"
        followed = await client.get(redirect.headers["location"])
        assert followed.status_code == 200


@pytest.mark.parametrize("server", ["uvicorn", "hypercorn"])
def test_a_servers_root_path_is_in_every_url(server: str) -> None:
    with serve(lamina_app(), server=server, root_path="/proxy") as url:  # type: ignore[arg-type]
        # the proxy in front stripped /proxy; the server puts it back as root_path
        body = httpx.get(f"{url}/items/1").json()
        assert {k: body[k] for k in ("item", "here", "base")} == expected("/proxy", url)
        assert body["url"] == f"{url}/proxy/items/1"
        redirect = httpx.get(f"{url}/slash")
        assert redirect.headers["location"] == f"{url}/proxy/slash/"


@pytest.mark.anyio
async def test_redirects_keep_the_clients_escapes_when_raw_path_is_the_full_path() -> None:
    app = make_app("routing", routes=[Route("/café/{name}/", urls, name="cafe")])
    parent = Starlette(routes=[StarletteMount("/lam", app=app)])
    transport = httpx.ASGITransport(app=parent)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        redirect = await client.get("/lam/caf%C3%A9/%7Ex")  # quote() would write "~"
    assert redirect.headers["location"] == "http://testserver/lam/caf%C3%A9/%7Ex/"
