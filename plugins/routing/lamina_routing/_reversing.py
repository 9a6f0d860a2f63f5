"""Reversing: from a route's name and parameters back to its path.

The compiler (:mod:`._compiling`) records one :class:`ReverseEntry` per route name, with
the patterns of every mount it sits under; mounts that wrap another app with its own
``url_path_for`` are *delegates*, asked for the names under their prefix. Errors name the
route and the parameters it expects, because the caller usually has a typo.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Self
from urllib.parse import quote

from lamina import URL, RouteLike, URLPath
from lamina.plugin import ASGIApp

from ._paths import PathPattern

__all__ = ["MOUNT_TAIL", "HostURLPath", "NoMatchFound", "ReverseEntry", "reverse"]


class NoMatchFound(LookupError):
    """``url_path_for`` found no route with that name, or the params do not fit it."""


class HostURLPath(URLPath):
    """The path of a route under a :class:`Host`: absolute URLs use the host it names.

    ``url_path_for("tenant:home", tenant="acme")`` is ``"/"`` with ``host ==
    "acme.example.com"``; ``request.url_for`` then gives ``http://acme.example.com/``
    (scheme and ``root_path`` from the request, host from the route).
    """

    host: str

    def __new__(cls, path: str, protocol: str = "", host: str = "") -> Self:
        obj = super().__new__(cls, path, protocol)
        obj.host = host
        return obj

    def make_absolute_url(self, base_url: str | URL) -> URL:
        url = super().make_absolute_url(base_url)
        return url.replace(netloc=self.host) if self.host else url


#: Stands for the rest of the path under a named mount of a foreign app
#: (``url_path_for("static", path="/css/site.css")``).
MOUNT_TAIL = PathPattern("{path:path}", (), (), None, ("path",), ".*", "{path}")


@dataclass
class ReverseEntry:
    """What reversing one route name needs: the patterns from the app's root down to it."""

    protocol: str
    patterns: tuple[PathPattern, ...]
    route: RouteLike
    explicit: bool
    contributor: str
    #: The pattern of the innermost ``Host`` enclosing the route, if any.
    host: PathPattern | None = None

    @property
    def names(self) -> tuple[str, ...]:
        own = tuple(n for p in self.patterns for n in p.names)
        return own if self.host is None else (*self.host.names, *own)

    @property
    def template(self) -> str:
        path = "".join(p.template for p in self.patterns)
        return path if self.host is None else f"host {self.host.template}, path {path}"


#: ``(name prefix such as "admin:", the mount's patterns, the mounted app)``
Delegate = tuple[str, tuple[PathPattern, ...], ASGIApp]


def reverse(
    entries: Mapping[str, ReverseEntry],
    delegates: Sequence[Delegate],
    name: str,
    path_params: dict[str, Any],
) -> URLPath:
    """The path of the route called ``name``; :class:`NoMatchFound` says why there is none."""
    entry = entries.get(name)
    if entry is None:
        found = _delegate(delegates, name, path_params)
        if found is not None:
            return found
        known = sorted(entries)
        shown = ", ".join(known[:20]) + (" ..." if len(known) > 20 else "")
        raise NoMatchFound(f"no route named {name!r} (known names: {shown or 'none'})")
    expected = entry.names
    if set(path_params) != set(expected):
        missing = sorted(set(expected) - set(path_params))
        extra = sorted(set(path_params) - set(expected))
        detail = "; ".join(
            filter(
                None,
                [
                    f"missing {', '.join(missing)}" if missing else "",
                    f"unexpected {', '.join(extra)}" if extra else "",
                ],
            )
        )
        raise NoMatchFound(
            f"route {name!r} ({entry.template}) expects params "
            f"{', '.join(expected) or '(none)'}; {detail}"
        )
    parts: list[str] = []
    for pattern in entry.patterns:
        if pattern is MOUNT_TAIL:
            rest = str(path_params["path"])
            parts.append(
                quote(rest if rest.startswith("/") else "/" + rest, safe="-._~!$&'()*+,;=:@/")
            )
            continue
        try:
            parts.append(pattern.build(path_params))
        except (ValueError, TypeError) as exc:
            raise NoMatchFound(f"route {name!r} ({entry.template}): {exc}") from None
    if entry.host is not None:
        try:
            host = entry.host.build(path_params)
        except (ValueError, TypeError) as exc:
            raise NoMatchFound(f"route {name!r} (host {entry.host.template}): {exc}") from None
        return HostURLPath(local_path("".join(parts)), entry.protocol, host)
    return URLPath(local_path("".join(parts)), entry.protocol)


def local_path(path: str) -> str:
    """``path`` as a path that stays on this site.

    A built path starting with ``//`` (``Route("/{p:path}")`` with ``p="/evil.example/a"``)
    is a network-path reference: a browser given it as a link or ``Location`` goes to
    ``evil.example``. The second slash is percent-encoded instead (``/%2Fevil.example/a``),
    which routes back to the same parameter value.
    """
    if not path:
        return "/"
    if path.startswith("//"):
        return "/%2F" + path[2:]
    return path


def _delegate(
    delegates: Sequence[Delegate], name: str, path_params: dict[str, Any]
) -> URLPath | None:
    """A name under a mounted app that reverses its own routes: that app's answer."""
    for inner, patterns, app in delegates:
        if name.startswith(inner) and hasattr(app, "url_path_for"):
            own = {n for p in patterns for n in p.names}
            try:
                head = "".join(p.build(path_params) for p in patterns)
            except (KeyError, ValueError, TypeError) as exc:
                expected = ", ".join(sorted(own))
                raise NoMatchFound(
                    f"mount {inner[:-1]!r} expects params {expected}: {exc}"
                ) from None
            rest = {k: v for k, v in path_params.items() if k not in own}
            sub = app.url_path_for(name[len(inner) :], **rest)
            return URLPath(local_path(head + str(sub)), getattr(sub, "protocol", "http"))
    return None
