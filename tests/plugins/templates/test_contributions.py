"""Directories, context processors and environment tweaks contributed by plugins."""

from __future__ import annotations

import pytest
from lamina import AssemblyError, SettingsError, hookimpl
from lamina.testclient import TestClient
from lamina.testing import make_app, plugin
from lamina_templates import TemplateResponse, templates


def page(name, context=None):
    return lambda request: TemplateResponse(request, name, context)


def test_plugin_directory_serves_its_templates_and_app_overrides(build, tdir) -> None:
    shipped = tdir("plugin", {"shop/cart.html": "plugin cart", "shop/help.html": "plugin help"})
    own = tdir("app", {"shop/cart.html": "app cart"})
    shop = plugin("shop", lamina_templates_register_directories=lambda register: register(shipped))
    app = build(
        {"/cart": ("cart", page("shop/cart.html")), "/help": ("help", page("shop/help.html"))},
        shop,
        settings={"templates": {"directories": [str(own)]}},
    )
    with TestClient(app) as client:
        assert client.get("/cart").text == "app cart"
        assert client.get("/help").text == "plugin help"
    assert [origin for origin, _ in templates(app).sources] == ["app", "shop"]


def test_plugins_are_searched_in_plugin_order(build, tdir) -> None:
    first = tdir("a", {"x.html": "from a"})
    second = tdir("b", {"x.html": "from b"})
    a = plugin("a-plugin", lamina_templates_register_directories=lambda register: register(first))
    b = plugin("b-plugin", lamina_templates_register_directories=lambda register: register(second))
    app = build({"/": ("x", page("x.html"))}, a, b)
    with TestClient(app) as client:
        assert client.get("/").text == "from a"


def test_plugin_may_register_a_jinja_loader(build) -> None:
    import jinja2

    loader = jinja2.DictLoader({"mem.html": "in memory {{ 1 + 1 }}"})
    mem = plugin("mem", lamina_templates_register_directories=lambda register: register(loader))
    app = build({"/": ("m", page("mem.html"))}, mem)
    with TestClient(app) as client:
        assert client.get("/").text == "in memory 2"


def test_missing_plugin_directory_fails_assembly_naming_the_plugin(build, tmp_path) -> None:
    broken = plugin(
        "broken", lamina_templates_register_directories=lambda register: register(tmp_path / "nope")
    )
    app = build({}, broken)
    with pytest.raises(AssemblyError, match=r"nope.*plugin 'broken'.*does not exist"):
        app.assemble()


def test_missing_app_directory_fails_assembly(build, tmp_path) -> None:
    app = build({}, settings={"templates": {"directories": [str(tmp_path / "missing")]}})
    with pytest.raises(AssemblyError, match="from the app"):
        app.assemble()


def test_invalid_settings_are_reported(build) -> None:
    with pytest.raises(SettingsError) as info:
        build({}, settings={"templates": {"directories": "not-a-list", "colour": 1}})
    text = str(info.value)
    assert "directories: expected list" in text
    assert "unknown setting 'colour'" in text


def test_context_processors_sync_and_async_in_order_endpoint_wins(build, tdir) -> None:
    d = tdir("t", {"p.html": "{{ a }} {{ b }} {{ c }} {{ path }}"})

    def sync_processor(request):
        return {"a": "sync-a", "b": "sync-b", "path": request.url.path}

    async def async_processor(request):
        return {"b": "async-b", "c": "async-c"}

    procs = plugin(
        "procs",
        lamina_templates_register_context_processors=lambda register: (
            register(sync_processor),
            register(async_processor),
        ),
    )
    app = build(
        {"/p": ("p", page("p.html", {"c": "endpoint-c"}))},
        procs,
        settings={"templates": {"directories": [str(d)]}},
    )
    with TestClient(app) as client:
        response = client.get("/p")
    assert response.text == "sync-a async-b endpoint-c /p"
    assert response.context["c"] == "endpoint-c"
    assert int(response.headers["content-length"]) == len(response.content)


def test_processor_hooks_run_once_processors_per_render(build, tdir) -> None:
    d = tdir("t", {"p.html": "{{ n }}"})
    hook_calls: list[str] = []
    renders: list[int] = []

    def processor(request):
        renders.append(1)
        return {"n": len(renders)}

    def register_processors(register):
        hook_calls.append("processors")
        register(processor)

    def register_dirs(register):
        hook_calls.append("dirs")

    contributor = plugin(
        "contrib",
        lamina_templates_register_context_processors=register_processors,
        lamina_templates_register_directories=register_dirs,
    )
    app = build(
        {"/": ("p", page("p.html"))}, contributor, settings={"templates": {"directories": [str(d)]}}
    )
    with TestClient(app) as client:
        assert [client.get("/").text for _ in range(3)] == ["1", "2", "3"]
    assert sorted(hook_calls) == ["dirs", "processors"]


def test_no_hook_calls_while_serving(build, tdir) -> None:
    d = tdir("t", {"p.html": "{{ x }}"})
    contributor = plugin(
        "contrib",
        lamina_templates_register_context_processors=lambda register: register(
            lambda request: {"x": 1}
        ),
    )
    app = build(
        {"/": ("p", page("p.html"))}, contributor, settings={"templates": {"directories": [str(d)]}}
    )
    calls: list[str] = []
    with TestClient(app) as client:
        client.get("/")
        undo = app.pm.add_hookcall_monitoring(
            lambda name, impls, kwargs: calls.append(name), lambda *args: None
        )
        try:
            for _ in range(50):
                assert client.get("/").text == "1"
        finally:
            undo()
    assert calls == []


def test_configure_environment_hook_adds_filters(build, tdir) -> None:
    d = tdir("t", {"p.html": "{{ 1234 | money }}"})

    def configure(env):
        env.filters["money"] = lambda cents: f"{cents / 100:.2f}"

    app = build(
        {"/": ("p", page("p.html"))},
        plugin("money", lamina_templates_configure_environment=configure),
        settings={"templates": {"directories": [str(d)]}},
    )
    with TestClient(app) as client:
        assert client.get("/").text == "12.34"


def test_optional_contributor_loads_without_templates_plugin(lamina_clean_env, tmp_path) -> None:
    class Contributor:
        name = "contrib"

        @hookimpl(optionalhook=True)
        def lamina_templates_register_directories(self, register):
            register(tmp_path)

    app = make_app(Contributor())
    app.assemble()
    assert "templates" not in app.extensions


def test_adding_after_the_environment_is_built_is_refused(build, tdir) -> None:
    d = tdir("t", {})
    app = build({}, settings={"templates": {"directories": [str(d)]}})
    app.assemble()
    with pytest.raises(AssemblyError, match="already built"):
        templates(app).add_directory(d)
    with pytest.raises(AssemblyError, match="already built"):
        templates(app).add_context_processor(lambda request: {})


def test_app_additions_before_assembly_are_used(build, tdir) -> None:
    late = tdir("late", {"late.html": "{{ who }}"})
    app = build({"/": ("l", page("late.html"))})
    templates(app).add_directory(late)
    templates(app).add_context_processor(lambda request: {"who": "app processor"})
    with TestClient(app) as client:
        assert client.get("/").text == "app processor"


def test_every_hookspec_is_documented_with_when_returns_example() -> None:
    import inspect

    from lamina_templates import hookspecs

    names = [n for n in dir(hookspecs) if n.startswith("lamina_")]
    assert sorted(names) == sorted(hookspecs.__all__)
    for name in names:
        doc = inspect.getdoc(getattr(hookspecs, name)) or ""
        for part in ("When:", "Returns:", "Example::"):
            assert part in doc, f"{name} docstring lacks {part!r}"


def test_non_callable_processor_is_refused_naming_the_plugin(build) -> None:
    bad = plugin(
        "badproc",
        lamina_templates_register_context_processors=lambda register: register({"not": "callable"}),
    )
    app = build({}, bad)
    with pytest.raises(AssemblyError, match=r"plugin 'badproc'.*not callable"):
        app.assemble()
