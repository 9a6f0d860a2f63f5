"""The plugin author's surface: everything a plugin may import from the kernel.

Apps import from ``lamina``; plugins import from ``lamina`` and from this module, and from
nothing else in the kernel. First-party plugins follow the same rule (an import-linter
contract checks it), so whatever they can do, a third-party plugin can do too.
"""

from __future__ import annotations

from ._datastructures import url_from_scope
from ._errors import RAISE_KEY
from ._fileio import (
    DEFAULT_CHUNK_SIZE,
    O_NOFOLLOW,
    FileSnapshot,
    NotAFile,
    open_snapshot,
    run_in_thread,
)
from ._hookspecs import hookimpl, hookspec
from ._hosts import Authority, parse_authority
from ._middleware import (
    FOREIGN_PHASE,
    Middleware,
    MiddlewareEntry,
    as_middleware,
    ensure_asgi3,
    is_asgi3,
    wrap_in_order,
)
from ._plugins import PluginInfo, call_attributed, describe_plugin
from ._requests import APP_ROOT_KEY, MAX_BODY_KEY, parse_cookie_header
from ._responses import SPAWN_KEY, Background, run_background
from .cli import Command, load_app
from .types import ASGIApp, Message, Receive, RouteLike, Scope, Send

__all__ = [
    "APP_ROOT_KEY",
    "DEFAULT_CHUNK_SIZE",
    "FOREIGN_PHASE",
    "MAX_BODY_KEY",
    "O_NOFOLLOW",
    "RAISE_KEY",
    "SPAWN_KEY",
    "ASGIApp",
    "Authority",
    "Background",
    "Command",
    "FileSnapshot",
    "Message",
    "Middleware",
    "MiddlewareEntry",
    "NotAFile",
    "PluginInfo",
    "Receive",
    "RouteLike",
    "Scope",
    "Send",
    "as_middleware",
    "call_attributed",
    "describe_plugin",
    "ensure_asgi3",
    "hookimpl",
    "hookspec",
    "is_asgi3",
    "load_app",
    "open_snapshot",
    "parse_authority",
    "parse_cookie_header",
    "run_background",
    "run_in_thread",
    "url_from_scope",
    "wrap_in_order",
]
