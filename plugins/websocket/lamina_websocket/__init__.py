"""WebSocket connections, routes and endpoints."""

from __future__ import annotations
