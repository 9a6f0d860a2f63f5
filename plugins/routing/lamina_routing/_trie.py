"""The segment trie and the matcher generated from it.

Templates are inserted segment by segment: literal segments are dict keys, parameter segments
are converter checks, mixed segments (``{name}.{ext}``) are one regex, and a ``path``
parameter stops the walk (its route is a *tail* matched by the whole-template regex).

At assembly the trie is turned into Python source — one straight-line function per node
reached through a large dict of literals, nested ``if`` blocks for everything else — and
compiled with :func:`compile`. A lookup is then a dict lookup per literal level plus inline
checks (``s.isdigit()`` for ``int``, truthiness for ``str``): no per-level call, no loop over
empty child lists, no list push/pop for parameter values, and the ``path_params`` dict is
built by a dict display at the leaf.

Only names (``K12``, ``F3``...) go into the generated source; every literal text, converter,
regex and leaf is passed in the function's globals, so route text never becomes code.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from lamina.types import ASGIApp, Scope

from ._converters import Converter, IntConverter, StringConverter
from ._paths import NAME_RE, Literal, Param, Partial, PathPattern

__all__ = ["Candidate", "Leaf", "Matcher", "Node", "generate_matcher", "insert"]

#: Returned by converter helpers in generated code instead of raising.
MISS: Any = object()


class Node:
    __slots__ = ("leaves", "params", "partials", "prefixes", "static", "tails")

    def __init__(self) -> None:
        self.static: dict[str, Node] = {}
        self.params: list[tuple[Converter, Node]] = []
        self.partials: list[tuple[Partial, Node]] = []
        self.tails: list[Leaf] = []
        self.leaves: list[Leaf] = []
        self.prefixes: list[Leaf] = []

    def has_children(self) -> bool:
        return bool(self.static or self.params or self.partials)


class Leaf:
    """One compiled route: where it is in registration order and how to serve it."""

    __slots__ = ("any", "contributor", "handlers", "host", "index", "kind", "names", "nested",
                 "pattern", "route")

    def __init__(self, index: int, route: Any, contributor: str, pattern: PathPattern | None,
                 kind: str) -> None:
        self.index = index
        self.route = route
        self.contributor = contributor
        self.pattern = pattern
        self.kind = kind  # "route", "mount" or "host"
        self.names: tuple[str, ...] = pattern.names if pattern is not None else ()
        #: method -> ASGI app; ``None`` when ``any`` serves every method.
        self.handlers: dict[str, ASGIApp] | None = None
        self.any: ASGIApp | None = None
        self.host: Callable[[Scope], dict[str, Any] | None] | None = None
        #: True when ``any`` is a compiled child router (it reads the remaining path).
        self.nested = False


#: ``(leaf, path_params, segments consumed)``
Candidate = tuple[Leaf, dict[str, Any], int]
Matcher = Callable[[list[str], int, str, list[Candidate], tuple[Any, ...]], None]


def insert(root: Node, pattern: PathPattern, leaf: Leaf, prefix: bool) -> None:
    node = root
    for seg in pattern.segments:
        if isinstance(seg, Literal):
            nxt = node.static.get(seg.text)
            if nxt is None:
                nxt = node.static[seg.text] = Node()
        elif isinstance(seg, Param):
            for conv, child in node.params:
                if conv is seg.converter:
                    nxt = child
                    break
            else:
                nxt = Node()
                node.params.append((seg.converter, nxt))
        else:
            assert isinstance(seg, Partial)
            for part, child in node.partials:
                if part.key == seg.key and part.converters == seg.converters:
                    nxt = child
                    break
            else:
                nxt = Node()
                node.partials.append((seg, nxt))
        node = nxt
    if pattern.tail_at is not None:
        node.tails.append(leaf)
    elif prefix:
        node.prefixes.append(leaf)
    else:
        node.leaves.append(leaf)


def _safe_parse(converter: Converter) -> Callable[[str], Any]:
    parse = converter.parse

    def safe(segment: str) -> Any:
        try:
            return parse(segment)
        except ValueError:
            return MISS

    return safe


def _partial_converter(part: Partial) -> Callable[[re.Match[str]], Any]:
    converters = part.converters

    def convert(m: re.Match[str]) -> Any:
        try:
            return tuple(c.convert(g) for c, g in zip(converters, m.groups(), strict=True))
        except ValueError:
            return MISS

    return convert


def _tail_converter(pattern: PathPattern) -> Callable[[re.Match[str]], Any]:
    names = pattern.names

    def convert(m: re.Match[str]) -> Any:
        values = pattern.convert_groups(m)
        if values is None:
            return MISS
        return dict(zip(names, values, strict=True))

    return convert


class _Generator:
    #: Past this indentation a node gets its own function (the tokenizer allows 100 levels).
    MAX_INDENT = 40
    #: Up to this many literal children are compared inline; more go through a dict.
    INLINE_LITERALS = 2

    def __init__(self) -> None:
        self.ns: dict[str, Any] = {"MISS": MISS}
        self.functions: list[list[str]] = []
        self.counter = 0

    def name(self, value: Any, prefix: str = "K") -> str:
        self.counter += 1
        key = f"{prefix}{self.counter}"
        self.ns[key] = value
        return key

    def function(self, node: Node, depth: int, n_prior: int) -> str:
        """Emit ``def F(segs, n, path, out, vals)`` for ``node``; return its name."""
        fname = self.name(None, "F")
        lines = [f"def {fname}(segs, n, path, out, vals):"]
        prior = [f"vals[{k}]" for k in range(n_prior)]
        body: list[str] = []
        self.body(node, depth, prior, body, 1)
        lines += body or ["    pass"]
        self.functions.append(lines)
        return fname

    def params_dict(self, leaf: Leaf, values: list[str]) -> str:
        names = leaf.names
        if len(names) != len(values):  # pragma: no cover - guarded by construction
            raise AssertionError((names, values))
        for n in names:  # identifiers only (checked by the template parser): safe as literals
            if not NAME_RE.fullmatch(n):  # pragma: no cover - defence in depth
                raise ValueError(f"invalid parameter name {n!r}")
        items = ", ".join(f"{n!r}: {v}" for n, v in zip(names, values, strict=True))
        return "{" + items + "}"

    def body(self, node: Node, depth: int, values: list[str], out: list[str], ind: int) -> None:
        pad = "    " * ind
        for leaf in node.prefixes:
            out.append(f"{pad}out.append(({self.name(leaf)}, "
                       f"{self.params_dict(leaf, values)}, {depth}))")
        for leaf in node.tails:
            assert leaf.pattern is not None
            rx = self.name(leaf.pattern.regex.fullmatch)
            conv = self.name(_tail_converter(leaf.pattern))
            var = f"t{self.counter}"
            out.append(f"{pad}{var} = {rx}(path)")
            out.append(f"{pad}if {var} is not None:")
            out.append(f"{pad}    {var} = {conv}({var})")
            out.append(f"{pad}    if {var} is not MISS:")
            out.append(f"{pad}        out.append(({self.name(leaf)}, {var}, n))")
        if node.leaves:
            out.append(f"{pad}if n == {depth}:")
            for leaf in node.leaves:
                out.append(f"{pad}    out.append(({self.name(leaf)}, "
                           f"{self.params_dict(leaf, values)}, {depth}))")
        if not node.has_children():
            return
        out.append(f"{pad}if n > {depth}:")
        ind += 1
        pad = "    " * ind
        seg = f"s{depth}"
        out.append(f"{pad}{seg} = segs[{depth}]")
        deep = ind >= self.MAX_INDENT
        if node.static:
            if len(node.static) <= self.INLINE_LITERALS and not deep:
                for text, child in node.static.items():
                    out.append(f"{pad}if {seg} == {self.name(text)}:")
                    self.body(child, depth + 1, values, out, ind + 1)
            else:
                names = {text: self.function(child, depth + 1, len(values))
                         for text, child in node.static.items()}
                # the functions exist only once the source is executed: filled in then
                key = self.name(None)
                self.deferred.append((key, names))
                var = f"f{self.counter}"
                args = ", ".join(values) + ("," if values else "")
                out.append(f"{pad}{var} = {key}.get({seg})")
                out.append(f"{pad}if {var} is not None:")
                out.append(f"{pad}    {var}(segs, n, path, out, ({args}))")
        for conv, child in node.params:
            var = f"v{self.counter + 1}"
            self.counter += 1
            if type(conv) is StringConverter:
                out.append(f"{pad}if {seg}:")
                out.append(f"{pad}    {var} = {seg}")
            elif type(conv) is IntConverter:
                out.append(f"{pad}if {seg}.isdigit() and {seg}.isascii():")
                out.append(f"{pad}    {var} = int({seg})")
            else:
                safe = self.name(_safe_parse(conv))
                out.append(f"{pad}{var} = {safe}({seg})")
                out.append(f"{pad}if {var} is not MISS:")
            self.child(child, depth + 1, [*values, var], out, ind + 1, deep)
        for part, child in node.partials:
            rx = self.name(part.regex.fullmatch)
            conv = self.name(_partial_converter(part))
            var = f"m{self.counter + 1}"
            self.counter += 1
            out.append(f"{pad}{var} = {rx}({seg})")
            out.append(f"{pad}if {var} is not None:")
            out.append(f"{pad}    {var} = {conv}({var})")
            out.append(f"{pad}    if {var} is not MISS:")
            more = [f"{var}[{k}]" for k in range(len(part.converters))]
            self.child(child, depth + 1, [*values, *more], out, ind + 2, deep)

    def child(self, node: Node, depth: int, values: list[str], out: list[str], ind: int,
              deep: bool) -> None:
        if not deep:
            self.body(node, depth, values, out, ind)
            return
        fname = self.function(node, depth, len(values))
        pad = "    " * ind
        out.append(f"{pad}{fname}(segs, n, path, out, ({', '.join(values)},))")

    deferred: list[tuple[str, dict[str, str]]]


def generate_matcher(root: Node) -> tuple[Matcher, str]:
    """Compile the trie into ``match(segs, n, path, out, ())``; also return the source."""
    gen = _Generator()
    gen.deferred = []
    entry = gen.function(root, 0, 0)
    source = "\n\n".join("\n".join(f) for f in gen.functions) + "\n"
    code = compile(source, "<lamina_routing matcher>", "exec")
    exec(code, gen.ns)
    for key, names in gen.deferred:
        gen.ns[key] = {text: gen.ns[fname] for text, fname in names.items()}
    return gen.ns[entry], source
