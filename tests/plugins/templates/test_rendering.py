"""TemplateResponse: context, request and url_for, autoescaping, response options."""

from __future__ import annotations

from pathlib import Path

import pytest
from lamina.testclient import TestClient
from lamina_templates import TemplateResponse, Templates, templates


def test_renders_context_request_and_url_for(build, tdir) -> None:
    d = tdir(
        "t",
        {
            "page.html": "<h1>{{ title }}</h1><p>{{ request.url.path }}</p>"
            "<a href='{{ url_for('item', id=7) }}'>item</a>"
        },
    )

    async def page(request):
        return TemplateResponse(request, "page.html", {"title": "Hello"})

    app = build(
        {"/page": ("page", page), "/items/{id}": ("item", page)},
        settings={"templates": {"directories": [str(d)]}},
    )
    with TestClient(app) as client:
        response = client.get("/page")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.text == (
        "<h1>Hello</h1><p>/page</p><a href='http://testserver/items/7'>item</a>"
    )
    assert int(response.headers["content-length"]) == len(response.content)


def test_test_client_exposes_template_name_and_context(build, tdir) -> None:
    d = tdir("t", {"page.html": "{{ n }}"})

    async def page(request):
        return TemplateResponse(request, "page.html", {"n": 3})

    app = build({"/": ("home", page)}, settings={"templates": {"directories": [str(d)]}})
    with TestClient(app) as client:
        response = client.get("/")
    assert response.template == "page.html"
    assert response.context["n"] == 3
    assert response.context["request"].url.path == "/"


def test_autoescape_on_for_html_and_xml_off_for_text(build, tdir) -> None:
    evil = "<script>alert('x')</script>"
    d = tdir(
        "t",
        {"a.html": "{{ v }}", "a.htm": "{{ v }}", "a.xml": "<r>{{ v }}</r>", "a.txt": "{{ v }}"},
    )

    def endpoint(name, media_type=None):
        def respond(request):
            return TemplateResponse(request, name, {"v": evil}, media_type=media_type)

        return respond

    app = build(
        {
            "/html": ("h", endpoint("a.html")),
            "/htm": ("m", endpoint("a.htm")),
            "/xml": ("x", endpoint("a.xml", "application/xml")),
            "/txt": ("t", endpoint("a.txt", "text/plain")),
        },
        settings={"templates": {"directories": [str(d)]}},
    )
    escaped = "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"
    with TestClient(app) as client:
        assert client.get("/html").text == escaped
        assert client.get("/htm").text == escaped
        xml = client.get("/xml")
        assert xml.text == f"<r>{escaped}</r>"
        assert xml.headers["content-type"] == "application/xml"
        text = client.get("/txt")
        assert text.text == evil
        assert text.headers["content-type"] == "text/plain; charset=utf-8"


def test_status_headers_and_background(build, tdir) -> None:
    d = tdir("t", {"gone.html": "gone"})
    ran: list[str] = []

    async def task() -> None:
        ran.append("done")

    def gone(request):
        return TemplateResponse(
            request, "gone.html", status_code=410, headers={"x-reason": "moved"}, background=task
        )

    app = build({"/": ("gone", gone)}, settings={"templates": {"directories": [str(d)]}})
    with TestClient(app) as client:
        response = client.get("/")
    assert response.status_code == 410
    assert response.headers["x-reason"] == "moved"
    assert response.text == "gone"
    assert ran == ["done"]


def test_head_sends_headers_without_body(build, tdir) -> None:
    d = tdir("t", {"p.html": "twelve bytes"})
    app = build(
        {"/": ("p", lambda r: TemplateResponse(r, "p.html"))},
        settings={"templates": {"directories": [str(d)]}},
    )
    with TestClient(app) as client:
        response = client.head("/")
    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["content-length"] == "12"


def test_inheritance_and_include_across_files(build, tdir) -> None:
    d = tdir(
        "t",
        {
            "base.html": "<title>{% block title %}{% endblock %}</title>{% block body %}{% endblock %}",  # noqa: E501
            "child.html": "{% extends 'base.html' %}{% block title %}T{% endblock %}"
            "{% block body %}{% include 'part.html' %}{% endblock %}",
            "part.html": "[{{ who }}]",
        },
    )
    app = build(
        {"/": ("c", lambda r: TemplateResponse(r, "child.html", {"who": "<me>"}))},
        settings={"templates": {"directories": [str(d)]}},
    )
    with TestClient(app) as client:
        assert client.get("/").text == "<title>T</title>[&lt;me&gt;]"


def test_standalone_templates_without_the_plugin(lamina_clean_env, tdir, routes_plugin) -> None:
    from lamina.testing import make_app

    d = tdir("t", {"p.html": "{{ request.method }} {{ x }}"})
    own = Templates(d)
    app = make_app(
        routes_plugin({"/": ("p", lambda r: own.TemplateResponse(r, "p.html", {"x": 1}))})
    )
    with TestClient(app) as client:
        response = client.get("/")
    assert response.text == "GET 1"
    assert response.template == "p.html"
    with pytest.raises(LookupError, match="not enabled"):
        templates(app)


def test_render_to_string_without_request(lamina_clean_env, tdir) -> None:
    d = tdir("t", {"mail.txt": "Hi {{ name }}", "link.html": "{{ url_for('x') }}"})
    own = Templates(str(d))
    assert own.render("mail.txt", {"name": "<b>"}) == "Hi <b>"
    with pytest.raises(RuntimeError, match="needs the request"):
        own.render("link.html")


def test_app_templates_accessors(build, tdir) -> None:
    d = tdir("t", {})
    app = build({}, settings={"templates": {"directories": [str(d)]}})
    assert templates(app) is Templates.for_app(app) is app.extensions["templates"]
    assert templates(app).sources == [("app", Path(d))]
