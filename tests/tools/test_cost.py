"""The cost estimator against examples computed by hand."""

from __future__ import annotations

import pytest

from realtime_socket.tools import cost

MONTH = 730 * 3600


def test_hand_computed_example():
    load = cost.Load(
        connections=1000,
        rooms=10,
        messages_per_second=1,
        message_bytes=1000,
        memory_mb=1024,
        presence_max_room=0,  # presence has its own test below
    )
    ours, scan, warnings = cost.estimate(load)
    # 1 inbound + 100 outbound copies per message, each under 32 KB, $1 per million
    assert ours.usage["API Gateway messages"] == MONTH * 101
    assert ours.costs["API Gateway messages"] == pytest.approx(265.428)
    # 1000 clients x 43,800 minutes, $0.25 per million
    assert ours.costs["API Gateway connection minutes"] == pytest.approx(10.95)
    # 2,628,000 sendmessage + 3 x 365,000 sessions (authorizer, $connect, $disconnect)
    assert ours.usage["Lambda requests"] == 2_628_000 + 3 * 365_000
    # ours: 5 ms + max(100 x 0.2 ms, 100 x 25 ms / 64) = 44.0625 ms per message at 1 GB
    assert ours.seconds_per_message == pytest.approx(0.0440625)
    gb_seconds = 2_628_000 * 0.0440625 + 365_000 * 0.015
    assert ours.usage["Lambda GB-seconds"] == pytest.approx(gb_seconds)
    assert ours.costs["Lambda GB-seconds"] == pytest.approx(121_271.25 * 0.0000133334)
    # 100 memberships of 70 B = 7,000 B -> 2 x 4 KB, halved: 1 unit; + the seq counter's
    # consistent read: 1 unit
    assert ours.usage["DynamoDB read units"] == 2_628_000 * 2
    assert ours.costs["DynamoDB read units"] == pytest.approx(0.657)
    # per session: the row, its user index entry, the membership and its room index entry,
    # written and deleted (8); per message: the rate limit (1), then the transaction of the
    # counter (1 KB) and the 1,150-byte frame (2 KB) at 2 units per KB (6)
    writes = 365_000 * 8 + 2_628_000 * 7
    assert ours.usage["DynamoDB write units"] == writes
    assert ours.costs["DynamoDB write units"] == pytest.approx(writes * 0.625 / 1e6)
    # Scan-based: 100 sequential posts at 26.3 ms, and the whole table (120 KB) read per message
    assert scan.seconds_per_message == pytest.approx(0.005 + 100 * 0.0263)
    assert scan.usage["DynamoDB read units"] == 2_628_000 * 15  # ceil(120,000 / 4096) / 2
    assert scan.costs["Lambda GB-seconds"] == pytest.approx(
        (2_628_000 * 2.635 + 5_475) * 0.0000133334
    )
    assert ours.total == pytest.approx(sum(ours.costs.values()))
    assert scan.total > ours.total
    assert warnings == []


def test_x86_and_memory_change_only_compute():
    base = cost.Load(connections=1000, rooms=10, messages_per_second=1, message_bytes=1000)
    ours_arm, _, _ = cost.estimate(base)
    ours_x86, _, _ = cost.estimate(
        cost.Load(**{**base.__dict__, "architecture": "x86_64", "memory_mb": 512})
    )
    ratio = ours_x86.costs["Lambda GB-seconds"] / ours_arm.costs["Lambda GB-seconds"]
    assert ratio == pytest.approx(2 * 0.0000166667 / 0.0000133334)
    assert ours_x86.costs["API Gateway messages"] == ours_arm.costs["API Gateway messages"]


def test_large_messages_are_billed_per_32_kb():
    load = cost.Load(
        connections=10, rooms=1, messages_per_second=1, message_bytes=70_000, presence_max_room=0
    )
    ours, _, _ = cost.estimate(load)
    # 70,000 B inbound = 3 units; 70,150 B outbound = 3 units, to 10 recipients
    assert ours.usage["API Gateway messages"] == MONTH * (3 + 10 * 3)


def test_connected_fraction_scales_connection_minutes():
    load = cost.Load(
        connections=1000,
        rooms=10,
        messages_per_second=0,
        message_bytes=1,
        connected_fraction=0.25,
        presence_max_room=0,  # no joins or leaves: no messages at all
    )
    ours, _, _ = cost.estimate(load)
    assert ours.usage["API Gateway connection minutes"] == 250 * MONTH / 60
    assert ours.usage["API Gateway messages"] == 0


def test_quota_warnings():
    busy = cost.Load(connections=100_000, rooms=10, messages_per_second=5, message_bytes=100)
    _, _, warnings = cost.estimate(busy)
    assert any("10,000 requests/s" in w for w in warnings)
    assert not any("15-minute" in w for w in warnings)  # 10,000 x 26.3 ms = 263 s still fits
    huge_room = cost.Load(connections=40_000, rooms=1, messages_per_second=0.01, message_bytes=1)
    _, _, warnings = cost.estimate(huge_room)
    assert any("Lambda's 15-minute limit" in w for w in warnings)
    churn = cost.Load(
        connections=5_000_000, rooms=5_000_000, messages_per_second=0, message_bytes=1
    )
    _, _, warnings = cost.estimate(churn)
    assert any("new connections/s" in w for w in warnings)


def test_extra_rooms_cost_a_subscribe_and_five_write_units_each():
    """Each extra room per session: one more Lambda request and 5 write units."""
    base = cost.Load(connections=1000, rooms=10, messages_per_second=0, message_bytes=1)
    ours, scan, _ = cost.estimate(base)
    more, scan_more, _ = cost.estimate(
        cost.Load(**{**base.__dict__, "extra_rooms_per_connection": 3})
    )
    sessions = 365_000
    assert more.usage["Lambda requests"] - ours.usage["Lambda requests"] == 3 * sessions
    assert more.usage["DynamoDB write units"] - ours.usage["DynamoDB write units"] == 15 * sessions
    assert scan_more.usage == scan.usage  # the Scan-based design has one room per connection


def test_history_off_costs_the_seq_counter_only():
    """history.retention_seconds = 0: per message the rate limit and one UpdateItem ADD (2
    write units) and no counter read, against 7 write units and 1 read unit with history."""
    base = {"connections": 1000, "rooms": 10, "messages_per_second": 1, "message_bytes": 1000}
    on, _, _ = cost.estimate(cost.Load(**base))
    off, _, _ = cost.estimate(cost.Load(**base, history_retention_seconds=0))
    messages = 2_628_000
    assert on.usage["DynamoDB write units"] - off.usage["DynamoDB write units"] == messages * 5
    assert on.usage["DynamoDB read units"] - off.usage["DynamoDB read units"] == messages


def test_presence_events_cost_a_post_per_other_connection_per_join_and_leave():
    """Each session joins and leaves its room once: 2 x (room - 1) posts and, per event, the
    user index Query and the room index Query; none past the cap or with events off."""
    base = {"connections": 1000, "rooms": 10, "messages_per_second": 1, "message_bytes": 1000}
    on, _, _ = cost.estimate(cost.Load(**base))
    off, _, _ = cost.estimate(cost.Load(**base, presence_max_room=0))
    capped, _, _ = cost.estimate(cost.Load(**base, presence_max_room=99))
    sessions = 365_000  # 1,000 connections renewed every 2 hours for 730 hours
    posts = on.usage["API Gateway messages"] - off.usage["API Gateway messages"]
    assert posts == sessions * 2 * 99
    reads = on.usage["DynamoDB read units"] - off.usage["DynamoDB read units"]
    assert reads == pytest.approx(sessions * 2 * (0.5 + 1.0))  # 99 entries of 70 B: 2 units / 2
    assert on.usage["Lambda GB-seconds"] > off.usage["Lambda GB-seconds"]
    assert capped.usage == off.usage  # rooms of 100 are over a cap of 99
