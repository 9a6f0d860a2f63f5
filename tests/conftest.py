"""Suite-wide fixtures. Kept light: it loads for every test in the repository.

- the repository root goes on ``sys.path`` so tests can import ``tests.helpers``;
- the ``LAMINA_*`` selection variables of the developer's shell are removed, so every test
  sees the plugins it asks for;
- ``anyio_backend`` defaults to asyncio; a test that wants trio too parametrizes it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = str(Path(__file__).resolve().parents[1])
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

_LAMINA_ENV = ("LAMINA_DISABLE_PLUGIN_AUTOLOAD", "LAMINA_PLUGINS", "LAMINA_DISABLE_PLUGINS",
               "LAMINA_SETTINGS_FILE")


@pytest.fixture(autouse=True)
def _isolate_lamina_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _LAMINA_ENV:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
