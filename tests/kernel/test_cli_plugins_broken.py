"""The ``lamina`` command line with broken, disabled and settings-reading plugins, run as a
user runs it: a real subprocess (``python -m lamina`` / ``python -m lamina.cli``) with the
plugins installed as real distributions on its path (issue 12, bugs 1 and 2)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from tests.helpers.distributions import install_distribution

GOOD = """
import argparse
from dataclasses import dataclass
from lamina import hookimpl
from lamina.plugin import Command

@dataclass(frozen=True)
class Settings:
    greeting: str = "hello"

@hookimpl
def lamina_settings_schema():
    return Settings

@hookimpl
def lamina_register_commands(settings, register):
    def run(args: argparse.Namespace) -> int:
        print(f"{settings.greeting} from zgood")
        return 0
    register(Command("zgood-hello", "Say hello.", run))
"""

BROKEN_IMPORT = "import a_module_that_is_not_installed\n"

MISSPELT = """
from lamina import hookimpl

@hookimpl
def lamina_regster_routes(register):
    pass
"""

APP = """
from lamina import PlainTextResponse
from lamina.testing import make_app
from lamina_routing import Route

async def home(request):
    return PlainTextResponse("home")

app = make_app("routing", routes=[Route("/", home, name="home")])
"""


@pytest.fixture
def installed(tmp_path, monkeypatch):
    """Three distributions (one working with a command, one failing to import, one with a
    misspelt hook) and an app module; returns the environment for the subprocess."""
    sites = [
        install_distribution(
            monkeypatch,
            tmp_path,
            name=f"lamina-{name}",
            entry_points={name: f"lamina_{name}"},
            modules={f"lamina_{name}": source},
        )
        for name, source in (
            ("zgood", GOOD),
            ("zbroken", BROKEN_IMPORT),
            ("zmisspelt", MISSPELT),
        )
    ]
    (tmp_path / "myapp.py").write_text(textwrap.dedent(APP))
    env = dict(os.environ)
    for name in ("LAMINA_PLUGINS", "LAMINA_DISABLE_PLUGINS", "LAMINA_SETTINGS_FILE"):
        env.pop(name, None)
    env["PYTHONPATH"] = os.pathsep.join([*map(str, sites), str(tmp_path)])
    return tmp_path, env


def run(args, cwd, env, module="lamina"):
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=50,
    )


@pytest.mark.parametrize("module", ["lamina", "lamina.cli"])
def test_plugin_commands_run_under_python_dash_m(installed, module):
    """Bug 1: ``python -m lamina.cli`` imported cli.py twice and refused every plugin
    command; ``python -m lamina`` did not exist."""
    cwd, env = installed
    result = run(["zgood-hello"], cwd, env, module)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "hello from zgood\n"
    assert "register a lamina" not in result.stderr


def test_one_broken_plugin_costs_only_its_own_commands(installed):
    """Bug 2: a broken plugin removed every plugin subcommand (``invalid choice: 'routes'``);
    now the others run and every broken plugin is listed at once with its fix."""
    cwd, env = installed
    result = run(["routes", "myapp:app"], cwd, env)
    assert result.returncode == 0, result.stderr
    assert "home" in result.stdout
    assert "2 installed plugin(s) could not be loaded" in result.stderr
    assert "plugin 'zbroken' (lamina-zbroken 1.0.0): failed to import" in result.stderr
    assert "ModuleNotFoundError" in result.stderr
    assert "LAMINA_DISABLE_PLUGINS=zbroken" in result.stderr
    assert "plugin 'zmisspelt' (lamina-zmisspelt 1.0.0)" in result.stderr
    assert "lamina_regster_routes (did you mean 'lamina_register_routes'?)" in result.stderr
    assert "invalid choice" not in result.stderr
    assert run(["zgood-hello"], cwd, env).stdout == "hello from zgood\n"


def test_an_unknown_command_is_explained_never_a_bare_invalid_choice(installed):
    cwd, env = installed
    result = run(["zgood-helo"], cwd, env)
    assert result.returncode == 2
    assert "invalid choice" not in result.stderr
    assert "unknown command 'zgood-helo' (did you mean 'zgood-hello'?)" in result.stderr
    assert "may come from a plugin that failed to load" in result.stderr
    assert "plugin 'zbroken'" in result.stderr


def test_a_disabled_plugins_command_says_how_to_enable_it(installed):
    cwd, env = installed
    env = {**env, "LAMINA_DISABLE_PLUGINS": "zgood,zbroken,zmisspelt"}
    result = run(["zgood-hello"], cwd, env)
    assert result.returncode == 2
    assert "invalid choice" not in result.stderr
    assert (
        "command 'zgood-hello' comes from plugin 'zgood' (lamina-zgood 1.0.0), which is not "
        "enabled (disabled); remove 'zgood' from LAMINA_DISABLE_PLUGINS"
    ) in result.stderr
    assert "could not be loaded" not in result.stderr  # disabled ones are not "broken"
    allow = {**env, "LAMINA_DISABLE_PLUGINS": "", "LAMINA_PLUGINS": "routing"}
    result = run(["zgood-hello"], cwd, allow)
    assert "add 'zgood' to LAMINA_PLUGINS" in result.stderr


def test_commands_read_the_configured_settings(installed):
    cwd, env = installed
    (cwd / "lamina.toml").write_text('[zgood]\ngreeting = "ahoy"\n')
    assert run(["zgood-hello"], cwd, env).stdout == "ahoy from zgood\n"
    other = cwd / "other.toml"
    other.write_text('[zgood]\ngreeting = "hi"\n')
    env = {**env, "LAMINA_SETTINGS_FILE": str(other)}
    assert run(["zgood-hello"], cwd, env).stdout == "hi from zgood\n"


def test_invalid_settings_fail_only_that_plugins_commands(installed):
    cwd, env = installed
    (cwd / "lamina.toml").write_text("[zgood]\ngreting = 5\n")
    result = run(["routes", "myapp:app"], cwd, env)
    assert result.returncode == 0, result.stderr
    assert "its settings are invalid" in result.stderr
    assert "unknown setting 'greting'" in result.stderr
    assert "fix the [zgood] section" in result.stderr
    result = run(["zgood-hello"], cwd, env)
    assert result.returncode == 2 and "unknown command 'zgood-hello'" in result.stderr
