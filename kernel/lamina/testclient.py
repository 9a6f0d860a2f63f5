"""An httpx client that talks to an ASGI app in-process.

``TestClient`` is synchronous: the app runs on an anyio event loop in a portal thread
(asyncio or trio). ``AsyncTestClient`` runs the app on the caller's loop. Both run the
lifespan when used as context managers, persist cookies, and re-raise server exceptions by
default so a failing endpoint fails the test with its own traceback.
"""

from __future__ import annotations

import contextlib
import math
import warnings
from collections.abc import Iterator
from types import TracebackType
from typing import Any
from urllib.parse import unquote

import anyio
import anyio.abc
import anyio.from_thread
import httpx

from .errors import RAISE_KEY
from .types import ASGIApp, Message

__all__ = ["AsyncTestClient", "LifespanNotRunWarning", "TestClient"]


class LifespanNotRunWarning(UserWarning):
    """The app has startup work but the client was used outside ``with``."""


def _has_lifespan_work(app: Any) -> bool:
    if getattr(app, "lifespan_context", None) is not None:
        return True
    pm = getattr(app, "pm", None)
    if pm is None:
        return False
    hooks = (pm.hook.lamina_lifespan, pm.hook.lamina_startup, pm.hook.lamina_shutdown)
    return any(h.get_hookimpls() for h in hooks)


class _Lifespan:
    """Drives the ASGI lifespan protocol for one client context."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.state: dict[str, Any] = {}
        self._to_app: Any = None
        self._from_app: Any = None

    async def run(self, task_status: anyio.abc.TaskStatus[None]) -> None:
        send_to_app, self._app_inbox = anyio.create_memory_object_stream[Message](4)
        self._app_outbox, recv_from_app = anyio.create_memory_object_stream[Message](4)
        self._to_app, self._from_app = send_to_app, recv_from_app
        scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"},
                 "state": self.state}

        async def receive() -> Message:
            return await self._app_inbox.receive()

        async def send(message: Message) -> None:
            await self._app_outbox.send(message)

        async with anyio.create_task_group() as tg:
            tg.start_soon(self._guard, scope, receive, send)
            await send_to_app.send({"type": "lifespan.startup"})
            message = await recv_from_app.receive()
            if message["type"] == "lifespan.startup.failed":
                raise RuntimeError(f"lifespan startup failed: {message.get('message', '')}")
            task_status.started()
            await self._stop.wait()
            await send_to_app.send({"type": "lifespan.shutdown"})
            message = await recv_from_app.receive()
            if message["type"] == "lifespan.shutdown.failed":
                raise RuntimeError(f"lifespan shutdown failed: {message.get('message', '')}")

    async def _guard(self, scope: Message, receive: Any, send: Any) -> None:
        try:
            await self.app(scope, receive, send)
        except BaseException as exc:  # report instead of deadlocking the waiter
            with contextlib.suppress(Exception):
                await self._app_outbox.send(
                    {"type": "lifespan.startup.failed", "message": f"{type(exc).__name__}: {exc}"}
                )
            if not isinstance(exc, Exception):
                raise

    def prepare(self) -> None:
        self._stop = anyio.Event()


class _ASGIHandler:
    """Turns one httpx request into one ASGI HTTP call and back."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        raise_server_exceptions: bool,
        root_path: str,
        client: tuple[str, int],
        state: dict[str, Any],
    ) -> None:
        self.app = app
        self.raise_server_exceptions = raise_server_exceptions
        self.root_path = root_path
        self.client = client
        self.state = state

    def scope_for(self, request: httpx.Request) -> dict[str, Any]:
        url = request.url
        scheme = url.scheme
        default_port = {"http": 80, "https": 443, "ws": 80, "wss": 443}.get(scheme, 80)
        port = url.port or default_port
        headers = [(k.lower(), v) for k, v in request.headers.raw]
        if not any(k == b"host" for k, _ in headers):
            host = url.host if url.port is None else f"{url.host}:{url.port}"
            headers.insert(0, (b"host", host.encode("latin-1")))
        raw_path = url.raw_path.split(b"?", 1)[0]
        path = unquote(raw_path.decode("ascii", "replace"))
        root = self.root_path
        return {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.4"},
            "http_version": "1.1",
            "method": request.method,
            "scheme": scheme,
            "path": root + path if root else path,
            "raw_path": (root.encode() + raw_path) if root else raw_path,
            "root_path": root,
            "query_string": url.query,
            "headers": headers,
            "client": self.client,
            "server": (url.host, port),
            "state": dict(self.state),
            "extensions": {"http.response.trailers": {}},
            RAISE_KEY: self.raise_server_exceptions,
            "lamina.testing": True,
        }

    async def handle(self, request: httpx.Request) -> httpx.Response:
        scope = self.scope_for(request)
        body = request.read()
        request_sent = False
        response_done = anyio.Event()
        status: int | None = None
        headers: list[tuple[bytes, bytes]] = []
        chunks: list[bytes] = []

        async def receive() -> Message:
            nonlocal request_sent
            if not request_sent:
                request_sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            await response_done.wait()
            return {"type": "http.disconnect"}

        async def send(message: Message) -> None:
            nonlocal status, headers
            mtype = message["type"]
            if mtype == "http.response.start":
                if status is not None:
                    raise RuntimeError("the app sent http.response.start twice")
                status = message["status"]
                headers = list(message.get("headers", []))
            elif mtype == "http.response.body":
                if status is None:
                    raise RuntimeError("the app sent a body before http.response.start")
                if response_done.is_set():
                    raise RuntimeError("the app sent a body after the response completed")
                chunks.append(bytes(message.get("body", b"")))
                if not message.get("more_body", False):
                    response_done.set()

        try:
            await self.app(scope, receive, send)
        except Exception:
            if self.raise_server_exceptions:
                raise
            if status is None:
                status, headers, chunks = 500, [], [b"Internal Server Error"]
        finally:
            response_done.set()
        if status is None:
            raise RuntimeError("the app returned without sending a response")
        response = httpx.Response(
            status_code=status,
            headers=headers,
            content=b"".join(chunks),
            request=request,
        )
        response.extensions["lamina.scope"] = scope
        return response


class _SyncTransport(httpx.BaseTransport):
    def __init__(self, client: TestClient) -> None:
        self.client = client

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        with self.client._portal_for_request() as portal:
            response = portal.call(self.client._handler.handle, request)
        response.read()
        return response


class _AsyncTransport(httpx.AsyncBaseTransport):
    def __init__(self, handler: _ASGIHandler) -> None:
        self.handler = handler

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self.handler.handle(request)


def _expose_template(response: httpx.Response) -> None:
    scope = response.extensions.get("lamina.scope") or {}
    rendered = scope.get("lamina.template_response")
    if rendered is not None:
        response.template = rendered.get("template")  # type: ignore[attr-defined]
        response.context = rendered.get("context")  # type: ignore[attr-defined]


class TestClient(httpx.Client):
    """Synchronous client: ``with TestClient(app) as client: client.get("/")``."""

    __test__ = False  # not a pytest test class

    def __init__(
        self,
        app: ASGIApp,
        base_url: str = "http://testserver",
        *,
        raise_server_exceptions: bool = True,
        root_path: str = "",
        client: tuple[str, int] = ("testclient", 50000),
        backend: str = "asyncio",
        backend_options: dict[str, Any] | None = None,
        follow_redirects: bool = True,
        cookies: httpx._types.CookieTypes | None = None,
        headers: dict[str, str] | None = None,
        timeout: float | None = None,
    ) -> None:
        self.app = app
        self.backend = backend
        self.backend_options = backend_options or {}
        self._lifespan = _Lifespan(app)
        self._handler = _ASGIHandler(
            app, raise_server_exceptions=raise_server_exceptions, root_path=root_path,
            client=client, state=self._lifespan.state,
        )
        self._portal: anyio.from_thread.BlockingPortal | None = None
        self._exit_stack: contextlib.ExitStack | None = None
        self._warned = False
        super().__init__(
            base_url=base_url, transport=_SyncTransport(self), follow_redirects=follow_redirects,
            cookies=cookies, headers={"user-agent": "testclient", **(headers or {})},
            timeout=timeout if timeout is not None else math.inf,
            event_hooks={"response": [_expose_template]},
        )

    @contextlib.contextmanager
    def _portal_for_request(self) -> Iterator[anyio.from_thread.BlockingPortal]:
        if self._portal is not None:
            yield self._portal
            return
        if not self._warned and _has_lifespan_work(self.app):
            self._warned = True
            warnings.warn(
                "TestClient used without running the app's lifespan (startup hooks and "
                "lifespan contexts did not run); use `with TestClient(app) as client:`",
                LifespanNotRunWarning, stacklevel=6,
            )
        with anyio.from_thread.start_blocking_portal(self.backend, self.backend_options) as portal:
            yield portal

    def __enter__(self) -> TestClient:
        stack = contextlib.ExitStack()
        portal = stack.enter_context(
            anyio.from_thread.start_blocking_portal(self.backend, self.backend_options)
        )
        try:
            self._lifespan.prepare()
            future, _ = portal.start_task(self._lifespan.run)
            stack.callback(self._stop_lifespan, portal, future)
        except BaseException:
            stack.close()
            raise
        self._portal = portal
        self._exit_stack = stack
        return self

    def _stop_lifespan(self, portal: anyio.from_thread.BlockingPortal, future: Any) -> None:
        portal.call(self._lifespan._stop.set)
        future.result()

    def __exit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc: BaseException | None = None,
        tb: TracebackType | None = None,
    ) -> None:
        self._portal = None
        stack, self._exit_stack = self._exit_stack, None
        if stack is not None:
            stack.close()
        super().__exit__(exc_type, exc, tb)


class AsyncTestClient(httpx.AsyncClient):
    """Async client: ``async with AsyncTestClient(app) as client: await client.get("/")``."""

    __test__ = False

    def __init__(
        self,
        app: ASGIApp,
        base_url: str = "http://testserver",
        *,
        raise_server_exceptions: bool = True,
        root_path: str = "",
        client: tuple[str, int] = ("testclient", 50000),
        follow_redirects: bool = True,
        cookies: httpx._types.CookieTypes | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.app = app
        self._lifespan = _Lifespan(app)
        self._handler = _ASGIHandler(
            app, raise_server_exceptions=raise_server_exceptions, root_path=root_path,
            client=client, state=self._lifespan.state,
        )
        self._task_group: anyio.abc.TaskGroup | None = None
        super().__init__(
            base_url=base_url, transport=_AsyncTransport(self._handler),
            follow_redirects=follow_redirects, cookies=cookies,
            headers={"user-agent": "testclient", **(headers or {})},
            event_hooks={"response": [self._expose]},
        )

    @staticmethod
    async def _expose(response: httpx.Response) -> None:
        _expose_template(response)

    async def __aenter__(self) -> AsyncTestClient:
        await super().__aenter__()
        self._task_group = anyio.create_task_group()
        await self._task_group.__aenter__()
        self._lifespan.prepare()
        await self._task_group.start(self._lifespan.run)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc: BaseException | None = None,
        tb: TracebackType | None = None,
    ) -> None:
        if self._task_group is not None:
            self._lifespan._stop.set()
            await self._task_group.__aexit__(None, None, None)
            self._task_group = None
        await super().__aexit__(exc_type, exc, tb)


