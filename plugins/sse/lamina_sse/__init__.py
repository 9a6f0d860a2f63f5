"""Server-Sent Events responses."""

from __future__ import annotations
