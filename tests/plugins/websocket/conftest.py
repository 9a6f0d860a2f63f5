from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import pytest
from lamina.testclient import TestClient


@pytest.fixture
def start() -> Iterator[Callable[..., TestClient]]:
    """``start(app, **options)``: a TestClient with lifespan running, closed after the test."""
    with ExitStack() as stack:

        def factory(app: Any, **options: Any) -> TestClient:
            return stack.enter_context(TestClient(app, **options))

        yield factory
