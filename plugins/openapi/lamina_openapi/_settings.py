"""The ``[openapi]`` settings section."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["OpenAPISettings"]

SWAGGER_JS = "https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/swagger-ui-bundle.js"
SWAGGER_CSS = "https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/swagger-ui.css"
REDOC_JS = "https://cdn.jsdelivr.net/npm/redoc@2/bundles/redoc.standalone.js"


@dataclass(frozen=True)
class OpenAPISettings:
    """What the document says about the API, and where it (and the docs page) is served."""

    #: Serve the document (and the docs page). Off: nothing is served and nothing is built
    #: at assembly; ``lamina openapi MODULE:APP`` still prints the document.
    enabled: bool = True
    #: Where ``GET`` serves the document.
    path: str = "/openapi.json"
    #: ``info.title``, ``info.version`` and ``info.description`` of the document.
    title: str = "Lamina API"
    version: str = "0.1.0"
    description: str | None = None
    #: ``servers``: the base URLs the API is reached at (none: relative to the document).
    servers: list[str] | None = None
    #: The docs page: ``"swagger"`` (Swagger UI), ``"redoc"``, or none.
    docs: Literal["swagger", "redoc"] | None = None
    docs_path: str = "/docs"
    #: Where the docs page loads its assets from (self-host them to work offline).
    swagger_js_url: str = SWAGGER_JS
    swagger_css_url: str = SWAGGER_CSS
    redoc_js_url: str = REDOC_JS

    def __post_init__(self) -> None:
        for key in ("path", "docs_path"):
            value = getattr(self, key)
            if not value.startswith("/") or "{" in value:
                raise ValueError(f"{key} must be a plain path starting with '/', got {value!r}")
        if self.docs is not None and self.docs_path == self.path:
            raise ValueError(f"docs_path and path are both {self.path!r}; give them apart")
