"""Trusted-host and HTTPS-redirect guards."""

from __future__ import annotations
