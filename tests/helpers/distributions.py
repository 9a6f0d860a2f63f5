"""Throw-away installed distributions: the path a real third-party plugin takes.

``install_distribution`` writes ``<dir>/<name>-<version>.dist-info/{METADATA,entry_points.txt}``
and the plugin modules next to it, puts the directory on ``sys.path`` (through pytest's
``monkeypatch``, so it is undone after the test) and invalidates the import caches.
``importlib.metadata`` then finds the entry points exactly as it finds pip-installed ones.
"""

from __future__ import annotations

import importlib
import sys
import textwrap
from pathlib import Path

import pytest

__all__ = ["install_distribution"]


def install_distribution(
    monkeypatch: pytest.MonkeyPatch,
    root: Path,
    *,
    name: str,
    version: str = "1.0.0",
    entry_points: dict[str, str],
    modules: dict[str, str],
    group: str = "lamina",
) -> Path:
    """Install ``name`` into ``root`` and return the site directory.

    ``entry_points`` maps an entry-point name to ``module[:attr]``; ``modules`` maps a module
    name (dotted names become packages) to its source.
    """
    site = root / f"site-{name}"
    site.mkdir(parents=True, exist_ok=True)
    dist_info = site / f"{name.replace('-', '_')}-{version}.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n", encoding="utf-8"
    )
    lines = [f"[{group}]"] + [f"{ep} = {target}" for ep, target in entry_points.items()]
    (dist_info / "entry_points.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    for module, source in modules.items():
        parts = module.split(".")
        directory = site.joinpath(*parts[:-1])
        directory.mkdir(parents=True, exist_ok=True)
        for i in range(1, len(parts)):
            init = site.joinpath(*parts[:i], "__init__.py")
            if not init.exists():
                init.write_text("", encoding="utf-8")
        (directory / f"{parts[-1]}.py").write_text(textwrap.dedent(source), encoding="utf-8")
        for i in range(1, len(parts) + 1):
            monkeypatch.delitem(sys.modules, ".".join(parts[:i]), raising=False)
    monkeypatch.syspath_prepend(str(site))
    importlib.invalidate_caches()
    return site
