"""The scope-marking middleware: offers the runner's spawner to the kernel's responses.

Per request it costs one attribute read and one scope assignment. Used outside Lamina it
also owns the runner's lifespan: the task group opens at ``lifespan.startup`` and is drained
when ``lifespan.shutdown`` arrives, before the wrapped app hears of it.
"""

from __future__ import annotations

from lamina.plugin import SCOPE_SPAWN, ASGIApp, Message, Receive, Scope, Send

from ._runner import TaskRunner

__all__ = ["BackgroundMiddleware"]


class BackgroundMiddleware:
    """Mark each connection scope with ``scope["lamina.spawn"]`` while the runner runs.

    Pass the ``runner`` that a lifespan owns (the Lamina plugin does), or let the middleware
    create one and run it from the ``lifespan`` scope (plain ASGI use).
    """

    __slots__ = ("app", "runner")

    #: It only awaits ``self.app(...)``: Lamina may hand it a plain callable returning an
    #: awaitable (one coroutine frame less per request; see lamina.plugin).
    lamina_accepts_plain_app = True

    def __init__(
        self, app: ASGIApp, runner: TaskRunner | None = None, grace_period: float = 10.0
    ) -> None:
        self.app = app
        self.runner = runner if runner is not None else TaskRunner(grace_period)

    # ``async def`` (not a plain function returning the awaitable) so that servers that
    # sniff for ASGI 3 with ``iscoroutinefunction`` recognise the middleware.
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        spawn = self.runner.spawn
        if spawn is not None:
            scope[SCOPE_SPAWN] = spawn
        elif scope["type"] == "lifespan":
            await self._lifespan(scope, receive, send)
            return
        await self.app(scope, receive, send)

    async def _lifespan(self, scope: Scope, receive: Receive, send: Send) -> None:
        runner = self.runner

        async def receive_and_drain() -> Message:
            message = await receive()
            if message["type"] == "lifespan.shutdown":
                await runner.close()
            return message

        async with runner.running():
            await self.app(scope, receive_and_drain, send)
