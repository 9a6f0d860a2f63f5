"""Headless Chromium for the browser tests: Debian's ``chromium`` driven by Playwright.

Playwright cannot download its own browser on these machines, so the tests use the system
one. ``ensure_chromium`` installs it with apt-get when it is missing (as CI's ``.ci/run``
does), so ``uv run pytest`` works on a fresh Debian machine with nothing else done.
"""

from __future__ import annotations

import os
from typing import Any

from tests.helpers.debian import apt_install

CHROMIUM = "/usr/bin/chromium"
#: Flags for a sandboxed, offline, headless run as root; background networking off so
#: Chromium does not try to reach outside hosts from this closed network.
ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def ensure_chromium() -> str:
    """Return Chromium's path, installing Debian's package first if it is missing."""
    if not os.path.exists(CHROMIUM):
        apt_install("chromium", "the browser tests (Chromium at /usr/bin/chromium)")
    return CHROMIUM


def launch(playwright: Any, **options: Any) -> Any:
    """Launch headless Chromium with the flags every browser test uses."""
    return playwright.chromium.launch(
        executable_path=ensure_chromium(), args=ARGS, headless=True, **options
    )
