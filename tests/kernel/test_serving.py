"""``lamina serve``'s refusals: a missing server, an option a server cannot honour, an app
that is not ASGI 3. Serving for real under each server: tests/e2e/test_serve_servers.py."""

from __future__ import annotations

import sys
import textwrap

import pytest
from lamina import Lamina, PlainTextResponse
from lamina._serving import EXTRAS, SERVERS, asgi3_problem, load_asgi3_app
from lamina.cli import main

NOT_ASGI3 = """
def wsgi(environ, start_response):
    start_response("200 OK", [])
    return [b"wsgi"]


def asgi2(scope):
    async def instance(receive, send):
        pass
    return instance


class Asgi3Object:
    async def __call__(self, scope, receive, send):
        pass


async def asgi3(scope, receive, send):
    pass


asgi3_object = Asgi3Object()
number = 42
"""


@pytest.fixture
def apps(tmp_path, monkeypatch):
    (tmp_path / "servingapps.py").write_text(textwrap.dedent(NOT_ASGI3))
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "servingapps", raising=False)
    return tmp_path


@pytest.mark.parametrize("server", SERVERS)
def test_a_missing_server_names_the_extra_to_install(apps, monkeypatch, capsys, server):
    monkeypatch.setitem(sys.modules, server, None)  # what an uninstalled package looks like
    assert main(["serve", "servingapps:asgi3", "--server", server]) == 2
    err = capsys.readouterr().err
    assert err == (
        f"lamina serve: --server {server} needs {server}, which is not installed: "
        f"pip install 'lamina[{EXTRAS[server]}]'\n"
    )


def test_the_extras_named_exist_in_the_distribution():
    import tomllib
    from pathlib import Path

    project = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())
    extras = project["project"]["optional-dependencies"]
    for server, extra in EXTRAS.items():
        assert any(requirement.startswith(server) for requirement in extras[extra])


@pytest.mark.parametrize("server", ["granian", "hypercorn"])
def test_trace_logging_is_uvicorns_only(apps, capsys, server):
    assert main(["serve", "servingapps:asgi3", "--server", server, "--log-level", "trace"]) == 2
    assert "has no 'trace' log level" in capsys.readouterr().err


def test_uvicorn_cannot_reload_several_workers(apps, capsys):
    assert main(["serve", "servingapps:asgi3", "--reload", "--workers", "2"]) == 2
    assert "uvicorn's --reload runs one process" in capsys.readouterr().err


BAD_NUMBERS = [(["--workers", "0"], "at least 1"), (["--port", "70000"], "between 0 and 65535")]


@pytest.mark.parametrize("server", SERVERS)
@pytest.mark.parametrize(("extra", "message"), BAD_NUMBERS)
def test_bad_numbers_are_refused_for_every_server(apps, capsys, server, extra, message):
    assert main(["serve", "servingapps:asgi3", "--server", server, *extra]) == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("server", SERVERS)
@pytest.mark.parametrize("target", ["servingapps:wsgi", "servingapps:asgi2"])
def test_an_app_that_is_not_asgi3_is_refused_before_serving(apps, server, target):
    with pytest.raises(SystemExit, match="is not an ASGI 3 application: it cannot be called as"):
        main(["serve", target, "--server", server])


def test_asgi3_problem():
    async def endpoint(request):
        return PlainTextResponse("x")

    assert asgi3_problem(Lamina(autoload=False)) is None
    assert asgi3_problem(print) is None  # no signature to read: given the benefit of the doubt
    assert asgi3_problem(42) == "'int' objects are not callable"
    assert asgi3_problem(endpoint) is not None


def test_load_asgi3_app_returns_what_the_target_names(apps):
    assert type(load_asgi3_app("servingapps:asgi3_object")).__name__ == "Asgi3Object"
    with pytest.raises(SystemExit, match="'int' objects are not callable"):
        load_asgi3_app("servingapps:number")
