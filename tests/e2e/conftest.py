"""Fixtures for end-to-end tests: real servers on 127.0.0.1 (see tests/helpers/servers.py).

``live_server(app, server="uvicorn", loop="asyncio")`` starts the app, returns its base URL
and stops it when the test ends. ``server_kind`` parametrizes a test over the three
combinations the kernel supports: uvicorn/asyncio, hypercorn/asyncio, hypercorn/trio.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import pytest

from tests.helpers.servers import serve

SERVER_KINDS = [("uvicorn", "asyncio"), ("hypercorn", "asyncio"), ("hypercorn", "trio")]


@pytest.fixture
def live_server() -> Iterator[Callable[..., str]]:
    with ExitStack() as stack:

        def start(app: Any, server: str = "uvicorn", loop: str = "asyncio", **options: Any) -> str:
            return stack.enter_context(serve(app, server=server, loop=loop, **options))

        yield start


@pytest.fixture(params=SERVER_KINDS, ids=["-".join(kind) for kind in SERVER_KINDS])
def server_kind(request: pytest.FixtureRequest) -> tuple[str, str]:
    return request.param  # type: ignore[no-any-return]
