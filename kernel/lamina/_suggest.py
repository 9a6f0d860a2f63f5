""" "Did you mean ...?" for names a user typed: hooks, settings keys, sections, plugins."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = ["SHORT_NAMES", "did_you_mean"]


def did_you_mean(name: str, candidates: Iterable[str], cutoff: float = 0.8) -> str:
    """`` (did you mean 'x'?)`` when a candidate is close to ``name``, else ``""``.

    The closest name only. The default cutoff, above difflib's 0.6, suits hook names: they
    share long prefixes (``lamina_register_``), which alone would make unrelated names look
    close, while a transposition or a missing letter still scores well above 0.8. Short
    names (plugins, sections, settings keys) pass :data:`SHORT_NAMES`: one swapped pair in
    a four-letter name (``gzpi``) scores 0.75."""
    close = difflib.get_close_matches(name, sorted(set(candidates)), n=1, cutoff=cutoff)
    if not close:
        return ""
    return f" (did you mean {close[0]!r}?)"


#: The cutoff for short names: plugin names, settings sections and keys.
SHORT_NAMES = 0.7
