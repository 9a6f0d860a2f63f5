"""Publishing with no app: a script, a cron job, a queue worker."""

from __future__ import annotations

import json
from types import TracebackType
from typing import Any

from ._backend import Backend
from ._hub import make_backend, redact

__all__ = ["Publisher"]


class Publisher:
    """Publish to the channels an app's subscribers listen on, from outside the app::

        async with Publisher.from_url("redis+stream://127.0.0.1:6379/0") as publisher:
            await publisher.publish("news", {"title": "..."})

    Raises :class:`BroadcastUnavailable` like :meth:`Broadcast.publish`. ``memory://`` is
    refused: its subscribers live in another process's memory.
    """

    def __init__(self, backend: Backend, url: str) -> None:
        self.backend = backend
        self.url = url

    @classmethod
    def from_url(cls, url: str, *, history: int = 1000, ttl: float = 3600) -> Publisher:
        """``history`` and ``ttl`` must match the app's settings (they apply per publish)."""
        if url.partition("://")[0].lower() == "memory":
            raise ValueError(
                "memory:// reaches only subscribers in its own process; publish from inside "
                "the app with broadcast_for(app), or point both at redis://"
            )
        return cls(make_backend(url, history=history, ttl=ttl), url)

    def __repr__(self) -> str:
        return f"<Publisher {redact(self.url)}>"

    async def publish(self, channel: str, data: Any, *, event: str | None = None) -> str | None:
        from ._hub import _check_channel

        _check_channel(channel)
        payload = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
        return await self.backend.publish(channel, payload, event)

    async def aclose(self) -> None:
        await self.backend.aclose()

    async def __aenter__(self) -> Publisher:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
