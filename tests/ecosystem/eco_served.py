"""The suite's app as a module a server process imports: ``eco_served:app``.

Its lifespan puts ``greeting`` in the lifespan state, read back by ``GET /state``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from eco_apps import PLUGINS, make_routes
from lamina import JSONResponse, Lamina, Request
from lamina.testing import make_app
from lamina_routing import Route


@asynccontextmanager
async def lifespan(app: Lamina) -> AsyncIterator[dict[str, str]]:
    yield {"greeting": "hello from the lifespan"}


async def state(request: Request) -> JSONResponse:
    return JSONResponse({"greeting": request.state.greeting})


app = make_app(*PLUGINS, routes=[*make_routes(), Route("/state", state)], lifespan=lifespan)
