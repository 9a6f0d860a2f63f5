"""``lamina new-plugin`` and ``lamina check-plugin``: the plugin authors' path (issue 12).

The end-to-end test takes the path a third party takes: generate, install into a fresh
virtual environment next to the kernel and the workspace plugins (``uv venv`` + ``uv pip
install --offline`` from local paths), run the generated tests there, and check the three
listing commands and ``lamina check-plugin`` in that environment.
"""

from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from lamina import AssemblyError, ConflictError, PlainTextResponse
from lamina.cli import main
from lamina.testclient import TestClient
from lamina.testing import check_plugin, make_app, plugin
from lamina_routing import Route

from tests.helpers.distributions import install_distribution
from tests.helpers.thirdparty import run

ROOT = Path(__file__).resolve().parents[2]
FIRST_PARTY = sorted(
    p.name for p in (ROOT / "plugins").iterdir() if (p / "pyproject.toml").exists()
)


def generate(tmp_path: Path, name: str = "greeter") -> Path:
    assert main(["new-plugin", name, "--dir", str(tmp_path)]) == 0
    return tmp_path / f"lamina-{name}"


def test_the_generated_distribution_has_every_part(tmp_path, capsys):
    root = generate(tmp_path)
    assert "python -m pytest" in capsys.readouterr().out
    assert sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()) == [
        ".gitignore",
        "README.md",
        "lamina_greeter/__init__.py",
        "lamina_greeter/py.typed",
        "pyproject.toml",
        "tests/test_greeter.py",
    ]
    pyproject = (root / "pyproject.toml").read_text()
    assert '[project.entry-points.lamina]\ngreeter = "lamina_greeter"' in pyproject
    assert 'build-backend = "hatchling.build"' in pyproject
    assert '| `header` | str | `"x-greeter"` |' in (root / "README.md").read_text()


def test_new_plugin_refuses_bad_names_and_existing_directories(tmp_path, capsys):
    assert main(["new-plugin", "Bad-Name", "--dir", str(tmp_path)]) == 2
    assert "lower-case letters" in capsys.readouterr().err
    generate(tmp_path)
    assert main(["new-plugin", "greeter", "--dir", str(tmp_path)]) == 2
    assert "already exists" in capsys.readouterr().err


def test_generated_code_passes_its_tests_ruff_and_mypy_strict(tmp_path):
    """Right after generation, with one documented command, in this environment."""
    root = generate(tmp_path)
    out = run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], root)
    assert "3 passed" in out
    run([sys.executable, "-m", "ruff", "check", "--no-cache", "."], root)
    run([sys.executable, "-m", "ruff", "format", "--check", "--no-cache", "."], root)
    mypy = [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "lamina_greeter"]
    assert "Success" in run([*mypy, "tests"], root)


def test_check_plugin_passes_the_scaffold_from_its_source_tree(tmp_path, capsys):
    root = generate(tmp_path)
    assert main(["check-plugin", str(root)]) == 0
    assert capsys.readouterr().out.strip().endswith("conforms")


@pytest.mark.parametrize("name", FIRST_PARTY)
def test_every_first_party_plugin_conforms(name):
    report = check_plugin(f"lamina-{name}")
    assert report.ok, str(report)
    assert report.plugins == [name]


BAD = """
import typing
from dataclasses import dataclass
from lamina import hookimpl

@dataclass
class Settings:
    limit: int = "ten"
    loose: typing.Any = None

@hookimpl
def lamina_add_hookspecs(pluginmanager):
    from . import hookspecs

    pluginmanager.add_hookspecs(hookspecs)

@hookimpl
def lamina_settings_schema():
    return Settings

@hookimpl
def lamina_register_dependencies(register):
    register("nosuchplugin", "for testing")

@hookimpl
def lamina_regster_routes(register):
    pass
"""


SPECS = '''
from lamina import hookspec

@hookspec
def zbad_register_things(register):
    """Register things."""
'''


def test_check_plugin_of_a_misspelt_name_guesses(capsys):
    assert main(["check-plugin", "lamina-rotuing"]) == 1
    out = capsys.readouterr().out
    assert "no installed distribution or plugin is named 'lamina-rotuing' (did you mean " in out
    assert "'lamina-routing'?)" in out
    assert main(["check-plugin", "sesions"]) == 1
    assert "(did you mean 'sessions'?)" in capsys.readouterr().out


def test_check_plugin_lists_every_problem_at_once(tmp_path, monkeypatch, capsys):
    install_distribution(
        monkeypatch,
        tmp_path,
        name="lamina-zbad",
        entry_points={"zbad": "lamina_zbad"},
        modules={"lamina_zbad.__init__": BAD, "lamina_zbad.hookspecs": SPECS},
    )
    assert main(["check-plugin", "lamina-zbad"]) == 1
    out = capsys.readouterr().out
    for expected in (
        "ships no README",
        "[zbad] no py.typed",
        "implements lamina_regster_routes (did you mean 'lamina_register_routes'?)",
        "defines the hook 'zbad_register_things'; name it lamina_zbad_...",
        "'zbad_register_things' is not documented: its docstring lacks When:, Returns:, Example",
        "[zbad] default of 'limit': expected int, got str 'ten'",
        "[zbad] setting 'loose' has no precise type annotation",
        "needs the plugin 'nosuchplugin', which is not installed",
    ):
        assert expected in out, out
    assert main(["check-plugin", "lamina-nothing-here"]) == 1
    assert "no installed distribution or plugin is named" in capsys.readouterr().out


# ---------------------------------------------------------------- issue 12, bugs 3 to 5


async def ok(request):
    return PlainTextResponse("ok")


def test_routes_with_no_router_fail_at_startup_not_404():
    """Bug 3: ``make_app("requestid")`` then GET /_requestid/health was a silent 404."""
    app = make_app(plugin("requestid", register_routes=lambda register: register(Route("/_h", ok))))
    expected = r"plugin 'requestid' .* contributed routes, but no"
    with pytest.raises(AssemblyError, match=expected), TestClient(app):
        pass


def test_a_route_conflict_names_both_plugins_and_not_the_router():
    """Bug 4: the error said ``raised by plugin 'routing' ... LAMINA_DISABLE_PLUGINS=routing``."""
    a = plugin("alpha", register_routes=lambda register: register(Route("/x", ok)))
    b = plugin("beta", register_routes=lambda register: register(Route("/x", ok)))
    with pytest.raises(ConflictError) as info, TestClient(make_app("routing", a, b)):
        pass
    text = str(info.value) + "".join(getattr(info.value, "__notes__", ()))
    assert "plugin 'alpha'" in text and "plugin 'beta'" in text
    assert "LAMINA_DISABLE_PLUGINS=routing" not in text
    assert "raised by plugin 'routing'" not in text


def test_auth_without_sessions_fails_at_startup():
    """Bug 5: auth assembled with sessions disabled, then every request was a 500."""
    app = make_app("routing", "auth", routes=[Route("/", ok)])
    expected = r"plugin 'auth' .* needs plugin 'sessions'"
    with pytest.raises(AssemblyError, match=expected), TestClient(app):
        pass


# ---------------------------------------------------------------- the third party's path


@pytest.fixture(scope="module")
def third_party(fresh_env):
    """``lamina new-plugin greeter`` run by the fresh venv's ``lamina``, then installed
    there (editable) next to the kernel and the workspace plugins; and an app using it."""
    base = fresh_env.base / "scaffold"
    base.mkdir()
    env = fresh_env.env
    run([fresh_env.lamina, "new-plugin", "greeter", "--dir", str(base)], base, env)
    root = base / "lamina-greeter"
    run([*fresh_env.install, "-e", str(root)], base)
    (base / "app.py").write_text(
        "from lamina import Lamina, PlainTextResponse\nfrom lamina_routing import Route\n"
        "async def home(request):\n    return PlainTextResponse('home')\n"
        "app = Lamina([Route('/', home)], only=['routing', 'greeter'])\n"
    )
    return SimpleNamespace(
        base=base, root=root, python=fresh_env.python, lamina=fresh_env.lamina, env=env
    )


def test_third_party_generated_tests_pass_in_a_fresh_environment(third_party):
    t = third_party
    out = run([str(t.python), "-m", "pytest", "-q", "-p", "no:cacheprovider"], t.root, t.env)
    assert "3 passed" in out


def test_third_party_plugin_shows_in_the_three_listings(third_party):
    t = third_party
    plugins = run([t.lamina, "plugins"], t.base, t.env)
    assert "greeter  [lamina-greeter 0.1.0]  enabled" in plugins
    routes = run([t.lamina, "routes", "app:app"], t.base, t.env)
    assert "/_greeter/health" in routes and "greeter-health" in routes
    onion = run([t.lamina, "middleware", "app:app"], t.base, t.env)
    assert "GreeterMiddleware  phase=outermost priority=500 plugin=greeter" in onion


def test_third_party_command_and_conformance(third_party):
    t = third_party
    assert run([t.lamina, "greeter-show"], t.base, t.env) == "x-greeter: on\n"
    out = run([t.lamina, "check-plugin", "lamina-greeter"], t.base, t.env)
    assert out.strip() == "lamina-greeter (plugins: greeter): conforms"
