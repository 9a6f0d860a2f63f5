"""``HTTPConnection`` (what HTTP and WebSocket share) and ``Request``.

Everything is computed lazily from the ASGI scope: a request that never looks at its
cookies never parses them. The body, once read by anyone (a middleware, the endpoint), is
kept on the scope so the next reader gets it too.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any, Generic, cast

import anyio
from typing_extensions import TypeVar

from ._asgicheck import ASGIMessageError
from ._datastructures import URL, Address, Headers, QueryParams, State, URLPath, url_from_scope
from ._exceptions import PayloadTooLarge, RequestError
from ._forms import FormReader
from ._scopekeys import (
    APP_ROOT_KEY,
    BODY_DONE_KEY,
    BODY_KEY,
    DISCONNECTED_KEY,
    FORM_KEY,
    MAX_BODY_KEY,
    PENDING_KEY,
    STREAMED_KEY,
)
from .types import Message, Receive, Scope, Send

if TYPE_CHECKING:
    from ._app import Lamina

__all__ = [
    "ClientDisconnect",
    "HTTPConnection",
    "Request",
    "StateT",
    "parse_cookie_header",
]

DEFAULT_MAX_BODY_SIZE = 10 * 1024 * 1024


class ClientDisconnect(Exception):
    """The client went away while the body was being read."""


_COOKIE_NAME_FORBIDDEN = frozenset(' \t",;=()<>@:/[]?{}\\')


def parse_cookie_header(value: str) -> dict[str, str]:
    """Parse a ``Cookie`` header leniently: a malformed pair is skipped, never an error.

    The first of a repeated name wins (browsers send the most specific cookie first). A
    quoted value loses its quotes and its backslash/octal escapes (the form
    :meth:`Response.set_cookie` writes), and the bytes are read as UTF-8 where they can be.
    """
    cookies: dict[str, str] = {}
    for chunk in value.split(";"):
        name, sep, val = chunk.partition("=")
        if not sep:
            continue
        name = name.strip(" \t")
        if not name or not _COOKIE_NAME_FORBIDDEN.isdisjoint(name) or name in cookies:
            continue
        val = val.strip(" \t")
        if len(val) >= 2 and val[0] == val[-1] == '"':
            val = _unquote(val[1:-1])
        cookies[name] = val
    return cookies


def _unquote(value: str) -> str:
    if "\\" not in value:
        return value
    out = bytearray()
    i, n = 0, len(value)
    while i < n:
        c = value[i]
        if c == "\\" and i + 1 < n:
            octal = value[i + 1 : i + 4]
            if len(octal) == 3 and all(ch in "01234567" for ch in octal) and octal[0] in "0123":
                out.append(int(octal, 8))
                i += 4
                continue
            c = value[i + 1]
            i += 1
        out += c.encode("utf-8", "surrogatepass")
        i += 1
    try:
        return out.decode("utf-8")
    except UnicodeDecodeError:
        return out.decode("latin-1")


def _from_plugin(scope: Scope, key: str, plugin: str) -> Any:
    try:
        return scope[key]
    except KeyError:
        raise AttributeError(
            f"{key!r} is not available: install and enable the {plugin} plugin "
            f"(its middleware sets scope[{key!r}])"
        ) from None


def _decode_header_value(value: bytes) -> str:
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value.decode("latin-1")


#: What ``request.state`` is typed as: ``Request[AppState]`` with a ``State`` subclass that
#: declares attributes, or a ``TypedDict`` read with ``request.state["key"]``; plain
#: ``Request`` is ``Request[State]``. At run time it is always a :class:`State` over the
#: lifespan state, which answers both ways.
StateT = TypeVar("StateT", bound=State | Mapping[str, Any], default=State)


class _RequestState(State):
    """A request's state. On a miss (never on the hot path) it looks in the app's own
    lifespan state, which a request that came through a parent app (a Starlette or FastAPI
    ``Mount``, whose lifespan ran this app's with ``asgi_lifespan.LifespanManager``) does
    not carry; and it says so plainly when startup never ran at all."""

    __slots__ = ("_app",)

    def __init__(self, state: dict[str, Any], app: Any) -> None:
        # built on every ``request.state`` read: two slot stores, no super() call
        object.__setattr__(self, "_state", state)
        object.__setattr__(self, "_app", app)

    def __getattr__(self, name: str) -> Any:
        try:
            return self._state[name]
        except KeyError:
            return self._missing(name, AttributeError(f"state has no attribute {name!r}"))

    def __getitem__(self, name: str) -> Any:
        try:
            return self._state[name]
        except KeyError as exc:
            return self._missing(name, exc)

    def _missing(self, name: str, error: Exception) -> Any:
        own = getattr(getattr(self._app, "state", None), "_state", None)
        if isinstance(own, dict) and own is not self._state and name in own:
            return own[name]
        check = getattr(self._app, "lifespan_not_run", None)
        not_run = check(name) if check is not None else None
        raise not_run if not_run is not None else error


class HTTPConnection(Mapping[str, Any], Generic[StateT]):
    """The parts of a connection that HTTP requests and WebSockets share.

    Generic in the type of ``state`` (see :data:`StateT`): ``Request[AppState]``.
    """

    __slots__ = ("_cookies", "_headers", "_query_params", "_url", "scope")

    def __init__(self, scope: Scope) -> None:
        self.scope = scope
        self._headers: Headers | None = None
        self._url: URL | None = None
        self._query_params: QueryParams | None = None
        self._cookies: dict[str, str] | None = None

    def __getitem__(self, key: str) -> Any:
        return self.scope[key]

    def __iter__(self) -> Any:
        return iter(self.scope)

    def __len__(self) -> int:
        return len(self.scope)

    __eq__ = object.__eq__
    __hash__ = object.__hash__

    @property
    def app(self) -> Lamina:
        app: Lamina = self.scope["app"]  # set by Lamina.__call__ on every scope
        return app

    @property
    def url(self) -> URL:
        if self._url is None:
            self._url = URL(scope=self.scope)
        return self._url

    @property
    def base_url(self) -> URL:
        # Inside a mount of this app's own routes, root_path includes the mount prefix; the
        # router keeps the app's own root under APP_ROOT_KEY. Never "app_root_path": a
        # Starlette parent sets it to *its* root, not the one this app is mounted at.
        scope = self.scope
        root = scope[APP_ROOT_KEY] if APP_ROOT_KEY in scope else scope.get("root_path", "")
        return URL(url_from_scope(self.scope, path=root.rstrip("/") + "/", with_query=False))

    @property
    def headers(self) -> Headers:
        if self._headers is None:
            self._headers = Headers(raw=self.scope["headers"])
        return self._headers

    @property
    def query_params(self) -> QueryParams:
        if self._query_params is None:
            self._query_params = QueryParams(self.scope.get("query_string", b""))
        return self._query_params

    @property
    def path_params(self) -> dict[str, Any]:
        params: dict[str, Any] = self.scope.get("path_params", {})
        return params

    @property
    def cookies(self) -> dict[str, str]:
        if self._cookies is None:
            cookies: dict[str, str] = {}
            for k, v in self.scope["headers"]:
                if k == b"cookie":
                    for name, val in parse_cookie_header(_decode_header_value(v)).items():
                        cookies.setdefault(name, val)
            self._cookies = cookies
        return self._cookies

    @property
    def client(self) -> Address | None:
        client = self.scope.get("client")
        return Address(*client) if client else None

    @property
    def state(self) -> StateT:
        """The lifespan state (a shallow copy per request, as the server hands it over)."""
        state = self.scope.get("state")
        if state is None:
            state = self.scope["state"] = {}
        return cast(StateT, _RequestState(state, self.scope.get("app")))

    @property
    def session(self) -> Any:
        """The session (``scope["session"]``), set by the lamina-sessions middleware."""
        return _from_plugin(self.scope, "session", "lamina-sessions")

    @property
    def user(self) -> Any:
        """The authenticated user (``scope["user"]``), set by the lamina-auth middleware."""
        return _from_plugin(self.scope, "user", "lamina-auth")

    @property
    def auth(self) -> Any:
        """The credentials (``scope["auth"]``), set by the lamina-auth middleware."""
        return _from_plugin(self.scope, "auth", "lamina-auth")

    def url_for(self, name: str, /, **path_params: Any) -> URL:
        """An absolute URL for the named route, from whatever router the app installed."""
        path: URLPath = self.app.url_path_for(name, **path_params)
        return path.make_absolute_url(self.base_url)


class Request(HTTPConnection[StateT]):
    """An HTTP request: the connection plus its body.

    Body state lives on the scope, not on this object, because a middleware and the endpoint
    build their own ``Request`` over the same scope: whoever reads first, the next reader
    still gets the body (``body()``), and chunks that ``is_disconnected()`` happened to pick up
    are handed to the stream, never dropped.
    """

    __slots__ = ("_json", "_receive", "_send")

    def __init__(
        self, scope: Scope, receive: Receive | None = None, send: Send | None = None
    ) -> None:
        # HTTPConnection.__init__ inlined: one call fewer per request
        self.scope = scope
        self._headers = None
        self._url = None
        self._query_params = None
        self._cookies = None
        self._receive = receive if receive is not None else _no_receive
        self._send = send
        self._json: Any = _UNSET

    @property
    def method(self) -> str:
        method: str = self.scope["method"]
        return method

    @property
    def receive(self) -> Receive:
        return self._receive

    @property
    def max_body_size(self) -> int | None:
        """The limit in force: the route's, else the app's, else the kernel default."""
        scope = self.scope
        if MAX_BODY_KEY in scope:
            limit: int | None = scope[MAX_BODY_KEY]
            return limit
        app = scope.get("app")
        return getattr(app, "max_body_size", DEFAULT_MAX_BODY_SIZE)

    def _check_declared_length(self, limit: int | None) -> None:
        for k, v in self.scope["headers"]:
            if k == b"content-length":
                # 1*DIGIT only: int() would also take "+5", " 5", "5_0" and non-ASCII digits
                # (and is slow on thousands of digits, so those are never converted).
                if not v.isdigit():  # bytes.isdigit is ASCII-only
                    raise RequestError("Invalid Content-Length header")
                digits = v.lstrip(b"0")
                if limit is not None and (len(digits) > 18 or int(digits or b"0") > limit):
                    size = digits.decode("ascii") if len(digits) <= 18 else "more than 10**18"
                    raise PayloadTooLarge(
                        f"Request body of {size} bytes exceeds the limit of {limit} bytes"
                    )
                return

    def stream(self) -> AsyncIterator[bytes]:
        """Yield the body as it arrives, enforcing the size limit while it streams.

        The stream is not kept: after it, ``body()`` raises unless someone cached the body
        first. Calling ``stream()`` claims the body at once (before iteration starts), so a
        ``StreamingResponse(request.stream())`` knows not to compete for ``receive``.
        """
        scope = self.scope
        cached = scope.get(BODY_KEY)
        if cached is not None:
            return _cached_stream(cached)
        if scope.get(STREAMED_KEY):
            raise RuntimeError(
                "the request body was already consumed as a stream; read it with "
                "request.body() first if more than one reader needs it"
            )
        scope[STREAMED_KEY] = True
        return self._stream_receive()

    async def _stream_receive(self) -> AsyncIterator[bytes]:
        scope = self.scope
        limit = self.max_body_size
        self._check_declared_length(limit)
        received = 0
        pending: list[Message] | None = scope.pop(PENDING_KEY, None)
        receive = self._receive
        while True:
            message = pending.pop(0) if pending else await receive()
            mtype = message.get("type")
            if mtype == "http.request":
                chunk = message.get("body", b"")
                if type(chunk) is not bytes:
                    raise ASGIMessageError(f"http.request body is not bytes: {chunk!r:.40}")
                if chunk:
                    received += len(chunk)
                    if limit is not None and received > limit:
                        raise PayloadTooLarge(f"Request body exceeds the limit of {limit} bytes")
                    yield chunk
                if not message.get("more_body", False):
                    break
            elif mtype == "http.disconnect":
                scope[DISCONNECTED_KEY] = True
                raise ClientDisconnect()
        scope[BODY_DONE_KEY] = True

    async def body(self) -> bytes:
        """The whole body (size-limited), cached on the scope for every later reader."""
        cached: bytes | None = self.scope.get(BODY_KEY)
        if cached is not None:
            return cached
        chunks = [chunk async for chunk in self.stream()]
        body = b"".join(chunks)
        self.scope[BODY_KEY] = body
        return body

    async def json(self) -> Any:
        """The body parsed as JSON; invalid JSON is a 400 that says why."""
        if self._json is _UNSET:
            body = await self.body()
            try:
                self._json = json.loads(body, parse_constant=_refuse_constant)
            except (ValueError, UnicodeDecodeError) as exc:
                raise RequestError(f"Invalid JSON body: {exc}") from None
            except RecursionError:
                raise RequestError("Invalid JSON body: nested too deeply") from None
        return self._json

    def form(
        self,
        *,
        max_fields: int | None = None,
        max_files: int | None = None,
        max_part_size: int | None = None,
        max_part_header_size: int | None = None,
        spool_size: int | None = None,
    ) -> FormReader:
        """Parse a urlencoded or multipart body, streaming; see :mod:`lamina._forms`.

        ``async with request.form() as form:`` closes the uploads on exit; ``form = await
        request.form()`` works too, and the form is then closed when the request ends. The
        keyword arguments override the app's ``[lamina]`` form limits for this call.
        """
        return FormReader(
            self,
            max_fields=max_fields,
            max_files=max_files,
            max_part_size=max_part_size,
            max_part_header_size=max_part_header_size,
            spool_size=spool_size,
        )

    async def is_disconnected(self) -> bool:
        """True once the client has gone away; never blocks.

        A body chunk that arrives while checking is kept for the next body reader.
        """
        scope = self.scope
        if scope.get(DISCONNECTED_KEY):
            return True
        if scope.get(BODY_DONE_KEY) is None and scope.get(STREAMED_KEY):
            # Someone is streaming the body right now: their receive() would miss what we take.
            return False
        message: Message | None = None
        with anyio.CancelScope() as cs:
            cs.cancel()
            message = await self._receive()
        if message is None:
            return False
        mtype = message.get("type")
        if mtype == "http.disconnect":
            scope[DISCONNECTED_KEY] = True
            return True
        if mtype == "http.request":
            scope.setdefault(PENDING_KEY, []).append(message)
        return False

    async def close(self) -> None:
        """Close the form (and its uploads) if one was parsed for this request."""
        form = self.scope.get(FORM_KEY)
        if form is not None:
            await form.close()


def _refuse_constant(name: str) -> Any:
    """``NaN``, ``Infinity`` and ``-Infinity`` are not JSON (RFC 8259); Python accepts them."""
    raise ValueError(f"{name} is not valid JSON")


async def _cached_stream(body: bytes) -> AsyncIterator[bytes]:
    if body:
        yield body


class _Unset:
    pass


_UNSET: Any = _Unset()


async def _no_receive() -> Message:
    raise RuntimeError("this Request was built without a receive channel")
