"""The session middleware: pure ASGI, loads the session into the scope, writes it back on send.

Usable without Lamina: ``SessionMiddleware(asgi_app, secret_key="...")``.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable, Sequence
from typing import Any, Literal

from lamina import MutableHeaders
from lamina.plugin import ASGIApp, Message, Receive, Scope, Send, parse_cookie_header

from ._session import SESSION_KEY, Session
from ._signing import DEFAULT_SALT, SessionSigner
from ._stores import SessionStore, SessionStoreUnavailable, resolve_store

__all__ = ["MAX_COOKIE_SIZE", "SessionError", "SessionMiddleware", "SessionTooLarge"]

logger = logging.getLogger("lamina.sessions")

#: Browsers keep at most 4096 bytes of a cookie (RFC 6265 §6.1); we count the whole
#: ``Set-Cookie`` value (name, value and attributes), the strictest reading.
MAX_COOKIE_SIZE = 4096
#: The messages that carry response headers: the cookie is written into them.
_COMMIT_ON = frozenset(("http.response.start", "websocket.accept", "websocket.http.response.start"))
_DELETED_ATTRS = "; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT"


class SessionError(RuntimeError):
    """The session cannot be written (not JSON-serializable, or too large for a cookie)."""


class SessionTooLarge(SessionError):
    """The session cookie would exceed what browsers keep; they would drop it silently."""


class SessionMiddleware:
    """Put a :class:`Session` on ``scope["session"]`` for HTTP and WebSocket connections.

    The cookie is written only when the session changed, deleted when it was cleared, and
    ``Vary: Cookie`` is added whenever the session was read. An invalid cookie (tampered,
    expired, truncated, garbage, signed with a retired key) is an empty session, never an
    error. A session too large for a cookie is answered with a 500 and a logged
    :class:`SessionTooLarge` that says how large it was, and the exception propagates to the
    app (under Lamina the error layer logs it too; the test client re-raises it).
    """

    #: It only awaits ``self.app(...)``: Lamina may hand it a plain callable returning an
    #: awaitable (one coroutine frame less per request; see lamina.plugin).
    lamina_accepts_plain_app = True

    def __init__(
        self,
        app: ASGIApp,
        *,
        secret_key: str | Sequence[str],
        cookie_name: str = "session",
        max_age: int | None = 14 * 24 * 3600,
        path: str = "/",
        domain: str | None = None,
        samesite: Literal["lax", "strict", "none"] = "lax",
        secure: bool = False,
        httponly: bool = True,
        partitioned: bool = False,
        store: str | SessionStore | None = None,
        salt: str = DEFAULT_SALT,
        max_cookie_size: int = MAX_COOKIE_SIZE,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.app = app
        self.signer = SessionSigner(secret_key, salt=salt, clock=clock)
        self.store = resolve_store(store)
        #: The store's concurrency-safe writes, when it has them (see SessionStore).
        self._update = getattr(self.store, "update", None)
        self._replace = getattr(self.store, "replace", None)
        self.cookie_name = cookie_name
        self.max_age = max_age
        self.max_cookie_size = max_cookie_size
        check_cookie_settings(cookie_name, path, domain, samesite, secure, partitioned)
        attrs = [f"Path={path}"]
        if domain:
            attrs.append(f"Domain={domain}")
        common = []
        if secure:
            common.append("Secure")
        if httponly:
            common.append("HttpOnly")
        common.append(f"SameSite={samesite.capitalize()}")
        if partitioned:
            common.append("Partitioned")
        expiry = [f"Max-Age={max_age}"] if max_age is not None else []
        self._set_suffix = "; " + "; ".join(attrs + expiry + common)
        self._delete_suffix = "; " + "; ".join(attrs) + _DELETED_ATTRS + "; " + "; ".join(common)
        self._marker = cookie_name.encode("latin-1") + b"="

    # ----------------------------------------------------------------- reading
    def _read_cookie(self, scope: Scope) -> str | None:
        marker = self._marker
        for key, value in scope["headers"]:
            if key == b"cookie" and marker in value:
                found = parse_cookie_header(value.decode("latin-1")).get(self.cookie_name)
                if found is not None:
                    return found
        return None

    def _decode(self, raw: str) -> dict[str, Any]:
        data = self.signer.loads(raw, self.max_age)
        return data if isinstance(data, dict) else {}

    async def _load_stored(self, raw: str | None) -> Session:
        assert self.store is not None
        if raw is not None:
            session_id = self.signer.loads(raw, self.max_age)
            if isinstance(session_id, str):
                data = await self.store.load(session_id)
                if isinstance(data, dict):
                    return Session(data, session_id=session_id)
        return Session({})

    # ----------------------------------------------------------------- ASGI
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope_type = scope["type"]
        if scope_type != "http" and scope_type != "websocket":
            await self.app(scope, receive, send)
            return
        raw = self._read_cookie(scope)
        if self.store is None:
            session = Session(loader=(lambda: self._decode(raw)) if raw is not None else None)
        else:
            try:
                session = await self._load_stored(raw)
            except SessionStoreUnavailable as exc:
                logger.error("%s (%s %s)", exc, scope.get("method", "WEBSOCKET"), scope.get("path"))
                await _fail(scope_type, send, 503)
                return
        scope[SESSION_KEY] = session
        had_cookie = raw is not None
        failed = False
        committed = False

        async def send_with_session(message: Message) -> None:
            nonlocal failed, committed
            if failed:
                return
            mtype = message["type"]
            if mtype in _COMMIT_ON:
                committed = True
                try:
                    await self._commit(session, had_cookie, message)
                except SessionError as exc:
                    failed = True
                    await _fail(scope_type, send)
                    # raised on, a server error the server logs once (the kernel does the
                    # same with a 500's exception): the note says which request it was
                    exc.add_note(f"{scope.get('method', 'WEBSOCKET')} {scope.get('path')}")
                    raise
                except SessionStoreUnavailable as exc:
                    failed = True
                    logger.error(
                        "%s (%s %s)", exc, scope.get("method", "WEBSOCKET"), scope.get("path")
                    )
                    await _fail(scope_type, send, 503)
                    return
            await send(message)

        await self.app(scope, receive, send_with_session)
        if committed and not failed and session.modified:
            await self._after_headers(session, scope)

    async def _after_headers(self, session: Session, scope: Scope) -> None:
        """The session changed after the headers went out (a WebSocket after ``accept()``, a
        streaming body, a background task): no ``Set-Cookie`` can carry it now."""
        session.modified = False
        if self.store is not None and session.id is not None:
            # A server-side session keeps the changes under its existing id (or forgets a
            # cleared one); only a new id (regenerate) would need the cookie.
            if session:
                await self._write_existing(session.id, dict(session.data))
            else:
                await self.store.delete(session.id)
            if not session.regenerated:
                return
            lost = "the session was regenerated, but its new id is lost"
        else:
            lost = "the change is lost"
        if scope["type"] == "websocket":
            when, fix = "the handshake", "change it before accept()"
        else:
            when, fix = "the response headers were sent", "change it before returning"
        # Never silently.
        logger.warning(
            "the session of %s %s changed after %s; %s because a cookie can only be set with "
            "the headers: %s%s",
            scope.get("method", "WEBSOCKET"),
            scope.get("path"),
            when,
            lost,
            fix,
            ""
            if self.store is not None
            else ', or use a server-side store (sessions setting store = "memory" or your own)',
        )

    async def _store(self, store: SessionStore, session: Session, data: dict[str, Any]) -> bool:
        """Write the session; False if it existed at load time and is gone now."""
        old = session.id
        if old is not None and not session.regenerated:
            return await self._write_existing(old, data)
        session.id = secrets.token_urlsafe(32)
        if old is not None and self._replace is not None:
            await self._replace(old, session.id, data, self.max_age)
            return True
        if old is not None:
            await store.delete(old)
        await store.save(session.id, data, self.max_age)
        return True

    async def _write_existing(self, session_id: str, data: dict[str, Any]) -> bool:
        if self._update is not None:
            return bool(await self._update(session_id, data, self.max_age))
        assert self.store is not None
        await self.store.save(session_id, data, self.max_age)
        return True

    async def _commit(self, session: Session, had_cookie: bool, message: Message) -> None:
        if not session.accessed and not session.modified:
            return
        headers = list(message.get("headers", ()))
        message["headers"] = headers
        if message["type"] != "websocket.accept":
            MutableHeaders(raw=headers).add_vary_header("Cookie")
        if not session.modified:
            return
        session.modified = False
        store = self.store
        if not session:
            if store is not None and session.id is not None:
                await store.delete(session.id)
                session.id = None
            if had_cookie:
                cookie = f"{self.cookie_name}={self._delete_suffix}"
                headers.append((b"set-cookie", cookie.encode("latin-1")))
            return
        data = dict(session.data)
        if store is not None:
            try:
                if not await self._store(store, session, data):
                    # Deleted meanwhile (a concurrent logout): never bring it back.
                    session.id = None
                    if had_cookie:
                        cookie = f"{self.cookie_name}={self._delete_suffix}"
                        headers.append((b"set-cookie", cookie.encode("latin-1")))
                    return
            except (TypeError, ValueError) as exc:
                raise SessionError(f"session data cannot be stored: {exc}") from exc
            assert session.id is not None
            value = self.signer.dumps(session.id)
        else:
            try:
                value = self.signer.dumps(data)
            except (TypeError, ValueError) as exc:
                raise SessionError(
                    f"session data must be JSON-serializable to go in a cookie: {exc}"
                ) from exc
        session.regenerated = False
        cookie = f"{self.cookie_name}={value}{self._set_suffix}"
        if len(cookie) > self.max_cookie_size:
            raise SessionTooLarge(
                f"the session cookie {self.cookie_name!r} would be {len(cookie)} bytes, over "
                f"the {self.max_cookie_size}-byte limit of browsers, which would silently "
                "drop it; keep less in the session or use a server-side store "
                '(sessions setting store = "memory" or your own)'
            )
        headers.append((b"set-cookie", cookie.encode("latin-1")))


_FAILURE_BODIES = {500: b"Internal Server Error", 503: b"Service Unavailable"}


async def _fail(scope_type: str, send: Send, status: int = 500) -> None:
    if scope_type == "http":
        body = _FAILURE_BODIES[status]
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"text/plain; charset=utf-8"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
    else:
        await send({"type": "websocket.close", "code": 1011 if status == 500 else 1013})


_NAME_FORBIDDEN = set(' \t",;=()<>@:/[]?{}\\')


def check_cookie_settings(
    name: str, path: str, domain: str | None, samesite: str, secure: bool, partitioned: bool
) -> None:
    if not name or any(c in _NAME_FORBIDDEN or not 0x20 < ord(c) < 0x7F for c in name):
        raise ValueError(f"invalid session cookie name {name!r}")
    for label, value in (("path", path), ("domain", domain or "")):
        if any(c in value for c in ";\r\n\x00") or any(not 0x20 <= ord(c) < 0x7F for c in value):
            raise ValueError(f"invalid session cookie {label} {value!r}")
    if samesite not in ("lax", "strict", "none"):
        raise ValueError(f"samesite must be 'lax', 'strict' or 'none', not {samesite!r}")
    if samesite == "none" and not secure:
        raise ValueError("samesite='none' requires secure=true (browsers reject it otherwise)")
    if partitioned and not secure:
        raise ValueError("partitioned=true requires secure=true (browsers reject it otherwise)")
