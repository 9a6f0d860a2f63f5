"""Jinja2 templates."""

from __future__ import annotations
