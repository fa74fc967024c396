"""How long a broadcast takes on Lambda, and how many invocations a room needs.

Lambda gives a function CPU in proportion to its memory: 1,769 MB is one full vCPU
(https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html). Posting to
``@connections`` is bounded twice, by CPU and by the posts in flight::

    vcpu(m)              = min(m / 1769, 1.0)
    posts_per_second(m)  = min(vcpu(m) / CPU_PER_POST_SECONDS, concurrency / POST_LATENCY_SECONDS)
                         = min(vcpu(m) / 0.0001 s, 64 / 0.025 s)     # CPU-bound below 453 MB
    base_seconds(m)      = BASE_SECONDS * vcpu(256) / vcpu(m)        # 0.5 s at 256 MB
    posts_per_invocation = floor(posts_per_second(m) * SAFETY * (timeout - base_seconds(m)))
    workers_needed       = ceil(room_size / posts_per_invocation)    # 1: no split

At the defaults (256 MB, 10 s): 1,447 posts/s, and one invocation serves a room of 6,873.

The module imports only the standard library and :mod:`realtime_socket.contract`. The
component computes ``posts_per_invocation`` at ``pulumi up`` and tells ``sendmessage`` (its
``FANOUT_SHARE``), which splits larger rooms across fan-out workers; ``realtime-socket
cost`` and the component's warning use the same numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

from realtime_socket.contract import DEFAULT_FANOUT_CONCURRENCY

__all__ = [
    "BASE_SECONDS",
    "CPU_PER_POST_SECONDS",
    "DEFAULT",
    "FULL_VCPU_MB",
    "MAX_MEMORY_MB",
    "MAX_TIMEOUT_SECONDS",
    "MIN_MEMORY_MB",
    "POST_LATENCY_SECONDS",
    "SAFETY",
    "FanoutModel",
    "vcpu",
]

#: Memory at which a function gets one full vCPU.
FULL_VCPU_MB: Final = 1769
#: Lambda's memory range, settable in 1 MB steps.
MIN_MEMORY_MB: Final = 128
MAX_MEMORY_MB: Final = 10240
#: Lambda's longest timeout.
MAX_TIMEOUT_SECONDS: Final = 900
#: CPU seconds per ``@connections`` post at one full vCPU: signing, the HTTP/1.1 exchange,
#: the answer's handling. ``python -m bench.fanout`` measured 88-93 µs (user + system) for
#: handlers/fanout.py on the development machine (2026-11-29, 11-30); rounded up. Over TLS, as on
#: AWS, the encryption adds some: the margin below covers it.
CPU_PER_POST_SECONDS: Final = 0.0001
#: One ``@connections`` round trip within the Region.
POST_LATENCY_SECONDS: Final = 0.025
#: Fixed work per invocation at 256 MB, before the first post: the room index pages, the
#: sender's writes, the event's parsing. Mostly CPU (botocore's signing and JSON), so it
#: scales with the CPU share. Measured it is tens of milliseconds; 0.5 s is a budget, since
#: a generous margin costs little and a timed-out broadcast loses messages.
BASE_SECONDS: Final = 0.5
_BASE_MEMORY_MB: Final = 256
#: Share of the time left after the fixed work that posting may use. The rest absorbs what
#: the averages hide: a cold start's imports, 429 retries with backoff, slow DynamoDB pages.
SAFETY: Final = 0.5


def _check_memory(memory_mb: float) -> None:
    if not MIN_MEMORY_MB <= memory_mb <= MAX_MEMORY_MB:
        raise ValueError(
            f"memory_mb must be from {MIN_MEMORY_MB} to {MAX_MEMORY_MB} (Lambda's range), "
            f"got {memory_mb}"
        )


def _check_timeout(timeout_seconds: float) -> None:
    if not 0 < timeout_seconds <= MAX_TIMEOUT_SECONDS:
        raise ValueError(
            f"timeout_seconds must be over 0 and at most {MAX_TIMEOUT_SECONDS} (Lambda's "
            f"limit), got {timeout_seconds}"
        )


def _check_room(room_size: float) -> None:
    if room_size < 0:
        raise ValueError(f"room_size must be 0 or more, got {room_size}")


def vcpu(memory_mb: float) -> float:
    """The share of a vCPU that one broadcast can use at ``memory_mb``.

    Lambda gives up to 6 vCPUs (at 10,240 MB), but the fan-out runs on one thread (one
    asyncio loop), so it never uses more than one: the share is capped at 1.0.
    """
    _check_memory(memory_mb)
    return min(memory_mb / FULL_VCPU_MB, 1.0)


@dataclass(frozen=True)
class FanoutModel:
    """The model's figures: the defaults are the measured ones; the component passes its
    ``fanout_concurrency``, a benchmark its own CPU per post."""

    #: Posts in flight per invocation (``functions.fanout_concurrency``).
    concurrency: int = DEFAULT_FANOUT_CONCURRENCY
    cpu_per_post: float = CPU_PER_POST_SECONDS
    latency: float = POST_LATENCY_SECONDS
    base: float = BASE_SECONDS
    safety: float = SAFETY

    def __post_init__(self) -> None:
        if self.concurrency < 1:
            raise ValueError(f"concurrency must be 1 or more, got {self.concurrency}")
        if self.cpu_per_post <= 0 or self.latency <= 0:
            raise ValueError(
                "cpu_per_post and latency must be over 0 seconds, "
                f"got {self.cpu_per_post} and {self.latency}"
            )
        if not 0 < self.safety <= 1:
            raise ValueError(f"safety must be over 0 and at most 1, got {self.safety}")

    def posts_per_second(self, memory_mb: float) -> float:
        """Posts a second: the lower of the CPU bound and the in-flight bound."""
        return min(vcpu(memory_mb) / self.cpu_per_post, self.concurrency / self.latency)

    def base_seconds(self, memory_mb: float) -> float:
        """An invocation's fixed work at ``memory_mb``: ``base`` at 256 MB, scaled by CPU."""
        return self.base * vcpu(_BASE_MEMORY_MB) / vcpu(memory_mb)

    def broadcast_seconds(self, room_size: int, memory_mb: float) -> float:
        """Seconds one invocation needs to post to a whole room, fixed work included."""
        _check_room(room_size)
        return self.base_seconds(memory_mb) + room_size / self.posts_per_second(memory_mb)

    def posts_per_invocation(self, memory_mb: float, timeout_seconds: float) -> int:
        """Posts one invocation can make before its timeout, leaving the safety margin: the
        largest room it broadcasts to without a split. 0 when the fixed work alone takes
        the whole timeout."""
        _check_timeout(timeout_seconds)
        remaining = max(0.0, timeout_seconds - self.base_seconds(memory_mb))
        return math.floor(self.posts_per_second(memory_mb) * self.safety * remaining)

    def workers_needed(self, room_size: int, memory_mb: float, timeout_seconds: float) -> int:
        """Invocations that share one broadcast to ``room_size`` connections (1: no split).

        Raises:
            ValueError: also when one invocation cannot post at all within the timeout.
        """
        _check_room(room_size)
        each = self.posts_per_invocation(memory_mb, timeout_seconds)
        if each == 0:
            raise ValueError(
                f"at {memory_mb:g} MB an invocation's fixed work "
                f"({self.base_seconds(memory_mb):.2f} s) leaves no time to post within "
                f"{timeout_seconds:g} s: raise the memory or the timeout"
            )
        return max(1, math.ceil(room_size / each))

    def cheapest_memory(self, room_size: int, timeout_seconds: float) -> int | None:
        """The least memory, in MB, at which one invocation broadcasts to the whole room.

        Lambda takes any whole number of MB, so every step is tried (by bisection: posts per
        invocation never fall as memory grows). Nothing past 1,769 MB helps, since the
        fan-out uses one vCPU at most. None when even 1,769 MB is not enough: split the
        broadcast.
        """
        _check_room(room_size)

        def fits(memory_mb: int) -> bool:
            served = self.posts_per_invocation(memory_mb, timeout_seconds)
            return served >= room_size and served > 0

        if not fits(FULL_VCPU_MB):
            return None
        low, high = MIN_MEMORY_MB, FULL_VCPU_MB
        while low < high:
            middle = (low + high) // 2
            if fits(middle):
                high = middle
            else:
                low = middle + 1
        return low


#: The model with the measured figures and the default concurrency.
DEFAULT: Final = FanoutModel()
