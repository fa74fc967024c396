"""What iterating a client yields: room messages, gaps, presence and device requests.

Each is a frozen dataclass built from one server frame (README, "Client protocol"), so an
application matches on the type instead of on dictionaries.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from realtime_socket.client.errors import ServerError

__all__ = ["Event", "Gap", "Member", "Members", "Message", "Presence", "Request"]


@dataclass(frozen=True)
class Message:
    """A message frame: ``room`` and ``seq`` are None for one sent to the user
    (``Publisher.send_to_user``); ``replay`` is true when it came from ``history``."""

    room: str | None
    user: str
    data: Any
    id: str
    seq: int | None
    ts: int | None
    replay: bool = False

    @classmethod
    def from_frame(cls, frame: dict[str, Any]) -> Message:
        seq = frame.get("seq")
        return cls(
            room=frame.get("room"),
            user=str(frame.get("from", "")),
            data=frame.get("data"),
            id=str(frame.get("id", "")),
            seq=seq if isinstance(seq, int) and not isinstance(seq, bool) else None,
            ts=frame.get("ts"),
            replay=frame.get("replay") is True,
        )


@dataclass(frozen=True)
class Gap:
    """Messages ``after_seq + 1`` to ``resumed_at - 1`` of ``room`` are gone (they left
    retention before the client could replay them): reload what you show. Delivery goes on
    with ``resumed_at``."""

    room: str
    after_seq: int
    resumed_at: int


@dataclass(frozen=True)
class Presence:
    """``user`` joined or left ``room`` (``event`` is ``"join"`` or ``"leave"``)."""

    room: str
    event: str
    user: str


@dataclass(frozen=True)
class Request:
    """A backend's request (``Publisher.request``) when no ``on_request`` handler is set:
    answer it with :meth:`reply` on the connection it came on."""

    id: str
    data: Any
    _reply: Callable[[str, Any], Awaitable[None]] = field(repr=False, compare=False)

    async def reply(self, data: Any) -> None:
        """Send ``{"action":"reply","id":…,"data":data}``; the backend's call returns it."""
        await self._reply(self.id, data)


@dataclass(frozen=True)
class Member:
    """One user in a room and how many connections it has there."""

    user: str
    connections: int


class Members(list[Member]):
    """The answer to ``members``: sorted by user; ``truncated`` when the server cut a list
    too long for one 128 KB frame."""

    truncated: bool = False

    @classmethod
    def from_frame(cls, frame: dict[str, Any]) -> Members:
        found = cls(
            Member(str(m.get("user", "")), int(m.get("connections", 0)))
            for m in frame.get("members", [])
            if isinstance(m, dict)
        )
        found.truncated = frame.get("truncated") is True
        return found


#: Anything ``async for event in client`` yields; a ServerError is an error frame no call
#: was waiting for.
Event = Message | Gap | Presence | Request | ServerError
