"""The ``lamina`` command line: serve an app, list plugins and the middleware onion.

Plugins add subcommands through the ``lamina_register_commands(register)`` hook with a
:class:`Command`. The CLI builds its own plugin manager for that (entry points honour the
same selection environment variables as an app), so a broken plugin can still be listed.

Commands::

    lamina serve MODULE:APP [--server uvicorn|granian|hypercorn] [--host 127.0.0.1]
                 [--port 8000] [--workers N] [--reload] [--log-level info]
    lamina plugins [--json]
    lamina middleware MODULE:APP [--json]
    lamina new-plugin NAME [--dir DIR]
    lamina check-plugin DIST

A plugin that fails to load costs only its own commands: the others still run, and the
broken ones are listed on stderr with their fixes.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ._command import Command
from ._serving import WORKERS_ENV, add_serve_arguments, load_app, serve

if TYPE_CHECKING:
    from ._commands import CommandSet

__all__ = ["WORKERS_ENV", "Command", "load_app", "main"]


# --------------------------------------------------------------------------- plugins
def plugin_report(settings_file: str | None = None) -> list[dict[str, Any]]:
    """Every installed entry-point plugin, whether the environment enables it, and whether
    the settings file (``lamina.toml`` or ``$LAMINA_SETTINGS_FILE``) suits its schema."""
    return _plugin_report(settings_file)[0]


def _plugin_report(settings_file: str | None) -> tuple[list[dict[str, Any]], list[str]]:
    """The rows, and the settings file's problems that belong to no plugin's row."""
    from ._plugins import (
        inspect_installed,
        resolve_selection,
        selection_warnings,
        settings_file_problems,
    )
    from ._settings import load_settings_file

    sections = load_settings_file(settings_file)
    infos = inspect_installed(sections)
    for warning in selection_warnings(resolve_selection(None, None, None), (i.name for i in infos)):
        print(f"lamina: warning: {warning}", file=sys.stderr)
    return [info.as_dict() for info in infos], settings_file_problems(sections, infos)


def _plugins_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument(
        "--app", metavar="MODULE:APP", help="list the plugins of this app (including local ones)"
    )
    parser.add_argument(
        "--settings-file",
        metavar="PATH",
        help="check settings against this file instead of ./lamina.toml",
    )


def _plugins(args: argparse.Namespace) -> int:
    problems: list[str] = []
    if args.app:
        app = load_app(args.app)
        rows = [info.as_dict() for info in app.plugin_infos]
    else:
        rows, problems = _plugin_report(args.settings_file)
    # problems of the file as a whole go to stderr, so ``--json`` output stays one document
    for problem in problems:
        print(f"lamina: settings file: {problem}", file=sys.stderr)
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        print("no lamina plugins installed")
        return 0
    for row in rows:
        state = "enabled" if row["enabled"] else f"disabled ({row['reason']})"
        dist = f"{row['distribution']} {row['version']}" if row["distribution"] else row["source"]
        print(f"{row['name']}  [{dist}]  {state}  settings: {row['settings']}")
        if row["error"]:
            print(f"    error: {row['error']}")
        for problem in row["settings_errors"]:
            print(f"    settings: {problem}")
        if row["hooks"]:
            print(f"    hooks: {', '.join(row['hooks'])}")
    return 0


# --------------------------------------------------------------------------- middleware
def _middleware_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("app", metavar="MODULE:APP", help="the app to inspect")
    parser.add_argument("--json", action="store_true", help="print JSON")


def _middleware(args: argparse.Namespace) -> int:
    app = load_app(args.app)
    app.assemble()
    rows = app.describe_middleware()
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print("request ->  (outermost first)")
    for i, row in enumerate(rows, 1):
        print(
            f"{i:>3}. {row['name']}  phase={row['phase']} priority={row['priority']} "
            f"plugin={row['plugin']}"
        )
    print("      -> error layer -> router")
    return 0


BUILTIN = (
    Command(
        "serve",
        "Serve MODULE:APP with uvicorn (or --server granian / hypercorn).",
        serve,
        add_serve_arguments,
    ),
    Command("plugins", "List installed plugins.", _plugins, _plugins_arguments),
    Command(
        "middleware",
        "Print the middleware onion of MODULE:APP.",
        _middleware,
        _middleware_arguments,
    ),
)


def collect_commands() -> list[tuple[str, Command]]:
    """Built-in commands, then each working enabled entry-point plugin's ``(plugin, command)``
    (a broken plugin's commands are left out; :func:`main` says why)."""
    return _gather().commands


def _gather() -> CommandSet:
    from ._commands import gather_commands
    from ._settings import load_settings_file

    return gather_commands(BUILTIN + _authoring_commands(), lambda: load_settings_file(None))


def _authoring_commands() -> tuple[Command, ...]:
    from ._authoring import COMMANDS

    return COMMANDS


def build_parser(commands: Sequence[tuple[str, Command]]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lamina", description="The Lamina command line.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for _plugin, cmd in commands:
        p = sub.add_parser(cmd.name, help=cmd.help, description=cmd.help)
        if cmd.add_arguments is not None:
            cmd.add_arguments(p)
        p.set_defaults(_run=cmd.run)
    return parser


def _requested_command(argv: Sequence[str]) -> str | None:
    """The subcommand name: the first argument that is not an option (the top-level
    parser takes no option with a value)."""
    return next((a for a in argv if not a.startswith("-")), None)


def _refuse(name: str, found: CommandSet) -> int:
    """Why ``lamina NAME`` cannot run, with the fix, instead of argparse's bare
    ``invalid choice``."""
    from ._suggest import did_you_mean

    if name in found.unavailable:
        print(f"lamina: {found.unavailable[name]}", file=sys.stderr)
        return 2
    known = sorted(c.name for _p, c in found.commands)
    message = f"lamina: unknown command {name!r}{did_you_mean(name, known)}"
    message += f"; commands: {', '.join(known)}"
    if found.broken:
        message += (
            ". It may come from a plugin that failed to load: "
            + ", ".join(b.description for b in found.broken)
            + " (see above)"
        )
    print(message, file=sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``lamina`` console script (and of ``python -m lamina``)."""
    from ._exceptions import AssemblyError

    argv = list(sys.argv[1:] if argv is None else argv)
    found = _gather()
    if found.broken:
        lines = [f"lamina: {len(found.broken)} installed plugin(s) could not be loaded:"]
        lines += [f"  - {problem}" for problem in found.broken]
        print("\n".join(lines), file=sys.stderr)
    name = _requested_command(argv)
    if name is not None and name not in {c.name for _p, c in found.commands}:
        return _refuse(name, found)
    parser = build_parser(found.commands)
    args = parser.parse_args(argv)
    try:
        status = args._run(args)
    except AssemblyError as exc:
        print(f"lamina: {exc}", file=sys.stderr)
        return 1
    return int(status or 0)


if __name__ == "__main__":  # pragma: no cover - ``python -m lamina.cli``
    # Run as a script, this file is the module ``__main__``, a second copy of lamina.cli
    # whose Command class is not the one plugins import; hand over to the real module.
    from lamina.cli import main as _main

    raise SystemExit(_main())
