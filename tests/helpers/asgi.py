"""Driving an ASGI app by hand, for tests that choose every message: an HTTP scope, the body
split into chunks of the test's choosing, what the app sends back, and one bounded run.

Tests that only need a request and a response use the test client instead; these helpers are
for what a client cannot do (a body cut at exact byte offsets, a disconnect mid-upload, a
scope with odd fields).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import anyio

__all__ = ["Sent", "body_messages", "drive", "http_scope", "receiver"]

Headers = Mapping[str, str] | Iterable[tuple[bytes, bytes]]


def http_scope(
    method: str = "POST",
    path: str = "/",
    headers: Headers = (),
    /,
    *,
    query_string: bytes = b"",
    client: tuple[str, int] | None = ("127.0.0.1", 1234),
    server: tuple[str, int] | None = ("testserver", 80),
    **extra: Any,
) -> dict[str, Any]:
    """A complete HTTP scope; ``headers`` as a ``{name: value}`` mapping or raw byte pairs,
    ``extra`` keys added, or overriding any other (``path=`` then leaves ``raw_path`` alone)."""
    pairs = (
        [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
        if isinstance(headers, Mapping)
        else list(headers)
    )
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": extra["raw_path"] if "raw_path" in extra else path.encode(),
        "query_string": query_string,
        "root_path": "",
        "headers": pairs,
        "client": client,
        "server": server,
        **extra,
    }


def body_messages(chunks: Sequence[bytes]) -> list[dict[str, Any]]:
    """``http.request`` messages carrying ``chunks`` (one empty body when there are none)."""
    chunks = list(chunks) or [b""]
    return [
        {"type": "http.request", "body": chunk, "more_body": i < len(chunks) - 1}
        for i, chunk in enumerate(chunks)
    ]


def receiver(*messages: dict[str, Any], then_block: bool = True) -> Any:
    """A ``receive`` that hands out ``messages`` in order, then blocks forever (a client that
    is still there) or, with ``then_block=False``, says ``http.disconnect``.
    ``receive.calls["n"]`` counts the calls."""
    queue = list(messages)
    calls = {"n": 0}

    async def receive() -> dict[str, Any]:
        calls["n"] += 1
        if queue:
            return queue.pop(0)
        if then_block:
            await anyio.sleep_forever()
        return {"type": "http.disconnect"}

    receive.calls = calls  # type: ignore[attr-defined]  # a counter the tests read
    return receive


class Sent:
    """What the app sent: ``messages``, and for HTTP its ``status`` and joined ``body``."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []

    async def __call__(self, message: dict[str, Any]) -> None:
        self.messages.append(message)

    @property
    def status(self) -> int:
        return int(self.messages[0]["status"])

    @property
    def body(self) -> bytes:
        return b"".join(m.get("body", b"") for m in self.messages[1:])

    def json(self) -> Any:
        return json.loads(self.body)


def drive(
    app: Any,
    scope: dict[str, Any],
    messages: Sequence[dict[str, Any]] = (),
    *,
    then_block: bool = True,
    timeout: float = 10,
) -> Sent:
    """Run ``app`` once on ``scope`` with :func:`receiver` ``(*messages)``, bounded by
    ``timeout`` (a hang fails the test; nothing is timed)."""
    sent = Sent()

    async def main() -> None:
        with anyio.fail_after(timeout):
            await app(scope, receiver(*messages, then_block=then_block), sent)

    anyio.run(main)
    return sent
