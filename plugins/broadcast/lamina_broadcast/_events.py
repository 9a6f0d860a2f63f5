"""What a subscriber receives, and the one error a publisher must handle."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["BroadcastUnavailable", "Event", "EventKind"]

EventKind = Literal["message", "gap"]


class BroadcastUnavailable(ConnectionError):
    """The backend cannot be reached: nothing was published (or subscribed).

    Raised instead of reporting a success that did not happen. The message never contains
    the backend URL's credentials.
    """


@dataclass(frozen=True, slots=True)
class Event:
    """One event on ``channel``.

    ``kind`` is ``"message"`` for a published event, or ``"gap"`` when continuity was lost
    (the subscriber overflowed, plain pub/sub reconnected, or a resume point is older than
    the retained history); a gap has no ``id``/``event``/``data`` and live events follow it.
    ``id`` is the backend's event id where it assigns one (memory and Redis Streams), usable
    as ``last_event_id`` to resume.
    """

    channel: str
    data: Any = None
    id: str | None = None
    event: str | None = None
    kind: EventKind = "message"
    #: What the event looks like on the wire, per format, computed once for all the
    #: subscribers of this process (see ``lamina_broadcast._web``).
    wire: dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    @classmethod
    def gap(cls, channel: str) -> Event:
        return cls(channel, kind="gap")
