"""The segment trie and the matcher generated from it.

Templates are inserted segment by segment: literal segments are dict keys, parameter segments
are converter checks, mixed segments (``{name}.{ext}``) are one regex, and a ``path``
parameter stops the walk (its route is a *tail* matched by the whole-template regex).

At assembly the trie is turned into Python source — one function per node reached through a
dict of literals (shared by every subtree of the same shape), nested ``if`` blocks for
everything else — and compiled with :func:`compile`. A lookup is then a dict lookup per
literal level plus inline checks (``s.isdigit()`` for ``int``, truthiness for ``str``): no
loop over empty child lists, no list push/pop for parameter values, and the ``path_params`` dict is
built by a dict display at the leaf.

Route text never becomes code: literal texts, leaves and regexes reach a function through the
tuple ``L`` it is bound to, converter helpers through its globals (``H0``...); only parameter
names, checked to be identifiers, appear as string literals.
"""

from __future__ import annotations

import re
import types
from collections.abc import Callable
from functools import partial
from typing import Any

from lamina import RouteLike
from lamina.plugin import ASGIApp, Scope

from ._converters import Converter, IntConverter, StringConverter
from ._paths import NAME_RE, Literal, Param, Partial, PathPattern

__all__ = ["Candidate", "Leaf", "Matcher", "Node", "generate_matcher", "insert"]

#: Returned by converter helpers in generated code instead of raising.
MISS: Any = object()
#: Digit strings shorter than this always convert with int(), whatever the interpreter's
#: int_max_str_digits setting (its lowest allowed value is 640).
_INT_SAFE_DIGITS = 640


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

    __slots__ = (
        "any",
        "child",
        "contributor",
        "handlers",
        "host",
        "index",
        "kind",
        "matched",
        "names",
        "nested",
        "pattern",
        "route",
    )

    def __init__(
        self,
        index: int,
        route: RouteLike,
        contributor: str,
        pattern: PathPattern | None,
        kind: str,
    ) -> None:
        self.index = index
        self.route = route
        self.contributor = contributor
        self.pattern = pattern
        self.kind = kind  # "route", "mount" or "host"
        self.names: tuple[str, ...] = pattern.names if pattern is not None else ()
        #: method -> ASGI app; ``None`` when ``any`` serves every method.
        self.handlers: dict[str, ASGIApp] | None = None
        self.any: ASGIApp | None = None
        #: scope -> host params, or ``None`` when the Host header does not match.
        self.host: Callable[[Scope], dict[str, Any] | None] = _no_host
        #: True when ``any`` is a compiled child router (it reads the remaining path).
        self.nested = False
        #: That child router (a ``Dispatcher``), for looking a route up without serving it.
        self.child: Any = None
        #: What the router puts on ``scope["route"]`` (a ``MatchedRoute``).
        self.matched: Any = None


def _no_host(scope: Scope) -> None:
    """The host matcher of a leaf that is not a :class:`Host` (never consulted)."""


#: ``(leaf, path_params, segments consumed)``
Candidate = tuple[Leaf, dict[str, Any], int]
Matcher = Callable[[list[str], int, str, list[Candidate], tuple[Any, ...]], None]


def match_nothing(
    segs: list[str], n: int, path: str, out: list[Candidate], values: tuple[Any, ...]
) -> None:
    """The matcher of a table whose routes are not compiled yet."""


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


def _fullmatch(part: Partial) -> Callable[[str], re.Match[str] | None]:
    return part.regex.fullmatch


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


class _Ref:
    """A generated function and the per-subtree objects (``L``) it is bound to."""

    __slots__ = ("bound", "fname", "objects")

    def __init__(self, fname: str, objects: list[Any]) -> None:
        self.fname = fname
        self.objects = objects
        self.bound: Any = None


class _Generator:
    """Writes one function per trie node reached through a dict (and per deep node).

    Everything specific to a subtree — leaves, literal texts, tail regexes, dicts of child
    functions — is read from the tuple ``L`` the function is bound to, so subtrees with the
    same shape (``/t001/users/{id:int}``, ``/t002/users/{id:int}``...) share one function:
    source size and compile time grow with the number of distinct shapes, not of routes.
    Shared helpers (converter wrappers) are globals of the generated module.
    """

    #: Past this indentation a node gets its own function (the tokenizer allows 100 levels).
    MAX_INDENT = 40
    #: Up to this many literal children are compared inline; more go through a dict.
    INLINE_LITERALS = 2

    def __init__(self) -> None:
        self.ns: dict[str, Any] = {"MISS": MISS}
        self.helpers: dict[Any, str] = {}
        self.by_source: dict[str, str] = {}
        self.functions: list[str] = []
        self.objects: list[Any] = []
        self.vars = 0

    def helper(self, key: Any, make: Callable[[], Any]) -> str:
        name = self.helpers.get(key)
        if name is None:
            name = self.helpers[key] = f"H{len(self.helpers)}"
            self.ns[name] = make()
        return name

    def local(self, value: Any) -> str:
        self.objects.append(value)
        return f"L[{len(self.objects) - 1}]"

    def var(self, prefix: str) -> str:
        self.vars += 1
        return f"{prefix}{self.vars}"

    def function(self, node: Node, depth: int, n_prior: int) -> _Ref:
        """The function serving ``node`` (``def F(segs, n, path, out, vals, L=...)``)."""
        saved = self.objects, self.vars
        self.objects, self.vars = [], 0
        body: list[str] = []
        self.body(node, depth, [f"vals[{k}]" for k in range(n_prior)], body, 1)
        source = "\n".join(body or ["    pass"])
        fname = self.by_source.get(source)
        if fname is None:
            fname = self.by_source[source] = f"F{len(self.by_source)}"
            self.functions.append(f"def {fname}(segs, n, path, out, vals, L=None):\n{source}")
        ref = _Ref(fname, self.objects)
        self.objects, self.vars = saved
        return ref

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
            out.append(
                f"{pad}out.append(({self.local(leaf)}, {self.params_dict(leaf, values)}, {depth}))"
            )
        for leaf in node.tails:
            assert leaf.pattern is not None
            rx = self.local(leaf.pattern.regex.fullmatch)
            convert = self.local(_tail_converter(leaf.pattern))
            var = self.var("t")
            out.append(f"{pad}{var} = {rx}(path)")
            out.append(f"{pad}if {var} is not None:")
            out.append(f"{pad}    {var} = {convert}({var})")
            out.append(f"{pad}    if {var} is not MISS:")
            out.append(f"{pad}        out.append(({self.local(leaf)}, {var}, n))")
        if node.leaves:
            out.append(f"{pad}if n == {depth}:")
            for leaf in node.leaves:
                out.append(
                    f"{pad}    out.append(({self.local(leaf)}, "
                    f"{self.params_dict(leaf, values)}, {depth}))"
                )
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
                    out.append(f"{pad}if {seg} == {self.local(text)}:")
                    self.body(child, depth + 1, values, out, ind + 1)
            else:
                table = {
                    text: self.function(child, depth + 1, len(values))
                    for text, child in node.static.items()
                }
                var = self.var("f")
                args = ", ".join(values) + ("," if values else "")
                out.append(f"{pad}{var} = {self.local(table)}.get({seg})")
                out.append(f"{pad}if {var} is not None:")
                out.append(f"{pad}    {var}(segs, n, path, out, ({args}))")
        for conv, child in node.params:
            var = self.var("v")
            if type(conv) is StringConverter:
                out.append(f"{pad}if {seg}:")
                out.append(f"{pad}    {var} = {seg}")
            elif type(conv) is IntConverter:
                # int() refuses strings longer than sys.get_int_max_str_digits() (4300 by
                # default, never under 640): a longer one goes through the converter, which
                # turns that refusal into "no match" instead of an error (a 500)
                safe = self.helper(("parse", id(conv)), partial(_safe_parse, conv))
                out.append(
                    f"{pad}if {seg}.isdigit() and {seg}.isascii() and "
                    f"(len({seg}) < {_INT_SAFE_DIGITS} or {safe}({seg}) is not MISS):"
                )
                out.append(f"{pad}    {var} = int({seg})")
            else:
                safe = self.helper(("parse", id(conv)), partial(_safe_parse, conv))
                out.append(f"{pad}{var} = {safe}({seg})")
                out.append(f"{pad}if {var} is not MISS:")
            self.child(child, depth + 1, [*values, var], out, ind + 1, deep)
        for part, child in node.partials:
            key = (part.key, tuple(id(c) for c in part.converters))
            rx = self.helper(("rx", *key), partial(_fullmatch, part))
            convert = self.helper(("conv", *key), partial(_partial_converter, part))
            var = self.var("m")
            out.append(f"{pad}{var} = {rx}({seg})")
            out.append(f"{pad}if {var} is not None:")
            out.append(f"{pad}    {var} = {convert}({var})")
            out.append(f"{pad}    if {var} is not MISS:")
            more = [f"{var}[{k}]" for k in range(len(part.converters))]
            self.child(child, depth + 1, [*values, *more], out, ind + 2, deep)

    def child(
        self, node: Node, depth: int, values: list[str], out: list[str], ind: int, deep: bool
    ) -> None:
        if not deep:
            self.body(node, depth, values, out, ind)
            return
        ref = self.function(node, depth, len(values))
        pad = "    " * ind
        out.append(f"{pad}{self.local(ref)}(segs, n, path, out, ({', '.join(values)},))")

    def bind(self, value: Any) -> Any:
        """Replace every :class:`_Ref` (also inside dict tables) by its bound function."""
        if isinstance(value, _Ref):
            if value.bound is None:
                objects = tuple(self.bind(o) for o in value.objects)
                # one function object per subtree, sharing the code object of its shape;
                # its objects arrive as the default of ``L`` (a plain call, no partial)
                shared = self.ns[value.fname]
                value.bound = types.FunctionType(shared.__code__, self.ns, value.fname, (objects,))
            return value.bound
        if isinstance(value, dict):
            return {k: self.bind(v) for k, v in value.items()}
        return value


def generate_matcher(root: Node) -> tuple[Matcher, str]:
    """Compile the trie into ``match(segs, n, path, out, ())``; also return the source."""
    gen = _Generator()
    ref = gen.function(root, 0, 0)
    source = "\n\n".join(gen.functions) + "\n"
    exec(compile(source, "<lamina_routing matcher>", "exec"), gen.ns)
    return gen.bind(ref), source
