"""The ASGI lifespan protocol, driven for one test-client context.

The clients (:mod:`.clients`) start it on ``with``/``async with`` and stop it on exit; outside
``with`` they warn once (:class:`LifespanNotRunWarning`) when the app has startup work.
"""

from __future__ import annotations

import math
from typing import Any

import anyio
import anyio.abc

from ..types import ASGIApp, Message

__all__ = ["Lifespan", "LifespanNotRunWarning", "has_lifespan_work"]


class LifespanNotRunWarning(UserWarning):
    """The app has startup work but the client was used outside ``with``."""


def has_lifespan_work(app: Any) -> bool:
    own = getattr(type(app), "has_lifespan_work", None)
    if isinstance(own, property):  # a Lamina app knows exactly
        return bool(app.has_lifespan_work)
    if getattr(app, "lifespan_context", None) is not None:
        return True
    pm = getattr(app, "pm", None)
    if pm is None:
        return False
    return bool(pm.hook.lamina_lifespan.get_hookimpls())


class Lifespan:
    """Drives the ASGI lifespan protocol for one client context.

    An app that raises on the lifespan scope before sending anything does not support the
    protocol; like uvicorn's ``lifespan="auto"`` the client carries on without it. A startup
    failure raises the app's own exception when it raised one after reporting the failure
    (Lamina does), else ``RuntimeError`` with the reported message, as does a shutdown failure.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.state: dict[str, Any] = {}
        self.supported = True

    async def _call(self, scope: Any, receive: Any, send: Any, ended: anyio.Event) -> None:
        try:
            await self.app(scope, receive, send)
        finally:
            ended.set()

    def prepare(self) -> None:
        self._stop = anyio.Event()

    async def run(self, task_status: anyio.abc.TaskStatus[None]) -> None:
        to_app, app_inbox = anyio.create_memory_object_stream[Message](math.inf)
        app_outbox, from_app = anyio.create_memory_object_stream[Message](math.inf)
        scope = {
            "type": "lifespan",
            "asgi": {"version": "3.0", "spec_version": "2.0"},
            "state": self.state,
        }
        sent_any = False
        raised: list[Exception] = []
        ended = anyio.Event()

        async def send(message: Message) -> None:
            nonlocal sent_any
            sent_any = True
            await app_outbox.send(message)

        async def guard() -> None:
            try:
                await self._call(scope, app_inbox.receive, send, ended)
            except Exception as exc:
                if sent_any:
                    raised.append(exc)  # raised below, outside the task group
                    return
                self.supported = False
                app_outbox.send_nowait(
                    {
                        "type": "lamina.lifespan.unsupported",
                        "message": f"{type(exc).__name__}: {exc}",
                    }
                )

        failure = ""
        with to_app, app_inbox, app_outbox, from_app:
            # Failures are raised after the task group closed, so the caller sees a plain
            # RuntimeError rather than an exception group.
            async with anyio.create_task_group() as tg:
                tg.start_soon(guard)
                await to_app.send({"type": "lifespan.startup"})
                message = await from_app.receive()
                if message["type"] == "lifespan.startup.failed":
                    failure = f"lifespan startup failed: {message.get('message', '')}"
                    # a Lamina app raises its error right after; the bound is only a safety
                    # net for an app that reports the failure and then never returns
                    with anyio.move_on_after(5):
                        await ended.wait()
                    tg.cancel_scope.cancel()
                else:
                    task_status.started()
                    await self._stop.wait()
                    if self.supported:
                        await to_app.send({"type": "lifespan.shutdown"})
                        message = await from_app.receive()
                        if message["type"] == "lifespan.shutdown.failed":
                            failure = f"lifespan shutdown failed: {message.get('message', '')}"
        if raised:
            raise raised[0]
        if failure:
            raise RuntimeError(failure)
