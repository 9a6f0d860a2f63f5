#!/usr/bin/env python
"""OpenAPI: what the document costs at assembly for 1,000 routes, beside Starlette's
``SchemaGenerator`` on the same routes, in one process.

The route table: 1,000 routes, a quarter static, half with an ``int`` or ``uuid``
parameter, a quarter under mounts; every endpoint has a docstring with a YAML block (a
summary and a ``responses`` mapping), as Starlette's generator expects.

Measured per round (the median of ``--rounds`` is reported, CPU time of the thread, which a
shared machine disturbs less than wall time):

* ``lamina assemble``: ``Lamina(...).assemble()`` with routing only;
* ``lamina assemble + openapi``: the same with the openapi plugin, which builds, serialises
  and hashes the document at assembly (the difference is the document's cost);
* ``starlette get_schema``: ``SchemaGenerator.get_schema(routes)`` on the equivalent
  Starlette routes (a dict, not serialised).

Usage::

    uv run python bench/openapi_bench.py                 # a few seconds
    uv run python bench/openapi_bench.py --routes 1000 --rounds 7
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time
from collections.abc import Callable
from typing import Any

DOC = """{what}.

Returns the {what} as JSON.
---
responses:
  "200":
    description: The {what}.
  "404":
    description: Not found.
"""


def endpoints(n: int) -> list[tuple[str, Callable[..., Any]]]:
    """``(path, endpoint)`` pairs, the path in Lamina's syntax (Starlette's is the same)."""
    out = []
    for i in range(n):

        async def endpoint(request: Any) -> None:
            return None

        endpoint.__name__ = f"endpoint_{i}"
        endpoint.__doc__ = DOC.format(what=f"thing {i}")
        kind = i % 4
        if kind == 0:
            path = f"/static/{i}"
        elif kind == 1:
            path = f"/items{i}/{{id:int}}"
        elif kind == 2:
            path = f"/keys{i}/{{key:uuid}}/detail"
        else:
            path = f"/api{i % 10}/inner{i}/{{id:int}}"
        out.append((path, endpoint))
    return out


def route_table(pairs: list[tuple[str, Callable[..., Any]]], route: Any, mount: Any) -> list[Any]:
    """The table with ``route`` and ``mount`` classes (Lamina's or Starlette's)."""
    plain = [route(p, e, name=e.__name__) for p, e in pairs if not p.startswith("/api")]
    mounts: dict[str, list[Any]] = {}
    for p, e in pairs:
        if p.startswith("/api"):
            prefix, _, rest = p[1:].partition("/")
            mounts.setdefault("/" + prefix, []).append(route("/" + rest, e, name=e.__name__))
    return plain + [mount(prefix, routes=rs) for prefix, rs in mounts.items()]


def timed(fn: Callable[[], Any]) -> float:
    gc.collect()
    start = time.thread_time()
    fn()
    return time.thread_time() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--routes", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    import lamina_routing
    import starlette.routing
    from lamina import Lamina
    from lamina_openapi import openapi_document
    from starlette.schemas import SchemaGenerator

    def lamina_routes(pairs: list[tuple[str, Callable[..., Any]]]) -> list[Any]:
        return route_table(pairs, lamina_routing.Route, lamina_routing.Mount)

    pairs = endpoints(args.routes)
    generator = SchemaGenerator({"openapi": "3.1.0", "info": {"title": "B", "version": "1"}})
    results: dict[str, list[float]] = {"lamina": [], "openapi": [], "starlette": []}
    paths = 0
    for _ in range(args.rounds):
        routes = lamina_routes(pairs)
        results["lamina"].append(
            timed(lambda routes=routes: Lamina(routes, only=["routing"]).assemble())
        )
        routes = lamina_routes(pairs)
        app = Lamina(routes, only=["routing", "openapi"])
        results["openapi"].append(timed(app.assemble))
        paths = len(openapi_document(app)["paths"])
        sroutes = route_table(pairs, starlette.routing.Route, starlette.routing.Mount)
        results["starlette"].append(timed(lambda s=sroutes: generator.get_schema(s)))

    ms = {k: statistics.median(v) * 1000 for k, v in results.items()}
    document = ms["openapi"] - ms["lamina"]
    print(f"{args.routes} routes ({paths} paths in the document), median of {args.rounds} rounds,")
    print("CPU ms of this thread:")
    print(f"  lamina assemble (routing only)      {ms['lamina']:8.1f}")
    print(f"  lamina assemble + openapi           {ms['openapi']:8.1f}")
    print(f"  -> the document (built, JSON, ETag) {document:8.1f}")
    print(f"  starlette SchemaGenerator.get_schema {ms['starlette']:7.1f}")
    print(f"  document / starlette get_schema     {document / ms['starlette']:8.2f}x")


if __name__ == "__main__":
    main()
