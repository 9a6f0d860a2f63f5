"""The repository every plugin lives in: one distribution per plugin, all in the workspace.

A new plugin directory that is missing from the root's dev group (so a fresh clone would not
install it), lacks its entry point, ``py.typed`` or README fails here, as does a README whose
set-up commands drift from what ``.ci/run`` runs.
"""

from __future__ import annotations

import importlib.metadata as md
import re
import tomllib
from pathlib import Path

import pytest
from lamina.cli import build_parser, collect_commands

ROOT = Path(__file__).resolve().parents[2]
PLUGIN_DIRS = sorted(p.parent for p in ROOT.glob("plugins/*/pyproject.toml"))
ROOT_PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def requirement_name(requirement: str) -> str:
    return re.split(r"[\s<>=!~\[;]", requirement, maxsplit=1)[0]


def test_the_root_is_the_kernel_distribution_and_a_uv_workspace():
    project = ROOT_PROJECT["project"]
    assert project["name"] == "lamina"
    assert project["requires-python"] == ">=3.11"
    assert ROOT_PROJECT["build-system"]["build-backend"] == "hatchling.build"
    assert ROOT_PROJECT["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"] == [
        "kernel/lamina"
    ]
    assert ROOT_PROJECT["tool"]["uv"]["workspace"]["members"] == ["plugins/*"]
    assert project["scripts"]["lamina"] == "lamina.cli:main"
    assert project["entry-points"]["pytest11"] == {"lamina": "lamina.pytest_plugin"}
    assert (ROOT / "kernel" / "lamina" / "py.typed").is_file()


def test_there_are_plugins():
    assert len(PLUGIN_DIRS) >= 11


@pytest.mark.parametrize("directory", PLUGIN_DIRS, ids=lambda p: p.name)
def test_each_plugin_is_its_own_distribution_in_the_dev_group(directory: Path):
    name = directory.name
    data = tomllib.loads((directory / "pyproject.toml").read_text(encoding="utf-8"))
    project = data["project"]
    assert project["name"] == f"lamina-{name}"
    assert project["entry-points"]["lamina"] == {name: f"lamina_{name}"}
    assert "lamina" in {requirement_name(r) for r in project["dependencies"]}
    package = directory / f"lamina_{name}"
    assert (package / "__init__.py").is_file()
    assert (package / "py.typed").is_file()
    readme = directory / "README.md"
    assert project["readme"] == "README.md"
    assert readme.read_text(encoding="utf-8").strip()

    dev = {requirement_name(r) for r in ROOT_PROJECT["dependency-groups"]["dev"]}
    assert f"lamina-{name}" in dev, "a fresh clone's `uv run pytest` would not install it"
    assert ROOT_PROJECT["tool"]["uv"]["sources"][f"lamina-{name}"] == {"workspace": True}
    # and it is installed in this environment, with its entry point
    dist = md.distribution(f"lamina-{name}")
    assert [(ep.name, ep.value) for ep in dist.entry_points if ep.group == "lamina"] == [
        (name, f"lamina_{name}")
    ]


def test_gitignore_keeps_locks_environments_and_caches_out():
    ignored = set((ROOT / ".gitignore").read_text(encoding="utf-8").split())
    assert {"uv.lock", ".venv/", "__pycache__/", ".pytest_cache/", ".ruff_cache/"} <= ignored


#: The checks CI runs beside the tests; the README names each one.
CHECKS = ["uv run ruff check .", "uv run ruff format --check .", "uv run mypy"]


def test_readme_commands_are_what_ci_runs_and_serve_on_localhost_8000():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    commands = re.findall(r"^(uv run [^#\n]*?)\s*(?:#.*)?$", readme, flags=re.M)
    assert commands[:2] == ["uv run lamina serve examples.demo.app:app", "uv run pytest"]
    checks = commands[2:]
    assert set(CHECKS) <= set(checks)
    if "importlinter" in ROOT_PROJECT["tool"]:
        assert "uv run lint-imports" in checks, "the import contracts must run in CI"
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    # exactly the README's test command, then exactly the checks it names
    assert [line for line in ci if line.startswith("uv run")] == ["uv run pytest", *checks]
    assert "pip install --quiet uv" in "\n".join(ci)
    args = build_parser(collect_commands()).parse_args(["serve", "examples.demo.app:app"])
    assert (args.host, args.port, args.reload) == ("127.0.0.1", 8000, False)
    assert (ROOT / "examples" / "demo" / "app.py").is_file()


def test_mypy_checks_the_kernel_and_every_plugin_strictly():
    mypy = ROOT_PROJECT["tool"]["mypy"]
    assert mypy["strict"] is True
    checked = {path for pattern in mypy["files"] for path in ROOT.glob(pattern)}
    assert ROOT / "kernel" / "lamina" in checked
    for directory in PLUGIN_DIRS:
        assert directory / f"lamina_{directory.name}" in checked
    dev = {requirement_name(r) for r in ROOT_PROJECT["dependency-groups"]["dev"]}
    assert {"mypy", "import-linter", "ruff"} <= dev


def test_every_type_ignore_names_its_error_code_and_a_reason():
    """A silenced check says which one and why (``# type: ignore[code]  # why``); mypy's
    strict mode already fails an ignore that is no longer needed."""
    pattern = re.compile(r"type:\s*ignore(?!\[[a-z, -]+\]\s+#\s*\S)")
    sources = [*ROOT.glob("kernel/lamina/**/*.py"), *ROOT.glob("plugins/*/lamina_*/**/*.py")]
    assert sources
    bad = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in sources
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if pattern.search(line)
    ]
    assert bad == []
    mypy = ROOT_PROJECT["tool"]["mypy"]
    # no blanket silencing: missing stubs are ignored per module, in overrides
    assert not {"ignore_missing_imports", "ignore_errors", "disable_error_code"} & set(mypy)
