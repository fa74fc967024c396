"""Exactly once, in seq order, per room: the resume algorithm of
``bench/scenarios/resume.py``, sans-I/O.

A room's messages carry ``seq``, gapless among stored messages (README, "History and
resume"). Frames reach the client live, replayed by ``history``, and twice while two
connections overlap; :class:`RoomSequence` keeps the last seq it delivered, drops a seq it
has seen, holds a frame until every seq before it is delivered, and tells the client when to
ask ``history`` (a hole) and when a hole can never fill (:class:`~.events.Gap`). The client
feeds it frames and delivers what it returns.
"""

from __future__ import annotations

from realtime_socket.client.events import Gap, Message

__all__ = ["RoomSequence"]


class RoomSequence:
    """One room's delivery state. ``last`` is None until the first ``subscribed`` says
    where the room stands; frames that come before it wait."""

    def __init__(self, room: str) -> None:
        self.room = room
        self.last: int | None = None
        self._pending: dict[int, Message] = {}

    @property
    def started(self) -> bool:
        return self.last is not None

    @property
    def has_hole(self) -> bool:
        """A frame waits for an earlier seq: ask ``history`` since :attr:`last`."""
        return self.last is not None and bool(self._pending)

    def behind(self, seq: int) -> bool:
        """Whether the room has messages (up to ``seq``) this client has not delivered."""
        return self.last is not None and self.last < seq

    def start(self, seq: int) -> list[Message | Gap]:
        """The first ``subscribed`` answer: deliver from the room's ``seq`` on, and the
        frames that raced ahead of the answer too."""
        if self.last is not None:
            return []
        first = min(self._pending, default=seq + 1)
        self.last = min(seq, first - 1)
        return self._flush()

    def take(self, message: Message) -> list[Message | Gap]:
        """A message frame, live or replayed: what is now deliverable, in order."""
        seq = message.seq
        assert seq is not None
        if (self.last is not None and seq <= self.last) or seq in self._pending:
            return []  # seen: a replay overlapping live frames, or two connections
        self._pending[seq] = message
        return self._flush()

    def settle(self, last_seq: int) -> list[Message | Gap]:
        """A ``history`` answer: every stored message up to ``last_seq`` has been replayed,
        so a seq up to there still missing is gone (it left retention, or the room keeps
        none): report the :class:`Gap` and deliver on."""
        out: list[Message | Gap] = []
        if self.last is None:
            return out
        while self.last < last_seq and self.last + 1 not in self._pending:
            resumed_at = min((s for s in self._pending if s <= last_seq), default=last_seq + 1)
            out.append(Gap(self.room, after_seq=self.last, resumed_at=resumed_at))
            self.last = resumed_at - 1
            out.extend(self._flush())
        return out

    def _flush(self) -> list[Message | Gap]:
        out: list[Message | Gap] = []
        if self.last is None:
            return out
        while self.last + 1 in self._pending:
            self.last += 1
            out.append(self._pending.pop(self.last))
        return out
