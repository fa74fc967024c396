"""Broadcasts too big for one invocation: the room in shares, handed to fan-out workers.

One invocation posts to at most ``fanout_share`` connections (the component computes it from
the functions' memory, timeout and the measured CPU per post: ``realtime_socket/sizing.py``).
A room that fits posts from the receiving invocation. A larger one is only read there: page
by page, each share is handed to the fan-out worker function with Lambda's asynchronous
``Invoke`` (``InvocationType=Event``), which returns at once, so the sender's answer never
waits for the workers and no share waits for the whole room to be read.

The frame travels whole, with the ``id`` and ``seq`` it was given before the split, so a
worker that Lambda retries posts the same message again, never a second one (clients drop a
``seq`` they have). Shares are disjoint slices of one pass over the index: each member is in
exactly one.

A share must fit Lambda's asynchronous payload quota beside the frame, so it also closes at
:data:`~realtime_socket.contract.ASYNC_INVOKE_PAYLOAD_BYTES`. A share that could not be
handed over is counted in ``FanoutResult.failed`` and logged, never dropped silently.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from realtime_socket.contract import ASYNC_INVOKE_PAYLOAD_BYTES
from realtime_socket.handlers.fanout import ConnectionsApi, FanoutResult

__all__ = ["HANDOFF_FAILED", "Share", "Split", "encode_share", "parse_share", "split_broadcast"]

#: ``FanoutResult.failed``'s code for a target whose share no worker received.
HANDOFF_FAILED = "HandoffFailed"

#: The least room for connection ids that makes a share worth handing over (~50 ids).
MIN_SHARE_BYTES = 1024

_logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Share:
    """What a fan-out worker is handed: one message for part of one room."""

    room: str
    seq: int | None
    endpoint: str
    frame: bytes
    targets: list[str]


@dataclass
class Split:
    """The receiving invocation's side of a broadcast: its own posts and the hand-offs."""

    result: FanoutResult
    workers: int = 0  # shares handed to workers
    handed: int = 0  # targets in those shares
    incomplete: bool = False  # the room's index could not be read to the end


def encode_share(share: Share) -> bytes:
    return json.dumps(
        {
            "room": share.room,
            "seq": share.seq,
            "endpoint": share.endpoint,
            "frame": share.frame.decode(),
            "targets": share.targets,
        },
        separators=(",", ":"),
        ensure_ascii=False,  # frames are UTF-8: escaping would double or triple their size
    ).encode()


def parse_share(event: Any) -> Share:
    """The worker's event as a :class:`Share`; ``ValueError`` for anything else."""
    if not isinstance(event, dict):
        raise ValueError("a fan-out share is a JSON object")
    room, frame, targets = event.get("room"), event.get("frame"), event.get("targets")
    endpoint, seq = event.get("endpoint"), event.get("seq")
    if not isinstance(room, str) or not isinstance(frame, str) or not isinstance(endpoint, str):
        raise ValueError("a fan-out share needs room, frame and endpoint strings")
    if not isinstance(targets, list) or not all(isinstance(t, str) for t in targets):
        raise ValueError("a fan-out share's targets are a list of connection ids")
    if seq is not None and (not isinstance(seq, int) or isinstance(seq, bool)):
        raise ValueError("a fan-out share's seq is an integer or null")
    return Share(room, seq, endpoint, frame.encode(), targets)


def split_broadcast(
    members: Iterable[str],
    share: Share,
    *,
    api: ConnectionsApi,
    on_gone: Callable[[list[str]], object],
    per_invocation: int,
    hand_off: Callable[[bytes], bool] | None,
) -> Split:
    """Post ``share.frame`` to ``members``: here when they fit one share of
    ``per_invocation``, else every member in shares handed to workers through ``hand_off``
    (the encoded share; False if not taken).

    Without ``hand_off`` or ``per_invocation`` (0), every member is posted to here.
    """
    mine: list[str] = []
    pending: list[str] = []
    empty = len(encode_share(share)) + 64  # the envelope, and a margin for the invoker
    budget = ASYNC_INVOKE_PAYLOAD_BYTES - empty
    size = 0
    split = Split(FanoutResult())
    if hand_off is not None and budget < MIN_SHARE_BYTES:
        # A frame near the 128 KB limit leaves no room for ids in a share: posting it all
        # here may time out, but a share that cannot be sent surely fails.
        _logger.warning(
            "room %s is posted in one invocation: its frame leaves no room for a share",
            share.room,
            extra={"event": "split_impossible", "room": share.room},
        )
        hand_off = None
    splitting = hand_off is not None and per_invocation > 0
    not_handed: list[str] = []

    def flush() -> None:
        nonlocal pending, size
        if not pending:
            return
        assert hand_off is not None
        try:
            taken = hand_off(encode_share(Share(**{**share.__dict__, "targets": pending})))
        except Exception:
            _logger.exception("handing a share over failed", extra={"event": "handoff_error"})
            taken = False
        if taken:
            split.workers += 1
            split.handed += len(pending)
        else:
            not_handed.extend(pending)
        pending, size = [], 0

    def add(member: str) -> None:
        nonlocal size
        cost = len(json.dumps(member, ensure_ascii=False).encode()) + 1
        if len(pending) >= per_invocation or size + cost > budget:
            flush()
        pending.append(member)
        size += cost

    dispatching = False
    try:
        for member in members:
            if not dispatching:
                if not splitting or len(mine) < per_invocation:
                    mine.append(member)
                    continue
                # The room is bigger than one share: this invocation only reads and hands
                # over, so no share waits for the reading of the whole room (and none is
                # left for a timeout to cut).
                dispatching = True
                for kept in mine:
                    add(kept)
                mine = []
            add(member)
    except Exception:
        # The room's index could not be read to the end: those reached so far still get
        # the message (it is stored: the others find it with history), and it is logged.
        _logger.exception(
            "reading room %s failed part-way", share.room, extra={"event": "room_read_failed"}
        )
        split.incomplete = True
    flush()
    result = api.broadcast(mine, share.frame, on_gone=on_gone)
    for target in not_handed:
        result.failed[target] = HANDOFF_FAILED
    if not_handed:
        _logger.error(
            "%d targets of room %s were not handed to a fan-out worker",
            len(not_handed),
            share.room,
            extra={"event": "handoff_failed", "room": share.room, "targets": len(not_handed)},
        )
    split.result = result
    return split
