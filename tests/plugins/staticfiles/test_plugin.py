"""lamina-staticfiles as a plugin: settings, mounting through routing, the contribution hook."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from lamina import AssemblyError, ConflictError, PlainTextResponse, SettingsError
from lamina.testclient import TestClient
from lamina.testing import make_app, plugin
from lamina_routing import Mount, Route
from lamina_staticfiles import StaticDir, StaticFiles


@pytest.fixture
def static_dir(tmp_path: Path) -> Path:
    root = tmp_path / "static"
    (root / "css").mkdir(parents=True)
    (root / "css" / "app.css").write_text("body{}")
    (root / "index.html").write_text("<h1>index</h1>")
    return root


@pytest.fixture
def plugin_assets(tmp_path: Path) -> Path:
    root = tmp_path / "plugin_assets"
    root.mkdir()
    (root / "widget.js").write_text("console.log(1)")
    return root


def test_settings_mount_and_url_for(static_dir: Path) -> None:
    async def home(request: Any) -> PlainTextResponse:
        return PlainTextResponse(str(request.url_for("static", path="/css/app.css")))

    app = make_app(
        "routing",
        "staticfiles",
        routes=[Route("/", home)],
        settings={"staticfiles": {"directories": [str(static_dir)], "cache_control": "max-age=60"}},
    )
    with TestClient(app) as client:
        r = client.get("/static/css/app.css")
        assert r.status_code == 200 and r.text == "body{}"
        assert r.headers["cache-control"] == "max-age=60"
        assert r.headers["content-type"] == "text/css; charset=utf-8"
        assert client.get("/").text == "http://testserver/static/css/app.css"
        assert client.head("/static/css/app.css").headers["content-length"] == "6"


def test_custom_prefix_and_html(static_dir: Path) -> None:
    app = make_app(
        "routing",
        "staticfiles",
        settings={
            "staticfiles": {"directories": [str(static_dir)], "prefix": "/assets/", "html": True}
        },
    )
    with TestClient(app, follow_redirects=False) as client:
        assert client.get("/assets/").text == "<h1>index</h1>"
        r = client.get("/assets")
        assert r.status_code == 307 and r.headers["location"] == "/assets/"
        assert client.get("/static/css/app.css").status_code == 404


def test_errors_go_through_the_app_handlers(static_dir: Path) -> None:
    def not_found(request: Any, exc: Any) -> PlainTextResponse:
        return PlainTextResponse("custom 404", status_code=404)

    app = make_app(
        "routing",
        "staticfiles",
        exception_handlers={404: not_found},
        settings={"staticfiles": {"directories": [str(static_dir)]}},
    )
    with TestClient(app) as client:
        r = client.get("/static/nope.css")
        assert r.status_code == 404 and r.text == "custom 404"
        r = client.post("/static/css/app.css")
        assert r.status_code == 405 and r.headers["allow"] == "GET, HEAD"


def test_missing_directory_fails_at_startup(tmp_path: Path) -> None:
    app = make_app(
        "routing",
        "staticfiles",
        settings={"staticfiles": {"directories": [str(tmp_path / "missing")]}},
    )
    with pytest.raises(AssemblyError, match=r"\[staticfiles\].*missing.*does not exist"):
        app.assemble()


def test_bad_settings_are_reported() -> None:
    with pytest.raises(SettingsError, match="prefix"):
        make_app("routing", "staticfiles", settings={"staticfiles": {"prefix": "static"}})
    with pytest.raises(SettingsError, match="unknown setting"):
        make_app("routing", "staticfiles", settings={"staticfiles": {"dir": "x"}})


def test_nothing_configured_mounts_nothing() -> None:
    app = make_app("routing", "staticfiles")
    with TestClient(app) as client:
        assert client.get("/static/x").status_code == 404
    assert app.extensions["staticfiles"] == []


def test_plugins_contribute_directories(static_dir: Path, plugin_assets: Path) -> None:
    def contribute(register: Any) -> None:
        register(StaticDir("/_widgets", directory=plugin_assets, name="widgets"))

    app = make_app(
        "routing",
        "staticfiles",
        plugin("widgets", staticfiles_register_dirs=contribute),
        settings={"staticfiles": {"directories": [str(static_dir)]}},
    )
    with TestClient(app) as client:
        r = client.get("/_widgets/widget.js")
        assert r.status_code == 200 and r.text == "console.log(1)"
        assert r.headers["content-type"] == "text/javascript; charset=utf-8"
        assert client.get("/static/css/app.css").status_code == 200
        assert client.get("/_widgets/../static/css/app.css").status_code == 200  # normalised
    assert app.url_path_for("widgets", path="/widget.js") == "/_widgets/widget.js"


def test_contributed_missing_directory_names_the_plugin(tmp_path: Path) -> None:
    def contribute(register: Any) -> None:
        register(StaticDir("/_w", directory=tmp_path / "gone"))

    app = make_app(
        "routing", "staticfiles", plugin("widgets", staticfiles_register_dirs=contribute)
    )
    with pytest.raises(AssemblyError, match=r"'widgets'.*gone.*does not exist"):
        app.assemble()


def test_prefix_conflicts_name_both(static_dir: Path, plugin_assets: Path) -> None:
    def contribute(register: Any) -> None:
        register(StaticDir("/static", directory=plugin_assets))

    app = make_app(
        "routing",
        "staticfiles",
        plugin("widgets", staticfiles_register_dirs=contribute),
        settings={"staticfiles": {"directories": [str(static_dir)]}},
    )
    with pytest.raises(ConflictError, match=r"'/static'.*'widgets'.*the app"):
        app.assemble()


def test_registering_something_else_is_an_error(plugin_assets: Path) -> None:
    def contribute(register: Any) -> None:
        register(str(plugin_assets))

    app = make_app(
        "routing", "staticfiles", plugin("widgets", staticfiles_register_dirs=contribute)
    )
    with pytest.raises(AssemblyError, match="StaticDir"):
        app.assemble()


def test_static_dir_validation(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="exactly one"):
        StaticDir("/x")
    with pytest.raises(ValueError, match="exactly one"):
        StaticDir("/x", directory=tmp_path, package="pkg")
    with pytest.raises(ValueError, match="root"):
        StaticDir("/", directory=tmp_path)


def test_without_routing_the_error_says_what_to_do(static_dir: Path) -> None:
    app = make_app("staticfiles", settings={"staticfiles": {"directories": [str(static_dir)]}})
    with pytest.raises(AssemblyError, match="lamina-routing"):
        app.assemble()


def test_plain_app_mounted_by_hand(static_dir: Path) -> None:
    app = make_app("routing", routes=[Mount("/files", StaticFiles(static_dir), name="files")])
    with TestClient(app) as client:
        assert client.get("/files/css/app.css").text == "body{}"
        assert client.get("/files/css/app.css", headers={"range": "bytes=0-3"}).text == "body"


def test_plugin_ships_assets_in_its_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    pkg = tmp_path / "pkgs" / "demo_widget_plugin"
    (pkg / "static").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "static" / "w.css").write_text(".w{}")
    monkeypatch.syspath_prepend(str(tmp_path / "pkgs"))

    def contribute(register: Any) -> None:
        register(StaticDir("/_w", package="demo_widget_plugin", name="w"))

    try:
        app = make_app(
            "routing",
            "staticfiles",
            plugin("w", staticfiles_register_dirs=contribute),
            settings={"staticfiles": {"cache_control": "no-cache"}},
        )
        with TestClient(app) as client:
            r = client.get("/_w/w.css")
            assert r.text == ".w{}" and r.headers["cache-control"] == "no-cache"
    finally:
        sys.modules.pop("demo_widget_plugin", None)
