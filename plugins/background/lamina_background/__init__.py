"""lamina-background: work that runs after the response, owned by the app's lifespan.

Attach :class:`BackgroundTask` or :class:`BackgroundTasks` to any response's
``background=``. Coroutine functions are awaited; plain functions run in a worker thread. A
failing task is logged (logger ``lamina.background``) with its traceback and affects neither
the response nor the tasks after it.

Settings (section ``[background]``): ``grace_period`` (10.0 seconds) — at shutdown,
outstanding tasks get this long to finish, then are cancelled and logged.

Hooks: ``lamina_settings_schema``, ``lamina_configure`` (creates the app's
:class:`TaskRunner`), ``lamina_lifespan`` (opens its task group), and
``lamina_register_middleware`` (places :class:`BackgroundMiddleware`, which sets
``scope["lamina.spawn"]``, in the *outermost* phase at priority 100). Without a lifespan
(no task group yet) responses run their background work inline, after sending.

Outside Lamina, :class:`BackgroundMiddleware` owns its own runner through the ASGI lifespan::

    app = BackgroundMiddleware(app, grace_period=5)
"""

from __future__ import annotations

from ._middleware import BackgroundMiddleware
from ._plugin import (
    BackgroundSettings,
    lamina_configure,
    lamina_lifespan,
    lamina_register_middleware,
    lamina_settings_schema,
)
from ._runner import TaskRunner
from ._tasks import BackgroundTask, BackgroundTasks, logger

__all__ = [
    "BackgroundMiddleware",
    "BackgroundSettings",
    "BackgroundTask",
    "BackgroundTasks",
    "TaskRunner",
    "lamina_configure",
    "lamina_lifespan",
    "lamina_register_middleware",
    "lamina_settings_schema",
    "logger",
]
