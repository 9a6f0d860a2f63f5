"""Plugin-defined hooks run at one documented point of assembly: ``lamina_assemble``.

A hook implementation that calls other plugins' hooks itself (``call_hook``,
``collect_contributions`` or ``pm.hook.<name>``) makes the order of assembly depend on which
plugin happens to call whom; the kernel's hookspecs say it must not. This reads the source
of every plugin package and of the kernel: inside any ``@hookimpl`` function other than
``lamina_assemble``, and inside the module-level functions of its package that it calls,
such a call fails the test with its file and line.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = sorted(p for p in ROOT.glob("plugins/*/lamina_*") if p.is_dir())
PACKAGES.append(ROOT / "kernel" / "lamina")
#: The one hook in which plugin-defined hooks may be called.
GATHERING_HOOK = "lamina_assemble"
HOOK_CALLERS = frozenset({"call_hook", "collect_contributions"})

Function = ast.FunctionDef | ast.AsyncFunctionDef


@dataclass
class Package:
    """A package's module-level functions by module, and what each module imports from its
    siblings, so a call to a helper is followed into the helper."""

    functions: dict[str, dict[str, Function]] = field(default_factory=dict)
    imported: dict[str, dict[str, tuple[str, str]]] = field(default_factory=dict)
    trees: dict[str, ast.Module] = field(default_factory=dict)

    @classmethod
    def read(cls, sources: dict[str, str]) -> Package:
        """``sources`` maps a module name within the package (``"_plugin"``) to its text."""
        package = cls()
        for module, text in sources.items():
            tree = ast.parse(text)
            package.trees[module] = tree
            package.functions[module] = {
                node.name: node for node in tree.body if isinstance(node, Function)
            }
            package.imported[module] = {
                alias.asname or alias.name: (node.module or "__init__", alias.name)
                for node in tree.body
                if isinstance(node, ast.ImportFrom) and node.level == 1
                for alias in node.names
            }
        return package

    def resolve(self, module: str, name: str) -> tuple[str, Function] | None:
        if name in self.functions.get(module, {}):
            return module, self.functions[module][name]
        target = self.imported.get(module, {}).get(name)
        if target is not None and target[1] in self.functions.get(target[0], {}):
            return target[0], self.functions[target[0]][target[1]]
        return None


def _is_hookimpl(function: Function) -> bool:
    for decorator in function.decorator_list:
        marker = decorator.func if isinstance(decorator, ast.Call) else decorator
        name = marker.attr if isinstance(marker, ast.Attribute) else getattr(marker, "id", "")
        if name == "hookimpl":
            return True
    return False


def _hook_calls(function: Function) -> Iterator[tuple[int, str]]:
    """``(line, what)`` for each direct hook call in ``function``."""
    for node in ast.walk(function):
        if isinstance(node, ast.Attribute) and node.attr == "hook":
            yield node.lineno, f"{ast.unparse(node)}.<hook>"
        elif isinstance(node, ast.Call):
            callee = node.func
            name = callee.attr if isinstance(callee, ast.Attribute) else getattr(callee, "id", "")
            if name in HOOK_CALLERS:
                yield node.lineno, f"{name}(...)"


def _called_names(function: Function) -> set[str]:
    return {
        node.func.id
        for node in ast.walk(function)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    }


def hook_calls_outside_assemble(package: Package) -> list[str]:
    """``module:line: hookimpl -> helper: what`` for every hook called where it must not be."""
    found = []
    for module, tree in package.trees.items():
        for hook in (n for n in ast.walk(tree) if isinstance(n, Function) and _is_hookimpl(n)):
            if hook.name == GATHERING_HOOK:
                continue
            pending: list[tuple[str, Function, str]] = [(module, hook, hook.name)]
            seen: set[tuple[str, str]] = set()
            while pending:
                where, function, path = pending.pop()
                if (where, function.name) in seen:
                    continue
                seen.add((where, function.name))
                for line, what in _hook_calls(function):
                    found.append(f"{where}:{line}: {path}: {what}")
                for name in sorted(_called_names(function)):
                    helper = package.resolve(where, name)
                    if helper is not None:
                        pending.append((*helper, f"{path} -> {name}"))
    return sorted(found)


def read_package(directory: Path) -> Package:
    sources = {
        ".".join(path.relative_to(directory).with_suffix("").parts): path.read_text("utf-8")
        for path in sorted(directory.rglob("*.py"))
    }
    return Package.read(sources)


@pytest.mark.parametrize("directory", PACKAGES, ids=lambda p: p.name)
def test_no_hookimpl_but_lamina_assemble_calls_a_hook(directory: Path):
    assert hook_calls_outside_assemble(read_package(directory)) == []


def test_the_packages_are_found():
    names = {p.name for p in PACKAGES}
    assert {"lamina", "lamina_routing", "lamina_openapi", "lamina_templates"} <= names


# How lamina-routing called lamina-openapi before the kernel had ``lamina_assembled``.
ROUTER_CALLS_A_HOOK = """
from lamina.plugin import call_hook

@hookimpl
def lamina_make_router(app, routes):
    router = AppRouter(routes)
    call_hook(app, "lamina_routing_router_compiled", router=router)
    return router
"""

HELPER_CALLS_A_HOOK = """
from ._collect import gather

@hookimpl(tryfirst=True)
def lamina_register_routes(app, register):
    for route in gather(app):
        register(route)
"""

HELPER = """
from lamina.plugin import collect_contributions

def gather(app):
    return [c.value for c in collect_contributions(app, "lamina_x_routes", what="route")]
"""

PLUGIN_MANAGER_IN_A_METHOD = """
class Plugin:
    @lamina.hookimpl
    def lamina_register_middleware(self, app, register):
        for layer in app.pm.hook.lamina_x_layers(app=app):
            register(layer)
"""

ALLOWED = """
from lamina.plugin import call_hook, collect_contributions

@hookimpl
def lamina_assemble(app):
    app.extensions["x"] = collect_contributions(app, "lamina_x_things", what="thing")
    call_hook(app, "lamina_x_ready")

@hookimpl
def lamina_register_routes(app, register):
    for thing in app.extensions["x"]:
        register(thing)
"""


@pytest.mark.parametrize(
    ("sources", "expected"),
    [
        pytest.param(
            {"__init__": ROUTER_CALLS_A_HOOK},
            ["__init__:7: lamina_make_router: call_hook(...)"],
            id="call_hook-in-make_router",
        ),
        pytest.param(
            {"__init__": HELPER_CALLS_A_HOOK, "_collect": HELPER},
            ["_collect:5: lamina_register_routes -> gather: collect_contributions(...)"],
            id="through-a-helper-in-another-module",
        ),
        pytest.param(
            {"__init__": PLUGIN_MANAGER_IN_A_METHOD},
            ["__init__:5: lamina_register_middleware: app.pm.hook.<hook>"],
            id="pm.hook-in-a-method",
        ),
        pytest.param({"__init__": ALLOWED}, [], id="lamina_assemble-may"),
    ],
)
def test_the_check_finds_a_hook_called_from_another_hook(
    sources: dict[str, str], expected: list[str]
):
    assert hook_calls_outside_assemble(Package.read(sources)) == expected
