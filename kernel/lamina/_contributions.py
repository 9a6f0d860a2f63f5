"""Calling hooks with attribution: who contributed what, and conflicts that name both.

pluggy's own hook call cannot tell an implementation who it is, nor tell the caller which
plugin returned what. The kernel therefore calls each implementation itself, in plugin order,
binding two per-plugin arguments: ``register`` (a callback that records the caller) and
``settings`` (that plugin's own validated settings). Plugins use the same two helpers for the
hooks they define (:func:`collect_contributions`, :func:`call_hook`), from their
``lamina_assemble`` hook: the one point of assembly where plugin-defined hooks run.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Generic, NamedTuple, TypeVar

import pluggy

from ._exceptions import AssemblyError, ConflictError
from ._plugins import ENV_DISABLE, describe_plugin

if TYPE_CHECKING:
    from ._app import Lamina

__all__ = [
    "APP",
    "Contribution",
    "attribute_error",
    "call_attributed",
    "call_hook",
    "collect_contributions",
    "implementations",
    "reject_duplicates",
]

T = TypeVar("T")
#: The contributor name of what the app itself declares (constructor, settings).
APP = "app"


class Contribution(NamedTuple, Generic[T]):
    """One contributed thing and the plugin that contributed it (``"app"`` for the app)."""

    value: T
    plugin: str


def implementations(pm: pluggy.PluginManager, hook_name: str) -> list[Any]:
    """A hook's implementations in plugin order: registration order (entry points sorted by
    name, then local plugins), ``tryfirst`` ones first and ``trylast`` ones last."""
    caller = getattr(pm.hook, hook_name, None)
    if caller is None:
        return []
    impls = [i for i in caller.get_hookimpls() if not (i.hookwrapper or i.wrapper)]
    impls.sort(key=lambda i: 0 if i.tryfirst else 2 if i.trylast else 1)
    return impls


def call_attributed(
    pm: pluggy.PluginManager, hook_name: str, make_kwargs: Callable[[str], dict[str, Any]]
) -> list[tuple[str, Any]]:
    """Call each implementation of ``hook_name`` with ``make_kwargs(plugin)`` (each takes
    the subset it names) and return ``(plugin, result)`` in plugin order. An exception gets a
    note naming the plugin and the hook."""
    results: list[tuple[str, Any]] = []
    for impl in implementations(pm, hook_name):
        kwargs = make_kwargs(impl.plugin_name)
        try:
            results.append((impl.plugin_name, impl.function(**_pick(impl, kwargs))))
        except Exception as exc:
            attribute_error(exc, impl.plugin_name, hook_name)
            raise
    return results


def _pick(impl: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
    return {name: kwargs[name] for name in impl.argnames}


def attribute_error(exc: BaseException, plugin: str, hook_name: str) -> None:
    """Say on an exception which plugin raised it in which hook (a PEP 678 note), keeping
    its type so callers and tests still see the original error."""
    if plugin in (APP, "") or isinstance(exc, ConflictError):
        # a conflict already names both contributors; the plugin that noticed it (the
        # router, for two routes on one path) is a bystander, not the one to disable
        return
    note = (
        f"raised by {describe_plugin(plugin)} in {hook_name}; fix the plugin or disable "
        f"it with {ENV_DISABLE}={plugin}"
    )
    if note not in getattr(exc, "__notes__", ()):
        exc.add_note(note)


def call_hook(
    app: Lamina,
    hook_name: str,
    /,
    *,
    bind: Callable[[str], Mapping[str, Any]] | None = None,
    **kwargs: Any,
) -> list[Contribution[Any]]:
    """Call every implementation of ``hook_name`` and return what each returned, attributed.

    Each implementation may take ``app``, ``settings`` (its own plugin's validated settings),
    any of ``kwargs``, and any of what ``bind(plugin)`` returns: arguments made for the
    plugin being called (an object that records who contributes, for instance). A hook that
    no loaded plugin defines returns ``[]``.
    """

    def kwargs_for(plugin: str) -> dict[str, Any]:
        bound = bind(plugin) if bind is not None else {}
        return {"app": app, "settings": app.settings_for(plugin), **kwargs, **bound}

    return [
        Contribution(result, plugin)
        for plugin, result in call_attributed(app.pm, hook_name, kwargs_for)
    ]


def collect_contributions(
    app: Lamina,
    hook_name: str,
    /,
    *,
    what: str,
    arity: int = 1,
    key: Callable[[Any], Hashable] | None = None,
    check: Callable[[Any], object] | None = None,
    initial: Iterable[Contribution[Any]] = (),
    usage: str | None = None,
    **kwargs: Any,
) -> list[Contribution[Any]]:
    """Collect what a ``register``-style hook contributes, each item with its plugin.

    Each implementation receives ``register`` bound to its plugin (plus ``app``,
    ``settings`` and ``kwargs``) and calls ``register(item)``, or
    ``register(key, item)`` when ``arity`` is 2 (the value is then the tuple). ``initial``
    contributions (the app's own, usually) come first. ``usage`` shows the right call in
    the error for a wrong one. ``check(value)`` raising
    ``TypeError`` or ``ValueError`` becomes an :class:`AssemblyError` naming the plugin (a
    :class:`ConflictError` stays one); two
    values with the same ``key(value)`` (by default the first element when ``arity`` is 2)
    raise a :class:`ConflictError` naming both contributors (see
    :func:`reject_duplicates`). ``what`` names the item in
    those messages ("auth backend", "converter").
    """
    if key is None and arity > 1:
        key = _first
    if usage is None:
        usage = "register(item)" if arity == 1 else "register(key, item)"
    found = list(initial)

    def kwargs_for(plugin: str) -> dict[str, Any]:
        def register(*item: Any) -> None:
            if len(item) != arity:
                raise AssemblyError(
                    f"{app.describe_plugin(plugin)} called register() in {hook_name} with "
                    f"{len(item)} argument(s); call {usage}"
                )
            value = item[0] if arity == 1 else item
            if check is not None:
                try:
                    check(value)
                except (TypeError, ValueError, ConflictError) as exc:
                    error = ConflictError if isinstance(exc, ConflictError) else AssemblyError
                    raise error(
                        f"{app.describe_plugin(plugin)} registered the {what} {item[0]!r}: {exc}"
                    ) from None
            found.append(Contribution(value, plugin))

        return {"app": app, "settings": app.settings_for(plugin), "register": register, **kwargs}

    call_attributed(app.pm, hook_name, kwargs_for)
    if key is not None:
        reject_duplicates(app, found, what=what, key=key)
    return found


def reject_duplicates(
    app: Lamina,
    contributions: Iterable[Contribution[T]],
    /,
    *,
    what: str,
    key: Callable[[T], Hashable],
) -> None:
    """Raise :class:`ConflictError` for the first two contributions with the same
    ``key(value)``, naming both contributors (the later one first)."""
    owners: dict[Hashable, str] = {}
    for value, plugin in contributions:
        name = key(value)
        owner = owners.get(name)
        if owner is not None:
            who = (
                f"{app.describe_plugin(plugin)} registers it twice"
                if owner == plugin
                else f"{app.describe_plugin(plugin)} and {app.describe_plugin(owner)} "
                "both register it"
            )
            raise ConflictError(f"{what} {name!r}: {who}; rename one, or disable one of them")
        owners[name] = plugin


def _first(value: tuple[Hashable, ...]) -> Hashable:
    return value[0]
