"""The ``[templates]`` settings section."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class TemplatesSettings:
    """Settings of lamina-templates; every field has a safe default.

    ``directories`` are the app's own template directories, searched before any plugin's
    (relative paths are taken from the working directory, like ``lamina.toml``).
    ``auto_reload`` re-reads changed template files; ``None`` follows the app's ``debug``
    (on while developing, off in production where it would ``stat`` files per render).
    ``enable_async`` builds an async Jinja2 environment (templates may ``await`` and call
    async functions; responses render when sent). ``strict_undefined`` makes an undefined
    variable an error instead of an empty string. ``autoescape_extensions`` lists the file
    extensions rendered with HTML escaping (strings rendered with ``from_string`` are
    always escaped).
    """

    directories: list[Path] = field(default_factory=list)
    auto_reload: bool | None = None
    enable_async: bool = False
    strict_undefined: bool = False
    autoescape_extensions: list[str] = field(default_factory=lambda: ["html", "htm", "xml"])
    trim_blocks: bool = False
    lstrip_blocks: bool = False
