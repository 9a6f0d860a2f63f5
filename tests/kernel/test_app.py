"""Assembly: contributions are collected once, attributed, ordered and frozen."""

from __future__ import annotations

import pytest
from lamina import (
    AssemblyError,
    ConflictError,
    Lamina,
    Middleware,
    PlainTextResponse,
    RouteContribution,
)
from lamina.testclient import TestClient
from lamina.testing import LocalPlugin, make_app, plugin

from tests.helpers.apps import TinyRouter, header_middleware, router_plugin


def ok(request):
    return PlainTextResponse("ok")


class NamedRoute:
    def __init__(self, path: str, name: str | None = None) -> None:
        self.path, self.name = path, name


def test_routes_are_attributed_app_first_then_plugins_in_order():
    seen = []

    def make_router(app, routes):
        seen.extend(routes)
        return TinyRouter({r.route.path: ok for r in routes})

    a = plugin("a", lamina_register_routes=lambda register: register(NamedRoute("/a")))
    b = plugin(
        "b",
        lamina_register_routes=lambda register: (
            register(NamedRoute("/b1")),
            register(NamedRoute("/b2")),
        ),
    )
    app = make_app(
        a, b, plugin("router", lamina_make_router=make_router), routes=[NamedRoute("/app")]
    )
    client = TestClient(app)
    assert client.get("/b2").text == "ok"
    assert [(c.route.path, c.plugin) for c in seen] == [
        ("/app", "app"),
        ("/a", "a"),
        ("/b1", "b"),
        ("/b2", "b"),
    ]
    assert all(isinstance(c, RouteContribution) for c in seen)
    assert list(app.route_contributions) == seen


def test_route_names_clashing_between_contributors_is_a_conflict():
    a = plugin("a", lamina_register_routes=lambda register: register(NamedRoute("/a", "home")))
    app = make_app(a, router_plugin({}), routes=[NamedRoute("/", "home")])
    with pytest.raises(ConflictError) as info:
        app.assemble()
    assert "'home'" in str(info.value)
    assert "the app" in str(info.value) and "plugin 'a'" in str(info.value)


def test_no_router_answers_404():
    response = TestClient(make_app(), raise_server_exceptions=False).get("/")
    assert response.status_code == 404


def test_middleware_order_comes_from_phase_priority_and_plugin_not_registration():
    def mw(name, **kw):
        return header_middleware(f"x-{name}", name, name=name, **kw)

    late = plugin(
        "zz",
        lamina_register_middleware=lambda register: (
            register(mw("auth", phase="auth")),
            register(mw("outer", phase="outermost")),
        ),
    )
    early = plugin(
        "aa",
        lamina_register_middleware=lambda register: (
            register(mw("cors", phase="transport", priority=10)),
            register(mw("gzip", phase="transport", priority=20)),
        ),
    )
    same = plugin(
        "mm", lamina_register_middleware=lambda register: register(mw("session", phase="session"))
    )
    app1 = make_app(late, early, same, middleware=[mw("user")])
    app2 = make_app(same, early, late, middleware=[mw("user")])
    order = [
        (row["name"], row["phase"], row["priority"], row["plugin"])
        for row in app1.describe_middleware()
    ]
    assert order == [
        ("outer", "outermost", 0, "zz"),
        ("cors", "transport", 10, "aa"),
        ("gzip", "transport", 20, "aa"),
        ("session", "session", 0, "mm"),
        ("auth", "auth", 0, "zz"),
        ("user", "innermost", 0, "app"),
    ]
    assert app2.describe_middleware() == app1.describe_middleware()


def test_onion_order_is_what_a_request_sees():
    calls = []

    def tracer(name):
        def factory(app):
            async def layer(scope, receive, send):
                calls.append(name)
                await app(scope, receive, send)

            return layer

        return Middleware(factory, name=name, phase="outermost" if name == "first" else "innermost")

    app = make_app(router_plugin({"/": ok}), middleware=[tracer("second"), tracer("first")])
    TestClient(app).get("/")
    assert calls == ["first", "second"]


def test_middleware_options_are_passed_to_the_factory():
    seen = {}

    def factory(app, *, flag):
        seen["flag"] = flag
        return app

    make_app(middleware=[Middleware(factory, flag=42)]).assemble()
    assert seen == {"flag": 42}


def test_registering_something_that_is_not_middleware_is_an_error():
    bad = plugin("bad", lamina_register_middleware=lambda register: register(lambda app: app))
    with pytest.raises(AssemblyError, match=r"plugin 'bad'.*lamina\.Middleware"):
        make_app(bad).assemble()


def test_unknown_phase_is_rejected():
    with pytest.raises(ValueError, match="phase"):
        Middleware(lambda app: app, phase="middle")  # type: ignore[arg-type]


def test_assembly_is_once_and_freezes_the_app():
    calls = []
    counter = plugin("counter", lamina_register_routes=lambda register: calls.append(1))
    app = make_app(counter, router_plugin({"/": ok}))
    client = TestClient(app)
    client.get("/")
    client.get("/")
    app.assemble()
    assert calls == [1]
    with pytest.raises(AssemblyError, match="already assembled"):
        app.add_middleware(header_middleware())
    with pytest.raises(AssemblyError, match="already assembled"):
        app.add_exception_handler(404, lambda r, e: None)


def test_add_middleware_and_handler_before_start():
    app = make_app(router_plugin({}))
    app.add_middleware(header_middleware("x-added", "yes"))
    app.add_exception_handler(404, lambda r, e: PlainTextResponse("custom 404", 404))
    response = TestClient(app).get("/nothing")
    assert (response.text, response.headers["x-added"]) == ("custom 404", "yes")


def test_two_plugins_claiming_one_protocol_conflict_and_kernel_scopes_are_reserved():
    def claim(name, scope_type):
        return plugin(
            name,
            lamina_register_protocols=lambda register: register(
                scope_type, lambda endpoint: endpoint
            ),
        )

    with pytest.raises(ConflictError) as info:
        make_app(claim("ws1", "websocket"), claim("ws2", "websocket")).assemble()
    assert "'ws1'" in str(info.value) and "'ws2'" in str(info.value)
    for reserved in ("http", "lifespan"):
        with pytest.raises(ConflictError, match=reserved):
            make_app(claim("greedy", reserved)).assemble()


def test_extension_scope_type_claimed_by_a_plugin_goes_through_middleware():
    seen = []

    def handler_factory(endpoint):
        async def handler(scope, receive, send):
            seen.append(("handler", scope["type"]))
            await send({"type": "webtransport.accept"})

        return handler

    def factory(app):
        async def layer(scope, receive, send):
            seen.append(("mw", scope["type"]))
            await app(scope, receive, send)

        return layer

    wt = plugin(
        "webtransport",
        lamina_register_protocols=lambda register: register("webtransport", handler_factory),
    )
    app = make_app(wt, middleware=[Middleware(factory)])
    sent = []

    async def send(message):
        sent.append(message)

    import anyio

    anyio.run(app, {"type": "webtransport", "path": "/"}, None, send)
    assert seen == [("mw", "webtransport"), ("handler", "webtransport")]
    assert sent == [{"type": "webtransport.accept"}]


def test_unclaimed_scope_type_is_a_clear_error():
    import anyio

    with pytest.raises(RuntimeError, match=r"no protocol handler.*'carrier-pigeon'"):
        anyio.run(make_app(), {"type": "carrier-pigeon"}, None, None)


def test_scope_carries_the_app_and_plugins_keep_per_app_state():
    def configure(app):
        app.extensions["stateful"] = {"count": 0}

    def show(request):
        ext = request.app.extensions["stateful"]
        ext["count"] += 1
        return PlainTextResponse(str(ext["count"]))

    app = make_app(plugin("stateful", lamina_configure=configure), router_plugin({"/": show}))
    other = make_app(plugin("stateful", lamina_configure=configure), router_plugin({"/": show}))
    assert TestClient(app).get("/").text == "1"
    assert TestClient(app).get("/").text == "2"
    assert TestClient(other).get("/").text == "1"


def test_url_path_for_without_a_reversing_router():
    with pytest.raises(LookupError, match="no installed router"):
        make_app().url_path_for("home")


def test_lamina_without_testing_helpers_and_local_plugin_decorator():
    p = LocalPlugin("deco")

    @p.hook
    def lamina_make_router(app):
        return TinyRouter({"/": ok})

    app = Lamina(plugins=[p], autoload=False)
    assert TestClient(app).get("/").text == "ok"
    assert "lamina_make_router" in repr(p)


def test_two_routers_conflict_unless_one_is_tryfirst():
    first = router_plugin({"/": ok}, name="router-one")
    second = router_plugin({"/": ok}, name="router-two")
    with pytest.raises(ConflictError) as info:
        make_app(first, second).assemble()
    assert "'router-one'" in str(info.value) and "'router-two'" in str(info.value)
    assert "tryfirst" in str(info.value)

    winner = LocalPlugin("winner")
    winner.add(
        "lamina_make_router",
        lambda: TinyRouter({"/": lambda request: PlainTextResponse("winner")}),
        tryfirst=True,
    )
    app = make_app(router_plugin({"/": ok}, name="router-one"), winner)
    assert TestClient(app).get("/").text == "winner"


def test_a_router_plugin_may_decline():
    decliner = plugin("decliner", lamina_make_router=lambda: None)
    app = make_app(decliner, router_plugin({"/": ok}))
    assert TestClient(app).get("/").text == "ok"


def test_an_error_inside_a_plugin_hook_is_attributed_and_keeps_its_type():
    def broken(register):
        raise ValueError("bad route table")

    app = make_app(plugin("shaky", lamina_register_routes=broken), router_plugin({}))
    with pytest.raises(ValueError, match="bad route table") as info:
        app.assemble()
    assert info.value.__notes__ == [
        "raised by plugin 'shaky' (a local plugin) in lamina_register_routes; fix the plugin "
        "or disable it with LAMINA_DISABLE_PLUGINS=shaky"
    ]

    def bad_router():
        raise TypeError("cannot build")

    with pytest.raises(TypeError) as info:
        make_app(plugin("badrouter", lamina_make_router=bad_router)).assemble()
    assert "plugin 'badrouter'" in info.value.__notes__[0]


def test_exception_handler_keys_and_handlers_are_checked():
    bad_key = plugin(
        "badkey",
        lamina_register_exception_handlers=lambda register: register("404", lambda r, e: None),
    )
    with pytest.raises(AssemblyError, match=r"plugin 'badkey'.*'404'"):
        make_app(bad_key).assemble()
    with pytest.raises(AssemblyError, match="the app"):
        make_app(exception_handlers={KeyError: "not callable"}).assemble()


def test_a_failing_middleware_factory_names_its_layer_and_plugin():
    def factory(app):
        raise ValueError("needs options")

    mw = plugin(
        "needy",
        lamina_register_middleware=lambda register: register(Middleware(factory, name="needy-mw")),
    )
    with pytest.raises(ValueError, match="needs options") as info:
        make_app(mw).assemble()
    assert info.value.__notes__ == [
        "while building middleware 'needy-mw' registered by plugin 'needy'"
    ]


def test_repr_shows_plugins_and_assembly_state():
    app = make_app(router_plugin({}))
    assert repr(app) == "<Lamina plugins=['tiny-router'] not assembled>"
    app.assemble()
    assert repr(app) == "<Lamina plugins=['tiny-router'] assembled>"


def test_lamina_assemble_runs_once_after_configuration_before_any_contribution():
    """The hook a plugin uses to gather what other plugins contribute through its own hooks:
    it sees every plugin configured (even one loaded after it), and what it resolves is
    ready for the register hooks that follow."""
    events: list[str] = []

    def gather(app):
        events.append("assemble:gatherer")
        # "late" is registered after "gatherer", yet it is configured already
        app.extensions["gathered"] = [*app.extensions["late"], "/gathered"]

    def routes(app, register):
        events.append("routes")
        for path in app.extensions["gathered"]:
            register(NamedRoute(path))

    def make_router(routes):
        events.append("router")
        return TinyRouter({c.route.path: ok for c in routes})

    def configure(app):
        events.append("configure:late")
        app.extensions["late"] = ["/late"]

    gatherer = plugin(
        "gatherer",
        lamina_assemble=gather,
        lamina_register_routes=routes,
        lamina_make_router=make_router,
    )
    late = plugin(
        "late",
        lamina_configure=configure,
        lamina_assemble=lambda: events.append("assemble:late"),
        lamina_register_middleware=lambda register: events.append("middleware"),
        lamina_register_exception_handlers=lambda register: events.append("handlers"),
        lamina_register_protocols=lambda register: events.append("protocols"),
        lamina_lifespan=lambda: events.append("lifespan"),
        lamina_assembled=lambda app: events.append(f"assembled:{type(app.router).__name__}"),
    )
    app = make_app(gatherer, late)
    assert events == ["configure:late"]
    with TestClient(app) as client:
        assert client.get("/late").text == "ok"
        assert client.get("/gathered").text == "ok"
        assert client.get("/nope").status_code == 404
    app.assemble()
    assert events == [
        "configure:late",
        "assemble:gatherer",
        "assemble:late",
        "routes",
        "router",
        "middleware",
        "handlers",
        "protocols",
        "lifespan",
        "assembled:TinyRouter",
    ]


def test_a_failing_lamina_assemble_stops_assembly_names_the_plugin_and_may_be_retried():
    attempts: list[int] = []

    def flaky(app):
        attempts.append(1)
        if len(attempts) == 1:
            raise AssemblyError("widgets are not ready")

    app = make_app(plugin("flaky", lamina_assemble=flaky), router_plugin({"/": ok}))
    with pytest.raises(AssemblyError, match="widgets are not ready") as info:
        app.assemble()
    assert info.value.__notes__ == [
        "raised by plugin 'flaky' (a local plugin) in lamina_assemble; fix the plugin "
        "or disable it with LAMINA_DISABLE_PLUGINS=flaky"
    ]
    assert repr(app).endswith("not assembled>")
    assert TestClient(app).get("/").text == "ok"  # the next attempt assembles
    assert len(attempts) == 2


def test_lamina_assembled_reads_the_frozen_app_and_a_failure_leaves_it_unassembled():
    """The hook for what describes the finished app: it sees the router and everything
    else frozen; raising stops startup, nothing is served, and the next attempt runs every
    assembly hook again."""
    seen: list[object] = []

    def describe(app):
        assert app.assembly.router is app.router  # no re-entry: the assembly is held
        seen.append(app.router)
        if len(seen) == 1:
            raise AssemblyError("cannot describe the app yet")

    app = make_app(plugin("describer", lamina_assembled=describe), router_plugin({"/": ok}))
    with pytest.raises(AssemblyError, match="cannot describe the app yet") as info:
        app.assemble()
    assert "in lamina_assembled" in info.value.__notes__[0]
    assert repr(app).endswith("not assembled>") and app.router is None
    with TestClient(app) as client:  # startup assembles again, and this time it holds
        assert client.get("/").text == "ok"
    first_router, second_router = seen
    assert isinstance(first_router, TinyRouter) and second_router is app.router
    assert first_router is not second_router  # rebuilt, not the half-finished one


@pytest.mark.parametrize(
    ("hook", "call", "usage"),
    [
        ("lamina_register_routes", lambda register: register("/a", ok), "register(route)"),
        ("lamina_register_middleware", lambda register: register(), "register(Middleware("),
        (
            "lamina_register_exception_handlers",
            lambda register: register(404),
            "register(key, handler)",
        ),
        (
            "lamina_register_protocols",
            lambda register: register("websocket"),
            "register(scope_type, factory)",
        ),
    ],
)
def test_a_wrong_register_call_names_the_plugin_and_the_right_call(hook, call, usage):
    app = make_app(plugin("clumsy", **{hook: call}), router_plugin({}))
    with pytest.raises(AssemblyError) as info:
        app.assemble()
    message = str(info.value)
    assert message.startswith(f"plugin 'clumsy' (a local plugin) called register() in {hook}")
    assert usage in message


def test_protocol_and_middleware_factories_must_give_asgi_apps():
    bad_type = plugin(
        "p1", lamina_register_protocols=lambda register: register("websocket", "not a factory")
    )
    with pytest.raises(AssemblyError, match=r"plugin 'p1'.*'websocket'.*factory\(endpoint\)"):
        make_app(bad_type).assemble()
    gives_none = plugin(
        "p2",
        lamina_register_protocols=lambda register: register("websocket", lambda endpoint: None),
    )
    with pytest.raises(AssemblyError, match=r"factory of plugin 'p2'.*returned None"):
        make_app(gives_none).assemble()
    layer = plugin(
        "p3",
        lamina_register_middleware=lambda register: register(
            Middleware(lambda app: None, name="nothing")
        ),
    )
    with pytest.raises(TypeError, match=r"'nothing' registered by plugin 'p3'.*returned None"):
        make_app(layer).assemble()


def test_middleware_declarations_are_checked_when_made():
    with pytest.raises(TypeError, match="priority must be an int, got '1'"):
        Middleware(header_middleware("x", "y").factory, priority="1")
    with pytest.raises(TypeError, match="priority must be an int"):
        Middleware(header_middleware("x", "y").factory, priority=True)
    with pytest.raises(TypeError, match="is not callable"):
        Middleware("not.a.factory")


def test_several_plugins_may_need_the_same_plugin():
    """Declared dependencies are needs, not names to own: two plugins needing one plugin
    assemble, and a missing one is still reported for each plugin that needs it."""
    from lamina import AssemblyError

    def needs(register):
        register("routing", "serves its pages through the router")

    app = make_app(
        "routing",
        plugin("a", register_dependencies=needs),
        plugin("b", register_dependencies=needs),
    )
    app.assemble()
    lonely = make_app(
        plugin("a", register_dependencies=needs), plugin("b", register_dependencies=needs)
    )
    with pytest.raises(AssemblyError) as caught:
        lonely.assemble()
    assert "plugin 'a'" in str(caught.value) and "plugin 'b'" in str(caught.value)
