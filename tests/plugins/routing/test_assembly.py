"""Assembly: plugin-contributed routes, conflicts naming both contributors, converters."""

from __future__ import annotations

import pytest
from lamina import ConflictError, PlainTextResponse, Request
from lamina.testclient import TestClient
from lamina.testing import plugin
from lamina_routing import Converter, Mount, Route, Router
from routing_helpers import client, make, routes_plugin


async def ok(request: Request) -> PlainTextResponse:
    return PlainTextResponse(f"ok {request.path_params}")


async def other(request: Request) -> PlainTextResponse:
    return PlainTextResponse("other")


def test_app_routes_come_first_then_plugins() -> None:
    admin = routes_plugin("admin", Route("/admin/{page}", other), Route("/shared/{x:int}", other))
    with client([Route("/shared/{x}", ok)], plugins=[admin]) as c:
        assert c.get("/admin/x").text == "other"
        assert c.get("/shared/1").text == "ok {'x': '1'}"


def test_duplicate_method_and_path_names_both_plugins() -> None:
    a = routes_plugin("alpha", Route("/x/{id:int}", ok, methods=["GET", "POST"]))
    b = routes_plugin("beta", Route("/x/{pk:int}", other, methods=["POST"]))
    app = make(plugins=[a, b])
    with pytest.raises(ConflictError) as info:
        app.assemble()
    msg = str(info.value)
    assert "POST /x/{:int}" in msg and "'alpha'" in msg and "'beta'" in msg


def test_duplicate_between_app_and_plugin() -> None:
    p = routes_plugin("extra", Route("/health", other))
    with pytest.raises(ConflictError, match=r"the app .* plugin 'extra'"):
        make([Route("/health", ok)], plugins=[p]).assemble()


def test_different_methods_or_converters_do_not_conflict() -> None:
    app = make(
        [
            Route("/x", ok, methods=["GET"]),
            Route("/x", other, methods=["POST"]),
            Route("/y/{a:int}", ok),
            Route("/y/{a}", other),
        ]
    )
    app.assemble()


def test_duplicate_inside_a_mount_is_found_on_the_full_path() -> None:
    app = make([Route("/api/items", ok), Mount("/api", [Route("/items", other)])])
    with pytest.raises(ConflictError, match="/api/items"):
        app.assemble()


def test_duplicate_explicit_name_names_both() -> None:
    a = routes_plugin("alpha", Route("/a", ok, name="home"))
    both = r"route name 'home'.*(the app.*'alpha'|'alpha'.*the app)"
    with pytest.raises(ConflictError, match=both):
        make([Route("/b", other, name="home")], plugins=[a]).assemble()


def test_implicit_names_never_conflict_across_contributors() -> None:
    async def health(request):
        return PlainTextResponse("app")

    p = routes_plugin("extra", Route("/plugin-health", health))
    app = make([Route("/health", health)], plugins=[p])
    assert app.url_path_for("health") == "/health"


def test_same_name_under_different_mount_names_is_fine() -> None:
    app = make(
        [
            Mount("/a", [Route("/", ok, name="index")], name="a"),
            Mount("/b", [Route("/", ok, name="index")], name="b"),
        ]
    )
    assert app.url_path_for("a:index") == "/a/"
    assert app.url_path_for("b:index") == "/b/"


class Slug(Converter):
    regex = "[a-z0-9]+(?:-[a-z0-9]+)*"

    def convert(self, value: str) -> str:
        return value.upper()

    def to_string(self, value: object) -> str:
        return str(value).lower()


class Even(Converter):
    regex = "[0-9]+"

    def convert(self, value: str) -> int:
        n = int(value)
        if n % 2:
            raise ValueError(value)
        return n


def test_converters_from_a_plugin_hook() -> None:
    conv = plugin(
        "conv", lamina_routing_register_converters=lambda register: register("slug", Slug())
    )
    routes = [Route("/post/{s:slug}", ok, name="post"), Route("/post/{other}", other)]
    with client(routes, plugins=[conv]) as c:
        assert c.get("/post/hello-world").text == "ok {'s': 'HELLO-WORLD'}"
        assert c.get("/post/Hello_World").text == "other"
        assert c.app.url_path_for("post", s="ABC") == "/post/abc"


def test_converter_refusing_a_value_means_no_match() -> None:
    router = Router(converters={"even": Even()})
    router.add_route("/n/{n:even}", ok)
    router.add_route("/n/{n}", other)
    with TestClient(make(router)) as c:
        assert c.get("/n/4").text == "ok {'n': 4}"
        assert c.get("/n/3").text == "other"


def test_router_converters_travel_with_the_routes_into_the_app() -> None:
    router = Router()
    router.register_converter("slug", Slug())

    @router.get("/s/{s:slug}")
    async def s(request):
        return PlainTextResponse(request.path_params["s"])

    with TestClient(make(router)) as c:
        assert c.get("/s/a-b").text == "A-B"


def test_mount_converters_reach_inner_routes_even_from_a_router() -> None:
    inner = Router()

    @inner.get("/{n:even}")
    async def even(request):
        return PlainTextResponse(str(request.path_params["n"]))

    routes = [
        Mount("/r", inner, converters={"even": Even()}),
        Mount("/l", [Route("/{s:slug}", ok)], converters={"slug": Slug()}),
    ]
    with TestClient(make(routes)) as c:
        assert c.get("/r/4").text == "4"
        assert c.get("/r/5").status_code == 404
        assert c.get("/l/a-b").text == "ok {'s': 'A-B'}"


def test_converters_are_scoped_per_app() -> None:
    conv = plugin(
        "conv", lamina_routing_register_converters=lambda register: register("slug", Slug())
    )
    make([Route("/p/{s:slug}", ok)], plugins=[conv]).assemble()
    with pytest.raises(ValueError, match=r"unknown converter 'slug'"):
        make([Route("/p/{s:slug}", ok)]).assemble()


def test_two_apps_give_one_converter_name_two_meanings() -> None:
    """No global registry: each app resolves ``{x:num}`` through its own plugins."""
    upper = plugin(
        "up", lamina_routing_register_converters=lambda register: register("num", Slug())
    )
    even = plugin("ev", lamina_routing_register_converters=lambda register: register("num", Even()))
    with (
        client([Route("/n/{x:num}", ok)], plugins=[upper]) as a,
        client([Route("/n/{x:num}", ok)], plugins=[even]) as b,
    ):
        assert a.get("/n/abc").text == "ok {'x': 'ABC'}"
        assert b.get("/n/abc").status_code == 404
        assert b.get("/n/4").text == "ok {'x': 4}"
        assert a.get("/n/4").text == "ok {'x': '4'}"
        assert b.get("/n/3").status_code == 404


def test_converter_conflicts() -> None:
    a = plugin("a", lamina_routing_register_converters=lambda register: register("slug", Slug()))
    b = plugin("b", lamina_routing_register_converters=lambda register: register("slug", Slug()))
    with pytest.raises(ConflictError, match=r"'slug'.*'b'.*'a'"):
        make([], plugins=[a, b]).assemble()
    c = plugin("c", lamina_routing_register_converters=lambda register: register("int", Slug()))
    with pytest.raises(ConflictError, match="built in"):
        make([], plugins=[c]).assemble()
    with pytest.raises(ValueError, match="built in"):
        Router(converters={"path": Slug()})


def test_bad_templates_name_the_route() -> None:
    with pytest.raises(ValueError, match="starting with '/'"):
        Route("nope", ok)
    with pytest.raises(ValueError, match=r"parameter 'a' appears twice"):
        make([Route("/{a}/{a}", ok)]).assemble()
    with pytest.raises(ValueError, match=r"Route\('/\{a:nope\}'.*unknown converter 'nope'"):
        make([Route("/{a:nope}", ok)]).assemble()
    with pytest.raises(ValueError, match="not a valid parameter"):
        make([Route("/{1a}", ok)]).assemble()
    with pytest.raises(ValueError, match="'a' and 'b' touch"):
        make([Route("/x/{a:int}{b:int}", ok)]).assemble()
    with pytest.raises(ValueError, match="only one 'path' parameter"):
        make([Route("/{a:path}/x/{b:path}", ok)]).assemble()


def test_unknown_route_objects_are_refused() -> None:
    with pytest.raises(TypeError, match="not a route the router understands"):
        make(["/just-a-string"]).assemble()


def test_router_stays_out_of_pluggy_per_request() -> None:
    app = make([Route("/x/{n:int}", ok), Route("/s", ok)])
    with TestClient(app) as c:
        calls: list[str] = []
        undo = app.pm.add_hookcall_monitoring(
            lambda name, impls, kw: calls.append(name), lambda *a: None
        )
        try:
            for _ in range(20):
                assert c.get("/x/1").status_code == 200
                assert c.get("/s").status_code == 200
                assert c.get("/missing").status_code == 404
        finally:
            undo()
        assert calls == []
