"""The architecture, checked by a machine: import-linter contracts and the declared API.

The contracts live in ``pyproject.toml`` (derived by ``tests/helpers/importcontracts.py``);
``uv run lint-imports`` checks them in ``.ci/run`` and here. A scratch copy of the tree with a
deliberately wrong import shows that each kind of contract really fails.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import lamina
import lamina.plugin
import pytest

from tests.helpers import importcontracts

ROOT = importcontracts.ROOT
LINT_IMPORTS = str(Path(sys.executable).with_name("lint-imports"))
PLUGIN_SOURCES = sorted(ROOT.glob("plugins/*/lamina_*/**/*.py"))
#: Names that hold kernel objects in plugin code; none of their underscore attributes may be
#: touched (a heuristic, but the one that caught ``app._info``).
KERNEL_OBJECT_NAMES = frozenset(
    {"app", "request", "connection", "websocket", "response", "scope", "pm", "state", "router"}
)


def lint_imports(
    config: Path, *, pythonpath: Path | None = None
) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)  # ahead of the editable installs
    return subprocess.run(
        [LINT_IMPORTS, "--no-cache", str(config)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )


def test_the_contracts_in_pyproject_match_the_tree():
    """A new kernel module, a new plugin or a new plugin dependency needs the contracts
    regenerated (``uv run python -m tests.helpers.importcontracts``)."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert config["tool"]["importlinter"] == importcontracts.config()
    layered = {
        f"lamina.{name.strip()}"
        for layer in importcontracts.KERNEL_LAYERS
        for name in layer.split("|")
    }
    unlisted = set(importcontracts.kernel_modules()) - layered
    assert unlisted == set(), "add each kernel module to KERNEL_LAYERS"


def test_the_contracts_hold():
    result = lint_imports(ROOT / "pyproject.toml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The kernel and every plugin package copied side by side, with the contracts."""
    root = tmp_path_factory.mktemp("scratch")
    shutil.copytree(ROOT / "kernel" / "lamina", root / "lamina")
    for package in ROOT.glob("plugins/*/lamina_*"):
        if package.is_dir():
            shutil.copytree(package, root / package.name)
    shutil.copy(ROOT / "pyproject.toml", root / "pyproject.toml")
    return root


WRONG_IMPORTS = [
    pytest.param(
        "lamina_cors/_plugin.py",
        "from lamina._app import Lamina as _Private\n",
        "Plugins import the kernel only through lamina and lamina.plugin",
        id="plugin-imports-a-private-kernel-module",
    ),
    pytest.param(
        "lamina/_responses.py",
        "import lamina_routing\n",
        "The kernel never imports a plugin",
        id="kernel-imports-a-plugin",
    ),
    pytest.param(
        "lamina/_datastructures.py",
        "from lamina import _app\n",
        "Kernel modules form layers without cycles",
        id="kernel-layer-imports-upwards",
    ),
    pytest.param(
        "lamina_routing/_routes.py",
        "import lamina_websocket\n",
        "lamina_routing imports only the plugins its pyproject.toml depends on",
        id="plugin-imports-an-undeclared-plugin",
    ),
]


@pytest.mark.parametrize(("module", "line", "contract"), WRONG_IMPORTS)
def test_a_wrong_import_breaks_its_contract(scratch: Path, module: str, line: str, contract: str):
    path = scratch / module
    original = path.read_text(encoding="utf-8")
    path.write_text(line + original, encoding="utf-8")
    try:
        result = lint_imports(scratch / "pyproject.toml", pythonpath=scratch)
    finally:
        path.write_text(original, encoding="utf-8")
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"{contract} BROKEN" in result.stdout
    assert module.split("/")[0] in result.stdout  # the report names the offending import


def test_the_scratch_copy_is_clean_without_the_wrong_import(scratch: Path):
    """So the failures above come from the injected line, not from the copy."""
    result = lint_imports(scratch / "pyproject.toml", pythonpath=scratch)
    assert result.returncode == 0, result.stdout + result.stderr


def _kernel_imports(tree: ast.Module) -> list[tuple[str, str, int]]:
    """``(module, name, line)`` for every ``from lamina... import name``."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "lamina" or node.module.startswith("lamina."):
                found += [(node.module, alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.Import):
            found += [
                (alias.name, "", node.lineno)
                for alias in node.names
                if alias.name == "lamina" or alias.name.startswith("lamina.")
            ]
    return found


def test_plugins_import_only_declared_kernel_names():
    declared = {"lamina": set(lamina.__all__), "lamina.plugin": set(lamina.plugin.__all__)}
    wrong = []
    for source in PLUGIN_SOURCES:
        tree = ast.parse(source.read_text(encoding="utf-8"))
        for module, name, line in _kernel_imports(tree):
            if name not in declared.get(module, set()):
                wrong.append(f"{source.relative_to(ROOT)}:{line}: {module} {name}")
    assert wrong == []


def test_plugins_touch_no_underscore_attribute_of_a_kernel_object():
    wrong = []
    for source in PLUGIN_SOURCES:
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Attribute) or not node.attr.startswith("_"):
                continue
            if node.attr.startswith("__"):
                continue
            owner = node.value
            name = owner.attr if isinstance(owner, ast.Attribute) else getattr(owner, "id", "")
            if name in KERNEL_OBJECT_NAMES:
                wrong.append(f"{source.relative_to(ROOT)}:{node.lineno}: {name}.{node.attr}")
    assert wrong == []


@pytest.mark.parametrize("module", importcontracts.kernel_modules())
def test_every_kernel_module_declares_its_names(module: str):
    imported = __import__(module, fromlist=["__all__"])
    assert isinstance(getattr(imported, "__all__", None), list), f"{module} has no __all__"
    for name in imported.__all__:
        assert hasattr(imported, name), f"{module}.__all__ names {name!r}, which it lacks"


def test_every_kernel_hook_has_a_first_party_implementation():
    """Hooks are trimmed to what is used: a kernel hook no first-party plugin implements
    would be a special case in the kernel that nothing exercises."""
    import importlib
    import inspect

    import lamina._hookspecs as hookspecs

    kernel_hooks = {
        name
        for name, fn in vars(hookspecs).items()
        if inspect.isfunction(fn) and getattr(fn, "lamina_spec", None) is not None
    }
    implemented: dict[str, set[str]] = {}
    for package in importcontracts.plugins():
        module = importlib.import_module(package)
        for name in dir(module):
            if getattr(getattr(module, name), "lamina_impl", None) is not None:
                implemented.setdefault(name, set()).add(package)
    assert len(kernel_hooks) >= 12
    assert {"lamina_startup", "lamina_shutdown"}.isdisjoint(kernel_hooks)
    assert kernel_hooks - set(implemented) == set()
