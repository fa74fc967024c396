"""Monthly cost of a realtime-socket deployment, beside the Scan-based design it replaces
and the managed alternative, AWS AppSync Events.

Prices come from ``prices.json`` (one file, with the date they were read). The model and
every assumption it makes are listed in :data:`ASSUMPTIONS` and printed with the estimate,
so a reader can redo the arithmetic. Lambda's CPU follows its memory
(:mod:`realtime_socket.sizing`): posting time, fan-out workers and GB-seconds all do too.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from realtime_socket import sizing
from realtime_socket.contract import (
    DEFAULT_FANOUT_CONCURRENCY,
    DEFAULT_PRESENCE_MAX_ROOM,
    MAX_CONNECTION_SECONDS,
)
from realtime_socket.tools.capacity import read_units

__all__ = [
    "ASSUMPTIONS",
    "Estimate",
    "Fanout",
    "Load",
    "appsync_events",
    "estimate",
    "fanout",
    "load_prices",
    "render",
]

SECONDS_PER_MONTH = 730 * 3600  # AWS prices a month as 730 hours
#: API Gateway closes connections after 2 hours: clients reconnect.
SESSION_SECONDS = MAX_CONNECTION_SECONDS
ENVELOPE_BYTES = 150  # the message frame around "data": type, room, from, id, ts
#: CPU seconds per @connections post at one full vCPU: this engine's (see sizing), and boto3's
#: ``post_to_connection`` as the Scan-based design calls it (bench/fanout.py: 1.25-1.3 ms).
CPU_PER_POST_SECONDS = {"realtime-socket": sizing.CPU_PER_POST_SECONDS, "scan-based": 0.0013}
#: Billed time per invocation apart from the posts. sizing budgets far more (0.5 s at
#: 256 MB) to decide splits safely; billing counts what an invocation is expected to take.
HANDLER_BASE_SECONDS = 0.005
#: A membership in the room index: connectionId ``<cid>|<room>``, roomId, ttl.
INDEX_ENTRY_BYTES = 70
ROW_BYTES = 120  # a whole connection row
#: $connect with ``?room_id=``: the row and its user index entry, the membership and its
#: room index entry; $disconnect deletes the same four (the row, then the membership in a
#: BatchWriteItem). The Scan-based design writes one row and deletes it.
WRITES_PER_SESSION = {"realtime-socket": 8, "scan-based": 2}
#: Each further room a session subscribes to: UpdateItem on the row, PutItem of the
#: membership and its index entry; its deletion at $disconnect: the item and the entry.
WRITES_PER_EXTRA_ROOM = 5
#: The rate limiter's conditional UpdateItem on the sender's row, per message.
RATE_LIMIT_WRITES = 1
#: A room's next seq with history on: a consistent GetItem of the counter (1 read unit),
#: then one transaction of the counter's Update and the message's Put, billed at two write
#: units per item per KB. With history off: one UpdateItem ADD.
HISTORY_COUNTER_READS = 1
TRANSACTION_UNITS_PER_KB = 2
#: A presence event (a join or a leave of one room): the user index Query (half a unit),
#: then the room index Query and one POST of a small frame per other connection.
PRESENCE_USER_INDEX_READS = 0.5


ASSUMPTIONS = [
    "a month is 730 hours; clients stay connected, reconnecting every 2 hours (API Gateway's cap)",
    "connected clients are spread evenly over the rooms; every message goes to its whole room",
    f"message frames add {ENVELOPE_BYTES} bytes around data; messages are billed per 32 KB",
    f"Lambda CPU = memory / {sizing.FULL_VCPU_MB:,} MB vCPU, at most 1 (one thread); CPU per "
    f"post at 1 vCPU: realtime-socket {CPU_PER_POST_SECONDS['realtime-socket'] * 1e6:,.0f} µs, "
    f"Scan-based (boto3) {CPU_PER_POST_SECONDS['scan-based'] * 1e6:,.0f} µs",
    f"@connections round trip {sizing.POST_LATENCY_SECONDS * 1000:.0f} ms; realtime-socket posts "
    f"{DEFAULT_FANOUT_CONCURRENCY} at a time, the Scan-based design one after another",
    f"Lambda bills {HANDLER_BASE_SECONDS * 1000:.0f} ms per invocation plus its posting time; "
    "a room larger than one invocation serves is split across fan-out workers, each one more "
    "request and 5 ms more",
    "each connection runs the authorizer, $connect and $disconnect once per session, and one "
    "subscribe per extra room",
    "reads: realtime-socket Query of the room index (+ the seq counter's consistent read with "
    "history on); Scan-based reads the whole table per message (eventually consistent)",
    "message writes: realtime-socket 1 for the rate limit, then with history on a transaction "
    "of the seq counter and the stored frame (2 units per KB each), with history off 1; "
    "stored history (rate x retention x size) is a few cents of storage, not counted",
    "writes: realtime-socket 8 per session (row + its user index entry + membership + its room "
    "index entry, written and deleted), 5 per extra room",
    "presence (rooms up to presence.max_room_for_events): each session joins and leaves each of "
    "its rooms once, each a post to the room's other connections (an upper bound: a client "
    "that opens its next connection before closing the old, as realtime_socket.client does, "
    "announces neither at the 2-hour renewal)",
    "AppSync Events: per session a connect and a subscribe per room, per message a publish and "
    "a delivery per subscriber (each operation per 5 KB), the same presence events; no "
    "Lambda or DynamoDB (so no history, seq, members or rate limit); tokens checked by "
    "AppSync's own OIDC or Cognito mode",
    "data transfer out is billed at EC2 rates by both services and is not counted",
]


@dataclass(frozen=True)
class Load:
    connections: int
    rooms: int
    messages_per_second: float
    message_bytes: int
    connected_fraction: float = 1.0
    architecture: str = "arm64"
    memory_mb: int = 256
    #: Rooms each connection subscribes to beyond the one it joins at connect.
    extra_rooms_per_connection: int = 0
    #: ``history.retention_seconds``: 0 stores no messages (they still get a seq).
    history_retention_seconds: int = 3600
    #: ``presence.max_room_for_events``; 0: ``presence.events`` is off.
    presence_max_room: int = DEFAULT_PRESENCE_MAX_ROOM
    #: ``functions.timeout_seconds``: how much one invocation may post before a split.
    timeout_seconds: int = 10

    @property
    def room_size(self) -> float:
        return self.connections * self.connected_fraction / self.rooms


@dataclass
class Estimate:
    design: str
    usage: dict[str, float] = field(default_factory=dict)
    costs: dict[str, float] = field(default_factory=dict)
    #: Billed Lambda seconds per message, over every invocation that delivers it.
    seconds_per_message: float = 0.0

    @property
    def total(self) -> float:
        return sum(self.costs.values())


@dataclass(frozen=True)
class Fanout:
    """One broadcast to a room of ``room`` connections at the load's memory and timeout."""

    room: int
    memory_mb: int
    timeout_seconds: int
    vcpu: float
    cpu_bound: float  # posts/s the CPU share allows
    in_flight_bound: float  # posts/s the concurrent posts allow
    posts_per_second: float
    base_seconds: float  # sizing's budget for an invocation's fixed work
    broadcast_seconds: float  # in one invocation, the budget included
    posts_per_invocation: int
    workers: int
    cheapest_memory_mb: int | None


def fanout(load: Load) -> Fanout:
    """The sizing model (:mod:`realtime_socket.sizing`) applied to the load's rooms.

    Raises:
        ValueError: when an invocation cannot post at all within the timeout.
    """
    room = math.ceil(load.room_size)
    memory, timeout = load.memory_mb, load.timeout_seconds
    share = sizing.vcpu(memory)
    model = sizing.DEFAULT
    return Fanout(
        room=room,
        memory_mb=memory,
        timeout_seconds=timeout,
        vcpu=share,
        cpu_bound=share / sizing.CPU_PER_POST_SECONDS,
        in_flight_bound=DEFAULT_FANOUT_CONCURRENCY / sizing.POST_LATENCY_SECONDS,
        posts_per_second=model.posts_per_second(memory),
        base_seconds=model.base_seconds(memory),
        broadcast_seconds=model.broadcast_seconds(room, memory),
        posts_per_invocation=model.posts_per_invocation(memory, timeout),
        workers=model.workers_needed(room, memory, timeout),
        cheapest_memory_mb=model.cheapest_memory(room, timeout),
    )


def load_prices() -> dict[str, Any]:
    text = resources.files("realtime_socket.tools").joinpath("prices.json").read_text()
    prices: dict[str, Any] = json.loads(text)
    return prices


def _design(design: str, load: Load, prices: dict[str, Any]) -> Estimate:
    connected = load.connections * load.connected_fraction
    room_size = load.room_size
    messages = load.messages_per_second * SECONDS_PER_MONTH
    unit = prices["websocket_message_unit_bytes"]
    copies_per_message = math.ceil(load.message_bytes / unit) + room_size * math.ceil(
        (load.message_bytes + ENVELOPE_BYTES) / unit
    )
    sessions = connected * SECONDS_PER_MONTH / SESSION_SECONDS
    share = sizing.vcpu(load.memory_mb)
    if design == "realtime-socket":
        seconds_per_post = 1 / sizing.DEFAULT.posts_per_second(load.memory_mb)
        workers = fanout(load).workers  # invocations per message, the sender's included
        reads_per_message = read_units([INDEX_ENTRY_BYTES] * math.ceil(room_size))
        if load.history_retention_seconds:
            frame_kb = math.ceil((load.message_bytes + ENVELOPE_BYTES) / 1024)
            reads_per_message += HISTORY_COUNTER_READS
            writes_per_message = RATE_LIMIT_WRITES + TRANSACTION_UNITS_PER_KB * (1 + frame_kb)
        else:
            writes_per_message = RATE_LIMIT_WRITES + 1
    else:  # one post after another, each a round trip plus boto3's CPU at this share
        seconds_per_post = sizing.POST_LATENCY_SECONDS + CPU_PER_POST_SECONDS[design] / share
        workers = 1
        reads_per_message = read_units([ROW_BYTES] * math.ceil(connected))
        writes_per_message = 0
    seconds_per_message = workers * HANDLER_BASE_SECONDS + room_size * seconds_per_post
    extra = load.extra_rooms_per_connection if design == "realtime-socket" else 0
    invocations_per_session = 3 + extra  # authorizer, $connect, $disconnect, subscribes
    presence_events = 0.0  # per session: a join and a leave per room
    if design == "realtime-socket" and 0 < room_size <= load.presence_max_room:
        presence_events = 2.0 * (1 + extra)
    others = max(0.0, room_size - 1)
    presence_seconds = others * seconds_per_post
    presence_reads = PRESENCE_USER_INDEX_READS + read_units([INDEX_ENTRY_BYTES] * math.ceil(others))
    gb_seconds = (
        messages * seconds_per_message
        + sessions * invocations_per_session * HANDLER_BASE_SECONDS
        + sessions * presence_events * presence_seconds
    ) * (load.memory_mb / 1024)
    estimate = Estimate(design=design, seconds_per_message=seconds_per_message)
    estimate.usage = {
        "API Gateway messages": messages * copies_per_message + sessions * presence_events * others,
        "API Gateway connection minutes": connected * SECONDS_PER_MONTH / 60,
        "Lambda requests": messages * workers + invocations_per_session * sessions,
        "Lambda GB-seconds": gb_seconds,
        "DynamoDB read units": messages * reads_per_message
        + sessions * presence_events * presence_reads,
        "DynamoDB write units": sessions
        * (WRITES_PER_SESSION[design] + WRITES_PER_EXTRA_ROOM * extra)
        + messages * writes_per_message,
    }
    per_million = {
        "API Gateway messages": prices["websocket_messages_per_million"],
        "API Gateway connection minutes": prices["websocket_connection_minutes_per_million"],
        "Lambda requests": prices["lambda_requests_per_million"],
        "DynamoDB read units": prices["dynamodb_read_units_per_million"],
        "DynamoDB write units": prices["dynamodb_write_units_per_million"],
    }
    for name, quantity in estimate.usage.items():
        if name == "Lambda GB-seconds":
            estimate.costs[name] = quantity * prices["lambda_gb_second"][load.architecture]
        else:
            estimate.costs[name] = quantity * per_million[name] / 1_000_000
    return estimate


def appsync_events(load: Load, prices: dict[str, Any] | None = None) -> Estimate:
    """The same load on AWS AppSync Events: operations and connection minutes only.

    Connects, subscribes, publishes and each delivery to each subscriber are operations,
    metered per 5 KB of message; presence events, when ours sends them, are published too.
    """
    prices = prices or load_prices()
    appsync = prices["appsync_events"]
    unit = appsync["operation_unit_bytes"]
    connected = load.connections * load.connected_fraction
    room_size = load.room_size
    messages = load.messages_per_second * SECONDS_PER_MONTH
    sessions = connected * SECONDS_PER_MONTH / SESSION_SECONDS
    rooms_per_session = 1 + load.extra_rooms_per_connection
    per_message = math.ceil(load.message_bytes / unit) + room_size * math.ceil(
        (load.message_bytes + ENVELOPE_BYTES) / unit
    )
    presence_events = 0.0
    if 0 < room_size <= load.presence_max_room:
        presence_events = 2.0 * rooms_per_session
    per_session = 1 + rooms_per_session + presence_events * (1 + max(0.0, room_size - 1))
    estimate = Estimate(design="appsync-events")
    estimate.usage = {
        "AppSync Events operations": messages * per_message + sessions * per_session,
        "AppSync Events connection minutes": connected * SECONDS_PER_MONTH / 60,
    }
    estimate.costs = {
        "AppSync Events operations": estimate.usage["AppSync Events operations"]
        * appsync["operations_per_million"]
        / 1_000_000,
        "AppSync Events connection minutes": estimate.usage["AppSync Events connection minutes"]
        * appsync["connection_minutes_per_million"]
        / 1_000_000,
    }
    return estimate


def estimate(
    load: Load, prices: dict[str, Any] | None = None
) -> tuple[Estimate, Estimate, list[str]]:
    """This design, the Scan-based design, and warnings about account quotas."""
    prices = prices or load_prices()
    ours = _design("realtime-socket", load, prices)
    scan = _design("scan-based", load, prices)
    connected = load.connections * load.connected_fraction
    room_size = load.room_size
    new_per_second = connected / SESSION_SECONDS
    requests = load.messages_per_second * (1 + room_size) + new_per_second
    warnings = []
    quotas = prices["quotas"]
    if requests > quotas["requests_per_second"]:
        warnings.append(
            f"{requests:,.0f} requests/s (messages, every @connections post and connects) "
            f"exceeds the account's {quotas['requests_per_second']:,} requests/s API Gateway "
            "throttle: ask AWS for a higher limit or split the load across accounts/Regions"
        )
    if new_per_second > quotas["new_connections_per_second"]:
        warnings.append(
            f"{new_per_second:,.0f} new connections/s (reconnects every 2 hours) exceeds "
            f"the {quotas['new_connections_per_second']} new connections/s quota"
        )
    plan = fanout(load)
    if plan.workers > 1:
        warnings.append(
            f"a broadcast to {plan.room:,} connections is split across {plan.workers} fan-out "
            f"workers at {load.memory_mb} MB and {load.timeout_seconds} s: one invocation would "
            f"take {plan.broadcast_seconds:,.1f} s; {_cheapest(plan)}"
        )
    if scan.seconds_per_message > 900:
        warnings.append(
            f"the Scan-based design needs {scan.seconds_per_message:,.0f} s per message, past "
            "Lambda's 15-minute limit: it cannot deliver to rooms this large at all"
        )
    return ours, scan, warnings


def _cheapest(plan: Fanout) -> str:
    if plan.cheapest_memory_mb is None:
        return f"no memory setting serves it in one invocation within {plan.timeout_seconds} s"
    return (
        f"{plan.cheapest_memory_mb:,} MB is the least memory that serves it in one invocation "
        f"within {plan.timeout_seconds} s"
    )


def _money(costs: dict[str, float], name: str, width: int) -> str:
    return f"{costs[name]:>{width},.2f}" if name in costs else f"{'-':>{width}}"


def _versus(ours: Estimate, appsync: Estimate) -> str:
    """One line: which of realtime-socket and AppSync Events is cheaper, and by how much."""
    cheaper, dearer = ("AppSync Events", "realtime-socket")
    low, high = appsync.total, ours.total
    if ours.total <= appsync.total:
        cheaper, dearer, low, high = dearer, cheaper, high, low
    ratio = f" ({dearer} costs {high / low:,.2f}x as much)" if low else ""
    return f"{cheaper} is cheaper for this load: ${low:,.2f} a month against ${high:,.2f}{ratio}."


def _fanout_lines(plan: Fanout) -> list[str]:
    bound = "CPU-bound" if plan.cpu_bound <= plan.in_flight_bound else "in-flight-bound"
    split = "1 (no split)" if plan.workers == 1 else f"{plan.workers:,}"
    return [
        f"Fan-out at {plan.memory_mb:,} MB, timeout {plan.timeout_seconds} s (realtime_socket/"
        "sizing.py):",
        f"  vCPU = min({plan.memory_mb:,} / {sizing.FULL_VCPU_MB:,}, 1) = {plan.vcpu:.3f}",
        f"  posts/s = min({plan.vcpu:.3f} / {sizing.CPU_PER_POST_SECONDS * 1e6:,.0f} µs, "
        f"{DEFAULT_FANOUT_CONCURRENCY} in flight / {sizing.POST_LATENCY_SECONDS * 1000:.0f} ms) "
        f"= min({plan.cpu_bound:,.0f}, {plan.in_flight_bound:,.0f}) = "
        f"{plan.posts_per_second:,.0f} ({bound})",
        f"  seconds per broadcast to a room of {plan.room:,}: {plan.broadcast_seconds:,.3f} "
        f"({plan.base_seconds:.3f} s fixed-work budget + {plan.room:,} posts at "
        f"{plan.posts_per_second:,.0f}/s)",
        f"  one invocation serves {plan.posts_per_invocation:,} = {plan.posts_per_second:,.0f} "
        f"posts/s x {sizing.SAFETY:.0%} x ({plan.timeout_seconds} s - {plan.base_seconds:.3f} s)",
        f"  fan-out workers per broadcast: {split}",
        f"  cheapest memory: {_cheapest(plan)}",
    ]


def render(
    load: Load,
    ours: Estimate,
    scan: Estimate,
    appsync: Estimate,
    warnings: list[str],
    prices: dict[str, Any],
) -> str:
    lines = [
        f"Monthly cost, {prices['region']} prices read on {prices['read_on']}",
        f"{load.connections:,} connections ({load.connected_fraction:.0%} connected), "
        f"{load.rooms:,} rooms, {load.messages_per_second:g} messages/s of "
        f"{load.message_bytes:,} bytes, Lambda {load.architecture} {load.memory_mb} MB, "
        f"timeout {load.timeout_seconds} s",
        "",
        f"{'':<34}{'usage':>16}{'realtime-socket':>18}{'Scan-based':>14}{'AppSync Events':>16}",
    ]
    for name in [*ours.costs, *appsync.costs]:
        usage = ours.usage.get(name, appsync.usage.get(name, 0.0))
        lines.append(
            f"{name:<34}{usage:>16,.0f}{_money(ours.costs, name, 18)}"
            f"{_money(scan.costs, name, 14)}{_money(appsync.costs, name, 16)}"
        )
    lines.append(
        f"{'total (USD/month)':<34}{'':>16}{ours.total:>18,.2f}{scan.total:>14,.2f}"
        f"{appsync.total:>16,.2f}"
    )
    lines.append(
        f"{'seconds per message (Lambda)':<34}{'':>16}{ours.seconds_per_message:>18,.3f}"
        f"{scan.seconds_per_message:>14,.3f}{'-':>16}"
    )
    if ours.total:
        lines.append(f"\nThe Scan-based design costs {scan.total / ours.total:,.2f}x as much.")
    lines.append(_versus(ours, appsync))
    lines.append("")
    lines += _fanout_lines(fanout(load))
    lines.append("\nAssumptions:")
    lines += [f"  - {a}" for a in ASSUMPTIONS]
    if warnings:
        lines.append("\nWarnings:")
        lines += [f"  ! {w}" for w in warnings]
    return "\n".join(lines)


#: The loads the README compares with AppSync Events (``python -m realtime_socket.tools.cost``).
COMPARISON_LOADS: dict[str, Load] = {
    "chat: 1,000 clients in rooms of 10, 1 message/s of 200 B": Load(1000, 100, 1, 200),
    "1,000 clients in rooms of 100, 1 message/s of 1 KB, presence off, 1 GB": Load(
        1000, 10, 1, 1000, memory_mb=1024, presence_max_room=0
    ),
    "one room of 10,000, 0.1 message/s of 1 KB, presence off": Load(
        10_000, 1, 0.1, 1000, presence_max_room=0
    ),
    "1,000 clients in rooms of 100, 1 message/s of 20 KB, presence off": Load(
        1000, 10, 1, 20_000, presence_max_room=0
    ),
    "the same with messages of 5 KB (5,150 B framed: 2 AppSync operations)": Load(
        1000, 10, 1, 5000, presence_max_room=0
    ),
    "idle: 100,000 dashboards, one each, no messages": Load(100_000, 100_000, 0, 100),
}


def comparison_table(prices: dict[str, Any] | None = None) -> str:
    """The README's table: each of :data:`COMPARISON_LOADS` on both services, per month."""
    prices = prices or load_prices()
    lines = [
        "| load | realtime-socket | AppSync Events | cheaper |",
        "|---|---:|---:|---|",
    ]
    for name, load in COMPARISON_LOADS.items():
        ours, _, _ = estimate(load, prices)
        appsync = appsync_events(load, prices)
        cheaper = "AppSync Events" if appsync.total < ours.total else "realtime-socket"
        lines.append(f"| {name} | ${ours.total:,.2f} | ${appsync.total:,.2f} | {cheaper} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(comparison_table())
