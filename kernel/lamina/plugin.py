"""The plugin author's surface: everything a plugin may import from the kernel.

Apps import from ``lamina``; plugins import from ``lamina`` and from this module, and from
nothing else in the kernel. First-party plugins follow the same rule (an import-linter
contract checks it), so whatever they can do, a third-party plugin can do too.

What is here, by job:

* Hooks: :data:`hookimpl` / :data:`hookspec` markers (the kernel's hooks are documented in
  ``docs/hooks.md``).
* Middleware: :class:`Middleware` declares a layer of the onion; :data:`MiddlewareEntry`
  and :func:`as_middleware` accept Starlette-style entries (placed in
  :data:`FOREIGN_PHASE`); :func:`ensure_asgi3` / :func:`is_asgi3` hand foreign code a real
  ASGI 3 callable; :func:`wrap_in_order` builds a route's own onion, and
  :func:`handle_errors` puts the app's error handling inside it (a mount's 404 passes
  back out through the mount's CORS layer).
* Contributions: :func:`collect_contributions` collects a ``register``-style hook your plugin
  defines (attribution, validation, conflicts naming both contributors);
  :func:`call_hook` calls a plain one; :func:`reject_duplicates` is their conflict check,
  for contributions you combine yourself. Call them from ``lamina_assemble``. Each item comes
  back as a :class:`Contribution` ``(value, plugin)``; routes as a
  :class:`RouteContribution`. :class:`PluginInfo` is what ``app.plugin_info(name)`` returns;
  ``app.describe_plugin(name)`` (or :func:`describe_plugin`, without an app) names a plugin
  in an error message.
* Settings: declare a dataclass with ``lamina_settings_schema``; hooks take ``settings``
  (yours, validated), and ``app.settings_for(name)`` reads anyone's. :func:`settings_from`
  validates settings given in code (a per-mount policy) by the same rules.
* ASGI vocabulary: :data:`ASGIApp`, :data:`Scope`, :data:`Receive`, :data:`Send`,
  :data:`Message`; :class:`RouteLike`, what a router routes.
* Scope keys the kernel reads or sets: :data:`SCOPE_RAISE_SERVER_EXCEPTIONS` (set by the
  test client: error layers re-raise after answering 500), :data:`SCOPE_MAX_BODY_SIZE` (a
  per-route override of the body limit; ``None`` lifts it), :data:`SCOPE_SPAWN` (a
  ``spawn(background)`` callable: run a response's background task somewhere else, as
  lamina-background does), :data:`SCOPE_APP_ROOT_PATH` (where this app is mounted, set by
  its router on entering a mount of the app's own routes; ``root_path`` when absent),
  :data:`SCOPE_FAILED_AFTER_START` (the exception that escaped after the response start
  went to ``send``; see below).
* Errors after the response started: the kernel's error layers do not wrap ``send`` to
  learn whether a response is under way; whatever sends sets
  ``scope[SCOPE_FAILED_AFTER_START] = exc`` for an exception that escapes it after handing
  ``http.response.start`` to ``send`` (Lamina's ``Response`` does). A router from
  ``lamina_make_router`` that does so for everything it serves says it with a true
  ``marks_response_start`` attribute; any other router, and any foreign app a router serves
  (a raw ASGI endpoint, a mounted app, route middleware), goes behind
  :func:`track_response_start`, which watches ``send`` for it.
* Shutdown: :class:`ShutdownRegistry` ends open streams (cancel scopes) as soon as the
  server starts shutting down, whichever process the signal reaches.
* Small utilities plugins need: :func:`url_from_scope`, :func:`parse_cookie_header`,
  :func:`parse_authority` / :class:`Authority` (a strict Host parser),
  :func:`run_in_thread`, :func:`run_background` / :class:`Background`; for serving files
  safely, :func:`open_snapshot`, :class:`FileSnapshot`, :class:`NotAFile`,
  :data:`O_NOFOLLOW`, :data:`DEFAULT_CHUNK_SIZE`.
* CLI: :class:`Command` for ``lamina_register_commands``; :func:`load_app` for
  ``MODULE:APP`` arguments.
* Shorthands: :data:`Register` types a hook's ``register`` (``Register[Middleware]``,
  ``Register[str, str]``);
  :func:`settings_schema` is the whole settings hook (``lamina_settings_schema =
  settings_schema(Settings)``) and :func:`contributes` a register hook of fixed items
  (``lamina_register_routes = contributes(Route(...))``); :func:`send_with_headers` adds
  response headers on a copy of the start message, never mutating the app's header list.
"""

from __future__ import annotations

from ._assembly import RouteContribution
from ._contributions import Contribution, call_hook, collect_contributions, reject_duplicates
from ._datastructures import url_from_scope
from ._errors import RAISE_KEY as SCOPE_RAISE_SERVER_EXCEPTIONS
from ._errors import handle_errors, track_response_start
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
from ._plugins import PluginInfo, describe_plugin
from ._requests import parse_cookie_header
from ._responses import SPAWN_KEY as SCOPE_SPAWN
from ._responses import Background, run_background
from ._scopekeys import APP_ROOT_KEY as SCOPE_APP_ROOT_PATH
from ._scopekeys import FAILED_AFTER_START_KEY as SCOPE_FAILED_AFTER_START
from ._scopekeys import MAX_BODY_KEY as SCOPE_MAX_BODY_SIZE
from ._settings import settings_from
from ._shorthands import contributes, send_with_headers, settings_schema
from ._shutdown import ShutdownRegistry
from .cli import Command, load_app
from .types import ASGIApp, Message, Receive, Register, RouteLike, Scope, Send

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "FOREIGN_PHASE",
    "O_NOFOLLOW",
    "SCOPE_APP_ROOT_PATH",
    "SCOPE_FAILED_AFTER_START",
    "SCOPE_MAX_BODY_SIZE",
    "SCOPE_RAISE_SERVER_EXCEPTIONS",
    "SCOPE_SPAWN",
    "ASGIApp",
    "Authority",
    "Background",
    "Command",
    "Contribution",
    "FileSnapshot",
    "Message",
    "Middleware",
    "MiddlewareEntry",
    "NotAFile",
    "PluginInfo",
    "Receive",
    "Register",
    "RouteContribution",
    "RouteLike",
    "Scope",
    "Send",
    "ShutdownRegistry",
    "as_middleware",
    "call_hook",
    "collect_contributions",
    "contributes",
    "describe_plugin",
    "ensure_asgi3",
    "handle_errors",
    "hookimpl",
    "hookspec",
    "is_asgi3",
    "load_app",
    "open_snapshot",
    "parse_authority",
    "parse_cookie_header",
    "reject_duplicates",
    "run_background",
    "run_in_thread",
    "send_with_headers",
    "settings_from",
    "settings_schema",
    "track_response_start",
    "url_from_scope",
    "wrap_in_order",
]
