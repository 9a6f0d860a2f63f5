"""The ``lamina`` command line: serve, plugins, middleware, plugin subcommands."""

from __future__ import annotations

import json
import sys
import textwrap

import pytest
from lamina.cli import Command, main

from tests.helpers.distributions import install_distribution
from tests.helpers.servers import child_process, free_port
from tests.helpers.waiting import answer, process_exited, wait_until

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
    tmp_path, monkeypatch, capsys
):
    install_distribution(
        monkeypatch,
        tmp_path,
        name="lamina-zbroken",
        version="0.0.1",
        entry_points={"zbroken": "lamina_zbroken"},
        modules={"lamina_zbroken": "raise ImportError('missing dep')\n"},
    )
    monkeypatch.setenv("LAMINA_DISABLE_PLUGINS", "cors")
    assert main(["plugins", "--json"]) == 0
    rows = {row["name"]: row for row in json.loads(capsys.readouterr().out)}
    assert (rows["cors"]["enabled"], rows["cors"]["reason"]) == (False, "disabled")
    assert rows["zbroken"]["error"] == "ImportError: missing dep"
    assert rows["zbroken"]["enabled"] is False


def test_plugins_warns_about_selection_names_no_plugin_has(monkeypatch, capsys):
    monkeypatch.setenv("LAMINA_PLUGINS", "routing,rouing")
    monkeypatch.setenv("LAMINA_DISABLE_PLUGINS", "gzpi")
    assert main(["plugins", "--json"]) == 0
    captured = capsys.readouterr()
    rows = {row["name"]: row for row in json.loads(captured.out)}  # stdout stays JSON
    assert rows["routing"]["enabled"] and not rows["gzip"]["enabled"]
    warnings = captured.err.splitlines()
    assert warnings[0].startswith(
        "lamina: warning: the plugin allow-list (Lamina(only=...) or LAMINA_PLUGINS) names "
        "'rouing' (did you mean 'routing'?), which no installed plugin is called, so it "
        "enables nothing (installed: auth, "
    )
    assert warnings[1].startswith(
        "lamina: warning: the plugin block-list (Lamina(disable=...) or "
        "LAMINA_DISABLE_PLUGINS) names 'gzpi' (did you mean 'gzip'?)"
    )
    assert len(warnings) == 2


def test_plugins_of_an_app_include_local_plugins(project, capsys):
    assert main(["plugins", "--app", "myproject.app:app", "--json"]) == 0
    rows = {row["name"]: row for row in json.loads(capsys.readouterr().out)}
    assert rows["cors-like"]["source"] == "local"
    assert rows["cors-like"]["hooks"] == ["lamina_register_middleware"]
    assert rows["routing"]["reason"] == "autoload is off"


def test_plugin_command_clashing_with_a_builtin_is_an_error(tmp_path, monkeypatch, capsys):
    install_distribution(
        monkeypatch,
        tmp_path,
        name="lamina-zclash",
        entry_points={"zclash": "lamina_zclash"},
        modules={
            "lamina_zclash": (
                "from lamina import hookimpl\nfrom lamina.cli import Command\n"
                "@hookimpl\ndef lamina_register_commands(register):\n"
                "    register(Command('serve', 'mine', lambda args: 0))\n"
            )
        },
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


def _text(url: str) -> str | None:
    response = answer(url)
    return response.text if response is not None else None


def _wait_for_text(url, expected, process):
    """Poll ``url`` until it answers ``expected``; fail with the server's output if it exits."""
    wait_until(
        lambda: _text(url) == expected,
        30,
        f"lamina serve to answer {expected!r}",
        gave_up=process_exited(process),
    )


def lamina_serve(project, port, *args):
    """``lamina serve`` on ``port`` in ``project``: a child in a process group of its own
    (the reloader's child, the supervisor's workers), stopped with that group."""
    cmd = [sys.executable, "-m", "lamina.cli", "serve", *args, "--port", str(port)]
    return child_process([*cmd, "--log-level", "warning"], cwd=project, group=True)


def test_serve_reload_restarts_when_the_code_changes(project):
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    with lamina_serve(project, port, "myproject.app:app", "--reload") as child:
        _wait_for_text(url, "served by lamina serve", child.process)
        source = project / "myproject" / "app.py"
        source.write_text(source.read_text().replace("served by lamina serve", "reloaded"))
        _wait_for_text(url, "reloaded", child.process)


def test_serve_runs_uvicorn_on_localhost(project):
    port = free_port()
    with lamina_serve(project, port, "myproject.app:app") as child:
        text = wait_until(
            lambda: _text(f"http://127.0.0.1:{port}/"),
            30,
            "lamina serve to come up",
            gave_up=process_exited(child.process),
        )
    assert text == "served by lamina serve"


WORKERS_APP = """
import os
from lamina import PlainTextResponse
from lamina.testing import make_app
from lamina_routing import Route

async def pid(request):
    return PlainTextResponse(f"{os.getpid()} {os.environ.get('LAMINA_WORKERS')}")

app = make_app("routing", routes=[Route("/", pid)])
"""


def test_serve_workers_runs_several_processes(project):
    (project / "myproject" / "workers.py").write_text(WORKERS_APP)
    port = free_port()
    answers: set[str] = set()

    def both_workers_answered() -> bool:  # a new connection each time: the kernel spreads them
        answer = _text(f"http://127.0.0.1:{port}/")
        if answer is not None:
            answers.add(answer)
        return len({a.split()[0] for a in answers}) == 2

    with lamina_serve(project, port, "myproject.workers:app", "--workers", "2") as child:
        wait_until(both_workers_answered, 30, "both workers", gave_up=process_exited(child.process))
    pids = {answer.split()[0] for answer in answers}
    assert len(pids) == 2, answers
    assert {answer.split()[1] for answer in answers} == {"2"}


@pytest.mark.parametrize(
    ("extra", "message"),
    [(["--workers", "0"], "at least 1"), (["--workers", "2", "--reload"], "--reload")],
)
def test_serve_workers_refuses_bad_combinations(project, capsys, extra, message):
    assert main(["serve", "myproject.app:app", *extra]) == 2
    assert message in capsys.readouterr().err


SCHEMA_PLUGINS = {
    # sorts first: its schema hook is broken, which must not be blamed on the others
    "zabroken": (
        "from lamina import hookimpl\n"
        "@hookimpl\ndef lamina_settings_schema():\n"
        "    raise RuntimeError('schema bug')\n"
    ),
    "zneeds": (
        "from dataclasses import dataclass\nfrom lamina import hookimpl\n"
        "@dataclass(frozen=True)\nclass S:\n    token: str\n    retries: int = 1\n"
        "@hookimpl\ndef lamina_settings_schema():\n    return S\n"
    ),
    "znone": ("from lamina import hookimpl\n@hookimpl\ndef lamina_lifespan():\n    pass\n"),
}


@pytest.fixture
def schema_plugins(tmp_path, monkeypatch):
    for name, source in SCHEMA_PLUGINS.items():
        install_distribution(
            monkeypatch,
            tmp_path,
            name=f"lamina-{name}",
            entry_points={name: f"lamina_{name}"},
            modules={f"lamina_{name}": source},
        )
    monkeypatch.setenv("LAMINA_PLUGINS", "zabroken,zneeds,znone")
    monkeypatch.chdir(tmp_path)  # no lamina.toml here
    return tmp_path


def _rows(capsys):
    captured = capsys.readouterr()
    return {row["name"]: row for row in json.loads(captured.out)}, captured.err


def test_plugins_settings_status_for_each_kind_of_plugin(schema_plugins, capsys):
    assert main(["plugins", "--json"]) == 0
    rows, err = _rows(capsys)
    assert err == ""
    assert (rows["zabroken"]["settings"], rows["zabroken"]["settings_errors"]) == (
        "invalid",
        ["RuntimeError: schema bug"],
    )
    assert rows["zneeds"]["settings"] == "missing"  # required, and no section given
    assert rows["zneeds"]["settings_errors"] == [
        "[zneeds] (lamina-zneeds 1.0.0) token: required setting is missing (expected str); "
        "set it in the [zneeds] section of lamina.toml or in Lamina(settings=...)"
    ]
    assert (rows["znone"]["settings"], rows["znone"]["settings_errors"]) == ("none", [])
    # a plugin outside the allow-list is still checked: enabling it must not surprise
    assert (rows["cors"]["enabled"], rows["cors"]["settings"]) == (False, "missing")

    good = schema_plugins / "good.toml"
    good.write_text('[zneeds]\ntoken = "t"\n')
    assert main(["plugins", "--json", "--settings-file", str(good)]) == 0
    rows, err = _rows(capsys)
    assert (rows["zneeds"]["settings"], rows["zneeds"]["settings_errors"]) == ("ok", [])
    assert rows["zabroken"]["settings"] == "invalid"
    assert err == ""

    partial = schema_plugins / "partial.toml"
    partial.write_text("[zneeds]\nretries = 3\n")  # a section, still lacking the token
    assert main(["plugins", "--json", "--settings-file", str(partial)]) == 0
    rows, _err = _rows(capsys)
    assert rows["zneeds"]["settings"] == "invalid"

    assert main(["plugins", "--settings-file", str(good)]) == 0
    text = capsys.readouterr().out
    assert "zneeds  [lamina-zneeds 1.0.0]  enabled  settings: ok" in text
    assert "znone  [lamina-znone 1.0.0]  enabled  settings: none" in text
    assert (
        "zabroken  [lamina-zabroken 1.0.0]  enabled  settings: invalid\n"
        "    settings: RuntimeError: schema bug" in text
    )


def test_plugins_reports_what_the_settings_file_gets_wrong_outside_plugin_sections(
    schema_plugins, capsys
):
    bad = schema_plugins / "bad.toml"
    bad.write_text(
        '[zneeds]\ntoken = "t"\n[znedds]\ntoken = "t"\n[znone]\nx = 1\n[lamina]\ndebug = "maybe"\n'
    )
    assert main(["plugins", "--json", "--settings-file", str(bad)]) == 0
    rows, err = _rows(capsys)  # stdout stays one JSON document
    assert rows["zneeds"]["settings"] == "ok"
    problems = err.splitlines()
    assert problems[0] == "lamina: settings file: [lamina] debug: expected bool, got str 'maybe'"
    assert problems[1].startswith(
        "lamina: settings file: [znedds] unknown settings section (did you mean 'zneeds'?): "
        "no plugin named 'znedds' is installed (installed: "
    )
    assert problems[2] == (
        "lamina: settings file: [znone] plugin 'znone' (lamina-znone 1.0.0) takes no settings"
    )
    assert len(problems) == 3
    # the app refuses exactly these sections
    from lamina import Lamina, SettingsError

    with pytest.raises(SettingsError) as info:
        Lamina(settings_file=str(bad), disable=["zabroken"])
    message = str(info.value)
    assert "'znedds'" in message and "takes no settings" in message and "debug" in message


def test_plugins_of_an_app_show_defaults_ok_and_not_loaded(schema_plugins, capsys):
    (schema_plugins / "zapp.py").write_text(
        "from lamina import Lamina\n"
        "app = Lamina(only=['zneeds', 'znone'], plugins=['routing'],\n"
        "             settings={'zneeds': {'token': 't'}})\n"
    )
    sys.modules.pop("zapp", None)
    try:
        assert main(["plugins", "--app", "zapp:app", "--json"]) == 0
    finally:
        sys.modules.pop("zapp", None)
    rows, _err = _rows(capsys)
    assert rows["zneeds"]["settings"] == "ok"
    assert rows["znone"]["settings"] == "none"
    assert rows["routing"]["settings"] == "defaults"  # named, no section, none required
    assert (rows["zabroken"]["enabled"], rows["zabroken"]["settings"]) == (False, "not loaded")
