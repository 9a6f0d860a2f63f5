"""What the ``lamina`` CLI can offer when some installed plugins are broken or disabled.

One plugin that fails to import, misspells a hook or raises while registering must not take
every other plugin's subcommands with it. Each plugin is loaded on its own: the ones that
work contribute their commands; the broken ones are listed together, each with its fix; a
disabled plugin's commands are known by name, so running one says how to enable it instead
of argparse's bare ``invalid choice``.
"""

from __future__ import annotations

import importlib.metadata as md
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pluggy

from . import _plugins as loading
from ._command import Command
from ._hookcheck import unknown_hooks

__all__ = [
    "Broken",
    "CommandSet",
    "gather_commands",
    "load_dependency_hookspecs",
    "requirement_name",
    "unknown_hooks",
]


@dataclass(frozen=True)
class Broken:
    """An enabled plugin the CLI could not use: what went wrong and how to fix it."""

    plugin: str
    description: str
    problem: str
    fix: str

    def __str__(self) -> str:
        return f"{self.description}: {self.problem}; {self.fix}"


@dataclass
class CommandSet:
    #: ``(plugin, command)`` for every command that can run, built-ins first.
    commands: list[tuple[str, Command]] = field(default_factory=list)
    #: command name -> why it cannot run here (its plugin is disabled or its settings are bad).
    unavailable: dict[str, str] = field(default_factory=dict)
    broken: list[Broken] = field(default_factory=list)


def _disable_fix(name: str) -> str:
    return (
        f"fix or upgrade it, or disable it with {loading.ENV_DISABLE}={name} "
        f"(its commands are unavailable meanwhile)"
    )


def _enable_fix(name: str, reason: str) -> str:
    if reason == "disabled":
        return f"remove {name!r} from {loading.ENV_DISABLE}"
    if reason == "not in the allow-list":
        return f"add {name!r} to {loading.ENV_ONLY}"
    return f"unset {loading.ENV_AUTOLOAD_OFF} or add {name!r} to {loading.ENV_ONLY}"


def gather_commands(
    builtin: tuple[Command, ...], settings_sections: Callable[[], dict[str, Any]]
) -> CommandSet:
    """Built-ins, then each working enabled entry-point plugin's commands.

    ``settings_sections()`` reads the settings file; it is called only if some plugin's
    command hook asks for its ``settings``."""
    result = CommandSet(commands=[("lamina", c) for c in builtin])
    owners = {c.name: "lamina" for c in builtin}
    selection = loading.resolve_selection(None, None, None)
    for ep in loading.entry_points():
        info = loading.PluginInfo(
            ep.name, ep.dist.name if ep.dist else None, ep.dist.version if ep.dist else None
        )
        reason = loading._disabled_reason(ep.name, selection)
        found, problem = _commands_of(ep, info, settings_sections if not reason else None)
        if reason:
            for cmd in found:
                result.unavailable.setdefault(
                    cmd.name,
                    f"command {cmd.name!r} comes from {info.describe()}, which is not enabled "
                    f"({reason}); {_enable_fix(ep.name, reason)}",
                )
            continue
        if problem is not None:
            result.broken.append(problem)
            continue
        for cmd in found:
            if cmd.name in owners:
                other = owners[cmd.name]
                who = (
                    "the lamina CLI itself" if other == "lamina" else loading.describe_plugin(other)
                )
                result.broken.append(
                    Broken(
                        ep.name,
                        info.describe(),
                        f"registers the command {cmd.name!r}, which {who} already provides",
                        f"rename the command, or disable one with {loading.ENV_DISABLE}",
                    )
                )
                continue
            owners[cmd.name] = ep.name
            result.commands.append((ep.name, cmd))
    return result


def _commands_of(
    ep: md.EntryPoint,
    info: loading.PluginInfo,
    settings_sections: Callable[[], dict[str, Any]] | None,
) -> tuple[list[Command], Broken | None]:
    """The commands one plugin registers, in a plugin manager of its own (so its mistakes
    stay its own). ``settings_sections`` is ``None`` for a disabled plugin: its commands are
    only named, and settings problems do not matter."""

    def broken(problem: str, fix: str | None = None) -> tuple[list[Command], Broken]:
        return [], Broken(ep.name, info.describe(), problem, fix or _disable_fix(ep.name))

    pm = loading.make_plugin_manager()
    try:
        obj = ep.load()
    except Exception as exc:
        return broken(f"failed to import {ep.value!r}: {type(exc).__name__}: {exc}")
    try:
        pm.register(obj, name=ep.name)
        pm.hook.lamina_add_hookspecs.call_historic(kwargs={"pluginmanager": pm})
    except Exception as exc:
        return broken(f"invalid hook implementation: {exc}")
    try:
        load_dependency_hookspecs(pm, ep.name, list(ep.dist.requires or ()) if ep.dist else [])
    except Exception as exc:
        return broken(f"a hook implementation does not match its hookspec: {exc}")
    unknown = unknown_hooks(pm)
    if unknown:
        return broken(
            "implements unknown hooks: " + ", ".join(unknown),
            f"check the spelling against the hook reference (docs/hooks.md); "
            f"{_disable_fix(ep.name)}",
        )
    found: list[Any] = []
    for impl in pm.hook.lamina_register_commands.get_hookimpls():
        kwargs: dict[str, Any] = {"register": found.append}
        if "settings" in impl.argnames:
            if settings_sections is None:
                kwargs["settings"] = None
            else:
                settings, errors = _settings_of(pm, ep.name, info, settings_sections)
                if errors:
                    return broken(
                        "its settings are invalid: " + "; ".join(errors),
                        f"fix the [{ep.name}] section of the settings file "
                        f"(lamina.toml, or the file $LAMINA_SETTINGS_FILE names)",
                    )
                kwargs["settings"] = settings
        try:
            impl.function(**{n: kwargs[n] for n in impl.argnames})
        except Exception as exc:
            if settings_sections is None:  # disabled: its commands just go unnamed
                return [], None
            return broken(f"lamina_register_commands raised {type(exc).__name__}: {exc}")
    for cmd in found:
        if not isinstance(cmd, Command):
            return broken(
                f"registered {cmd!r}; register a lamina.plugin.Command",
                "build the command with lamina.plugin.Command(name, help, run, add_arguments)",
            )
    return found, None


def _settings_of(
    pm: pluggy.PluginManager,
    name: str,
    info: loading.PluginInfo,
    settings_sections: Callable[[], dict[str, Any]],
) -> tuple[Any, list[str]]:
    from ._exceptions import SettingsError
    from ._settings import validate_section

    impls = pm.hook.lamina_settings_schema.get_hookimpls()
    schema: Any = impls[0].function() if impls else None
    if schema is None:
        return None, []
    try:
        sections = settings_sections()
    except SettingsError as exc:
        return None, list(exc.errors)
    errors: list[str] = []
    origin = f"{info.distribution} {info.version}" if info.distribution else ""
    settings = validate_section(name, schema, sections.get(name, {}), errors, origin)
    return settings, errors


def load_dependency_hookspecs(pm: pluggy.PluginManager, name: str, requires: list[str]) -> None:
    """Add the hookspecs of the plugins this distribution requires (their hooks are
    known to it)."""
    required = {requirement_name(r) for r in requires}
    for ep in loading.entry_points():
        if ep.name == name or ep.dist is None or _norm(ep.dist.name) not in required:
            continue
        try:
            dependency = ep.load()
        except Exception:  # reported when that plugin is checked itself
            continue
        add = getattr(dependency, "lamina_add_hookspecs", None)
        if add is not None:
            add(pluginmanager=pm)


def requirement_name(requirement: str) -> str:
    """The normalised distribution name of a requirement string (``lamina-x>=1; ...``)."""
    return _norm(re.split(r"[\s;<>=!~\[(@]", requirement.strip(), maxsplit=1)[0])


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()
