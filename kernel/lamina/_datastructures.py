"""Immutable, multi-valued views of what arrived: headers, query strings, URLs."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, NamedTuple, Self, TypeVar, overload
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ._hosts import parse_authority
from .types import Scope

__all__ = ["URL", "Address", "Headers", "MutableHeaders", "QueryParams", "State", "URLPath"]

_T = TypeVar("_T")


class Address(NamedTuple):
    host: str
    port: int


class State:
    """Attribute access over a dict: ``request.state.db`` reads ``state["db"]``."""

    __slots__ = ("_state",)

    def __init__(self, state: dict[str, Any] | None = None) -> None:
        object.__setattr__(self, "_state", state if state is not None else {})

    def __getattr__(self, name: str) -> Any:
        try:
            return self._state[name]
        except KeyError:
            raise AttributeError(f"state has no attribute {name!r}") from None

    def __setattr__(self, name: str, value: Any) -> None:
        self._state[name] = value

    def __delattr__(self, name: str) -> None:
        del self._state[name]

    def __contains__(self, name: str) -> bool:
        return name in self._state

    def __getitem__(self, name: str) -> Any:
        """``state["db"]`` as well as ``state.db``: a ``TypedDict`` can type the former."""
        return self._state[name]


class Headers(Mapping[str, str]):
    """Case-insensitive, multi-valued, immutable headers over ASGI's raw byte pairs."""

    __slots__ = ("_list",)

    def __init__(
        self,
        headers: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
        *,
        raw: list[tuple[bytes, bytes]] | None = None,
        scope: Scope | None = None,
    ) -> None:
        if scope is not None:
            self._list: list[tuple[bytes, bytes]] = list(scope["headers"])
        elif raw is not None:
            self._list = raw
        elif headers is None:
            self._list = []
        else:
            items = headers.items() if isinstance(headers, Mapping) else headers
            self._list = [(k.encode("latin-1").lower(), v.encode("latin-1")) for k, v in items]

    @property
    def raw(self) -> list[tuple[bytes, bytes]]:
        return self._list

    # lists, not views (what Starlette's Headers return): repeated names stay repeated
    def keys(self) -> list[str]:  # type: ignore[override]  # see above
        return [k.decode("latin-1") for k, _ in self._list]

    def values(self) -> list[str]:  # type: ignore[override]  # see above
        return [v.decode("latin-1") for _, v in self._list]

    def items(self) -> list[tuple[str, str]]:  # type: ignore[override]  # see above
        return [(k.decode("latin-1"), v.decode("latin-1")) for k, v in self._list]

    def getlist(self, key: str) -> list[str]:
        try:
            k = key.encode("latin-1").lower()
        except UnicodeEncodeError:
            return []
        return [v.decode("latin-1") for hk, v in self._list if hk == k]

    def __getitem__(self, key: str) -> str:
        try:
            k = key.encode("latin-1").lower()
        except UnicodeEncodeError:
            raise KeyError(key) from None
        for hk, v in self._list:
            if hk == k:
                return v.decode("latin-1")
        raise KeyError(key)

    @overload
    def get(self, key: str) -> str | None: ...
    @overload
    def get(self, key: str, default: str | _T) -> str | _T: ...
    def get(self, key: str, default: object = None) -> object:
        try:
            return self[key]
        except KeyError:
            return default

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str):
            return False
        try:
            k = key.encode("latin-1").lower()
        except UnicodeEncodeError:
            return False
        return any(hk == k for hk, _ in self._list)

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def __len__(self) -> int:
        return len(self._list)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Headers):
            return NotImplemented
        return sorted(self._list) == sorted(other._list)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.items()!r})"

    def mutablecopy(self) -> MutableHeaders:
        return MutableHeaders(raw=list(self._list))


_NAME_FORBIDDEN = frozenset('\r\n\x00 \t:"(),/;<=>?@[\\]{}')


def _check_value(name: str, value: str) -> None:
    if not name or not _NAME_FORBIDDEN.isdisjoint(name):
        raise ValueError(f"invalid header name {name!r}")
    if "\r" in value or "\n" in value or "\x00" in value:
        raise ValueError(
            f"header {name!r} value {value!r} contains CR, LF or NUL: refusing a header injection"
        )


class MutableHeaders(Headers):
    """Headers a response or middleware may change; values with CR or LF are refused."""

    def __setitem__(self, key: str, value: str) -> None:
        _check_value(key, value)
        k = key.encode("latin-1").lower()
        v = value.encode("latin-1")
        found = False
        out: list[tuple[bytes, bytes]] = []
        for hk, hv in self._list:
            if hk == k:
                if not found:
                    out.append((k, v))
                    found = True
            else:
                out.append((hk, hv))
        if not found:
            out.append((k, v))
        self._list[:] = out

    def __delitem__(self, key: str) -> None:
        k = key.encode("latin-1").lower()
        self._list[:] = [(hk, hv) for hk, hv in self._list if hk != k]

    def setdefault(self, key: str, value: str) -> str:
        existing = self.get(key)
        if existing is not None:
            return existing
        self[key] = value
        return value

    def append(self, key: str, value: str) -> None:
        _check_value(key, value)
        self._list.append((key.encode("latin-1").lower(), value.encode("latin-1")))

    def update(self, other: Mapping[str, str]) -> None:
        for k, v in other.items():
            self[k] = v

    def add_vary_header(self, vary: str) -> None:
        existing = self.get("vary")
        if existing is None:
            self["vary"] = vary
            return
        present = {v.strip().lower() for v in existing.split(",")}
        if vary.lower() not in present and "*" not in present:
            self["vary"] = f"{existing}, {vary}"


_V = TypeVar("_V")


class _MultiDict(Mapping[str, _V]):
    """An immutable multi-valued mapping: ``md[key]`` is the last value for ``key``,
    ``getlist(key)`` all of them and ``multi_items()`` every pair in the order given.

    The shared body of ``QueryParams`` and ``lamina._formdata.FormData``; each keeps its own
    constructor and equality (query parameters compare regardless of order, forms do not).
    """

    __slots__ = ("_dict", "_list")

    def __init__(self, items: list[tuple[str, _V]]) -> None:
        self._list = items
        self._dict: dict[str, _V] = dict(items)

    def getlist(self, key: str) -> list[_V]:
        return [v for k, v in self._list if k == key]

    def multi_items(self) -> list[tuple[str, _V]]:
        return list(self._list)

    def __getitem__(self, key: str) -> _V:
        return self._dict[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._dict)

    def __len__(self) -> int:
        return len(self._dict)


class QueryParams(_MultiDict[str]):
    """Multi-valued query parameters; ``params["a"]`` is the last value, ``getlist`` all."""

    __slots__ = ()

    def __init__(
        self,
        query: str | bytes | Mapping[str, Any] | Sequence[tuple[str, Any]] | None = None,
    ) -> None:
        if query is None:
            items: list[tuple[str, str]] = []
        elif isinstance(query, bytes):
            try:
                text = query.decode("utf-8")
            except UnicodeDecodeError:
                text = query.decode("latin-1")
            items = parse_qsl(text, keep_blank_values=True)
        elif isinstance(query, str):
            items = parse_qsl(query, keep_blank_values=True)
        elif isinstance(query, Mapping):
            items = [(str(k), str(v)) for k, v in query.items()]
        else:
            items = [(str(k), str(v)) for k, v in query]
        super().__init__(items)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, QueryParams):
            return NotImplemented
        return sorted(self._list) == sorted(other._list)

    def __str__(self) -> str:
        return urlencode(self._list)

    def __repr__(self) -> str:
        return f"QueryParams({str(self)!r})"


_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}
#: Path characters that would end the path in ``str(request.url)`` (``?``, ``#``) or break
#: the URL (spaces, controls); the decoded path keeps everything else (non-ASCII included).
_PATH_UNSAFE = frozenset("?# \x7f" + "".join(chr(c) for c in range(0x20)))


class URL:
    """A parsed URL; build one from a string or from an ASGI scope."""

    __slots__ = ("_parts", "_url")

    def __init__(self, url: str = "", *, scope: Scope | None = None) -> None:
        if scope is not None:
            url = url_from_scope(scope)
        self._url = url
        self._parts = urlsplit(url)

    @property
    def scheme(self) -> str:
        return self._parts.scheme

    @property
    def netloc(self) -> str:
        return self._parts.netloc

    @property
    def hostname(self) -> str | None:
        return self._parts.hostname

    @property
    def port(self) -> int | None:
        try:
            return self._parts.port
        except ValueError:
            return None

    @property
    def path(self) -> str:
        return self._parts.path

    @property
    def query(self) -> str:
        return self._parts.query

    @property
    def fragment(self) -> str:
        return self._parts.fragment

    @property
    def is_secure(self) -> bool:
        return self.scheme in ("https", "wss")

    def replace(self, **kwargs: Any) -> URL:
        if "hostname" in kwargs or "port" in kwargs:
            host = kwargs.pop("hostname", self.hostname) or ""
            if ":" in host and not host.startswith("["):
                host = f"[{host}]"  # an IPv6 literal
            port = kwargs.pop("port", self.port)
            userinfo = self.netloc.rpartition("@")[0]
            netloc = f"{host}:{port}" if port is not None else host
            kwargs["netloc"] = f"{userinfo}@{netloc}" if userinfo else netloc
        return URL(urlunsplit(self._parts._replace(**kwargs)))

    def include_query_params(self, **params: Any) -> URL:
        items = QueryParams(self.query).multi_items()
        items = [(k, v) for k, v in items if k not in params]
        items += [(k, str(v)) for k, v in params.items()]
        return self.replace(query=urlencode(items))

    def __str__(self) -> str:
        return self._url

    def __repr__(self) -> str:
        return f"URL({self._url!r})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (URL, str)):
            return str(self) == str(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._url)


def url_from_scope(scope: Scope, *, path: str | None = None, with_query: bool = True) -> str:
    """The full URL the client asked for, honouring ``root_path`` the way ASGI 3 defines it."""
    scheme = scope.get("scheme", "http")
    host = None
    for k, v in scope["headers"]:
        if k == b"host":
            # only a Host the one strict parser accepts is written into a URL; anything
            # else (``/``, ``@``, a bad IPv6 literal) falls back to the server's address
            authority = parse_authority(v)
            if authority is not None:
                host = authority.netloc()
            break
    if host is None:
        host = _server_netloc(scope.get("server"), scheme)
    if path is None:
        root = scope.get("root_path", "")
        path = scope.get("path", "/")
        if root and not path.startswith(root):
            path = root + path
    if not _PATH_UNSAFE.isdisjoint(path):
        path = "".join(f"%{ord(c):02X}" if c in _PATH_UNSAFE else c for c in path)
    url = f"{scheme}://{host}{path}"
    if with_query:
        qs = scope.get("query_string", b"")
        if qs:
            url += "?" + qs.decode("latin-1")
    return url


def _server_netloc(server: Any, scheme: str) -> str:
    """The server's own address as a URL authority (``localhost`` when it is unknown)."""
    if not server:
        return "localhost"
    host, port = str(server[0]), server[1]
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"  # an IPv6 address
    return host if port is None or _DEFAULT_PORTS.get(scheme) == port else f"{host}:{port}"


class URLPath(str):
    """A path produced by reverse routing; ``make_absolute_url`` joins it to a base URL."""

    def __new__(cls, path: str, protocol: str = "") -> Self:
        obj = str.__new__(cls, path)
        obj.protocol = protocol
        return obj

    protocol: str

    def make_absolute_url(self, base_url: str | URL) -> URL:
        base = base_url if isinstance(base_url, URL) else URL(str(base_url))
        scheme = base.scheme
        if self.protocol == "websocket":
            scheme = "wss" if base.is_secure else "ws"
        elif self.protocol == "http":
            scheme = "https" if base.is_secure else "http"
        root = base.path.rstrip("/")
        return URL(f"{scheme}://{base.netloc}{root}{self}")
