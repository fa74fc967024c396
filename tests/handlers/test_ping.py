"""ping answers pong through the route response."""

from __future__ import annotations

import json

import pytest

from realtime_socket.handlers import ping
from tests.support.helpers import FakeContext, load_event, modules_loaded_by, within


def test_ping_answers_pong_through_the_route_response():
    event = load_event("sendmessage", routeKey="ping")
    event["body"] = '{"action":"ping"}'
    answer = ping.handler(event, FakeContext())
    assert answer["statusCode"] == 200
    assert json.loads(answer["body"]) == {"type": "pong"}


@pytest.mark.parametrize("module", ["ping", "default"])
def test_ping_and_default_start_without_importing_boto3(module):
    """Their cold start stays ~20 ms: the expiry guard loads boto3 only for an expired
    token (bench/coldstart.py measures the difference: about 0.07x against 1.1x)."""
    loaded = modules_loaded_by(f"realtime_socket.handlers.{module}")
    assert within(loaded, "boto3", "botocore") == set()
