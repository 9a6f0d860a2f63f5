"""Plugin discovery, selection (constructor and environment), local plugins, loud errors."""

from __future__ import annotations

import types

import pytest
from lamina import ConflictError, Lamina, PluginLoadError, PluginSelectionWarning, hookimpl
from lamina._plugins import entry_points
from lamina.testing import make_app, plugin

from tests.helpers.distributions import install_distribution

RECORDER = """
from lamina import hookimpl

CALLS = []

@hookimpl
def lamina_configure(app):
    CALLS.append(("{name}", app))
"""


@pytest.fixture
def two_fakes(monkeypatch, tmp_path):
    """Two installed fake plugins, ``zfake_b`` and ``zfake_a`` (installed in that order)."""
    for ep in ("zfake_b", "zfake_a"):
        install_distribution(
            monkeypatch,
            tmp_path,
            name=f"lamina-{ep}",
            version="2.3.4",
            entry_points={ep: f"lamina_{ep}"},
            modules={f"lamina_{ep}": RECORDER.format(name=ep)},
        )


def names(app: Lamina) -> list[str]:
    return [i.name for i in app.plugin_infos if i.enabled]


def test_entry_points_are_sorted_by_name(two_fakes):
    eps = [ep.name for ep in entry_points()]
    assert eps == sorted(eps)
    assert {"zfake_a", "zfake_b"} <= set(eps)


def test_autoload_loads_every_entry_point_in_name_order(two_fakes):
    app = Lamina(only=["zfake_a", "zfake_b"])
    assert names(app) == ["zfake_a", "zfake_b"]
    assert app.pm_order == ["zfake_a", "zfake_b"]
    info = next(i for i in app.plugin_infos if i.name == "zfake_a")
    assert (info.distribution, info.version, info.source) == (
        "lamina-zfake_a",
        "2.3.4",
        "entry-point",
    )
    assert info.hooks == ["lamina_configure"]


def test_each_app_has_its_own_plugin_manager(two_fakes):
    first, second = Lamina(only=["zfake_a"]), Lamina(only=["zfake_a"])
    assert first.pm is not second.pm
    first.pm.register(plugin("extra"), name="extra")
    assert second.pm.get_plugin("extra") is None


def test_autoload_off_from_constructor_and_environment(two_fakes, monkeypatch):
    assert names(Lamina(autoload=False)) == []
    monkeypatch.setenv("LAMINA_DISABLE_PLUGIN_AUTOLOAD", "1")
    app = Lamina()
    assert names(app) == []
    assert {i.reason for i in app.plugin_infos} == {"autoload is off"}
    # the constructor wins over the environment
    assert "zfake_a" in names(Lamina(autoload=True, only=["zfake_a"]))


def test_allow_list_from_constructor_and_environment(two_fakes, monkeypatch):
    assert names(Lamina(only=["zfake_b"])) == ["zfake_b"]
    monkeypatch.setenv("LAMINA_PLUGINS", "zfake_a, zfake_b")
    assert names(Lamina()) == ["zfake_a", "zfake_b"]
    skipped = next(i for i in Lamina().plugin_infos if i.name == "routing")
    assert (skipped.enabled, skipped.reason) == (False, "not in the allow-list")


def test_block_list_from_constructor_and_environment_merge(two_fakes, monkeypatch):
    both = ["zfake_a", "zfake_b"]
    assert names(Lamina(only=both, disable=["zfake_a"])) == ["zfake_b"]
    monkeypatch.setenv("LAMINA_DISABLE_PLUGINS", "zfake_b")
    assert names(Lamina(only=both)) == ["zfake_a"]
    assert names(Lamina(only=both, disable=["zfake_a"])) == []


def test_named_plugin_loads_with_autoload_off_but_block_list_wins(two_fakes, monkeypatch):
    assert names(make_app("zfake_b")) == ["zfake_b"]
    monkeypatch.setenv("LAMINA_DISABLE_PLUGINS", "zfake_b")
    assert names(make_app("zfake_b")) == []


def test_requesting_a_missing_plugin_names_the_fix():
    with pytest.raises(PluginLoadError) as info:
        make_app("no_such_plugin")
    message = str(info.value)
    assert "'no_such_plugin'" in message
    assert "lamina-no_such_plugin" in message


def test_local_plugins_module_class_and_instance(tmp_path, monkeypatch):
    calls = []
    install_distribution(
        monkeypatch,
        tmp_path,
        name="local-mod",
        entry_points={},
        modules={
            "lamina_localmod": "from lamina import hookimpl\n"
            "CALLS = []\n"
            "@hookimpl\n"
            "def lamina_configure(app):\n"
            "    CALLS.append('module')\n"
        },
    )
    import lamina_localmod

    class AsClass:
        name = "as-class"

        @hookimpl
        def lamina_configure(self, app):
            calls.append("class")

    class AsInstance:
        @hookimpl
        def lamina_configure(self, app):
            calls.append("instance")

    app = make_app(lamina_localmod, AsClass, AsInstance())
    assert lamina_localmod.CALLS == ["module"]
    assert sorted(calls) == ["class", "instance"]
    local = [(i.name, i.source) for i in app.plugin_infos if i.source == "local"]
    assert local == [("localmod", "local"), ("as-class", "local"), ("AsInstance", "local")]


def test_unknown_hook_is_an_error_naming_the_plugin():
    typo = plugin("typo", lamina_regster_routes=lambda register: None)
    with pytest.raises(PluginLoadError) as info:
        make_app(typo)
    assert "'typo'" in str(info.value)
    assert "lamina_regster_routes" in str(info.value)
    assert "unknown hook" in str(info.value)


def test_hookspecs_added_by_a_plugin_are_not_unknown():
    from lamina import hookspec

    def lamina_demo_extra(app):
        """When: never. Returns: nothing. Example: none."""

    Specs = types.ModuleType("demo_specs")
    Specs.lamina_demo_extra = hookspec(lamina_demo_extra)
    provider = plugin(
        "provider", lamina_add_hookspecs=lambda pluginmanager: pluginmanager.add_hookspecs(Specs)
    )
    user = plugin("user", lamina_demo_extra=lambda app: "from user")
    app = make_app(provider, user)
    assert app.pm.hook.lamina_demo_extra(app=app) == ["from user"]


def test_import_error_names_plugin_distribution_version_and_fix(tmp_path, monkeypatch):
    install_distribution(
        monkeypatch,
        tmp_path,
        name="lamina-broken",
        version="0.9.1",
        entry_points={"zbroken": "lamina_zbroken"},
        modules={"lamina_zbroken": "import does_not_exist_anywhere\n"},
    )
    with pytest.raises(PluginLoadError) as info:
        Lamina(only=["zbroken"])
    message = str(info.value)
    for part in (
        "'zbroken'",
        "lamina-broken 0.9.1",
        "does_not_exist_anywhere",
        "LAMINA_DISABLE_PLUGINS=zbroken",
    ):
        assert part in message
    # disabling it is the fix
    assert "zbroken" not in names(Lamina(only=["zbroken"], disable=["zbroken"]))


def test_invalid_hook_signature_is_a_load_error():
    bad = plugin("bad", lamina_configure=lambda app, nonsense: None)
    with pytest.raises(PluginLoadError, match="'bad'"):
        make_app(bad)


def test_same_name_twice_is_a_conflict(two_fakes):
    clash = plugin("zfake_a")
    with pytest.raises(ConflictError) as info:
        make_app("zfake_a", clash)
    assert "zfake_a" in str(info.value)


def test_allow_list_naming_an_uninstalled_plugin_warns_with_the_installed_and_a_guess(
    monkeypatch,
):
    installed = ", ".join(ep.name for ep in entry_points())
    with pytest.warns(PluginSelectionWarning) as record:
        app = Lamina(only=["routing", "rouing"])
    assert names(app) == ["routing"]  # the known name still selects
    assert str(record[0].message) == (
        "the plugin allow-list (Lamina(only=...) or LAMINA_PLUGINS) names 'rouing' (did you "
        f"mean 'routing'?), which no installed plugin is called, so it enables nothing "
        f"(installed: {installed})"
    )
    assert record[0].filename == __file__  # points at the line that built the app
    assert len(record) == 1
    monkeypatch.setenv("LAMINA_PLUGINS", "gzpi")
    with pytest.warns(PluginSelectionWarning, match="'gzpi' \\(did you mean 'gzip'\\?\\)"):
        app = Lamina()
    assert names(app) == []  # an allow-list of nothing installed enables nothing


def test_block_list_naming_an_uninstalled_plugin_warns(monkeypatch):
    monkeypatch.setenv("LAMINA_DISABLE_PLUGINS", "cros")
    with pytest.warns(PluginSelectionWarning) as record:
        app = Lamina(only=["routing", "gzip"], disable=["gzip"])
    assert names(app) == ["routing"]
    assert len(record) == 1
    message = str(record[0].message)
    assert message.startswith(
        "the plugin block-list (Lamina(disable=...) or LAMINA_DISABLE_PLUGINS) names 'cros' "
        "(did you mean 'cors'?), which no installed plugin is called, so it disables nothing"
    )
    assert "installed: auth, " in message


def test_selection_lists_naming_a_local_plugin_do_not_warn():
    local = plugin("mine", lamina_lifespan=lambda: None)
    # filterwarnings=error: a warning here fails the test
    assert names(Lamina(plugins=[local], only=["mine"])) == ["mine"]


def test_a_requested_plugin_that_is_not_installed_is_still_an_error():
    # Lamina(plugins=["name"]) says "I need it", unlike the lists, which filter
    with pytest.raises(PluginLoadError, match="'rouing' \\(did you mean 'routing'\\?\\)"):
        Lamina(plugins=["rouing"])


def test_unknown_hook_in_an_installed_plugin_names_its_distribution(tmp_path, monkeypatch):
    install_distribution(
        monkeypatch,
        tmp_path,
        name="lamina-ztypo",
        version="5.6.7",
        entry_points={"ztypo": "lamina_ztypo"},
        modules={
            "lamina_ztypo": "from lamina import hookimpl\n"
            "@hookimpl\n"
            "def lamina_register_rotues(register):\n"
            "    pass\n"
        },
    )
    with pytest.raises(PluginLoadError) as info:
        Lamina(only=["ztypo"])
    message = str(info.value)
    for part in (
        "plugin 'ztypo' (lamina-ztypo 5.6.7)",
        "lamina_register_rotues",
        "Check the spelling",
    ):
        assert part in message


def test_async_hook_implementations_are_refused():
    async def routes(register):
        pass  # pragma: no cover - never awaited

    with pytest.raises(PluginLoadError, match=r"'asyncroutes'.*lamina_register_routes.*async def"):
        make_app(plugin("asyncroutes", lamina_register_routes=routes))

    async def assemble(app):
        pass  # pragma: no cover - never awaited

    with pytest.raises(PluginLoadError, match=r"'asyncassemble'.*lamina_assemble.*async def"):
        make_app(plugin("asyncassemble", lamina_assemble=assemble))

    async def lifespan():
        pass  # pragma: no cover - never awaited

    with pytest.raises(PluginLoadError, match=r"'asynclife'.*lamina_lifespan.*async def"):
        make_app(plugin("asynclife", lamina_lifespan=lifespan))


def test_hook_wrappers_are_refused():
    class Wrapping:
        name = "wrapping"

        @hookimpl(wrapper=True)
        def lamina_register_routes(self, register):
            return (yield)  # pragma: no cover

    with pytest.raises(PluginLoadError, match=r"'wrapping'.*wrapper.*tryfirst"):
        make_app(Wrapping)
