"""The ASGI lifespan protocol: plugin and app lifespans, order, state, failures."""

from __future__ import annotations

from contextlib import asynccontextmanager

import anyio
import pytest
from lamina import AssemblyError, PlainTextResponse
from lamina.testclient import TestClient
from lamina.testing import make_app, plugin

from tests.helpers.apps import router_plugin


async def drive(app, *, shutdown: bool = True) -> tuple[list[dict], dict]:
    """Run startup (and shutdown) like a server; return what the app sent and the state."""
    inbox = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent: list[dict] = []
    state: dict = {}

    async def receive():
        if not inbox or (not shutdown and len(inbox) == 1):
            await anyio.sleep_forever()
        return inbox.pop(0)

    async def send(message):
        sent.append(message)

    scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": state}
    with anyio.fail_after(5):
        try:
            await app(scope, receive, send)
        except Exception:
            # the real error is raised to the server, only ever after reporting the failure
            assert sent[-1]["type"] == "lifespan.startup.failed"
    return sent, state


def recording_plugin(
    name: str, log: list[str], *, fail_startup: bool = False, fail_shutdown: bool = False
):
    """A plugin whose lifespan context logs ``name:start`` / ``name:stop``, adds
    ``{name}_ctx`` to the state, and fails on entry or exit when told to."""

    @asynccontextmanager
    async def context(app):
        await anyio.sleep(0)  # a real await on either side
        log.append(f"{name}:start")
        if fail_startup:
            raise ValueError(f"{name} cannot start")
        yield {f"{name}_ctx": True}
        await anyio.sleep(0)
        log.append(f"{name}:stop")
        if fail_shutdown:
            raise ValueError(f"{name} cannot stop")

    return plugin(name, lamina_lifespan=lambda app: context)


def app_lifespan(log: list[str]):
    @asynccontextmanager
    async def lifespan(app):
        log.append("app:enter")
        yield {"db": "connected"}
        log.append("app:exit")

    return lifespan


@pytest.mark.anyio
async def test_startup_in_plugin_order_shutdown_in_exact_reverse():
    log: list[str] = []
    app = make_app(
        recording_plugin("a", log),
        recording_plugin("b", log),
        lifespan=app_lifespan(log),
    )
    sent, state = await drive(app)
    assert [m["type"] for m in sent] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert log == ["a:start", "b:start", "app:enter", "app:exit", "b:stop", "a:stop"]
    assert state == {"a_ctx": True, "b_ctx": True, "db": "connected"}


def test_lifespan_state_reaches_every_request():
    log: list[str] = []

    def show(request):
        state = request.state
        return PlainTextResponse(f"{state.db} {state.a_ctx}")

    app = make_app(
        recording_plugin("a", log), router_plugin({"/": show}), lifespan=app_lifespan(log)
    )
    with TestClient(app) as client:
        assert client.get("/").text == "connected True"
        assert client.get("/").text == "connected True"
    assert log[-1] == "a:stop"


@pytest.mark.anyio
async def test_startup_failure_carries_the_message_and_unwinds_what_started():
    log: list[str] = []
    app = make_app(
        recording_plugin("a", log),
        recording_plugin("b", log, fail_startup=True),
        lifespan=app_lifespan(log),
    )
    sent, _ = await drive(app, shutdown=False)
    assert [m["type"] for m in sent] == ["lifespan.startup.failed"]
    message = sent[0]["message"]
    assert "plugin 'b'" in message
    assert "ValueError: b cannot start" in message
    # a started and is undone; b failed to start so it is not exited; the app never ran
    assert log == ["a:start", "b:start", "a:stop"]


@pytest.mark.anyio
async def test_failing_lifespan_context_fails_startup_with_its_message():
    @asynccontextmanager
    async def broken(app):
        raise ConnectionError("database unreachable")
        yield  # pragma: no cover

    app = make_app(plugin("db", lamina_lifespan=lambda app: broken))
    sent, _ = await drive(app, shutdown=False)
    assert sent[0]["type"] == "lifespan.startup.failed"
    assert "database unreachable" in sent[0]["message"]
    assert "plugin 'db'" in sent[0]["message"]


@pytest.mark.anyio
async def test_app_lifespan_failure_fails_startup():
    @asynccontextmanager
    async def broken(app):
        raise RuntimeError("no config")
        yield  # pragma: no cover

    sent, _ = await drive(make_app(lifespan=broken), shutdown=False)
    assert sent == [
        {
            "type": "lifespan.startup.failed",
            "message": "app lifespan start failed: RuntimeError: no config",
        }
    ]


@pytest.mark.anyio
async def test_one_failing_shutdown_does_not_stop_the_others():
    log: list[str] = []
    app = make_app(
        recording_plugin("a", log),
        recording_plugin("b", log, fail_shutdown=True),
        recording_plugin("c", log, fail_shutdown=True),
    )
    sent, _ = await drive(app)
    assert sent[-1]["type"] == "lifespan.shutdown.failed"
    assert "plugin 'b'" in sent[-1]["message"] and "b cannot stop" in sent[-1]["message"]
    assert "plugin 'c'" in sent[-1]["message"] and "c cannot stop" in sent[-1]["message"]
    assert log[-3:] == ["c:stop", "b:stop", "a:stop"]


@pytest.mark.anyio
async def test_shutdown_only_work_runs_at_shutdown():
    log: list[str] = []

    @asynccontextmanager
    async def closer(app):
        yield
        log.append("closed")

    app = make_app(plugin("closer", lamina_lifespan=lambda: closer))
    sent, _ = await drive(app)
    assert sent[-1]["type"] == "lifespan.shutdown.complete"
    assert log == ["closed"]


def test_test_client_raises_the_real_startup_error():
    @asynccontextmanager
    async def broken(app):
        yield 1 / 0

    app = make_app(plugin("x", lamina_lifespan=lambda: broken))
    with pytest.raises(ZeroDivisionError) as caught, TestClient(app):
        pass  # pragma: no cover
    assert "plugin 'x'" in "".join(caught.value.__notes__)


class PoolDown(Exception):
    pass


@asynccontextmanager
async def pool_down(app=None):
    raise PoolDown("database unreachable")
    yield  # pragma: no cover


@pytest.mark.anyio
async def test_startup_failure_is_reported_then_raised_as_the_real_error():
    app = make_app(lifespan=pool_down)
    sent: list[dict] = []

    async def receive():
        return {"type": "lifespan.startup"}

    async def send(message):
        sent.append(message)

    with pytest.raises(PoolDown, match="database unreachable") as caught:
        await app({"type": "lifespan", "asgi": {"version": "3.0"}}, receive, send)
    assert sent == [
        {
            "type": "lifespan.startup.failed",
            "message": "app lifespan start failed: PoolDown: database unreachable",
        }
    ]
    assert caught.value.__notes__ == ["Lamina: app lifespan start failed during lifespan startup"]


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_asgi_lifespan_manager_sees_the_real_startup_error(backend):
    from asgi_lifespan import LifespanManager

    app = make_app(plugin("db", lamina_lifespan=lambda: pool_down))

    async def main():
        async with LifespanManager(app):
            pass  # pragma: no cover

    if backend == "asyncio":
        with pytest.raises(PoolDown, match="database unreachable"):
            anyio.run(main, backend=backend)
    else:  # asgi-lifespan's trio nursery wraps what it re-raises; the real error is inside
        with pytest.raises(BaseExceptionGroup) as caught:
            anyio.run(main, backend=backend)
        assert caught.value.subgroup(PoolDown) is not None


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_lifespan_runs_on_trio_and_asyncio(backend):
    log: list[str] = []
    app = make_app(recording_plugin("a", log), router_plugin({}))
    with TestClient(app, backend=backend):
        assert log == ["a:start"]
    assert log == ["a:start", "a:stop"]


@pytest.mark.anyio
async def test_assembly_errors_fail_the_startup_with_their_message():
    def claim(name):
        return plugin(
            name,
            lamina_register_protocols=lambda register: register(
                "websocket", lambda endpoint: endpoint
            ),
        )

    app = make_app(claim("ws-one"), claim("ws-two"))
    sent, _ = await drive(app, shutdown=False)
    assert [m["type"] for m in sent] == ["lifespan.startup.failed"]
    assert "'ws-one'" in sent[0]["message"] and "'ws-two'" in sent[0]["message"]


def test_a_lifespan_hook_must_return_a_context_factory():
    @asynccontextmanager
    async def pool(app):
        yield  # pragma: no cover - never entered

    app = make_app(plugin("eager", lamina_lifespan=lambda app: pool(app)))
    with pytest.raises(AssemblyError, match=r"plugin 'eager'.*not the context manager itself"):
        app.assemble()
