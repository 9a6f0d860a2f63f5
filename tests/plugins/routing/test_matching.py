"""Matching: static and parameterised paths, converters, order, mounts, hosts, root_path."""

from __future__ import annotations

import uuid

import pytest
from lamina import JSONResponse, PlainTextResponse, Request
from lamina_routing import Host, Mount, Route, Router
from routing_helpers import client


async def echo(request: Request) -> JSONResponse:
    params = {
        k: (str(v) if isinstance(v, uuid.UUID) else v) for k, v in request.path_params.items()
    }
    return JSONResponse(
        {
            "route": request.scope.get("route_tag"),
            "params": params,
            "types": {k: type(v).__name__ for k, v in request.path_params.items()},
        }
    )


def tagged(tag: str):
    async def endpoint(request: Request) -> PlainTextResponse:
        return PlainTextResponse(f"{tag} {sorted(request.path_params.items())}")

    endpoint.__name__ = f"ep_{tag}"
    return endpoint


def test_static_and_params_with_converters() -> None:
    routes = [
        Route("/", tagged("root")),
        Route("/users/{id:int}", echo),
        Route("/price/{value:float}", echo),
        Route("/objects/{key:uuid}", echo),
        Route("/files/{rest:path}", echo),
        Route("/names/{name}", echo),
    ]
    with client(routes) as c:
        assert c.get("/").text == "root []"
        r = c.get("/users/42")
        assert r.json()["params"] == {"id": 42} and r.json()["types"] == {"id": "int"}
        assert c.get("/users/forty").status_code == 404
        assert c.get("/users/-1").status_code == 404
        assert c.get("/price/3.5").json()["params"] == {"value": 3.5}
        assert c.get("/price/3").json()["types"] == {"value": "float"}
        key = uuid.uuid4()
        r = c.get(f"/objects/{key}")
        assert r.json()["params"] == {"key": str(key)} and r.json()["types"] == {"key": "UUID"}
        assert c.get("/objects/not-a-uuid").status_code == 404
        assert c.get("/files/a/b/c.txt").json()["params"] == {"rest": "a/b/c.txt"}
        assert c.get("/files/").json()["params"] == {"rest": ""}
        assert c.get("/names/caf%C3%A9").json()["params"] == {"name": "café"}
        assert c.get("/names/").status_code == 404  # str never matches an empty segment


def test_partial_segments_and_path_in_the_middle() -> None:
    routes = [
        Route("/dl/{name}.{ext}", echo),
        Route("/v{major:int}/status", echo),
        Route("/repo/{rest:path}/edit", echo),
    ]
    with client(routes) as c:
        assert c.get("/dl/archive.tar.gz").json()["params"] == {"name": "archive.tar", "ext": "gz"}
        r = c.get("/v2/status")
        assert r.json()["params"] == {"major": 2} and r.json()["types"]["major"] == "int"
        assert c.get("/vx/status").status_code == 404
        assert c.get("/repo/a/b/edit").json()["params"] == {"rest": "a/b"}
        assert c.get("/repo/a/b/view").status_code == 404


def test_first_registered_route_wins_like_a_linear_scan() -> None:
    routes = [
        Route("/items/{name}", tagged("param")),
        Route("/items/special", tagged("static")),
        Route("/other/special", tagged("static2")),
        Route("/other/{name}", tagged("param2")),
    ]
    with client(routes) as c:
        assert c.get("/items/special").text.startswith("param")
        assert c.get("/other/special").text == "static2 []"
        assert c.get("/other/x").text.startswith("param2")


def test_method_decides_between_routes_on_one_path() -> None:
    routes = [
        Route("/thing", tagged("get"), methods=["GET"]),
        Route("/thing", tagged("post"), methods=["POST"]),
        Route("/thing/{id:int}", tagged("put"), methods=["PUT"]),
        Route("/thing/{name}", tagged("delete"), methods=["DELETE"]),
    ]
    with client(routes) as c:
        assert c.get("/thing").text == "get []"
        assert c.post("/thing").text == "post []"
        assert c.put("/thing/3").text == "put [('id', 3)]"
        assert c.delete("/thing/3").text == "delete [('name', '3')]"
        r = c.patch("/thing/3")
        assert r.status_code == 405
        # every method of every route whose path matched, in a stable order
        assert r.headers["allow"] == "PUT, DELETE, OPTIONS"


def test_405_allow_order_is_stable_and_head_follows_get() -> None:
    routes = [Route("/r", tagged("x"), methods=["DELETE", "POST", "GET", "PATCH", "PUT"])]
    with client(routes) as c:
        r = c.request("TRACE", "/r")
        assert r.status_code == 405
        assert r.headers["allow"] == "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"


def test_head_served_by_get_without_body() -> None:
    async def big(request: Request) -> PlainTextResponse:
        return PlainTextResponse("x" * 1000)

    sent: list[dict] = []

    async def raw(scope, receive, send):
        async def spy(message):
            sent.append(message)
            await send(message)

        await PlainTextResponse("raw body")(dict(scope, method="GET"), receive, spy)

    routes = [Route("/big", big), Route("/raw", raw, methods=["GET"], asgi=True)]
    with client(routes) as c:
        r = c.head("/big")
        assert r.status_code == 200 and r.content == b""
        assert r.headers["content-length"] == "1000"
        r = c.head("/raw")
        assert r.status_code == 200 and r.content == b""
        # the GET app did produce a body; the HEAD wrapper dropped it
        assert any(m.get("body") == b"raw body" for m in sent)


def test_explicit_head_route_wins_over_get() -> None:
    async def head(request: Request) -> PlainTextResponse:
        return PlainTextResponse("", headers={"x-head": "explicit"})

    routes = [Route("/h", tagged("get")), Route("/h", head, methods=["HEAD"])]
    with client(routes) as c:
        assert c.head("/h").headers["x-head"] == "explicit"
        assert c.get("/h").text == "get []"


def test_options_answered_with_allow() -> None:
    async def opts(request: Request) -> PlainTextResponse:
        return PlainTextResponse("custom options")

    routes = [
        Route("/a", tagged("a"), methods=["GET", "POST"]),
        Route("/b", opts, methods=["OPTIONS"]),
    ]
    with client(routes) as c:
        r = c.options("/a")
        assert r.status_code == 200 and r.headers["allow"] == "GET, HEAD, POST, OPTIONS"
        assert r.content == b""
        assert c.options("/b").text == "custom options"
        assert c.options("/missing").status_code == 404


@pytest.mark.parametrize(("settings", "status"), [(None, 307), ({"redirect_status": 308}, 308)])
def test_trailing_slash_redirects(settings, status) -> None:
    routes = [Route("/a", tagged("a")), Route("/b/", tagged("b"))]
    with client(routes, settings=settings) as c:
        r = c.get("/a/?q=1")
        assert r.status_code == status
        assert r.headers["location"] == "http://testserver/a?q=1"
        r = c.post("/b")
        assert r.status_code == status and r.headers["location"] == "http://testserver/b/"
        assert c.get("/nothing/").status_code == 404


def test_trailing_slash_redirects_can_be_switched_off() -> None:
    with client([Route("/a", tagged("a"))], settings={"redirect_slashes": False}) as c:
        assert c.get("/a/").status_code == 404


def test_redirect_never_leaves_the_host() -> None:
    with client([Route("/{name}", tagged("n"))]) as c:
        r = c.get("//evil.example/")
        assert r.status_code in (307, 404)
        if r.status_code == 307:
            assert r.headers["location"].startswith("http://testserver/")


def test_invalid_redirect_status_is_refused() -> None:
    from lamina import AssemblyError

    with pytest.raises(AssemblyError, match="redirect_status"):
        client([], settings={"redirect_status": 200})


def test_mount_matches_bare_prefix_and_below() -> None:
    inner = [Route("/", tagged("index")), Route("/x/{id:int}", tagged("x"))]

    async def root_info(scope, receive, send):
        await PlainTextResponse(f"{scope['root_path']}|{scope['path']}")(scope, receive, send)

    routes = [Mount("/api", inner), Mount("/raw", root_info), Route("/apix", tagged("apix"))]
    with client(routes) as c:
        assert c.get("/api").text == "index []"
        assert c.get("/api/").text == "index []"
        assert c.get("/api/x/3").text == "x [('id', 3)]"
        assert c.get("/apix").text == "apix []"
        assert c.get("/raw").text == "/raw|/raw"
        assert c.get("/raw/deep/er").text == "/raw|/raw/deep/er"
        assert c.get("/api/missing").status_code == 404


def test_mount_path_params_merge_into_inner_routes() -> None:
    inner = Router()

    @inner.get("/posts/{post:int}")
    async def post(request: Request) -> JSONResponse:
        return JSONResponse(request.path_params)

    @inner.get("/about")
    async def about(request: Request) -> JSONResponse:
        return JSONResponse(request.path_params)

    with client([Mount("/users/{user}", inner)]) as c:
        assert c.get("/users/ann/posts/7").json() == {"user": "ann", "post": 7}
        assert c.get("/users/bob/about").json() == {"user": "bob"}


def test_nested_mounts() -> None:
    routes = [Mount("/a", [Mount("/b", [Route("/c/{n:int}", tagged("c"))])])]
    with client(routes) as c:
        assert c.get("/a/b/c/1").text == "c [('n', 1)]"
        assert c.get("/a/b").status_code == 404


def test_root_path_is_stripped_before_matching() -> None:
    async def where(request: Request) -> PlainTextResponse:
        return PlainTextResponse(str(request.url_for("where")))

    with client([Route("/where", where, name="where")], root_path="/prefix") as c:
        r = c.get("/where")
        assert r.status_code == 200
        assert r.text == "http://testserver/prefix/where"


def test_host_routing() -> None:
    routes = [
        Host("{tenant}.example.com", [Route("/", echo)], name="tenant"),
        Host("api.example.org", PlainTextResponse("api host")),
        Route("/", tagged("fallback")),
    ]
    with client(routes) as c:
        r = c.get("http://acme.example.com/")
        assert r.json()["params"] == {"tenant": "acme"}
        assert c.get("http://API.example.org:8080/anything").text == "api host"
        assert c.get("http://other.test/").text == "fallback []"


def test_not_found_and_method_not_allowed_go_through_exception_handlers() -> None:
    def not_found(request, exc):
        return JSONResponse({"missing": request.url.path}, status_code=404)

    def not_allowed(request, exc):
        return JSONResponse({"allow": exc.headers["Allow"]}, status_code=405)

    with client(
        [Route("/only-get", tagged("g"))], exception_handlers={404: not_found, 405: not_allowed}
    ) as c:
        assert c.get("/nope").json() == {"missing": "/nope"}
        assert c.post("/only-get").json() == {"allow": "GET, HEAD, OPTIONS"}


def test_router_decorators_and_iteration() -> None:
    router = Router()

    @router.get("/g")
    async def g(request):
        return PlainTextResponse("g")

    @router.post("/p")
    async def p(request):
        return PlainTextResponse("p")

    @router.put("/u")
    async def u(request):
        return PlainTextResponse("u")

    @router.patch("/u")
    async def pa(request):
        return PlainTextResponse("pa")

    @router.delete("/u")
    async def d(request):
        return PlainTextResponse("d")

    @router.route("/any", methods=["GET", "POST"])
    async def any_(request):
        return PlainTextResponse(request.method)

    assert [r.path for r in router] == ["/g", "/p", "/u", "/u", "/u", "/any"]
    with client(router) as c:
        assert c.get("/g").text == "g"
        assert c.post("/p").text == "p"
        assert c.put("/u").text == "u"
        assert c.patch("/u").text == "pa"
        assert c.delete("/u").text == "d"
        assert c.post("/any").text == "POST"
        assert c.get("/p").status_code == 405


def test_a_router_inside_a_route_list_stands_for_its_routes() -> None:
    users = Router()

    @users.get("/users/{id:int}")
    async def user(request):
        return PlainTextResponse(f"user {request.path_params['id']}")

    routes = [
        Route("/", tagged("root")),
        users,
        Route("/users/{name}", tagged("n")),
        Mount("/v1", [users, Route("/x", tagged("x"))]),
    ]
    with client(routes) as c:
        assert c.get("/users/3").text == "user 3"
        assert c.get("/users/ann").text == "n [('name', 'ann')]"
        assert c.get("/v1/users/4").text == "user 4"
        assert c.get("/v1/x").text == "x []"


def test_router_is_a_standalone_asgi_app() -> None:
    from lamina.testclient import TestClient

    router = Router([Route("/x/{n:int}", tagged("x"))])
    with TestClient(router) as c:
        assert c.get("/x/5").text == "x [('n', 5)]"


def test_404_and_405_carry_middleware_headers() -> None:
    settings = {"cors": {"allow_origins": ["https://app.example"]}}
    from lamina import Lamina
    from lamina.testclient import TestClient

    app = Lamina(
        [Route("/only-get", tagged("g"))],
        autoload=False,
        plugins=["routing", "cors"],
        settings=settings,
    )
    with TestClient(app) as c:
        headers = {"origin": "https://app.example"}
        r = c.get("/missing", headers=headers)
        assert r.status_code == 404
        assert r.headers["access-control-allow-origin"] == "https://app.example"
        r = c.delete("/only-get", headers=headers)
        assert r.status_code == 405 and r.headers["allow"] == "GET, HEAD, OPTIONS"
        assert r.headers["access-control-allow-origin"] == "https://app.example"


def test_subtrees_of_one_shape_share_code_but_keep_their_own_routes() -> None:
    """Subtrees like /tNNN/users/{id:int} share one generated function, each bound to its own
    leaves: every route must still answer for itself (and mounts of one shape likewise)."""
    import asyncio

    def marker(tag: str):
        async def endpoint(scope, receive, send) -> None:
            scope["hit"] = tag

        return endpoint

    routes: list = []
    for i in range(60):
        routes.append(Route(f"/t{i:03}/users/{{id:int}}", marker(f"u{i}"), asgi=True))
        routes.append(
            Route(f"/t{i:03}/users/{{id:int}}/items/{{name}}", marker(f"i{i}"), asgi=True)
        )
        routes.append(Mount(f"/m{i:03}", [Route("/x/{k}", marker(f"m{i}"), asgi=True)]))
    router = Router(routes).compile()
    # the source holds a handful of functions, not one per route
    assert router._http.source.count("def ") < 20

    async def hit(path: str):
        scope = {
            "type": "http",
            "method": "GET",
            "path": path,
            "root_path": "",
            "headers": [],
            "query_string": b"",
        }
        sent: list[dict[str, object]] = []

        async def send(message: dict[str, object]) -> None:
            sent.append(message)

        await router(scope, None, send)  # standalone: the router answers its own 404
        if sent:
            return sent[0]["status"]
        return scope["hit"], scope.get("path_params")

    async def run() -> None:
        for i in (0, 1, 17, 59):
            assert await hit(f"/t{i:03}/users/5") == (f"u{i}", {"id": 5})
            assert await hit(f"/t{i:03}/users/5/items/n{i}") == (
                f"i{i}",
                {"id": 5, "name": f"n{i}"},
            )
            assert await hit(f"/m{i:03}/x/k{i}") == (f"m{i}", {"k": f"k{i}"})
        assert await hit("/t060/users/5") == 404
        assert await hit("/t001/users/x") == 404

    asyncio.run(run())
