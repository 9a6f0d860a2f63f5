"""Lamina: a minimal ASGI kernel; routing, WebSockets, sessions and the rest are plugins.

The public API is what ``__all__`` names; everything else is private. The ASGI vocabulary
(``ASGIApp``, ``Scope``, ``Receive``, ``Send``, ``Message``) is here too, as in
:mod:`lamina.types`, since apps and plugins both type their middleware with it.
"""

from __future__ import annotations

from ._app import KernelSettings, Lamina, RouteContribution
from ._callnext import CallNext
from ._datastructures import URL, Address, Headers, MutableHeaders, QueryParams, State, URLPath
from ._exceptions import (
    AssemblyError,
    ConflictError,
    HTTPException,
    LaminaError,
    LifespanNotRun,
    PayloadTooLarge,
    PluginLoadError,
    PluginSelectionWarning,
    RequestError,
    SettingsError,
    UnsupportedMediaType,
    WebSocketDisconnect,
    WebSocketException,
)
from ._files import FileResponse
from ._formdata import FormData, UploadFile
from ._hookspecs import hookimpl, hookspec
from ._middleware import Middleware
from ._requests import ClientDisconnect, HTTPConnection, Request
from ._responses import (
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from ._settings import Secret
from .types import ASGIApp, Message, Receive, RouteLike, Scope, Send

__version__ = "0.1.0"

__all__ = [
    "URL",
    "ASGIApp",
    "Address",
    "AssemblyError",
    "CallNext",
    "ClientDisconnect",
    "ConflictError",
    "FileResponse",
    "FormData",
    "HTMLResponse",
    "HTTPConnection",
    "HTTPException",
    "Headers",
    "JSONResponse",
    "KernelSettings",
    "Lamina",
    "LaminaError",
    "LifespanNotRun",
    "Message",
    "Middleware",
    "MutableHeaders",
    "PayloadTooLarge",
    "PlainTextResponse",
    "PluginLoadError",
    "PluginSelectionWarning",
    "QueryParams",
    "Receive",
    "RedirectResponse",
    "Request",
    "RequestError",
    "Response",
    "RouteContribution",
    "RouteLike",
    "Scope",
    "Secret",
    "Send",
    "SettingsError",
    "State",
    "StreamingResponse",
    "URLPath",
    "UnsupportedMediaType",
    "UploadFile",
    "WebSocketDisconnect",
    "WebSocketException",
    "__version__",
    "hookimpl",
    "hookspec",
]
