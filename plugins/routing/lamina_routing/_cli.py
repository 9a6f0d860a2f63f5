"""``lamina routes MODULE:APP``: every route, its methods, name, endpoint and contributor."""

from __future__ import annotations

import argparse
import json
from typing import Any

from ._routes import Host, Mount, Route


def route_rows(app: Any) -> list[dict[str, Any]]:
    """One row per route of an assembled (or assemblable) app, mounts expanded."""
    if hasattr(app, "assemble"):
        app.assemble()
    router = getattr(app, "router", app)
    if not hasattr(router, "iter_route_details"):
        raise SystemExit(
            "lamina routes: the app's router is not lamina-routing's; enable the 'routing' plugin"
        )
    rows: list[dict[str, Any]] = []
    for path, route, plugin, name, host in router.iter_route_details():
        if isinstance(route, Route):
            methods = route.allowed() or ["*"]
            kind = "http"
        elif isinstance(route, Mount):
            methods, kind = ["*"], "mount"
        elif isinstance(route, Host):
            methods, kind, path = ["*"], "host", route.host
        else:
            methods, kind = ["*"], getattr(route, "protocol", "?")
        describe = getattr(route, "describe_endpoint", None)
        if host is not None and kind != "host":  # under a Host: say which host it answers
            path = host + (path or "/")
        rows.append(
            {
                "methods": methods,
                "path": path or "/",
                "name": name,  # what url_for takes: "mount:route" under named mounts and hosts
                "endpoint": describe() if describe else repr(route),
                "plugin": plugin,
                "kind": kind,
            }
        )
    return rows


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("app", metavar="MODULE:APP", help="the app whose routes to list")
    parser.add_argument("--json", action="store_true", help="print JSON")


def run(args: argparse.Namespace) -> int:
    from lamina.plugin import load_app

    rows = route_rows(load_app(args.app))
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        print("no routes")
        return 0
    headers = ("METHODS", "PATH", "NAME", "ENDPOINT", "PLUGIN")
    table = [
        (
            ",".join(r["methods"]) if r["kind"] != "websocket" else "WS",
            r["path"],
            r["name"] or "-",
            r["endpoint"],
            r["plugin"],
        )
        for r in rows
    ]
    widths = [max(len(h), *(len(t[i]) for t in table)) for i, h in enumerate(headers)]
    for line in (headers, *table):
        print("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip())
    return 0
