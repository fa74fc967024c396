"""The cost estimator against examples computed by hand."""

from __future__ import annotations

import pytest

from realtime_socket.tools import cost
from tests.support.helpers import ROOT

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
    # ours at 1 GB (0.579 vCPU): 5 ms + 100 / min(0.579 / 100 µs, 64 / 25 ms) = 44.0625 ms
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
    # Scan-based: 100 sequential posts of 25 ms + 1.3 ms of boto3 at 1 vCPU, 2.246 ms at
    # 0.579 vCPU; and the whole table (120 KB) read per message
    scan_seconds = 0.005 + 100 * (0.025 + 0.0013 * 1769 / 1024)
    assert scan.seconds_per_message == pytest.approx(scan_seconds)
    assert scan.usage["DynamoDB read units"] == 2_628_000 * 15  # ceil(120,000 / 4096) / 2
    assert scan.costs["Lambda GB-seconds"] == pytest.approx(
        (2_628_000 * scan_seconds + 5_475) * 0.0000133334
    )
    assert ours.total == pytest.approx(sum(ours.costs.values()))
    assert scan.total > ours.total
    assert warnings == []


def test_x86_and_memory_change_only_compute():
    """x86_64 costs 1.25x per GB-s; doubling memory doubles the GB per second but, below
    453 MB where posting is CPU-bound, halves the posting time."""
    base = cost.Load(connections=1000, rooms=10, messages_per_second=1, message_bytes=1000)
    ours_arm, _, _ = cost.estimate(base)
    ours_x86, _, _ = cost.estimate(cost.Load(**{**base.__dict__, "architecture": "x86_64"}))
    ratio = ours_x86.costs["Lambda GB-seconds"] / ours_arm.costs["Lambda GB-seconds"]
    assert ratio == pytest.approx(0.0000166667 / 0.0000133334)
    ours_400, _, _ = cost.estimate(cost.Load(**{**base.__dict__, "memory_mb": 400}))
    posting_256 = ours_arm.seconds_per_message - 0.005
    assert ours_400.seconds_per_message - 0.005 == pytest.approx(posting_256 * 256 / 400)
    for name in ("API Gateway messages", "DynamoDB read units", "Lambda requests"):
        assert ours_400.costs[name] == ours_x86.costs[name] == ours_arm.costs[name]


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


def test_posting_time_follows_the_cpu_share_of_the_memory():
    """128 MB is 0.072 vCPU: 100 posts take 100 x 100 µs x 1769 / 128 = 138 ms (CPU-bound);
    at 1,769 MB the 64 posts in flight bound them: 100 x 25 ms / 64 = 39 ms."""
    base = {"connections": 1000, "rooms": 10, "messages_per_second": 1, "message_bytes": 1000}
    small, _, _ = cost.estimate(cost.Load(**base, memory_mb=128))
    full, _, _ = cost.estimate(cost.Load(**base, memory_mb=1769))
    assert small.seconds_per_message == pytest.approx(0.005 + 100 * 0.0001 * 1769 / 128)
    assert full.seconds_per_message == pytest.approx(0.005 + 100 * 0.025 / 64)


def test_fanout_workers_add_requests_and_billed_time():
    """A room of 40,000 at 256 MB and 10 s: one invocation serves 6,873, so 6 invocations
    deliver each message, each one Lambda request and 5 ms beside the 40,000 posts."""
    load = cost.Load(
        connections=40_000, rooms=1, messages_per_second=0.01, message_bytes=100,
        presence_max_room=0,
    )  # fmt: skip
    plan = cost.fanout(load)
    assert (plan.posts_per_invocation, plan.workers) == (6873, 6)
    assert plan.cheapest_memory_mb is None  # past what one vCPU posts in 10 s
    ours, _, warnings = cost.estimate(load)
    messages = 0.01 * MONTH
    sessions = 40_000 * 365
    assert ours.usage["Lambda requests"] == pytest.approx(messages * 6 + sessions * 3)
    seconds = 6 * 0.005 + 40_000 / (256 / 1769 / 0.0001)
    assert ours.seconds_per_message == pytest.approx(seconds)
    gb_seconds = (messages * seconds + sessions * 3 * 0.005) * 256 / 1024
    assert ours.usage["Lambda GB-seconds"] == pytest.approx(gb_seconds)
    assert any("split across 6 fan-out workers" in w for w in warnings)
    longer, _, _ = cost.estimate(cost.Load(**{**load.__dict__, "timeout_seconds": 29}))
    assert cost.fanout(cost.Load(**{**load.__dict__, "timeout_seconds": 29})).workers == 2
    assert longer.usage["Lambda requests"] < ours.usage["Lambda requests"]


def test_a_timeout_the_fixed_work_fills_is_refused():
    load = cost.Load(1, 1, 1, 1, memory_mb=128, timeout_seconds=1)
    with pytest.raises(ValueError, match="leaves no time to post within 1 s"):
        cost.estimate(load)


def test_appsync_events_hand_computed():
    """Per message a publish and 100 deliveries; per session a connect and a subscribe;
    connection minutes at $0.08 per million."""
    load = cost.Load(
        connections=1000, rooms=10, messages_per_second=1, message_bytes=1000,
        presence_max_room=0,
    )  # fmt: skip
    appsync = cost.appsync_events(load)
    operations = MONTH * (1 + 100) + 365_000 * 2
    assert appsync.usage["AppSync Events operations"] == pytest.approx(operations)
    assert appsync.costs["AppSync Events operations"] == pytest.approx(operations / 1e6)
    assert appsync.costs["AppSync Events connection minutes"] == pytest.approx(
        1000 * MONTH / 60 * 0.08 / 1e6
    )
    assert appsync.total == pytest.approx(266.158 + 3.504)


def test_appsync_events_meters_each_5_kb_and_loses_on_large_messages():
    """A 6,000-byte message is 2 operations to publish and 2 per delivery (6,150 B framed);
    API Gateway bills it as one 32 KB message, so realtime-socket is cheaper there."""
    load = cost.Load(
        connections=10, rooms=1, messages_per_second=1, message_bytes=6000, presence_max_room=0
    )
    appsync = cost.appsync_events(load)
    sessions = 10 * 365
    assert appsync.usage["AppSync Events operations"] == pytest.approx(
        MONTH * (2 + 10 * 2) + sessions * 2
    )
    big = cost.Load(1000, 10, 1, 20_000, presence_max_room=0)
    ours, _, _ = cost.estimate(big)
    assert ours.total < cost.appsync_events(big).total
    idle = cost.Load(100_000, 100_000, 0, 100)  # connection minutes: $0.25 against $0.08
    ours, _, _ = cost.estimate(idle)
    assert cost.appsync_events(idle).total < ours.total


def test_render_shows_the_formula_the_comparison_and_the_split():
    load = cost.Load(connections=40_000, rooms=1, messages_per_second=0.01, message_bytes=100)
    prices = cost.load_prices()
    ours, scan, warnings = cost.estimate(load, prices)
    appsync = cost.appsync_events(load, prices)
    text = cost.render(load, ours, scan, appsync, warnings, prices)
    assert "vCPU = min(256 / 1,769, 1) = 0.145" in text
    assert "min(1,447, 2,560) = 1,447 (CPU-bound)" in text
    assert "seconds per broadcast to a room of 40,000: 28.141" in text
    assert "fan-out workers per broadcast: 6" in text
    assert "no memory setting serves it in one invocation within 10 s" in text
    cheaper = "AppSync Events" if appsync.total < ours.total else "realtime-socket"
    assert f"{cheaper} is cheaper for this load" in text
    assert f"{appsync.total:,.2f}" in text


def test_the_readme_comparison_is_the_estimators():
    """README's table is what ``python -m realtime_socket.tools.cost`` prints today."""
    assert cost.comparison_table() in (ROOT / "README.md").read_text()
