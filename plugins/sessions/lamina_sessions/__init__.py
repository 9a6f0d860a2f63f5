"""Signed-cookie and server-side sessions."""

from __future__ import annotations
