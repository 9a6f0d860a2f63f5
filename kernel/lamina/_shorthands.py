"""Shorthands for what almost every plugin module writes: hooks that only hand over
constants (its settings schema, its routes), and a ``send`` that adds response headers
without touching the app's message.

They exist because the long forms are pure ceremony or easy to get subtly wrong: a hook
that only returns a class or registers a fixed route is three lines each; a middleware that
appends to ``message["headers"]`` mutates a list the app may reuse for every response (a
constant ``Response``'s own header list), so its header piles up once more per request.
Each shorthand is exactly the long form (``@hookimpl`` on a plain function), so pluggy,
``lamina plugins`` and ``lamina check-plugin`` see an ordinary hook implementation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

from ._hookspecs import hookimpl
from .types import Message, Register, Send

__all__ = ["contributes", "send_with_headers", "settings_schema"]

S = TypeVar("S", bound=type)
T = TypeVar("T")

#: The messages that open a response and carry its headers.
_STARTS = frozenset({"http.response.start", "websocket.accept"})


def settings_schema(schema: S) -> Callable[[], S]:
    """The ``lamina_settings_schema`` hook implementation for a plugin whose settings are
    ``schema`` (a dataclass). Assign it in the plugin module, under the hook's name::

        @dataclass(frozen=True)
        class Settings:
            header: str = "x-request-id"

        lamina_settings_schema = settings_schema(Settings)

    It is exactly ``@hookimpl def lamina_settings_schema(): return Settings``.
    """

    def lamina_settings_schema() -> S:
        return schema

    lamina_settings_schema.__doc__ = f"The plugin's settings: {schema.__qualname__}."
    return hookimpl(lamina_settings_schema)


def contributes(*items: T) -> Callable[[Register[T]], None]:
    """A ``lamina_register_*`` hook implementation that registers ``items``, in order, and
    nothing else. Assign it in the plugin module, under the hook's name::

        lamina_register_routes = contributes(Route("/_requestid/health", health))

    It is exactly ``@hookimpl def lamina_register_routes(register): register(route)``. A
    contribution that depends on the settings needs the long form (the hook gets them).
    """

    def register_items(register: Register[T]) -> None:
        for item in items:
            register(item)

    register_items.__doc__ = f"Registers {len(items)} fixed contribution(s)."
    return hookimpl(register_items)


def send_with_headers(send: Send, headers: Iterable[tuple[bytes, bytes]]) -> Send:
    """``send``, with ``headers`` (lower-case names, as ASGI wants them) added to the message
    that starts the response (``http.response.start``, or ``websocket.accept``).

    The message is copied with a new header list: the one the app sent is never mutated
    (it may be a response object's own list, reused for every request). Other messages pass
    unchanged. An ``async def``, so ASGI code that inspects ``send`` sees a real coroutine.
    """
    extra = tuple(headers)

    async def send_adding_headers(message: Message) -> None:
        if message["type"] in _STARTS:
            message = {**message, "headers": [*message.get("headers", ()), *extra]}
        await send(message)

    return send_adding_headers
