"""``lamina.concurrency``: blocking work in worker threads, on asyncio and trio."""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Iterator

import anyio
import pytest
from lamina import StreamingResponse
from lamina.concurrency import iterate_in_threadpool, run_in_threadpool
from lamina.testclient import TestClient
from lamina.testing import make_app
from lamina_routing import Route

BACKENDS = ["asyncio", "trio"]
request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id")


def blocking(a: int, b: int, *, scale: int = 1) -> tuple[int, str, str]:
    return (a + b) * scale, threading.current_thread().name, request_id.get("unset")


@pytest.mark.parametrize("backend", BACKENDS)
def test_run_in_threadpool_runs_off_the_loop_with_args_kwargs_and_context(backend: str) -> None:
    async def main() -> tuple[int, str, str]:
        request_id.set("r-1")
        return await run_in_threadpool(blocking, 2, 3, scale=10)

    total, thread, seen = anyio.run(main, backend=backend)
    assert total == 50
    assert thread != threading.current_thread().name
    assert seen == "r-1"


@pytest.mark.parametrize("backend", BACKENDS)
def test_run_in_threadpool_raises_the_functions_error(backend: str) -> None:
    async def main() -> None:
        await run_in_threadpool(int, "not a number")

    with pytest.raises(ValueError, match="not a number"):
        anyio.run(main, backend=backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_iterate_in_threadpool_steps_each_item_in_a_worker(backend: str) -> None:
    loop_thread: list[str] = []
    stepped_in: list[str] = []

    def rows() -> Iterator[int]:
        for i in range(3):
            stepped_in.append(threading.current_thread().name)
            yield i

    async def main() -> list[int]:
        loop_thread.append(threading.current_thread().name)
        return [item async for item in iterate_in_threadpool(rows())]

    assert anyio.run(main, backend=backend) == [0, 1, 2]
    assert len(stepped_in) == 3 and loop_thread[0] not in stepped_in


def test_iterate_in_threadpool_stops_on_a_stop_iteration_value_and_closes_early() -> None:
    closed = threading.Event()

    def endless() -> Iterator[str]:
        try:
            while True:
                yield "row"
        finally:
            closed.set()

    async def main() -> list[str]:
        stream = iterate_in_threadpool(endless())
        got = [await anext(stream), await anext(stream)]
        await stream.aclose()  # type: ignore[attr-defined]
        return got

    assert anyio.run(main) == ["row", "row"]
    assert closed.is_set()


def test_a_streaming_response_over_a_blocking_iterator() -> None:
    def csv() -> Iterator[str]:
        yield "a,b\n"
        yield "1,2\n"

    async def export(request: object) -> StreamingResponse:
        return StreamingResponse(iterate_in_threadpool(csv()), media_type="text/csv")

    with TestClient(make_app("routing", routes=[Route("/export", export)])) as client:
        assert client.get("/export").text == "a,b\n1,2\n"
