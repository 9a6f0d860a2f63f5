"""Is an installed distribution a well-formed Lamina plugin? (``lamina check-plugin DIST``)

The checks are what a third party would otherwise learn from a user's bug report: the entry
point imports; every hook implementation matches a known hookspec (the kernel's, the
plugin's own, or a declared dependency's); hooks the plugin defines are named
``lamina_<plugin>_...`` and documented (When / Returns / Example); the settings schema is a
typed dataclass whose defaults validate; ``py.typed`` and a README ship; the plugins it
declares it needs are installed.
"""

from __future__ import annotations

import dataclasses
import importlib.metadata as md
import inspect
import os
import sys
import tomllib
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pluggy

from . import _plugins as loading
from ._commands import load_dependency_hookspecs, requirement_name
from ._hookcheck import unknown_hooks
from ._suggest import SHORT_NAMES, did_you_mean

__all__ = ["PluginReport", "assert_plugin_conforms", "check_plugin"]

_DOC_PARTS = ("When:", "Returns:", "Example")


@dataclass
class PluginReport:
    """The result of checking one distribution: ``problems`` is empty when it conforms."""

    distribution: str
    plugins: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def __str__(self) -> str:
        head = f"{self.distribution} (plugins: {', '.join(self.plugins) or 'none'})"
        if self.ok:
            return f"{head}: conforms"
        return head + ":\n" + "\n".join(f"  - {p}" for p in self.problems)


def _distribution(name: str) -> md.Distribution | None:
    """``name`` as a distribution, or the distribution providing the plugin ``name``."""
    try:
        return md.distribution(name)
    except md.PackageNotFoundError:
        pass
    for ep in loading.entry_points():
        if ep.name == name and ep.dist is not None:
            return ep.dist
    return None


def check_plugin(target: str | os.PathLike[str]) -> PluginReport:
    """Check an installed distribution (or the one providing plugin ``target``), or a
    project directory holding a ``pyproject.toml`` (installed or not), and return every
    problem found."""
    if isinstance(target, os.PathLike) or (Path(target) / "pyproject.toml").is_file():
        return _check_project(Path(target))
    report = PluginReport(target)
    dist = _distribution(target)
    if dist is None:
        eps = loading.entry_points()
        known = [ep.name for ep in eps] + [ep.dist.name for ep in eps if ep.dist is not None]
        guess = did_you_mean(target, known, SHORT_NAMES)
        report.problems.append(
            f"no installed distribution or plugin is named {target!r}{guess}; install it "
            f"(pip install -e PATH / uv pip install -e PATH) into this environment, or "
            f"pass the project's directory"
        )
        return report
    report.distribution = dist.name
    eps = [ep for ep in dist.entry_points if ep.group == loading.ENTRY_POINT_GROUP]
    body = (dist.read_text("METADATA") or "").partition("\n\n")[2]
    has_readme = bool(dist.metadata.get_all("Description") or body.strip())
    _check_distribution(report, eps, has_readme, list(dist.requires or ()))
    return report


def _check_project(root: Path) -> PluginReport:
    """The same checks from a source tree: ``pyproject.toml`` stands for the metadata."""
    report = PluginReport(str(root))
    try:
        with (root / "pyproject.toml").open("rb") as fh:
            project = tomllib.load(fh).get("project", {})
    except (OSError, tomllib.TOMLDecodeError) as exc:
        report.problems.append(f"cannot read {root / 'pyproject.toml'}: {exc}")
        return report
    report.distribution = str(project.get("name", root.name))
    group = project.get("entry-points", {}).get(loading.ENTRY_POINT_GROUP, {})
    eps = [md.EntryPoint(n, v, loading.ENTRY_POINT_GROUP) for n, v in sorted(group.items())]
    readme = project.get("readme")
    has_readme = isinstance(readme, str) and (root / readme).is_file()
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))  # so the entry point imports from this checkout
    _check_distribution(report, eps, has_readme, list(project.get("dependencies", ())))
    return report


def _check_distribution(
    report: PluginReport, eps: list[md.EntryPoint], has_readme: bool, requires: list[str]
) -> None:
    if not eps:
        report.problems.append(
            f"declares no entry point in group {loading.ENTRY_POINT_GROUP!r}; add "
            f'[project.entry-points.lamina] NAME = "lamina_NAME" to pyproject.toml'
        )
    if not has_readme:
        report.problems.append('ships no README: add README.md and readme = "README.md"')
    for ep in eps:
        report.plugins.append(ep.name)
        _check_entry_point(ep, requires, report.problems)
    _check_required_distributions(requires, report.problems)


def assert_plugin_conforms(target: str | os.PathLike[str]) -> None:
    """The pytest helper: fail with every problem listed when the plugin does not conform
    (``target`` as for :func:`check_plugin`)."""
    report = check_plugin(target)
    assert report.ok, str(report)


def _check_entry_point(ep: md.EntryPoint, requires: list[str], problems: list[str]) -> None:
    name = ep.name
    try:
        obj = ep.load()
    except Exception as exc:
        problems.append(f"[{name}] entry point {ep.value!r} fails to import: {exc!r}")
        return
    module = inspect.getmodule(obj)
    file = getattr(module, "__file__", None)
    if file is not None and not (Path(file).parent / "py.typed").is_file():
        problems.append(f"[{name}] no py.typed next to {Path(file).name}: add an empty py.typed")
    pm = loading.make_plugin_manager()
    kernel_hooks = _specified(pm)
    try:
        pm.register(obj, name=name)
    except pluggy.PluginValidationError as exc:
        problems.append(f"[{name}] a hook implementation does not match its hookspec: {exc}")
        return
    try:
        pm.hook.lamina_add_hookspecs.call_historic(kwargs={"pluginmanager": pm})
        own_hooks = _specified(pm) - kernel_hooks
        load_dependency_hookspecs(pm, name, requires)
    except Exception as exc:
        problems.append(f"[{name}] adding hookspecs failed: {exc}")
        return
    for hook in unknown_hooks(pm):
        problems.append(
            f"[{name}] implements {hook}, which no hookspec of the kernel, of this plugin or "
            f"of a plugin it depends on declares"
        )
    for hook in sorted(own_hooks):
        _check_own_hook(name, hook, pm.hook, problems)
    _check_kernel_impls(name, pm, problems)
    settings = _check_settings(name, pm, problems)
    _check_dependencies(name, pm, settings, problems)


def _specified(pm: pluggy.PluginManager) -> set[str]:
    return {h for h, caller in vars(pm.hook).items() if caller.has_spec()}


def _check_own_hook(plugin: str, hook: str, relay: Any, problems: list[str]) -> None:
    prefix = f"lamina_{plugin.replace('-', '_')}_"
    if not hook.startswith(prefix):
        problems.append(
            f"[{plugin}] defines the hook {hook!r}; name it {prefix}... so it cannot collide "
            f"with a kernel hook or another plugin's"
        )
    spec = getattr(relay, hook).spec
    doc = inspect.getdoc(spec.function) if spec is not None else None
    missing = [part for part in _DOC_PARTS if part not in (doc or "")]
    if missing:
        problems.append(
            f"[{plugin}] the hook {hook!r} is not documented: its docstring lacks "
            f"{', '.join(missing)} (say when it is called, what it returns, and show an example)"
        )


def _check_kernel_impls(plugin: str, pm: pluggy.PluginManager, problems: list[str]) -> None:
    for caller in vars(pm.hook).values():
        if not isinstance(caller, pluggy.HookCaller):
            continue
        for impl in caller.get_hookimpls():
            if impl.hookwrapper or impl.wrapper:
                problems.append(f"[{plugin}] {caller.name} is a pluggy wrapper; it never runs")
            elif caller.name.startswith("lamina_") and inspect.iscoroutinefunction(
                inspect.unwrap(impl.function)
            ):
                problems.append(
                    f"[{plugin}] {caller.name} is 'async def'; hooks run at assembly and "
                    "must be plain functions (use lamina_lifespan for async work)"
                )


def _check_settings(plugin: str, pm: pluggy.PluginManager, problems: list[str]) -> Any:
    """The schema is a dataclass, every field typed, every default valid; returns the
    default settings (``None`` without a schema or when some setting is required)."""
    from ._settings import Secret, _coerce

    impls = pm.hook.lamina_settings_schema.get_hookimpls()
    if not impls:
        return None
    try:
        schema = impls[0].function()
    except Exception as exc:
        problems.append(f"[{plugin}] lamina_settings_schema raised {exc!r}")
        return None
    if schema is None:
        return None
    if not (isinstance(schema, type) and dataclasses.is_dataclass(schema)):
        problems.append(f"[{plugin}] lamina_settings_schema returned {schema!r}, not a dataclass")
        return None
    try:
        hints = typing.get_type_hints(schema)
    except Exception as exc:
        problems.append(f"[{plugin}] the type hints of {schema.__qualname__} do not resolve: {exc}")
        return None
    complete = True
    for f in dataclasses.fields(schema):
        tp = hints.get(f.name)
        if tp is None or tp is typing.Any:
            problems.append(f"[{plugin}] setting {f.name!r} has no precise type annotation")
            continue
        if f.default is not dataclasses.MISSING:
            default = f.default
        elif f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()
        else:
            complete = False
            continue
        if isinstance(default, Secret) or (
            dataclasses.is_dataclass(tp) and isinstance(default, tp)  # type: ignore[arg-type]  # tp is a dataclass type here
        ):
            continue
        errors: list[str] = []
        _coerce(default, tp, f"[{plugin}] default of {f.name!r}", errors)
        problems.extend(errors)
    if not complete:
        return None
    try:
        return schema()
    except Exception as exc:
        problems.append(f"[{plugin}] the default settings do not construct: {exc!r}")
        return None


def _check_dependencies(
    plugin: str, pm: pluggy.PluginManager, settings: Any, problems: list[str]
) -> None:
    installed = {ep.name for ep in loading.entry_points()}
    needed: list[str] = []
    for impl in pm.hook.lamina_register_dependencies.get_hookimpls():
        kwargs = {"register": lambda name, why: needed.append(name), "settings": settings}
        if "app" in impl.argnames:
            continue  # depends on a live app: checked when one assembles
        try:
            impl.function(**{n: kwargs[n] for n in impl.argnames})
        except Exception as exc:
            problems.append(f"[{plugin}] lamina_register_dependencies raised {exc!r}")
    for name in needed:
        if name not in installed:
            problems.append(
                f"[{plugin}] needs the plugin {name!r}, which is not installed: add "
                f"lamina-{name} to its dependencies"
            )


def _check_required_distributions(requires: list[str], problems: list[str]) -> None:
    for requirement in requires:
        if "extra ==" in requirement:
            continue
        name = requirement_name(requirement)
        if not name.startswith("lamina"):
            continue
        try:
            md.distribution(name)
        except md.PackageNotFoundError:
            problems.append(f"requires {name}, which is not installed")
