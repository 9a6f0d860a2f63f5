"""Suite-wide fixtures. Kept light: it loads for every test in the repository.

- the repository root goes on ``sys.path`` so tests can import ``tests.helpers``;
- the ``LAMINA_*`` selection variables of the developer's shell are removed, so every test
  sees the plugins it asks for;
- ``anyio_backend`` defaults to asyncio; a test that wants trio too parametrizes it;
- ``fresh_env``: a fresh virtual environment with Lamina installed as a third party has it
  (built on first use, once per session);
- when browser tests are selected and Chromium is missing, it is installed once, up front
  (see ``tests/helpers/browser.py``), so a fresh machine needs nothing but ``uv run pytest``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.helpers.thirdparty import FreshEnv

ROOT = str(Path(__file__).resolve().parents[1])
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

_LAMINA_ENV = (
    "LAMINA_DISABLE_PLUGIN_AUTOLOAD",
    "LAMINA_PLUGINS",
    "LAMINA_DISABLE_PLUGINS",
    "LAMINA_SETTINGS_FILE",
)


@pytest.fixture(autouse=True)
def _isolate_lamina_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _LAMINA_ENV:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def fresh_env(tmp_path_factory: pytest.TempPathFactory) -> FreshEnv:
    """A fresh venv with Lamina and the workspace plugins installed from local paths, built
    once for the session (``tests/helpers/thirdparty.py``)."""
    from tests.helpers.thirdparty import fresh_environment

    return fresh_environment(tmp_path_factory.mktemp("thirdparty"))


def pytest_collection_finish(session: pytest.Session) -> None:
    if any(item.get_closest_marker("browser") for item in session.items):
        from tests.helpers.browser import ensure_chromium

        ensure_chromium()
