"""Server-side sessions in Redis, shared by every worker and host.

Each session is one key ``lamina:session:<id>`` holding JSON (never pickle)::

    {"c": created_ms, "e": idle_deadline_ms, "d": {...the session...}}

and a Redis expiry at the same deadline. The deadline is ``min(now + idle, created +
lifetime)``: writing a session extends its idle time, never past its absolute lifetime.
The two writes that race with other requests are single Lua scripts, so they are atomic:

* ``update`` rewrites a session that existed when it was loaded with ``SET ... XX``, and only
  if it still exists: a request that loaded the session before a concurrent logout deleted
  it cannot bring it back (starsessions#58).
* ``replace`` (regeneration, e.g. at login) writes the new key and deletes the old one in one
  step, keeping the creation time: regenerating never extends the absolute lifetime.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from ._stores import SessionStoreUnavailable

__all__ = ["RedisStore"]

PREFIX = "lamina:session:"

# KEYS[1]=key ARGV: data-json, now_ms, idle_ms, lifetime_ms (0: none)
_UPDATE = """
local raw = redis.call('GET', KEYS[1])
if not raw then return 0 end
local created = tonumber(string.match(raw, '^{"c":(%d+),'))
if not created then return 0 end
local now, idle, life = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local deadline = now + idle
if life > 0 and created + life < deadline then deadline = created + life end
if deadline <= now then redis.call('DEL', KEYS[1]) return 0 end
local value = '{"c":' .. string.format('%d', created) .. ',"e":' ..
    string.format('%d', deadline) .. ',"d":' .. ARGV[1] .. '}'
redis.call('SET', KEYS[1], value, 'PX', deadline - now, 'XX')
return 1
"""

# KEYS[1]=old KEYS[2]=new; ARGV as above
_REPLACE = """
local now, idle, life = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local created = now
local raw = redis.call('GET', KEYS[1])
if raw then created = tonumber(string.match(raw, '^{"c":(%d+),')) or now end
local deadline = now + idle
if life > 0 and created + life < deadline then deadline = created + life end
redis.call('DEL', KEYS[1])
if deadline <= now then return 0 end
local value = '{"c":' .. string.format('%d', created) .. ',"e":' ..
    string.format('%d', deadline) .. ',"d":' .. ARGV[1] .. '}'
redis.call('SET', KEYS[2], value, 'PX', deadline - now)
return 1
"""

#: A session with no ``max_age`` still needs an idle bound in Redis (30 days).
DEFAULT_IDLE = 30 * 24 * 3600


class RedisStore:
    """``store = "redis"`` with ``redis_url``. Open it for the app's lifetime (the plugin's
    lifespan does): ``async with store: ...``. ``clock`` (seconds) is injectable for tests."""

    def __init__(
        self,
        url: str,
        *,
        lifetime: int | None = 30 * 24 * 3600,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._url = url
        self.lifetime = lifetime
        self._clock = clock
        self._client: Any = None
        self._update: Any = None
        self._replace: Any = None

    def __repr__(self) -> str:
        host = self._url.rpartition("@")[2]
        return f"<RedisStore {host}>"

    async def __aenter__(self) -> RedisStore:
        from redis.asyncio import Redis

        self._client = Redis.from_url(
            self._url, decode_responses=True, socket_connect_timeout=2.0, socket_timeout=5.0
        )
        self._update = self._client.register_script(_UPDATE)
        self._replace = self._client.register_script(_REPLACE)
        return self

    async def __aexit__(self, *exc: object) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    def _ready(self) -> Any:
        if self._client is None:
            raise RuntimeError("the Redis session store is used outside the app's lifespan")
        return self._client

    async def _call(self, call: Any) -> Any:
        from redis.exceptions import ConnectionError as RedisConnectionError
        from redis.exceptions import TimeoutError as RedisTimeoutError

        try:
            return await call
        except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
            raise SessionStoreUnavailable(
                f"the Redis session store is unreachable ({type(exc).__name__})"
            ) from None

    def _times(self, max_age: int | None) -> tuple[int, int, int]:
        now = int(self._clock() * 1000)
        idle = (max_age if max_age is not None else DEFAULT_IDLE) * 1000
        return now, idle, (self.lifetime or 0) * 1000

    async def load(self, session_id: str) -> dict[str, Any] | None:
        raw = await self._call(self._ready().get(PREFIX + session_id))
        if raw is None:
            return None
        record = json.loads(raw)
        if int(self._clock() * 1000) >= record["e"]:
            return None  # Redis expires it too; the record's own deadline follows our clock
        data = record["d"]
        return data if isinstance(data, dict) else None

    async def save(self, session_id: str, data: dict[str, Any], max_age: int | None) -> None:
        """Write a new session (its id was just made)."""
        now, idle, lifetime = self._times(max_age)
        text = json.dumps(data, separators=(",", ":"))
        deadline = now + idle if not lifetime else min(now + idle, now + lifetime)
        value = f'{{"c":{now},"e":{deadline},"d":{text}}}'
        await self._call(self._ready().set(PREFIX + session_id, value, px=deadline - now))

    async def update(self, session_id: str, data: dict[str, Any], max_age: int | None) -> bool:
        """Rewrite a session loaded earlier in this request; False (and nothing written) if
        it was deleted since (a concurrent logout) or reached its absolute lifetime."""
        now, idle, lifetime = self._times(max_age)
        text = json.dumps(data, separators=(",", ":"))
        self._ready()
        written = await self._call(
            self._update(keys=[PREFIX + session_id], args=[text, now, idle, lifetime])
        )
        return bool(written)

    async def replace(
        self, old_id: str, new_id: str, data: dict[str, Any], max_age: int | None
    ) -> None:
        """Regenerate: the new key written and the old one deleted, atomically."""
        now, idle, lifetime = self._times(max_age)
        text = json.dumps(data, separators=(",", ":"))
        self._ready()
        await self._call(
            self._replace(keys=[PREFIX + old_id, PREFIX + new_id], args=[text, now, idle, lifetime])
        )

    async def delete(self, session_id: str) -> None:
        await self._call(self._ready().delete(PREFIX + session_id))
