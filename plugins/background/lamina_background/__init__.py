"""Background tasks owned by the app lifespan."""

from __future__ import annotations
