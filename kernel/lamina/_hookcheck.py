"""Which implemented hooks no hookspec declares (a typo, or a plugin that is not installed)."""

from __future__ import annotations

import pluggy

from ._suggest import did_you_mean

__all__ = ["unknown_hooks"]


def unknown_hooks(pm: pluggy.PluginManager) -> list[str]:
    """``name (did you mean ...)`` for each implemented hook that no hookspec declares."""
    known = [name for name in vars(pm.hook) if getattr(pm.hook, name).has_spec()]
    unknown = []
    for name, caller in sorted(vars(pm.hook).items()):
        if not isinstance(caller, pluggy.HookCaller) or caller.has_spec():
            continue
        if any(not impl.optionalhook for impl in caller.get_hookimpls()):
            unknown.append(name + did_you_mean(name, known))
    return unknown
