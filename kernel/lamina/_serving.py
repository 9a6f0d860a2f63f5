"""``lamina serve``: one command line for three ASGI servers.

``--server uvicorn`` (the default), ``granian`` or ``hypercorn``, each an optional extra of
the ``lamina`` distribution. The options every server can honour (``--host``, ``--port``,
``--workers``, ``--reload``, ``--log-level``) are mapped to each server's own Python API; an
option or a combination a server cannot honour is refused with a message, never dropped.

Whatever is served is checked first to be callable as ``app(scope, receive, send)`` (ASGI 3)
and handed over as ASGI 3 explicitly: no server is left to guess the interface from the
call signature (hypercorn would take a two-argument callable for WSGI).
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._app import Lamina

__all__ = [
    "EXTRAS",
    "LOG_LEVELS",
    "SERVERS",
    "WORKERS_ENV",
    "ServeOptions",
    "add_serve_arguments",
    "asgi3_problem",
    "load_app",
    "load_asgi3_app",
    "serve",
]

#: Set by ``lamina serve --workers N`` for the worker processes: how many there are.
WORKERS_ENV = "LAMINA_WORKERS"
SERVERS = ("uvicorn", "granian", "hypercorn")
#: server -> the extra of the ``lamina`` distribution that installs it.
EXTRAS = {"uvicorn": "serve", "granian": "granian", "hypercorn": "hypercorn"}
#: The levels all three servers know, then ``trace`` (uvicorn's own, refused elsewhere).
LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")


class ServeError(Exception):
    """An option the chosen server cannot honour, or a server that is not installed."""


def _ensure_cwd_on_path() -> None:
    """``lamina serve examples.demo.app:app`` must work from the project root, like uvicorn."""
    cwd = os.getcwd()
    if cwd not in sys.path and "" not in sys.path:
        sys.path.insert(0, cwd)


def load_app(target: str) -> Lamina:
    """Import ``MODULE:ATTR`` (``ATTR`` may be dotted) and return the app object."""
    module_name, sep, attr = target.partition(":")
    if not sep or not module_name or not attr:
        raise SystemExit(
            f"lamina: expected MODULE:APP (for example 'myproject.app:app'), got {target!r}"
        )
    _ensure_cwd_on_path()
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise SystemExit(f"lamina: cannot import {module_name!r}: {exc}") from exc
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise SystemExit(f"lamina: module {module_name!r} has no attribute {attr!r}") from None
    return obj  # type: ignore[no-any-return]  # whatever MODULE:APP names, as uvicorn takes it


def asgi3_problem(app: object) -> str | None:
    """Why ``app`` cannot be an ASGI 3 application, or ``None``.

    Only what the call signature proves: a WSGI app (``environ, start_response``) or an
    ASGI 2 one (``scope`` alone) cannot take three arguments. A callable whose signature
    Python cannot read is given the benefit of the doubt."""
    if not callable(app):
        return f"{type(app).__name__!r} objects are not callable"
    try:
        inspect.signature(app).bind(None, None, None)
    except TypeError:
        return (
            "it cannot be called as app(scope, receive, send) "
            "(a WSGI app, or an ASGI 2 app taking the scope alone?)"
        )
    except ValueError:
        return None
    return None


def load_asgi3_app(target: str) -> Any:
    """:func:`load_app`, refusing what is not an ASGI 3 application. Granian calls it in
    each worker process, so the check holds where the app is really loaded."""
    app = load_app(target)
    problem = asgi3_problem(app)
    if problem is not None:
        raise SystemExit(f"lamina serve: {target} is not an ASGI 3 application: {problem}")
    return app


@dataclass(frozen=True)
class ServeOptions:
    target: str
    host: str
    port: int
    workers: int
    reload: bool
    log_level: str


def add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("app", metavar="MODULE:APP", help="the app to serve")
    parser.add_argument(
        "--server",
        choices=SERVERS,
        default="uvicorn",
        help="the ASGI server (default uvicorn; granian and hypercorn are the extras "
        "lamina[granian] and lamina[hypercorn])",
    )
    parser.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    parser.add_argument("--reload", action="store_true", help="restart when code changes")
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="worker processes (default 1); each runs the app's lifespan, so state shared "
        "between workers needs a shared backend (sessions/broadcast: Redis)",
    )
    parser.add_argument(
        "--log-level",
        choices=LOG_LEVELS,
        default="info",
        help="the server's log level (default info; trace is uvicorn's only)",
    )


def serve(args: argparse.Namespace) -> int:
    """Run ``lamina serve``; the exit status (2 for an option the server cannot honour)."""
    options = ServeOptions(
        target=args.app,
        host=args.host,
        port=args.port,
        workers=args.workers,
        reload=args.reload,
        log_level=args.log_level,
    )
    try:
        if options.workers < 1:
            raise ServeError("--workers must be at least 1")
        if not 0 <= options.port <= 65535:
            raise ServeError(f"--port must be between 0 and 65535, got {options.port}")
        runner = _RUNNERS[args.server]
        server = _import_server(args.server)
        if options.log_level == "trace" and args.server != "uvicorn":
            raise ServeError(f"{args.server} has no 'trace' log level; use debug")
        _ensure_cwd_on_path()
        return runner(server, options)
    except ServeError as exc:
        print(f"lamina serve: {exc}", file=sys.stderr)
        return 2


def _import_server(name: str) -> ModuleType:
    try:
        return importlib.import_module(name)
    except ImportError:
        raise ServeError(
            f"--server {name} needs {name}, which is not installed: "
            f"pip install 'lamina[{EXTRAS[name]}]'"
        ) from None


def _announce_workers(options: ServeOptions) -> None:
    """Plugins read it at startup (lamina-broadcast warns that memory:// is per process)."""
    if options.workers > 1:
        os.environ[WORKERS_ENV] = str(options.workers)


def _run_uvicorn(uvicorn: ModuleType, options: ServeOptions) -> int:
    # Any ASGI 3 callable may be served (an app wrapped in a plain class too): say so
    # rather than let uvicorn guess the interface from the call signature.
    common: dict[str, Any] = {
        "host": options.host,
        "port": options.port,
        "log_level": options.log_level,
        "interface": "asgi3",
    }
    if options.reload:
        if options.workers > 1:
            raise ServeError(
                "uvicorn's --reload runs one process; drop --workers "
                "(granian and hypercorn can reload several)"
            )
        # The reloader imports the app in a fresh process at every change: by name.
        uvicorn.run(options.target, reload=True, reload_dirs=[os.getcwd()], **common)
    elif options.workers > 1:
        load_asgi3_app(options.target)  # fail here, clearly, rather than in every worker
        _announce_workers(options)
        uvicorn.run(options.target, workers=options.workers, **common)
    else:
        uvicorn.run(load_asgi3_app(options.target), **common)
    return 0


def _run_granian(granian: ModuleType, options: ServeOptions) -> int:
    from pathlib import Path

    from granian.constants import Interfaces
    from granian.log import LogLevels

    if options.reload:
        try:
            import watchfiles  # noqa: F401  # granian's reloader
        except ImportError:
            raise ServeError(
                "--reload under granian needs watchfiles: pip install 'lamina[granian]'"
            ) from None
        # Not imported here: a reload forks fresh workers from this process, which must
        # not hold the old code.
    else:
        load_asgi3_app(options.target)  # fail here, clearly, before any worker starts
    _announce_workers(options)
    cwd = Path.cwd()
    server = granian.Granian(
        options.target,
        address=options.host,
        port=options.port,
        interface=Interfaces.ASGI,  # ASGI 3 with the lifespan protocol
        workers=options.workers,
        log_level=LogLevels(options.log_level),
        reload=options.reload,
        reload_paths=[cwd],
        working_dir=cwd,
    )
    # Each worker loads the app through load_asgi3_app (the check, the project on the path).
    server.serve(target_loader=load_asgi3_app)
    return 0


def _hypercorn_bind(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _run_hypercorn(hypercorn: ModuleType, options: ServeOptions) -> int:
    import asyncio

    from hypercorn.config import Config

    app = load_asgi3_app(options.target)
    config = Config()
    config.bind = [_hypercorn_bind(options.host, options.port)]
    config.loglevel = options.log_level.upper()
    if options.workers == 1 and not options.reload:
        # One process, like uvicorn's: the app object checked above, served in this process.
        from hypercorn.asyncio import serve as hypercorn_serve
        from hypercorn.utils import LifespanFailureError

        try:
            asyncio.run(hypercorn_serve(app, config, mode="asgi"))
        except LifespanFailureError as exc:  # the app logged why; no second traceback
            print(f"lamina serve: {exc}", file=sys.stderr)
            return 3  # what uvicorn exits with when the startup fails
        return 0
    from hypercorn.run import run

    _announce_workers(options)
    # Worker processes import the app by name; "asgi:" says which interface it speaks.
    config.application_path = f"asgi:{options.target}"
    config.workers = options.workers
    config.use_reloader = options.reload
    return int(run(config))


_RUNNERS: dict[str, Callable[[ModuleType, ServeOptions], int]] = {
    "uvicorn": _run_uvicorn,
    "granian": _run_granian,
    "hypercorn": _run_hypercorn,
}
