"""RoomSequence without a socket: dedupe, seq order, early frames, holes and gaps."""

from __future__ import annotations

from typing import Any

from realtime_socket.client.events import Gap, Message
from realtime_socket.client.sequence import RoomSequence


def _m(seq: int, replay: bool = False) -> Message:
    return Message("r", "u", seq, f"{seq:032x}", seq, 0, replay)


def _seqs(events: list[Any]) -> list[Any]:
    return [e.seq if isinstance(e, Message) else e for e in events]


def test_frames_before_subscribed_wait_for_it_and_are_delivered_from_the_earliest() -> None:
    """Frames 8 and 9 arrive before subscribed says 9: nothing is delivered until the
    answer, then 8 and 9, in order."""
    room = RoomSequence("r")
    assert room.take(_m(9)) == [] and room.take(_m(8)) == []
    assert not room.has_hole and not room.started
    assert _seqs(room.start(9)) == [8, 9]
    assert room.start(20) == []  # later subscribed answers do not move the start


def test_duplicates_are_dropped_and_out_of_order_frames_wait_for_the_hole() -> None:
    """After subscribed 0: 1, 3 (held: hole), 1 again (dropped), 2 (delivers 2 and 3),
    3 replayed (dropped)."""
    room = RoomSequence("r")
    assert room.start(0) == []
    assert _seqs(room.take(_m(1))) == [1]
    assert room.take(_m(3)) == [] and room.has_hole
    assert room.take(_m(1)) == []
    assert _seqs(room.take(_m(2))) == [2, 3]
    assert room.take(_m(3, replay=True)) == [] and not room.has_hole
    assert room.last == 3


def test_settle_reports_a_gap_for_what_history_replayed_no_longer() -> None:
    """Delivered up to 2; history (last_seq 6) replayed only 5 and 6: Gap(2, 5), then 5, 6;
    a live 8 waits past last_seq (7 may still come)."""
    room = RoomSequence("r")
    room.start(2)
    room.take(_m(8))
    room.take(_m(5, replay=True))
    room.take(_m(6, replay=True))
    assert _seqs(room.settle(6)) == [Gap("r", after_seq=2, resumed_at=5), 5, 6]
    assert room.has_hole and room.last == 6
    assert _seqs(room.take(_m(7))) == [7, 8]


def test_settle_with_nothing_replayed_skips_to_the_rooms_last_seq() -> None:
    """A room that keeps no history (or all expired): since 4, last_seq 9, nothing
    replayed: Gap(4, 10), and delivery goes on at 10; a complete answer settles nothing."""
    room = RoomSequence("r")
    room.start(4)
    assert room.behind(9)
    assert room.settle(9) == [Gap("r", after_seq=4, resumed_at=10)]
    assert not room.behind(9) and room.settle(9) == []
    assert _seqs(room.take(_m(10))) == [10]
