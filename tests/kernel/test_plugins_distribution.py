"""The path a real third-party plugin takes: an installed distribution with an entry point.

A throw-away ``lamina-zgreeter`` distribution is written to disk (``.dist-info`` with
``METADATA`` and ``entry_points.txt``, plus its module) and put on ``sys.path``; the kernel
discovers it, ``lamina plugins`` lists it, its CLI command runs and its hooks serve requests.
"""

from __future__ import annotations

import json

import pytest
from lamina import Lamina
from lamina.cli import main
from lamina.testclient import TestClient

from tests.helpers.distributions import install_distribution

GREETER = """
from contextlib import asynccontextmanager
from dataclasses import dataclass

from lamina import PlainTextResponse, hookimpl
from lamina.cli import Command

EVENTS = []


@dataclass(frozen=True)
class Settings:
    greeting: str = "Hello"


@hookimpl
def lamina_settings_schema():
    return Settings


@hookimpl
def lamina_make_router(settings, routes):
    greeting = settings.greeting

    async def router(scope, receive, send):
        await PlainTextResponse(f"{greeting} from zgreeter")(scope, receive, send)

    return router


@hookimpl
def lamina_lifespan():
    @asynccontextmanager
    async def greeter(app):
        EVENTS.append("startup")
        yield {"greeter_ready": True}
        EVENTS.append("shutdown")

    return greeter


def greet(args):
    print(f"greetings, {args.who}")
    return 3


@hookimpl
def lamina_register_commands(register):
    register(Command("greet", "Greet someone.", greet,
                     lambda parser: parser.add_argument("who")))
"""


@pytest.fixture
def greeter(monkeypatch, tmp_path):
    install_distribution(
        monkeypatch,
        tmp_path,
        name="lamina-zgreeter",
        version="0.4.2",
        entry_points={"zgreeter": "lamina_zgreeter"},
        modules={"lamina_zgreeter": GREETER},
    )
    # only the fake plugin, so the other installed plugins cannot interfere
    monkeypatch.setenv("LAMINA_PLUGINS", "zgreeter")
    import lamina_zgreeter

    return lamina_zgreeter


def test_the_kernel_discovers_the_distribution_and_runs_its_hooks(greeter):
    app = Lamina(settings={"zgreeter": {"greeting": "Howdy"}})
    info = next(i for i in app.plugin_infos if i.name == "zgreeter")
    assert (info.distribution, info.version, info.enabled) == ("lamina-zgreeter", "0.4.2", True)
    assert info.settings == "ok"
    with TestClient(app) as client:
        assert client.get("/").text == "Howdy from zgreeter"
        assert greeter.EVENTS == ["startup"]
    assert greeter.EVENTS == ["startup", "shutdown"]


def test_lamina_plugins_lists_it(greeter, capsys):
    assert main(["plugins", "--json"]) == 0
    rows = {row["name"]: row for row in json.loads(capsys.readouterr().out)}
    row = rows["zgreeter"]
    assert row["distribution"] == "lamina-zgreeter"
    assert row["version"] == "0.4.2"
    assert row["enabled"] is True
    assert row["settings"] == "defaults"
    assert row["hooks"] == sorted(
        [
            "lamina_lifespan",
            "lamina_make_router",
            "lamina_register_commands",
            "lamina_settings_schema",
        ]
    )
    assert rows["routing"]["enabled"] is False  # outside the allow-list
    assert rows["routing"]["reason"] == "not in the allow-list"

    assert main(["plugins"]) == 0
    text = capsys.readouterr().out
    assert "zgreeter  [lamina-zgreeter 0.4.2]  enabled  settings: defaults" in text


def test_lamina_plugins_checks_the_settings_file(greeter, tmp_path, capsys):
    good = tmp_path / "good.toml"
    good.write_text('[zgreeter]\ngreeting = "Hi"\n')
    bad = tmp_path / "bad.toml"
    bad.write_text("[zgreeter]\ngreeting = 5\nshout = true\n")
    assert main(["plugins", "--json", "--settings-file", str(good)]) == 0
    row = next(r for r in json.loads(capsys.readouterr().out) if r["name"] == "zgreeter")
    assert (row["settings"], row["settings_errors"]) == ("ok", [])
    assert main(["plugins", "--json", "--settings-file", str(bad)]) == 0
    row = next(r for r in json.loads(capsys.readouterr().out) if r["name"] == "zgreeter")
    assert row["settings"] == "invalid"
    assert row["settings_errors"] == [
        "[zgreeter] (lamina-zgreeter 0.4.2) unknown setting 'shout' (known settings: greeting)",
        "[zgreeter] (lamina-zgreeter 0.4.2) greeting: expected str, got int 5",
    ]
    assert main(["plugins", "--settings-file", str(bad)]) == 0
    assert "    settings: [zgreeter]" in capsys.readouterr().out


def test_its_cli_command_runs(greeter, capsys):
    assert main(["greet", "world"]) == 3
    assert capsys.readouterr().out == "greetings, world\n"
