"""Call an ASGI app with one raw HTTP scope (paths exactly as a server would decode them)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import anyio

from tests.helpers.asgi import http_scope


class Result:
    def __init__(self, messages: list[dict[str, Any]]) -> None:
        assert messages and messages[0]["type"] == "http.response.start", messages
        self.status: int = messages[0]["status"]
        self.headers = {k.decode(): v.decode("latin-1") for k, v in messages[0]["headers"]}
        bodies = messages[1:]
        assert bodies and not bodies[-1].get("more_body", False)
        self.body = b"".join(m.get("body", b"") for m in bodies)


def request(
    app: Any,
    path: str,
    method: str = "GET",
    headers: Iterable[tuple[str, str]] = (),
    root_path: str = "",
    query: bytes = b"",
) -> Result:
    scope = http_scope(
        method,
        path,
        [(k.lower().encode(), v.encode("latin-1")) for k, v in headers],
        query_string=query,
        raw_path=path.encode("utf-8", "surrogatepass"),
        root_path=root_path,
    )
    messages: list[dict[str, Any]] = []

    async def main() -> None:
        done = anyio.Event()

        async def receive() -> dict[str, Any]:
            await done.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            messages.append(message)

        with anyio.fail_after(10):
            await app(scope, receive, send)
        done.set()

    anyio.run(main)
    return Result(messages)
