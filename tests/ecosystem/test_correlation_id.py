"""asgi-correlation-id in every place: the response carries the request's id, and the
endpoint sees the same id in the context variable the package sets."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from asgi_correlation_id import CorrelationIdMiddleware
from eco_apps import PLACEMENTS, placed


@pytest.mark.parametrize("where", PLACEMENTS)
def test_id_reaches_the_endpoint_and_the_response(where: str, live: Any) -> None:
    app, _lamina, prefix = placed(CorrelationIdMiddleware, where)
    base = live(app)

    minted = httpx.get(f"{base}{prefix}/whoami")
    assert minted.status_code == 200
    header = minted.headers["x-request-id"]
    assert len(header) == 32  # a fresh uuid4 hex
    assert minted.json() == {"correlation_id": header}

    given = "0123456789abcdef0123456789abcdef"
    echoed = httpx.get(f"{base}{prefix}/whoami", headers={"X-Request-ID": given})
    assert echoed.headers["x-request-id"] == given
    assert echoed.json() == {"correlation_id": given}

    # a bad id is replaced, never echoed back
    forged = httpx.get(f"{base}{prefix}/whoami", headers={"X-Request-ID": "not-a-uuid<script>"})
    assert forged.headers["x-request-id"] != "not-a-uuid<script>"
    assert forged.json() == {"correlation_id": forged.headers["x-request-id"]}
