"""A fresh virtual environment with Lamina installed the way a third party has it.

``fresh_environment(base)`` makes ``base/venv`` with ``uv venv`` and installs the kernel and
every workspace plugin into it, editable, from local paths (``uv pip install -e``). The
machine is offline and uv's cache holds no index data, so the third-party dependencies
(httpx, jinja2, pyyaml...) are not downloaded: a ``.pth`` file puts this project's
site-packages *after* the fresh venv's own, and the local distributions are installed with
``--no-deps``. Lamina's own distributions and entry points come from the fresh venv (first
on the path). The suite builds it once (the session fixture ``fresh_env`` in
``tests/conftest.py``); the new-plugin and tutorial tests install their plugins into it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sysconfig
from dataclasses import dataclass
from pathlib import Path

__all__ = ["FreshEnv", "fresh_environment", "run"]

ROOT = Path(__file__).resolve().parents[2]


def run(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    """Run ``cmd``; its stdout, or an assertion error showing both streams."""
    result = subprocess.run(
        cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=55, check=False
    )
    assert result.returncode == 0, f"{cmd}\n{result.stdout}\n{result.stderr}"
    return result.stdout


@dataclass(frozen=True)
class FreshEnv:
    base: Path
    python: Path
    #: ``uv pip install`` into this venv, offline, without dependencies: add ``-e PATH``.
    install: list[str]

    @property
    def lamina(self) -> str:
        return str(self.python.parent / "lamina")

    @property
    def env(self) -> dict[str, str]:
        """This process's environment without the ``LAMINA_*`` selection and any active
        venv, the fresh venv's scripts first on ``PATH``."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("LAMINA_", "VIRTUAL_ENV"))}
        env["PATH"] = f"{self.python.parent}{os.pathsep}{env.get('PATH', '')}"
        return env


def fresh_environment(base: Path) -> FreshEnv:
    uv = shutil.which("uv")
    assert uv, "uv is on PATH in this project's environment"
    venv = base / "venv"
    run([uv, "venv", "-q", str(venv)], base)
    python = venv / "bin" / "python"
    site = run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], base)
    ours = sysconfig.get_path("purelib")
    Path(site.strip(), "zz_project_dependencies.pth").write_text(ours + "\n")
    local = ["-e", str(ROOT)]
    for plugin in sorted((ROOT / "plugins").iterdir()):
        if (plugin / "pyproject.toml").exists():
            local += ["-e", str(plugin)]
    install = [uv, "pip", "install", "-q", "--offline", "--no-deps", "-p", str(python)]
    run([*install, *local], base)
    return FreshEnv(base, python, install)
