"""Signing session cookies: itsdangerous, with key rotation and a server-side clock.

Every cookie value is ``payload.timestamp.signature`` (URL-safe base64, so it needs no
quoting in ``Set-Cookie``); the payload is compact JSON, zlib-compressed (``.`` prefix) when
that makes it shorter -- the format of itsdangerous' ``URLSafeTimedSerializer`` with
HMAC-SHA256, so either can read the other's cookies. The timestamp is part of the signed
text: the server enforces ``max_age`` from it, whatever expiry the browser was told.

Why not simply ``URLSafeTimedSerializer``: it builds a signer and re-derives the key on every
call, and tries to compress every payload; here the signer and derived keys are made once,
which makes signing and verifying about twice as fast.
"""

from __future__ import annotations

import hashlib
import json
import time
import zlib
from collections.abc import Callable, Sequence
from typing import Any

from itsdangerous import BadData, TimestampSigner
from itsdangerous.encoding import base64_decode, base64_encode, want_bytes

__all__ = ["DEFAULT_SALT", "SessionSigner"]

#: Namespaces our signatures: a value signed for another purpose with the same secret
#: never verifies as a session.
DEFAULT_SALT = "lamina.sessions"
#: Payloads shorter than this are not worth a compression attempt.
_COMPRESS_FROM = 128


class _Signer(TimestampSigner):
    """A TimestampSigner with its keys derived once and an injectable clock."""

    def __init__(self, keys: list[str], *, salt: str, clock: Callable[[], float]) -> None:
        super().__init__(keys, salt=salt, digest_method=hashlib.sha256)
        self._clock = clock
        self._derived = {k: TimestampSigner.derive_key(self, k) for k in self.secret_keys}
        self._signing_key = self._derived[self.secret_keys[-1]]

    def derive_key(self, secret_key: str | bytes | None = None) -> bytes:
        if secret_key is None:
            return self._signing_key
        derived = self._derived.get(want_bytes(secret_key))
        return derived if derived is not None else super().derive_key(secret_key)

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
        self._signer = _Signer([_reveal(k) for k in reversed(keys)], salt=salt, clock=clock)

    def dumps(self, value: Any) -> str:
        """Serialize ``value`` as JSON, sign it with a timestamp. TypeError if not JSON."""
        raw = json.dumps(value, separators=(",", ":")).encode("utf-8")
        prefix = b""
        if len(raw) >= _COMPRESS_FROM:
            compressed = zlib.compress(raw)
            if len(compressed) < len(raw) - 1:
                raw, prefix = compressed, b"."
        return self._signer.sign(prefix + base64_encode(raw)).decode("ascii")

    def loads(self, token: str, max_age: int | None) -> Any:
        """The signed value, or ``None`` for anything tampered, expired or malformed."""
        try:
            payload = self._signer.unsign(token, max_age=max_age)
            compressed = payload[:1] == b"."
            raw = base64_decode(payload[1:] if compressed else payload)
            if compressed:
                raw = zlib.decompress(raw)
            return json.loads(raw)
        except (BadData, ValueError, TypeError, UnicodeError, zlib.error):
            return None


def _reveal(key: str) -> str:
    reveal = getattr(key, "reveal", None)
    return reveal() if reveal is not None else key
