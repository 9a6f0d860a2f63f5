"""Templates in process: Lamina (routing + templates) beside Starlette, in the same run.

Two scenarios, each an ASGI call driven directly (no sockets), bounded by count:

* ``page``      — a child template extending a base layout, a 20-item loop, one ``url_for``;
* ``processor`` — the same page with one context processor adding a variable.

Columns: ``lamina`` (lamina-routing + lamina-templates), ``starlette`` (Route +
Jinja2Templates) and ``raw`` (a bare ASGI app rendering the same Jinja2 template with a
plain environment: the floor). Both frameworks use an environment with ``auto_reload`` off
(Lamina's default outside debug; set explicitly for Starlette so the comparison is fair).
Each repeat runs every column back to back; medians are printed with the ratio to
Starlette. No assertion on timings anywhere: this only prints.

    uv run python bench/templates_bench.py [--requests 10000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from inproc import http_scope  # beside this file

SCENARIOS = ("page", "processor")
BASE = (
    "<!doctype html><html><head><title>{% block title %}{% endblock %}</title></head>"
    "<body>{% block body %}{% endblock %}</body></html>"
)
PAGE = (
    "{% extends 'base.html' %}{% block title %}{{ title }}{% endblock %}{% block body %}"
    "<h1>{{ title }} {{ extra }}</h1><ul>{% for i in items %}<li>{{ i }}</li>{% endfor %}"
    "</ul><a href=\"{{ url_for('page') }}\">again</a>{% endblock %}"
)
CONTEXT = {"title": "Bench <page>", "items": list(range(20))}


def processor(request: Any) -> dict[str, Any]:
    return {"extra": "from a processor"}


def lamina_app(directory: str, with_processor: bool) -> Any:
    from lamina import Lamina
    from lamina_routing import Route
    from lamina_templates import TemplateResponse, templates

    async def page(request: Any) -> Any:
        return TemplateResponse(request, "page.html", CONTEXT)

    app = Lamina(
        [Route("/page", page, name="page")],
        autoload=False,
        plugins=["routing", "templates"],
        settings={"templates": {"directories": [directory]}},
    )
    if with_processor:
        templates(app).add_context_processor(processor)
    return app


def starlette_app(directory: str, with_processor: bool) -> Any:
    import jinja2
    from starlette.applications import Starlette
    from starlette.routing import Route
    from starlette.templating import Jinja2Templates

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(directory),
        autoescape=jinja2.select_autoescape(),
        auto_reload=False,
    )
    tpl = Jinja2Templates(env=env, context_processors=[processor] if with_processor else None)

    async def page(request: Any) -> Any:
        return tpl.TemplateResponse(request, "page.html", CONTEXT)

    return Starlette(routes=[Route("/page", page, name="page")])


def raw_app(directory: str) -> Any:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(directory),
        autoescape=jinja2.select_autoescape(),
        auto_reload=False,
    )
    env.globals["url_for"] = lambda name: "http://bench/page"
    template = env.get_template("page.html")

    async def app(scope: Any, receive: Any, send: Any) -> None:
        body = template.render(CONTEXT).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"text/html; charset=utf-8"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    return app


HEADERS = [(b"host", b"bench")]


async def drive(app: Any, count: int) -> tuple[float, bytes]:
    body_message = {"type": "http.request", "body": b"", "more_body": False}

    async def receive() -> Any:
        return body_message

    statuses: list[int] = []
    last = [b""]

    async def send(message: Any) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])
        else:
            last[0] = message.get("body", b"")

    start = time.perf_counter()
    for _ in range(count):
        await app(http_scope("/page", HEADERS, server=("bench", 80)), receive, send)
    elapsed = time.perf_counter() - start
    if set(statuses) != {200}:
        raise RuntimeError(f"unexpected statuses {set(statuses)}")
    return count / elapsed, last[0]


async def main(requests: int, repeats: int) -> None:
    with tempfile.TemporaryDirectory() as directory:
        Path(directory, "base.html").write_text(BASE)
        Path(directory, "page.html").write_text(PAGE)
        results: dict[tuple[str, str], list[float]] = {}
        names = ("raw", "starlette", "lamina")
        apps: dict[tuple[str, str], Any] = {}
        for scenario in SCENARIOS:
            with_processor = scenario == "processor"
            apps[(scenario, "raw")] = raw_app(directory)
            apps[(scenario, "starlette")] = starlette_app(directory, with_processor)
            apps[(scenario, "lamina")] = lamina_app(directory, with_processor)
            lamina_body = (await drive(apps[(scenario, "lamina")], 10))[1]
            starlette_body = (await drive(apps[(scenario, "starlette")], 10))[1]
            if lamina_body != starlette_body:
                raise RuntimeError(f"{scenario}: Lamina and Starlette rendered different pages")
        # Every repeat runs every (scenario, column) back to back, alternating the order, so
        # the load of this shared machine spreads over all columns alike.
        for repeat in range(repeats):
            order = names if repeat % 2 == 0 else tuple(reversed(names))
            for scenario in SCENARIOS:
                for name in order:
                    app = apps[(scenario, name)]
                    await drive(app, max(requests // 10, 100))  # warm up
                    rate, _ = await drive(app, requests)
                    results.setdefault((scenario, name), []).append(rate)
    print(f"{'scenario':<10} {'column':<10} {'req/s':>10} {'vs starlette':>13}")
    for scenario in SCENARIOS:
        base = statistics.median(results[(scenario, "starlette")])
        for name in names:
            rate = statistics.median(results[(scenario, name)])
            print(f"{scenario:<10} {name:<10} {rate:>10.0f} {rate / base:>12.2f}x")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=10000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(main(args.requests, args.repeats))
