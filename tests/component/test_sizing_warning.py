"""``pulumi up`` warns when the functions cannot broadcast to the expected room in one go."""

from __future__ import annotations

from typing import Any

import pulumi
import pytest

from realtime_socket import RealtimeSocket, sizing
from tests.support.helpers import evaluate_socket


@pytest.fixture
def warnings(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, Any]]:
    """Every ``pulumi.log.warn`` call, with the resource it names."""
    logged: list[tuple[str, Any]] = []

    def warn(message: str, resource: Any = None, **_: Any) -> None:
        logged.append((message, resource))

    monkeypatch.setattr(pulumi.log, "warn", warn)
    return logged


def test_a_room_too_large_for_128_mb_is_reported_with_the_fix(warnings):
    """GIVEN 128 MB, 10 s and 10,000 connections expected; 128 MB serves 3,256 per invocation
    THEN one warning, on the component, with the seconds, the memory and the worker count."""
    evaluate_socket(functions={"memory_mb": 128}, limits={"expected_room_size": 10_000})
    assert len(warnings) == 1
    message, resource = warnings[0]
    seconds = sizing.DEFAULT.broadcast_seconds(10_000, 128)  # 1.0 s + 10,000 / 723.6 posts/s
    assert f"would need {seconds:,.1f} s" in message and "14.8 s" in message
    assert "serves at most 3,256 connections" in message
    assert "split across 4 fan-out workers" in message  # ceil(10,000 / 3,256)
    cheapest = sizing.DEFAULT.cheapest_memory(10_000, 10)
    assert cheapest is not None and 256 < cheapest < 1769
    assert f"functions.memory_mb = {cheapest} would broadcast it in one invocation" in message
    assert isinstance(resource, RealtimeSocket) and resource._name == "chat"


def test_a_room_no_memory_can_serve_says_so(warnings):
    """100,000 connections at 10 s: past what one vCPU posts in 5 s, so only a split helps."""
    evaluate_socket(limits={"expected_room_size": 100_000})
    (message, _), = warnings  # fmt: skip
    assert "no memory setting broadcasts it in one invocation" in message
    assert "split across 15 fan-out workers" in message  # ceil(100,000 / 6,873) at 256 MB


@pytest.mark.parametrize(
    "args",
    [
        {},  # defaults: expected_room_size 0 means no expectation
        {"limits": {"expected_room_size": 0}, "functions": {"memory_mb": 128}},
        {"limits": {"expected_room_size": 500}},
        {"limits": {"expected_room_size": 6873}},  # exactly what 256 MB and 10 s serve
    ],
)
def test_no_warning_without_an_expectation_or_for_rooms_that_fit(warnings, args):
    evaluate_socket(**args)
    assert warnings == []


def test_expected_room_size_is_validated_with_the_other_arguments():
    with pytest.raises(pulumi.InputPropertiesError, match=r"limits\.expected_room_size"):
        evaluate_socket(limits={"expected_room_size": -1})
