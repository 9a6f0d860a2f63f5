"""The two test clients: :class:`TestClient` (sync) and :class:`AsyncTestClient`.

``TestClient`` runs the app on an anyio event loop in a portal thread (asyncio or trio);
``AsyncTestClient`` runs it on the caller's loop. Both run the lifespan when used as context
managers, persist cookies, and re-raise server exceptions by default so a failing endpoint
fails the test with its own traceback. What they share about the app lives in
:class:`_AppClient`; how a request reaches the app, in :mod:`.transport`.
"""

from __future__ import annotations

import contextlib
import math
import warnings
from collections.abc import Iterator, Sequence
from types import TracebackType
from typing import Any, TypedDict, Unpack

import anyio
import anyio.abc
import anyio.from_thread
import httpx

from ..types import ASGIApp
from .lifespan import Lifespan, LifespanNotRunWarning, has_lifespan_work
from .transport import STREAM_KEY, ASGIHandler, AsyncTransport, SyncTransport
from .websocket import (
    AsyncWebSocketTestSession,
    WebSocketCore,
    WebSocketTestSession,
    websocket_scope,
)

__all__ = ["AsyncTestClient", "ClientOptions", "TestClient"]


def _expose_template(response: httpx.Response) -> None:
    scope = response.extensions.get("lamina.scope") or {}
    rendered = scope.get("lamina.template_response")
    if rendered is not None:
        # extra attributes on httpx's Response, as Starlette's test client sets them
        response.template = rendered.get("template")  # type: ignore[attr-defined]  # see above
        response.context = rendered.get("context")  # type: ignore[attr-defined]  # see above


class ClientOptions(TypedDict, total=False):
    """The keyword options both test clients take (defaults in brackets).

    - ``raise_server_exceptions`` [True]: an exception the app raises fails the request
      with its own traceback instead of becoming a 500 response.
    - ``root_path`` [""]: the ASGI ``root_path`` of every request (the app is mounted there).
    - ``client`` [("testclient", 50000)]: the ``scope["client"]`` address.
    - ``follow_redirects`` [True], ``cookies`` [None], ``headers`` [None]: as for httpx; the
      ``user-agent`` header is ``testclient`` unless ``headers`` sets one.
    """

    raise_server_exceptions: bool
    root_path: str
    client: tuple[str, int]
    follow_redirects: bool
    cookies: httpx._types.CookieTypes | None
    headers: dict[str, str] | None


class _AppClient:
    """What both clients keep about the app: its lifespan, the handler that turns requests
    into ASGI calls, the bodies still streaming, and the once-only lifespan warning."""

    def _init_app(self, app: ASGIApp, options: ClientOptions) -> dict[str, Any]:
        """Keep what both clients need about ``app``; return the options meant for httpx."""
        self.app = app
        self._lifespan = Lifespan(app)
        self._handler = ASGIHandler(
            app,
            raise_server_exceptions=options.get("raise_server_exceptions", True),
            root_path=options.get("root_path", ""),
            client=options.get("client", ("testclient", 50000)),
            state=self._lifespan.state,
        )
        self._warned = False
        self._open_bodies: set[Any] = set()
        return {
            "follow_redirects": options.get("follow_redirects", True),
            "cookies": options.get("cookies"),
            "headers": {"user-agent": "testclient", **(options.get("headers") or {})},
        }

    def _lifespan_warning_due(self) -> bool:
        """True once, the first time it is asked, if the app has lifespan work to do."""
        if self._warned or not has_lifespan_work(self.app):
            return False
        self._warned = True
        return True

    def _websocket_core(
        self, request: httpx.Request, subprotocols: Sequence[str], close_timeout: float
    ) -> WebSocketCore:
        scope = websocket_scope(self._handler.scope_for(request), subprotocols)
        return WebSocketCore(self.app, scope, self._handler.raise_server_exceptions, close_timeout)


class TestClient(_AppClient, httpx.Client):
    """Synchronous client: ``with TestClient(app) as client: client.get("/")``."""

    __test__ = False  # not a pytest test class

    def __init__(
        self,
        app: ASGIApp,
        base_url: str = "http://testserver",
        *,
        backend: str = "asyncio",
        backend_options: dict[str, Any] | None = None,
        timeout: float | None = None,
        **options: Unpack[ClientOptions],
    ) -> None:
        """``backend``/``backend_options``: the anyio backend the app runs on (in a portal
        thread); ``timeout``: httpx's, none by default; the rest: :class:`ClientOptions`."""
        self.backend = backend
        self.backend_options = backend_options or {}
        self._portal: anyio.from_thread.BlockingPortal | None = None
        self._exit_stack: contextlib.ExitStack | None = None
        httpx_options = self._init_app(app, options)
        super().__init__(
            base_url=base_url,
            transport=SyncTransport(self._handler, self._portal_for_request, self._open_bodies),
            timeout=timeout if timeout is not None else math.inf,
            event_hooks={"response": [_expose_template]},
            **httpx_options,
        )

    @contextlib.contextmanager
    def _portal_for_request(self) -> Iterator[anyio.from_thread.BlockingPortal]:
        if self._portal is not None:
            yield self._portal
            return
        if self._lifespan_warning_due():
            warnings.warn(
                "TestClient used without running the app's lifespan (startup hooks and "
                "lifespan contexts did not run); use `with TestClient(app) as client:`",
                LifespanNotRunWarning,
                stacklevel=6,
            )
        with anyio.from_thread.start_blocking_portal(self.backend, self.backend_options) as portal:
            yield portal

    def send(
        self,
        request: httpx.Request,
        *,
        stream: bool = False,
        **kwargs: Any,
    ) -> httpx.Response:
        request.extensions[STREAM_KEY] = stream  # `client.stream(...)` reads incrementally
        return super().send(request, stream=stream, **kwargs)

    def websocket_connect(
        self,
        url: str,
        subprotocols: Sequence[str] = (),
        *,
        headers: dict[str, str] | None = None,
        close_timeout: float = 5.0,
    ) -> WebSocketTestSession:
        """Open a WebSocket to the app; use the result as a context manager.

        The handshake happens on ``__enter__``: a refusal raises :class:`WebSocketDisconnect`
        (the app closed) or :class:`WebSocketDenialResponse` (the app answered with HTTP).
        Cookies and default headers of the client are sent.
        """
        request = self.build_request("GET", url, headers=headers)
        return WebSocketTestSession(
            self, self._websocket_core(request, subprotocols, close_timeout)
        )

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
        for body in list(self._open_bodies):  # a stream left open must not hang the exit
            body.close()
        self._portal = None
        stack, self._exit_stack = self._exit_stack, None
        if stack is not None:
            stack.close()
        super().__exit__(exc_type, exc, tb)


class AsyncTestClient(_AppClient, httpx.AsyncClient):
    """Async client: ``async with AsyncTestClient(app) as client: await client.get("/")``."""

    __test__ = False

    def __init__(
        self,
        app: ASGIApp,
        base_url: str = "http://testserver",
        **options: Unpack[ClientOptions],
    ) -> None:
        """``options``: :class:`ClientOptions`."""
        self._task_group: anyio.abc.TaskGroup | None = None
        httpx_options = self._init_app(app, options)
        super().__init__(
            base_url=base_url,
            transport=AsyncTransport(self._handler, self._open_bodies),
            event_hooks={"response": [self._expose]},
            **httpx_options,
        )

    @staticmethod
    async def _expose(response: httpx.Response) -> None:
        _expose_template(response)

    def websocket_connect(
        self,
        url: str,
        subprotocols: Sequence[str] = (),
        *,
        headers: dict[str, str] | None = None,
        close_timeout: float = 5.0,
    ) -> AsyncWebSocketTestSession:
        """Open a WebSocket to the app: ``async with client.websocket_connect("/ws") as ws``."""
        self._warn_without_lifespan()
        request = self.build_request("GET", url, headers=headers)
        return AsyncWebSocketTestSession(self._websocket_core(request, subprotocols, close_timeout))

    def _warn_without_lifespan(self) -> None:
        if self._task_group is None and self._lifespan_warning_due():
            warnings.warn(
                "AsyncTestClient used without running the app's lifespan (startup hooks and "
                "lifespan contexts did not run); use `async with AsyncTestClient(app) as c:`",
                LifespanNotRunWarning,
                stacklevel=3,
            )

    async def send(
        self,
        request: httpx.Request,
        *,
        stream: bool = False,
        **kwargs: Any,
    ) -> httpx.Response:
        self._warn_without_lifespan()
        request.extensions[STREAM_KEY] = stream
        return await super().send(request, stream=stream, **kwargs)

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
        for body in list(self._open_bodies):
            await body.aclose()
        if self._task_group is not None:
            self._lifespan._stop.set()
            await self._task_group.__aexit__(None, None, None)
            self._task_group = None
        await super().__aexit__(exc_type, exc, tb)
