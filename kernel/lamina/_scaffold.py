"""``lamina new-plugin NAME``: an installable out-of-tree plugin distribution to start from.

The files are templates with ``{name}`` (the plugin's one name), ``{package}``
(``lamina_NAME``), ``{dist}`` (``lamina-NAME``) and ``{cls}`` (a class-name prefix). What is
generated passes its own tests, ``ruff check``, ``mypy --strict`` and ``lamina
check-plugin`` (tests/kernel/test_new_plugin.py holds all four).
"""

from __future__ import annotations

import re
from pathlib import Path

__all__ = ["NAME_PATTERN", "generate"]

NAME_PATTERN = re.compile(r"[a-z][a-z0-9_]{0,38}")

PYPROJECT = """\
[project]
name = "{dist}"
version = "0.1.0"
description = "A Lamina plugin: adds a response header, a health route and a CLI command."
readme = "README.md"
requires-python = ">=3.11"
dependencies = ["lamina", "lamina-routing"]

[project.optional-dependencies]
test = ["pytest>=8"]

[project.entry-points.lamina]
{name} = "{package}"

[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[tool.hatch.build.targets.wheel]
packages = ["{package}"]

[tool.pytest.ini_options]
# the tests import {package} from this checkout, installed or not
pythonpath = ["."]
testpaths = ["tests"]
addopts = "--strict-markers"
filterwarnings = ["error"]

[tool.ruff]
line-length = 100
target-version = "py311"

[tool.ruff.lint]
select = ["E", "F", "W", "I", "B", "UP", "SIM", "RUF"]

[tool.ruff.lint.isort]
known-first-party = ["{package}"]

[tool.mypy]
strict = true
"""

README = """\
# {dist}

A [Lamina](https://github.com/lamina) plugin. It adds a response header to every HTTP
response, serves `GET /_{name}/health`, and offers `lamina {name}-show`.

## Settings (`[{name}]` in `lamina.toml`)

| setting | type | default | meaning |
|---|---|---|---|
| `header` | str | `"x-{name}"` | the response header added |
| `value` | str | `"on"` | its value |

## Example

```toml
[{name}]
header = "x-powered-by"
value = "lamina"
```

## Develop

With Lamina and lamina-routing installed in your environment, from this directory:

    python -m pytest

Install it next to Lamina (`uv pip install -e .` or `pip install -e .`) and it shows in
`lamina plugins`, `lamina routes APP` and `lamina middleware APP`;
`lamina check-plugin {dist}` checks it is a well-formed plugin. In a uv project's
environment, `uv sync` removes an editable install its lock file does not know: add it to
the project instead (`uv add --editable PATH`), or sync with `uv sync --inexact`.
"""

INIT = '''\
"""{dist}: a response header, a health route and a CLI command.

Settings (``[{name}]``): ``header`` (default ``"x-{name}"``) and ``value`` (default ``"on"``).
"""

import argparse
from dataclasses import dataclass

from lamina import ASGIApp, Middleware, PlainTextResponse, Receive, Request, Scope, Send, hookimpl
from lamina.plugin import Command, Register, contributes, send_with_headers, settings_schema
from lamina_routing import Route

__all__ = ["{cls}Middleware", "Settings"]


@dataclass(frozen=True)
class Settings:
    header: str = "x-{name}"
    value: str = "on"


class {cls}Middleware:
    """Adds ``header: value`` to every response (plain ASGI: usable without Lamina)."""

    def __init__(self, app: ASGIApp, header: str = "x-{name}", value: str = "on") -> None:
        self.app = app
        self.pair = (header.lower().encode("latin-1"), value.encode("latin-1"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # a copy of the start message with a new header list: never mutate the app's
        await self.app(scope, receive, send_with_headers(send, [self.pair]))


async def health(request: Request) -> PlainTextResponse:
    return PlainTextResponse("ok")


# one-line hooks: exactly ``@hookimpl def lamina_settings_schema(): return Settings``, and
# a lamina_register_routes that registers this route
lamina_settings_schema = settings_schema(Settings)
lamina_register_routes = contributes(Route("/_{name}/health", health, name="{name}-health"))


@hookimpl
def lamina_register_dependencies(register: Register[str, str]) -> None:
    register("routing", "{dist} serves /_{name}/health through the router")


@hookimpl
def lamina_register_middleware(settings: Settings, register: Register[Middleware]) -> None:
    options = {{"header": settings.header, "value": settings.value}}
    register(Middleware({cls}Middleware, phase="outermost", priority=500, **options))


@hookimpl
def lamina_register_commands(settings: Settings, register: Register[Command]) -> None:
    def show(args: argparse.Namespace) -> int:
        print(f"{{settings.header}}: {{settings.value}}")
        return 0

    register(Command("{name}-show", "Show the header {dist} adds.", show))
'''

TESTS = '''\
"""{dist}'s tests: the plugin in a real app, through Lamina's pytest fixtures."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lamina.testing import assert_plugin_conforms

import {package}


def test_responses_carry_the_header(lamina_app_factory: Any, lamina_client: Any) -> None:
    client = lamina_client(lamina_app_factory("routing", {package}))
    response = client.get("/_{name}/health")
    assert response.status_code == 200 and response.text == "ok"
    assert response.headers["x-{name}"] == "on"
    assert client.get("/missing").headers["x-{name}"] == "on"  # errors pass the onion too


def test_settings_configure_it(lamina_app_factory: Any, lamina_client: Any) -> None:
    app = lamina_app_factory(
        "routing", {package}, settings={{"{name}": {{"header": "x-by", "value": "me"}}}}
    )
    assert lamina_client(app).get("/_{name}/health").headers["x-by"] == "me"


def test_it_is_a_well_formed_plugin() -> None:
    assert_plugin_conforms(Path(__file__).parents[1])
'''

GITIGNORE = "__pycache__/\n*.egg-info/\n.venv/\ndist/\n"


def _files(name: str) -> dict[str, str]:
    package = f"lamina_{name}"
    fields = {
        "name": name,
        "package": package,
        "dist": f"lamina-{name.replace('_', '-')}",
        "cls": "".join(part.capitalize() for part in name.split("_")),
    }
    return {
        "pyproject.toml": PYPROJECT.format(**fields),
        "README.md": README.format(**fields),
        ".gitignore": GITIGNORE,
        f"{package}/__init__.py": INIT.format(**fields),
        f"{package}/py.typed": "",
        f"tests/test_{name}.py": TESTS.format(**fields),
    }


def generate(name: str, directory: Path) -> Path:
    """Write ``lamina-NAME/`` under ``directory`` and return it; refuses a bad name or an
    existing target (nothing is overwritten)."""
    if not NAME_PATTERN.fullmatch(name):
        raise ValueError(
            f"plugin name {name!r}: use lower-case letters, digits and underscores, starting "
            "with a letter (it becomes the entry point, the settings section and lamina_NAME)"
        )
    root = directory / f"lamina-{name.replace('_', '-')}"
    if root.exists():
        raise FileExistsError(f"{root} already exists; choose another --dir or name")
    for relative, text in _files(name).items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root
