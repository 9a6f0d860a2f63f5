"""The document lamina-openapi assembles from the compiled routes: paths, methods, path
parameters typed by converters, mounts and hosts, operation ids, docstrings, YAML blocks,
``@operation`` and annotated dataclasses / TypedDicts. Every document is validated against
the OpenAPI 3.1 schema with openapi-spec-validator."""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass, field
from typing import Literal, NotRequired, TypedDict

import pytest
from lamina import AssemblyError, ConflictError, JSONResponse, PlainTextResponse
from lamina.testing import make_app
from lamina_openapi import openapi_document, operation
from lamina_routing import Converter, Host, HTTPEndpoint, Mount, Route, Router
from lamina_websocket import WebSocketRoute
from openapi_spec_validator import validate


def document(*routes, settings=None, plugins=()):
    app = make_app("routing", "openapi", *plugins, routes=list(routes), settings=settings)
    doc = openapi_document(app)
    validate(doc)
    return doc


async def plain(request):
    return PlainTextResponse("ok")


def test_every_http_route_with_its_declared_methods_and_nothing_else():
    async def socket(websocket):
        await websocket.close()

    async def hidden(request):
        return PlainTextResponse("no")

    doc = document(
        Route("/", plain, name="home"),
        Route("/form", plain, methods=["GET", "POST"], name="form"),
        Route("/probe", plain, methods=["GET", "HEAD", "OPTIONS"], name="probe"),
        Route("/internal", hidden, include_in_schema=False),
        WebSocketRoute("/ws", socket, name="ws"),
    )
    assert list(doc["paths"]) == ["/", "/form", "/probe"]
    assert list(doc["paths"]["/"]) == ["get"]  # HEAD served by GET, not declared
    assert list(doc["paths"]["/form"]) == ["get", "post"]
    assert list(doc["paths"]["/probe"]) == ["get", "options", "head"]
    assert doc["openapi"] == "3.1.0"
    assert doc["info"] == {"title": "Lamina API", "version": "0.1.0"}
    # the document's own route is not in it
    assert "/openapi.json" not in doc["paths"]


def test_operation_ids_come_from_route_names():
    async def nameless(request):
        return PlainTextResponse("x")

    doc = document(
        Route("/a", plain, name="alpha"),
        Route("/b", plain, methods=["GET", "DELETE"], name="beta"),
        Route("/c", nameless),
        Mount("/api", routes=[Route("/items", plain, name="items")], name="api"),
    )
    paths = doc["paths"]
    assert paths["/a"]["get"]["operationId"] == "alpha"
    assert paths["/b"]["get"]["operationId"] == "beta_get"
    assert paths["/b"]["delete"]["operationId"] == "beta_delete"
    assert paths["/c"]["get"]["operationId"] == "nameless"  # what url_path_for takes
    assert paths["/api/items"]["get"]["operationId"] == "api:items"


def test_two_routes_with_one_operation_id_fail_assembly_naming_both():
    @operation(operation_id="same")
    async def one(request):
        return PlainTextResponse("1")

    @operation(operation_id="same")
    async def two(request):
        return PlainTextResponse("2")

    with pytest.raises(ConflictError, match=r"operationId 'same'.*GET /one.*GET /two"):
        document(Route("/one", one), Route("/two", two))


class SlugConverter(Converter):
    regex = "[a-z0-9]+(?:-[a-z0-9]+)*"


class YearConverter(Converter):
    regex = "[0-9]{4}"
    openapi_schema = {"type": "integer", "minimum": 1000, "maximum": 9999}

    def convert(self, value):
        return int(value)


def test_path_parameters_are_typed_by_their_converters():
    doc = document(
        Route("/n/{count:int}", plain, name="n"),
        Route("/f/{ratio:float}", plain, name="f"),
        Route("/u/{key:uuid}", plain, name="u"),
        Route("/s/{word}", plain, name="s"),
        Route("/p/{rest:path}", plain, name="p"),
        Route("/file/{name}.{ext}", plain, name="file"),
        Route("/slug/{slug:slug}", plain, name="slug", converters={"slug": SlugConverter()}),
        Route("/year/{y:year}", plain, name="year", converters={"year": YearConverter()}),
    )

    def params(path):
        [op] = doc["paths"][path].values()
        return {p["name"]: p["schema"] for p in op["parameters"] if p["in"] == "path"}

    assert params("/n/{count}") == {"count": {"type": "integer", "minimum": 0}}
    assert params("/f/{ratio}") == {"ratio": {"type": "number", "minimum": 0}}
    assert params("/u/{key}") == {"key": {"type": "string", "format": "uuid"}}
    assert params("/s/{word}") == {"word": {"type": "string"}}
    assert params("/p/{rest}") == {"rest": {"type": "string"}}
    assert params("/file/{name}.{ext}") == {"name": {"type": "string"}, "ext": {"type": "string"}}
    # a custom converter without openapi_schema: a string matching its regex
    assert params("/slug/{slug}") == {
        "slug": {"type": "string", "pattern": "^(?:[a-z0-9]+(?:-[a-z0-9]+)*)$"}
    }
    # ... and with it, exactly what it declares
    assert params("/year/{y}") == {"y": {"type": "integer", "minimum": 1000, "maximum": 9999}}
    every = [p for ops in doc["paths"].values() for op in ops.values() for p in op["parameters"]]
    assert all(p["required"] is True and p["in"] == "path" for p in every)


def test_converters_from_a_plugin_a_router_and_a_mount_resolve_as_the_router_does():
    from lamina.testing import plugin

    contributed = plugin(
        "slugs",
        lamina_routing_register_converters=lambda register: register("slug", SlugConverter()),
    )
    router = Router(converters={"year": YearConverter()})
    router.add_route("/archive/{y:year}", plain, name="archive")
    doc = document(
        Route("/post/{s:slug}", plain, name="post"),
        *router,
        Mount(
            "/v/{y:year}",
            routes=[Route("/{s:slug}", plain, name="inner")],
            converters={"year": YearConverter()},
        ),
        plugins=[contributed],
    )
    slug = {"type": "string", "pattern": "^(?:[a-z0-9]+(?:-[a-z0-9]+)*)$"}
    year = YearConverter.openapi_schema
    assert doc["paths"]["/post/{s}"]["get"]["parameters"][0]["schema"] == slug
    assert doc["paths"]["/archive/{y}"]["get"]["parameters"][0]["schema"] == year
    inner = doc["paths"]["/v/{y}/{s}"]["get"]["parameters"]
    assert [(p["name"], p["schema"]) for p in inner] == [("y", year), ("s", slug)]


def test_mount_prefixes_and_hosts():
    async def raw_app(scope, receive, send):
        await PlainTextResponse("raw")(scope, receive, send)

    doc = document(
        Mount(
            "/api/{version}",
            routes=[
                Route("/", plain, name="index"),
                Mount("/users", routes=[Route("/{id:int}", plain, name="user")], name="users"),
            ],
            name="api",
        ),
        Host(
            "{tenant}.example.com",
            [Route("/dashboard", plain, name="dashboard")],
            name="tenants",
        ),
        Host("admin.example.com", [Route("/", plain, name="admin")], name="admin"),
        Mount("/raw", raw_app),  # a mounted ASGI app: the router cannot see its operations
    )
    paths = doc["paths"]
    assert set(paths) == {"/api/{version}/", "/api/{version}/users/{id}", "/dashboard", "/"}
    user = paths["/api/{version}/users/{id}"]["get"]
    assert user["operationId"] == "api:users:user"
    assert [p["name"] for p in user["parameters"]] == ["version", "id"]
    dashboard = paths["/dashboard"]["get"]
    assert dashboard["servers"] == [
        {"url": "//{tenant}.example.com", "variables": {"tenant": {"default": "tenant"}}}
    ]
    assert "parameters" not in dashboard  # the host's parameter is a server variable
    assert paths["/"]["get"]["servers"] == [{"url": "//admin.example.com"}]


def test_one_path_under_several_hosts(caplog):
    async def other(request):
        return PlainTextResponse("other")

    doc = document(
        Host("a.example.com", [Route("/", plain, name="home")], name="a"),
        Host("b.example.com", [Route("/", plain, name="home")], name="b"),
        Host("c.example.com", [Route("/", other, name="home")], name="c"),
    )
    # the same endpoint: one operation, both hosts as its servers
    assert doc["paths"]["/"]["get"]["servers"] == [
        {"url": "//a.example.com"},
        {"url": "//b.example.com"},
    ]
    # another endpoint on the same path and method cannot be described: said in the log
    assert "GET / is served by several hosts with different endpoints" in caplog.text


def test_summary_description_and_yaml_block_from_the_docstring():
    async def list_items(request):
        """List the items.

        Newest first, at most a hundred.
        ---
        tags: [items]
        parameters:
          - name: limit
            in: query
            schema: {type: integer, maximum: 100}
        responses:
          "200":
            description: The items.
        """

    doc = document(Route("/items", list_items, name="items"))
    op = doc["paths"]["/items"]["get"]
    assert op["summary"] == "List the items."
    assert op["description"] == "Newest first, at most a hundred."
    assert op["tags"] == ["items"]
    assert op["responses"] == {"200": {"description": "The items."}}
    assert op["parameters"] == [
        {"name": "limit", "in": "query", "schema": {"type": "integer", "maximum": 100}}
    ]


def test_a_yaml_block_can_describe_a_path_parameter_further():
    async def item(request):
        """An item.
        ---
        parameters:
          - name: id
            in: path
            required: true
            description: The item's number.
            schema: {type: integer, minimum: 1}
        """

    doc = document(Route("/items/{id:int}", item, name="item"))
    assert doc["paths"]["/items/{id}"]["get"]["parameters"] == [
        {
            "name": "id",
            "in": "path",
            "required": True,
            "description": "The item's number.",
            "schema": {"type": "integer", "minimum": 1},
        }
    ]


@pytest.mark.parametrize(
    ("block", "message"),
    [("tags: [unclosed", "does not parse"), ("- just\n- a list", "must be a mapping")],
)
def test_a_bad_yaml_block_fails_assembly_naming_the_route(block, message):
    async def broken(request):
        return PlainTextResponse("x")

    broken.__doc__ = f"Broken.\n---\n{block}\n"
    with pytest.raises(AssemblyError, match=rf"GET /broken.*{message}"):
        document(Route("/broken", broken))


def test_the_operation_decorator_wins_over_the_yaml_block_and_takes_snake_case():
    @operation(tags=["decorated"], operation_id="custom", external_docs={"url": "https://x.test"})
    @operation({"x-internal": True, "tags": ["inner"]})
    async def endpoint(request):
        """Summary.
        ---
        tags: [yaml]
        deprecated: true
        """

    op = document(Route("/e", endpoint, name="e"))["paths"]["/e"]["get"]
    assert op["tags"] == ["decorated"]
    assert op["operationId"] == "custom"
    assert op["externalDocs"] == {"url": "https://x.test"}
    assert op["x-internal"] is True
    assert op["deprecated"] is True


def test_class_endpoints_are_described_per_method():
    class Things(HTTPEndpoint):
        """Things."""

        async def get(self, request):
            """List things."""
            return JSONResponse([])

        @operation(responses={"201": {"description": "Created"}})
        async def post(self, request):
            """Add a thing."""
            return JSONResponse({}, status_code=201)

    ops = document(Route("/things", Things, name="things"))["paths"]["/things"]
    assert ops["get"]["summary"] == "List things."
    assert ops["post"]["summary"] == "Add a thing."
    assert ops["post"]["responses"] == {"201": {"description": "Created"}}


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


@dataclass
class Tag:
    """A label on an item."""

    name: str
    color: Color = Color.RED


@dataclass
class Item:
    id: int
    name: str
    price: float
    tags: list[Tag] = field(default_factory=list)
    parent: Item | None = None
    key: uuid.UUID | None = None
    extra: dict[str, int] = field(default_factory=dict)


class NewItem(TypedDict):
    name: str
    price: float
    kind: Literal["book", "tool"]
    note: NotRequired[str]


def test_dataclass_and_typeddict_annotations_become_component_schemas():
    async def create(request, item: NewItem) -> Item:
        """Create an item."""

    async def listing(request) -> list[Item]:
        """Every item."""

    doc = document(
        Route("/items", create, methods=["POST"], name="create"),
        Route("/items", listing, name="listing"),
    )
    post = doc["paths"]["/items"]["post"]
    assert post["requestBody"] == {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/NewItem"}}},
    }
    assert post["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Item"
    }
    get = doc["paths"]["/items"]["get"]
    assert get["responses"]["200"]["content"]["application/json"]["schema"] == {
        "type": "array",
        "items": {"$ref": "#/components/schemas/Item"},
    }
    schemas = doc["components"]["schemas"]
    assert set(schemas) == {"Item", "Tag", "Color", "NewItem"}
    assert schemas["Item"]["required"] == ["id", "name", "price"]
    assert schemas["Item"]["properties"]["parent"] == {
        "anyOf": [{"$ref": "#/components/schemas/Item"}, {"type": "null"}]
    }
    assert schemas["Item"]["properties"]["extra"] == {
        "type": "object",
        "additionalProperties": {"type": "integer"},
    }
    assert schemas["Tag"]["description"] == "A label on an item."
    assert schemas["Color"] == {"enum": ["red", "blue"], "type": "string", "title": "Color"}
    assert schemas["NewItem"]["required"] == ["name", "price", "kind"]
    assert schemas["NewItem"]["properties"]["kind"] == {"enum": ["book", "tool"], "type": "string"}
    assert schemas["NewItem"]["additionalProperties"] is False


def test_body_and_returns_on_the_decorator():
    @operation(body=NewItem, returns=Item)
    async def create(request):
        return JSONResponse({})

    op = document(Route("/x", create, methods=["PUT"], name="x"))["paths"]["/x"]["put"]
    assert op["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("NewItem")
    assert op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/Item")


def test_two_classes_with_one_name_fail_assembly_naming_both():
    def make():
        @dataclass
        class Item:
            other: str

        return Item

    @operation(returns=Item)
    async def one(request): ...

    @operation(returns=make())
    async def two(request): ...

    with pytest.raises(ConflictError, match=r"'Item'.*test_openapi_document\.Item.*make"):
        document(Route("/one", one), Route("/two", two))


def test_a_type_json_schema_cannot_describe_fails_assembly_naming_it():
    @dataclass
    class Odd:
        handle: complex

    @operation(returns=Odd)
    async def odd(request): ...

    with pytest.raises(AssemblyError, match=r"cannot describe builtins\.complex.*Odd\.handle"):
        document(Route("/odd", odd))


def test_the_documents_info_comes_from_the_settings():
    doc = document(
        Route("/", plain),
        settings={
            "openapi": {
                "title": "Shop",
                "version": "2.1",
                "description": "The shop's API.",
                "servers": ["https://shop.test/api"],
            }
        },
    )
    assert doc["info"] == {"title": "Shop", "version": "2.1", "description": "The shop's API."}
    assert doc["servers"] == [{"url": "https://shop.test/api"}]
