"""lamina.testing and the pytest plugin's fixtures, as a plugin author uses them."""

from __future__ import annotations

import sys
from contextlib import asynccontextmanager

from lamina import PlainTextResponse
from lamina.testing import LocalPlugin, make_app, plugin

from tests.helpers.apps import TinyRouter


def test_the_pytest_plugin_is_registered_through_its_entry_point(pytestconfig):
    registered = pytestconfig.pluginmanager.get_plugin("lamina")
    assert registered is sys.modules["lamina.pytest_plugin"]


def test_pytest_plugin_imports_stay_light():
    import importlib.util
    from pathlib import Path

    source = importlib.util.find_spec("lamina.pytest_plugin").origin
    text = Path(source).read_text(encoding="utf-8")
    top_level = [line for line in text.splitlines() if line.startswith(("import ", "from "))]
    assert all("lamina" not in line and "httpx" not in line for line in top_level), top_level


def test_fixtures_build_an_app_with_a_throwaway_plugin(
    lamina_app_factory, lamina_plugin, lamina_client
):
    events = []

    @asynccontextmanager
    async def who(app):
        events.append("up")
        yield {"who": "tester"}
        events.append("down")

    greeter = lamina_plugin(
        "greeter",
        make_router=lambda: TinyRouter(
            {"/": lambda request: PlainTextResponse(f"hello {request.state.who}")}
        ),
        lifespan=lambda: who,
    )
    app = lamina_app_factory(greeter)
    client = lamina_client(app)  # lifespan already running
    assert events == ["up"]
    assert client.get("/").text == "hello tester"
    assert [i.name for i in app.plugin_infos if i.enabled] == ["greeter"]


def test_make_app_has_autoload_off_and_only_named_plugins():
    app = make_app()
    assert app.selection.autoload is False
    assert not [i for i in app.plugin_infos if i.enabled]
    assert [i.name for i in make_app("gzip").plugin_infos if i.enabled] == ["gzip"]


def test_plugin_builder_does_not_mark_the_callers_function():
    def lamina_lifespan():
        return None

    first = plugin("first", lamina_lifespan=lamina_lifespan)
    second = LocalPlugin("second")
    second.hook(lamina_lifespan)
    assert not hasattr(lamina_lifespan, "lamina_impl")
    app = make_app(first, second)
    assert [impl.plugin_name for impl in app.pm.hook.lamina_lifespan.get_hookimpls()] == [
        "first",
        "second",
    ]
