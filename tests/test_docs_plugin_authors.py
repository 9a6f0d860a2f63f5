"""``docs/plugin-authors.md`` as a third party follows it, and every sample in it, run.

* The files (fenced with ``title="path"``) are written where the tutorial says, over what
  ``lamina new-plugin`` generated; the console sessions run, command by command, in a fresh
  virtual environment with Lamina installed (``fresh_env``), each expected line checked.
* The Python samples run as written, with the tutorial's plugin installed as a
  distribution (its entry point found like a pip-installed one's).
* The request-id plugin is at most 30 non-blank lines, and its project is ruff- and
  ``mypy --strict``-clean; the ``pyproject.toml`` shown is what ``lamina new-plugin``
  writes; what the tutorial says about uv and editable installs holds for this uv.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import sys
from pathlib import Path

import pytest
from lamina.cli import main

from tests.helpers.distributions import install_distribution
from tests.helpers.thirdparty import FreshEnv, run

DOC = Path(__file__).parents[1] / "docs" / "plugin-authors.md"
TEXT = DOC.read_text(encoding="utf-8")
#: ``(path, content)`` of every block fenced with ``title="path"``, in order.
FILES = [
    (title, body)
    for _lang, title, body in re.findall(r'```(\w+) title="([^"]+)"\n(.*?)```', TEXT, re.S)
]
CONSOLES = re.findall(r"```console\n(.*?)```", TEXT, re.S)
SAMPLES = re.findall(r"```python\n(.*?)```", TEXT, re.S)  # untitled ones only
PLUGIN = dict(FILES)["lamina-requestid/lamina_requestid/__init__.py"]


def non_blank_lines(source: str) -> int:
    """What ``grep -cv '^\\s*$'`` counts."""
    return sum(1 for line in source.splitlines() if line.strip())


def test_the_request_id_plugin_is_at_most_30_non_blank_lines() -> None:
    count = non_blank_lines(PLUGIN)
    assert count <= 30
    assert f"({count} non-blank\nlines" in TEXT or f"({count} non-blank lines" in TEXT


def test_the_pyproject_shown_is_the_one_new_plugin_writes(tmp_path: Path) -> None:
    assert main(["new-plugin", "requestid", "--dir", str(tmp_path)]) == 0
    (shown,) = re.findall(r"```toml\n(\[project\]\nname = \"lamina-requestid\".*?)```", TEXT, re.S)
    root = tmp_path / "lamina-requestid"
    assert (root / "pyproject.toml").read_text(encoding="utf-8") == shown
    layout = TEXT[TEXT.index("```\nlamina-requestid/") :].split("```", 2)[1]
    for path in root.rglob("*"):
        if path.is_file() and path.name != ".gitignore":
            assert path.name in layout, path


# ------------------------------------------------------------------ the console sessions
def _command(line: str, fresh: FreshEnv) -> list[str]:
    """A command as the tutorial writes it, run in the fresh environment."""
    argv = shlex.split(line)
    if argv[0] == "lamina":
        return [fresh.lamina, *argv[1:]]
    if argv[0] == "python":
        return [str(fresh.python), *argv[1:]]
    if argv[:3] == ["uv", "pip", "install"]:
        return [*fresh.install, *argv[3:]]
    raise AssertionError(f"the tutorial runs a command this test does not know: {line}")


def _normal(line: str) -> str:
    return " ".join(line.split())


def _check_output(command: str, output: str, expected: list[str]) -> None:
    """Every expected line (``...`` stands for any lines) starts an output line, in order."""
    lines = [_normal(line) for line in output.splitlines()]
    position = 0
    for want in (_normal(e) for e in expected if e.strip() != "..."):
        while position < len(lines) and not lines[position].startswith(want):
            position += 1
        assert position < len(lines), f"$ {command}: no line {want!r} in:\n{output}"
        position += 1


def _run_session(session: str, cwd: Path, fresh: FreshEnv) -> Path:
    steps: list[tuple[str, list[str]]] = []
    for line in session.splitlines():
        if line.startswith("$ "):
            steps.append((line[2:], []))
        else:
            steps[-1][1].append(line)
    for command, expected in steps:
        if command.startswith("cd "):
            cwd = (cwd / command[3:]).resolve()
            continue
        _check_output(command, run(_command(command, fresh), cwd, fresh.env), expected)
    return cwd


@pytest.fixture(scope="module")
def tutorial(fresh_env: FreshEnv) -> Path:
    base = fresh_env.base / "tutorial"
    base.mkdir()
    return base


def test_the_tutorial_runs_as_written_in_a_fresh_environment(
    tutorial: Path, fresh_env: FreshEnv
) -> None:
    first, second = CONSOLES
    project = _run_session(first, tutorial, fresh_env)  # new-plugin, its own tests pass
    assert project == tutorial / "lamina-requestid"
    for title, body in FILES:
        (tutorial / title).write_text(body, encoding="utf-8")
    _run_session(second, project, fresh_env)  # tests, install, plugins/routes/middleware...


def test_the_tutorial_project_is_lint_and_type_clean(tmp_path: Path) -> None:
    assert main(["new-plugin", "requestid", "--dir", str(tmp_path)]) == 0
    for title, body in FILES:
        (tmp_path / title).write_text(body, encoding="utf-8")
    project = tmp_path / "lamina-requestid"
    run([sys.executable, "-m", "ruff", "check", "--no-cache", "."], project)
    run([sys.executable, "-m", "ruff", "format", "--check", "--no-cache", "."], project)
    mypy = [sys.executable, "-m", "mypy", "--strict", "--no-incremental"]
    assert "Success" in run([*mypy, "lamina_requestid", "tests"], project)


# ------------------------------------------------------------------ the Python samples
@pytest.fixture
def requestid_installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    install_distribution(
        monkeypatch,
        tmp_path,
        name="lamina-requestid",
        version="0.1.0",
        entry_points={"requestid": "lamina_requestid"},
        modules={"lamina_requestid": PLUGIN},
    )


def test_there_are_samples() -> None:
    assert len(SAMPLES) >= 6 and len(CONSOLES) == 2


@pytest.mark.parametrize("source", SAMPLES, ids=[f"sample-{n}" for n in range(len(SAMPLES))])
def test_sample_runs(source: str, requestid_installed: None) -> None:
    exec(compile(source, str(DOC), "exec", dont_inherit=True), {"__name__": "docs_sample"})


# ------------------------------------------------------------------ the uv advice
def test_what_the_tutorial_says_about_uv_and_editable_installs_holds(tmp_path: Path) -> None:
    """``uv sync`` removes an editable install the lock does not know; ``uv sync
    --inexact`` and ``uv run`` keep it; a path source added with ``uv add --editable`` stays.
    Checked with a dependency-free plugin (the machine is offline)."""
    uv = shutil.which("uv")
    assert uv
    plugin = tmp_path / "lamina-demo"
    (plugin / "lamina_demo").mkdir(parents=True)
    (plugin / "lamina_demo" / "__init__.py").write_text("")
    (plugin / "pyproject.toml").write_text(
        '[project]\nname = "lamina-demo"\nversion = "0.1.0"\n'
        '[project.entry-points.lamina]\ndemo = "lamina_demo"\n'
        '[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n'
    )
    project = tmp_path / "app"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        '[project]\nname = "app"\nversion = "0.1.0"\nrequires-python = ">=3.11"\n'
        "dependencies = []\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}

    def uv_run(*args: str) -> str:
        return run([uv, *args, "--offline"], project, env)

    def installed() -> bool:
        return "lamina-demo" in uv_run("pip", "list")

    uv_run("sync")
    uv_run("pip", "install", "--no-deps", "-e", str(plugin))
    assert installed()
    uv_run("sync", "--inexact")
    assert installed()
    uv_run("run", "python", "-c", "pass")
    assert installed()
    uv_run("sync")
    assert not installed()  # what the tutorial warns about
    uv_run("add", "--editable", str(plugin))
    uv_run("sync")
    assert installed()
    assert "editable = true" in (project / "pyproject.toml").read_text()
