"""The ``[routing]`` settings section."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RoutingSettings:
    #: When no route matches, redirect ``/path/`` <-> ``/path`` if the other form matches.
    redirect_slashes: bool = True
    #: Status of those redirects: 307 or 308 (both keep the method and body), or 301/302.
    redirect_status: int = 307

    def __post_init__(self) -> None:
        if self.redirect_status not in (301, 302, 303, 307, 308):
            raise ValueError(
                f"redirect_status must be 307 or 308 (or 301/302/303), got {self.redirect_status}"
            )
