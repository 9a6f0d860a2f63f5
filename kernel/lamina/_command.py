"""The :class:`Command` a plugin registers through ``lamina_register_commands``.

It lives apart from :mod:`lamina.cli` so that the CLI's plugin loading (and ``python -m
lamina.cli``) all share one class; :mod:`lamina.cli` and :mod:`lamina.plugin` re-export it.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Command"]


@dataclass(frozen=True)
class Command:
    """A ``lamina`` subcommand contributed by a plugin.

    ``add_arguments(parser)`` declares the options on an ``argparse`` sub-parser;
    ``run(args)`` does the work and returns the exit status (``None`` means 0).
    """

    name: str
    help: str
    run: Callable[[argparse.Namespace], int | None]
    add_arguments: Callable[[argparse.ArgumentParser], None] | None = None
