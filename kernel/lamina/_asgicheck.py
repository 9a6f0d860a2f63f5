"""Is it the input's fault? Checked only after something failed, never on the hot path.

Since server errors go on to the server after their 500 (outer middleware and the server
see them, as in Starlette), an error caused by malformed ASGI input from a buggy server or
middleware would escape too. The kernel does not validate every scope up front (that would
cost every request); when an error reaches the kernel's outer layers it asks here whether
the scope, or a message, broke the ASGI spec. If so the error is the input's: answered
whole (500, or 1011 for a WebSocket), logged once, and not raised further.
"""

from __future__ import annotations

from typing import Any

from .types import Scope

__all__ = ["ASGIMessageError", "input_problem", "scope_problem"]


class ASGIMessageError(RuntimeError):
    """A message from ``receive`` broke the ASGI spec (a body that is not bytes, ...)."""


def _bytes_pairs(headers: Any) -> bool:
    if not isinstance(headers, (list, tuple)):
        return False
    for pair in headers:
        if not isinstance(pair, (list, tuple)) or len(pair) != 2:
            return False
        if type(pair[0]) is not bytes or type(pair[1]) is not bytes:
            return False
    return True


def _address(value: Any, port_optional: bool) -> bool:
    if value is None:
        return True
    if not isinstance(value, (list, tuple)) or len(value) != 2 or not isinstance(value[0], str):
        return False
    port = value[1]
    return (port is None and port_optional) or (
        isinstance(port, int) and not isinstance(port, bool)
    )


#: key -> (required, check) for what HTTP and WebSocket scopes share (ASGI 3, spec 2.4).
_COMMON: dict[str, tuple[bool, Any]] = {
    "path": (True, lambda v: isinstance(v, str)),
    "headers": (True, _bytes_pairs),
    "http_version": (False, lambda v: v in ("1.0", "1.1", "2", "3")),
    "scheme": (False, lambda v: isinstance(v, str)),
    "raw_path": (False, lambda v: v is None or isinstance(v, bytes)),
    "query_string": (False, lambda v: isinstance(v, bytes)),
    "root_path": (False, lambda v: isinstance(v, str)),
    "client": (False, lambda v: _address(v, False)),
    "server": (False, lambda v: _address(v, True)),
    "extensions": (False, lambda v: v is None or isinstance(v, dict)),
    "state": (False, lambda v: isinstance(v, dict)),
}
_HTTP = {**_COMMON, "method": (True, lambda v: isinstance(v, str))}
_WEBSOCKET = {
    **_COMMON,
    "subprotocols": (
        False,
        lambda v: isinstance(v, (list, tuple)) and all(isinstance(s, str) for s in v),
    ),
}


def scope_problem(scope: Scope) -> str | None:
    """What is wrong with an HTTP or WebSocket scope (``None``: nothing the spec forbids)."""
    rules = _HTTP if scope.get("type") == "http" else _WEBSOCKET
    for key, (required, check) in rules.items():
        if key not in scope:
            if required:
                return f"the scope has no {key!r}"
            continue
        try:
            ok = check(scope[key])
        except Exception:
            ok = False
        if not ok:
            return f"the scope's {key!r} is malformed: {scope[key]!r:.60}"
    return None


def input_problem(scope: Scope, exc: BaseException) -> str | None:
    """Why ``exc`` is the input's fault, or ``None`` when it is the application's."""
    if isinstance(exc, ASGIMessageError):
        return str(exc)
    return scope_problem(scope)
