"""``lamina_openapi_contribute``: plugins add components, operations and operation details;
conflicts name both plugins. lamina-auth, lamina-sessions and lamina-staticfiles contribute
through it without importing lamina-openapi."""

from __future__ import annotations

from dataclasses import dataclass

import pydantic
import pytest
from lamina import ConflictError, PlainTextResponse
from lamina.testing import make_app, plugin
from lamina_auth import BasicAuthBackend, BearerAuthBackend, requires
from lamina_openapi import openapi_document
from lamina_routing import HTTPEndpoint, Mount, Route
from openapi_spec_validator import validate


async def plain(request):
    return PlainTextResponse("ok")


async def metrics_app(scope, receive, send):
    await PlainTextResponse("up 1")(scope, receive, send)


@dataclass
class Metric:
    name: str
    value: float


def test_a_third_party_plugin_adds_a_component_and_an_operation():
    def contribute(openapi):
        ref = openapi.add_component(
            "responses", "Metrics", {"description": "Prometheus text", "content": {}}
        )
        schema = openapi.add_schema(list[Metric])
        openapi.add_operation(
            "/metrics",
            "GET",
            {
                "operationId": "metrics",
                "summary": "Prometheus metrics",
                "responses": {
                    "200": {"$ref": ref},
                    "203": {
                        "description": "As JSON",
                        "content": {"application/json": {"schema": schema}},
                    },
                },
            },
        )

    metrics = plugin(
        "metrics",
        lamina_register_routes=lambda register: register(Mount("/metrics", metrics_app)),
        lamina_openapi_contribute=contribute,
    )
    doc = openapi_document(make_app("routing", "openapi", metrics, routes=[Route("/", plain)]))
    validate(doc)
    assert doc["components"]["responses"]["Metrics"]["description"] == "Prometheus text"
    assert doc["components"]["schemas"]["Metric"]["required"] == ["name", "value"]
    op = doc["paths"]["/metrics"]["get"]
    assert op["summary"] == "Prometheus metrics"
    assert op["responses"]["200"] == {"$ref": "#/components/responses/Metrics"}


def _component(name, value):
    def contribute(openapi):
        openapi.add_component("securitySchemes", "apiKey", value)

    return plugin(name, lamina_openapi_contribute=contribute)


def test_two_plugins_defining_one_component_differently_fail_assembly_naming_both():
    header = _component("keys-in-header", {"type": "apiKey", "in": "header", "name": "X-Key"})
    query = _component("keys-in-query", {"type": "apiKey", "in": "query", "name": "key"})
    app = make_app("routing", "openapi", header, query, routes=[Route("/", plain)])
    with pytest.raises(ConflictError) as caught:
        app.assemble()
    message = str(caught.value)
    assert "securitySchemes/apiKey" in message
    assert "'keys-in-header'" in message and "'keys-in-query'" in message


def test_the_same_component_from_two_plugins_is_fine():
    value = {"type": "apiKey", "in": "header", "name": "X-Key"}
    app = make_app(
        "routing", "openapi", _component("a", value), _component("b", dict(value)), routes=[]
    )
    assert openapi_document(app)["components"]["securitySchemes"]["apiKey"] == value


def test_a_plugin_describing_an_operation_a_route_already_gives_fails_naming_both():
    def contribute(openapi):
        openapi.add_operation("/items/{id}", "get", {"summary": "mine"})

    other = plugin("shadow", lamina_openapi_contribute=contribute)
    pages = plugin(
        "pages",
        lamina_register_routes=lambda register: register(Route("/items/{id:int}", plain)),
    )
    app = make_app("routing", "openapi", pages, other)
    with pytest.raises(ConflictError, match=r"GET /items/\{id\}.*'pages'.*'shadow'"):
        app.assemble()


def test_operation_details_from_two_plugins_on_one_field_conflict_naming_both():
    def details(tag):
        def contribute(openapi):
            openapi.add_operation_details(lambda op: {"deprecated": tag})

        return contribute

    app = make_app(
        "routing",
        "openapi",
        plugin("sunset", lamina_openapi_contribute=details(True)),
        plugin("keep", lamina_openapi_contribute=details(False)),
        routes=[Route("/old", plain)],
    )
    with pytest.raises(ConflictError, match=r"GET /old.*'deprecated'.*'sunset'.*'keep'"):
        app.assemble()


def test_operation_details_merge_responses_key_by_key():
    async def documented(request):
        """Documented.
        ---
        responses:
          "200": {description: Fine}
        """

    def contribute(openapi):
        openapi.add_operation_details(
            lambda op: {"responses": {"429": {"description": "Slow down"}}}
        )

    doc = openapi_document(
        make_app(
            "routing",
            "openapi",
            plugin("ratelimit", lamina_openapi_contribute=contribute),
            routes=[Route("/d", documented)],
        )
    )
    validate(doc)
    assert doc["paths"]["/d"]["get"]["responses"] == {
        "200": {"description": "Fine"},
        "429": {"description": "Slow down"},
    }


class PydanticItem(pydantic.BaseModel):
    name: str
    tags: list[PydanticTag] = []


class PydanticTag(pydantic.BaseModel):
    label: str


PydanticItem.model_rebuild()


def test_a_pydantic_models_json_schema_plugs_in_through_the_hook_and_the_decorator():
    """What the README shows: add_schema takes any class with ``model_json_schema``."""
    from lamina_openapi import operation

    @operation(body=PydanticItem)
    async def create(request):
        return PlainTextResponse("made", status_code=201)

    def contribute(openapi):
        openapi.add_component(
            "schemas", "Tag", PydanticTag.model_json_schema(ref_template="{model}")
        )

    doc = openapi_document(
        make_app(
            "routing",
            "openapi",
            plugin("models", lamina_openapi_contribute=contribute),
            routes=[Route("/items", create, methods=["POST"])],
        )
    )
    validate(doc)
    schemas = doc["components"]["schemas"]
    assert schemas["PydanticItem"]["properties"]["tags"]["items"] == {
        "$ref": "#/components/schemas/PydanticTag"
    }
    assert schemas["PydanticTag"]["required"] == ["label"]
    assert schemas["Tag"]["title"] == "PydanticTag"
    body = doc["paths"]["/items"]["post"]["requestBody"]["content"]["application/json"]
    assert body["schema"] == {"$ref": "#/components/schemas/PydanticItem"}


# --------------------------------------------------------------------------- first-party
SESSION = {"secret_key": "s" * 32}


def _auth_app(backends, *routes, auth_settings=None):
    def register(register):
        for name, backend in backends.items():
            register(name, backend)

    local = plugin("backends", lamina_auth_register_backends=register)
    return make_app(
        "routing",
        "sessions",
        "auth",
        "openapi",
        local,
        routes=list(routes),
        settings={"sessions": {**SESSION, "cookie_name": "sid"}, "auth": auth_settings or {}},
    )


def test_auth_declares_its_backends_and_marks_guarded_operations():
    @requires("authenticated")
    async def account(request):
        return PlainTextResponse("me")

    @requires(["authenticated", "admin"], status_code=401)
    def admin(request):
        return PlainTextResponse("admin")

    class Reports(HTTPEndpoint):
        async def get(self, request):
            return PlainTextResponse("public list")

        @requires("editor")
        async def post(self, request):
            return PlainTextResponse("made")

    app = _auth_app(
        {
            "basic": BasicAuthBackend({"alice": "pw"}),
            "token": BearerAuthBackend(lambda token: None),
        },
        Route("/public", plain),
        Route("/account", account),
        Route("/admin", admin),
        Route("/reports", Reports),
    )
    doc = openapi_document(app)
    validate(doc)
    assert doc["components"]["securitySchemes"] == {
        "basic": {"type": "http", "scheme": "basic"},
        "token": {"type": "http", "scheme": "bearer"},
        "session": {
            "type": "apiKey",
            "in": "cookie",
            "name": "sid",
            "description": "The signed session cookie set by lamina-sessions.",
        },
    }
    paths = doc["paths"]
    assert "security" not in paths["/public"]["get"]
    assert "security" not in paths["/reports"]["get"]
    # every configured backend is an alternative; session (auth's own) comes first
    assert paths["/account"]["get"]["security"] == [
        {"session": ["authenticated"]},
        {"basic": ["authenticated"]},
        {"token": ["authenticated"]},
    ]
    assert paths["/admin"]["get"]["security"][0] == {"session": ["authenticated", "admin"]}
    assert paths["/reports"]["post"]["security"][1] == {"basic": ["editor"]}


def test_auth_lists_only_the_backends_its_settings_select():
    @requires("authenticated")
    async def account(request):
        return PlainTextResponse("me")

    app = _auth_app(
        {"basic": BasicAuthBackend({"alice": "pw"})},
        Route("/account", account),
        auth_settings={"backends": ["basic"]},
    )
    doc = openapi_document(app)
    validate(doc)
    assert doc["paths"]["/account"]["get"]["security"] == [{"basic": ["authenticated"]}]
    assert set(doc["components"]["securitySchemes"]) == {"basic", "session"}


def test_auth_and_sessions_work_without_openapi_in_the_app():
    """The hook implementations are optional: no openapi, no error, the guard still works."""
    from lamina.testclient import TestClient

    @requires("authenticated")
    async def account(request):
        return PlainTextResponse("me")

    app = make_app(
        "routing",
        "sessions",
        "auth",
        routes=[Route("/account", account)],
        settings={"sessions": SESSION},
    )
    with TestClient(app) as client:
        assert client.get("/account").status_code == 403
        assert client.get("/openapi.json").status_code == 404
    with pytest.raises(LookupError, match="does not enable the 'openapi' plugin"):
        openapi_document(app)


def test_staticfiles_describes_its_mounts(tmp_path):
    (tmp_path / "a.css").write_text("body{}")
    app = make_app(
        "routing",
        "staticfiles",
        "openapi",
        settings={"staticfiles": {"directories": [str(tmp_path)], "prefix": "/assets"}},
    )
    doc = openapi_document(app)
    validate(doc)
    op = doc["paths"]["/assets/{path}"]["get"]
    assert op["operationId"] == "static"
    assert op["parameters"][0]["name"] == "path"
