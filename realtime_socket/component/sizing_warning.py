"""A ``pulumi up`` warning when the functions' memory and timeout are too small for a room.

``limits.expected_room_size`` says how large the largest room will get; the sizing model
(:mod:`realtime_socket.sizing`) says how large a room one invocation serves at
``functions.memory_mb`` and ``functions.timeout_seconds``. A larger room still gets its
messages, split across fan-out workers, but each split costs invocations, so the operator
should hear about it before the first broadcast, with the memory that would avoid it.
"""

from __future__ import annotations

import pulumi

from realtime_socket import sizing
from realtime_socket.component.args import ResolvedArgs

__all__ = ["sizing_message", "warn_if_undersized"]


def sizing_message(cfg: ResolvedArgs) -> str | None:
    """What to tell the operator about ``cfg``'s expected room, or None when it fits."""
    room = cfg.limits.expected_room_size
    memory, timeout = cfg.functions.memory_mb, cfg.functions.timeout_seconds
    model = sizing.FanoutModel(concurrency=cfg.functions.fanout_concurrency)
    served = model.posts_per_invocation(memory, timeout)
    if room == 0 or room <= served:
        return None
    seconds = model.broadcast_seconds(room, memory)
    cheapest = model.cheapest_memory(room, timeout)
    advice = (
        f"functions.memory_mb = {cheapest} would broadcast it in one invocation"
        if cheapest is not None
        else "no memory setting broadcasts it in one invocation within this timeout"
    )
    if served == 0:
        split = f"an invocation at {memory} MB cannot post at all within {timeout} s"
    else:
        workers = model.workers_needed(room, memory, timeout)
        split = f"each broadcast will be split across {workers} fan-out workers"
    return (
        f"limits.expected_room_size = {room:,}: one invocation at {memory} MB would need "
        f"{seconds:,.1f} s to broadcast to it, and serves at most {served:,} connections "
        f"within functions.timeout_seconds = {timeout} (half the time left after its fixed "
        f"work, as a margin); {split}. {advice}."
    )


def warn_if_undersized(cfg: ResolvedArgs, resource: pulumi.Resource) -> None:
    """Log :func:`sizing_message` as a warning on ``resource``, if there is one."""
    message = sizing_message(cfg)
    if message:
        pulumi.log.warn(message, resource=resource)
