"""After assembly, serving static files makes no pluggy call: the app's directory and every
directory contributed through ``lamina_staticfiles_register_dirs`` are mounted at assembly."""

from __future__ import annotations

from pathlib import Path

from lamina.testclient import TestClient
from lamina.testing import make_app, plugin
from lamina_staticfiles import StaticDir


def test_no_hook_call_while_serving(tmp_path: Path) -> None:
    own = tmp_path / "own"
    own.mkdir()
    (own / "app.css").write_text("body{}")
    assets = tmp_path / "assets"
    assets.mkdir()
    (assets / "w.js").write_text("1")
    contributor = plugin(
        "widgets",
        lamina_staticfiles_register_dirs=lambda register: register(
            StaticDir("/_widgets", directory=assets)
        ),
    )
    app = make_app(
        "routing", "staticfiles", contributor, settings={"staticfiles": {"directories": [str(own)]}}
    )
    calls: list[str] = []
    with TestClient(app) as client:
        client.get("/static/app.css")
        undo = app.pm.add_hookcall_monitoring(
            lambda name, impls, kwargs: calls.append(name), lambda *args: None
        )
        try:
            for i in range(60):
                path = ("/static/app.css", "/_widgets/w.js", "/static/missing")[i % 3]
                expected = (200, 200, 404)[i % 3]
                assert client.get(path).status_code == expected, path
        finally:
            undo()
    assert calls == []
