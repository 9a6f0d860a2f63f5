"""The HTTP router: compiled route table, mounts, hosts, reverse routing."""

from __future__ import annotations
