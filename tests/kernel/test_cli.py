"""The ``lamina`` command line: serve, plugins, middleware, plugin subcommands."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time

import httpx
import pytest
from lamina.cli import Command, main

from tests.helpers.distributions import install_distribution
from tests.helpers.servers import free_port

APP_MODULE = """
from lamina import Middleware, PlainTextResponse, hookimpl
from lamina.testing import make_app, plugin


def mw(name, **kw):
    def factory(app):
        return app
    factory.__name__ = name
    return Middleware(factory, **kw)


async def router(scope, receive, send):
    await PlainTextResponse("served by lamina serve")(scope, receive, send)


cors_like = plugin("cors-like", lamina_register_middleware=lambda register: register(
    mw("cors_like", phase="transport", priority=10)))
app = make_app(cors_like, plugin("router", lamina_make_router=lambda: router),
               middleware=[mw("timing", phase="outermost"), mw("mine")])
"""


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A project directory with ``myproject/app.py``, as the current directory."""
    (tmp_path / "myproject").mkdir()
    (tmp_path / "myproject" / "__init__.py").write_text("")
    (tmp_path / "myproject" / "app.py").write_text(textwrap.dedent(APP_MODULE))
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in ("myproject", "myproject.app"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    return tmp_path


def test_middleware_prints_the_onion_in_order(project, capsys):
    assert main(["middleware", "myproject.app:app"]) == 0
    out = capsys.readouterr().out.splitlines()
    layers = [line.split()[1] for line in out if line.strip()[:1].isdigit()]
    assert layers == ["timing", "cors_like", "mine"]
    assert "phase=transport priority=10 plugin=cors-like" in out[2]
    assert main(["middleware", "myproject.app:app", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[0] == {"name": "timing", "phase": "outermost", "priority": 0, "plugin": "app"}


def test_bad_targets_are_explained(project, capsys):
    with pytest.raises(SystemExit, match="expected MODULE:APP"):
        main(["middleware", "myproject.app"])
    with pytest.raises(SystemExit, match="cannot import 'nope'"):
        main(["middleware", "nope:app"])
    with pytest.raises(SystemExit, match="has no attribute 'missing'"):
        main(["middleware", "myproject.app:missing"])


def test_plugins_reflect_environment_selection_and_report_broken_ones(
        tmp_path, monkeypatch, capsys):
    install_distribution(monkeypatch, tmp_path, name="lamina-zbroken", version="0.0.1",
                         entry_points={"zbroken": "lamina_zbroken"},
                         modules={"lamina_zbroken": "raise ImportError('missing dep')\n"})
    monkeypatch.setenv("LAMINA_DISABLE_PLUGINS", "cors")
    assert main(["plugins", "--json"]) == 0
    rows = {row["name"]: row for row in json.loads(capsys.readouterr().out)}
    assert (rows["cors"]["enabled"], rows["cors"]["reason"]) == (False, "disabled")
    assert rows["zbroken"]["error"] == "ImportError: missing dep"
    assert rows["zbroken"]["enabled"] is False


def test_plugins_of_an_app_include_local_plugins(project, capsys):
    assert main(["plugins", "--app", "myproject.app:app", "--json"]) == 0
    rows = {row["name"]: row for row in json.loads(capsys.readouterr().out)}
    assert rows["cors-like"]["source"] == "local"
    assert rows["cors-like"]["hooks"] == ["lamina_register_middleware"]
    assert rows["routing"]["reason"] == "autoload is off"


def test_plugin_command_clashing_with_a_builtin_is_an_error(tmp_path, monkeypatch, capsys):
    install_distribution(
        monkeypatch, tmp_path, name="lamina-zclash", entry_points={"zclash": "lamina_zclash"},
        modules={"lamina_zclash": (
            "from lamina import hookimpl\nfrom lamina.cli import Command\n"
            "@hookimpl\ndef lamina_register_commands(register):\n"
            "    register(Command('serve', 'mine', lambda args: 0))\n")},
    )
    monkeypatch.setenv("LAMINA_PLUGINS", "zclash")
    # the error is printed and the built-in commands still work
    assert main(["plugins", "--json"]) == 0
    captured = capsys.readouterr()
    assert "command 'serve'" in captured.err and "plugin 'zclash'" in captured.err
    assert json.loads(captured.out)


def test_command_dataclass_defaults():
    command = Command("x", "help", lambda args: 0)
    assert command.add_arguments is None


def test_help_lists_builtin_commands(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    for name in ("serve", "plugins", "middleware"):
        assert name in out


def test_serve_runs_uvicorn_on_localhost(project):
    port = free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "lamina.cli", "serve", "myproject.app:app", "--port", str(port),
         "--log-level", "warning"],
        cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
                break
            except httpx.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    output = process.stdout.read().decode() if process.stdout else ""
                    pytest.fail(f"lamina serve did not come up: {output}")
                time.sleep(0.05)
        assert response.text == "served by lamina serve"
    finally:
        process.terminate()
        process.wait(10)
        if process.stdout:
            process.stdout.close()
