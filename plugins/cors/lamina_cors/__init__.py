"""CORS middleware following the Fetch standard."""

from __future__ import annotations
