"""Every hook specification is typed and documented: when it runs, what it returns, an example.

Covers the kernel's ``lamina._hookspecs`` and every plugin-defined ``hookspecs.py`` under
``plugins/*/lamina_*/``: a new undocumented hook fails this test.
"""

from __future__ import annotations

import importlib
import inspect
import textwrap
import types
from pathlib import Path

import lamina._hookspecs
import pytest
from lamina._hookspecs import PROJECT
from lamina.testing import make_app

ROOT = Path(__file__).resolve().parents[2]
PLUGIN_SPEC_MODULES = sorted(
    f"{path.parent.name}.hookspecs" for path in ROOT.glob("plugins/*/lamina_*/hookspecs.py")
)
SPEC_MODULES = ["lamina._hookspecs", *PLUGIN_SPEC_MODULES]


def hookspecs_of(module: types.ModuleType) -> list[tuple[str, object]]:
    return [
        (name, obj)
        for name, obj in vars(module).items()
        if inspect.isfunction(obj) and hasattr(obj, f"{PROJECT}_spec")
    ]


def example_code(doc: str) -> str | None:
    """The indented block after ``Example::``, dedented; None when there is none."""
    if "Example::" not in doc:
        return None
    block = []
    for line in doc.split("Example::", 1)[1].split("\n")[1:]:
        if line.strip() and not line.startswith(" "):
            break
        block.append(line)
    code = textwrap.dedent("\n".join(block)).strip()
    return code or None


def problems_of(name: str, function: object) -> list[str]:
    problems = []
    doc = inspect.getdoc(function) or ""
    if not doc:
        return [f"{name}: no docstring"]
    summary = doc.splitlines()[0]
    if not summary.strip():
        problems.append(f"{name}: the docstring needs a one-line summary")
    for part in ("When:", "Returns:", "Example"):
        if part not in doc:
            problems.append(f"{name}: the docstring lacks {part!r}")
    if "Example" in doc:
        example = example_code(doc)
        if example is None:
            problems.append(f"{name}: the example must be a code block ('Example::')")
        else:
            if name not in example:
                problems.append(f"{name}: the example does not show the hook")
            try:
                compile(example, f"<example of {name}>", "exec")
            except SyntaxError as exc:
                problems.append(f"{name}: the example is not valid Python: {exc}")
    signature = inspect.signature(function)
    for param in signature.parameters.values():
        if param.annotation is inspect.Parameter.empty:
            problems.append(f"{name}: parameter {param.name!r} has no type annotation")
    if signature.return_annotation is inspect.Signature.empty:
        problems.append(f"{name}: no return annotation")
    return problems


def test_plugin_hookspec_modules_are_found():
    # lamina-templates defines hookspecs; if none were found the glob is broken
    assert any(m.startswith("lamina_templates") for m in PLUGIN_SPEC_MODULES)


@pytest.mark.parametrize("module_name", SPEC_MODULES)
def test_every_hookspec_is_typed_and_documented(module_name):
    module = importlib.import_module(module_name)
    specs = hookspecs_of(module)
    assert specs, f"{module_name} declares no hookspecs"
    problems = [p for name, fn in specs for p in problems_of(name, fn)]
    assert problems == []


def test_the_checker_catches_an_undocumented_hook():
    def lamina_bare(app):
        pass

    def lamina_half(app: object) -> None:
        """Does something.

        When: at assembly.
        """

    def lamina_prose(app: object) -> None:
        """Does something.

        When: at assembly.

        Returns: nothing.

        Example: call it.
        """

    def lamina_broken(app: object) -> None:
        """Does something.

        When: at assembly.

        Returns: nothing.

        Example::

            def lamina_broken(app) return 1
        """

    assert problems_of("lamina_prose", lamina_prose) == [
        "lamina_prose: the example must be a code block ('Example::')"
    ]
    assert problems_of("lamina_broken", lamina_broken)[0].startswith(
        "lamina_broken: the example is not valid Python"
    )
    assert problems_of("lamina_bare", lamina_bare) == ["lamina_bare: no docstring"]
    assert problems_of("lamina_half", lamina_half) == [
        "lamina_half: the docstring lacks 'Returns:'",
        "lamina_half: the docstring lacks 'Example'",
    ]


def test_every_kernel_hookspec_is_registered_and_none_is_async_firstresult():
    app = make_app()
    kernel = {name for name, _fn in hookspecs_of(lamina._hookspecs)}
    registered = {name for name in dir(app.pm.hook) if name.startswith("lamina_")}
    assert kernel <= registered
    for name in kernel:
        opts = getattr(app.pm.hook, name).spec.opts
        fn = getattr(lamina._hookspecs, name)
        assert not (opts.get("firstresult") and inspect.iscoroutinefunction(fn)), name


def test_hookspecs_cover_the_areas_the_kernel_promises():
    kernel = {name for name, _fn in hookspecs_of(lamina._hookspecs)}
    assert {
        "lamina_register_routes",
        "lamina_make_router",
        "lamina_register_middleware",
        "lamina_register_protocols",
        "lamina_register_exception_handlers",
        "lamina_settings_schema",
        "lamina_configure",
        "lamina_lifespan",
        "lamina_register_dependencies",
        "lamina_register_commands",
        "lamina_add_hookspecs",
        "lamina_assemble",
    } <= kernel


def test_the_hook_reference_lists_every_kernel_hook():
    reference = (ROOT / "docs" / "hooks.md").read_text(encoding="utf-8")
    missing = [
        name for name, _fn in hookspecs_of(lamina._hookspecs) if f"### `{name}(" not in reference
    ]
    assert missing == [], "regenerate: uv run python -m tests.helpers.hookdoc > docs/hooks.md"


def test_plugin_hookspecs_live_in_their_hookspecs_module():
    """A hookspec declared anywhere else would escape the documentation check above."""
    import pkgutil

    stray = []
    for init in sorted(ROOT.glob("plugins/*/lamina_*/__init__.py")):
        package = importlib.import_module(init.parent.name)
        modules = [package] + [
            importlib.import_module(info.name)
            for info in pkgutil.walk_packages(package.__path__, f"{package.__name__}.")
        ]
        for module in modules:
            for name, fn in hookspecs_of(module):
                if not fn.__module__.endswith(".hookspecs"):
                    stray.append(f"{fn.__module__}.{name}")
    assert stray == []


@pytest.mark.parametrize("module_name", PLUGIN_SPEC_MODULES)
def test_plugin_hooks_are_named_after_their_plugin(module_name):
    """``lamina_<plugin>_...`` can never collide with a kernel hook (``lamina_register_*``,
    ``lamina_configure``, ...) nor with another plugin's."""
    package = module_name.split(".")[0]
    prefix = f"{package}_"  # lamina_templates.hookspecs -> lamina_templates_
    specs = {name for name, _fn in hookspecs_of(importlib.import_module(module_name))}
    misnamed = sorted(name for name in specs if not name.startswith(prefix))
    assert misnamed == [], f"plugin hooks must be named {prefix}<verb...>"
