"""Authentication backends, users, scopes and requires()."""

from __future__ import annotations
