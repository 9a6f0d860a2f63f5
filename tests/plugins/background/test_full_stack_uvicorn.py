"""Every onion plugin of issue 6 together under a real uvicorn on 127.0.0.1."""

from __future__ import annotations

import gzip

import anyio
import httpx
from lamina import JSONResponse, PlainTextResponse
from lamina.testing import make_app
from lamina_background import BackgroundTask
from lamina_routing import Route

from tests.helpers.servers import serve_uvicorn

ORIGIN = "https://app.example"
BIG = {"rows": [{"n": i, "text": "lamina " * 4} for i in range(200)]}


def test_guards_cors_gzip_background_under_uvicorn() -> None:
    finished: list[int] = []

    async def job() -> None:
        await anyio.sleep(0.5)  # cancelled, it would never append
        finished.append(1)

    async def big(request: object) -> JSONResponse:
        return JSONResponse(BIG, background=BackgroundTask(job))

    async def small(request: object) -> PlainTextResponse:
        return PlainTextResponse("hi")

    app = make_app(
        "routing", "guards", "cors", "gzip", "background",
        routes=[Route("/big", big), Route("/small", small)],
        settings={"guards": {"trusted_hosts": ["127.0.0.1"]},
                  "cors": {"allow_origins": [ORIGIN]},
                  "background": {"grace_period": 5}},
    )
    with serve_uvicorn(app) as url:
        with httpx.Client(base_url=url, timeout=5) as c:
            r = c.get("/big", headers={"origin": ORIGIN, "accept-encoding": "gzip"})
            # The response came back while the task is still waiting: it was not inline.
            assert not finished
            assert r.headers["content-encoding"] == "gzip"
            assert r.json() == BIG
            vary = {v.strip().lower() for v in r.headers["vary"].split(",")}
            assert vary == {"origin", "accept-encoding"}
            assert r.headers["access-control-allow-origin"] == ORIGIN

            with c.stream("GET", "/big", headers={"accept-encoding": "gzip"}) as raw:
                body = b"".join(raw.iter_raw())
            assert int(raw.headers["content-length"]) == len(body)
            assert gzip.decompress(body).startswith(b'{"rows":')

            small_r = c.get("/small", headers={"origin": "https://evil.example"})
            assert small_r.text == "hi" and "access-control-allow-origin" not in small_r.headers

            bad = c.get("/small", headers={"host": "evil.example"})
            assert bad.status_code == 400
            missing = c.get("/nowhere", headers={"origin": ORIGIN})
            assert missing.status_code == 404
            assert missing.headers["access-control-allow-origin"] == ORIGIN
        assert len(finished) < 2
    # Leaving serve_uvicorn ran the lifespan shutdown, which waited for both tasks.
    assert finished == [1, 1]
