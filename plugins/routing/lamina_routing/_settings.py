"""The ``[routing]`` settings section."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RoutingSettings:
    #: When no route matches, redirect ``/path/`` <-> ``/path`` if the other form matches.
    redirect_slashes: bool = True
    #: Status of those redirects: 307 or 308 (both keep the method and body), or 301/302.
    redirect_status: int = 307
