"""GZip response compression middleware."""

from __future__ import annotations
