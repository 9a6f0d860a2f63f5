"""An app (or plugin) replacing another plugin's route on purpose: ``Route(..., replaces=P)``.

Without the opt-in two routes on one method and path stay a ConflictError naming both (and
saying how to opt in); with it the replacing route serves, the replaced one is gone from
``lamina routes``, and its name still reverses; an opt-in that replaces nothing is an error.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from lamina import ConflictError, PlainTextResponse, Request
from lamina.cli import main
from lamina.testclient import TestClient
from lamina_routing import Mount, Route
from routing_helpers import client, make, routes_plugin


async def theirs(request: Request) -> PlainTextResponse:
    return PlainTextResponse("plugin")


async def mine(request: Request) -> PlainTextResponse:
    return PlainTextResponse("app")


async def extra(request: Request) -> PlainTextResponse:
    return PlainTextResponse("extra")


def health_plugin():
    return routes_plugin(
        "requestid",
        Route("/_requestid/health", theirs, name="requestid-health"),
        Route("/_requestid/other", extra),
    )


def test_without_the_opt_in_it_is_a_conflict_naming_both_and_the_opt_in() -> None:
    app = make([Route("/_requestid/health", mine)], plugins=[health_plugin()])
    with pytest.raises(ConflictError) as info:
        app.assemble()
    message = str(info.value)
    assert message.startswith("route GET /_requestid/health is registered twice: by the app")
    assert "plugin 'requestid'" in message
    assert "Route(path, endpoint, replaces='requestid')" in message


def test_with_the_opt_in_the_apps_route_serves_and_the_plugins_others_stay() -> None:
    app_route = Route("/_requestid/health", mine, replaces="requestid")
    with client([app_route], plugins=[health_plugin()]) as c:
        assert c.get("/_requestid/health").text == "app"
        assert c.head("/_requestid/health").status_code == 200
        assert c.get("/_requestid/other").text == "extra"  # only that one route is replaced
        router = c.app.router
        # the plugin's own url_for keeps working: same path, now the app's route
        assert router.url_path_for("requestid-health") == "/_requestid/health"
        listed = [(path, contributor) for path, _route, contributor in router.iter_routes()]
        assert listed == [("/_requestid/health", "app"), ("/_requestid/other", "requestid")]


def test_an_opt_in_that_replaces_nothing_is_an_error() -> None:
    typo = Route("/_requestid/healht", mine, replaces="requestid")
    with pytest.raises(ConflictError) as info:
        make([typo], plugins=[health_plugin()]).assemble()
    message = str(info.value)
    assert "declares replaces='requestid'" in message
    assert "contributes no route on /_requestid/healht" in message
    # naming a plugin that is not there (or not enabled) is the same error
    with pytest.raises(ConflictError, match="replaces='requestidd'"):
        make([Route("/_requestid/health", mine, replaces="requestidd")]).assemble()
    # and naming the wrong plugin does not let the conflict through either
    other = Route("/_requestid/health", mine, replaces="metrics")
    with pytest.raises(ConflictError, match="registered twice"):
        make([other], plugins=[health_plugin()]).assemble()


def test_a_replacement_must_cover_every_method_of_the_replaced_route() -> None:
    both = routes_plugin("forms", Route("/submit", theirs, methods=["GET", "POST"]))
    with pytest.raises(ConflictError, match="but not its POST; declare methods covering"):
        make([Route("/submit", mine, replaces="forms")], plugins=[both]).assemble()
    covering = Route("/submit", mine, methods=["GET", "POST"], replaces="forms")
    with client([covering], plugins=[both]) as c:
        assert c.post("/submit").text == "app"


def test_a_plugin_route_inside_a_mount_is_replaced_by_full_path() -> None:
    mounted = routes_plugin("admin", Mount("/admin", [Route("/{page:int}", theirs)]))
    with client([Route("/admin/{n:int}", mine, replaces="admin")], plugins=[mounted]) as c:
        assert c.get("/admin/3").text == "app"


def test_a_route_compiled_after_the_one_it_replaces_still_wins() -> None:
    # plugins compile in name order: "aa" first, then "zz", which replaces aa's route
    first = routes_plugin("aa", Route("/shared", theirs, name="shared"))
    second = routes_plugin("zz", Route("/shared", mine, name="shared", replaces="aa"))
    with client(plugins=[first, second]) as c:
        assert c.get("/shared").text == "app"
        assert c.app.router.url_path_for("shared") == "/shared"
        assert [contributor for _p, _r, contributor in c.app.router.iter_routes()] == ["zz"]


def test_lamina_routes_shows_the_replacement(tmp_path: Path, monkeypatch, capsys) -> None:
    (tmp_path / "replacing_app.py").write_text(
        textwrap.dedent("""
            from lamina import Lamina, PlainTextResponse
            from lamina.testing import plugin
            from lamina_routing import Route

            async def theirs(request):
                return PlainTextResponse("plugin")

            async def mine(request):
                return PlainTextResponse("app")

            app = Lamina(
                [Route("/_requestid/health", mine, replaces="requestid")],
                autoload=False,
                plugins=[
                    "routing",
                    plugin(
                        "requestid",
                        lamina_register_routes=lambda register: register(
                            Route("/_requestid/health", theirs)
                        ),
                    ),
                ],
            )
        """)
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    assert main(["routes", "replacing_app:app", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["path"], r["plugin"], r["endpoint"]) for r in rows] == [
        ("/_requestid/health", "app", "replacing_app.mine")
    ]
    with TestClient(__import__("replacing_app").app) as c:
        assert c.get("/_requestid/health").text == "app"


def test_an_app_websocket_route_replaces_a_plugins() -> None:
    from lamina_websocket import WebSocketRoute

    async def theirs_ws(websocket) -> None:
        await websocket.accept()
        await websocket.send_text("plugin")
        await websocket.close()

    async def mine_ws(websocket) -> None:
        await websocket.accept()
        await websocket.send_text("app")
        await websocket.close()

    feed = routes_plugin("feed", WebSocketRoute("/feed", theirs_ws))
    clash = make([WebSocketRoute("/feed", mine_ws)], plugins=["websocket", feed])
    with pytest.raises(ConflictError, match=r"WebSocket route /feed is registered twice"):
        clash.assemble()
    mine = WebSocketRoute("/feed", mine_ws, replaces="feed")
    with client([mine], plugins=["websocket", feed]) as c, c.websocket_connect("/feed") as ws:
        assert ws.receive_text() == "app"
