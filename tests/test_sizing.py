"""The broadcast sizing model: CPU share, the two posting bounds, splits and the memory pick."""

from __future__ import annotations

import math
import subprocess
import sys

import pytest

from realtime_socket import sizing
from realtime_socket.sizing import DEFAULT, FanoutModel
from tests.support.helpers import ROOT


def test_cpu_share_is_memory_over_1769_mb_capped_at_one_vcpu():
    assert sizing.vcpu(1769) == 1.0
    assert sizing.vcpu(256) == pytest.approx(256 / 1769)
    assert sizing.vcpu(10240) == 1.0  # six vCPUs, but the fan-out uses one thread


def test_posting_is_cpu_bound_at_128_mb_and_latency_bound_at_1769_mb():
    """128 MB: 0.0724 vCPU / 100 µs = 724 posts/s < 64 / 25 ms = 2,560 posts/s."""
    assert DEFAULT.posts_per_second(128) == pytest.approx(128 / 1769 / 0.0001)
    assert DEFAULT.posts_per_second(128) < 64 / 0.025
    # at one vCPU the CPU allows 10,000 posts/s; 64 in flight of 25 ms allow 2,560
    assert FanoutModel(concurrency=64).posts_per_second(1769) == pytest.approx(2560)
    assert FanoutModel(concurrency=128).posts_per_second(1769) == pytest.approx(5120)


def test_everything_improves_or_holds_as_memory_grows():
    memories = [128, 129, 200, 256, 452, 453, 512, 1024, 1769, 3008, 10240]
    rates = [DEFAULT.posts_per_second(m) for m in memories]
    rooms = [DEFAULT.posts_per_invocation(m, 10) for m in memories]
    seconds = [DEFAULT.broadcast_seconds(5000, m) for m in memories]
    assert rates == sorted(rates) and rooms == sorted(rooms)
    assert seconds == sorted(seconds, reverse=True)
    assert rates[0] < rates[-1] and rooms[0] < rooms[-1]


def test_broadcast_seconds_are_the_fixed_work_plus_the_posts():
    # 256 MB: 0.5 s of fixed work, then 1,000 posts at 1,447.2 posts/s
    rate = 256 / 1769 / 0.0001
    assert DEFAULT.broadcast_seconds(1000, 256) == pytest.approx(0.5 + 1000 / rate)
    # 1,769 MB: the fixed work shrinks with the CPU share; posting is latency-bound
    assert DEFAULT.broadcast_seconds(2560, 1769) == pytest.approx(0.5 * 256 / 1769 + 1.0)


def test_workers_needed_divides_the_room_by_what_one_invocation_posts():
    """1,769 MB, 10 s: (10 - 0.0724) x 50% x 2,560 = 12,707 posts per invocation."""
    each = math.floor(2560 * 0.5 * (10 - 0.5 * 256 / 1769))
    assert each == 12_707
    assert DEFAULT.posts_per_invocation(1769, 10) == each
    assert DEFAULT.workers_needed(12_707, 1769, 10) == 1
    assert DEFAULT.workers_needed(12_708, 1769, 10) == 2
    assert DEFAULT.workers_needed(100_000, 1769, 10) == 8  # ceil(100,000 / 12,707)
    assert DEFAULT.workers_needed(0, 1769, 10) == 1  # the sender's own invocation
    # chosen inputs: 10 in flight of 10 ms (1,000 posts/s), no fixed work, all of a 4 s
    # timeout: 4,000 posts each
    chosen = FanoutModel(concurrency=10, latency=0.01, base=0.0, safety=1.0)
    assert chosen.posts_per_invocation(1769, 4) == 4000
    assert chosen.workers_needed(8001, 1769, 4) == 3


def test_workers_needed_refuses_a_timeout_the_fixed_work_fills():
    """128 MB: 1.0 s of fixed work, so a 1 s timeout leaves nothing to post with."""
    assert DEFAULT.posts_per_invocation(128, 1) == 0
    with pytest.raises(ValueError, match=r"fixed work \(1.00 s\) leaves no time to post"):
        DEFAULT.workers_needed(10, 128, 1)


@pytest.mark.parametrize("room", [1, 3256, 3257, 6873, 6874, 12_000, 12_707])
def test_cheapest_memory_is_the_least_that_serves_the_room(room):
    memory = DEFAULT.cheapest_memory(room, 10)
    assert memory is not None
    assert DEFAULT.posts_per_invocation(memory, 10) >= room
    assert memory == 128 or DEFAULT.posts_per_invocation(memory - 1, 10) < room


def test_cheapest_memory_of_known_rooms():
    assert DEFAULT.cheapest_memory(3256, 10) == 128  # 128 MB serves 3,256 at 10 s
    assert DEFAULT.cheapest_memory(6873, 10) == 256
    assert DEFAULT.cheapest_memory(6874, 10) == 257
    assert DEFAULT.cheapest_memory(12_708, 10) is None  # past one vCPU: split instead
    assert DEFAULT.cheapest_memory(12_708, 29) is not None


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: sizing.vcpu(127), "memory_mb must be from 128 to 10240"),
        (lambda: sizing.vcpu(10241), "memory_mb must be from 128 to 10240"),
        (lambda: DEFAULT.posts_per_invocation(256, 0), "timeout_seconds must be over 0"),
        (lambda: DEFAULT.posts_per_invocation(256, -1), "timeout_seconds must be over 0"),
        (lambda: DEFAULT.workers_needed(-1, 256, 10), "room_size must be 0 or more, got -1"),
        (lambda: DEFAULT.broadcast_seconds(-5, 256), "room_size must be 0 or more"),
        (lambda: DEFAULT.cheapest_memory(-1, 10), "room_size must be 0 or more"),
        (lambda: FanoutModel(concurrency=0), "concurrency must be 1 or more"),
        (lambda: FanoutModel(latency=0), "must be over 0 seconds"),
        (lambda: FanoutModel(cpu_per_post=-1), "must be over 0 seconds"),
        (lambda: FanoutModel(safety=1.5), "safety must be over 0"),
    ],
)
def test_invalid_input_is_refused_with_the_reason(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_the_module_imports_no_pulumi_and_no_boto3():
    """It ships inside the Lambda artifact, beside the handlers."""
    code = (
        "import sys, realtime_socket.sizing; "
        "print(sorted(m for m in ('pulumi', 'boto3', 'botocore') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


def test_the_readme_table_of_largest_rooms_is_the_models():
    """README's table, from ``DEFAULT.posts_per_invocation`` at 10 s and 29 s."""
    readme = (ROOT / "README.md").read_text()
    for memory in (128, 256, 512, 1024, 1769, 3008):
        ten, twenty_nine = (DEFAULT.posts_per_invocation(memory, t) for t in (10, 29))
        assert f"| {memory:,} | {ten:,} | {twenty_nine:,} |" in readme
