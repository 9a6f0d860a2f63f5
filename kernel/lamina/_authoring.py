"""The plugin authors' commands: ``lamina new-plugin`` and ``lamina check-plugin``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ._command import Command

__all__ = ["COMMANDS"]


def _new_plugin_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", help="the plugin's name: entry point, settings section")
    parser.add_argument(
        "--dir", default=".", type=Path, help="where to create lamina-NAME/ (default: here)"
    )


def _new_plugin(args: argparse.Namespace) -> int:
    from ._scaffold import generate

    try:
        root = generate(args.name, args.dir)
    except (ValueError, FileExistsError) as exc:
        print(f"lamina new-plugin: {exc}", file=sys.stderr)
        return 2
    print(f"created {root}")
    print(f"next: cd {root} && python -m pytest   (with lamina and lamina-routing installed)")
    print(f"then: uv pip install -e {root}   and it shows in `lamina plugins`")
    return 0


def _check_plugin_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "dist", metavar="DIST", help="an installed distribution or plugin name, or a project path"
    )


def _check_plugin(args: argparse.Namespace) -> int:
    from ._conformance import check_plugin

    report = check_plugin(args.dist)
    print(report)
    return 0 if report.ok else 1


COMMANDS = (
    Command(
        "new-plugin",
        "Create lamina-NAME/, an installable plugin distribution with tests.",
        _new_plugin,
        _new_plugin_arguments,
    ),
    Command(
        "check-plugin",
        "Check that a plugin distribution is well-formed (hooks, settings, docs, typing).",
        _check_plugin,
        _check_plugin_arguments,
    ),
)
