"""Async rendering, and template errors pointing at ``name:line`` in debug mode."""

from __future__ import annotations

import anyio
import jinja2
import pytest
from lamina.testclient import TestClient
from lamina_templates import TemplateRenderError, TemplateResponse, Templates, templates


def page(name, context=None):
    return lambda request: TemplateResponse(request, name, context)


def test_async_environment_awaits_async_functions_in_templates(build, tdir) -> None:
    d = tdir("t", {"a.html": "{% for x in items() %}[{{ x }}]{% endfor %} {{ total() }}"})

    async def items():
        for i in range(3):
            await anyio.sleep(0)
            yield i

    async def total():
        await anyio.sleep(0)
        return 42

    app = build(
        {"/": ("a", page("a.html", {"items": items, "total": total}))},
        settings={"templates": {"directories": [str(d)], "enable_async": True}},
    )
    assert templates(app).env.is_async
    with TestClient(app) as client:
        response = client.get("/")
    assert response.text == "[0][1][2] 42"
    assert int(response.headers["content-length"]) == len(response.content)
    assert response.template == "a.html"
    assert response.context["total"] is total


def test_render_async_and_sync_render_refused_in_async_env(tdir) -> None:
    d = tdir("t", {"x.txt": "{{ v }}"})
    own = Templates(d, enable_async=True)
    assert anyio.run(own.render_async, "x.txt", {"v": "ok"}) == "ok"
    with pytest.raises(RuntimeError, match="render_async"):
        own.render("x.txt", {"v": "no"})


def test_deferred_response_renders_on_demand(build, tdir) -> None:
    d = tdir("t", {"x.html": "{{ v }}"})
    seen: list[TemplateResponse] = []

    def endpoint(request):
        response = TemplateResponse(request, "x.html", {"v": "later"})
        seen.append(response)
        assert response.context is None  # nothing rendered yet in an async environment
        return response

    app = build(
        {"/": ("x", endpoint)},
        settings={"templates": {"directories": [str(d)], "enable_async": True}},
    )
    with TestClient(app) as client:
        assert client.get("/").text == "later"
    assert seen[0].body == b"later"


BROKEN = "line one\nline two\n{{ user.name.upper() }}\nline four\n"


def test_debug_error_names_template_and_line(build, tdir) -> None:
    d = tdir("t", {"broken.html": BROKEN})
    app = build(
        {"/": ("b", page("broken.html"))},
        debug=True,
        settings={"templates": {"directories": [str(d)]}},
    )
    with TestClient(app) as client, pytest.raises(TemplateRenderError) as info:
        client.get("/")
    assert str(info.value).startswith("broken.html:3: UndefinedError")
    assert (info.value.template, info.value.lineno) == ("broken.html", 3)
    assert isinstance(info.value.__cause__, jinja2.UndefinedError)


def test_debug_error_page_shows_source_around_the_line(build, tdir) -> None:
    d = tdir("t", {"broken.html": BROKEN})
    app = build(
        {"/": ("b", page("broken.html"))},
        debug=True,
        settings={"templates": {"directories": [str(d)]}},
    )
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/")
    assert response.status_code == 500
    assert "Template error in broken.html:3" in response.text
    assert '<span class="hit">    3 | {{ user.name.upper() }}</span>' in response.text
    assert "line four" in response.text


def test_debug_error_in_included_template_points_at_that_file(build, tdir) -> None:
    d = tdir(
        "t",
        {
            "outer.html": "a\n{% include 'inner/part.html' %}\n",
            "inner/part.html": "ok\nok\n{{ 1 / zero }}\n",
        },
    )
    app = build(
        {"/": ("o", page("outer.html", {"zero": 0}))},
        debug=True,
        settings={"templates": {"directories": [str(d)]}},
    )
    with TestClient(app) as client, pytest.raises(TemplateRenderError) as info:
        client.get("/")
    assert str(info.value).startswith("inner/part.html:3: ZeroDivisionError")


def test_debug_syntax_error_names_template_and_line(build, tdir) -> None:
    d = tdir("t", {"bad.html": "fine\n{% if %}\n"})
    app = build(
        {"/": ("b", page("bad.html"))},
        debug=True,
        settings={"templates": {"directories": [str(d)]}},
    )
    with TestClient(app) as client, pytest.raises(TemplateRenderError) as info:
        client.get("/")
    assert str(info.value).startswith("bad.html:2: TemplateSyntaxError")


def test_debug_missing_template_names_it(build, tdir) -> None:
    d = tdir("t", {})
    app = build(
        {"/": ("m", page("nowhere.html"))},
        debug=True,
        settings={"templates": {"directories": [str(d)]}},
    )
    with (
        TestClient(app) as client,
        pytest.raises(
            TemplateRenderError,
            match=r"^nowhere\.html: "
            r"TemplateNotFound",
        ),
    ):
        client.get("/")


def test_without_debug_the_original_error_propagates_and_500_is_plain(build, tdir) -> None:
    d = tdir("t", {"broken.html": BROKEN})
    app = build(
        {"/": ("b", page("broken.html"))}, settings={"templates": {"directories": [str(d)]}}
    )
    with TestClient(app) as client, pytest.raises(jinja2.UndefinedError) as info:
        client.get("/")
    assert "(in template broken.html:3)" in info.value.__notes__
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/")
    assert response.status_code == 500
    assert response.text == "Internal Server Error"
    assert "broken.html" not in response.text


def test_strict_undefined_setting(build, tdir) -> None:
    d = tdir("t", {"u.html": "[{{ missing }}]"})
    lax = build({"/": ("u", page("u.html"))}, settings={"templates": {"directories": [str(d)]}})
    with TestClient(lax) as client:
        assert client.get("/").text == "[]"
    strict = build(
        {"/": ("u", page("u.html"))},
        debug=True,
        settings={"templates": {"directories": [str(d)], "strict_undefined": True}},
    )
    with TestClient(strict) as client, pytest.raises(TemplateRenderError, match=r"^u\.html:1:"):
        client.get("/")


def test_auto_reload_follows_debug(build, tdir) -> None:
    d = tdir("t", {})
    settings = {"templates": {"directories": [str(d)]}}
    assert templates(build({}, debug=True, settings=settings)).env.auto_reload is True
    assert templates(build({}, settings=settings)).env.auto_reload is False
    forced = {"templates": {"directories": [str(d)], "auto_reload": True}}
    assert templates(build({}, settings=forced)).env.auto_reload is True
