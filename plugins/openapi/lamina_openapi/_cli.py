"""``lamina openapi MODULE:APP``: print the app's OpenAPI document."""

from __future__ import annotations

import argparse
import json
import os
import sys

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("app", metavar="MODULE:APP", help="the app whose document to print")
    parser.add_argument(
        "--indent", type=int, default=2, help="JSON indentation (default 2; 0: one line)"
    )
    parser.add_argument("--output", "-o", metavar="FILE", help="write to FILE, not stdout")


def run(args: argparse.Namespace) -> int:
    from lamina.plugin import load_app

    from . import openapi_document

    document = openapi_document(load_app(args.app))
    text = json.dumps(document, indent=args.indent or None, ensure_ascii=False)
    if args.output:
        with open(args.output, "w", encoding="utf-8") as out:
            out.write(text + "\n")
        return 0
    try:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()
    except BrokenPipeError:
        # the reader left early (`| head`): not a failure; keep Python's exit flush quiet
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0
