"""Path templates (``/users/{id:int}/files/{rest:path}``) compiled once, at assembly.

A template becomes a :class:`PathPattern`: its segments for the matcher's trie, one full
regular expression (used for ``path`` parameters and by nothing on the hot path otherwise),
the pieces needed to build a URL back from parameters, and a *shape* (the template with the
parameter names erased) that detects two routes claiming the same path.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from ._converters import Converter

__all__ = ["PathPattern", "compile_host", "compile_path"]

PARAM_RE = re.compile(r"\{([^{}]*)\}")
NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
#: Characters left as they are when a path is built back from a template (RFC 3986 pchar).
_SAFE_SEGMENT = "-._~!$&'()*+,;=:@"
_SAFE_PATH = _SAFE_SEGMENT + "/"


@dataclass(frozen=True)
class Literal:
    text: str


@dataclass(frozen=True)
class Param:
    name: str
    converter_name: str
    converter: Converter


@dataclass(frozen=True)
class Partial:
    """A segment mixing literal text and parameters, e.g. ``{name}.{ext}``."""

    regex: re.Pattern[str]
    converters: tuple[Converter, ...]
    key: str


Segment = Literal | Param | Partial


@dataclass(frozen=True)
class PathPattern:
    template: str
    tokens: tuple[Literal | Param, ...]
    #: Segments the trie walks; stops before the segment holding a ``path`` parameter.
    segments: tuple[Segment, ...]
    #: Index of the segment where a spanning (``path``) parameter starts, else ``None``.
    tail_at: int | None
    names: tuple[str, ...]
    #: The whole-template regex source; compiled on first use (``path`` parameters, hosts).
    regex_source: str
    shape: str
    flags: int = re.DOTALL

    @functools.cached_property
    def regex(self) -> re.Pattern[str]:
        return re.compile(self.regex_source, self.flags)

    @property
    def is_static(self) -> bool:
        return not self.names

    def convert_groups(self, match: re.Match[str]) -> tuple[Any, ...] | None:
        """Converted values of a full-regex match, ``None`` if a converter refuses one."""
        values = []
        for token, text in zip(self.params, match.groups(), strict=True):
            try:
                values.append(token.converter.convert(text))
            except ValueError:
                return None
        return tuple(values)

    @property
    def params(self) -> tuple[Param, ...]:
        return tuple(t for t in self.tokens if isinstance(t, Param))

    def build(self, values: Mapping[str, Any]) -> str:
        """The percent-encoded path for ``values`` (every name present; checked by callers)."""
        out: list[str] = []
        for token in self.tokens:
            if isinstance(token, Literal):
                out.append(quote(token.text, safe=_SAFE_PATH))
            else:
                text = token.converter.to_string(values[token.name])
                safe = _SAFE_PATH if token.converter.spans_segments else _SAFE_SEGMENT
                out.append(quote(text, safe=safe))
        return "".join(out)


def _parse_tokens(template: str, lookup: Callable[[str], Converter]) -> list[Literal | Param]:
    tokens: list[Literal | Param] = []
    seen: set[str] = set()
    pos = 0
    for m in PARAM_RE.finditer(template):
        if m.start() > pos:
            tokens.append(Literal(template[pos : m.start()]))
        name, _, conv_name = m.group(1).partition(":")
        name, conv_name = name.strip(), (conv_name.strip() or "str")
        if not NAME_RE.fullmatch(name):
            raise ValueError(
                f"path {template!r}: {m.group(0)!r} is not a valid parameter "
                "(expected '{name}' or '{name:converter}')"
            )
        if name in seen:
            raise ValueError(f"path {template!r}: parameter {name!r} appears twice")
        seen.add(name)
        tokens.append(Param(name, conv_name, lookup(conv_name)))
        pos = m.end()
    if pos < len(template):
        tokens.append(Literal(template[pos:]))
    for t in tokens:
        if isinstance(t, Literal) and ("{" in t.text or "}" in t.text):
            raise ValueError(f"path {template!r}: unbalanced '{{' or '}}'")
    return tokens


def _segment(text: str, lookup: Callable[[str], Converter], template: str) -> Segment:
    tokens = _parse_tokens(text, lookup) if "{" in text or "}" in text else [Literal(text)]
    if len(tokens) == 1:
        return tokens[0]
    for first, second in itertools.pairwise(tokens):
        if isinstance(first, Param) and isinstance(second, Param):
            # "{a}{b}" cannot be split unambiguously, and its regex backtracks quadratically
            raise ValueError(
                f"path {template!r}: parameters {first.name!r} and {second.name!r} "
                "touch; put literal text between them"
            )
    pattern = "".join(
        re.escape(t.text) if isinstance(t, Literal) else f"({t.converter.regex})" for t in tokens
    )
    convs = tuple(t.converter for t in tokens if isinstance(t, Param))
    return Partial(re.compile(pattern, re.DOTALL), convs, pattern)


def compile_path(
    template: str, lookup: Callable[[str], Converter], *, prefix: bool = False
) -> PathPattern:
    """Compile ``template``; ``prefix=True`` for mounts (``""`` is the root, no trailing ``/``).

    ``lookup(name)`` resolves a converter name; it raises ``KeyError`` for an unknown one.
    """

    def resolve(name: str) -> Converter:
        try:
            return lookup(name)
        except KeyError:
            raise ValueError(f"path {template!r}: unknown converter {name!r}") from None

    if prefix:
        if template and not template.startswith("/"):
            raise ValueError(f"mount path {template!r} must start with '/' (or be empty)")
    elif not template.startswith("/"):
        raise ValueError(f"route path {template!r} must start with '/'")
    tokens = _parse_tokens(template, resolve)
    spanning = [t.name for t in tokens if isinstance(t, Param) and t.converter.spans_segments]
    if len(spanning) > 1:
        raise ValueError(
            f"path {template!r}: only one 'path' parameter per template (got {', '.join(spanning)})"
        )
    segments: list[Segment] = []
    tail_at: int | None = None
    if template:
        for i, text in enumerate(template[1:].split("/")):
            seg = _segment(text, resolve, template)
            spans = (isinstance(seg, Param) and seg.converter.spans_segments) or (
                isinstance(seg, Partial) and any(c.spans_segments for c in seg.converters)
            )
            if spans:
                if prefix:
                    raise ValueError(f"mount path {template!r} cannot hold a 'path' parameter")
                tail_at = i
                break
            segments.append(seg)
    regex = "".join(
        re.escape(t.text) if isinstance(t, Literal) else f"(?P<{t.name}>{t.converter.regex})"
        for t in tokens
    )
    shape = "".join(
        t.text if isinstance(t, Literal) else "{:" + t.converter_name + "}" for t in tokens
    )
    names = tuple(t.name for t in tokens if isinstance(t, Param))
    return PathPattern(template, tuple(tokens), tuple(segments), tail_at, names, regex, shape)


def compile_host(template: str, lookup: Callable[[str], Converter]) -> PathPattern:
    """Compile a ``Host`` pattern such as ``{tenant}.example.com`` (matched case-insensitively)."""

    def resolve(name: str) -> Converter:
        try:
            return lookup(name)
        except KeyError:
            raise ValueError(f"host {template!r}: unknown converter {name!r}") from None

    tokens = _parse_tokens(template, resolve)
    regex = "".join(
        re.escape(t.text) if isinstance(t, Literal) else f"(?P<{t.name}>{t.converter.regex})"
        for t in tokens
    )
    names = tuple(t.name for t in tokens if isinstance(t, Param))
    return PathPattern(
        template, tuple(tokens), (), None, names, regex, template.lower(), re.DOTALL | re.IGNORECASE
    )
