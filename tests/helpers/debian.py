"""Installing a Debian package the tests need (Chromium, redis-server) when it is missing.

So that ``uv run pytest`` works on a fresh Debian machine with nothing else done, as
``.ci/run`` does for CI. Only as root with apt-get; otherwise the error says what to install.
"""

from __future__ import annotations

import os
import shutil
import subprocess

__all__ = ["apt_install"]


def apt_install(package: str, needed_for: str) -> None:
    """``apt-get install package``, or a RuntimeError naming it and what needs it."""
    apt = shutil.which("apt-get")
    if apt is None or os.geteuid() != 0:
        raise RuntimeError(
            f"{needed_for} need Debian's {package!r} package: apt-get install {package} "
            "(as .ci/run does)"
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run([apt, "update", "-qq"], check=True, env=env, stdout=subprocess.DEVNULL)
    subprocess.run(
        [apt, "install", "-y", "-qq", "--no-install-recommends", package],
        check=True,
        env=env,
        stdout=subprocess.DEVNULL,
    )
