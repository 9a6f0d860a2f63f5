"""The in-process test client, cut along its seams; the public face is :mod:`lamina.testclient`.

* :mod:`.lifespan`: the ASGI lifespan protocol for one client context;
* :mod:`.transport`: httpx requests as ASGI HTTP calls, whole or streamed;
* :mod:`.exchange`: one streamed HTTP exchange, read while the app still sends;
* :mod:`.clients`: :class:`TestClient` and :class:`AsyncTestClient`;
* :mod:`.websocket`: WebSocket sessions (the server's half of an ASGI WebSocket).
"""

__all__: list[str] = []  # the names live in the submodules; lamina.testclient re-exports them
