"""Monthly cost of a realtime-socket deployment, beside the Scan-based design it replaces.

Prices come from ``prices.json`` (one file, with the date they were read). The model and
every assumption it makes are listed in :data:`ASSUMPTIONS` and printed with the estimate,
so a reader can redo the arithmetic.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from realtime_socket.contract import DEFAULT_PRESENCE_MAX_ROOM, MAX_CONNECTION_SECONDS
from realtime_socket.tools.capacity import read_units

__all__ = ["ASSUMPTIONS", "Estimate", "Load", "estimate", "load_prices", "render"]

SECONDS_PER_MONTH = 730 * 3600  # AWS prices a month as 730 hours
#: API Gateway closes connections after 2 hours: clients reconnect.
SESSION_SECONDS = MAX_CONNECTION_SECONDS
ENVELOPE_BYTES = 150  # the message frame around "data": type, room, from, id, ts
POST_LATENCY_SECONDS = 0.025  # one @connections round trip
CPU_PER_POST_SECONDS = {"realtime-socket": 0.0002, "scan-based": 0.0013}
HANDLER_BASE_SECONDS = 0.005  # per invocation, apart from the posts
FANOUT_CONCURRENCY = 64
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
    f"@connections round trip {POST_LATENCY_SECONDS * 1000:.0f} ms; realtime-socket posts "
    f"{FANOUT_CONCURRENCY} at a time, the Scan-based design one after another",
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


@dataclass
class Estimate:
    design: str
    usage: dict[str, float] = field(default_factory=dict)
    costs: dict[str, float] = field(default_factory=dict)
    seconds_per_message: float = 0.0

    @property
    def total(self) -> float:
        return sum(self.costs.values())


def load_prices() -> dict[str, Any]:
    text = resources.files("realtime_socket.tools").joinpath("prices.json").read_text()
    prices: dict[str, Any] = json.loads(text)
    return prices


def _design(design: str, load: Load, prices: dict[str, Any]) -> Estimate:
    connected = load.connections * load.connected_fraction
    room_size = connected / load.rooms
    messages = load.messages_per_second * SECONDS_PER_MONTH
    unit = prices["websocket_message_unit_bytes"]
    copies_per_message = math.ceil(load.message_bytes / unit) + room_size * math.ceil(
        (load.message_bytes + ENVELOPE_BYTES) / unit
    )
    sessions = connected * SECONDS_PER_MONTH / SESSION_SECONDS
    if design == "realtime-socket":
        posting = max(
            room_size * CPU_PER_POST_SECONDS[design],
            room_size * POST_LATENCY_SECONDS / FANOUT_CONCURRENCY,
        )
        reads_per_message = read_units([INDEX_ENTRY_BYTES] * math.ceil(room_size))
        if load.history_retention_seconds:
            frame_kb = math.ceil((load.message_bytes + ENVELOPE_BYTES) / 1024)
            reads_per_message += HISTORY_COUNTER_READS
            writes_per_message = RATE_LIMIT_WRITES + TRANSACTION_UNITS_PER_KB * (1 + frame_kb)
        else:
            writes_per_message = RATE_LIMIT_WRITES + 1
    else:
        posting = room_size * (POST_LATENCY_SECONDS + CPU_PER_POST_SECONDS[design])
        reads_per_message = read_units([ROW_BYTES] * math.ceil(connected))
        writes_per_message = 0
    seconds_per_message = HANDLER_BASE_SECONDS + posting
    extra = load.extra_rooms_per_connection if design == "realtime-socket" else 0
    invocations_per_session = 3 + extra  # authorizer, $connect, $disconnect, subscribes
    presence_events = 0.0  # per session: a join and a leave per room
    if design == "realtime-socket" and 0 < room_size <= load.presence_max_room:
        presence_events = 2.0 * (1 + extra)
    others = max(0.0, room_size - 1)
    presence_seconds = max(
        others * CPU_PER_POST_SECONDS[design], others * POST_LATENCY_SECONDS / FANOUT_CONCURRENCY
    )
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
        "Lambda requests": messages + invocations_per_session * sessions,
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


def estimate(
    load: Load, prices: dict[str, Any] | None = None
) -> tuple[Estimate, Estimate, list[str]]:
    """This design, the Scan-based design, and warnings about account quotas."""
    prices = prices or load_prices()
    ours = _design("realtime-socket", load, prices)
    scan = _design("scan-based", load, prices)
    connected = load.connections * load.connected_fraction
    room_size = connected / load.rooms
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
    if scan.seconds_per_message > 900:
        warnings.append(
            f"the Scan-based design needs {scan.seconds_per_message:,.0f} s per message, past "
            "Lambda's 15-minute limit: it cannot deliver to rooms this large at all"
        )
    return ours, scan, warnings


def render(
    load: Load, ours: Estimate, scan: Estimate, warnings: list[str], prices: dict[str, Any]
) -> str:
    lines = [
        f"Monthly cost, {prices['region']} prices read on {prices['read_on']}",
        f"{load.connections:,} connections ({load.connected_fraction:.0%} connected), "
        f"{load.rooms:,} rooms, {load.messages_per_second:g} messages/s of "
        f"{load.message_bytes:,} bytes, Lambda {load.architecture} {load.memory_mb} MB",
        "",
        f"{'':<32}{'usage (ours)':>16}{'realtime-socket':>18}{'Scan-based':>14}",
    ]
    for name in ours.costs:
        lines.append(
            f"{name:<32}{ours.usage[name]:>16,.0f}{ours.costs[name]:>18,.2f}"
            f"{scan.costs[name]:>14,.2f}"
        )
    lines.append(f"{'total (USD/month)':<32}{'':>16}{ours.total:>18,.2f}{scan.total:>14,.2f}")
    lines.append(
        f"{'seconds per message (Lambda)':<32}{'':>16}{ours.seconds_per_message:>18,.3f}"
        f"{scan.seconds_per_message:>14,.3f}"
    )
    if ours.total:
        lines.append(f"\nThe Scan-based design costs {scan.total / ours.total:,.2f}x as much.")
    lines.append("\nAssumptions:")
    lines += [f"  - {a}" for a in ASSUMPTIONS]
    if warnings:
        lines.append("\nWarnings:")
        lines += [f"  ! {w}" for w in warnings]
    return "\n".join(lines)
