"""The ``lamina`` command line."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    print("lamina: not yet", file=sys.stderr)
    return 2
