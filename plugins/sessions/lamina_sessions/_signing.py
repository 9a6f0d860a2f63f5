"""Signing session cookies: itsdangerous, with key rotation and a server-side clock.

Every cookie value is ``payload.timestamp.signature`` (URL-safe base64), so it needs no
quoting in a ``Set-Cookie`` header. The timestamp is part of the signed text: the server
enforces ``max_age`` from it, whatever expiry the browser was told.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from typing import Any

from itsdangerous import BadData, TimestampSigner, URLSafeTimedSerializer

__all__ = ["DEFAULT_SALT", "SessionSigner"]

#: Namespaces our signatures: a value signed for another purpose with the same secret
#: never verifies as a session.
DEFAULT_SALT = "lamina.sessions"


class _ClockSigner(TimestampSigner):
    """A TimestampSigner whose "now" is injectable (tests craft old cookies with it)."""

    def __init__(self, *args: Any, clock: Callable[[], float], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clock = clock

    def get_timestamp(self) -> int:
        return int(self._clock())


class SessionSigner:
    """Signs with the first key of ``secret_keys`` and accepts a value signed with any.

    Rotation: put the new key first and keep the old one after it until every cookie
    signed with the old key has expired (``max_age``), then drop it.
    """

    def __init__(
        self,
        secret_keys: str | Sequence[str],
        *,
        salt: str = DEFAULT_SALT,
        clock: Callable[[], float] = time.time,
    ) -> None:
        keys = [secret_keys] if isinstance(secret_keys, str) else list(secret_keys)
        if not keys or not all(isinstance(k, str) and k for k in keys):
            raise ValueError("secret_keys must be a non-empty string or a list of them")
        # itsdangerous signs with the *last* key of its list; ours is newest-first.
        self._serializer = URLSafeTimedSerializer(
            [_reveal(k) for k in reversed(keys)],
            salt=salt,
            signer=_ClockSigner,
            signer_kwargs={"digest_method": hashlib.sha256, "clock": clock},
        )

    def dumps(self, value: Any) -> str:
        """Serialize ``value`` as JSON, sign it with a timestamp. TypeError if not JSON."""
        return self._serializer.dumps(value)

    def loads(self, token: str, max_age: int | None) -> Any:
        """The signed value, or ``None`` for anything tampered, expired or malformed."""
        try:
            return self._serializer.loads(token, max_age=max_age)
        except (BadData, ValueError, TypeError, UnicodeError):
            return None


def _reveal(key: str) -> str:
    reveal = getattr(key, "reveal", None)
    return reveal() if reveal is not None else key  # type: ignore[no-any-return]
