"""One strict reading of ``Host`` and ``:authority``, shared by everything that trusts them.

URL building (``request.url``), host routing, the trusted-host guard and the HTTPS redirect
all read the host the client named. Each used to parse it its own way, so a value one of
them refused could slip through another (``[:::]`` reached ``request.url`` and raised; a
``Host`` of ``evil.example/x?`` became a redirect target). Here is the only parser: a value
is either a well-formed authority (a DNS name, an IPv4 address or a bracketed IPv6 address,
and an optional port 1-65535) or it is refused, and every caller refuses it the same way.

What is refused, on purpose: user info (``a@b``), paths, queries, whitespace, percent
escapes, an empty port (``example.org:``), a port out of range, IPv6 zone ids and
``IPvFuture`` literals, non-ASCII (clients send IDNA), and anything longer than a DNS
name can be.
"""

from __future__ import annotations

import ipaddress
import re
from typing import NamedTuple

__all__ = ["Authority", "parse_authority"]

#: DNS labels (letters, digits, hyphens inside, underscores as real names use them), dots
#: between them, one optional trailing dot; then an optional port of 1-5 digits.
_NAME = re.compile(
    r"([a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)*)"
    r"\.?(?::([0-9]{1,5}))?",
    re.ASCII,
)
_IPV6 = re.compile(r"\[([0-9a-f:.]{2,45})\](?::([0-9]{1,5}))?", re.ASCII)
_DOTTED = re.compile(r"[0-9.]+", re.ASCII)
#: 253 characters of DNS name, a trailing dot, ``:`` and five digits of port.
MAX_AUTHORITY = 253 + 1 + 6
_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}


class Authority(NamedTuple):
    """A validated host and optional port.

    ``host`` is lower-cased, without a trailing dot; an IPv6 address keeps its brackets
    (``[::1]``), so ``host`` can always be written into a URL as it is.
    """

    host: str
    port: int | None

    def netloc(self, scheme: str | None = None) -> str:
        """``host[:port]`` for a URL; the port is left out when it is ``scheme``'s default."""
        port = self.port
        if port is None or (scheme is not None and _DEFAULT_PORTS.get(scheme) == port):
            return self.host
        return f"{self.host}:{port}"


def parse_authority(value: bytes | str) -> Authority | None:
    """The :class:`Authority` a ``Host`` (or HTTP/2 ``:authority``) value names, or ``None``.

    ``None`` means the value must not be trusted for anything: not to build a URL, not to
    route, not to redirect to. Example: ``parse_authority(b"Example.org:8443")`` is
    ``Authority("example.org", 8443)``; ``parse_authority(b"example.org:")`` is ``None``.
    """
    if len(value) > MAX_AUTHORITY or not value:
        return None
    if isinstance(value, bytes):
        try:
            text = value.decode("ascii")
        except UnicodeDecodeError:
            return None
    else:
        text = value
    text = text.lower()
    if text[0] == "[":
        match = _IPV6.fullmatch(text)
        if match is None:
            return None
        try:
            address = ipaddress.IPv6Address(match[1])
        except ValueError:
            return None
        host = f"[{address.compressed}]"
    else:
        match = _NAME.fullmatch(text)
        if match is None:
            return None
        host = match[1]
        if len(host) > 253:
            return None
        if _DOTTED.fullmatch(host):  # all digits and dots: it must be a real IPv4 address
            try:
                ipaddress.IPv4Address(host)
            except ValueError:
                return None
    digits = match[2]
    if digits is None:
        return Authority(host, None)
    port = int(digits)
    if not 0 < port < 65536:
        return None
    return Authority(host, port)
