"""Typed, validated plugin settings.

Each plugin declares a dataclass; the kernel checks every section against it before any plugin
configures itself and reports all problems in one :class:`SettingsError`. Values may come from
the constructor, from ``lamina.toml`` and, for secrets, from the environment:
``{"env": "NAME"}`` reads ``NAME`` (optionally ``{"env": "NAME", "default": "..."}``).
"""

from __future__ import annotations

import dataclasses
import math
import os
import tomllib
import types
import typing
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal, TypeVar

from ._exceptions import SettingsError
from ._suggest import SHORT_NAMES, did_you_mean

T = TypeVar("T")

__all__ = [
    "KERNEL_SECTION",
    "KernelSettings",
    "Secret",
    "SettingsError",
    "load_settings_file",
    "unknown_section",
    "validate_section",
]

#: The settings file read from the working directory unless ``settings_file`` says otherwise.
DEFAULT_SETTINGS_FILE = "lamina.toml"
#: Environment variable naming another settings file.
ENV_SETTINGS_FILE = "LAMINA_SETTINGS_FILE"
#: The settings section of the kernel itself; every other section is named after a plugin.
KERNEL_SECTION = "lamina"
_MISSING = object()
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


@dataclasses.dataclass(frozen=True)
class KernelSettings:
    """The ``[lamina]`` section: the kernel's own limits and switches."""

    debug: bool = False
    #: Largest request body accepted, in bytes (413 above it); ``None`` lifts the limit.
    max_body_size: int | None = 10 * 1024 * 1024
    #: Form limits (see :mod:`lamina._forms`).
    max_form_fields: int = 1000
    max_form_files: int = 100
    max_form_part_size: int = 1024 * 1024
    max_form_part_header_size: int = 8 * 1024
    #: Uploads larger than this are spooled from memory to a temporary file.
    upload_spool_size: int = 1024 * 1024

    def __post_init__(self) -> None:
        # a negative limit would refuse every request (or none): say so at startup
        for name in (
            "max_body_size",
            "max_form_fields",
            "max_form_files",
            "max_form_part_size",
            "max_form_part_header_size",
            "upload_spool_size",
        ):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise ValueError(f"{name} must be 0 or more, got {value}")


class Secret(str):
    """A string that never shows itself in reprs, logs or error messages."""

    def __repr__(self) -> str:
        return "Secret('**********')"

    def reveal(self) -> str:
        return str.__str__(self)


def load_settings_file(path: str | os.PathLike[str] | Literal[False] | None) -> dict[str, Any]:
    """Read ``path``, else ``$LAMINA_SETTINGS_FILE``, else ``./lamina.toml``; ``False``
    reads no file at all (what tests want).

    A missing default file is simply no settings; a missing explicit one is an error, and so
    is an empty path (``""`` would otherwise name the current directory). ``os.devnull`` is
    an empty file: no settings.
    """
    if path is False:
        return {}
    if path is None:
        path = os.environ.get(ENV_SETTINGS_FILE) or None
    elif not os.fspath(path):
        raise SettingsError(
            ["settings_file is an empty path; name a TOML file, or pass None for ./lamina.toml"]
        )
    explicit = path is not None
    file = Path(path if path is not None else DEFAULT_SETTINGS_FILE)
    if file.is_dir():
        raise SettingsError([f"settings file {str(file)!r} is a directory, not a TOML file"])
    if not file.exists():
        if explicit:
            raise SettingsError([f"settings file {str(file)!r} does not exist"])
        return {}
    try:
        with file.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError([f"{file}: invalid TOML: {exc}"]) from None
    except OSError as exc:
        raise SettingsError([f"settings file {str(file)!r} cannot be read: {exc}"]) from None


def unknown_section(name: str, installed: Iterable[str]) -> str:
    """The error for a settings section that names no installed plugin (a typo, most often:
    the closest plugin name, or the kernel's own section, is suggested)."""
    names = sorted(installed)
    hint = did_you_mean(name, [*names, KERNEL_SECTION], SHORT_NAMES)
    return (
        f"[{name}] unknown settings section{hint}: no plugin named {name!r} is installed "
        f"(installed: {', '.join(names) or 'none'})"
    )


def _resolve_env(value: Any, where: str, errors: list[str]) -> Any:
    if isinstance(value, Mapping) and set(value) <= {"env", "default"} and "env" in value:
        name = value["env"]
        if name in os.environ:
            return os.environ[name]
        if "default" in value:
            return value["default"]
        errors.append(f"{where}: environment variable {name!r} is not set")
        return _MISSING
    return value


def _type_name(tp: Any) -> str:
    if typing.get_origin(tp) is not None:
        text = str(tp)
        for module in ("typing.", "pathlib.", "lamina._settings."):
            text = text.replace(module, "")
        return text
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def _holds_secret(tp: Any) -> bool:
    """Whether a value of type ``tp`` is, or contains, a :class:`Secret`."""
    return tp is Secret or any(_holds_secret(arg) for arg in typing.get_args(tp))


def _shown(value: Any, secret: bool) -> str:
    """How an error message shows a wrong value: its type only when it was meant to hold a
    secret (a list holding the key, a number, a table: any shape), else its repr too."""
    if isinstance(value, Secret):
        return "a secret"
    if secret:
        return f"{type(value).__name__} (not shown: the setting holds a secret)"
    return f"{type(value).__name__} {value!r}"


def _strings_in(value: Any) -> list[str]:
    """Every string inside ``value`` (lists, tuples, sets, tables; keys and values)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, Mapping):
        return [s for k, v in value.items() for s in (*_strings_in(k), *_strings_in(v))]
    if isinstance(value, (list, tuple, set, frozenset)):
        return [s for item in value for s in _strings_in(item)]
    return []


def _coerce(value: Any, tp: Any, where: str, errors: list[str]) -> Any:
    """Check ``value`` against ``tp``; return the (lightly converted) value or _MISSING."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    got = _shown(value, _holds_secret(tp))

    def fail() -> Any:
        errors.append(f"{where}: expected {_type_name(tp)}, got {got}")
        return _MISSING

    if tp is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        for arg in args:
            trial: list[str] = []
            out = _coerce(value, arg, where, trial)
            if not trial:
                return out
        return fail()
    if tp is type(None):
        return None if value is None else fail()
    if origin is Literal:
        return value if value in args else fail()
    if tp is Secret:
        return Secret(value) if isinstance(value, str) else fail()
    if tp is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in _TRUE | _FALSE:
            return value.lower() in _TRUE
        return fail()
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str):
            try:
                return int(value)
            except ValueError:
                return fail()
        return fail()
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):  # from the environment
            try:
                number = float(value)
            except ValueError:
                return fail()
            return number if math.isfinite(number) else fail()
        return fail()
    if tp is str:
        return value if isinstance(value, str) else fail()
    if tp is Path:
        return Path(value) if isinstance(value, (str, os.PathLike)) else fail()
    if origin in (list, tuple, typing.Sequence, set, frozenset) or tp in (list, tuple):
        if isinstance(value, str) or not isinstance(value, (list, tuple, set, frozenset)):
            return fail()
        item_tp = args[0] if args else Any
        items = [_coerce(v, item_tp, f"{where}[{i}]", errors) for i, v in enumerate(value)]
        if origin is list or origin is typing.Sequence:
            return items
        if origin in (set, frozenset):
            return origin(items)
        return tuple(items)
    if origin in (dict, typing.Mapping) or tp is dict:
        if not isinstance(value, Mapping):
            return fail()
        val_tp = args[1] if len(args) == 2 else Any
        return {k: _coerce(v, val_tp, f"{where}.{k}", errors) for k, v in value.items()}
    if isinstance(tp, type):
        return value if isinstance(value, tp) else fail()
    return value


def validate_section(
    plugin: str, schema: type, data: Mapping[str, Any], errors: list[str], origin: str = ""
) -> Any:
    """Build ``schema`` from ``data``, appending every problem to ``errors``.

    Each problem reads ``[plugin] (origin) key: expected ..., got ...``; ``origin`` names
    the distribution and version. Returns the dataclass instance, or ``None`` when there
    were errors in this section.
    """
    tag = f"[{plugin}] ({origin})" if origin else f"[{plugin}]"
    if not dataclasses.is_dataclass(schema):
        errors.append(f"{tag} settings schema {schema!r} is not a dataclass")
        return None
    if not isinstance(data, Mapping):
        # whatever it holds is not shown: it may be the secret itself, put in the wrong place
        errors.append(
            f"{tag} expected a table of settings, got {type(data).__name__}; "
            f"write it as a [{plugin}] section"
        )
        return None
    before = len(errors)
    value = _build(schema, data, tag, "", plugin, errors, [])
    return None if len(errors) > before or value is _MISSING else value


def settings_from(plugin: str, schema: type[T], data: Mapping[str, Any]) -> T:
    """``schema`` built from ``data`` by the rules of a settings section (types coerced,
    secrets and ``{"env": NAME}`` read, unknown keys refused), for settings given in code:
    a plugin's per-mount policy. Raises :class:`SettingsError` listing every problem."""
    errors: list[str] = []
    value = validate_section(plugin, schema, data, errors)
    if errors or value is None:
        raise SettingsError(errors)
    built: T = value
    return built


def _build(
    schema: type,
    data: Mapping[str, Any],
    tag: str,
    prefix: str,
    plugin: str,
    errors: list[str],
    secrets: list[str],
) -> Any:
    """Instantiate one (possibly nested) settings dataclass, collecting every problem and
    every string given for a secret field (into ``secrets``, to scrub from messages)."""
    try:
        hints = typing.get_type_hints(schema)
    except Exception as exc:  # a plugin bug: say so instead of crashing assembly
        errors.append(
            f"{tag} cannot read the type hints of {schema.__qualname__}: {exc}; "
            "define the settings dataclass at module level"
        )
        return _MISSING
    fields = {f.name: f for f in dataclasses.fields(schema) if f.init}
    before = len(errors)
    for key in data:
        if key not in fields:
            known = ", ".join(sorted(fields)) or "none"
            errors.append(
                f"{tag} unknown setting {prefix + key!r}"
                f"{did_you_mean(key, fields, SHORT_NAMES)} (known settings: {known})"
            )
    kwargs: dict[str, Any] = {}
    for name, f in fields.items():
        where = f"{tag} {prefix}{name}"
        if name in data:
            raw = _resolve_env(data[name], where, errors)
            if raw is _MISSING:
                continue
            tp = hints.get(name, Any)
            if _holds_secret(tp):
                secrets.extend(_strings_in(raw))
            if dataclasses.is_dataclass(tp) and isinstance(tp, type):
                if not isinstance(raw, Mapping):
                    errors.append(
                        f"{where}: expected a table of {tp.__name__} settings, "
                        f"got {type(raw).__name__}"
                    )
                    continue
                value = _build(tp, raw, tag, f"{prefix}{name}.", plugin, errors, secrets)
            else:
                value = _coerce(raw, tp, where, errors)
            if value is not _MISSING:
                kwargs[name] = value
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            expected = _type_name(hints.get(name, Any))
            errors.append(
                f"{where}: required setting is missing (expected {expected}); "
                f"set it in the [{plugin}] section of lamina.toml or in "
                "Lamina(settings=...)"
            )
    if len(errors) > before:
        return _MISSING
    try:
        return schema(**kwargs)
    except (TypeError, ValueError) as exc:
        # the schema's own words (its __post_init__) may quote a secret: mask any we were given
        message = str(exc)
        for text in sorted({s for s in secrets if s.strip()}, key=len, reverse=True):
            message = message.replace(text, "**********")
        errors.append(
            f"{tag} {prefix}{message}" if not prefix else f"{tag} {prefix[:-1]}: {message}"
        )
        return _MISSING
