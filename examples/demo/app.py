"""The demo app that the README serves: ``uv run lamina serve examples.demo.app:app``."""

from __future__ import annotations

from lamina import Lamina, PlainTextResponse, Request


async def home(request: Request) -> PlainTextResponse:
    return PlainTextResponse("Hello from Lamina")


app = Lamina()
