"""Plugin discovery and selection: entry points sorted by name, one PluginManager per app.

Environment variables (each also a constructor argument of :class:`lamina.Lamina`):

``LAMINA_DISABLE_PLUGIN_AUTOLOAD=1``
    do not load entry points; only the plugins passed to the app run.
``LAMINA_PLUGINS=a,b``
    allow-list: load only these entry points.
``LAMINA_DISABLE_PLUGINS=a,b``
    block-list: never load these entry points.

Precedence: constructor arguments replace the environment for ``autoload`` and ``only``;
the block-lists of both are merged. A plugin named in ``Lamina(plugins=["name"])`` loads even
with autoload off or outside the allow-list, but a blocked plugin never loads.
"""

from __future__ import annotations

import importlib.metadata as md
import inspect
import os
import types
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pluggy

from . import _hookspecs as hookspecs
from ._exceptions import ConflictError, PluginLoadError, PluginSelectionWarning
from ._hookcheck import unknown_hooks
from ._suggest import SHORT_NAMES, did_you_mean

ENTRY_POINT_GROUP = "lamina"
ENV_AUTOLOAD_OFF = "LAMINA_DISABLE_PLUGIN_AUTOLOAD"
ENV_ONLY = "LAMINA_PLUGINS"
ENV_DISABLE = "LAMINA_DISABLE_PLUGINS"

__all__ = [
    "ENTRY_POINT_GROUP",
    "ENV_AUTOLOAD_OFF",
    "ENV_DISABLE",
    "ENV_ONLY",
    "NOT_LOADED",
    "PluginInfo",
    "Selection",
    "check_pending",
    "check_sync",
    "describe_plugin",
    "entry_points",
    "inspect_installed",
    "load_plugins",
    "make_plugin_manager",
    "resolve_selection",
    "selection_warnings",
    "settings_file_problems",
    "settings_status",
]


@dataclass
class PluginInfo:
    """What the kernel knows about one plugin, shown by ``lamina plugins``."""

    name: str
    distribution: str | None = None
    version: str | None = None
    source: str = "entry-point"  # or "local"
    enabled: bool = True
    reason: str = ""
    hooks: list[str] = field(default_factory=list)
    #: ``none`` (the plugin takes no settings), ``defaults`` (no section given, none needed),
    #: ``ok`` (a section was given and is valid), ``missing`` (no section given, but the
    #: plugin requires settings), ``invalid`` (see ``settings_errors``), or ``not loaded``
    #: (the plugin is disabled or failed to import, so its schema is unknown).
    settings: str = "none"
    settings_errors: list[str] = field(default_factory=list)
    error: str = ""

    def describe(self) -> str:
        dist = f"{self.distribution} {self.version}" if self.distribution else "a local plugin"
        return f"plugin {self.name!r} ({dist})"

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape of ``lamina plugins --json``."""
        return {
            "name": self.name,
            "distribution": self.distribution,
            "version": self.version,
            "source": self.source,
            "enabled": self.enabled,
            "reason": self.reason,
            "hooks": list(self.hooks),
            "settings": self.settings,
            "settings_errors": list(self.settings_errors),
            "error": self.error,
        }


def _env_list(name: str) -> list[str] | None:
    raw = os.environ.get(name)
    if raw is None:
        return None
    return [part.strip() for part in raw.split(",") if part.strip()]


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def entry_points() -> list[md.EntryPoint]:
    """Every ``lamina`` entry point, sorted by name so load order never depends on the disk."""
    return sorted(md.entry_points(group=ENTRY_POINT_GROUP), key=lambda ep: ep.name)


def _local_name(plugin: object) -> str:
    name = getattr(plugin, "lamina_plugin_name", None) or getattr(plugin, "name", None)
    if isinstance(name, str):
        return name
    if isinstance(plugin, types.ModuleType):
        return plugin.__name__.rpartition(".")[2].removeprefix("lamina_")
    cls = plugin if inspect.isclass(plugin) else type(plugin)
    return cls.__name__


def make_plugin_manager() -> pluggy.PluginManager:
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    return pm


@dataclass
class Selection:
    autoload: bool
    only: list[str] | None
    disable: list[str]


def resolve_selection(
    autoload: bool | None, only: Iterable[str] | None, disable: Iterable[str] | None
) -> Selection:
    """Constructor arguments win over environment variables; lists are merged for disable."""
    env_disable = _env_list(ENV_DISABLE) or []
    return Selection(
        autoload=(not _env_flag(ENV_AUTOLOAD_OFF)) if autoload is None else autoload,
        only=list(only) if only is not None else _env_list(ENV_ONLY),
        disable=sorted({*env_disable, *(disable or ())}),
    )


def load_plugins(
    pm: pluggy.PluginManager, selection: Selection, local: Sequence[Any]
) -> list[PluginInfo]:
    """Register entry-point plugins (sorted by name) then local ones; return what was seen."""
    infos: list[PluginInfo] = []
    requested = [p for p in local if isinstance(p, str)]
    objects = [p for p in local if not isinstance(p, str)]
    eps = {ep.name: ep for ep in entry_points()}
    for name in requested:
        if name not in eps:
            known = ", ".join(sorted(eps)) or "none installed"
            raise PluginLoadError(
                f"plugin {name!r} was requested but no distribution provides the entry point "
                f"{name!r}{did_you_mean(name, eps, SHORT_NAMES)} in group {ENTRY_POINT_GROUP!r} "
                f"(installed: {known}); install "
                f"'lamina-{name}' or fix the name"
            )
    for message in selection_warnings(selection, eps, {_local_name(o) for o in objects}):
        warnings.warn(PluginSelectionWarning(message), stacklevel=3)
    for name, ep in eps.items():
        dist = ep.dist.name if ep.dist else None
        version = ep.dist.version if ep.dist else None
        info = PluginInfo(name=name, distribution=dist, version=version)
        infos.append(info)
        # Naming a plugin in the constructor beats autoload-off and the allow-list; the
        # block-list beats everything, so operators can switch a plugin off by environment.
        if name in selection.disable:
            reason = "disabled"
        elif name in requested:
            reason = ""
        else:
            reason = _disabled_reason(name, selection)
        if reason:
            info.enabled, info.reason, info.settings = False, reason, NOT_LOADED
            continue
        try:
            obj = ep.load()
        except Exception as exc:
            raise PluginLoadError(
                f"{info.describe()} failed to import from {ep.value!r}: "
                f"{type(exc).__name__}: {exc}. Fix the plugin, or disable it with "
                f"{ENV_DISABLE}={name} or Lamina(disable=[{name!r}])"
            ) from exc
        _register(pm, obj, info)
    for obj in objects:
        info = PluginInfo(name=_local_name(obj), source="local")
        if inspect.isclass(obj):
            obj = obj()
        infos.append(info)
        _register(pm, obj, info)
    return infos


def selection_warnings(
    selection: Selection, installed: Iterable[str], local: Iterable[str] = ()
) -> list[str]:
    """What the allow-list and block-list name that no installed (or local) plugin is called.

    A warning, not an error: the lists filter what is installed (one environment may serve
    images with different plugins), but a typo must not pass unseen, so each message lists
    the installed plugins and the closest name."""
    names = sorted(installed)
    known = {*names, *local}
    lists = (
        (f"allow-list (Lamina(only=...) or {ENV_ONLY})", "enables", selection.only or ()),
        (f"block-list (Lamina(disable=...) or {ENV_DISABLE})", "disables", selection.disable),
    )
    messages = []
    for which, verb, listed in lists:
        absent = sorted(set(listed) - known)
        if absent:
            typed = ", ".join(repr(n) + did_you_mean(n, names, SHORT_NAMES) for n in absent)
            messages.append(
                f"the plugin {which} names {typed}, which no installed plugin is called, so "
                f"it {verb} nothing (installed: {', '.join(names) or 'none'})"
            )
    return messages


def _register(pm: pluggy.PluginManager, obj: Any, info: PluginInfo) -> None:
    existing = pm.get_plugin(info.name)
    if existing is not None or pm.is_registered(obj):
        raise ConflictError(
            f"{info.describe()} is registered twice (a plugin named {info.name!r} is already "
            f"loaded); give the local plugin another name or disable one of them"
        )
    try:
        pm.register(obj, name=info.name)
    except pluggy.PluginValidationError as exc:
        raise PluginLoadError(
            f"{info.describe()} has an invalid hook implementation: {exc}"
        ) from exc
    info.hooks = _hook_names(pm, obj)


def _hook_names(pm: pluggy.PluginManager, obj: Any) -> list[str]:
    """Names of the hooks ``obj`` implements (known or still pending)."""
    names = {caller.name for caller in pm.get_hookcallers(obj) or ()}
    return sorted(names)


def _disabled_reason(name: str, selection: Selection) -> str:
    if name in selection.disable:
        return "disabled"
    if selection.only is not None and name not in selection.only:
        return "not in the allow-list"
    if not selection.autoload:
        return "autoload is off"
    return ""


def describe_plugin(name: str) -> str:
    """``plugin 'x' (lamina-x 1.0)`` for an installed entry point, or a local plugin."""
    for ep in entry_points():
        if ep.name == name and ep.dist is not None:
            return PluginInfo(name, ep.dist.name, ep.dist.version).describe()
    return PluginInfo(name).describe()


def inspect_installed(sections: dict[str, Any] | None = None) -> list[PluginInfo]:
    """Every installed entry-point plugin, whether the environment would enable it, its hooks
    and its settings status against ``sections`` (the settings file's tables): ``none`` (no
    schema), ``defaults`` (no section, and none is required), ``ok``, or ``invalid`` with
    ``settings_errors``. A plugin that fails to import is reported, not raised."""
    from ._settings import validate_section

    sections = sections or {}
    selection = resolve_selection(None, None, None)
    pm = make_plugin_manager()
    infos: list[PluginInfo] = []
    for ep in entry_points():
        info = PluginInfo(
            name=ep.name,
            distribution=ep.dist.name if ep.dist else None,
            version=ep.dist.version if ep.dist else None,
        )
        infos.append(info)
        reason = _disabled_reason(ep.name, selection)
        if reason:
            info.enabled, info.reason = False, reason
        try:
            obj = ep.load()
            pm.register(obj, name=ep.name)
        except Exception as exc:
            info.error = f"{type(exc).__name__}: {exc}"
            info.enabled, info.reason, info.settings = False, "failed to load", NOT_LOADED
            continue
        info.hooks = _hook_names(pm, obj)
        if "lamina_settings_schema" in info.hooks:
            _settings_status(pm, info, sections, validate_section)
    return infos


def _settings_status(
    pm: pluggy.PluginManager,
    info: PluginInfo,
    sections: dict[str, Any],
    validate: Callable[..., Any],
) -> None:
    errors: list[str] = []
    # only this plugin's schema: another plugin's broken hook must not be blamed on it
    impls = [
        i for i in pm.hook.lamina_settings_schema.get_hookimpls() if i.plugin_name == info.name
    ]
    try:
        schema = impls[0].function() if impls else None
    except Exception as exc:
        info.settings, info.settings_errors = "invalid", [f"{type(exc).__name__}: {exc}"]
        return
    if schema is None:
        return
    validate(
        info.name,
        schema,
        sections.get(info.name, {}),
        errors,
        f"{info.distribution} {info.version}",
    )
    info.settings = settings_status(info.name in sections, errors)
    info.settings_errors = errors


#: The settings status of a plugin that was not imported (disabled, or broken).
NOT_LOADED = "not loaded"


def settings_status(has_section: bool, errors: list[str]) -> str:
    """``ok`` / ``defaults`` when valid; ``missing`` when the only problem is that required
    settings were never given; ``invalid`` otherwise."""
    if not errors:
        return "ok" if has_section else "defaults"
    if not has_section and all("required setting is missing" in e for e in errors):
        return "missing"
    return "invalid"


def settings_file_problems(sections: dict[str, Any], infos: list[PluginInfo]) -> list[str]:
    """What an app would refuse in the settings file beyond each plugin's own section: the
    kernel's ``[lamina]`` section, sections that name no installed plugin, and sections for
    plugins that take no settings."""
    from ._settings import KERNEL_SECTION, KernelSettings, unknown_section, validate_section

    problems: list[str] = []
    if KERNEL_SECTION in sections:
        validate_section(KERNEL_SECTION, KernelSettings, sections[KERNEL_SECTION], problems)
    by_name = {i.name: i for i in infos}
    for name in sections:
        if name == KERNEL_SECTION:
            continue
        info = by_name.get(name)
        if info is None:
            problems.append(unknown_section(name, by_name))
        elif info.settings == "none":
            problems.append(f"[{name}] {info.describe()} takes no settings")
    return problems


def check_sync(pm: pluggy.PluginManager, infos: list[PluginInfo]) -> None:
    """Every kernel hook is called at assembly (or by the CLI): an ``async def``
    implementation would return an un-awaited coroutine and contribute nothing, and a
    pluggy wrapper would never run. Refuse both loudly."""
    by_name = {i.name: i for i in infos}
    for name in dir(hookspecs):
        if not name.startswith("lamina_"):
            continue
        caller = getattr(pm.hook, name, None)
        for impl in caller.get_hookimpls() if caller is not None else ():
            info = by_name.get(impl.plugin_name, PluginInfo(name=impl.plugin_name))
            if impl.hookwrapper or impl.wrapper:
                raise PluginLoadError(
                    f"{info.describe()} implements {name} as a pluggy wrapper; the kernel "
                    "calls each implementation itself to know who contributed what, so "
                    "wrappers would never run. Use tryfirst=True / trylast=True to order it"
                )
            if inspect.iscoroutinefunction(inspect.unwrap(impl.function)):
                raise PluginLoadError(
                    f"{info.describe()} implements {name} with 'async def'; it is called at "
                    "assembly and must be a plain function (for async startup and shutdown "
                    "work, return an async context manager factory from lamina_lifespan)"
                )


def check_pending(pm: pluggy.PluginManager, infos: list[PluginInfo]) -> None:
    """Turn an unknown hook (a typo, or a hook of a plugin not installed) into an error."""
    by_name = {i.name: i for i in infos}
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        plugin_name = pm.get_name(exc.plugin) or "?"
        info = by_name.get(plugin_name, PluginInfo(name=plugin_name))
        raise PluginLoadError(
            f"{info.describe()} implements an unknown hook: "
            f"{', '.join(unknown_hooks(pm)) or exc}. Check the spelling against the hook "
            f"reference (docs/hooks.md), or install the plugin that declares it"
        ) from exc
