"""JSON Schema (2020-12, what OpenAPI 3.1 speaks) for Python annotations.

Dataclasses and ``TypedDict`` classes become named schemas under
``#/components/schemas/<Name>`` and are referenced with ``$ref``, so recursive and shared
types cost one definition each. A class with a ``model_json_schema`` method (a pydantic
model) is asked for its own schema; its ``$defs`` are hoisted into the components. No
pydantic import happens here: the method is all that is looked at.

Everything runs at assembly; an annotation that cannot be described is an error naming the
type, never a silently empty schema.
"""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import enum
import types
import typing
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from lamina import AssemblyError, ConflictError

__all__ = ["REF_PREFIX", "SchemaRegistry", "is_model", "model_of"]

REF_PREFIX = "#/components/schemas/"

_SCALARS: Mapping[Any, Mapping[str, Any]] = {
    str: {"type": "string"},
    int: {"type": "integer"},
    float: {"type": "number"},
    bool: {"type": "boolean"},
    bytes: {"type": "string", "contentEncoding": "base64"},
    type(None): {"type": "null"},
    datetime.datetime: {"type": "string", "format": "date-time"},
    datetime.date: {"type": "string", "format": "date"},
    datetime.time: {"type": "string", "format": "time"},
    datetime.timedelta: {"type": "string", "format": "duration"},
    uuid.UUID: {"type": "string", "format": "uuid"},
    decimal.Decimal: {"type": "string", "format": "decimal"},
}
_ARRAYS = {list, set, frozenset, Sequence}  # typing.List and friends have these as origin
_MAPPINGS = {dict, Mapping}


def is_model(tp: Any) -> bool:
    """Whether ``tp`` is a class that gets a named schema (dataclass, TypedDict, pydantic)."""
    return isinstance(tp, type) and (
        dataclasses.is_dataclass(tp)
        or typing.is_typeddict(tp)
        or callable(getattr(tp, "model_json_schema", None))
    )


def model_of(annotation: Any) -> bool:
    """Whether an endpoint annotation is worth describing: a model, or a list or optional
    of one (``Item``, ``list[Item]``, ``Item | None``). Anything else (``Request``,
    ``Response``) is not part of the API's data."""
    annotation = _strip_annotated(annotation)
    if is_model(annotation):
        return True
    args = typing.get_args(annotation)
    origin = typing.get_origin(annotation)
    if origin in _ARRAYS or origin in (typing.Union, types.UnionType):
        return any(model_of(a) for a in args if a is not type(None))
    return False


def _strip_annotated(tp: Any) -> Any:
    while typing.get_origin(tp) is typing.Annotated:
        tp = typing.get_args(tp)[0]
    return tp


class SchemaRegistry:
    """Named schemas for one document, with who asked for each.

    ``describe`` returns the schema of an annotation, registering named ones. Two different
    classes wanting one name, or two plugins giving one name different schemas, is a
    :class:`lamina.ConflictError` naming both.
    """

    def __init__(self, describe_owner: Callable[[str], str]) -> None:
        self.schemas: dict[str, Any] = {}
        self._owners: dict[str, tuple[str, str]] = {}  # name -> (owner, what defined it)
        self._classes: dict[str, Any] = {}
        self._describe_owner = describe_owner

    # ------------------------------------------------------------------ named schemas
    def add(self, name: str, schema: Mapping[str, Any], owner: str, what: str) -> str:
        """Register ``schema`` as ``name``; the same schema again is fine, another is not."""
        existing = self.schemas.get(name)
        if existing is not None and existing != schema:
            first_owner, first_what = self._owners[name]
            raise ConflictError(
                f"OpenAPI schema {name!r} is defined twice, differently: by "
                f"{self._describe_owner(first_owner)} ({first_what}) and by "
                f"{self._describe_owner(owner)} ({what}); rename one of them"
            )
        if existing is None:
            self.schemas[name] = dict(schema)
            self._owners[name] = (owner, what)
        return REF_PREFIX + name

    def describe(self, tp: Any, owner: str) -> dict[str, Any]:
        """The JSON Schema of annotation ``tp``; raises :class:`lamina.AssemblyError` for a
        type it cannot describe."""
        return self._schema(tp, owner, ())

    def _schema(self, tp: Any, owner: str, trail: tuple[str, ...]) -> dict[str, Any]:
        tp = _strip_annotated(tp)
        if tp is Any or tp is object:
            return {}
        if isinstance(tp, typing.NewType):
            return self._schema(tp.__supertype__, owner, trail)
        if isinstance(tp, type) and issubclass(tp, enum.Enum):
            return self._named(tp, owner, trail, self._enum)
        if is_model(tp):
            return self._named(tp, owner, trail, self._model)
        for base, schema in _SCALARS.items():
            if tp is base:
                return dict(schema)
        origin, args = typing.get_origin(tp), typing.get_args(tp)
        if origin is typing.Literal:
            return _literal(args)
        if origin in (typing.Union, types.UnionType):
            return {"anyOf": [self._schema(a, owner, trail) for a in args]}
        if origin is tuple or tp is tuple:
            if len(args) == 2 and args[1] is Ellipsis:
                return {"type": "array", "items": self._schema(args[0], owner, trail)}
            if not args:
                return {"type": "array"}
            items = [self._schema(a, owner, trail) for a in args]
            return {
                "type": "array",
                "prefixItems": items,
                "minItems": len(items),
                "maxItems": len(items),
            }
        if origin in _ARRAYS or tp in _ARRAYS:
            out: dict[str, Any] = {"type": "array"}
            if args:
                out["items"] = self._schema(args[0], owner, trail)
            if origin in (set, frozenset) or tp in (set, frozenset):
                out["uniqueItems"] = True
            return out
        if origin in _MAPPINGS or tp in _MAPPINGS:
            if args and _strip_annotated(args[0]) is not str:
                raise AssemblyError(
                    f"cannot describe {_type_name(tp)} in JSON Schema{_where(trail)}: "
                    "JSON object keys are strings"
                )
            out = {"type": "object"}
            if args:
                out["additionalProperties"] = self._schema(args[1], owner, trail)
            return out
        raise AssemblyError(
            f"cannot describe {_type_name(tp)} in JSON Schema{_where(trail)}; use dataclasses, "
            "TypedDicts, builtin types, or describe it with @operation(...)"
        )

    def _named(
        self,
        cls: type,
        owner: str,
        trail: tuple[str, ...],
        build: Callable[[type, str, tuple[str, ...]], dict[str, Any]],
    ) -> dict[str, Any]:
        name = cls.__name__
        known = self._classes.get(name)
        if known is not None and known is not cls:
            raise ConflictError(
                f"OpenAPI schema {name!r} would describe two classes: {_type_name(known)} "
                f"and {_type_name(cls)}; rename one of them"
            )
        ref = {"$ref": REF_PREFIX + name}
        if known is cls:
            return ref
        self._classes[name] = cls
        self.schemas[name] = {}  # reserved first: a recursive type refers to itself
        self._owners[name] = (owner, _type_name(cls))
        self.schemas[name] = build(cls, owner, (*trail, name))
        return ref

    def _enum(self, cls: type, owner: str, trail: tuple[str, ...]) -> dict[str, Any]:
        members = [m.value for m in typing.cast(type[enum.Enum], cls)]
        schema = _literal(tuple(members))
        schema["title"] = cls.__name__
        return schema

    def _model(self, cls: type, owner: str, trail: tuple[str, ...]) -> dict[str, Any]:
        if callable(getattr(cls, "model_json_schema", None)):
            return self._foreign(cls, owner)
        try:
            hints = typing.get_type_hints(cls, include_extras=True)
        except Exception as exc:
            raise AssemblyError(
                f"cannot read the annotations of {_type_name(cls)}{_where(trail)}: {exc}"
            ) from exc
        if dataclasses.is_dataclass(cls):
            fields = [f for f in dataclasses.fields(cls) if f.init]
            names = [f.name for f in fields]
            required = [
                f.name
                for f in fields
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
            ]
        else:
            names = list(hints)
            required = [n for n in names if _typeddict_requires(cls, n, hints[n])]
        properties = {
            n: self._schema(_not_required(hints[n]), owner, (*trail[:-1], f"{trail[-1]}.{n}"))
            for n in names
        }
        schema: dict[str, Any] = {"type": "object", "title": cls.__name__}
        doc = _class_doc(cls)
        if doc:
            schema["description"] = doc
        schema["properties"] = properties
        if required:
            schema["required"] = required
        if typing.is_typeddict(cls):
            schema["additionalProperties"] = False
        return schema

    def _foreign(self, cls: type, owner: str) -> dict[str, Any]:
        """A pydantic-style model: its own schema, with its ``$defs`` made components."""
        make_schema = cls.model_json_schema  # type: ignore[attr-defined]  # duck-typed pydantic
        schema = dict(make_schema(ref_template=REF_PREFIX + "{model}"))
        for name, sub in dict(schema.pop("$defs", {})).items():
            self.add(name, sub, owner, f"$defs of {_type_name(cls)}")
        return schema


_QUALIFIERS = {typing.Required, typing.NotRequired, getattr(typing, "ReadOnly", typing.Required)}


def _typeddict_requires(cls: type, name: str, hint: Any) -> bool:
    """Read from the evaluated hint: under ``from __future__ import annotations`` Python 3.11
    cannot see ``NotRequired`` in ``__required_keys__``."""
    origin = typing.get_origin(hint)
    if origin is typing.NotRequired:
        return False
    if origin is typing.Required:
        return True
    return name in getattr(cls, "__required_keys__", ()) or bool(getattr(cls, "__total__", True))


def _not_required(tp: Any) -> Any:
    origin = typing.get_origin(tp)
    if origin in _QUALIFIERS:
        return typing.get_args(tp)[0]
    return tp


def _literal(values: tuple[Any, ...]) -> dict[str, Any]:
    kinds = {type(v) for v in values}
    schema: dict[str, Any] = {"enum": list(values)} if len(values) != 1 else {"const": values[0]}
    names = {str: "string", int: "integer", float: "number", bool: "boolean"}
    if len(kinds) == 1 and next(iter(kinds)) in names:
        schema["type"] = names[next(iter(kinds))]
    return schema


def _class_doc(cls: type) -> str | None:
    doc = cls.__doc__
    if not doc:
        return None
    if dataclasses.is_dataclass(cls) and doc.startswith(cls.__name__ + "("):
        return None  # the generated signature, not prose
    return " ".join(doc.split()) if doc.strip() else None


def _type_name(tp: Any) -> str:
    if isinstance(tp, type):
        return f"{tp.__module__}.{tp.__qualname__}"
    return repr(tp)


def _where(trail: tuple[str, ...]) -> str:
    return f" (in {'.'.join(trail)})" if trail else ""
