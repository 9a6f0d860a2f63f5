""" "Did you mean ...?" for names a user typed: hooks, settings keys, sections, plugins."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = ["did_you_mean"]


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` when a candidate is close to ``name``, else ``""``.

    The closest name only, with a cutoff above difflib's 0.6: names here share long
    prefixes (``lamina_register_``), which alone would make unrelated names look close;
    a transposition or a missing letter still scores well above 0.8."""
    close = difflib.get_close_matches(name, sorted(set(candidates)), n=1, cutoff=0.8)
    if not close:
        return ""
    return f" (did you mean {close[0]!r}?)"
