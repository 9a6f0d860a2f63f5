"""Static files from directories and packages."""

from __future__ import annotations
