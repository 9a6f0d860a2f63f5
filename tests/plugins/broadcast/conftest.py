"""One real redis-server per test module (AOF on, so a restart keeps stream history)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.helpers.redis import RedisServer


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    with RedisServer(tmp_path_factory.mktemp("redis"), appendonly=True) as server:
        yield server
