"""Server-side session stores: the cookie then carries only a signed session id.

A store is any object with three async methods (see :class:`SessionStore`). The cookie still
carries a signed, timestamped id, so ``max_age`` is enforced twice: by the signature and by
the store's own expiry.
"""

from __future__ import annotations

import importlib
import json
import time
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

__all__ = ["MemoryStore", "SessionStore", "SessionStoreUnavailable", "resolve_store"]


class SessionStoreUnavailable(ConnectionError):
    """The session store cannot be reached: the request is answered 503, not 500."""


@runtime_checkable
class SessionStore(Protocol):
    """Where server-side sessions live. Data passed in and out is a JSON-able dict.

    Two optional methods make a store safe under concurrency, and the middleware uses them
    when present: ``update(id, data, max_age) -> bool`` rewrites a session only if it still
    exists (so a request racing a logout cannot resurrect it), and ``replace(old_id, new_id,
    data, max_age)`` regenerates atomically. :class:`MemoryStore` and ``RedisStore`` have both.
    """

    async def load(self, session_id: str) -> dict[str, Any] | None:
        """The data saved under ``session_id``, or ``None`` if unknown or expired."""

    async def save(self, session_id: str, data: dict[str, Any], max_age: int | None) -> None:
        """Save ``data``; forget it after ``max_age`` seconds (``None``: no expiry)."""

    async def delete(self, session_id: str) -> None:
        """Forget ``session_id`` (unknown ids are ignored)."""


class MemoryStore:
    """A process-local store: fine for tests, demos and one-process deployments.

    Data is kept as JSON text, so it behaves like any external store (no shared mutable
    objects, non-JSON values fail on save). ``max_entries`` bounds memory: when full, expired
    entries are dropped first, then the oldest.
    """

    def __init__(
        self, *, max_entries: int = 100_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._entries: dict[str, tuple[float | None, str]] = {}
        self.max_entries = max_entries
        self._clock = clock

    def __len__(self) -> int:
        return len(self._entries)

    async def load(self, session_id: str) -> dict[str, Any] | None:
        entry = self._entries.get(session_id)
        if entry is None:
            return None
        expires, text = entry
        if expires is not None and self._clock() >= expires:
            del self._entries[session_id]
            return None
        data: dict[str, Any] = json.loads(text)  # stored by save() from a dict
        return data

    async def save(self, session_id: str, data: dict[str, Any], max_age: int | None) -> None:
        text = json.dumps(data, separators=(",", ":"))
        expires = None if max_age is None else self._clock() + max_age
        self._entries.pop(session_id, None)
        if len(self._entries) >= self.max_entries:
            self._evict()
        self._entries[session_id] = (expires, text)

    async def delete(self, session_id: str) -> None:
        self._entries.pop(session_id, None)

    async def update(self, session_id: str, data: dict[str, Any], max_age: int | None) -> bool:
        if await self.load(session_id) is None:
            return False
        await self.save(session_id, data, max_age)
        return True

    async def replace(
        self, old_id: str, new_id: str, data: dict[str, Any], max_age: int | None
    ) -> None:
        await self.save(new_id, data, max_age)
        self._entries.pop(old_id, None)

    def _evict(self) -> None:
        now = self._clock()
        for key in [k for k, (exp, _) in self._entries.items() if exp is not None and now >= exp]:
            del self._entries[key]
        while len(self._entries) >= self.max_entries:
            del self._entries[next(iter(self._entries))]  # dicts keep insertion order


def resolve_store(spec: str | SessionStore | None) -> SessionStore | None:
    """``"cookie"``/``None`` (data in the cookie), ``"memory"``, or ``"pkg.module:name"``.

    A dotted path names a store instance, or a class / zero-argument factory returning one.
    """
    if spec is None or spec == "cookie":
        return None
    if spec == "memory":
        return MemoryStore()
    if isinstance(spec, str):
        module_name, sep, attr = spec.partition(":")
        if not sep:
            module_name, _, attr = spec.rpartition(".")
        if not module_name or not attr:
            raise ValueError(
                f"session store {spec!r}: expected 'cookie', 'memory' or 'package.module:name'"
            )
        try:
            obj: Any = getattr(importlib.import_module(module_name), attr)
        except (ImportError, AttributeError) as exc:
            raise ValueError(f"session store {spec!r} cannot be imported: {exc}") from None
        if isinstance(obj, type) or (callable(obj) and not isinstance(obj, SessionStore)):
            obj = obj()
        spec = obj
    if not isinstance(spec, SessionStore):
        raise ValueError(
            f"session store {spec!r} lacks async load(id), save(id, data, max_age) and delete(id)"
        )
    return spec
