"""Lamina glue: the ``[background]`` section, the lifespan-owned runner, the marking layer."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, Final

from lamina import Lamina, Middleware, hookimpl

from ._middleware import BackgroundMiddleware
from ._runner import TaskRunner

__all__ = [
    "BackgroundSettings",
    "lamina_configure",
    "lamina_lifespan",
    "lamina_register_middleware",
    "lamina_settings_schema",
]

#: Outermost, after the guards (priority 10 and 20): every layer inside it, and every
#: response any of them sends, sees the spawner; a request a guard rejects never carries
#: background work, so it need not be marked.
PHASE: Final = "outermost"
PRIORITY = 100


@dataclass(frozen=True)
class BackgroundSettings:
    """The ``[background]`` section."""

    #: Seconds shutdown waits for outstanding tasks before cancelling them.
    grace_period: float = 10.0

    def __post_init__(self) -> None:
        if self.grace_period < 0:
            raise ValueError("grace_period must be >= 0")


@hookimpl
def lamina_settings_schema() -> type:
    return BackgroundSettings


@hookimpl
def lamina_configure(app: Lamina, settings: BackgroundSettings) -> None:
    app.extensions["background"] = TaskRunner(settings.grace_period)


@hookimpl
def lamina_lifespan(app: Lamina) -> Callable[[Lamina], AbstractAsyncContextManager[Any]]:
    runner: TaskRunner = app.extensions["background"]
    return lambda _app: runner.running()


@hookimpl
def lamina_register_middleware(app: Lamina, register: Any) -> None:
    register(
        Middleware(
            BackgroundMiddleware,
            phase=PHASE,
            priority=PRIORITY,
            runner=app.extensions["background"],
        )
    )
